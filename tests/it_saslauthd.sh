#!/bin/bash
# it_saslauthd.sh - aivenauth-saslauthd end to end: Cyrus SASL's own
# testsaslauthd with full-length (372-character) tokens, then what
# libsasl2 never sends (oversized, truncated, random, trailing bytes),
# liveness (idle connections, a slow-loris, half requests, a full table,
# the per-connection deadline: each asserted on an answer arriving, never
# on how fast), many concurrent clients with every answer right, the
# start-up refusals, SIGTERM, the reader's privileges, and no token in any
# log.  Run: AIVENAUTH_BUILD=$PWD/build AIVENAUTH_TOP=$PWD bash tests/it_saslauthd.sh
#
# testsaslauthd takes the password only in its argv (tests only; the
# other clients read tokens from 0600 files through tests/helpers/saslproto.py).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_sasl.sh"

[ -x "$SASLD" ] || { bad "no $SASLD"; finish; exit; }
sasl_setup || { bad "set-up (simulator, users, tokens, sync)"; finish; exit; }
start_sasld main --timeout 600 || { bad "responder did not start"; finish; exit; }
ok "aivenauth-saslauthd started on $SASLD_SOCK"

# ---------------------------------------------------------------- testsaslauthd
if command -v testsaslauthd >/dev/null; then
	tsa() {   # LOGIN TOKENNAME -> testsaslauthd's output line
		testsaslauthd -f "$SASLD_SOCK" -u "$1" -p "$(cat "$S/$2")" -s smtp 2>&1
	}
	out=$(tsa alice a_good); rc=$?
	check "testsaslauthd: a full-length ($(wc -c < "$S/a_good")-byte) token accepted: $out" \
	    test $rc = 0 -a "$out" = '0: OK "Success."'
	for c in "alice a_wrong wrong-secret" "alice b_good another-user's-token" \
	    "alice u_unknown unknown-prefix" "alice a_ipl token-with-ip_allowlist" \
	    "bob a_good token-of-another-user-for-bob"; do
		set -- $c
		out=$(tsa "$1" "$2"); rc=$?
		check "testsaslauthd: $3 refused: $out" test $rc != 0 -a "${out#0: NO}" != "$out"
	done
	out=$(testsaslauthd -f "$SASLD_SOCK" -u alice -p 'hunter2' -s smtp 2>&1); rc=$?
	check "testsaslauthd: a non-token password refused: $out" test $rc != 0 -a "${out#0: NO}" != "$out"
	grep -q 'reason=address' "$W/main.log" &&
	    ok "the ip_allowlist token was refused for its address (log: reason=address)" ||
	    bad "no reason=address in the log"
	! grep -q 'hunter2' "$W/main.log" && ok "the non-token password is not in the log" ||
	    bad "the non-token password is in the log"
	# Revocation: accepted, revoked + synced, refused by the running responder.
	out=$(tsa alice a_rev)
	check "testsaslauthd: a_rev accepted before the revocation" test "$out" = '0: OK "Success."'
	ctl token revoke "$ALICE_ID" "$(head -1 "$S/a_rev.prefix")" > "$W/revoke.out" 2>&1 &&
	    ctl sync > "$W/sync1.out" 2>&1 || bad "revoke + sync: $(cat "$W/revoke.out" "$W/sync1.out")"
	out=$(tsa alice a_rev); rc=$?
	check "testsaslauthd: a_rev refused after revoke + sync, same responder process: $out" \
	    test $rc != 0 -a "${out#0: NO}" != "$out"
	out=$(tsa alice a_good)
	check "testsaslauthd: a_good still accepted after that sync" test "$out" = '0: OK "Success."'
else
	skip "testsaslauthd missing (package sasl2-bin)"
fi

