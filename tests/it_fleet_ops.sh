#!/bin/bash
# it_fleet_ops.sh - what an operator sees of fleet mode (docs/FLEET.md):
# the fleet lines of `aivenctl status`, `fleet status` and `doctor` on a
# publisher and a follower, against a real etcd on 127.0.0.1 (free ports,
# stopped by pid) and the simulator:
#
#  * status on a follower: the published and the applied generation, the
#    heartbeat's age, "behind" until `follow --once` applied; its exit code
#    stays the cache's (what pam_aiven decides on), also with etcd down;
#  * fleet status: the applied generation next to the published one;
#  * doctor on a follower: no API token needed (and one present is a
#    warning), no API call, keys pinned, etcd reachable, heartbeat
#    verified and fresh, generation caught up; each broken setting gives
#    its fail line with a fix;
#  * doctor on a publisher: the signing key's public half among the pinned
#    keys.
# Nothing here depends on timing except the max_stale check, which waits
# for a heartbeat to be two seconds older than max_stale = 1.
. "$(dirname "$0")/lib.sh"

if ! command -v etcd >/dev/null; then
	skip "fleet ops: etcd not installed"
	finish; exit
fi
start_sim || { bad "simulator did not start"; finish; exit; }

. "$(dirname "$0")/lib_etcd.sh"
etcd_start || { bad "etcd did not start: $(tail -5 "$W/etcd.log" 2>/dev/null)"; finish; exit; }
stop_etcd() { etcd_stop; }
ok "etcd started at $EURL"

PFX=/ops/
pk=$(ctl fleet keygen --out "$W/fleet.key" 2>"$W/err") || bad "keygen: $(cat "$W/err")"
other=$(ctl fleet keygen --out "$W/other.key" 2>"$W/err") || bad "keygen: $(cat "$W/err")"
cat >> "$W/aivenauth.conf" <<EOC
fleet = publish
etcd_endpoints = $EURL
etcd_prefix = $PFX
fleet_signing_key_file = $W/fleet.key
EOC
# follower_conf FILE [EXTRA LINE...]: a follower's config
follower_conf() {
	local f=$1; shift
	{
		printf 'api_url = %s\norganization_id = %s\napi_token_file = %s\n' "$SIM_URL" "$ORG_ID" "$W/no-token"
		printf 'cache_dir = %s\nfleet = follow\netcd_endpoints = %s\netcd_prefix = %s\n' "$W/f" "$EURL" "$PFX"
		printf 'max_stale = %s\ntimeout = 5\n' "${MS:-1h}"
		for l in "$@"; do printf '%s\n' "$l"; done
	} > "$f"
	chmod 0644 "$f"
}
follower_conf "$W/f.conf" "fleet_public_keys = $pk"
fctl() { "$AB/aivenctl" -c "$W/f.conf" "$@"; }
jq1() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@" 2>/dev/null; }
# fleet_line FILE CHECK REGEX: a doctor line of that check matching REGEX
doc_has() { grep -E "^$2 +$3 " "$1" | grep -qE "$4"; }

ctl --json user create ops-bot > "$W/u.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
UID1=$(jq1 "$W/u.json" 'd["user_id"]')
ctl sync > "$W/sync" 2>&1 || bad "publisher sync: $(cat "$W/sync")"
fctl status > "$W/st0" 2>&1
grep -q "run 'aivenctl follow --once' to create it" "$W/st0" && ! grep -q "aivenctl sync" "$W/st0" &&
	ok "status on a follower without a cache says to run 'aivenctl follow --once' (not sync, which it refuses)" ||
	bad "status without a cache: $(cat "$W/st0")"
fctl follow --once > "$W/fo" 2>&1 || bad "follow --once: $(cat "$W/fo")"

# ------------------------------------------------------------ status
fctl status > "$W/st" 2>"$W/st.err"; rc=$?
[ $rc = 0 ] && grep -qx 'fleet: *follow' "$W/st" && grep -qE '^fleet_published: +1$' "$W/st" &&
	grep -qE '^fleet_applied: +1 \(in-sync\)$' "$W/st" && grep -qE '^fleet_state: +fresh$' "$W/st" &&
	grep -qE '^fleet_heartbeat_age: +[0-9]+$' "$W/st" &&
	ok "status on a follower: published 1, applied 1 (in-sync), heartbeat age, fresh" ||
	bad "status: exit $rc: $(cat "$W/st" "$W/st.err")"
