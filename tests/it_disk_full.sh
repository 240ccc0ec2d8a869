#!/bin/bash
# it_disk_full.sh - a revoked token is never accepted because the disk is
# full (design.md section 2, "A revocation stands until the API confirms
# it", issue 16): cache_dir on a small tmpfs made by the test (as root; a
# SKIP otherwise) in its own scratch dir, unmounted by the EXIT trap.
#
#  1. a host syncing from the API: the file system is filled (what any
#     local user with write access to it can do); a sync that fetched only
#     additions and cannot store them leaves the readers deciding on what
#     they have (nothing was taken away); a sync that fetched a revocation
#     (made in the console) and cannot commit it makes every reader answer
#     cache-unavailable (PAM_AUTHINFO_UNAVAIL), not accept the token; once
#     there is room, the next sync stores it and the token is "revoked";
#  2. `aivenctl token revoke` with the disk full AND the API's DELETE
#     failing (SECURITY.md O1): the revocation is recorded in the writer's
#     preallocated revocation journal; readers refuse until a write stores
#     it; the next writes never lift that, every sync sends the DELETE
#     until the API confirms it; a revoke that died between its journal
#     slot and its commit is honoured by the next command; `token
#     rotate` (grace 0, and a grace: a scheduled slot) and `user delete`
#     on a full disk go through the journal the same way;
#  3. a fleet follower (real etcd) whose disk is full when a revocation is
#     published: the same as 1, and its next `follow --once` stores it;
#  4. the publisher's disk full when `token revoke` runs there, the API's
#     DELETE failing: the journaled revocation is published all the same
#     (the signed pending-revocation flag), the follower refuses the
#     token, and the publisher's syncs send the DELETE once the API is
#     back; a rotation's scheduled one is published as its time.
# The sync must grow the writer's file to fail at commit (a small change
# fits in pages LMDB frees and reuses): each change comes with 300 new
# application users at the API.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	skip "disk full: needs root to mount a tmpfs"
	finish; exit
fi
MNT=()
trap 'for m in "${MNT[@]}"; do umount "$m" 2>/dev/null; done; lib_cleanup' EXIT
# small_fs DIR: a 8 MiB tmpfs at DIR (0755, root's)
small_fs() {
	mkdir -p "$1" && mount -t tmpfs -o size=8m,mode=0755 tmpfs "$1" && MNT+=("$1")
}
if ! small_fs "$W/fs"; then
	skip "disk full: cannot mount a tmpfs here"
	finish; exit
