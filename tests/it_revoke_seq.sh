#!/bin/bash
# it_revoke_seq.sh - review 5, F4: the journal's sequence counter must not
# go backwards when a header write fails.  record_entry() says "the entry
# carries it too, so a header that cannot be written loses nothing" -- but
# a write's fold then frees that entry, and the largest number given out
# is nowhere any more: the next revocation gets the same number again.
# A sync that noted the counter before its fetch (fetch_seq) then takes
# the new revocation for one journaled before its fetch and frees it as
# "no longer listed" (its listing predates the token): no DELETE is ever
# sent, and the next sync stores the token ACTIVE.
# Harness as it_revoke_race.sh (a sync held in a DELETE between its fetch
# and its apply); the failing header write is injected (hdr_eio.c: EIO on
# the header area only) into one library call.
# Mended in revj_fold_end (revj_hold_seq): no slot is freed before the
# header carries its number durably; a write whose header write fails frees
# nothing (checked here with the shim on that write too).
. "$(dirname "$0")/lib.sh"
cc -shared -fPIC -O1 -o "$W/hdr_eio.so" "$(dirname "$0")/preload/hdr_eio.c" -ldl ||
	{ bad "cannot build the shim"; finish; exit; }
start_sim --quiet || { bad "sim"; finish; exit; }
sed -i 's/^timeout = .*/timeout = 300/' "$W/aivenauth.conf"
C=$W/aivenauth.conf
cp "$C" "$W/learn.conf"; echo "online = learn" >> "$W/learn.conf"
SECRETS=$W/secrets; mkdir -m 0700 "$SECRETS"
dec() { "$AB/aivenctl" -c "$C" verify sq-bot < "$1" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//'; }
listed() { sim_ctl GET /_sim/state | python3 -c 'import json,sys; p=sys.argv[1]; print(any(p in json.dumps(u) for u in json.load(sys.stdin)["users"]))' "$1"; }
fired() { sim_ctl GET /_sim/faults | python3 -c 'import json,sys; sys.exit(0 if any(f["fired"] for f in json.load(sys.stdin)["faults"]) else 1)'; }
in_journal() { python3 -c 'import sys; print(sys.argv[2].encode() in open(sys.argv[1], "rb").read())' "$W/cache/writer/revocations" "$1"; }
ctl --json user create sq-bot > "$W/u.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
U=$(jget 'd["user_id"]' < "$W/u.json")
ctl token create "$U" 2>/dev/null | head -n 1 > "$SECRETS/T"
ctl token create "$U" 2>/dev/null | head -n 1 > "$SECRETS/X"
PT=$(head -c 12 "$SECRETS/T"); PX=$(head -c 12 "$SECRETS/X")
ctl sync > /dev/null 2>&1 || bad "sync"
ctl token revoke "$U" "$PX" > /dev/null 2>&1 || bad "revoke X"
sim_ctl POST /_sim/faults "{\"path\": \"access-tokens/$(enc "$PT")\$\", \"method\": \"DELETE\", \"kind\": \"status\", \"status\": 503}" > /dev/null
ctl token revoke "$U" "$PT" > /dev/null 2>&1
sim_ctl DELETE /_sim/faults > /dev/null
# X journaled again (already revoked here: stored, so no write is
# pending) with its header write failing: the entry holds the largest
# sequence number, the header an older one.
LD_PRELOAD="$W/hdr_eio.so" python3 - "$AB/libaivenauth.so.1" "$C" "$U" "$PX" <<'PY'
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
ctx = ctypes.c_void_p()
assert lib.aivenauth_ctx_new(ctypes.byref(ctx)) == 0
assert lib.aivenauth_config_load(ctx, sys.argv[2].encode(), True) == 0
assert lib.aivenauth_cache_open(ctx, 1) == 0       # AIVENAUTH_OPEN_RDWR
print("record X:", lib.aivenauth_revocation_record(ctx, sys.argv[3].encode(), sys.argv[4].encode()))
lib.aivenauth_ctx_free(ctx)
PY
[ "$(in_journal "$PX")" = True ] && ok "X journaled (header write failed)" || bad "set-up: X not journaled"
sim_ctl POST /_sim/faults "{\"path\": \"access-tokens/$(enc "$PT")\$\", \"method\": \"DELETE\", \"kind\": \"latency\", \"ms\": 600000, \"count\": 1}" > /dev/null
ctl sync > "$W/sync1" 2>&1 & SP=$!
held=
for i in $(seq 1200); do fired && { held=1; break; }; kill -0 $SP 2>/dev/null || break; sleep 0.1; done
[ -n "$held" ] && ok "the sync is held between its fetch and its apply" || bad "the sync was never held ($(cat "$W/sync1"))"
# A write whose header write fails too: it must not free X's slot (the
# only place the largest number is kept).
LD_PRELOAD="$W/hdr_eio.so" "$AB/aivenctl" -c "$C" token create "$U" > /dev/null 2>&1
[ "$(in_journal "$PX")" = True ] && ok "a write that cannot update the header frees no slot" ||
	bad "a write freed X's slot though the header kept an older number"
# Any write now frees X's slot (X is stored), the header first.
ctl token create "$U" > /dev/null 2>&1 || bad "token create"
[ "$(in_journal "$PX")" = False ] && ok "a write freed X's slot" || bad "X still journaled"
api POST "/v1/organization/$ORG_ID/application-users/$U/access-tokens" '{"description": "console"}' > "$W/p.json"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["full_token"])' "$W/p.json" > "$SECRETS/P"
PP=$(head -c 12 "$SECRETS/P")
sim_ctl POST /_sim/faults "{\"path\": \"access-tokens/$(enc "$PP")\$\", \"method\": \"DELETE\", \"kind\": \"status\", \"status\": 503}" > /dev/null
ctl token revoke "$U" "$PP" > "$W/rv" 2>&1 && bad "token revoke P succeeded with the DELETE failing" ||
	ok "token revoke P: the DELETE failed, journaled"
sim_ctl POST /_sim/latency '{"ms": 0}' > /dev/null
wait $SP; echo "held sync exit $?"
[ "$(in_journal "$PP")" = True ] && ok "P still journaled after the sync that predates it" ||
	bad "the held sync freed P's journal entry (P got a sequence number the sync had already seen)"
sim_ctl DELETE /_sim/faults > /dev/null
ctl sync > "$W/sync2" 2>&1 || bad "next sync: $(tail -2 "$W/sync2")"
[ "$(listed "$PP")" = False ] && ok "P deleted at the API by the next sync" || bad "P still listed at the API: no DELETE sent"
r=$(dec "$SECRETS/P")
[ "$r" != accepted ] && ok "P refused by the cache ($r)" || bad "P (revoked by token revoke) ACCEPTED after the next sync"
r=$("$AB/aivenctl" -c "$W/learn.conf" verify sq-bot < "$SECRETS/P" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//')
[ "$r" != accepted ] && ok "P refused by an online = learn reader ($r)" || bad "P ACCEPTED by an online = learn reader (the API vouches for it)"
finish