# ---------------------------------------------------------------- policy
# realm handling and user match per service, through the running protocol.
cat > "$W/policy" <<'EOP'
# service  options
*          user_match=name
ldap       realm=list realms=example.com
imap       realm=ignore
sieve      user_match=id
EOP
printf 'pop3       user_match=map account_map=%s\n' "$W/accounts.pop3" >> "$W/policy"
printf '# local account   application users\ndeploy  alice\n' > "$W/accounts.pop3"
chmod 0644 "$W/policy" "$W/accounts.pop3"
PIDMAIN=$SASLD_PID; SOCKMAIN=$SASLD_SOCK
start_sasld pol --policy "$W/policy" || bad "responder with a policy did not start"
ask alice a_good ldap example.com OK > /dev/null; check "policy ldap realm=list: a listed realm accepted" test $? = 0
ask alice a_good ldap example.org OK > /dev/null; check "policy ldap realm=list: an unlisted realm refused" test $? != 0
grep -q 'reason=realm-not-listed' "$W/pol.log" && ok "... logged as realm-not-listed" || bad "no realm-not-listed in the log"
ask alice a_good imap whatever.example OK > /dev/null; check "policy imap realm=ignore: the realm dropped, accepted" test $? = 0
# Service names without case (SECURITY.md O5): a client's "LDAP" is ldap.
ask alice a_good LDAP example.org OK > /dev/null; check "service LDAP gets ldap's policy (realm=list): an unlisted realm refused" test $? != 0
ask alice a_good IMAP whatever.example OK > /dev/null; check "service IMAP gets imap's policy (realm=ignore): accepted" test $? = 0
ask alice a_good smtp example.com OK > /dev/null; check "default realm=rejoin: alice@example.com is not alice, refused" test $? != 0
ask "$ALICE_ID" a_good sieve "" OK > /dev/null; check "policy sieve user_match=id: the user id accepted" test $? = 0
ask alice a_good sieve "" OK > /dev/null; check "policy sieve user_match=id: the name refused" test $? != 0
ask deploy a_good pop3 "" OK > /dev/null; check "policy pop3 user_match=map (its own account_map): alice's token logs into deploy" test $? = 0
ask deploy b_good pop3 "" OK > /dev/null; check "policy pop3 user_match=map: bob (not on deploy's line) refused" test $? != 0
ask alice a_good pop3 "" OK > /dev/null; check "policy pop3 user_match=map: an account with no line refused" test $? != 0
grep -q 'user=deploy app_user=alice(' "$W/pol.log" && ok "... the log names the account and the application user" ||
    bad "no user=deploy app_user=alice in the log"
stop_sasld
SASLD_PID=$PIDMAIN; SASLD_SOCK=$SOCKMAIN

# ---------------------------------------------------------------- hostile input, liveness
while IFS= read -r l; do
	case $l in PASS:*) ok "${l#PASS: }";; FAIL:*) bad "${l#FAIL: }";; esac
done < <(python3 "$SP" "$SASLD_SOCK" hostile alice "@$S/a_good" 2>&1
         python3 "$SP" "$SASLD_SOCK" idle 100 "@$S/a_good" alice bob 2>&1
         python3 "$SP" "$SASLD_SOCK" concurrent 16 40 "@$S/a_good" alice "@$S/b_good" 2>&1)
kill -0 "$SASLD_PID" 2>/dev/null && ok "the responder survived all of it" || bad "the responder died"

start_sasld small --max-connections 8 --timeout 3600 || bad "responder --max-connections 8 did not start"
while IFS= read -r l; do
	case $l in PASS:*) ok "${l#PASS: }";; FAIL:*) bad "${l#FAIL: }";; esac
done < <(python3 "$SP" "$SASLD_SOCK" evict 8 "@$S/a_good" alice 2>&1)
stop_sasld
start_sasld short --timeout 1 || bad "responder --timeout 1 did not start"
while IFS= read -r l; do
	case $l in PASS:*) ok "${l#PASS: }";; FAIL:*) bad "${l#FAIL: }";; esac
done < <(python3 "$SP" "$SASLD_SOCK" deadline 2>&1)
stop_sasld

# ---------------------------------------------------------------- malformed-request log flood
# A local client sending malformed requests at will must not fill the
# journal (SECURITY.md O5): the lines are rate-limited, every request is
# still answered and counted, and what was held back is said.  The bound
# is computed from the time the flood took (a burst, then one line per
# refill period), so a slow machine cannot make it fail.
FLOOD=10000
start_sasld flood --timeout 600 || bad "responder for the flood did not start"
t0=$(date +%s)
while IFS= read -r l; do
	case $l in PASS:*) ok "${l#PASS: }";; FAIL:*) bad "${l#FAIL: }";; esac