ctl token create "$UID1" > "$W/mint" 2>"$W/mint.err" || bad "token create: $(cat "$W/mint.err")"
: > "$W/mint"
fctl --json status > "$W/st.json" 2>"$W/st.err"; rc=$?
[ $rc = 0 ] && [ "$(jq1 "$W/st.json" 'd["fleet"]["local"], d["fleet"]["applied_generation"], d["fleet"]["published_generation"]')" = "('behind', 1, 2)" ] &&
	ok "status --json after a token create on the publisher: behind (applied 1, published 2), exit 0 (the cache is fresh)" ||
	bad "status --json: exit $rc: $(cat "$W/st.json" "$W/st.err")"
fctl fleet status > "$W/fs" 2>&1; rc=$?
[ $rc = 0 ] && grep -qE '^applied generation: +1 \(behind\)$' "$W/fs" && grep -qE '^this host: +follow$' "$W/fs" &&
	ok "fleet status on a follower: applied generation 1 (behind), exit 0 (the fleet is fresh)" ||
	bad "fleet status: exit $rc: $(cat "$W/fs")"
fctl doctor > "$W/doc" 2>&1
doc_has "$W/doc" warn fleet 'holds generation 1, etcd publishes 2' &&
	ok "doctor on a follower behind: warn with the generations" || bad "doctor behind: $(grep -E ' (fleet|etcd) ' "$W/doc")"
fctl follow --once > "$W/fo" 2>&1 || bad "follow --once: $(cat "$W/fo")"
fctl doctor > "$W/doc" 2>&1
doc_has "$W/doc" ok fleet 'publisher key\(s\) pinned' && doc_has "$W/doc" ok etcd "etcd at $EURL answered" &&
	doc_has "$W/doc" ok fleet 'heartbeat verified: generation 2' &&
	doc_has "$W/doc" ok fleet 'holds the published generation 2' &&
	doc_has "$W/doc" ok token 'a fleet follower needs no Aiven credential' &&
	doc_has "$W/doc" ok api 'a fleet follower makes no API call' &&
	! grep -E '^(warn|fail) +(fleet|etcd|token|api) ' "$W/doc" | grep -qv 'can write the fleet' &&
	doc_has "$W/doc" warn etcd "this follower's etcd access can write the fleet's prefix" &&
	ok "doctor on a healthy follower: keys, etcd, heartbeat, generation, no token, no API call ok; etcd without auth: a follower can write (warn)" ||
	bad "doctor follower: $(cat "$W/doc")"
