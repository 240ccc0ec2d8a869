# tests/lib.sh - shared helpers for the integration scripts tests/it_*.sh.
# Source it; it makes a private work dir $W, an EXIT trap that stops every
# process started through it (by pid, never by name) and removes $W.
#
#   ok MSG / bad MSG / skip MSG   record a result (PASS:/FAIL:/SKIP: lines)
#   start_sim [ARGS...]           start the simulator on 127.0.0.1, port 0;
#                                 sets SIM_PID SIM_URL ORG_ID ADMIN_TOKEN
#                                 ADMIN_USER_ID and writes $W/api-token (0600)
#                                 and $W/aivenauth.conf (cache in $W/cache)
#   sim_ctl METHOD PATH [JSON]    call the simulator's /_sim control API
#   ctl ARGS...                   run the built aivenctl with $W's config
#   finish                        print the tally; exit 1 on any failure
#   api METHOD PATH [JSON]        the simulator's API with the admin token
#                                 (header from a 0600 file: no secret in argv)
#   jget EXPR                     a Python expression over JSON on stdin (d)
#   enc S / rx S                  URL-encode S / escape S for a regex
#   free_port                     a free TCP port on 127.0.0.1
#   wait_tcp PORT                 until 127.0.0.1:PORT accepts (up to 60 s)
#   sshd_usable                   0 if a real sshd can run here (root,
#                                 sshd, ssh, sshpass), else a SKIP line
#   sshd_start SERVICE [LINE...]  a real sshd on 127.0.0.1 at a free port,
#                                 keyboard-interactive through PAM service
#                                 SERVICE, read by pam_wrapper from
#                                 $PAM_WRAPPER_SERVICE_DIR; host key, config
#                                 (plus the sshd_config LINEs), pid file and
#                                 log in $W/ssh; sets SSH_PORT SSH_PID (in
#                                 PIDS: stopped by pid at exit); 1 and a
#                                 FAIL line if it does not listen
#   sshd_login FILE ACCOUNT       log in to that sshd as ACCOUNT with the
#                                 password in FILE (sshpass -f: not in
#                                 argv); 0 accepted, 1 refused, 2 no verdict
#                                 (read from sshd's log); output in $W/ssh.out
set -u
AB=${AIVENAUTH_BUILD:?run through make check (AIVENAUTH_BUILD unset)}
TOP=${AIVENAUTH_TOP:?}
SIM="$TOP/sim/aiven-sim"
W=$(mktemp -d /tmp/aivtest.XXXXXX)
chmod 755 "$W"      # service users (nginx worker, postgres) must traverse it
PIDS=()
T_PASS=0; T_FAIL=0

ok()   { T_PASS=$((T_PASS + 1)); echo "PASS: $*"; }
bad()  { T_FAIL=$((T_FAIL + 1)); echo "FAIL: $*"; }
skip() { echo "SKIP: $*"; }
# check DESC CMD...: PASS if the command succeeds
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

stop_pid() {  # TERM, wait up to 5 s, then KILL; reap if it is our child
	local p=$1 i
	[[ $p =~ ^[1-9][0-9]*$ ]] || return 0
	kill -TERM "$p" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null || true
}

lib_cleanup() {
	local p d
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	for d in /tmp/pam.?; do   # pam_wrapper copies left by killed daemons
		[ -f "$d/pid" ] || continue
		p=$(cat "$d/pid"); kill -0 "$p" 2>/dev/null || rm -rf "$d"
	done
	[ -n "${KEEP:-}" ] && echo "kept $W" || rm -rf "$W"
}
trap lib_cleanup EXIT

start_sim() {
	local i
	rm -f "$W/sim.port" "$W/sim.boot"
	python3 "$SIM" --port 0 --port-file "$W/sim.port" \
	    --bootstrap-file "$W/sim.boot" "$@" >"$W/sim.log" 2>&1 &
	SIM_PID=$!; PIDS+=("$SIM_PID")
	# up to 60 s (large --seed-users); stop waiting if the simulator died
	for i in $(seq 600); do
		[ -s "$W/sim.boot" ] && break
		kill -0 "$SIM_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$W/sim.boot" ]; then
		echo "simulator did not start:"; cat "$W/sim.log"; return 1
	fi
	SIM_URL=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_url"])' "$W/sim.boot")
	ORG_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["organization_id"])' "$W/sim.boot")
	ADMIN_USER_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_user_id"])' "$W/sim.boot")
	ADMIN_TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin_token"])' "$W/sim.boot")
	( umask 077; printf '%s\n' "$ADMIN_TOKEN" > "$W/api-token" )
	cat > "$W/aivenauth.conf" <<EOC
