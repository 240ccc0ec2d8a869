#!/bin/bash
# it_revoke_overflow.sh - SECURITY.md O1 when the revocation journal is
# full (review r2): a revocation that neither the journal (every slot
# taken by revocations the cache could not store yet) nor the cache (disk
# full) can hold, with the API's DELETE failing.  `token revoke` fails
# loudly and withdraws the readers, and the journal's overflow mark (in
# its preallocated header) keeps them withdrawn through the next syncs --
# until the revoke is run again and journaled, or, for an overflow that
# could not be named, until `aivenctl token revoke --clear-overflow`.
# The full journal is made with the library call token revoke makes first
# (aivenauth_revocation_record), as it_disk_full.sh does.  Needs root (a
# tmpfs) and mdb_copy.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v mdb_copy > /dev/null; then
	skip "journal overflow: needs root (tmpfs) and mdb_copy (lmdb-utils)"; finish; exit
fi
MNT=()
trap 'for m in "${MNT[@]}"; do umount "$m" 2>/dev/null; done; lib_cleanup' EXIT
mkdir -p "$W/fs" && mount -t tmpfs -o size=8m,mode=0755 tmpfs "$W/fs" && MNT+=("$W/fs") ||
	{ skip "journal overflow: cannot mount a tmpfs here"; finish; exit; }
start_sim --quiet || { bad "sim"; finish; exit; }
sed -i "s#^cache_dir = .*#cache_dir = $W/fs/cache#" "$W/aivenauth.conf"
C=$W/aivenauth.conf
SECRETS=$W/secrets; mkdir -m 0700 "$SECRETS"
dec() { "$AB/aivenctl" -c "$C" verify ov-bot < "$1" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//'; }
# record FIRST N: N journal records of tokens nobody has (prefixes
# FIRST..FIRST+N-1); prints how many found the journal full.
record() {
	python3 - "$AB/libaivenauth.so.1" "$C" "$U" "$1" "$2" <<'PY'
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
ctx = ctypes.c_void_p()
assert lib.aivenauth_ctx_new(ctypes.byref(ctx)) == 0
assert lib.aivenauth_config_load(ctx, sys.argv[2].encode(), True) == 0
full = 0
for i in range(int(sys.argv[4]), int(sys.argv[4]) + int(sys.argv[5])):
    rc = lib.aivenauth_revocation_record(ctx, sys.argv[3].encode(), b"pend%08d" % i)
    if rc != 0: full += 1
print(full)
PY
}
ctl --json user create ov-bot > "$W/u.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
U=$(jget 'd["user_id"]' < "$W/u.json")
ctl token create "$U" 2>/dev/null | head -n 1 > "$SECRETS/R"
ctl token create "$U" 2>/dev/null | head -n 1 > "$SECRETS/Y"
PR=$(head -c 12 "$SECRETS/R")
ctl sync > /dev/null 2>&1 || bad "sync"
[ "$(dec "$SECRETS/R")" = accepted ] && ok "R accepted" || bad "R: $(dec "$SECRETS/R")"
rm -rf "$W/compact" && mkdir "$W/compact" && mdb_copy -c "$W/fs/cache/writer" "$W/compact" &&
	cat "$W/compact/data.mdb" > "$W/fs/cache/writer/data.mdb" && rm -rf "$W/compact"
dd if=/dev/zero of="$W/fs/fill" bs=4k > /dev/null 2>&1
sim_ctl POST /_sim/faults '{"path": "access-tokens", "method": "DELETE", "kind": "status", "status": 503}' > /dev/null
n=$(record 0 1024)
[ "$n" = 0 ] && ok "1024 revocations journaled on the full disk" || bad "journal: $n of 1024 found it full"
ctl token revoke "$U" "$PR" > "$W/rv" 2>&1; rc=$?
[ $rc != 0 ] && grep -q "run this command again" "$W/rv" && ok "journal full: token revoke fails (exit $rc) and says to run it again" ||
	bad "token revoke exit $rc: $(grep -v retry "$W/rv")"
r=$(dec "$SECRETS/R")
[ "$r" = cache-unavailable ] && ok "readers withdrawn ($r)" || bad "R is $r with the journal and the disk full"
rm -f "$W/fs/fill"
ctl sync > "$W/sync" 2>&1
r=$(dec "$SECRETS/R")
[ "$r" = cache-unavailable ] && ok "room again, a sync (DELETE still failing): the overflow mark keeps the readers withdrawn ($r)" ||
	bad "R is $r after the next sync: the revocation the full journal could not take is lost"
ctl token revoke "$U" "$PR" > "$W/rv2" 2>&1
r=$(dec "$SECRETS/R"); y=$(dec "$SECRETS/Y")
[ "$r" = revoked ] && [ "$y" = accepted ] && ok "run again: journaled and stored, the mark lifted: R $r, Y $y" ||
	bad "after the second revoke R is $r, Y $y: $(grep -v retry "$W/rv2")"
# An overflow that could not be named (more than the header holds).
n=$(record 2000 1050)
[ "$n" -gt 16 ] && ok "journal full again, $n revocations overflowed (more than the mark can name)" || bad "overflow: $n"
ctl sync > /dev/null 2>&1
[ "$(dec "$SECRETS/Y")" = cache-unavailable ] && ok "readers withdrawn through a sync" || bad "Y is $(dec "$SECRETS/Y")"
# Operators see the mark, and what to do, before they clear it.
ctl status > "$W/st" 2>&1
# (The 16 it named were journaled by that sync, review 5 F2: only "lost".)
grep -q "the revocation journal's overflow mark is set: at least one revocation found it full and could not even be named; nothing is published .*--clear-overflow" "$W/st" &&
	ok "status: the overflow mark, and the way out" || bad "status: $(cat "$W/st")"
ctl doctor --offline > "$W/doc" 2>&1; rc=$?
[ $rc = 1 ] && grep -qE "^fail +revocations +.*/revocations: overflow mark set: at least one revocation found the journal full and could not even be named.*; fix: confirm at the API .*--clear-overflow" "$W/doc" &&
	ok "doctor: fails on the overflow mark (exit 1), with the fix" || bad "doctor exit $rc: $(grep revocations "$W/doc")"
ctl token revoke --clear-overflow > "$W/clr" 2>&1; rc=$?
[ $rc = 0 ] && grep -q "Overflow mark cleared" "$W/clr" && grep -q "could not name" "$W/clr" && ok "token revoke --clear-overflow: $(cat "$W/clr")" ||
	bad "--clear-overflow exit $rc: $(cat "$W/clr")"
ctl sync > /dev/null 2>&1
[ "$(dec "$SECRETS/Y")" = accepted ] && [ "$(dec "$SECRETS/R")" = revoked ] &&
	ok "the next sync publishes again (Y accepted, R revoked)" || bad "Y $(dec "$SECRETS/Y"), R $(dec "$SECRETS/R")"
ctl token revoke --clear-overflow > "$W/clr" 2>&1
grep -q "No overflow mark" "$W/clr" && ok "--clear-overflow with no mark says so" || bad "$(cat "$W/clr")"
finish
