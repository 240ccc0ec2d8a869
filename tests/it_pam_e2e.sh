#!/bin/bash
# it_pam_e2e.sh - pam_aiven.so end to end with real clients and servers,
# tokens made and revoked through aivenctl against the API simulator.
#
# Run: AIVENAUTH_BUILD=$PWD/build AIVENAUTH_TOP=$PWD bash tests/it_pam_e2e.sh
# (as root in CI: sshd needs it, and the other servers are started as the
# users they normally run as).
#
# Every server gets LD_PRELOAD=libpam_wrapper.so and a private PAM service
# directory ($W/pam.d): /etc/pam.d is never read or written.  Servers listen
# on 127.0.0.1 (or unix sockets in $W) on free ports and are stopped by pid.
#
# Per client: an accepted token, a wrong token (right prefix, other
# secret), a token revoked with `aivenctl token revoke` + `aivenctl sync`,
# a token expired at the simulator + `aivenctl sync`; the good token still
# works after those syncs.
#
# saslauthd (Cyrus SASL 2.1.28) refuses any password longer than
# MAX_REQ_LEN = 256 bytes before it calls PAM, and real Aiven tokens are
# 372 characters.  That is a documented limitation (README, pam_aiven(8)),
# checked here: a real-length good token must be refused by saslauthd
# itself ("exceeded MAX_REQ_LEN" in its log) without pam_aiven being
# called.  If that ever changes the docs are wrong, and the check fails.
# saslauthd's process model is then tested with tokens that fit: a second
# simulator (--token-bytes 150: 200-character tokens) with its own config
# and cache in $W/short, service aivtest-short.  Dovecot, the recommended
# SASL server for Postfix, carries real-length tokens: tests/it_dovecot.sh.
#
# Cache permissions (design.md: root:aivenauth 0750, snapshot.mdb and
# state 0640, writer/ 0700; services in group aivenauth, read-only).  Giving `postgres` a
# supplementary group would mean editing /etc/group, so the group that
# stands for `aivenauth` here is postgres's own primary group: the
# PostgreSQL backends read the cache through their primary group, and the
# nginx worker runs as `user nobody <that group>;`, so it too reads the
# cache only through group membership (nobody is not the owner and "other"
# has no access).  pamtester, saslauthd and sshd run PAM as root.
#
# Secrets: every token lives in $W/secrets (0700), excluded from the final
# leak check, which greps every other file of the run (server logs with
# pam_syslog output at PAM_WRAPPER_DEBUGLEVEL=2, client outputs, simulator
# log) and the command lines of every server process for the tokens.
# Clients get the token on stdin (pamtester), from a 0600 file (sshpass -f,
# curl --netrc-file), or in the environment (psql: PGPASSWORD); only
# testsaslauthd has no other way than `-p TOKEN` in its own argv, so client
# processes are not part of the command-line check.
. "$(dirname "$0")/lib.sh"

MOD="$AB/pam_aiven.so"
SEC=/usr/lib/x86_64-linux-gnu/security
PW_LIB=libpam_wrapper.so
ROOT=false; [ "$(id -u)" = 0 ] && ROOT=true

need() { command -v "$1" >/dev/null 2>&1; }
# Descendants of a pid (inclusive), for the command-line snapshot.
tree_pids() {
	local p=$1 c
	echo "$p"
	for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree_pids "$c"; done
}
urlenc() { python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
jfield() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

if [ ! -r "$MOD" ]; then bad "no module at $MOD"; finish; exit; fi
if [ ! -x "$AB/aivenctl" ]; then bad "no aivenctl in $AB"; finish; exit; fi
if ! [ -e /usr/lib/x86_64-linux-gnu/$PW_LIB ] && ! ldconfig -p | grep -q "$PW_LIB"; then
	skip "all clients: libpam_wrapper.so missing (package libpam-wrapper)"
	finish; exit
fi

# ---------------------------------------------------------------- API side
start_sim || { bad "simulator did not start"; finish; exit; }
S="$W/secrets"; mkdir -m 0700 "$S"

mkuser() {   # NAME -> prints user_id (through ${CTL:-ctl}, files under ${UDIR:-$W})
	local d=${UDIR:-$W}
	${CTL:-ctl} --json user create "$1" > "$d/user-$1.json" 2>"$d/user-$1.err" || return 1
	jfield "$d/user-$1.json" user_id
}
# mktoken USER_ID NAME: token in $S/NAME, prefix in $S/NAME.prefix
# (through ${CTL:-ctl}: CTL=ctl_short for the second simulator)
mktoken() {
	${CTL:-ctl} --json token create "$1" --description "e2e $2" > "$S/$2.json" 2>"$W/token-$2.err" || return 1
	python3 - "$S/$2.json" "$S/$2" <<'EOF'
import json, os, sys
d = json.load(open(sys.argv[1]))
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, (d["full_token"] + "\n").encode()); os.close(fd)
open(sys.argv[2] + ".prefix", "w").write(d["token_prefix"] + "\n")
EOF
}
tok() { head -1 "$S/$1"; }
pfx() { head -1 "$S/$1.prefix"; }

