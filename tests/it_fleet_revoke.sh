#!/bin/bash
# it_fleet_revoke.sh - a revocation stands until the API confirms it, across
# a leader change (design.md section 2, docs/FLEET.md, issue 16): a real
# etcd on 127.0.0.1 (tests/lib_etcd.sh) and the simulator; publisher A
# (leader) and publisher B (standby, the same signing key, its own cache),
# follower F (online = off) and follower L (online = learn).
#
#  1. token X enrolled on A and accepted everywhere;
#  2. the API answers 503 to every DELETE; `aivenctl token revoke` on A:
#     its local revocation is published (a flag in the signed token
#     record): F, L and B refuse X;
#  3. A hands over (`aivenctl fleet resign`) while the API still fails: B
#     takes the key, its sync still sees X listed and its DELETE fails
#     again: X stays revoked in what B publishes, on F, on L (online =
#     learn does not ask the API) and on A, now standby;
#  4. the API recovers: B's next sync sends the DELETE (the pending
#     revocation came to it in the published state); the API stops
#     listing X, and X is refused everywhere;
#  5. a generation that lists X as live (a publisher that never saw the
#     revocation) does not clear a revocation a follower holds.
# Without the flag in the published state (the earlier behaviour), B
# publishes X live in 3 and F accepts it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_etcd.sh"

if ! command -v etcd >/dev/null; then
	skip "fleet revoke: etcd not installed"
	finish; exit
fi
start_sim --quiet || { bad "simulator did not start"; finish; exit; }
etcd_start || { bad "etcd did not start: $(tail -5 "$W/etcd.log")"; finish; exit; }
ok "etcd at $EURL, simulator at $SIM_URL"

