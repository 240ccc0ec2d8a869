#!/bin/bash
# it_privilege.sh - the service-user model of design.md §2: a process that
# is only in the cache's group (like an nginx worker or a postgres backend)
# can verify but cannot write; online learning there decides but reports
# that it is kept in memory only; root-side refusals name the unsafe path and
# the fix.  Run as root (it switches to nobody:nogroup with setpriv).
source "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
	skip "privilege: needs root and setpriv"
	finish; exit
fi
start_sim || { bad "simulator"; finish; exit 1; }

# The group model (README): cache root:nogroup 0750; the published
# snapshot and the state record 0640; the writer's environment 0700, the
# writer's alone.  nobody:nogroup plays the service (nginx, postgres).
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
share_cache() {
	chgrp nogroup "$W/cache" "$W/cache/snapshot.mdb" "$W/cache/state"
	chmod 0750 "$W/cache"; chmod 0640 "$W/cache/snapshot.mdb" "$W/cache/state"
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
cp "$W/cache/snapshot.mdb" "$W/before.mdb"
as_nobody "$AB/aivenctl" -c "$W/aivenauth.conf" token add "$uid" < "$W/tok2" > "$W/add.out" 2>&1; rc=$?
check "nobody cannot enroll a hash (exit $rc, not 0)" test $rc != 0
check "refusal names the cache and the lack of write access" grep -qiE 'writable|permission|read-only' "$W/add.out"
check "cache unchanged after the refused write" cmp -s "$W/before.mdb" "$W/cache/snapshot.mdb"

# 2b. Readers can change nothing (design.md section 2).  The first layout
#     gave the group lock.mdb 0660: a member could map it, take LMDB's
#     writer mutex and rewrite the txnid readers pick a snapshot by (a
#     revoked token accepted again, syncs hung).  Now nothing under the
#     cache is writable by the group, and the writer's files cannot even
#     be opened by it.
ww=$(find "$W/cache" -perm /022 -printf '%P ' 2>/dev/null)
check "no file or directory in the cache is group- or world-writable (${ww:-none})" test -z "$ww"
cat > "$W/tamper.py" <<'PY'
import os, sys
opened = []
for root, dirs, files in os.walk(sys.argv[1]):
    for n in dirs + files:
        p = os.path.join(root, n)
        for flags in (os.O_RDWR, os.O_WRONLY | os.O_APPEND):
            try:
                fd = os.open(p, flags)
                opened.append(p); os.close(fd)
            except OSError:
                pass
for n in ("writer/lock.mdb", "writer/data.mdb", "writer/publish.lock"):
    try:
        os.close(os.open(os.path.join(sys.argv[1], n), os.O_RDONLY)); opened.append(n + " (read)")
    except OSError:
        pass
try:
    open(os.path.join(sys.argv[1], "planted"), "w"); opened.append("new file")
except OSError:
    pass
print(" ".join(opened) or "none")
PY
tamper=$(as_nobody /usr/bin/python3 "$W/tamper.py" "$W/cache")
check "a group member opens nothing in the cache for writing, nor the writer's files at all ($tamper)" test "$tamper" = none

# 3. online learning as nobody: the API vouches, the decision is made, the
#    hash is kept in memory only (readers never write), and the log says so.
cp "$W/aivenauth.conf" "$W/learn.conf"; echo "online = learn" >> "$W/learn.conf"
as_nobody "$AB/aivenctl" -c "$W/learn.conf" -v verify alice < "$W/tok2" > "$W/learn.out" 2>&1; rc=$?
check "nobody + online=learn: accepted by the API (exit $rc)" test $rc = 0
check "nobody + online=learn: says the hash is kept in memory only (readers never write)" grep -qi 'memory only' "$W/learn.out"
check "cache unchanged after learning as nobody" cmp -s "$W/before.mdb" "$W/cache/snapshot.mdb"
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
	# The service's log names the uid, the cache's group and the fix, not
	# only "Permission denied" (pam_syslog through pam_wrapper's debug).
	as_nobody env PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" LD_PRELOAD=libpam_wrapper.so \
	    PAM_WRAPPER_DEBUGLEVEL=3 pamtester aivpriv alice authenticate < "$W/tok" > "$W/pt4.out" 2>&1
	check "PAM log outside the group: uid 65534, the cache's group root and the fix (adduser nobody root)" \
	    grep -qE "opening the cache directory: permission denied: this process runs as uid 65534 \(nobody\), which is not in the cache's group root; fix: adduser nobody root, then restart the service" "$W/pt4.out"
	grep -q 'cannot retrieve authentication info' "$W/pt4.out" || bad "pt4: not refused as unavailable: $(cat "$W/pt4.out")"
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

# A group member holding the snapshot open (and locked, as far as it can)
# delays no revocation: the writer shares no lock with readers.
as_nobody /usr/bin/python3 -c 'import fcntl,sys,time; f=open(sys.argv[1],"rb"); fcntl.flock(f, fcntl.LOCK_EX); print("held", flush=True); sys.stdin.read()' \
    "$W/cache/snapshot.mdb" < <(sleep 120) > "$W/holder.out" 2>&1 &
holder=$!
for i in $(seq 100); do grep -q held "$W/holder.out" && break; sleep 0.1; done
p1=$(head -c 12 "$W/tok")
timeout 60 "$AB/aivenctl" -c "$W/aivenauth.conf" token revoke "$uid" "$p1" > "$W/rv.out" 2>&1; rc=$?
check "root revokes while a group member holds the snapshot locked (exit $rc)" test $rc = 0
as_nobody "$AB/aivenctl" -c "$W/aivenauth.conf" verify alice < "$W/tok" > "$W/rv2.out" 2>&1
check "... and the group member's own verify sees the revocation at once" grep -q '^denied: revoked' "$W/rv2.out"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null

# 6. refusals name the unsafe path and the fix.
chmod 0666 "$W/aivenauth.conf"
ctl status > "$W/ww.out" 2>&1; rc=$?
check "world-writable config refused (exit $rc)" test $rc != 0
check "... message names it and says chmod go-w" grep -q "aivenauth.conf.*chmod go-w" "$W/ww.out"
chmod 0644 "$W/aivenauth.conf"
chmod 0777 "$W/cache"
ctl status > "$W/wd.out" 2>&1; rc=$?
check "world-writable cache directory refused (exit $rc)" test $rc != 0
check "... message names it and says chmod go-w" grep -q "cache.*chmod go-w" "$W/wd.out"
chmod 02770 "$W/cache"
ctl status > "$W/wg.out" 2>&1; rc=$?
check "group-writable cache directory refused too (exit $rc)" test $rc != 0
check "... message says group-writable and chmod go-w" grep -q "group-writable.*chmod go-w" "$W/wg.out"
chmod 0750 "$W/cache"
chmod 0644 "$W/api-token"
ctl sync > "$W/wt.out" 2>&1; rc=$?
check "group/world-readable admin token file refused (exit $rc)" test $rc = 77
check "... message names it and says chmod 600" grep -q "api-token.*chmod 600" "$W/wt.out"
chmod 0600 "$W/api-token"
finish
