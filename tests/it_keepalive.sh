#!/bin/bash
# it_keepalive.sh - the sliding-expiry keep-alive (docs/DESIGN.md): a token
# with extend_when_used that is used only against the cache would expire at
# the API while in daily use.  With online = learn, a verify past half of
# its window makes one call to the API with the token (which slides it
# there); the verifying process writes nothing (readers never write: the
# extension lives in its memory), and the next sync brings the API's new
# expiry to every reader.  Without online it makes no call.
source "$(dirname "$0")/lib.sh"
start_sim || { bad "simulator"; finish; exit 1; }

ctl sync >/dev/null || bad "initial sync"
ctl user create slider >/dev/null || bad "user create"
uid=$(ctl --json user list | jget "[u['user_id'] for u in d if u['name']=='slider'][0]")
( umask 077; ctl token create "$uid" --description sliding --max-age-seconds 3600 \
    --extend-when-used > "$W/tok" 2>/dev/null ) || bad "token create"
p=$(head -c 12 "$W/tok")
pe=$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$p")

# Near the end of its window at the API (100 s left of 3600), then synced.
sim_ctl POST "/_sim/tokens/$pe/expire" '{"in_seconds": 100}' >/dev/null
ctl sync >/dev/null || bad "sync"
exp0=$(ctl --json inspect "$p" | jget "d.get('expiry_time')")
now=$(date +%s)

# online = off: accepted from the cache, no API call, nothing extended.
sim_ctl POST /_sim/stats/reset >/dev/null
ctl --json verify slider < "$W/tok" > "$W/v0.json"; rc=$?
check "online=off: accepted (exit $rc)" test $rc = 0
n=$(sim_ctl GET /_sim/stats | jget "d['requests'].get('GET /v1/me', 0)")
check "online=off: no API call ($n)" test "$n" = 0

# online = learn: accepted, one call to /v1/me slides it at the API and
# the cache records the extension.
cp "$W/aivenauth.conf" "$W/learn.conf"; echo "online = learn" >> "$W/learn.conf"
"$AB/aivenctl" -c "$W/learn.conf" --json verify slider < "$W/tok" > "$W/v1.out" 2>&1; rc=$?
check "online=learn: accepted (exit $rc)" test $rc = 0
n=$(sim_ctl GET /_sim/stats | jget "d['requests'].get('GET /v1/me', 0)")
check "online=learn: exactly one API call with the token ($n)" test "$n" = 1
api_exp=$(sim_ctl GET /_sim/state | jget "[t for u in d['users'] for t in u.get('tokens', []) if t['token_prefix']=='$p'][0]['expiry_time']")
api_epoch=$(python3 -c "import sys,datetime; print(int(datetime.datetime.fromisoformat(sys.argv[1].replace('Z','+00:00')).timestamp()))" "$api_exp")
check "the API slid the expiry to about now + max age ($api_exp)" test "$api_epoch" -ge $((now + 3500))
loc=$(ctl --json inspect "$p" | jget "d.get('local_expiry') or ''")
check "the verifying process wrote nothing to the cache (local_expiry '$loc')" test -z "$loc"
check "the verify says it extended the token" grep -qE "\"extended\": *true" "$W/v1.out"
# The next sync brings the API's slid expiry to every reader.
ctl sync >/dev/null || bad "sync after the keep-alive"
eff=$(ctl --json inspect "$p" | jget "d.get('effective_expiry_time') or ''")
eff_epoch=$(python3 -c "import sys,datetime; print(int(datetime.datetime.fromisoformat(sys.argv[1].replace('Z','+00:00')).timestamp()))" "$eff")
check "after the sync the effective expiry is the API's slid one ($eff, floor was $exp0)" test "$eff_epoch" -ge $((now + 3500))
# A second verify right after: more than half the window left, no call.
"$AB/aivenctl" -c "$W/learn.conf" verify slider < "$W/tok" > /dev/null 2>&1
n=$(sim_ctl GET /_sim/stats | jget "d['requests'].get('GET /v1/me', 0)")
check "no further call while more than half the window remains ($n)" test "$n" = 1
finish