ALICE_ID=$(mkuser alice) && [ -n "$ALICE_ID" ] || { bad "aivenctl user create alice: $(cat "$W/user-alice.err")"; finish; exit; }
NOBODY_ID=$(mkuser nobody) && [ -n "$NOBODY_ID" ] || { bad "aivenctl user create nobody: $(cat "$W/user-nobody.err")"; finish; exit; }
for t in a_good a_rev a_exp; do mktoken "$ALICE_ID" $t || bad "token create $t: $(cat "$W/token-$t.err")"; done
for t in n_good n_rev n_exp; do mktoken "$NOBODY_ID" $t || bad "token create $t: $(cat "$W/token-$t.err")"; done
# Same prefix, another secret: the hash compare must refuse it.
wrong_of() {
	local t; t=$(tok "$1")
	printf '%s' "${t:0:100}"; printf '%s' "${t:100:16}" | tr 'A-Za-z0-9+/' 'B-Za-z0-9+/A'; printf '%s\n' "${t:116}"
}
wrong_of a_good > "$S/a_wrong"; wrong_of n_good > "$S/n_wrong"
# Tokens made "elsewhere": straight through the API, so this host never
# sees their hash (online learning below).  The admin token goes to curl in
# a header file, not in its argv.
( umask 077; printf 'Authorization: aivenv1 %s\n' "$ADMIN_TOKEN" > "$S/admin.hdr" )
for t in l_nginx l_root; do
	curl -sS -H @"$S/admin.hdr" -H 'Content-Type: application/json' \
	    --data "{\"description\": \"e2e $t (made elsewhere)\"}" \
	    "$SIM_URL/v1/organization/$ORG_ID/application-users/$ALICE_ID/access-tokens" \
	    -o "$S/$t.json" || bad "API token create $t"
	python3 - "$S/$t.json" "$S/$t" <<'EOF2'
