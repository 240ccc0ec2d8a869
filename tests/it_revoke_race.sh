#!/bin/bash
# it_revoke_race.sh - SECURITY.md O1, the journal against a concurrent sync
# (review r3): `token revoke` of a token the cache does not know yet (made
# in the console after the last sync's fetch) while a sync is between its
# fetch and its apply, the API's DELETE failing.  The sync's apply must not
# free the journal entry as "no longer listed" (its listing predates the
# token): a later sync sends the DELETE.
# Deterministic: the sync is held inside the DELETE it sends for an older
# tombstone (a simulator latency fault, released by POST /_sim/latency once
# the revoke is done); no sleep decides anything.
. "$(dirname "$0")/lib.sh"
start_sim --quiet || { bad "sim"; finish; exit; }
sed -i 's/^timeout = .*/timeout = 300/' "$W/aivenauth.conf"
C=$W/aivenauth.conf
cp "$C" "$W/learn.conf"; echo "online = learn" >> "$W/learn.conf"
SECRETS=$W/secrets; mkdir -m 0700 "$SECRETS"
dec() { "$AB/aivenctl" -c "$1" verify race-bot < "$2" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//'; }
listed() { sim_ctl GET /_sim/state | python3 -c 'import json,sys; p=sys.argv[1]; print(any(p in json.dumps(u) for u in json.load(sys.stdin)["users"]))' "$1"; }
fired() { sim_ctl GET /_sim/faults | python3 -c 'import json,sys; sys.exit(0 if any(f["fired"] for f in json.load(sys.stdin)["faults"]) else 1)'; }
in_journal() { python3 -c 'import sys; print(sys.argv[2].encode() in open(sys.argv[1], "rb").read())' "$W/cache/writer/revocations" "$1"; }
ctl --json user create race-bot > "$W/u.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
U=$(jget 'd["user_id"]' < "$W/u.json")
# T: an older revocation whose DELETE failed: the sync sends it, and is
# held there (after its fetch, before its apply).
ctl token create "$U" 2>/dev/null | head -n 1 > "$SECRETS/T"
PT=$(head -c 12 "$SECRETS/T")
ctl sync > /dev/null 2>&1 || bad "sync"
sim_ctl POST /_sim/faults "{\"path\": \"access-tokens/$(enc "$PT")\$\", \"method\": \"DELETE\", \"kind\": \"status\", \"status\": 503}" > /dev/null
ctl token revoke "$U" "$PT" > /dev/null 2>&1
[ "$(listed "$PT")" = True ] && ok "T revoked here, still listed at the API" || bad "T set-up"
sim_ctl DELETE /_sim/faults > /dev/null
sim_ctl POST /_sim/faults "{\"path\": \"access-tokens/$(enc "$PT")\$\", \"method\": \"DELETE\", \"kind\": \"latency\", \"ms\": 600000, \"count\": 1}" > /dev/null
ctl sync > "$W/sync1" 2>&1 & SP=$!
held=
for i in $(seq 1200); do fired && { held=1; break; }; kill -0 $SP 2>/dev/null || break; sleep 0.1; done
[ -n "$held" ] && ok "the sync is held between its fetch and its apply" || bad "the sync was never held ($(cat "$W/sync1"))"
# P: made at the API now (the console), unknown to the cache; revoked at
# once, its DELETE failing.
api POST "/v1/organization/$ORG_ID/application-users/$U/access-tokens" '{"description": "console"}' > "$W/p.json"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["full_token"])' "$W/p.json" > "$SECRETS/P"
PP=$(head -c 12 "$SECRETS/P")
sim_ctl POST /_sim/faults "{\"path\": \"access-tokens/$(enc "$PP")\$\", \"method\": \"DELETE\", \"kind\": \"status\", \"status\": 503}" > /dev/null
ctl token revoke "$U" "$PP" > "$W/rv" 2>&1 && bad "token revoke P succeeded with the DELETE failing" ||
	ok "token revoke P: the DELETE failed, journaled ($(grep -c retries "$W/rv") retry message)"
sim_ctl POST /_sim/latency '{"ms": 0}' > /dev/null      # release the held sync
wait $SP; rc=$?
[ $rc = 0 ] && ok "the held sync finished (exit 0)" || bad "the held sync exited $rc: $(tail -2 "$W/sync1")"
[ "$(in_journal "$PP")" = True ] && ok "P still journaled after the sync that predates it" ||
	bad "the held sync freed P's journal entry (its listing predates P)"
sim_ctl DELETE /_sim/faults > /dev/null     # the API is back
ctl sync > "$W/sync2" 2>&1 || bad "sync with the API back: $(tail -2 "$W/sync2")"
[ "$(listed "$PP")" = False ] && ok "P deleted at the API by the next sync" ||
	bad "P still listed at the API after a sync with the API back"
ctl sync > /dev/null 2>&1
[ "$(in_journal "$PP")" = False ] && ok "P's journal entry freed once the API stopped listing it" ||
	bad "P still journaled after the API confirmed it"
r=$(dec "$W/learn.conf" "$SECRETS/P")
[ "$r" != accepted ] && ok "P refused by an online = learn reader ($r)" || bad "P accepted by an online = learn reader"
finish
