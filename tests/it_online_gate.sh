#!/bin/bash
# it_online_gate.sh - online learning is bounded (docs/DESIGN.md "Online
# learning"): in one process, a secret the API refused is refused again
# without a call (negative cache), distinct forged secrets cost at most the
# burst of the rate limit, a vouched-for token is remembered in memory (one
# call however often it logs in), and nothing is ever written to the cache.
# One process = the library loaded by python3 ctypes, as a long-lived host
# (nginx, dovecot) would hold it.
source "$(dirname "$0")/lib.sh"
start_sim || { bad "simulator"; finish; exit 1; }

ctl sync >/dev/null || bad "initial sync"
ctl user create gated >/dev/null || bad "user create"
uid=$(ctl --json user list | jget "[u['user_id'] for u in d if u['name']=='gated'][0]")
# Made straight at the API: synced here, never enrolled.
( umask 077; curl -sS -H "Authorization: aivenv1 $ADMIN_TOKEN" -H 'Content-Type: application/json' \
    --data '{"description":"made elsewhere"}' \
    "$SIM_URL/v1/organization/$ORG_ID/application-users/$uid/access-tokens" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["full_token"])' > "$W/tok" )
ctl sync >/dev/null || bad "sync"
cp "$W/aivenauth.conf" "$W/learn.conf"; echo "online = learn" >> "$W/learn.conf"
md5() { cat "$W/cache/writer/data.mdb" "$W/cache/snapshot.mdb" "$W/cache/state" | md5sum; }
before=$(md5)

cat > "$W/many.py" <<'PY'
# many.py LIB CONF USER MODE N < token: N verifies in one process; prints
# the reasons.  MODE same: the token as given; forged: prefix + one fixed
# forged secret; distinct: prefix + a new forged secret each time.
import ctypes, random, string, sys, time
lib = ctypes.CDLL(sys.argv[1])
class Req(ctypes.Structure):
    _fields_ = [("user", ctypes.c_char_p), ("user_match", ctypes.c_int),
                ("rhost", ctypes.c_char_p), ("service", ctypes.c_char_p),
                ("scope", ctypes.c_char_p), ("now", ctypes.c_int64)]
ctx = ctypes.c_void_p()
assert lib.aivenauth_ctx_new(ctypes.byref(ctx)) == 0
assert lib.aivenauth_config_load(ctx, sys.argv[2].encode()) == 0
tok = sys.stdin.read().strip()
mode, n = sys.argv[4], int(sys.argv[5])
rnd = random.Random(7)
def forged():
    return tok[:12] + "".join(rnd.choice(string.ascii_letters) for _ in range(len(tok) - 12))
fixed = forged()
# One fixed "now" for every call: the rate limit's refill is then no
# matter of how fast this machine is (deterministic under load).
req = Req(sys.argv[3].encode(), 0, None, b"gate", None, int(time.time()))
out = []
for i in range(n):
    t = tok if mode == "same" else fixed if mode == "forged" else forged()
    d = ctypes.create_string_buffer(4096)
    lib.aivenauth_verify(ctx, t.encode(), len(t), ctypes.byref(req), d)
    out.append(str(int.from_bytes(d.raw[:4], "little")))
print(" ".join(out))
PY
lib="$AB/libaivenauth.so.1"
me() { sim_ctl GET /_sim/stats | jget "d['requests'].get('GET /v1/me', 0)"; }

sim_ctl POST /_sim/stats/reset >/dev/null
r=$(python3 "$W/many.py" "$lib" "$W/learn.conf" gated forged 6 < "$W/tok")
n=$(me)
check "one forged secret six times: refused six times ($r)" test "$r" = "12 12 12 12 12 12"
check "... with one API call, not six ($n)" test "$n" = 1

sim_ctl POST /_sim/stats/reset >/dev/null
r=$(python3 "$W/many.py" "$lib" "$W/learn.conf" gated distinct 8 < "$W/tok")
n=$(me)
check "eight distinct forged secrets: none accepted, the last ones not even asked ($r)" \
    test "$r" = "12 12 12 12 12 13 13 13"
check "... API calls bounded by the burst of 5 ($n)" test "$n" = 5

sim_ctl POST /_sim/stats/reset >/dev/null
r=$(python3 "$W/many.py" "$lib" "$W/learn.conf" gated same 5 < "$W/tok")
n=$(me)
check "the genuine token five times in one process: accepted each time ($r)" test "$r" = "0 0 0 0 0"
check "... one API call: the vouch is remembered in memory ($n)" test "$n" = 1
check "nothing was written to the cache by any of it" test "$(md5)" = "$before"
"$AB/aivenctl" -c "$W/aivenauth.conf" verify gated < "$W/tok" > "$W/v.out" 2>&1
check "without online learning the token is still not enrolled" grep -q 'not-enrolled' "$W/v.out"
finish