import json, os, sys
d = json.load(open(sys.argv[1]))
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, (d["full_token"] + "\n").encode()); os.close(fd)
open(sys.argv[2] + ".prefix", "w").write(d["token_prefix"] + "\n")
EOF2
done
chmod 0600 "$S"/*
if ctl sync > "$W/sync1.out" 2>&1; then ok "aivenctl sync"; else bad "aivenctl sync: $(cat "$W/sync1.out")"; fi

# A second simulator minting 200-character tokens (--token-bytes 150), so
# saslauthd's process model can be tested with tokens under its 256-byte
# limit.  Own config, admin token file and cache in $W/short; its tokens
# are s_* in $S.  Only saslauthd uses it (service aivtest-short), as root.
HAVE_SHORT=false
start_short_sim() {
	local i
	mkdir -p "$W/short"
	python3 "$SIM" --port 0 --port-file "$W/short/sim.port" \
	    --bootstrap-file "$W/short/sim.boot" --token-bytes 150 \
	    > "$W/short/sim.log" 2>&1 &
	SHORT_PID=$!; PIDS+=("$SHORT_PID")
	for i in $(seq 300); do
		[ -s "$W/short/sim.boot" ] && break
		kill -0 "$SHORT_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$W/short/sim.boot" ] || return 1
	SHORT_URL=$(jfield "$W/short/sim.boot" api_url)
	( umask 077; jfield "$W/short/sim.boot" admin_token > "$W/short/api-token" )
	cat > "$W/short/aivenauth.conf" <<EOC
# second simulator (200-character tokens), written by it_pam_e2e.sh
api_url = $SHORT_URL
organization_id = $(jfield "$W/short/sim.boot" organization_id)
api_token_file = $W/short/api-token
cache_dir = $W/short/cache
timeout = 5
EOC
	chmod 0644 "$W/short/aivenauth.conf"
}
ctl_short() { "$AB/aivenctl" -c "$W/short/aivenauth.conf" "$@"; }
if start_short_sim; then
	S_ALICE_ID=$(CTL=ctl_short UDIR=$W/short mkuser alice)
	if [ -n "$S_ALICE_ID" ]; then
		for t in s_good s_rev s_exp; do
			CTL=ctl_short mktoken "$S_ALICE_ID" $t || bad "token create $t (200-character simulator): $(cat "$W/token-$t.err")"
		done
		wrong_of s_good > "$S/s_wrong"; chmod 0600 "$S"/s_*
		if [ "$(tok s_good | tr -d '\n' | wc -c)" = 200 ]; then
			ok "second simulator (--token-bytes 150) mints 200-character tokens"
		else
			bad "second simulator: token is $(tok s_good | tr -d '\n' | wc -c) characters, not 200"
		fi
		if ctl_short sync > "$W/short/sync1.out" 2>&1; then
			ok "aivenctl sync (200-character-token simulator)"; HAVE_SHORT=true
		else
			bad "aivenctl sync (200-character-token simulator): $(cat "$W/short/sync1.out")"
		fi
	else
		bad "aivenctl user create alice (200-character-token simulator): $(cat "$W/short/user-alice.err")"
	fi
else
	bad "second simulator (--token-bytes 150) did not start: $(tail -3 "$W/short/sim.log")"
fi

# The cache group model (see the header).
CG=$(id -gn postgres 2>/dev/null || echo nogroup)
chgrp -R "$CG" "$W/cache" && chmod 0750 "$W/cache" &&
    chmod 0640 "$W/cache/snapshot.mdb" "$W/cache/state" ||
    bad "cache permissions"
ls -ln "$W/cache" > "$W/cache-perms.txt"

# ---------------------------------------------------------------- PAM side
ARGS="config=$W/aivenauth.conf"
mkdir -p "$W/pam.d"
svc() {   # NAME (module arguments: $ARGS)
	cat > "$W/pam.d/$1" <<EOT
auth     required  $MOD $ARGS
account  required  $MOD $ARGS
account  required  $SEC/pam_permit.so
session  required  $SEC/pam_permit.so
password required  $SEC/pam_deny.so
EOT
}
svc aivtest; svc aivtest-sshd
ARGS="config=$W/aivenauth.conf online=learn" svc aivtest-learn
ARGS="config=$W/short/aivenauth.conf" svc aivtest-short
printf 'auth required %s/pam_deny.so\naccount required %s/pam_deny.so\npassword required %s/pam_deny.so\nsession required %s/pam_deny.so\n' \
    $SEC $SEC $SEC $SEC > "$W/pam.d/other"
chmod -R a+rX "$W/pam.d"
export PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" PAM_WRAPPER_DEBUGLEVEL=2
SERVERS=()    # pids of servers, for the command-line snapshot

# --- clients: try_<client> TOKEN-NAME USER -> 0 accepted, 1 refused, 2 broken
try_pamtester() {   # TOKEN-NAME USER [SERVICE]
	local out="$W/pamtester.out"
	echo "== $1" >> "$out"
	tok "$1" | LD_PRELOAD=$PW_LIB pamtester -I rhost=127.0.0.1 "${3:-aivtest}" "$2" \
	    authenticate acct_mgmt >> "$out" 2>&1 && return 0
	tail -1 "$out" | grep -qE 'Authentication failure|Authentication token is no longer valid|User account has expired' && return 1
	return 2
}

HAVE_SASL=false
if need saslauthd && need testsaslauthd; then
	mkdir -p "$W/sasl"
	LD_PRELOAD=$PW_LIB setsid saslauthd -a pam -m "$W/sasl" -n 1 -d \
	    > "$W/saslauthd.log" 2>&1 &
	SASL_PID=$!; PIDS+=("$SASL_PID"); SERVERS+=("$SASL_PID")
	for i in $(seq 600); do [ -S "$W/sasl/mux" ] && break; sleep 0.1; done
	if [ -S "$W/sasl/mux" ]; then HAVE_SASL=true; else bad "saslauthd did not start: $(tail -3 "$W/saslauthd.log")"; fi
else
	skip "saslauthd: saslauthd/testsaslauthd missing (package sasl2-bin)"
fi
try_saslauthd() {   # s_* tokens (second simulator) go to service aivtest-short
	local r svc=aivtest
	case $1 in s_*) svc=aivtest-short ;; esac
	# testsaslauthd takes the password only in its argv (see the header).
	r=$(testsaslauthd -f "$W/sasl/mux" -s "$svc" -u "$2" -p "$(tok "$1")" 2>&1)
	echo "== $1: $r" >> "$W/testsaslauthd.out"
	case $r in *'OK "Success."'*) return 0 ;; *'NO '*) return 1 ;; esac
	return 2
}

HAVE_NGINX=false
if need nginx && [ -f /usr/lib/nginx/modules/ngx_http_auth_pam_module.so ] && need curl; then
	NGINX_PORT=$(free_port)
	mkdir -p "$W/nginx/html"; echo protected > "$W/nginx/html/index.html"
	chmod -R a+rX "$W/nginx"
	cat > "$W/nginx/nginx.conf" <<EOT
load_module /usr/lib/nginx/modules/ngx_http_auth_pam_module.so;
daemon off; worker_processes 1; pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log info;
user nobody $CG;
# nginx clears the workers' environment: keep pam_wrapper's log level so
# the module's pam_syslog lines reach error.log.
env PAM_WRAPPER_DEBUGLEVEL;
events { worker_connections 64; }
http {
  access_log $W/nginx/access.log;
  client_body_temp_path $W/nginx/body; proxy_temp_path $W/nginx/proxy;
  fastcgi_temp_path $W/nginx/fcgi; uwsgi_temp_path $W/nginx/uwsgi;
  scgi_temp_path $W/nginx/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT; root $W/nginx/html;
    location / { auth_pam "Aiven"; auth_pam_service_name "aivtest"; }
    location /learn { auth_pam "Aiven"; auth_pam_service_name "aivtest-learn";
                      alias $W/nginx/html/; }
    location = /health { return 200 "ok\n"; }
  }
}
EOT
	$ROOT || sed -i '/^user /d' "$W/nginx/nginx.conf"
	LD_PRELOAD=$PW_LIB nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" \
	    -e "$W/nginx/error.log" > "$W/nginx/out.log" 2>&1 &
	NGINX_PID=$!; PIDS+=("$NGINX_PID"); SERVERS+=("$NGINX_PID")
	if wait_tcp "$NGINX_PORT"; then HAVE_NGINX=true; else bad "nginx did not start: $(cat "$W/nginx/out.log" "$W/nginx/error.log" 2>/dev/null | tail -3)"; fi
else
	skip "nginx: nginx, libnginx-mod-http-auth-pam or curl missing"
fi
try_nginx() {   # TOKEN-NAME USER [PATH]
	local c
	( umask 077; printf 'machine 127.0.0.1 login %s password %s\n' "$2" "$(tok "$1")" > "$S/netrc" )
	c=$(curl -s -o /dev/null -w '%{http_code}' --netrc-file "$S/netrc" "http://127.0.0.1:$NGINX_PORT${3:-/}")
	rm -f "$S/netrc"
	echo "== $1: $c" >> "$W/curl.out"
	case $c in 200) return 0 ;; 401) return 1 ;; esac
	return 2
}

HAVE_PG=false
PGB=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -n "$PGB" ] && [ -x "$PGB/initdb" ] && need psql; then
	PG_PORT=$(free_port)
	mkdir -p "$W/pg/sock"; AS=""
	if $ROOT; then chown -R postgres: "$W/pg"; AS="runuser -u postgres --"; fi
	if $AS "$PGB/initdb" -D "$W/pg/data" -U pgadmin --auth-local=trust \
	    -E UTF8 --locale=C.UTF-8 > "$W/pg/initdb.log" 2>&1; then
		cat > "$W/pg/hba.conf" <<EOT
local all pgadmin              trust
host  all all     127.0.0.1/32 pam pamservice=aivtest
EOT
		[ -n "$AS" ] && chown postgres: "$W/pg/hba.conf"
		if $AS env LD_PRELOAD=$PW_LIB PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" \
		    PAM_WRAPPER_DEBUGLEVEL=2 "$PGB/pg_ctl" -D "$W/pg/data" -l "$W/pg/pg.log" -w -t 30 \
		    -o "-p $PG_PORT -k $W/pg/sock -c listen_addresses=127.0.0.1 -c hba_file=$W/pg/hba.conf" \
		    start > "$W/pg/pg_ctl.out" 2>&1; then
			PG_PID=$(head -1 "$W/pg/data/postmaster.pid"); PIDS+=("$PG_PID"); SERVERS+=("$PG_PID")
			$AS psql -h "$W/pg/sock" -p "$PG_PORT" -U pgadmin -d postgres -qAtc \
			    'CREATE ROLE alice LOGIN' > "$W/pg/role.out" 2>&1 &&
			    HAVE_PG=true || bad "CREATE ROLE alice: $(cat "$W/pg/role.out")"
		else
			bad "pg_ctl start: $(tail -5 "$W/pg/pg.log" 2>/dev/null)"
		fi
	else
		bad "initdb: $(tail -3 "$W/pg/initdb.log")"
	fi
else
	skip "postgres: PostgreSQL server binaries or psql missing"
fi
try_postgres() {
	local r
	r=$(PGPASSWORD=$(tok "$1") PGCONNECT_TIMEOUT=10 psql -w -h 127.0.0.1 -p "$PG_PORT" \
	    -U "$2" -d postgres -Atc 'select current_user' 2>&1)
	echo "== $1: $r" >> "$W/psql.out"
	[ "$r" = "$2" ] && return 0
	[[ $r == *"PAM authentication failed"* ]] && return 1
	return 2
}

HAVE_SSH=false
if sshd_usable; then
	sshd_start aivtest-sshd && HAVE_SSH=true
	SERVERS+=("$SSH_PID")
fi
try_sshd() { sshd_login "$S/$1" "$2"; }

# case CLIENT DESC TOKEN-NAME USER EXPECT(accept|refuse)
CLIENTS=()
$ROOT || true
need pamtester && CLIENTS+=(pamtester) || skip "pamtester: not installed"
# saslauthd (sasl2-bin 2.1.28) refuses any field longer than MAX_REQ_LEN
# (256 bytes) before it calls PAM, and Aiven tokens are 372 characters: a
# documented limitation, verified here.  PASS only if a real-length good
# token is refused by saslauthd itself, with "exceeded MAX_REQ_LEN" in its
# log and no module decision line (pam_aiven never called).  The decision
# lines of the 200-character tokens below prove that saslauthd.log does
# capture the module's pam_syslog output.
if $HAVE_SASL; then
	P=$(pfx a_good)
	m0=$(grep -c 'exceeded MAX_REQ_LEN' "$W/saslauthd.log")
	d0=$(grep -c 'decision=' "$W/saslauthd.log")
	try_saslauthd a_good alice; rc=$?
	# saslauthd's worker may write its log line after the answer: wait
	# for it (or for a module decision line), up to 30 s.
	for i in $(seq 300); do
		m1=$(grep -c 'exceeded MAX_REQ_LEN' "$W/saslauthd.log")
		d1=$(grep -c 'decision=' "$W/saslauthd.log")
		[ "$m1" -gt "$m0" ] || [ "$d1" -gt "$d0" ] && break
		sleep 0.1
	done
	len=$(tok a_good | tr -d '\n' | wc -c)
	if [ "$rc" = 0 ]; then
		bad "saslauthd ACCEPTED a $len-character token: the MAX_REQ_LEN limitation is gone, README and pam_aiven(8) are wrong"
	elif [ "$rc" = 1 ] && [ "$m1" -gt "$m0" ] && [ "$d1" = "$d0" ] &&
	    ! grep -qF "prefix=$P " "$W/saslauthd.log" && [ "$len" = 372 ]; then
		ok "saslauthd: refuses 372-character tokens before PAM (Cyrus MAX_REQ_LEN 256; documented limitation)"
	else
		bad "saslauthd: behaviour changed for a $len-character token (answer rc=$rc, MAX_REQ_LEN lines $m0 -> $m1, module decision lines $d0 -> $d1): the documented limitation no longer holds as written"
	fi
fi
$HAVE_SASL && $HAVE_SHORT && CLIENTS+=(saslauthd)
$HAVE_SASL && ! $HAVE_SHORT && bad "saslauthd: no 200-character tokens (second simulator failed), its PAM cases did not run"
$HAVE_NGINX && CLIENTS+=(nginx)
$HAVE_PG && CLIENTS+=(postgres)
$HAVE_SSH && CLIENTS+=(sshd)

expect() {
	local c=$1 desc=$2 t=$3 u=$4 want=$5 rc
	"try_$c" "$t" "$u"; rc=$?
	case "$want:$rc" in
	accept:0) ok "$c: $desc accepted" ;;
	refuse:1) ok "$c: $desc refused" ;;
	*) bad "$c: $desc: expected $want, got $([ $rc = 0 ] && echo accepted || { [ $rc = 1 ] && echo refused || echo 'no answer'; })" ;;
	esac
}
user_of() { [ "$1" = sshd ] && echo nobody || echo alice; }
tp() {   # token set per client: n_* (user nobody), s_* (200 characters), a_*
	case $1 in sshd) echo n ;; saslauthd) echo s ;; *) echo a ;; esac
}

# Phase 1: everything fresh.
for c in "${CLIENTS[@]}"; do
	u=$(user_of "$c"); p=$(tp "$c")
	expect "$c" "good token" "${p}_good" "$u" accept
	expect "$c" "wrong token (right prefix)" "${p}_wrong" "$u" refuse
	expect "$c" "token to be revoked, before" "${p}_rev" "$u" accept
	expect "$c" "token to be expired, before" "${p}_exp" "$u" accept
done
[ ${#CLIENTS[@]} -gt 0 ] && [ "${CLIENTS[0]}" = pamtester ] &&
    expect pamtester "good token for another user" a_good bob refuse

# Snapshot of the servers' command lines while they run.
: > "$W/server-cmdlines.txt"
for sp in "${SERVERS[@]}"; do
	for p in $(tree_pids "$sp"); do
		[ -r "/proc/$p/cmdline" ] || continue
		printf '%s: ' "$p" >> "$W/server-cmdlines.txt"
		tr '\0' ' ' < "/proc/$p/cmdline" >> "$W/server-cmdlines.txt"
		echo >> "$W/server-cmdlines.txt"
	done
done

# Phase 2: revoke and expire through the API, sync.
for p in a n; do
	uid=$ALICE_ID; [ $p = n ] && uid=$NOBODY_ID
	ctl token revoke "$uid" "$(pfx ${p}_rev)" >> "$W/revoke.out" 2>&1 ||
	    bad "aivenctl token revoke ${p}_rev: $(tail -2 "$W/revoke.out")"
	sim_ctl POST "/_sim/tokens/$(urlenc "$(pfx ${p}_exp)")/expire" >> "$W/expire.out" 2>&1 ||
	    bad "simulator expire ${p}_exp"
done
if ctl sync > "$W/sync2.out" 2>&1; then ok "aivenctl sync after revoke/expire"; else bad "aivenctl sync: $(cat "$W/sync2.out")"; fi
if $HAVE_SHORT; then
	ctl_short token revoke "$S_ALICE_ID" "$(pfx s_rev)" >> "$W/revoke.out" 2>&1 ||
	    bad "aivenctl token revoke s_rev: $(tail -2 "$W/revoke.out")"
	SIM_URL=$SHORT_URL sim_ctl POST "/_sim/tokens/$(urlenc "$(pfx s_exp)")/expire" >> "$W/expire.out" 2>&1 ||
	    bad "simulator expire s_exp"
	if ctl_short sync > "$W/short/sync2.out" 2>&1; then
		ok "aivenctl sync after revoke/expire (200-character-token simulator)"
	else
		bad "aivenctl sync (200-character-token simulator): $(cat "$W/short/sync2.out")"
	fi
fi
ls -ln "$W/cache" >> "$W/cache-perms.txt"
for c in "${CLIENTS[@]}"; do
	u=$(user_of "$c"); p=$(tp "$c")
	expect "$c" "revoked token (after sync)" "${p}_rev" "$u" refuse
	expect "$c" "expired token (after sync)" "${p}_exp" "$u" refuse
	expect "$c" "good token (after sync)" "${p}_good" "$u" accept
done

# Online learning (online=learn): a synced token whose hash this host never
# saw is checked at the API with itself as the credential.  Readers never
# write the cache, root (pamtester) included: the vouch lives in the
# verifying process's memory, so a plain service still refuses the token.
if need pamtester; then
	expect pamtester "token made elsewhere, no online learning" l_root alice refuse
	if try_pamtester l_root alice aivtest-learn; then
		ok "pamtester: token made elsewhere accepted with online=learn"
	else bad "pamtester: token made elsewhere refused with online=learn"; fi
	grep -q "prefix=$(pfx l_root) decision=accepted reason=accepted online=learned-in-memory\$" "$W/pamtester.out" &&
	    ok "pamtester: log says online=learned-in-memory" || bad "pamtester: no online=learned-in-memory line"
	expect pamtester "learned token, offline service (nothing stored, even as root)" l_root alice refuse
fi
if $HAVE_NGINX; then
	expect nginx "token made elsewhere, no online learning" l_nginx alice refuse
	if try_nginx l_nginx alice /learn/; then
		ok "nginx: token made elsewhere accepted with online=learn"
	else bad "nginx: token made elsewhere refused with online=learn"; fi
	grep -q "prefix=$(pfx l_nginx) decision=accepted reason=accepted online=learned-in-memory" "$W/nginx/error.log" &&
	    ok "nginx: log says online=learned-in-memory (readers never write the cache)" ||
	    bad "nginx: no online=learned-in-memory line"
	expect nginx "token learned by a reader only, offline service" l_nginx alice refuse
	expect nginx "good token after root wrote the cache" a_good alice accept
fi
ls -ln "$W/cache" >> "$W/cache-perms.txt"

# What the module said, for the record (reasons, never tokens).
grep -h -o 'service=aivtest[^"]*reason=[a-z-]*' "$W"/*.out "$W"/*.log "$W"/*/*.log 2>/dev/null |
    sed -E 's/^/    /' | sort | uniq -c | sort -rn | head -20