sim_ctl POST /_sim/stats/reset >/dev/null
fctl doctor > /dev/null 2>&1; fctl status > /dev/null 2>&1
tot=$(sim_ctl GET /_sim/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
[ "$tot" = 0 ] && ok "doctor and status on a follower make no API request" || bad "$tot API requests"

# ------------------------------------------------------------ broken followers
echo "not a token" > "$W/no-token"; chmod 0600 "$W/no-token"
fctl doctor > "$W/doc" 2>&1
doc_has "$W/doc" warn token 'exists on a fleet follower' && grep -E '^warn +token ' "$W/doc" | grep -q 'fix: shred -u' &&
	ok "doctor: an API token file on a follower is a warning with a fix" || bad "doctor token: $(grep ' token ' "$W/doc")"
rm -f "$W/no-token"
follower_conf "$W/f.conf"
fctl doctor > "$W/doc" 2>&1; rc=$?
[ $rc = 1 ] && doc_has "$W/doc" fail fleet 'no fleet_public_keys pinned' &&
	ok "doctor: a follower without pinned keys fails (exit 1)" || bad "doctor no keys: exit $rc: $(grep -E ' (fleet|etcd) ' "$W/doc")"
follower_conf "$W/f.conf" "fleet_public_keys = $other"
fctl doctor > "$W/doc" 2>&1; rc=$?
[ $rc = 1 ] && doc_has "$W/doc" fail fleet 'heartbeat in etcd is refused' &&
	grep -E '^fail +fleet +the heartbeat' "$W/doc" | grep -q 'fix: pin the publisher' &&
	ok "doctor: a follower pinning another key: the heartbeat is refused, fix named" ||
	bad "doctor other key: exit $rc: $(grep -E ' (fleet|etcd) ' "$W/doc")"
follower_conf "$W/f.conf" "fleet_public_keys = $pk" "fleet_signing_key_file = $W/other.key"
fctl doctor > "$W/doc" 2>&1
doc_has "$W/doc" warn fleet 'signing key .* is on a follower' &&
	ok "doctor: a signing key on a follower is a warning" || bad "doctor signing key: $(grep ' fleet ' "$W/doc")"
MS=1 follower_conf "$W/f.conf" "fleet_public_keys = $pk"
# The heartbeat is at most as old as the last publish; wait until it is
# older than max_stale = 1 (the condition, not a fixed time, is asserted).
for i in $(seq 50); do
	age=$(fctl --json status 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["fleet"]["heartbeat_age"])' 2>/dev/null)
	[ -n "$age" ] && [ "$age" -gt 1 ] && break
	sleep 0.1
done
fctl doctor > "$W/doc" 2>&1; rc=$?
doc_has "$W/doc" warn fleet 'max_stale = 1 s is shorter than a leader takeover' &&
	ok "doctor: max_stale shorter than a leader takeover is a warning" || bad "doctor takeover: $(grep ' fleet ' "$W/doc")"
[ $rc = 1 ] && doc_has "$W/doc" fail fleet 'older than max_stale \(1 s\)' &&
	ok "doctor: the publisher's heartbeat older than max_stale fails" || bad "doctor stale: exit $rc: $(grep -E ' (fleet|fresh) ' "$W/doc")"
fctl fleet status > "$W/fs" 2>&1; rc=$?
[ $rc = 69 ] && grep -qE '^state: +stale$' "$W/fs" &&
	ok "fleet status: stale heartbeat exits 69" || bad "fleet status stale: exit $rc: $(cat "$W/fs")"
follower_conf "$W/f.conf" "fleet_public_keys = $pk"

# ------------------------------------------------------------ publisher
ctl doctor > "$W/doc" 2>&1
grep -E '^ok +fleet ' "$W/doc" | grep -qF "fleet = publish, signing key $W/fleet.key (public key $pk)" &&
	doc_has "$W/doc" ok etcd 'answered' && doc_has "$W/doc" ok fleet 'heartbeat verified' &&
	ok "doctor on the publisher: signing key, etcd, heartbeat ok" || bad "doctor publisher: $(grep -E ' (fleet|etcd) ' "$W/doc")"
cp "$W/aivenauth.conf" "$W/pubk.conf"
echo "fleet_public_keys = $other" >> "$W/pubk.conf"
"$AB/aivenctl" -c "$W/pubk.conf" doctor > "$W/doc" 2>&1; rc=$?
[ $rc = 1 ] && doc_has "$W/doc" fail fleet "is not among fleet_public_keys" &&
	ok "doctor: a publisher whose key is not among the pinned keys fails" || bad "doctor pub2: exit $rc: $(grep ' fleet ' "$W/doc")"
ctl status > "$W/st" 2>&1
grep -qx 'fleet: *publish' "$W/st" && ! grep -q '^fleet_applied:' "$W/st" &&
	ok "status on the publisher: fleet lines without an applied generation" || bad "publisher status: $(cat "$W/st")"

# ------------------------------------------------------------ the leader key
# The key stays with its publisher between runs (one publisher's API
# load, no alternating generations); a standby refuses token commands
# before changing anything; runs of one host take turns (fleet.lock);
# `fleet resign` hands the key over.
ekey() { printf %s "${PFX}$1" | base64 -w0; }
leader_now() { curl -s -X POST "$EURL/v3/kv/range" -d "{\"key\":\"$(ekey leader)\"}" | python3 -c 'import json,sys,base64; k=json.load(sys.stdin).get("kvs",[]); print(base64.b64decode(k[0]["value"]).decode() if k else "none")'; }
HOST=$(hostname)
[ "$(leader_now)" = "$HOST" ] && ok "after the publisher's run the leader key stays with it ($HOST)" || bad "leader after runs: $(leader_now)"
ctl -vv sync > "$W/sync2" 2>&1
grep -q 'still holds the leader key (lease .*, resumed)' "$W/sync2" &&
	ok "the next run resumes its lease instead of campaigning" || bad "resume: $(cat "$W/sync2")"
# A second publisher (own cache, same signing key): standby.
sed -e "s#^cache_dir = .*#cache_dir = $W/pub2#" "$W/aivenauth.conf" > "$W/pub2.conf"; chmod 0644 "$W/pub2.conf"
p2() { "$AB/aivenctl" -c "$W/pub2.conf" "$@"; }
sim_ctl POST /_sim/stats/reset >/dev/null
p2 sync > "$W/p2.sync" 2>&1; rc=$?
tot=$(sim_ctl GET /_sim/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
[ $rc = 0 ] && grep -q "not the leader (leader: $HOST)" "$W/p2.sync" && [ "$tot" = 0 ] &&
	ok "a second publisher's sync while the first holds the key: standby, no API request" ||
	bad "standby sync: exit $rc, $tot requests: $(cat "$W/p2.sync")"
p2 --json sync > "$W/p2.json" 2>/dev/null; rc=$?
[ $rc = 0 ] && [ "$(jq1 "$W/p2.json" 'd["leader"], d["leader_id"]')" = "(False, '$HOST')" ] &&
	ok "sync --json on a standby: one JSON object (leader false, leader_id)" || bad "standby --json: exit $rc: $(cat "$W/p2.json")"
ctl token create "$UID1" > "$W/mint" 2>"$W/mint.err" || bad "token create: $(cat "$W/mint.err")"
head -n 1 "$W/mint" > "$W/tokB"; : > "$W/mint"
PB=$(python3 -c 'import sys; print(open(sys.argv[1]).read().strip()[:12])' "$W/tokB")
fctl follow --once > /dev/null 2>&1
vf() { fctl verify ops-bot < "$1" 2>/dev/null | head -n 1 | cut -d: -f1; }
[ "$(vf "$W/tokB")" = accepted ] && ok "a token created on the leader is accepted on the follower" || bad "tokB not accepted on the follower"
sim_ctl POST /_sim/stats/reset >/dev/null
p2 token revoke "$UID1" "$PB" > "$W/p2.rv" 2>&1; rc=$?
tot=$(sim_ctl GET /_sim/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
fctl follow --once > /dev/null 2>&1
[ $rc = 75 ] && grep -q "standby: $HOST holds the fleet's leader key; run \`aivenctl token revoke\` there" "$W/p2.rv" &&
	[ "$tot" = 0 ] && [ "$(vf "$W/tokB")" = accepted ] &&
	ok "token revoke on a standby publisher: refused before any change (exit 75, names the leader, no API request)" ||
	bad "standby revoke: exit $rc, $tot requests: $(cat "$W/p2.rv")"
# Runs of one host take turns: with fleet.lock held (as by the timer's
# sync), a token command waits for it, then publishes.
flock "$W/cache/writer/fleet.lock" sleep 1 &
LK=$!
for i in $(seq 50); do python3 - "$W/cache/writer/fleet.lock" <<'PY' && break
import fcntl, sys
f = open(sys.argv[1], "rb")
try:
    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); sys.exit(1)   # not held yet
except BlockingIOError:
    sys.exit(0)
PY
	sleep 0.05; done
ctl -v token revoke "$UID1" "$PB" > "$W/rv" 2>&1; rc=$?
wait "$LK"
fctl follow --once > /dev/null 2>&1
[ $rc = 0 ] && grep -q 'published to the fleet as generation' "$W/rv" && [ "$(vf "$W/tokB")" = denied ] &&
	ok "token revoke while this host's other run holds fleet.lock: waits, publishes, the follower refuses" ||
	bad "revoke with fleet.lock held: exit $rc: $(cat "$W/rv")"
# The standby follows the leader: a token created on the leader gets its
# hash to the standby, so that a takeover keeps it working fleet-wide.
ctl token create "$UID1" > "$W/mint" 2>"$W/mint.err" || bad "token create: $(cat "$W/mint.err")"
head -n 1 "$W/mint" > "$W/tokC"; : > "$W/mint"
p2 sync > "$W/p2.sync" 2>&1; rc=$?
[ $rc = 0 ] && grep -q 'standby: applied generation' "$W/p2.sync" &&
	[ "$(p2 verify ops-bot < "$W/tokC" 2>/dev/null | head -n 1 | cut -d: -f1)" = accepted ] &&
	ok "a standby publisher's sync applies the leader's generation: the leader's new token is accepted there" ||
	bad "standby follow: exit $rc: $(cat "$W/p2.sync")"
ctl fleet resign > "$W/rs" 2>&1; rc=$?
[ $rc = 0 ] && grep -q 'gave up the leader key' "$W/rs" && [ "$(leader_now)" = none ] &&
	ok "fleet resign: the leader key is free" || bad "resign: exit $rc: $(cat "$W/rs"), leader $(leader_now)"
p2 sync > "$W/p2.sync" 2>&1; rc=$?
[ $rc = 0 ] && grep -q 'fleet: published generation' "$W/p2.sync" && [ "$(leader_now)" = "$HOST" ] &&
	ok "after the resign the second publisher takes the key and publishes" || bad "takeover: exit $rc: $(cat "$W/p2.sync")"
fctl follow --once > "$W/fo" 2>&1
[ "$(vf "$W/tokC")" = accepted ] && [ "$(vf "$W/tokB")" = denied ] &&
	ok "after the takeover the follower still accepts the token created on the first publisher (same hash key, its hash kept) and still refuses the revoked one" ||
	bad "after takeover: tokC $(vf "$W/tokC"), tokB $(vf "$W/tokB"): $(cat "$W/fo")"
ctl sync > "$W/sync3" 2>&1; rc=$?
[ $rc = 0 ] && grep -q 'not the leader' "$W/sync3" && ok "the first publisher is standby now" || bad "first after takeover: $(cat "$W/sync3")"
p2 fleet resign > /dev/null 2>&1
ctl sync > /dev/null 2>&1 || bad "the first publisher cannot lead again"
ctl fleet resign > "$W/rs" 2>&1
p2 --json fleet resign > "$W/rs2.json" 2>/dev/null
[ "$(jq1 "$W/rs2.json" 'd["resigned"]')" = False ] && ok "fleet resign --json: one JSON object" || bad "resign --json: $(cat "$W/rs2.json")"
p2 fleet resign > "$W/rs2" 2>&1; rc=$?
[ $rc = 0 ] && grep -q 'nothing to resign' "$W/rs2" && ok "fleet resign without the key: exit 0, nothing to resign" || bad "resign2: exit $rc: $(cat "$W/rs2")"
ctl sync > /dev/null 2>&1 || bad "the first publisher cannot lead again"

# ------------------------------------------------------------ a copied cache dir
# The leader's cache directory copied (a restored backup, a cloned VM, a
# second publisher provisioned by rsync): the copy carries writer/fleet-lease
# but may not resume the lease (it is bound to the host, the boot and the
# writer directory itself), so it neither publishes nor resigns the leader.
ctl sync > /dev/null 2>&1
cp -a "$W/cache" "$W/pubc"
sed -e "s#^cache_dir = .*#cache_dir = $W/pubc#" "$W/aivenauth.conf" > "$W/pubc.conf"; chmod 0644 "$W/pubc.conf"
pc() { "$AB/aivenctl" -c "$W/pubc.conf" "$@"; }
pc sync > "$W/pc.sync" 2>&1; rc=$?
pc fleet resign > "$W/pc.rs" 2>&1; rrc=$?
[ $rc = 0 ] && grep -q 'not the leader' "$W/pc.sync" && ! grep -q 'published generation' "$W/pc.sync" &&
	[ $rrc = 0 ] && grep -q 'nothing to resign' "$W/pc.rs" && [ "$(leader_now)" = "$HOST" ] &&
	ctl -vv sync 2>&1 | grep -q 'resumed' &&
	ok "a copied cache dir does not resume the leader's lease: it stays standby, cannot resign the leader, the leader still resumes" ||
	bad "copied cache: sync $rc, resign $rrc, leader $(leader_now): $(cat "$W/pc.sync" "$W/pc.rs")"
# Files a root run creates in writer/ go to the cache directory's owner
# and group (the timer's user), or its next run could not open them.  (No
# aivenauth user here: the group shows it.)
NG=$(getent group nogroup >/dev/null && echo nogroup || echo nobody)
ctl fleet resign > /dev/null 2>&1             # removes fleet-lease; the next run writes it anew
rm -f "$W/cache/writer/fleet.lock" "$W/cache/writer/fleet-published"*
chgrp -R "$NG" "$W/cache"
ctl token create "$UID1" > "$W/mint" 2>"$W/mint.err" || bad "token create: $(cat "$W/mint.err")"
: > "$W/mint"
left=$(find "$W/cache/writer" -name 'fleet*' ! -group "$NG" | wc -l)
made=$(find "$W/cache/writer" -name 'fleet*' | wc -l)
[ "$left" = 0 ] && [ "$made" -ge 3 ] &&
	ok "a root token command gives the files it creates in writer/ (fleet.lock, fleet-lease, fleet-published*: $made) the cache directory's group" ||
	bad "writer/ fleet files not in group $NG: $(find "$W/cache/writer" -name 'fleet*' ! -group "$NG")"
chgrp -R root "$W/cache"

# ------------------------------------------------------------ takeover, hostile current
# A takeover builds on the fleet's current generation, not on what the new
# leader saw at its last standby run: a token created on the old leader
# after that run keeps working.
p2 sync > /dev/null 2>&1                      # standby: adopts the current generation
ctl token create "$UID1" > "$W/mint" 2>"$W/mint.err" || bad "token create: $(cat "$W/mint.err")"
head -n 1 "$W/mint" > "$W/tokD"; : > "$W/mint"
ctl fleet resign > /dev/null 2>&1
p2 sync > "$W/p2.sync" 2>&1; rc=$?
fctl follow --once > "$W/fo" 2>&1
[ $rc = 0 ] && grep -q 'fleet: published generation' "$W/p2.sync" && [ "$(vf "$W/tokD")" = accepted ] &&
	[ "$(p2 verify ops-bot < "$W/tokD" 2>/dev/null | head -n 1 | cut -d: -f1)" = accepted ] &&
	ok "takeover right after the old leader created a token: the new leader builds on the current generation, the token stays accepted" ||
	bad "takeover window: exit $rc, follower $(vf "$W/tokD"): $(cat "$W/p2.sync" "$W/fo")"
p2 fleet resign > /dev/null 2>&1
ctl sync > /dev/null 2>&1 || bad "the first publisher cannot lead again"
# `current` is not signed: a writer of etcd sets it to the end of the
# range.  The leader neither builds on it nor counts it: the next
# generation has a plausible number and the followers apply it.
gen_now=$(fctl --json status 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
curl -s -X POST "$EURL/v3/kv/put" -d "{\"key\":\"$(ekey current)\",\"value\":\"$(printf 18446744073709551614 | base64 -w0)\"}" >/dev/null
ctl token create "$UID1" > "$W/mint" 2>"$W/mint.err"; rc=$?
head -n 1 "$W/mint" > "$W/tokF"; : > "$W/mint"
fctl follow --once > "$W/fo" 2>&1; frc=$?
gen_after=$(fctl --json status 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
[ $rc = 0 ] && [ $frc = 0 ] && [ "$gen_after" -gt "$gen_now" ] && [ "$gen_after" -lt 1000 ] && [ "$(vf "$W/tokF")" = accepted ] &&
	ok "a forged current of 2^64-2: the leader publishes generation $gen_after past it (not wrapped), the follower applies it" ||
	bad "forged current: create $rc, follow $frc, generation $gen_now -> $gen_after: $(cat "$W/mint.err" "$W/fo")"
# etcd loses the prefix and a fresh publisher (new cache) publishes
# generation 1: the follower, holding a newer one, refuses it as a replay:
# doctor says so.  The leader that held the newer generation publishes past it.
curl -s -X POST "$EURL/v3/kv/deleterange" -d "{\"key\":\"$(printf %s "$PFX" | base64 -w0)\",\"range_end\":\"$(printf %s "${PFX%/}0" | base64 -w0)\"}" >/dev/null
sed -e "s#^cache_dir = .*#cache_dir = $W/pub3#" "$W/aivenauth.conf" > "$W/pub3.conf"; chmod 0644 "$W/pub3.conf"
"$AB/aivenctl" -c "$W/pub3.conf" sync > "$W/p3.sync" 2>&1 || bad "fresh publisher: $(cat "$W/p3.sync")"
"$AB/aivenctl" -c "$W/pub3.conf" fleet resign > /dev/null 2>&1
fctl doctor > "$W/doc" 2>&1; rc=$?
[ $rc = 1 ] && doc_has "$W/doc" fail fleet "newer than the 1 etcd names" &&
	ok "doctor: a follower ahead of etcd (etcd lost the prefix) fails, saying it refuses every generation as a replay" ||
	bad "doctor ahead: exit $rc: $(grep ' fleet ' "$W/doc")"
ctl sync > "$W/sync.lost" 2>&1; rc=$?
fctl follow --once > "$W/fo" 2>&1; frc=$?
[ $rc = 0 ] && [ $frc = 0 ] && grep -q 'applied generation' "$W/fo" && [ "$(vf "$W/tokF")" = accepted ] &&
	ok "after etcd lost the prefix the leader publishes past the follower's generation and the follower applies it" ||
	bad "lost prefix: sync $rc, follow $frc: $(cat "$W/sync.lost" "$W/fo")"

# ------------------------------------------------------------ hostile current, 2
# current moved back to an older, validly signed generation that is still
# newer than a behind follower's: applied, but the heartbeat (of another
# set) does not make it fresh.
sjson() { fctl --json status 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["generation"], d["last_sync_time"])'; }
ctl sync > /dev/null 2>&1; fctl follow --once > /dev/null 2>&1
read -r g0 t0 <<< "$(sjson)"
ctl token create "$UID1" > "$W/mint" 2>/dev/null; : > "$W/mint"     # generation g0+1
ctl token create "$UID1" > "$W/mint" 2>/dev/null; : > "$W/mint"     # generation g0+2
sleep 1.1; ctl sync > /dev/null 2>&1       # its heartbeat: a later sync time (whole seconds)
curl -s -X POST "$EURL/v3/kv/put" -d "{\"key\":\"$(ekey current)\",\"value\":\"$(printf %s $((g0 + 1)) | base64 -w0)\"}" >/dev/null
fctl follow --once > "$W/fo.mix" 2>&1
read -r g1 t1 <<< "$(sjson)"
[ "$g1" = $((g0 + 1)) ] && [ "$t1" = "$t0" ] && grep -q 'does not vouch for generation' "$W/fo.mix" &&
	ok "current moved back to generation $g1: applied, freshness not taken from the newer heartbeat (sync time unchanged)" ||
	bad "heartbeat mix: generation $g0 -> $g1, sync time $t0 -> $t1: $(cat "$W/fo.mix")"
ctl sync > "$W/sync.mix" 2>&1
fctl follow --once > /dev/null 2>&1
read -r g2 t2 <<< "$(sjson)"
[ "$g2" -gt $((g0 + 2)) ] && [ "$t2" != "$t0" ] &&
	ok "the leader's next sync publishes past it (generation $g2) and the follower is fresh again" ||
	bad "after the mix: generation $g2, sync time $t2: $(cat "$W/sync.mix")"
# A takeover on a current moved back: the new leader never signs a number
# that already has a verified manifest (the old leader's), so the
# follower holding that generation gets a newer one.
p2 sync > /dev/null 2>&1                                           # standby: follows
ctl token create "$UID1" > "$W/mint" 2>/dev/null; : > "$W/mint"     # the leader's next generation
fctl follow --once > /dev/null 2>&1
gA=$(sjson | cut -d' ' -f1)
ctl fleet resign > /dev/null 2>&1
curl -s -X POST "$EURL/v3/kv/put" -d "{\"key\":\"$(ekey current)\",\"value\":\"$(printf %s $((gA - 1)) | base64 -w0)\"}" >/dev/null
p2 -v sync > "$W/p2.reuse" 2>&1; rc=$?
fctl follow --once > "$W/fo.reuse" 2>&1
gB=$(sjson | cut -d' ' -f1)
[ $rc = 0 ] && [ "$gB" -gt "$gA" ] && grep -q 'already has a signed manifest' "$W/p2.reuse" &&
	ok "takeover on a current moved back to $((gA - 1)): the new leader publishes past the old leader's $gA (now $gB), the follower applies it" ||
	bad "takeover reuse: exit $rc, follower $gA -> $gB: $(cat "$W/p2.reuse" "$W/fo.reuse")"
p2 fleet resign > /dev/null 2>&1
ctl sync > /dev/null 2>&1 || bad "the first publisher cannot lead again"

# ------------------------------------------------------------ hostile leader id
# The leader key is not signed: whoever can write etcd chooses it.  An
# ESC sequence there reaches no terminal (it is shown as \x1b).
L=$(curl -s -X POST "$EURL/v3/lease/grant" -d '{"TTL":60}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])')
EVIL=$(printf 'evil\033]0;owned\007\033[2J' | base64 -w0)
ctl fleet resign > /dev/null 2>&1
curl -s -X POST "$EURL/v3/kv/put" -d "{\"key\":\"$(ekey leader)\",\"value\":\"$EVIL\",\"lease\":\"$L\"}" >/dev/null
{ fctl fleet status; fctl status; fctl doctor; ctl sync; ctl token revoke "$UID1" "$PB"; ctl fleet resign; } > "$W/esc" 2>&1
if grep -q 'evil' "$W/esc" && ! grep -q $'\033' "$W/esc" && grep -qF 'evil\x1b]0;owned' "$W/esc"; then
	ok "a leader id with terminal escapes is shown as \\x1b in fleet status, status, doctor, sync, token and resign output"
else
	bad "escapes: $(grep -c $'\033' "$W/esc") raw ESC lines: $(od -c "$W/esc" | grep -m3 033)"
fi
curl -s -X POST "$EURL/v3/lease/revoke" -d "{\"ID\":\"$L\"}" >/dev/null
ctl sync > /dev/null 2>&1 || bad "the publisher cannot lead again"

# ------------------------------------------------------------ etcd down
stop_etcd
fctl status > "$W/st" 2>"$W/st.err"; rc=$?
[ $rc = 0 ] && grep -qE '^fleet_state: +etcd-unavailable' "$W/st" && grep -q 'fleet: etcd: ' "$W/st.err" &&
	ok "status with etcd down: exit 0 (the cache still decides), fleet_state etcd-unavailable, a warning" ||
	bad "status etcd down: exit $rc: $(cat "$W/st" "$W/st.err")"
fctl doctor > "$W/doc" 2>&1; rc=$?
[ $rc = 1 ] && doc_has "$W/doc" fail etcd "etcd at $EURL: " && grep -E '^fail +etcd ' "$W/doc" | grep -q 'keeps its last complete generation' &&
	ok "doctor with etcd down: fail etcd, says the follower keeps its generation" || bad "doctor etcd down: exit $rc: $(grep ' etcd ' "$W/doc")"
PC=$(python3 -c 'import sys; print(open(sys.argv[1]).read().strip()[:12])' "$W/tokC")
ctl token revoke "$UID1" "$PC" > "$W/rv.down" 2>&1; rc=$?
[ $rc = 75 ] && grep -q 'not published to the fleet' "$W/rv.down" &&
	[ "$(ctl verify ops-bot < "$W/tokC" 2>/dev/null | head -n 1 | cut -d: -f1)" = denied ] &&
	ok "token revoke on the publisher with etcd down: revoked here and at the API, exit 75 (not published)" ||
	bad "revoke, etcd down: exit $rc: $(cat "$W/rv.down")"
fctl doctor --offline > "$W/doc" 2>&1
doc_has "$W/doc" ok etcd 'not checked \(--offline\)' && ok "doctor --offline does not reach etcd" || bad "offline: $(grep ' etcd ' "$W/doc")"

# ------------------------------------------------------------ not in a fleet
grep -v -e '^fleet' -e '^etcd_' "$W/aivenauth.conf" > "$W/plain.conf"; chmod 0644 "$W/plain.conf"
"$AB/aivenctl" -c "$W/plain.conf" --json status > "$W/st.json" 2>/dev/null
[ "$(jq1 "$W/st.json" 'd["fleet"]')" = None ] && ok "status --json outside a fleet: fleet null" || bad "plain: $(cat "$W/st.json")"
finish
