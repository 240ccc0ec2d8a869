#!/bin/bash
# it_dovecot.sh - pam_aiven.so behind dovecot's auth service, the SASL
# server recommended for Postfix (smtpd_sasl_type = dovecot): unlike Cyrus
# saslauthd (256-byte MAX_REQ_LEN, see it_pam_e2e.sh) it carries real
# 372-character Aiven tokens.
#
# Run: AIVENAUTH_BUILD=$PWD/build AIVENAUTH_TOP=$PWD bash tests/it_dovecot.sh
# (as root: dovecot's master starts the auth worker as another user).
#
# A private dovecot instance: its own -c config in $W (base_dir, state_dir,
# log file), `protocols =` (no IMAP/POP3/LMTP listeners: only the auth
# service and its unix sockets in $W), `passdb { driver = pam }` with the
# PAM service `aivtest` from a private pam_wrapper service directory,
# `auth_cache_size = 0` (a revoked token must not survive in dovecot's own
# cache).  The PAM passdb runs in the auth-worker process, started here as
# user dovecot with the cache's group only in `extra_groups` (what a
# deployment would set: `extra_groups = aivenauth`).  The master clears its children's environment: pam_wrapper's variables are
# passed with `import_environment`.
#
# Cases: 372-character tokens made with aivenctl and synced: accepted, wrong
# (right prefix, other secret), revoked (aivenctl token revoke + sync) and
# expired (simulator + sync), each before and after; the good token after
# the syncs.  The token goes to `doveadm auth test` on stdin (it reads the
# password from /dev/tty, or stdin without a controlling terminal: it runs
# under `setsid -w`), so no process of the run has a token in its argv.
# Dovecot is started with -F under setsid and stopped by its pid.
. "$(dirname "$0")/lib.sh"

