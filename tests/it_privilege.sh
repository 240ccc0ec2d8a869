#!/bin/bash
# it_privilege.sh - the service-user model of design.md §2: a process that
# is only in the cache's group (like an nginx worker or a postgres backend)
# can verify but cannot write; online learning there decides but reports
# that the hash was not stored; root-side refusals name the unsafe path and
# the fix.  Run as root (it switches to nobody:nogroup with setpriv).
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	skip "privilege: needs root and setpriv"
	finish; exit
fi
start_sim || { bad "simulator"; finish; exit 1; }

# The group model: cache root:nogroup, dir 0750, data 0640, lock 0660.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
share_cache() {
	chgrp -R nogroup "$W/cache"
	chmod 0750 "$W/cache"; chmod 0640 "$W/cache/data.mdb"; chmod 0660 "$W/cache/lock.mdb"
}

ctl sync >/dev/null || bad "initial sync"
ctl user create alice >/dev/null || bad "user create"
uid=$(ctl --json user list | python3 -c 'import json,sys; print([u["user_id"] for u in json.load(sys.stdin) if u["name"]=="alice"][0])')
( umask 077; ctl token create "$uid" --description priv > "$W/tok" 2>/dev/null ) || bad "token create"
# A second token made elsewhere (straight at the API): synced, never seen here.
( umask 077; curl -sS -H "Authorization: aivenv1 $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    --data '{"description":"made elsewhere"}' \
    "$SIM_URL/v1/organization/$ORG_ID/application-users/$uid/access-tokens" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["full_token"])' > "$W/tok2" )
ctl sync >/dev/null || bad "sync"
share_cache
chmod 0644 "$W/aivenauth.conf"

# 1. verify as nobody through the group: allowed.
as_nobody "$AB/aivenctl" -c "$W/aivenauth.conf" verify alice < "$W/tok" > "$W/v1.out" 2>&1
check "nobody (group member) verifies a token: accepted" test $? = 0

# 2. ... but cannot write: token add refused, cache byte-for-byte unchanged.
cp "$W/cache/data.mdb" "$W/before.mdb"
as_nobody "$AB/aivenctl" -c "$W/aivenauth.conf" token add "$uid" < "$W/tok2" > "$W/add.out" 2>&1; rc=$?
check "nobody cannot enroll a hash (exit $rc, not 0)" test $rc != 0
check "refusal names the cache and the lack of write access" grep -qiE 'writable|permission|read-only' "$W/add.out"
check "cache unchanged after the refused write" cmp -s "$W/before.mdb" "$W/cache/data.mdb"

# 3. online learning as nobody: the API vouches, the decision is made, the
#    hash is not stored, and the log says so.
cp "$W/aivenauth.conf" "$W/learn.conf"; echo "online = learn" >> "$W/learn.conf"
as_nobody "$AB/aivenctl" -c "$W/learn.conf" -v verify alice < "$W/tok2" > "$W/learn.out" 2>&1; rc=$?
check "nobody + online=learn: accepted by the API (exit $rc)" test $rc = 0
check "nobody + online=learn: says the hash could not be stored" grep -qi 'not be stored\|not stored' "$W/learn.out"
check "cache unchanged after learning as nobody" cmp -s "$W/before.mdb" "$W/cache/data.mdb"
"$AB/aivenctl" -c "$W/aivenauth.conf" verify alice < "$W/tok2" > "$W/v2.out" 2>&1
check "the token is still not enrolled for cache-only verification" grep -q 'not-enrolled' "$W/v2.out"

# 4. the same through PAM in a process that is only in the group.
if command -v pamtester >/dev/null && [ -e /usr/lib/x86_64-linux-gnu/libpam_wrapper.so ]; then
	mkdir -p "$W/pam.d"
	printf 'auth required %s config=%s\naccount required %s config=%s\n' \
	    "$AB/pam_aiven.so" "$W/aivenauth.conf" "$AB/pam_aiven.so" "$W/aivenauth.conf" > "$W/pam.d/aivpriv"
	printf 'auth required pam_deny.so\naccount required pam_deny.so\n' > "$W/pam.d/other"
	chmod -R a+rX "$W/pam.d"
	as_nobody env PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" LD_PRELOAD=libpam_wrapper.so \
	    pamtester aivpriv alice authenticate acct_mgmt < "$W/tok" > "$W/pt.out" 2>&1
	check "pamtester as nobody: accepted" grep -q 'successfully authenticated' "$W/pt.out"
	as_nobody env PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" LD_PRELOAD=libpam_wrapper.so \
	    pamtester aivpriv alice authenticate < "$W/tok2" > "$W/pt2.out" 2>&1
	check "pamtester as nobody: a never-seen token is refused" grep -q 'Authentication failure' "$W/pt2.out"
	# Outside the group: the cache cannot be read -> unavailable, never success.
	chgrp -R root "$W/cache"
	as_nobody env PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" LD_PRELOAD=libpam_wrapper.so \
	    pamtester aivpriv alice authenticate < "$W/tok" > "$W/pt3.out" 2>&1
	check "pamtester outside the group: refused (cannot retrieve authentication info)" \
	    grep -q 'cannot retrieve authentication info' "$W/pt3.out"
	share_cache
else
	skip "privilege: pamtester or pam_wrapper missing"
fi

# 5. aivenctl holds secrets: no core file, not dumpable (checked while it
#    waits for a token on stdin, started with core files allowed).  A
#    dumpable process's /proc/PID belongs to its user; a non-dumpable one's
#    to root: compared with a control process started the same way.
mkfifo "$W/fifo"; chmod 0666 "$W/fifo"
( ulimit -c unlimited; exec setpriv --reuid=65534 --regid=65534 --clear-groups \
    "$AB/aivenctl" -c "$W/aivenauth.conf" token add "$uid" < "$W/fifo" > /dev/null 2>&1 ) &
cpid=$!
( ulimit -c unlimited; exec setpriv --reuid=65534 --regid=65534 --clear-groups sleep 30 ) &
spid=$!
exec 7> "$W/fifo"
for i in $(seq 600); do [ "$(awk '/Max core/ {print $5}' /proc/$cpid/limits 2>/dev/null)" = 0 ] && break; sleep 0.1; done
# it is blocked reading stdin by now (both calls come before any input)
for i in $(seq 600); do [ "$(stat -c %U /proc/$cpid/environ 2>/dev/null)" = root ] && break; sleep 0.1; done
core=$(awk '/Max core file size/ {print $5 "/" $6}' /proc/$cpid/limits 2>/dev/null)
owner=$(stat -c %U /proc/$cpid/environ 2>/dev/null)
control=$(stat -c %U /proc/$spid/environ 2>/dev/null)
exec 7>&-
wait $cpid 2>/dev/null
kill $spid 2>/dev/null; wait $spid 2>/dev/null
check "aivenctl turns core files off (soft/hard limit $core, started unlimited)" test "$core" = "0/0"
if [ "$control" = nobody ]; then
	check "aivenctl is not dumpable (/proc/PID/environ owned by $owner; a plain process: $control)" test "$owner" = root
else
	skip "dumpable check: a plain process here is not dumpable either (/proc/PID owned by $control)"
fi

# 6. refusals name the unsafe path and the fix.
chmod 0666 "$W/aivenauth.conf"
ctl status > "$W/ww.out" 2>&1; rc=$?
check "world-writable config refused (exit $rc)" test $rc != 0
check "... message names it and says chmod go-w" grep -q "aivenauth.conf.*chmod go-w" "$W/ww.out"
chmod 0644 "$W/aivenauth.conf"
chmod 0777 "$W/cache"
ctl status > "$W/wd.out" 2>&1; rc=$?
check "world-writable cache directory refused (exit $rc)" test $rc != 0
check "... message names it and says chmod o-w" grep -q "cache.*chmod o-w" "$W/wd.out"
chmod 0750 "$W/cache"
chmod 0644 "$W/api-token"
ctl sync > "$W/wt.out" 2>&1; rc=$?
check "group/world-readable admin token file refused (exit $rc)" test $rc = 77
check "... message names it and says chmod 600" grep -q "api-token.*chmod 600" "$W/wt.out"
chmod 0600 "$W/api-token"
finish
