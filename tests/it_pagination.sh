#!/bin/bash
# it_pagination.sh - listings are complete, or the sync fails.  The API
# documents no pagination, but a list that silently stopped at a page
# boundary would make a sync drop real tokens and their hashes.  So every
# list call sends limit=999 (as Aiven's Go client does), and a list with
# exactly that many entries, or with any pagination marker (next,
# links.next, a total above the count), fails the call: the sync applies
# nothing and says why.
#
# The simulator cuts lists with --page-size / /_sim/paging (honouring
# limit, the smaller of the two) and marks the cut as configured.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { skip "curl not installed"; finish; exit; }
[ -x "$AB/aivenctl" ] || { bad "aivenctl not built in $AB"; finish; exit; }
start_sim --quiet || { bad "simulator did not start"; finish; exit; }

O=$W/out; mkdir -p "$O"
run() { local n=$1; shift; ctl "$@" > "$O/$n.out" 2> "$O/$n.err" < /dev/null; echo $? > "$O/$n.rc"; }
paging() { sim_ctl POST /_sim/paging "$1" > /dev/null; }
cache_sum() { cat "$W/cache/writer/data.mdb" "$W/cache/snapshot.mdb" "$W/cache/state" | md5sum; }
snap() { cache_sum > "$W/data.before"; }
unchanged() {  # unchanged DESC: data.mdb byte-for-byte as at snap
	cache_sum | cmp -s "$W/data.before" - && ok "$1: the cache is unchanged" ||
	    bad "$1: the cache changed"
}
# refused NAME DESC: the sync failed with exit 76 and a clear message
refused() {
	local rc; rc=$(cat "$O/$1.rc")
	[ "$rc" = 76 ] && ok "$2: sync refused (exit 76)" ||
	    bad "$2: sync exit $rc: $(head -c 300 "$O/$1.err") $(head -c 200 "$O/$1.out")"
	grep -Eq "incomplete|partial listing" "$O/$1.err" && grep -q "unchanged" "$O/$1.err" &&
	    ok "$2: says the listing is incomplete and the cache unchanged" ||
	    bad "$2: message: $(head -c 400 "$O/$1.err")"
}

# ---------------------------------------------------------------- setup
run s0 sync
[ "$(cat "$O/s0.rc")" = 0 ] && ok "first sync" || { bad "first sync: $(cat "$O/s0.err")"; finish; exit; }
for u in alice bob carol dave; do ctl user create "$u" > /dev/null 2>&1; done
UA=$(ctl --json user list 2>/dev/null | jget '[u["user_id"] for u in d if u["name"]=="alice"][0]')
for i in 1 2 3 4; do ctl token create "$UA" --description "t$i" > /dev/null 2>&1 < /dev/null; done
run s1 sync
[ "$(cat "$O/s1.rc")" = 0 ] && ok "sync of 5 users, alice with 4 tokens" || bad "sync: $(cat "$O/s1.err")"
ntok() { ctl --json token list "$UA" 2>/dev/null | jget 'len(d)'; }
[ "$(ntok)" = 4 ] && ok "cache: alice has 4 tokens" || bad "cache: alice has $(ntok) tokens"

# ---------------------------------------------------------------- markers
# A new user and a token made at the API meanwhile: a sync that applied
# the cut list would add or drop something.
ctl user create erin > /dev/null 2>&1
ctl token create "$UA" --description t5 > /dev/null 2>&1 < /dev/null
snap
for m in next links total; do
	paging "{\"page_size\": 3, \"marker\": \"$m\"}"
	run "users_$m" sync
	refused "users_$m" "users list cut at 3 with marker $m"
	unchanged "users list cut ($m)"
done
grep -q '"next" in the body' "$O/users_next.err" && grep -q '"links.next" in the body' "$O/users_links.err" &&
    grep -q '"total" in the body' "$O/users_total.err" &&
    ok "the message names the marker it saw" || bad "marker not named: $(head -c 300 "$O/users_next.err")"

# The users list whole (6 users, page size 6), alice's token list (7) cut.
ctl token create "$UA" --description t6 > /dev/null 2>&1 < /dev/null
ctl token create "$UA" --description t7 > /dev/null 2>&1 < /dev/null
paging '{"page_size": 6, "marker": "total"}'
snap
run tokens_total sync
refused tokens_total "alice's 7 tokens cut at 6 (the users list of 6 is whole)"
grep -q '"tokens" list is incomplete' "$O/tokens_total.err" && ok "the message names the tokens list" ||
    bad "tokens list not named: $(head -c 300 "$O/tokens_total.err")"
unchanged "token list cut"
# The same rule for the API listings outside a sync.
run ulist user list
[ "$(cat "$O/ulist.rc")" = 0 ] && ok "user list (API): 6 users, page size 6 -- whole, works" ||
    bad "user list: $(cat "$O/ulist.err")"
paging '{"page_size": 2, "marker": "links"}'
run ulist2 user list
[ "$(cat "$O/ulist2.rc")" = 76 ] && grep -q incomplete "$O/ulist2.err" &&
    ok "user list (API): a cut list fails (76)" || bad "user list cut: exit $(cat "$O/ulist2.rc") $(cat "$O/ulist2.err")"

# ---------------------------------------------------------------- limit=999
# A silent cut (no marker) at the client's own limit: 1,000 users and a
# simulator honouring limit cut the users list to 999.  Refused because it
# is exactly as long as the limit -- which also proves limit=999 was sent
# (without it this simulator would have returned all 1,000+).
paging '{"page_size": 0}'
sim_ctl POST /_sim/seed '{"users": 994, "tokens_per_user": 0}' > /dev/null
n=$(sim_ctl GET /_sim/stats | jget 'd["users"]')
paging '{"page_size": 5000, "marker": "none"}'
snap
run lim sync
refused lim "$n users, limit honoured: 999 came back"
grep -q "as many as limit=999" "$O/lim.err" && ok "the message names limit=999" || bad "limit message: $(head -c 300 "$O/lim.err")"
unchanged "999 of $n"

# ---------------------------------------------------------------- whole again
paging '{"page_size": 0}'
run s9 sync
[ "$(cat "$O/s9.rc")" = 0 ] && ok "no paging ($n users, limit ignored as documented): sync works" ||
    bad "sync without paging: $(head -c 300 "$O/s9.err")"
[ "$(ntok)" = 7 ] && ok "cache: alice has all 7 tokens" || bad "cache: alice has $(ntok) tokens"
finish