fi
start_sim --quiet || { bad "simulator did not start"; finish; exit; }
sed -i "s#^cache_dir = .*#cache_dir = $W/fs/cache#" "$W/aivenauth.conf"
fill() { dd if=/dev/zero of="$1/fill" bs=4k > /dev/null 2>&1; }
# more_users N: N new application users at the API
more_users() {
	python3 - "$SIM_URL" "$ORG_ID" "$W/api-token" "$1" "$RANDOM" <<'PY'
import json, sys, urllib.request
url, org, tok, n, tag = sys.argv[1], sys.argv[2], open(sys.argv[3]).read().strip(), int(sys.argv[4]), sys.argv[5]
for i in range(n):
    r = urllib.request.Request("%s/v1/organization/%s/application-users" % (url, org),
        json.dumps({"name": "filler-%s-%d" % (tag, i)}).encode(),
        {"Content-Type": "application/json", "Authorization": "aivenv1 " + tok})
    urllib.request.urlopen(r).read()
PY
}
# dec CONF TOKENFILE: accepted, or the reason name of a denial
dec() { "$AB/aivenctl" -c "$1" verify df-bot < "$2" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//'; }
SECRETS=$W/secrets; mkdir -m 0700 "$SECRETS"

# ------------------------------------------------------------ 1. a host syncing
ctl --json user create df-bot > "$W/u.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
U=$(jget 'd["user_id"]' < "$W/u.json")
ctl token create "$U" 2>"$W/err" | head -n 1 > "$SECRETS/X"
ctl token create "$U" 2>"$W/err" | head -n 1 > "$SECRETS/Y"
PX=$(head -c 12 "$SECRETS/X")
ctl sync > /dev/null 2>&1 || bad "first sync"
C=$W/aivenauth.conf
[ "$(dec "$C" "$SECRETS/X")" = accepted ] && ok "1. token X accepted (cache on an 8 MiB tmpfs)" || bad "1. X: $(dec "$C" "$SECRETS/X")"

fill "$W/fs"
more_users 300
ctl sync > "$W/sync" 2>&1; rc=$?
[ $rc != 0 ] && [ "$(dec "$C" "$SECRETS/X")" = accepted ] &&
	ok "1. the disk full, a sync that fetched only additions fails (exit $rc); nothing was taken away: X still accepted" ||
	bad "1. additions: sync exit $rc, X $(dec "$C" "$SECRETS/X"): $(cat "$W/sync")"

sim_ctl POST "/_sim/tokens/$(enc "$PX")/revoke" > /dev/null
more_users 300
ctl sync > "$W/sync" 2>&1; rc=$?
"$AB/aivenctl" -c "$C" verify df-bot < "$SECRETS/X" > /dev/null 2>&1; vrc=$?
[ $rc = 74 ] && grep -q 'committing: No space left on device' "$W/sync" &&
	grep -q 'a revocation or removal was fetched but could not be stored' "$W/sync" &&
	[ "$(dec "$C" "$SECRETS/X")" = cache-unavailable ] && [ $vrc != 0 ] && [ $vrc != 1 ] &&
	[ "$(dec "$C" "$SECRETS/Y")" = cache-unavailable ] &&
	ok "1. X revoked at the API, the sync cannot commit it (exit 74, no space): readers answer cache-unavailable (verify exit $vrc) for X and Y, never accept X" ||
	bad "1. revocation: sync exit $rc, X $(dec "$C" "$SECRETS/X") (exit $vrc), Y $(dec "$C" "$SECRETS/Y"): $(cat "$W/sync")"

rm -f "$W/fs/fill"
# A write that is not a sync (a token command) publishes the view the API
# contradicted: readers stay withdrawn until a sync stores the revocation.
ctl token create "$U" 2>"$W/tc.err" | head -n 1 > "$SECRETS/W"; rc=$?
[ "$(dec "$C" "$SECRETS/X")" = cache-unavailable ] && grep -q 'readers refuse to decide until a sync stores' "$W/tc.err" &&
	ok "1. with room again, a token command before the next sync leaves the readers withdrawn (X still not accepted)" ||
	bad "1. token create: X $(dec "$C" "$SECRETS/X"): $(cat "$W/tc.err")"
ctl sync > "$W/sync" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(dec "$C" "$SECRETS/X")" = revoked ] && [ "$(dec "$C" "$SECRETS/Y")" = accepted ] &&
	ok "1. with room again the next sync stores it: X revoked, Y accepted" ||
	bad "1. after: sync exit $rc, X $(dec "$C" "$SECRETS/X"), Y $(dec "$C" "$SECRETS/Y"): $(cat "$W/sync")"

# ------------------------------------------------------------ 2. token revoke, disk full, API failing
# compact WRITER_DIR: the writer's environment rewritten with no free page
# (what `mdb_copy -c` makes), so the next commit must grow the file: a
# small change otherwise fits in pages LMDB freed before, and the disk
# being full would not show.
compact() {
	rm -rf "$W/compact" && mkdir "$W/compact" && mdb_copy -c "$1" "$W/compact" &&
	    cat "$W/compact/data.mdb" > "$1/data.mdb" && rm -rf "$W/compact"
}
# journal_empty: every slot of the revocation journal free (all zero;
# its 1024 slots of 512 bytes, not the header after them)
journal_empty() { python3 -c 'import sys; sys.exit(any(open(sys.argv[1], "rb").read(1024 * 512)))' "$W/fs/cache/writer/revocations"; }
dels() { sim_ctl GET /_sim/stats | python3 -c 'import json,sys; print(sum(v for k, v in json.load(sys.stdin)["requests"].items() if k.startswith("DELETE") and "access-tokens" in k))'; }
listed() { sim_ctl GET /_sim/state | python3 -c 'import json,sys; p=sys.argv[1]; print(any(p in json.dumps(u) for u in json.load(sys.stdin)["users"]))' "$1"; }
ctl token create "$U" 2>"$W/err" | head -n 1 > "$SECRETS/R"
PR=$(head -c 12 "$SECRETS/R")
ctl sync > /dev/null 2>&1 || bad "2. sync"
[ "$(dec "$C" "$SECRETS/R")" = accepted ] && ok "2. token R accepted" || bad "2. R: $(dec "$C" "$SECRETS/R")"
if ! command -v mdb_copy > /dev/null; then
	skip "2. token revoke on a full disk: mdb_copy (lmdb-utils) not installed"
else
compact "$W/fs/cache/writer" || bad "2. mdb_copy -c failed"
fill "$W/fs"
sim_ctl POST /_sim/faults '{"path": "access-tokens", "method": "DELETE", "kind": "status", "status": 503}' > /dev/null
ctl token revoke "$U" "$PR" > "$W/rv" 2>&1; rc=$?
d0=$(dels)
[ $rc != 0 ] && grep -q "revocation recorded in the revocation journal, but the cache cannot store it" "$W/rv" &&
	grep -q "every .aivenctl sync. retries the DELETE" "$W/rv" &&
	[ "$(dec "$C" "$SECRETS/R")" = cache-unavailable ] && [ "$(dec "$C" "$SECRETS/Y")" = cache-unavailable ] &&
	ok "2. disk full, DELETE failing: token revoke exits $rc, says the revocation is recorded and the sync retries the DELETE; readers refuse (cache-unavailable)" ||
	bad "2. revoke exit $rc, R $(dec "$C" "$SECRETS/R"): $(cat "$W/rv")"
# The commit that failed: the token is not stored revoked (else this
# section proves nothing).
grep -q "No space left on device" "$W/rv" && ok "2. (the revoke's own commit failed: no space)" || bad "2. the commit did not fail: $(cat "$W/rv")"
ctl sync > "$W/sync" 2>&1; rc=$?
d1=$(dels)
[ "$(dec "$C" "$SECRETS/R")" = cache-unavailable ] && [ "$d1" -gt "$d0" ] &&
	ok "2. still full: a sync (exit $rc) sends the DELETE all the same ($((d1 - d0)) attempts), readers still refuse" ||
	bad "2. still full: sync exit $rc, R $(dec "$C" "$SECRETS/R"): $(cat "$W/sync")"
rm -f "$W/fs/fill"
d1=$(dels)
ctl sync > "$W/sync" 2>&1; rc=$?
d2=$(dels)
[ $rc = 0 ] && [ "$(dec "$C" "$SECRETS/R")" = revoked ] && [ "$d2" -gt "$d1" ] && [ "$(listed "$PR")" = True ] &&
	ok "2. room again, a sync while the DELETE still fails: R refused as revoked (the API still lists it), the DELETE is retried ($((d2 - d1)) attempts)" ||
	bad "2. sync exit $rc, R $(dec "$C" "$SECRETS/R"), DELETEs $d1 -> $d2: $(cat "$W/sync")"
sim_ctl DELETE /_sim/faults > /dev/null
ctl sync > "$W/sync" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(listed "$PR")" = False ] && [ "$(dec "$C" "$SECRETS/R")" = revoked ] &&
	grep -q "revocations sent to the API: 1" "$W/sync" &&
	ok "2. the API back: the sync sends the DELETE, the API no longer lists R, R refused (revoked)" ||
	bad "2. recovered: sync exit $rc, listed $(listed "$PR"), R $(dec "$C" "$SECRETS/R"): $(cat "$W/sync")"
ctl sync > "$W/sync" 2>&1; rc=$?
r=$(dec "$C" "$SECRETS/R")
[ $rc = 0 ] && { [ "$r" = revoked ] || [ "$r" = not-enrolled ]; } && journal_empty &&
	ok "2. later syncs: R stays refused ($r), the journal is empty" ||
	bad "2. later: sync exit $rc, R $r"
# A revoke that died between its journal slot and its commit (a crash, a
# kill): the slot is written by the library call token revoke makes
# first, from a process that then exits without any other step.  The
# next sync stores it (the writer's open folds the journal in) and sends
# its DELETE until the API confirms it.
ctl token create "$U" 2>"$W/err" | head -n 1 > "$SECRETS/K"
PK=$(head -c 12 "$SECRETS/K")
ctl sync > /dev/null 2>&1
[ "$(dec "$C" "$SECRETS/K")" = accepted ] || bad "2. crash: K $(dec "$C" "$SECRETS/K")"
python3 - "$AB/libaivenauth.so.1" "$C" "$U" "$PK" <<'PY' || bad "2. crash: journal helper failed"
import ctypes, os, sys
lib = ctypes.CDLL(sys.argv[1])
ctx = ctypes.c_void_p()
if lib.aivenauth_ctx_new(ctypes.byref(ctx)) != 0: sys.exit(1)
if lib.aivenauth_config_load(ctx, sys.argv[2].encode(), True) != 0: sys.exit(2)
if lib.aivenauth_revocation_record(ctx, sys.argv[3].encode(), sys.argv[4].encode()) != 0: sys.exit(3)
os._exit(0)   # dies here: no commit, no API call
PY
[ "$(dec "$C" "$SECRETS/K")" = cache-unavailable ] && ok "2. crash: K journaled, nothing else done: readers refuse to decide until a publication carries it" ||
	bad "2. crash: K $(dec "$C" "$SECRETS/K") before the sync"
sim_ctl POST /_sim/faults '{"path": "access-tokens", "method": "DELETE", "kind": "status", "status": 503}' > /dev/null
d1=$(dels)
ctl sync > "$W/sync" 2>&1; rc=$?
d2=$(dels)
[ $rc = 0 ] && [ "$(dec "$C" "$SECRETS/K")" = revoked ] && [ "$d2" -gt "$d1" ] &&
	ok "2. crash: the next sync honours the journal (DELETE still failing): K revoked, the DELETE tried" ||
	bad "2. crash: sync exit $rc, K $(dec "$C" "$SECRETS/K"), DELETEs $d1 -> $d2: $(cat "$W/sync")"
sim_ctl DELETE /_sim/faults > /dev/null
ctl sync > "$W/sync" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(listed "$PK")" = False ] && [ "$(dec "$C" "$SECRETS/K")" = revoked ] && journal_empty &&
	ok "2. crash: the API back, the next sync sends its DELETE (the API no longer lists K), K refused, the journal empty" ||
	bad "2. crash: sync exit $rc, listed $(listed "$PK"), K $(dec "$C" "$SECRETS/K"): $(cat "$W/sync")"

# `token rotate` on a full disk: the old token's revocation is journaled
# before the replacement is created, so neither the replacement's commit
# nor the revocation's failing (no space) leaves the old token valid.
# enrolled NAME: a new token of U in $SECRETS/NAME, synced, accepted
enrolled() {
	ctl token create "$U" 2>"$W/err" | head -n 1 > "$SECRETS/$1"
	ctl sync > /dev/null 2>&1
	[ "$(dec "$C" "$SECRETS/$1")" = accepted ] || bad "2. rotate: $1 $(dec "$C" "$SECRETS/$1")"
}
enrolled O; PO=$(head -c 12 "$SECRETS/O")
compact "$W/fs/cache/writer" || bad "2. mdb_copy -c failed"
fill "$W/fs"
sim_ctl POST /_sim/faults '{"path": "access-tokens", "method": "DELETE", "kind": "status", "status": 503}' > /dev/null
ctl token rotate "$U" "$PO" --grace 0 > "$W/rot" 2>&1; rc=$?
[ $rc != 0 ] && grep -q "No space left on device" "$W/rot" && grep -q "the old token $PO is revoked all the same" "$W/rot" &&
	[ "$(dec "$C" "$SECRETS/O")" = cache-unavailable ] &&
	ok "2. rotate --grace 0, disk full, DELETE failing: exit $rc, the replacement not stored, the old token revoked all the same (journaled first): readers refuse (cache-unavailable)" ||
	bad "2. rotate --grace 0: exit $rc, O $(dec "$C" "$SECRETS/O"): $(cat "$W/rot")"
rm -f "$W/fs/fill"
d1=$(dels)
ctl sync > "$W/sync" 2>&1; rc=$?
d2=$(dels)
[ $rc = 0 ] && [ "$(dec "$C" "$SECRETS/O")" = revoked ] && [ "$d2" -gt "$d1" ] &&
	ok "2. rotate --grace 0: room again, the DELETE still failing: the sync stores O revoked from the journal and retries the DELETE" ||
	bad "2. rotate --grace 0: sync exit $rc, O $(dec "$C" "$SECRETS/O"), DELETEs $d1 -> $d2: $(cat "$W/sync")"
sim_ctl DELETE /_sim/faults > /dev/null
ctl sync > "$W/sync" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(listed "$PO")" = False ] && [ "$(dec "$C" "$SECRETS/O")" = revoked ] && journal_empty &&
	ok "2. rotate --grace 0: the API back, the sync deletes O there; O refused, the journal empty" ||
	bad "2. rotate --grace 0: sync exit $rc, listed $(listed "$PO"), O $(dec "$C" "$SECRETS/O"): $(cat "$W/sync")"

# With a grace: the scheduled revocation (a journal slot with its time).
enrolled S; PS=$(head -c 12 "$SECRETS/S")
compact "$W/fs/cache/writer" || bad "2. mdb_copy -c failed"
fill "$W/fs"
ctl token rotate "$U" "$PS" --grace 3600 > "$W/rot" 2>&1; rc=$?
at=$(sed -n 's/.*its revocation at \([^ ]*\) is recorded in the revocation journal.*/\1/p' "$W/rot")
[ $rc != 0 ] && [ -n "$at" ] && [ "$(dec "$C" "$SECRETS/S")" = cache-unavailable ] &&
	ok "2. rotate --grace 3600, disk full: exit $rc, the scheduled revocation (at $at) journaled; readers refuse to decide while it is not stored (they cannot learn its time otherwise)" ||
	bad "2. rotate --grace 3600: exit $rc, S $(dec "$C" "$SECRETS/S"): $(cat "$W/rot")"
d1=$(dels)
ctl sync > "$W/sync" 2>&1; rc=$?
d2=$(dels)
[ $rc != 0 ] && [ "$d2" = "$d1" ] && [ "$(listed "$PS")" = True ] && [ "$(dec "$C" "$SECRETS/S")" = cache-unavailable ] &&
	ok "2. rotate --grace 3600, still full: a sync (exit $rc) does not delete S at the API before its time; readers still refuse" ||
	bad "2. rotate --grace 3600, still full: sync exit $rc, DELETEs $d1 -> $d2, listed $(listed "$PS"), S $(dec "$C" "$SECRETS/S"): $(cat "$W/sync")"
rm -f "$W/fs/fill"
d1=$(dels)
ctl sync > "$W/sync" 2>&1; rc=$?
d2=$(dels)
"$AB/aivenctl" -c "$C" inspect "$PS" > "$W/insp" 2>&1
[ $rc = 0 ] && [ -n "$at" ] && grep -qE "^revoke_at: +$at\$" "$W/insp" && [ "$(dec "$C" "$SECRETS/S")" = accepted ] &&
	[ "$d2" = "$d1" ] && [ "$(listed "$PS")" = True ] && journal_empty &&
	ok "2. rotate --grace 3600: room again, the sync stores the schedule (revoke_at $at): S accepted during its grace, not deleted at the API before it; the journal empty" ||
	bad "2. rotate --grace 3600: sync exit $rc, S $(dec "$C" "$SECRETS/S"), DELETEs $d1 -> $d2: $(cat "$W/sync" "$W/insp")"

# `user delete` on a full disk, the API failing: every token of the user
# is journaled before the first tombstone (whose commit fails).
dec2() { "$AB/aivenctl" -c "$C" verify df-two < "$1" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//'; }
ctl --json user create df-two > "$W/u2.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
U2=$(jget 'd["user_id"]' < "$W/u2.json")
ctl token create "$U2" 2>"$W/err" | head -n 1 > "$SECRETS/A"
ctl token create "$U2" 2>"$W/err" | head -n 1 > "$SECRETS/B"
ctl sync > /dev/null 2>&1
[ "$(dec2 "$SECRETS/A")" = accepted ] && [ "$(dec2 "$SECRETS/B")" = accepted ] || bad "2. user delete: A $(dec2 "$SECRETS/A"), B $(dec2 "$SECRETS/B")"
compact "$W/fs/cache/writer" || bad "2. mdb_copy -c failed"
fill "$W/fs"
sim_ctl POST /_sim/faults '{"path": "application-users", "method": "DELETE", "kind": "status", "status": 503}' > /dev/null
ctl user delete "$U2" > "$W/ud" 2>&1; rc=$?
[ $rc != 0 ] && [ "$(dec2 "$SECRETS/A")" = cache-unavailable ] && [ "$(dec2 "$SECRETS/B")" = cache-unavailable ] &&
	ok "2. user delete, disk full, the API failing: exit $rc, readers refuse (cache-unavailable)" ||
	bad "2. user delete: exit $rc, A $(dec2 "$SECRETS/A"), B $(dec2 "$SECRETS/B"): $(cat "$W/ud")"
rm -f "$W/fs/fill"
ctl sync > "$W/sync" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(dec2 "$SECRETS/A")" = revoked ] && [ "$(dec2 "$SECRETS/B")" = revoked ] &&
	ok "2. user delete: room again, the API still failing: the sync stores both of the user's tokens revoked (both were journaled first)" ||
	bad "2. user delete: sync exit $rc, A $(dec2 "$SECRETS/A"), B $(dec2 "$SECRETS/B"): $(cat "$W/sync")"
sim_ctl DELETE /_sim/faults > /dev/null
fi

# ------------------------------------------------------------ 3. a follower
if ! command -v etcd >/dev/null; then
	skip "disk full, follower: etcd not installed"
	finish; exit
fi
. "$(dirname "$0")/lib_etcd.sh"
etcd_start || { bad "etcd did not start: $(tail -5 "$W/etcd.log")"; finish; exit; }
small_fs "$W/ffs" || { bad "second tmpfs"; finish; exit; }
small_fs "$W/pfs" || { bad "third tmpfs"; finish; exit; }
PFX=/df/
pk=$(ctl fleet keygen --out "$W/fleet.key" 2>"$W/err") || bad "keygen: $(cat "$W/err")"
sed -e "s#^cache_dir = .*#cache_dir = $W/pfs/cache#" "$C" > "$W/p.conf"
cat >> "$W/p.conf" <<EOC
fleet = publish
etcd_endpoints = $EURL
etcd_prefix = $PFX
fleet_signing_key_file = $W/fleet.key
EOC
cat > "$W/f.conf" <<EOC
organization_id = $ORG_ID
api_url = $SIM_URL
api_token_file = $W/no-token
cache_dir = $W/ffs/cache
fleet = follow
etcd_endpoints = $EURL
etcd_prefix = $PFX
fleet_public_keys = $pk
max_stale = 1h
timeout = 10
EOC
chmod 0644 "$W/p.conf" "$W/f.conf"
pctl() { "$AB/aivenctl" -c "$W/p.conf" "$@"; }
fctl() { "$AB/aivenctl" -c "$W/f.conf" "$@"; }
F=$W/f.conf
pctl sync > /dev/null 2>&1 || bad "publisher sync"
pctl token create "$U" 2>"$W/err" | head -n 1 > "$SECRETS/Z"
PZ=$(head -c 12 "$SECRETS/Z")
fctl follow --once > "$W/fo" 2>&1 || bad "follow: $(cat "$W/fo")"
[ "$(dec "$F" "$SECRETS/Z")" = accepted ] && ok "3. token Z created on the publisher, accepted on the follower (cache on its own tmpfs)" ||
	bad "3. Z: $(dec "$F" "$SECRETS/Z"): $(cat "$W/fo")"
fill "$W/ffs"
sim_ctl POST "/_sim/tokens/$(enc "$PZ")/revoke" > /dev/null
more_users 300
pctl sync > "$W/psync" 2>&1 || bad "publisher sync: $(cat "$W/psync")"
fctl follow --once > "$W/fo" 2>&1; rc=$?
[ $rc != 0 ] && grep -q 'a revocation or removal was fetched but could not be stored' "$W/fo" &&
	[ "$(dec "$F" "$SECRETS/Z")" = cache-unavailable ] &&
	ok "3. the follower's disk full when Z's revocation is published: follow --once fails (exit $rc), its readers answer cache-unavailable, never accept Z" ||
	bad "3. follow exit $rc, Z $(dec "$F" "$SECRETS/Z"): $(cat "$W/fo")"
rm -f "$W/ffs/fill"
fctl follow --once > "$W/fo" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(dec "$F" "$SECRETS/Z")" = revoked ] &&
	ok "3. with room again its next follow --once stores it: Z revoked" ||
	bad "3. after: follow exit $rc, Z $(dec "$F" "$SECRETS/Z"): $(cat "$W/fo")"

# ------------------------------------------------------------ 4. the publisher's disk full
pctl token create "$U" 2>"$W/err" | head -n 1 > "$SECRETS/Q"
PQ=$(head -c 12 "$SECRETS/Q")
fctl follow --once > "$W/fo" 2>&1 || bad "4. follow: $(cat "$W/fo")"
[ "$(dec "$F" "$SECRETS/Q")" = accepted ] && ok "4. token Q created on the publisher, accepted on the follower" ||
	bad "4. Q: $(dec "$F" "$SECRETS/Q")"
if command -v mdb_copy > /dev/null; then
compact "$W/pfs/cache/writer" || bad "4. mdb_copy -c failed"
fill "$W/pfs"
sim_ctl POST /_sim/faults '{"path": "access-tokens", "method": "DELETE", "kind": "status", "status": 503}' > /dev/null
pctl token revoke "$U" "$PQ" > "$W/rv" 2>&1; rc=$?
fctl follow --once > "$W/fo" 2>&1; frc=$?
[ $rc != 0 ] && grep -q "revocation recorded in the revocation journal, but the cache cannot store it" "$W/rv" &&
	[ $frc = 0 ] && [ "$(dec "$F" "$SECRETS/Q")" = revoked ] &&
	ok "4. the publisher's disk full, DELETE failing: token revoke exits $rc, the journaled revocation is published; the follower refuses Q (revoked)" ||
	bad "4. revoke exit $rc, follow exit $frc, Q on the follower $(dec "$F" "$SECRETS/Q"): $(cat "$W/rv" "$W/fo")"
rm -f "$W/pfs/fill"
sim_ctl DELETE /_sim/faults > /dev/null
pctl sync > "$W/psync" 2>&1; rc=$?
fctl follow --once > "$W/fo" 2>&1
[ $rc = 0 ] && [ "$(listed "$PQ")" = False ] && [ "$(dec "$F" "$SECRETS/Q")" = revoked ] &&
	ok "4. room again and the API back: the publisher's sync sends the DELETE (the API no longer lists Q); the follower still refuses Q" ||
	bad "4. after: publisher sync exit $rc, listed $(listed "$PQ"), Q $(dec "$F" "$SECRETS/Q"): $(cat "$W/psync" "$W/fo")"
# token rotate with a grace on the publisher's full disk: the scheduled
# revocation is published from the journal as its time (revoke_at), not
# as a revocation now: the follower accepts the old token until then.
pctl token create "$U" 2>"$W/err" | head -n 1 > "$SECRETS/G"
PG=$(head -c 12 "$SECRETS/G")
fctl follow --once > "$W/fo" 2>&1 || bad "4. follow: $(cat "$W/fo")"
compact "$W/pfs/cache/writer" || bad "4. mdb_copy -c failed"
fill "$W/pfs"
pctl token rotate "$U" "$PG" --grace 3600 > "$W/rot" 2>&1; rc=$?
at=$(sed -n 's/.*its revocation at \([^ ]*\) is recorded in the revocation journal.*/\1/p' "$W/rot")
fctl follow --once > "$W/fo" 2>&1; frc=$?
"$AB/aivenctl" -c "$F" inspect "$PG" > "$W/insp" 2>&1
[ $rc != 0 ] && [ -n "$at" ] && [ $frc = 0 ] && grep -qE "^revoke_at: +$at\$" "$W/insp" && [ "$(dec "$F" "$SECRETS/G")" = accepted ] &&
	ok "4. rotate --grace 3600 on the publisher's full disk: the scheduled revocation published from the journal; the follower stores revoke_at $at and accepts G during its grace" ||
	bad "4. rotate: exit $rc, follow exit $frc, G on the follower $(dec "$F" "$SECRETS/G"): $(cat "$W/rot" "$W/fo" "$W/insp")"
rm -f "$W/pfs/fill"
else
	skip "4. the publisher's disk full: mdb_copy (lmdb-utils) not installed"
fi
finish