done < <(python3 "$SP" "$SASLD_SOCK" flood $FLOOD 2>&1)
t1=$(date +%s)
stop_sasld
lines=$(grep -cE 'reason=(malformed-request|request-too-large)' "$W/flood.log")
supp=$(sed -n 's/.* \([0-9][0-9]*\) similar messages suppressed (malformed requests.*/\1/p' "$W/flood.log" |
       awk '{ s += $1 } END { print s + 0 }')
bound=$(( 10 + (t1 - t0 + 1) / 6 + 1 ))
check "$FLOOD malformed requests: $lines log lines, at most $bound (a burst of 10, then one per 6 s)" \
    test "$lines" -le "$bound"
check "... and the rest is reported suppressed: $lines logged + $supp suppressed = $FLOOD" \
    test $((lines + supp)) = $FLOOD
grep -qE "stopping: $FLOOD connections, [0-9]+ answered, $FLOOD malformed" "$W/flood.log" &&
    ok "... every one counted in the end-of-run line" ||
    bad "end-of-run line: $(grep stopping: "$W/flood.log")"
SASLD_PID=$PIDMAIN; SASLD_SOCK=$SOCKMAIN

SASLD_SAVE=$SASLD_SOCK
# ---------------------------------------------------------------- online = learn
# A token made elsewhere (synced, never enrolled here) is checked at the
# API by the responder's worker thread; while that call hangs, cached
# decisions are still answered (liveness: the loop never waits for it).
mk_else() {
	api POST "/v1/organization/$ORG_ID/application-users/$ALICE_ID/access-tokens" \
	    "{\"description\": \"made elsewhere $1\"}" > "$S/$1.json"
	_jtok "$S/$1.json" "$S/$1"
}
mk_else l_else; mk_else l_held
ctl sync > "$W/sync3.out" 2>&1 || bad "sync: $(cat "$W/sync3.out")"
{ cat "$W/aivenauth.conf"; echo "online = learn"; } > "$W/learn.conf"; chmod 0644 "$W/learn.conf"
"$SASLD" -c "$W/learn.conf" --listen "$W/learn.sock" --stderr > "$W/learn.log" 2>&1 &
LP=$!; PIDS+=("$LP")
for i in $(seq 600); do grep -q 'ready:' "$W/learn.log" && break; kill -0 $LP 2>/dev/null || break; sleep 0.1; done
SASLD_SOCK="$W/learn.sock"
me_calls() { sim_ctl GET /_sim/stats | jget 'd["requests"].get("GET /v1/me", 0)'; }
in_flight() { sim_ctl GET /_sim/stats | jget 'd["in_flight"]'; }
m0=$(me_calls)
ask alice l_else smtp "" OK > /dev/null
check "online = learn: a token made elsewhere is accepted after the API vouched for it" test $? = 0
grep -q 'reason=accepted online=learned-in-memory' "$W/learn.log" &&
    ok "... logged as learned-in-memory" || bad "no learned-in-memory line"
check "... with one GET /v1/me at the API ($m0 -> $(me_calls))" test "$(me_calls)" = $((m0 + 1))
ask alice l_else smtp "" OK > /dev/null
check "... and again from the worker's memory, no new API call" test $? = 0 -a "$(me_calls)" = $((m0 + 1))
ask bob l_else smtp "" OK > /dev/null
check "... as another user: refused by policy before any API call" test $? != 0 -a "$(me_calls)" = $((m0 + 1))
# Hold the next API call (the simulator's latency, released below).
base=$(in_flight)
sim_ctl POST /_sim/latency '{"ms": 600000}' > /dev/null
python3 "$SP" "$SASLD_SOCK" ask alice "@$S/l_held" smtp "" OK > "$W/held.out" 2>&1 &
HELD=$!; PIDS+=("$HELD")
for i in $(seq 1200); do [ "$(in_flight)" -gt "$base" ] && break; sleep 0.1; done
check "a learning request is in flight at the API (held)" test "$(in_flight)" -gt "$base"
ok_n=0
for i in $(seq 20); do ask alice a_good smtp "" OK > /dev/null && ok_n=$((ok_n + 1)); done
check "while it hangs, 20/20 cached requests are answered ($ok_n)" test $ok_n = 20
check "... and the held request is still in flight" kill -0 $HELD
sim_ctl POST /_sim/latency '{"ms": 0}' > /dev/null
wait $HELD; rc=$?
check "released, the held token is accepted: $(cat "$W/held.out")" test $rc = 0
SASLD_PID=$LP; stop_sasld
check "online = learn: SIGTERM exit 0" test "$SASLD_RC" = 0
SASLD_SOCK=$SASLD_SAVE; SASLD_PID=$PIDMAIN

