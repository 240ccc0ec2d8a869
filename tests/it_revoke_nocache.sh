#!/bin/bash
# it_revoke_nocache.sh - SECURITY.md O1 when the writer's environment
# cannot be opened (review r1): `token revoke` journals the revocation
# before it opens any LMDB environment and withdraws the readers until a
# publication carries it, so a damaged writer/data.mdb leaves them failing
# closed (cache-unavailable), not accepting the token on the intact
# snapshot; and `aivenctl sync`, which cannot open the cache either, still
# sends the journaled DELETE (the API client does not need the cache).
. "$(dirname "$0")/lib.sh"
start_sim --quiet || { bad "sim"; finish; exit; }
SECRETS=$W/secrets; mkdir -m 0700 "$SECRETS"
dec() { "$AB/aivenctl" -c "$W/aivenauth.conf" verify nc-bot < "$1" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//'; }
listed() { sim_ctl GET /_sim/state | python3 -c 'import json,sys; p=sys.argv[1]; print(any(p in json.dumps(u) for u in json.load(sys.stdin)["users"]))' "$1"; }
ctl --json user create nc-bot > "$W/u.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
U=$(jget 'd["user_id"]' < "$W/u.json")
ctl token create "$U" 2>/dev/null | head -n 1 > "$SECRETS/R"
ctl token create "$U" 2>/dev/null | head -n 1 > "$SECRETS/K"
PR=$(head -c 12 "$SECRETS/R")
ctl sync > /dev/null 2>&1 || bad "sync"
[ "$(dec "$SECRETS/R")" = accepted ] && ok "R accepted" || bad "R: $(dec "$SECRETS/R")"
# An ordinary revoke withdraws nothing for long: the open publishes.
ctl token revoke "$U" "$(head -c 12 "$SECRETS/K")" > /dev/null 2>&1 || bad "an ordinary revoke failed"
[ "$(dec "$SECRETS/R")" = accepted ] && ok "an ordinary revoke leaves the readers deciding" ||
	bad "after an ordinary revoke R is $(dec "$SECRETS/R")"
# Damage the writer's environment (its meta pages), not the snapshot.
dd if=/dev/urandom of="$W/cache/writer/data.mdb" bs=4096 count=2 conv=notrunc 2>/dev/null
sim_ctl POST /_sim/faults '{"path": "access-tokens", "method": "DELETE", "kind": "status", "status": 503}' > /dev/null
ctl token revoke "$U" "$PR" > "$W/rv" 2>&1; rc=$?
[ $rc != 0 ] && ok "token revoke fails (exit $rc)" || bad "token revoke exit 0 with a damaged cache"
grep -q "recorded in the revocation journal: readers refuse to decide" "$W/rv" &&
	ok "it says the readers refuse to decide" || bad "message: $(grep -v retry "$W/rv")"
r=$(dec "$SECRETS/R")
[ "$r" = cache-unavailable ] && ok "readers refuse to decide ($r)" ||
	bad "R is $r after token revoke journaled it with the cache unopenable"
ctl sync > "$W/sync1" 2>&1 && bad "sync succeeded on a damaged cache"
[ "$(dec "$SECRETS/R")" = cache-unavailable ] && ok "still refused after a failed sync" ||
	bad "R is $(dec "$SECRETS/R") after a failed sync"
sim_ctl DELETE /_sim/faults > /dev/null
[ "$(listed "$PR")" = True ] || bad "set-up: R not listed"
ctl sync > "$W/sync2" 2>&1
[ "$(listed "$PR")" = False ] && ok "a sync that cannot open the cache still sends the journaled DELETE" ||
	bad "R still listed at the API after a sync (it did not send the DELETE): $(tail -2 "$W/sync2")"
[ "$(dec "$SECRETS/R")" = cache-unavailable ] && ok "readers still refuse to decide (the cache is still damaged)" ||
	bad "R is $(dec "$SECRETS/R")"
finish
