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
#  2. a fleet follower (real etcd) whose disk is full when a revocation is
#     published: the same, and its next `follow --once` stores it.
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

# ------------------------------------------------------------ 2. a follower
if ! command -v etcd >/dev/null; then
	skip "disk full, follower: etcd not installed"
	finish; exit
fi
. "$(dirname "$0")/lib_etcd.sh"
etcd_start || { bad "etcd did not start: $(tail -5 "$W/etcd.log")"; finish; exit; }
small_fs "$W/ffs" || { bad "second tmpfs"; finish; exit; }
PFX=/df/
pk=$(ctl fleet keygen --out "$W/fleet.key" 2>"$W/err") || bad "keygen: $(cat "$W/err")"
sed -e "s#^cache_dir = .*#cache_dir = $W/pub#" "$C" > "$W/p.conf"
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
[ "$(dec "$F" "$SECRETS/Z")" = accepted ] && ok "2. token Z created on the publisher, accepted on the follower (cache on its own tmpfs)" ||
	bad "2. Z: $(dec "$F" "$SECRETS/Z"): $(cat "$W/fo")"
fill "$W/ffs"
sim_ctl POST "/_sim/tokens/$(enc "$PZ")/revoke" > /dev/null
more_users 300
pctl sync > "$W/psync" 2>&1 || bad "publisher sync: $(cat "$W/psync")"
fctl follow --once > "$W/fo" 2>&1; rc=$?
[ $rc != 0 ] && grep -q 'a revocation or removal was fetched but could not be stored' "$W/fo" &&
	[ "$(dec "$F" "$SECRETS/Z")" = cache-unavailable ] &&
	ok "2. the follower's disk full when Z's revocation is published: follow --once fails (exit $rc), its readers answer cache-unavailable, never accept Z" ||
	bad "2. follow exit $rc, Z $(dec "$F" "$SECRETS/Z"): $(cat "$W/fo")"
rm -f "$W/ffs/fill"
fctl follow --once > "$W/fo" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(dec "$F" "$SECRETS/Z")" = revoked ] &&
	ok "2. with room again its next follow --once stores it: Z revoked" ||
	bad "2. after: follow exit $rc, Z $(dec "$F" "$SECRETS/Z"): $(cat "$W/fo")"
finish