# ---------------------------------------------------------------- stop servers
$HAVE_PG && $AS "$PGB/pg_ctl" -D "$W/pg/data" -m fast stop > /dev/null 2>&1
for sp in "${SERVERS[@]}"; do stop_pid "$sp"; done

# ---------------------------------------------------------------- leak check
# Every file of the run but $S, and the servers' command lines: neither a
# token nor a 40-character piece of its secret part may appear.
# A planted canary proves the search itself works.
cv=$(tok a_good); cv=${cv:12:40}; printf 'canary %s\n' "$cv" > "$W/canary.txt"
leaks=0; files=0; canary=0
while IFS= read -r -d '' f; do
	if [ "$f" = "$W/canary.txt" ]; then
		grep -qF -- "$cv" "$f" && canary=1
		continue
	fi
	files=$((files + 1))
	for t in a_good n_good a_rev a_exp a_wrong l_nginx l_root s_good s_rev s_exp s_wrong; do
		[ -s "$S/$t" ] || continue
		tv=$(tok "$t")
		for piece in "$tv" "${tv:12:40}" "${tv:200:40}" "${tv:150:40}"; do
			[ ${#piece} -ge 40 ] || continue   # ${tv:200:40} of a 200-character token is empty
			if grep -qF -- "$piece" "$f"; then
				leaks=$((leaks + 1)); echo "    token $t found in ${f#$W/}"; break
			fi
		done
	done
done < <(find "$W" -path "$S" -prune -o -type f -size -20M -print0)
if [ "$canary" != 1 ]; then
	bad "token leak check: the planted canary was not found (the check is broken)"
elif [ "$files" -gt 5 ] && [ "$leaks" = 0 ]; then
	ok "no token in $files log/output files (server logs with pam_syslog at debug level 2, client outputs, simulator log, server command lines)"
else
	bad "token leak check: $leaks hit(s) in $files files"
fi
# The module's own log lines, per server.  sshd's pre-auth child sends
# its stderr to /dev/null (its logs go through the monitor), so pam_syslog
# output of the module cannot be captured there: sshd's own log (Accepted /
# Failed / "PAM: Authentication failure") is what the sshd cases check.
for f in pamtester.out saslauthd.log nginx/error.log pg/pg.log; do
	case $f in
	pamtester.out) need pamtester || continue ;;
	saslauthd.log) { $HAVE_SASL && $HAVE_SHORT; } || continue ;;
	nginx/*) $HAVE_NGINX || continue ;;
	pg/*) $HAVE_PG || continue ;;
	esac
	if grep -q 'decision=accepted' "$W/$f" && grep -q 'decision=denied reason=revoked' "$W/$f" &&
	    grep -q 'decision=denied reason=expired' "$W/$f"; then
		ok "module decision lines (accepted, revoked, expired) captured in $f"
	else
		bad "module decision lines missing from $f"
	fi
done

finish