# ---------------------------------------------------------------- SIGTERM
stop_sasld
check "SIGTERM: exit status 0 (was $SASLD_RC)" test "$SASLD_RC" = 0
check "SIGTERM: its socket removed" test ! -e "$SASLD_SOCK"
grep -q 'stopping:' "$W/main.log" && ok "SIGTERM: a last line with the counters" || bad "no stopping line"

# ---------------------------------------------------------------- refusals to start
refuse_start() {   # DESC EXPECTED-RC PATTERN ARGS...
	local d=$1 want=$2 pat=$3 rc; shift 3
	"$SASLD" --stderr "$@" > "$W/refuse.out" 2>&1 & local p=$!; PIDS+=("$p")
	wait "$p"; rc=$?
	if [ "$rc" = "$want" ] && grep -qE "$pat" "$W/refuse.out"; then
		ok "refuses to start: $d (exit $rc: $(grep -E "$pat" "$W/refuse.out" | head -1))"
	else
		bad "$d: exit $rc (want $want), output: $(cat "$W/refuse.out")"
	fi
}
printf 'smtp user_match=nmae\n' > "$W/bad.policy"; chmod 0644 "$W/bad.policy"
refuse_start "a policy with a bad value" 78 'bad.policy:1: user_match=nmae' \
    -c "$W/aivenauth.conf" --policy "$W/bad.policy" --listen "$W/x.sock"
check "... and binds no socket" test ! -e "$W/x.sock"
printf 'smtp realm=list\n' > "$W/bad2.policy"; chmod 0644 "$W/bad2.policy"
refuse_start "realm=list without realms" 78 'realm=list needs realms' \
    -c "$W/aivenauth.conf" --policy "$W/bad2.policy" --listen "$W/x.sock"
chmod 0666 "$W/bad.policy"
refuse_start "a world-writable policy file" 78 'world-writable' \
    -c "$W/aivenauth.conf" --policy "$W/bad.policy" --listen "$W/x.sock"
refuse_start "a missing policy file named on the command line" 78 'policy file' \
    -c "$W/aivenauth.conf" --policy "$W/none.policy" --listen "$W/x.sock"
printf 'pop3 user_match=map account_map=%s\n' "$W/no-such-map" > "$W/bad3.policy"; chmod 0644 "$W/bad3.policy"
refuse_start "user_match=map with a missing account map" 78 'account map .*no-such-map' \
    -c "$W/aivenauth.conf" --policy "$W/bad3.policy" --listen "$W/x.sock"
printf 'deploy ali ce=\n' > "$W/broken.map"; chmod 0644 "$W/broken.map"
printf 'pop3 user_match=map account_map=%s\n' "$W/broken.map" > "$W/bad4.policy"; chmod 0644 "$W/bad4.policy"
refuse_start "user_match=map with a broken account map" 78 'broken.map' \
    -c "$W/aivenauth.conf" --policy "$W/bad4.policy" --listen "$W/x.sock"
printf 'no_such_key = 1\n' > "$W/bad.conf"; chmod 0644 "$W/bad.conf"
refuse_start "a bad config file" 78 'not starting' -c "$W/bad.conf" --listen "$W/x.sock"
refuse_start "no socket at all (no --listen, no systemd)" 64 'no socket' -c "$W/aivenauth.conf"
: > "$W/plain"
refuse_start "--listen on a path that is not a socket" 71 'not a socket' \
    -c "$W/aivenauth.conf" --listen "$W/plain"
check "... which is left alone" test -f "$W/plain"