PFX=/rv/
SECRETS=$W/secrets; mkdir -m 0700 "$SECRETS"
pk=$(ctl fleet keygen --out "$W/fleet.key" 2>"$W/err") || bad "keygen: $(cat "$W/err")"
cat >> "$W/aivenauth.conf" <<EOC
fleet = publish
etcd_endpoints = $EURL
etcd_prefix = $PFX
fleet_signing_key_file = $W/fleet.key
EOC
sed -e "s#^cache_dir = .*#cache_dir = $W/pubB#" "$W/aivenauth.conf" > "$W/b.conf"
chmod 0644 "$W/b.conf"
bctl() { "$AB/aivenctl" -c "$W/b.conf" "$@"; }
# fconf NAME [LINE...]: a follower's config (no API token file)
fconf() {
	local n=$1; shift
	{
		printf 'organization_id = %s\napi_url = %s\napi_token_file = %s\n' "$ORG_ID" "$SIM_URL" "$W/no-token"
		printf 'cache_dir = %s\nfleet = follow\netcd_endpoints = %s\netcd_prefix = %s\n' "$W/$n" "$EURL" "$PFX"
		printf 'fleet_public_keys = %s\nmax_stale = 1h\ntimeout = 10\n' "$pk"
		for l in "$@"; do printf '%s\n' "$l"; done
	} > "$W/$n.conf"
	chmod 0644 "$W/$n.conf"
}
fconf F
fconf L 'online = learn'
fF() { "$AB/aivenctl" -c "$W/F.conf" "$@"; }
fL() { "$AB/aivenctl" -c "$W/L.conf" "$@"; }
jq1() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@" 2>/dev/null; }
# dec CMD...: the decision (first word of verify's answer) on X
# (accepted, or the reason name of a denial: revoked, not-enrolled...)
dec() { "$@" verify rv-bot < "$SECRETS/X" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//'; }
decs() { echo "A=$(dec ctl) B=$(dec bctl) F=$(dec fF) L=$(dec fL)"; }
follow_all() {
	fF follow --once > "$W/fo.F" 2>&1 || bad "F follow --once: $(cat "$W/fo.F")"
	fL follow --once > "$W/fo.L" 2>&1 || bad "L follow --once: $(cat "$W/fo.L")"
}
listed() {  # is X listed at the API?
	sim_ctl GET /_sim/state | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(any(sys.argv[1] in [t if isinstance(t, str) else t.get("prefix", t.get("token_prefix")) for t in u.get("tokens", [])] for u in d.get("users", [])))' "$PX"
}

# ------------------------------------------------------------ 1. X everywhere
ctl --json user create rv-bot > "$W/u.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
UX=$(jq1 "$W/u.json" 'd["user_id"]')
ctl sync > "$W/sync.A" 2>&1 || bad "A sync: $(cat "$W/sync.A")"
ctl token create "$UX" 2>"$W/err" | head -n 1 > "$SECRETS/X"
PX=$(head -c 12 "$SECRETS/X")
bctl sync > "$W/sync.B" 2>&1 || bad "B sync (standby): $(cat "$W/sync.B")"
grep -q 'not the leader' "$W/sync.B" || bad "B is not on standby: $(cat "$W/sync.B")"
follow_all
d=$(decs)
[ "$d" = "A=accepted B=accepted F=accepted L=accepted" ] && [ "$(listed)" = True ] &&
	ok "1. token X (created on leader A) accepted on A, standby B, followers F and L" || bad "1. $d: $(cat "$W/err")"

# ------------------------------------------------------------ 2. revoke, API 503
sim_ctl POST /_sim/faults '{"path": "access-tokens", "method": "DELETE", "kind": "status", "status": 503}' > /dev/null
ctl token revoke "$UX" "$PX" > "$W/rv" 2>&1; rc=$?
follow_all
bctl sync > "$W/sync.B" 2>&1 || bad "B sync (standby): $(cat "$W/sync.B")"
d=$(decs)
[ $rc != 0 ] && grep -q 'revoked locally; the API call failed' "$W/rv" &&
	[ "$d" = "A=revoked B=revoked F=revoked L=revoked" ] && [ "$(listed)" = True ] &&
	ok "2. token revoke on A with the API answering 503 (exit $rc): X still listed at the API, revoked on A, B, F and L" ||
	bad "2. revoke exit $rc, $d, listed $(listed): $(cat "$W/rv")"

# ------------------------------------------------------------ 3. handover, API still failing
ctl fleet resign > "$W/resign" 2>&1 || bad "A fleet resign: $(cat "$W/resign")"
bctl sync > "$W/sync.B" 2>&1; rc=$?
follow_all
ctl sync > "$W/sync.A" 2>&1 || bad "A sync (standby): $(cat "$W/sync.A")"
d=$(decs)
[ $rc = 0 ] && grep -q 'fleet: published generation' "$W/sync.B" &&
	grep -q "could not be sent to the API" "$W/sync.B" && grep -q 'not the leader' "$W/sync.A" &&
	[ "$d" = "A=revoked B=revoked F=revoked L=revoked" ] && [ "$(listed)" = True ] &&
	ok "3. A resigned, B leads while the API still fails: B's DELETE fails again, X stays revoked on B, F, L (online = learn) and on A (standby)" ||
	bad "3. B sync exit $rc, $d, listed $(listed): $(cat "$W/sync.B" "$W/sync.A")"

# ------------------------------------------------------------ 4. the API recovers
sim_ctl DELETE /_sim/faults > /dev/null
bctl sync > "$W/sync.B" 2>&1; rc=$?
follow_all
ctl sync > "$W/sync.A" 2>&1 || bad "A sync (standby): $(cat "$W/sync.A")"
d=$(decs)
[ $rc = 0 ] && grep -q 'revocations sent to the API: 1' "$W/sync.B" && [ "$(listed)" = False ] &&
	[ "$d" = "A=revoked B=revoked F=revoked L=revoked" ] &&
	ok "4. the API recovered: leader B sent the pending DELETE (X no longer listed), X refused on A, B, F and L" ||
	bad "4. B sync exit $rc, $d, listed $(listed): $(cat "$W/sync.B")"

# ------------------------------------------------------------ 5. a live listing never clears it
# A second token Y, created on leader B; a copy of B's cache taken then
# (publisher C: a restored backup) never sees Y's revocation.  Y is revoked
# on B with the API failing; B resigns; a writer of etcd points current
# back at the generation before the revocation, so C, taking over, has
# nothing newer to catch up on and publishes Y live (the API lists it).
# The followers holding the revocation keep it.
bctl token create "$UX" 2>"$W/err" | head -n 1 > "$SECRETS/Y"
follow_all
PY=$(head -c 12 "$SECRETS/Y")
GY=$(ekv get "${PFX}current")
cp -a "$W/pubB" "$W/pubC"
decY() { "$@" verify rv-bot < "$SECRETS/Y" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//'; }
sim_ctl POST /_sim/faults '{"path": "access-tokens", "method": "DELETE", "kind": "status", "status": 503}' > /dev/null
bctl token revoke "$UX" "$PY" > "$W/rvY" 2>&1
follow_all
y0="F=$(decY fF) L=$(decY fL)"
bctl fleet resign > /dev/null 2>&1
ekv put "${PFX}current" "$GY"
# Something new at the API, so that C has a new snapshot to publish.
api POST "/v1/organization/$ORG_ID/application-users/$ADMIN_USER_ID/access-tokens" '{"description": "churn"}' > /dev/null
sed -e "s#^cache_dir = .*#cache_dir = $W/pubC#" "$W/aivenauth.conf" > "$W/c.conf"; chmod 0644 "$W/c.conf"
"$AB/aivenctl" -c "$W/c.conf" sync > "$W/sync.C" 2>&1
"$AB/aivenctl" -c "$W/c.conf" fleet resign > /dev/null 2>&1
follow_all
y="F=$(decY fF) L=$(decY fL)"
[ "$y0" = "F=revoked L=revoked" ] && grep -q 'fleet: published generation' "$W/sync.C" &&
	[ "$y" = "F=revoked L=revoked" ] && grep -q 'stays revoked' "$W/fo.F" &&
	ok "5. a later generation listing Y as live (a publisher that never saw its revocation) does not clear it on F and L ($y)" ||
	bad "5. before $y0, after $y: $(cat "$W/sync.C" "$W/fo.F")"
sim_ctl DELETE /_sim/faults > /dev/null

# ------------------------------------------------------------ 6. a publisher that cannot verify the fleet
# D signs with its own key and pins none: it cannot verify what the fleet
# publishes.  When the leader resigns it must not take the key (it would
# publish under a key every follower refuses and keep A out).
other=$(ctl fleet keygen --out "$W/other.key" 2>"$W/err") || bad "keygen: $(cat "$W/err")"
sed -e "s#^cache_dir = .*#cache_dir = $W/pubD#" -e "s#^fleet_signing_key_file = .*#fleet_signing_key_file = $W/other.key#" \
    "$W/aivenauth.conf" > "$W/d.conf"; chmod 0644 "$W/d.conf"
dctl() { "$AB/aivenctl" -c "$W/d.conf" "$@"; }
ctl sync > "$W/sync.A" 2>&1 || bad "A sync: $(cat "$W/sync.A")"
G6=$(ekv get "${PFX}current")
ctl fleet resign > /dev/null 2>&1 || bad "A resign"
sim_ctl POST /_sim/stats/reset > /dev/null
dctl sync > "$W/sync.D" 2>&1; rc=$?
tot=$(sim_ctl GET /_sim/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
ldr=$(ekv get "${PFX}leader" 2>/dev/null || echo none)
[ $rc = 78 ] && grep -q "generation $G6 does not verify against this publisher's keys" "$W/sync.D" &&
	grep -q 'pin its public key in fleet_public_keys' "$W/sync.D" && [ "$ldr" = none ] &&
	[ "$(ekv get "${PFX}current")" = "$G6" ] && [ "$tot" = 0 ] &&
	ok "6. a publisher signing with an unpinned key does not take the leader key when the leader resigns (exit 78, says why and what to do, no API request, current $G6 kept)" ||
	bad "6. D sync exit $rc, leader '$ldr', current $(ekv get "${PFX}current"), $tot API requests: $(cat "$W/sync.D")"
dctl doctor > "$W/doc.D" 2>&1
dctl fleet status > "$W/fs.D" 2>&1
grep -E '^fail +fleet ' "$W/doc.D" | grep -q 'never takes the leader key' &&
	grep -q 'never takes the leader key: pin the leader' "$W/fs.D" &&
	ok "6. doctor (fail) and fleet status on that publisher say it never takes the leader key, and the fix" ||
	bad "6. doctor/status: $(grep ' fleet ' "$W/doc.D"; cat "$W/fs.D")"
ctl sync > "$W/sync.A" 2>&1; rc=$?
fF follow --once > "$W/fo.F" 2>&1; frc=$?
[ $rc = 0 ] && [ $frc = 0 ] && grep -q 'fleet: ' "$W/sync.A" && [ "$(ekv get "${PFX}leader")" = "$(hostname)" ] &&
	ok "6. the rightful publisher takes the key back at its next sync; the follower follows" ||
	bad "6. A sync $rc, F follow $frc: $(cat "$W/sync.A" "$W/fo.F")"

# ------------------------------------------------------------ 7. a token for a brand-new user
# On the leader, `token create` right after `user create` (no sync between):
# the token reaches the followers at once (a generation carries only tokens
# whose user it carries: the user is stored with the token).
ctl --json user create rv-new > "$W/u2.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
U2=$(jq1 "$W/u2.json" 'd["user_id"]')
ctl token create "$U2" 2>"$W/err" | head -n 1 > "$SECRETS/N"
fF follow --once > "$W/fo.F" 2>&1
n=$(fF verify rv-new < "$SECRETS/N" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//')
[ "$n" = accepted ] &&
	ok "7. a token created on the leader for a user created just before (no sync between) is accepted on the follower at once" ||
	bad "7. new user's token on F: $n: $(cat "$W/err" "$W/fo.F")"
finish