# written by tests/lib.sh
api_url = $SIM_URL
organization_id = $ORG_ID
api_token_file = $W/api-token
cache_dir = $W/cache
timeout = 5
EOC
	chmod 0644 "$W/aivenauth.conf"
}

sim_ctl() {
	local m=$1 p=$2 body=${3:-}
	if [ -n "$body" ]; then
		curl -sS -X "$m" -H 'Content-Type: application/json' --data "$body" "$SIM_URL$p"
	else
		curl -sS -X "$m" "$SIM_URL$p"
	fi
}

ctl() { "$AB/aivenctl" -c "$W/aivenauth.conf" "$@"; }

finish() {
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" = 0 ]
}

jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
enc() { python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
rx() { printf '%s' "$1" | sed 's/[][\\.^$*+?(){}|]/\\&/g'; }
api() {
	[ -s "$W/auth.hdr" ] ||
	    ( umask 077; printf 'Authorization: aivenv1 %s\n' "$ADMIN_TOKEN" > "$W/auth.hdr" )
	curl -sS -X "$1" -H @"$W/auth.hdr" -H 'Content-Type: application/json' \
	    ${3:+--data "$3"} "$SIM_URL$2"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_tcp() {
	local i
	for i in $(seq 600); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

sshd_usable() {
	if [ "$(id -u)" != 0 ]; then
		skip "sshd: needs root"; return 1
	fi
	if ! [ -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null 2>&1 ||
	    ! command -v sshpass >/dev/null 2>&1; then
		skip "sshd: openssh-server, openssh-client or sshpass missing"
		return 1
	fi
}

sshd_start() {
	local svc=$1 line; shift
	SSH_PORT=$(free_port)
	[ -d /run/sshd ] || install -d -m 0755 /run/sshd   # its privsep dir
	mkdir -p "$W/ssh"; ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/hostkey"
	ln -s /usr/sbin/sshd "$W/ssh/$svc"      # PAM service = basename
	cat > "$W/ssh/sshd_config" <<EOT
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $W/ssh/hostkey
PidFile $W/ssh/sshd.pid
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
AuthenticationMethods keyboard-interactive
StrictModes no
LogLevel VERBOSE
EOT
	for line in "$@"; do printf '%s\n' "$line" >> "$W/ssh/sshd_config"; done
	PAM_WRAPPER=1 LD_PRELOAD=libpam_wrapper.so "$W/ssh/$svc" -D -e \
	    -f "$W/ssh/sshd_config" > "$W/ssh/sshd.log" 2>&1 &
	SSH_PID=$!; PIDS+=("$SSH_PID")
	wait_tcp "$SSH_PORT" && return 0
	bad "sshd did not start: $(tail -3 "$W/ssh/sshd.log")"
	return 1
}

# The verdict is sshd's own log line for this account, counted before
# and after: ssh's exit status cannot tell a refusal from a failure.
sshd_login() {
	local ok0 bad0 ok1 bad1 i
	ok0=$(grep -c "Accepted keyboard-interactive/pam for $2 " "$W/ssh/sshd.log")
	bad0=$(grep -c "Failed keyboard-interactive/pam for $2 " "$W/ssh/sshd.log")
	sshpass -f "$1" ssh -p "$SSH_PORT" -o StrictHostKeyChecking=no \
	    -o UserKnownHostsFile=/dev/null -o PreferredAuthentications=keyboard-interactive \
	    -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 -o LogLevel=ERROR \
	    -o ConnectTimeout=10 "$2@127.0.0.1" true >> "$W/ssh.out" 2>&1
	for i in $(seq 300); do
		ok1=$(grep -c "Accepted keyboard-interactive/pam for $2 " "$W/ssh/sshd.log")
		bad1=$(grep -c "Failed keyboard-interactive/pam for $2 " "$W/ssh/sshd.log")
		[ "$ok1" -gt "$ok0" ] && return 0
		[ "$bad1" -gt "$bad0" ] && return 1
		sleep 0.1
	done
	return 2
}