# ---------------------------------------------------------------- a token in the wrong place
# A token pasted into the policy file or into an option is not echoed by
# the message that refuses it, nor by the account of a policy that takes
# it (a scope, a service name) -- pa_log_field, as for user_match=
# (SECURITY.md 8m).  A hit is any 16 characters of it past its prefix.
T=$(head -c 279 /dev/urandom | base64 -w0)
P40=$(printf '%s' "$T" | tr -dc 'A-Za-z0-9' | head -c 40)   # a valid service name
for i in $(seq 12 $(( ${#T} - 16 ))); do printf '%s\n' "${T:i:16}"; done > "$W/t.windows"
for i in $(seq 0 24); do printf '%s\n' "${P40:i:16}"; done >> "$W/t.windows"
no_echo() {   # DESC EXPECTED-RC ARGS...
	local d=$1 want=$2 rc; shift 2
	"$SASLD" --stderr "$@" > "$W/echo.out" 2>&1 < /dev/null; rc=$?
	if grep -qF -f "$W/t.windows" "$W/echo.out"; then
		bad "$d: a piece of the token in the message: $(cut -c1-160 "$W/echo.out" | head -3)"
	elif [ "$rc" != "$want" ] || ! grep -q 'token-shaped' "$W/echo.out"; then
		bad "$d: exit $rc (want $want) and no 'token-shaped': $(head -3 "$W/echo.out")"
	else
		ok "$d: exit $rc, the token not echoed ($(grep -o '[^ ]*token-shaped[^ ]*' "$W/echo.out" | head -1))"
	fi
}
for line in "smtp @" "smtp @=1" "smtp realm=@" "smtp realm=list realms=example.com,@" \
    "smtp scope=@,x" "@ user_match=name" "smtp user_match=@"; do
	printf '%s\n' "${line//@/$T}" > "$W/tok.policy"; chmod 0644 "$W/tok.policy"
	no_echo "policy line '$line' (@ a token)" 78 -c "$W/aivenauth.conf" --policy "$W/tok.policy" --check
done
for line in "smtp scope=@" "PIECE user_match=name"; do
	l=${line//@/$T}; printf '%s\n' "${l//PIECE/$P40}" > "$W/tok.policy"; chmod 0644 "$W/tok.policy"
	no_echo "--check of a valid policy '$line' (@ a token, PIECE 40 characters of one)" 0 \
	    -c "$W/aivenauth.conf" --policy "$W/tok.policy" --check
done
printf '%s\n%s realm=ignore\n' "$P40" "$P40" > "$W/tok.policy"; chmod 0644 "$W/tok.policy"
no_echo "a service of 40 characters of a token, twice" 78 -c "$W/aivenauth.conf" --policy "$W/tok.policy" --check
for opt in --max-connections --timeout --socket-mode --listen; do
	no_echo "option $opt <token>" 64 -c "$W/aivenauth.conf" "$opt" "$T"
done
no_echo "an unexpected argument <token>" 64 -c "$W/aivenauth.conf" "$T"
no_echo "--socket-group <token>" 64 -c "$W/aivenauth.conf" --socket-group "$T" --listen "$W/x.sock"
check "... and binds no socket" test ! -e "$W/x.sock"

# ---------------------------------------------------------------- systemd socket activation
# What systemd does: a bound listening socket as fd 3, LISTEN_FDS=1 and
# LISTEN_PID = the service's pid (exec keeps the pid, so the shell sets
# it to its own before exec).
SASLD=$SASLD CONF=$W/aivenauth.conf python3 - "$W/act.sock" <<'PY' > "$W/act.log" 2>&1 &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(16)
if s.fileno() != 3:
    os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ["LISTEN_FDS"] = "1"
os.execvp("bash", ["bash", "-c", 'export LISTEN_PID=$$; exec "$0" "$@"', os.environ["SASLD"],
          "-c", os.environ["CONF"], "--stderr"])
PY
ACT_PID=$!; PIDS+=("$ACT_PID")
for i in $(seq 600); do grep -q 'ready:' "$W/act.log" 2>/dev/null && break; kill -0 $ACT_PID 2>/dev/null || break; sleep 0.1; done
SASLD_SOCK="$W/act.sock"
ask alice a_good smtp "" OK > /dev/null
check "socket activation (LISTEN_FDS/LISTEN_PID, fd 3): a token accepted" test $? = 0
SASLD_PID=$ACT_PID; stop_sasld
check "socket activation: SIGTERM exit 0" test "$SASLD_RC" = 0

# ---------------------------------------------------------------- a reader
# Running as nobody in the cache's group (the deployment's model): it
# decides, and there is no cache file it could write.
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	chgrp nogroup "$W/cache" "$W/cache/snapshot.mdb" "$W/cache/state"
	chmod 0750 "$W/cache"; chmod 0640 "$W/cache/snapshot.mdb" "$W/cache/state"
	mkdir -m 0755 "$W/run"; chown nobody "$W/run"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$SASLD" -c "$W/aivenauth.conf" \
	    --listen "$W/run/mux" --stderr > "$W/nobody.log" 2>&1 &
	NB=$!; PIDS+=("$NB")
	for i in $(seq 600); do grep -q 'ready:' "$W/nobody.log" && break; kill -0 $NB 2>/dev/null || break; sleep 0.1; done
	SASLD_SOCK="$W/run/mux"
	ask alice a_good smtp "" OK > /dev/null
	check "as nobody:nogroup (the cache's group): a token accepted" test $? = 0
	w=$(find "$W/cache" -print0 | xargs -0 -I{} setpriv --reuid=65534 --regid=65534 --clear-groups \
	    sh -c 'test -w "$1" && echo "$1"' _ {} | tr '\n' ' ')
	check "as nobody:nogroup no file or directory of the cache is writable (${w:-none})" test -z "$w"
	# Every cache file it holds open is open read-only.
	rw=$(for fd in /proc/$NB/fd/*; do
		t=$(readlink "$fd"); case $t in "$W/cache"*) ;; *) continue;; esac
		fl=$(awk '/^flags:/ { print $2 }' "/proc/$NB/fdinfo/${fd##*/}")
		[ $(( 0$fl & 3 )) != 0 ] && echo "$t"
	done)
	check "the responder holds no cache file open for writing (${rw:-none})" test -z "$rw"
	mapped=$(grep -c "$W/cache" "/proc/$NB/maps")
	wmap=$(awk -v c="$W/cache" 'index($0, c) && substr($2,2,1) == "w"' "/proc/$NB/maps")
	check "its $mapped mappings of the cache are all read-only" test -z "$wmap"
	SASLD_PID=$NB; stop_sasld
	grep -q "peer_uid=0 " "$W/nobody.log" && ok "the log names the peer's uid (SO_PEERCRED)" ||
	    bad "no peer_uid in the log"
else
	skip "reader privileges: needs root and setpriv"
fi

# ---------------------------------------------------------------- aivenctl doctor
R="$W/root"; mkdir -p "$R/run/aivenauth-saslauthd"
python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$R/run/aivenauth-saslauthd/mux"
chmod 0666 "$R/run/aivenauth-saslauthd/mux"
ctl doctor --root "$R" --offline > "$W/doc1" 2>&1
grep -q '^fail  *sasl .*mux is .*0666: every local user can ask' "$W/doc1" &&
    ok "doctor: a world-usable responder socket is a failure" || bad "doctor (0666): $(grep sasl "$W/doc1")"
chmod 0660 "$R/run/aivenauth-saslauthd/mux"
if getent passwd postfix > /dev/null; then
	chgrp "$(id -g postfix)" "$R/run/aivenauth-saslauthd/mux"
	ctl doctor --root "$R" --offline > "$W/doc2" 2>&1
	grep -q '^ok  *sasl .*mux is .*0660' "$W/doc2" && grep -q '^ok  *sasl .*postfix can reach' "$W/doc2" &&
	    ok "doctor: socket 0660 of postfix's group: ok, postfix can reach it" || bad "doctor (0660): $(grep sasl "$W/doc2")"
	chgrp nogroup "$R/run/aivenauth-saslauthd/mux"
	ctl doctor --root "$R" --offline > "$W/doc3" 2>&1
	grep -q '^warn  *sasl .*postfix is not in group nogroup' "$W/doc3" &&
	    ok "doctor: postfix outside the socket's group is named, with the fix" || bad "doctor (nogroup): $(grep sasl "$W/doc3")"
else
	skip "doctor consumer check: no postfix user"
fi
rm -f "$R/run/aivenauth-saslauthd/mux"; mkdir -p "$R/etc/systemd/system/sockets.target.wants"
ln -s /lib/systemd/system/aivenauth-saslauthd.socket "$R/etc/systemd/system/sockets.target.wants/"
ctl doctor --root "$R" --offline > "$W/doc4" 2>&1
grep -q '^warn  *sasl .*missing although aivenauth-saslauthd.socket is enabled' "$W/doc4" &&
    ok "doctor: the socket unit enabled but no socket: warned" || bad "doctor (missing): $(grep sasl "$W/doc4")"

leak_check
finish