MOD="$AB/pam_aiven.so"
SEC=/usr/lib/x86_64-linux-gnu/security
PW_LIB=libpam_wrapper.so
D="$W/dovecot"
jfield() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
urlenc() { python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
tree_pids() {
	local p=$1 c
	echo "$p"
	for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree_pids "$c"; done
}

if [ ! -r "$MOD" ] || [ ! -x "$AB/aivenctl" ]; then bad "no module or aivenctl in $AB"; finish; exit; fi
if ! command -v dovecot >/dev/null 2>&1 || ! command -v doveadm >/dev/null 2>&1; then
	skip "dovecot: dovecot/doveadm missing (package dovecot-core)"; finish; exit
fi
if ! ldconfig -p | grep -q "$PW_LIB"; then
	skip "dovecot: libpam_wrapper.so missing (package libpam-wrapper)"; finish; exit
fi
if [ "$(id -u)" != 0 ]; then
	skip "dovecot: needs root (the master starts the auth worker as user dovecot)"; finish; exit
fi
if ! id dovecot >/dev/null 2>&1 || ! id dovenull >/dev/null 2>&1; then
	skip "dovecot: users dovecot/dovenull missing (made by dovecot-core)"; finish; exit
fi

# ---------------------------------------------------------------- API side
start_sim || { bad "simulator did not start"; finish; exit; }
S="$W/secrets"; mkdir -m 0700 "$S"
ctl --json user create alice > "$W/user-alice.json" 2> "$W/user-alice.err" &&
    ALICE_ID=$(jfield "$W/user-alice.json" user_id) && [ -n "$ALICE_ID" ] ||
    { bad "aivenctl user create alice: $(cat "$W/user-alice.err")"; finish; exit; }
mktoken() {   # NAME: token in $S/NAME (0600), prefix in $S/NAME.prefix
	ctl --json token create "$ALICE_ID" --description "dovecot $1" > "$S/$1.json" \
	    2> "$W/token-$1.err" || return 1
	python3 - "$S/$1.json" "$S/$1" <<'EOF'
import json, os, sys
d = json.load(open(sys.argv[1]))
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, (d["full_token"] + "\n").encode()); os.close(fd)
open(sys.argv[2] + ".prefix", "w").write(d["token_prefix"] + "\n")
EOF
}
tok() { head -1 "$S/$1"; }
pfx() { head -1 "$S/$1.prefix"; }
for t in d_good d_rev d_exp; do mktoken $t || bad "token create $t: $(cat "$W/token-$t.err")"; done
# Same prefix, another secret.
t=$(tok d_good)
{ printf '%s' "${t:0:100}"; printf '%s' "${t:100:16}" | tr 'A-Za-z0-9+/' 'B-Za-z0-9+/A'; printf '%s\n' "${t:116}"; } > "$S/d_wrong"
chmod 0600 "$S"/*
len=$(tok d_good | tr -d '\n' | wc -c)
[ "$len" = 372 ] && ok "tokens are real-length (372 characters)" || bad "token length $len, not 372"
if ctl sync > "$W/sync1.out" 2>&1; then ok "aivenctl sync"; else bad "aivenctl sync: $(cat "$W/sync1.out")"; fi

# The cache as in a deployment (root:aivenauth 0750, data 0640, lock 0660).
# The stand-in for group aivenauth is a group user dovecot is NOT in
# (postgres's, else nogroup): the worker can read the cache only through
# `extra_groups` in its service block.
CG=$(id -gn postgres 2>/dev/null || echo nogroup)
id -Gn dovecot | tr ' ' '\n' | grep -qx "$CG" && CG=nogroup
chgrp -R "$CG" "$W/cache" && chmod 0750 "$W/cache" &&
    chmod 0640 "$W/cache/snapshot.mdb" "$W/cache/state" ||
    bad "cache permissions"

# ---------------------------------------------------------------- PAM side
mkdir -p "$W/pam.d"
cat > "$W/pam.d/aivtest" <<EOT
auth     required  $MOD config=$W/aivenauth.conf
account  required  $MOD config=$W/aivenauth.conf
account  required  $SEC/pam_permit.so
session  required  $SEC/pam_permit.so
password required  $SEC/pam_deny.so
EOT
printf 'auth required %s/pam_deny.so\naccount required %s/pam_deny.so\npassword required %s/pam_deny.so\nsession required %s/pam_deny.so\n' \
    $SEC $SEC $SEC $SEC > "$W/pam.d/other"
chmod -R a+rX "$W/pam.d"

# ---------------------------------------------------------------- dovecot
mkdir -p "$D/run" "$D/state"
cat > "$D/dovecot.conf" <<EOT
# private instance for it_dovecot.sh: no network listener, sockets in $D/run
protocols =
listen = 127.0.0.1
base_dir = $D/run
state_dir = $D/state
log_path = $D/dovecot.log
info_log_path = $D/dovecot.log
debug_log_path = $D/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
# no credential cache: a revoked or expired token must stop working at
# the next sync, not when a cached success times out (auth_cache_ttl)
auth_cache_size = 0
auth_verbose = yes
# never auth_debug_passwords / auth_verbose_passwords: they log passwords
default_internal_user = dovecot
default_login_user = dovenull
# the master clears its children's environment
import_environment = TZ PAM_WRAPPER PAM_WRAPPER_SERVICE_DIR PAM_WRAPPER_DEBUGLEVEL
passdb {
  driver = pam
  args = max_requests=100 aivtest
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=/tmp
}
service auth {
  unix_listener auth-client {
    mode = 0600
    user = root
  }
}
service auth-worker {
  user = dovecot
  extra_groups = $CG
  # Test harness only, for pam_wrapper (a deployment keeps the defaults):
  # only the worker is preloaded with it, and it copies the service dir
  # when the process starts.  The master's umask is 077, so the copy must
  # be made after the privileges are dropped (a root-owned 0700 copy is
  # unreadable to the worker: "no default config other"); and a worker
  # that starts unprivileged reads its settings from the config socket,
  # which it must then be allowed to open (service config below).
  executable = /usr/bin/env LD_PRELOAD=$PW_LIB /usr/lib/dovecot/auth -w
  drop_priv_before_exec = yes
}
service config {
  unix_listener config {
    user = dovecot
    mode = 0600
  }
}
EOT
if ! doveconf -c "$D/dovecot.conf" -n > "$D/doveconf.out" 2>&1; then
	bad "doveconf rejects the private config: $(tail -3 "$D/doveconf.out")"; finish; exit
fi
PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" PAM_WRAPPER_DEBUGLEVEL=2 \
    setsid dovecot -F -c "$D/dovecot.conf" > "$D/out.log" 2>&1 < /dev/null &
DOVECOT_PID=$!; PIDS+=("$DOVECOT_PID")
for i in $(seq 600); do
	[ -S "$D/run/auth-client" ] && break
	kill -0 "$DOVECOT_PID" 2>/dev/null || break
	sleep 0.1
done
if ! [ -S "$D/run/auth-client" ]; then
	bad "dovecot did not start: $(cat "$D/out.log" "$D/dovecot.log" 2>/dev/null | tail -5)"; finish; exit
fi
ok "dovecot started (private config, pid $DOVECOT_PID, auth socket in \$W)"
mp=$(cat "$D/run/master.pid" 2>/dev/null)
[ "$mp" = "$DOVECOT_PID" ] || bad "dovecot master.pid ($mp) is not the pid started ($DOVECOT_PID)"
# No TCP listener of this instance (protocols is empty).
if command -v ss >/dev/null 2>&1; then
	if ss -Hltnp 2>/dev/null | grep -E "pid=($(tree_pids "$DOVECOT_PID" | paste -sd'|'))," > "$D/listen.txt"; then
		bad "dovecot listens on TCP: $(cat "$D/listen.txt")"
	else
		ok "dovecot: no TCP listener (unix sockets in \$W only)"
	fi
fi

# try TOKEN-NAME USER -> 0 accepted, 1 refused, 2 no answer
try() {   # doveadm exits 0 on success, 77 (EX_NOPERM) on failure
	local rc
	tok "$1" | timeout 30 setsid -w doveadm -c "$D/dovecot.conf" auth test \
	    -a "$D/run/auth-client" -x service=smtp -x rip=127.0.0.1 "$2" \
	    > "$W/doveadm.last" 2>&1
	rc=$?
	{ echo "== $1 (rc=$rc)"; cat "$W/doveadm.last"; } >> "$W/doveadm.out"
	[ $rc = 0 ] && grep -q "^passdb: $2 auth succeeded" "$W/doveadm.last" && return 0
	[ $rc = 77 ] && grep -q "^passdb: $2 auth failed" "$W/doveadm.last" &&
	    ! grep -q 'code=temp_fail' "$W/doveadm.last" && return 1
	return 2
}
expect() {   # DESC TOKEN-NAME USER accept|refuse
	local rc
	try "$2" "$3"; rc=$?
	case "$4:$rc" in
	accept:0) ok "dovecot: $1 accepted" ;;
	refuse:1) ok "dovecot: $1 refused" ;;
	*) bad "dovecot: $1: expected $4, got $([ $rc = 0 ] && echo accepted || { [ $rc = 1 ] && echo refused || echo "no answer: $(tr '\n' ' ' < "$W/doveadm.last")"; })" ;;
	esac
}

expect "good 372-character token" d_good alice accept
expect "wrong token (right prefix)" d_wrong alice refuse
expect "token to be revoked, before" d_rev alice accept
expect "token to be expired, before" d_exp alice accept
expect "good token for another user" d_good bob refuse

# Process command lines while dovecot runs (the doveadm client too: it
# gets the token on stdin, so it is checked as well).
: > "$W/cmdlines.txt"
for p in $(tree_pids "$DOVECOT_PID"); do
	[ -r "/proc/$p/cmdline" ] || continue
	printf '%s: ' "$p" >> "$W/cmdlines.txt"; tr '\0' ' ' < "/proc/$p/cmdline" >> "$W/cmdlines.txt"; echo >> "$W/cmdlines.txt"
done
wp=$(pgrep -P "$DOVECOT_PID" -f 'auth -w' | head -1)
[ -n "$wp" ] && ok "dovecot: PAM ran in an auth-worker process (auth -w)" ||
    bad "dovecot: no auth-worker process seen"
ps -o user= -p "${wp:-0}" > "$W/worker-user.txt" 2>/dev/null
[ "$(tr -d ' \n' < "$W/worker-user.txt")" = dovecot ] &&
    ok "dovecot: auth worker runs as user dovecot, reads the cache through extra_groups" ||
    bad "dovecot: auth worker user is '$(cat "$W/worker-user.txt")', not dovecot"

ctl token revoke "$ALICE_ID" "$(pfx d_rev)" > "$W/revoke.out" 2>&1 ||
    bad "aivenctl token revoke: $(tail -2 "$W/revoke.out")"
sim_ctl POST "/_sim/tokens/$(urlenc "$(pfx d_exp)")/expire" > "$W/expire.out" 2>&1 ||
    bad "simulator expire"
if ctl sync > "$W/sync2.out" 2>&1; then ok "aivenctl sync after revoke/expire"; else bad "aivenctl sync: $(cat "$W/sync2.out")"; fi
expect "revoked token (after sync)" d_rev alice refuse
expect "expired token (after sync)" d_exp alice refuse
expect "good token (after sync)" d_good alice accept

# ---------------------------------------------------------------- stop
stop_pid "$DOVECOT_PID"
kill -0 "$DOVECOT_PID" 2>/dev/null && bad "dovecot still running" || ok "dovecot stopped by pid"
left=$(ps -eo pid=,args= | grep -F "$D/" | grep -v grep)
[ -z "$left" ] && ok "no dovecot process of this run left" || bad "left over: $left"

# ---------------------------------------------------------------- logs
if grep -q "prefix=$(pfx d_good) decision=accepted" "$D/dovecot.log" &&
    grep -q "prefix=$(pfx d_rev) decision=denied reason=revoked" "$D/dovecot.log" &&
    grep -q "prefix=$(pfx d_exp) decision=denied reason=expired" "$D/dovecot.log" &&
    grep -q "prefix=$(pfx d_good) decision=denied reason=secret-mismatch" "$D/dovecot.log"; then
	ok "module decision lines (accepted, secret-mismatch, revoked, expired) captured in dovecot.log"
else
	bad "module decision lines missing from dovecot.log"
fi
grep -h -o 'service=aivtest[^"]*reason=[a-z-]*' "$D/dovecot.log" 2>/dev/null |
    sed -E 's/^/    /' | sort | uniq -c | sort -rn | head -10
cv=$(tok d_good); cv=${cv:12:40}; printf 'canary %s\n' "$cv" > "$W/canary.txt"
leaks=0; files=0; canary=0
while IFS= read -r -d '' f; do
	if [ "$f" = "$W/canary.txt" ]; then grep -qF -- "$cv" "$f" && canary=1; continue; fi
	files=$((files + 1))
	for t in d_good d_wrong d_rev d_exp; do
		tv=$(tok "$t")
		for piece in "$tv" "${tv:12:40}" "${tv:200:40}"; do
			if grep -qF -- "$piece" "$f"; then
				leaks=$((leaks + 1)); echo "    token $t found in ${f#$W/}"; break
			fi
		done
	done
done < <(find "$W" -path "$S" -prune -o -type f -size -20M -print0)
if [ "$canary" != 1 ]; then
	bad "token leak check: the planted canary was not found (the check is broken)"
elif [ "$leaks" = 0 ]; then
	ok "no token in $files log/output files (dovecot.log with pam_syslog at debug level 2, doveadm output, simulator log, process command lines)"
else
	bad "token leak check: $leaks hit(s) in $files files"
fi

finish
