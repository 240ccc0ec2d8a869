#!/bin/bash
# it_resources.sh - resource exhaustion and the short concurrency run.
#
#  * disk full during a sync (a 2 MiB tmpfs mounted here, as root): a clear
#    error, exit 74, the previous generation still answers;
#  * a read-only cache file system: sync refuses clearly, verify still works;
#  * a missing cache directory / parent directory / lock file;
#  * ~5 s of readers verifying while a writer revokes and re-applies: zero
#    wrong answers, zero reader errors (tests/stress/stress.c);
#  * idle readers on old snapshots and readers killed -9 while publications
#    go on: no wrong decision, unlinked snapshots held bounded.
# The long versions are in `make stress` (tools/run-stress).
. "$(dirname "$0")/lib.sh"

[ -x "$AB/aivenctl" ] || { bad "aivenctl not built in $AB"; finish; exit; }
MNT=
res_cleanup() {
	if [ -n "$MNT" ] && mountpoint -q "$MNT"; then umount "$MNT" || umount -l "$MNT"; fi
	lib_cleanup
}
trap res_cleanup EXIT

S=$W/stress
if ! cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Ilibaivenauth/include -o "$S" "$TOP/tests/stress/stress.c" \
    "$AB/libaivenauth.a" $(pkg-config --libs libsodium) -llmdb -ldl 2> "$W/cc.err"; then
	bad "cannot build tests/stress/stress.c: $(head -5 "$W/cc.err")"; S=
fi

# ---------------------------------------------------------------- concurrency
if [ -n "$S" ]; then
	if out=$("$S" concurrency "$W/conc" 5 4 2>&1); then ok "5 s concurrency: $out"
	else bad "concurrency: $out"; fi
	# Readers open the published snapshot without a lock file: there is
	# no reader table to fill.  What an idle reader holds is the snapshot
	# it mapped, after the writer replaced it: at most one each, let go
	# at its next verify; readers killed -9 mid-check leave nothing.
	if out=$("$S" snapshots "$W/snaps" 32 4 2>&1); then
		ok "32 publications, 4 idle readers, readers killed -9: $out"
	else
		bad "old snapshots: $out"
	fi
fi

start_sim --quiet || { bad "simulator did not start"; finish; exit; }
ctl user create alice > /dev/null 2>&1
ctl sync > /dev/null 2>&1
UA=$(ctl --json user list 2>/dev/null | python3 -c 'import json,sys; print([u["user_id"] for u in json.load(sys.stdin) if u["name"]=="alice"][0])')
TK=$(ctl token create "$UA" 2>/dev/null < /dev/null | head -1)
vfy() {   # vfy CONF -> prints the verify outcome's first line, sets VRC
	printf '%s\n' "$TK" | "$AB/aivenctl" -c "$1" verify alice > "$W/v.out" 2>&1; VRC=$?
}
gen() { "$AB/aivenctl" -c "$1" --json status 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin).get("generation"))'; }

