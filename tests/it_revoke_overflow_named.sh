#!/bin/bash
# it_revoke_overflow_named.sh - review 5, F2: a revocation the overflow
# mark names is never dropped.  `token revoke --clear-overflow` clears only
# "lost" (what nothing could name) and is refused, naming them, while a
# named one cannot be journaled yet; every write journals the named ones
# as soon as a slot is free, so they are stored and DELETEd like any
# other; status and doctor print their user ids and prefixes.
# The full journal is made as it_revoke_overflow.sh makes it (the library
# call token revoke makes first), with no full disk needed: 1024 pending
# revocations of unknown prefixes, then R (named), then 16 more (15 named
# + lost).
. "$(dirname "$0")/lib.sh"
start_sim --quiet || { bad "sim"; finish; exit; }
C=$W/aivenauth.conf
SECRETS=$W/secrets; mkdir -m 0700 "$SECRETS"
dec() { "$AB/aivenctl" -c "$C" verify co-bot < "$1" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//'; }
in_journal() { python3 -c 'import sys; print(sys.argv[2].encode() in open(sys.argv[1], "rb").read()[:1024 * 512])' "$W/cache/writer/revocations" "$1"; }
listed() { sim_ctl GET /_sim/state | python3 -c 'import json,sys; p=sys.argv[1]; print(any(p in json.dumps(u) for u in json.load(sys.stdin)["users"]))' "$1"; }
record() {   # record USER PREFIX...: prints how many found the journal full
	python3 - "$AB/libaivenauth.so.1" "$C" "$@" <<'PY'
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
ctx = ctypes.c_void_p()
assert lib.aivenauth_ctx_new(ctypes.byref(ctx)) == 0
assert lib.aivenauth_config_load(ctx, sys.argv[2].encode(), True) == 0
full = 0
for p in sys.argv[4:]:
    if lib.aivenauth_revocation_record(ctx, sys.argv[3].encode(), p.encode()) != 0:
        full += 1
print(full)
PY
}
ctl --json user create co-bot > "$W/u.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
U=$(jget 'd["user_id"]' < "$W/u.json")
ctl token create "$U" 2>/dev/null | head -n 1 > "$SECRETS/R"
PR=$(head -c 12 "$SECRETS/R")
ctl sync > /dev/null 2>&1 || bad "sync"
[ "$(dec "$SECRETS/R")" = accepted ] && ok "R accepted" || bad "R: $(dec "$SECRETS/R")"
n=$(record "$U" $(seq -f 'pend%08g' 0 1023))
[ "$n" = 0 ] && ok "1024 pending revocations journaled" || bad "set-up: $n found it full"
n=$(record "$U" "$PR" $(seq -f 'over%08g' 0 15))
[ "$n" = 17 ] && ok "R and 16 more found the journal full (R named, then lost)" || bad "set-up: $n"
r=$(dec "$SECRETS/R")
[ "$r" = cache-unavailable ] && ok "readers withdrawn ($r)" || bad "R is $r"
ctl status > "$W/st" 2>&1; ctl doctor --offline > "$W/doc" 2>&1
grep -q "$PR" "$W/st" && ok "status names R's prefix" || bad "status does not name the overflowed token $PR: $(cat "$W/st")"
grep "$PR" "$W/doc" | grep -q "$U" && ok "doctor names R's prefix and user" || bad "doctor does not name the overflowed token $PR"
ctl token revoke --clear-overflow > "$W/clr" 2>&1 && bad "--clear-overflow cleared with named revocations not journaled" ||
	ok "--clear-overflow refused while the journal is full"
grep -q "$PR" "$W/clr" && ok "the refusal names R" || bad "the refusal does not name $PR: $(cat "$W/clr")"
[ "$(dec "$SECRETS/R")" = cache-unavailable ] && ok "readers still withdrawn" || bad "R is $(dec "$SECRETS/R") after a refused clear"
ctl sync > /dev/null 2>&1
[ "$(in_journal "$PR")" = True ] && ok "the sync that freed slots journaled R from the overflow list" || bad "R not journaled after the sync"
r=$(dec "$SECRETS/R")
[ "$r" != accepted ] && ok "R refused after the sync ($r)" || bad "R ACCEPTED after the sync"
ctl token revoke --clear-overflow > "$W/clr" 2>&1 && ok "--clear-overflow clears \"lost\" once the named ones are journaled" ||
	bad "--clear-overflow: $(cat "$W/clr")"
ctl sync > /dev/null 2>&1
r=$(dec "$SECRETS/R")
[ "$r" != accepted ] && ok "R still refused after the clear and a sync ($r)" ||
	bad "R ACCEPTED after --clear-overflow + sync: a revocation the header named was discarded"
[ "$(listed "$PR")" = False ] && ok "R deleted at the API" || bad "R still listed at the API: no DELETE was ever sent"
ctl doctor --offline > "$W/doc" 2>&1; grep -q "overflow mark set" "$W/doc" && bad "doctor still reports the mark" || ok "the mark is gone"
finish