# ---------------------------------------------------------------- disk full
if [ "$(id -u)" = 0 ] && mkdir -p "$W/full" && mount -t tmpfs -o size=2m,mode=0755 tmpfs "$W/full" 2> "$W/mount.err"; then
	MNT=$W/full
	sed "s|^cache_dir = .*|cache_dir = $MNT/cache|" "$W/aivenauth.conf" > "$W/full.conf"
	"$AB/aivenctl" -c "$W/full.conf" sync > "$W/s1.out" 2>&1
	printf '%s\n' "$TK" | "$AB/aivenctl" -c "$W/full.conf" token add "$UA" > /dev/null 2>&1
	vfy "$W/full.conf"
	[ $VRC = 0 ] && ok "disk full: small cache on a 2 MiB tmpfs works" || bad "tmpfs cache: $(cat "$W/s1.out" "$W/v.out")"
	g0=$(gen "$W/full.conf")
	sim_ctl POST /_sim/seed '{"users": 1500, "tokens_per_user": 4}' > /dev/null
	"$AB/aivenctl" -c "$W/full.conf" sync > "$W/s2.out" 2>&1; rc=$?
	[ $rc = 74 ] && ok "disk full during sync: exit 74 (EX_IOERR, cache full)" || bad "disk full: sync exit $rc: $(cat "$W/s2.out")"
	grep -Eqi 'no space left' "$W/s2.out" && ok "disk full: clear message: $(grep -Ei 'no space left' "$W/s2.out" | head -1)" ||
		bad "disk full: message: $(cat "$W/s2.out")"
	g1=$(gen "$W/full.conf"); vfy "$W/full.conf"
	[ "$g0" = "$g1" ] && [ $VRC = 0 ] && ok "disk full: generation $g1 unchanged, the token still accepted" ||
		bad "disk full: generation $g0 -> $g1, verify $VRC: $(cat "$W/v.out")"
	"$AB/aivenctl" -c "$W/full.conf" status > "$W/st.out" 2>&1 && ok "disk full: status clean afterwards" ||
		bad "disk full: status: $(cat "$W/st.out")"

	# read-only file system under the cache
	if mount -o remount,ro "$MNT" 2> "$W/mount.err"; then
		"$AB/aivenctl" -c "$W/full.conf" sync > "$W/s3.out" 2>&1; rc=$?
		[ $rc != 0 ] && grep -Eqi 'read-only|readonly|not writable' "$W/s3.out" &&
			ok "read-only cache file system: sync refused (exit $rc): $(tail -1 "$W/s3.out")" ||
			bad "read-only fs: sync exit $rc: $(cat "$W/s3.out")"
		vfy "$W/full.conf"
		[ $VRC = 0 ] && ok "read-only cache file system: verify still answers (accepted)" ||
			bad "read-only fs: verify exit $VRC: $(cat "$W/v.out")"
		umount "$MNT"; MNT=
	else
		skip "read-only file system: remount failed: $(cat "$W/mount.err")"
	fi
	[ -n "$MNT" ] && { umount "$MNT"; MNT=; }
else
	skip "disk full / read-only fs: needs root and tmpfs ($(cat "$W/mount.err" 2>/dev/null))"
	sim_ctl POST /_sim/seed '{"users": 1500, "tokens_per_user": 4}' > /dev/null
fi

# ---------------------------------------------------------------- map growth in a sync
ctl sync > "$W/s4.out" 2>&1 && ok "sync of 1500 x 4 tokens into the normal cache: $(tail -1 "$W/s4.out")" ||
	bad "big sync: $(cat "$W/s4.out")"

# ---------------------------------------------------------------- missing pieces
sed "s|^cache_dir = .*|cache_dir = $W/nope/deeper/cache|" "$W/aivenauth.conf" > "$W/nodir.conf"
"$AB/aivenctl" -c "$W/nodir.conf" sync > "$W/s5.out" 2>&1; rc=$?
[ $rc != 0 ] && grep -q "$W/nope" "$W/s5.out" && ok "missing parent of the cache directory: sync exit $rc, names it: $(tail -1 "$W/s5.out")" ||
	bad "missing parent: sync exit $rc: $(cat "$W/s5.out")"
[ ! -e "$W/nope" ] && ok "missing parent: nothing created" || bad "missing parent: created $W/nope"
vfy "$W/nodir.conf"
[ $VRC = 69 ] && grep -q 'cache' "$W/v.out" && ok "missing cache directory: verify exit 69 with a message" ||
	bad "missing cache: verify exit $VRC: $(cat "$W/v.out")"
# the writer's lock file removed under a synced cache: readers never use
# one, the writer recreates it
rm -f "$W/cache/writer/lock.mdb"
vfy "$W/aivenauth.conf"
[ $VRC = 0 ] && ok "writer lock.mdb removed: verify (no lock file) accepts" || bad "lock.mdb removed: verify $VRC: $(cat "$W/v.out")"
ctl sync > "$W/s6.out" 2>&1 && ok "writer lock.mdb removed: sync recreates it and works" || bad "lock.mdb removed: sync: $(cat "$W/s6.out")"
# the cache directory replaced by a file, by a symlink
mv "$W/cache" "$W/cache.real"; ln -s "$W/cache.real" "$W/cache"
vfy "$W/aivenauth.conf"
[ $VRC = 69 ] || [ $VRC = 77 ] && ok "cache directory is a symlink: refused (exit $VRC): $(grep aivenctl "$W/v.out" | head -1)" ||
	bad "symlinked cache dir: verify exit $VRC: $(cat "$W/v.out")"
rm "$W/cache"; mv "$W/cache.real" "$W/cache"
vfy "$W/aivenauth.conf"; [ $VRC = 0 ] && ok "cache restored: accepted again" || bad "restored: $VRC"
finish
