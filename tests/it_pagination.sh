#!/bin/bash
# it_pagination.sh - listings are complete, or the sync fails.  The API
# documents no pagination, but a list that silently stopped at a page
# boundary would make a sync drop real tokens and their hashes.  So every
# list call sends limit=999 (as Aiven's Go client does), and a list with
# exactly that many entries, or with a pagination marker, fails the call:
# the sync applies nothing and says why.  Aiven's paginated endpoints
# answer with next, prev, first, last and total_count: each, alone, is
# tested here on a cut list; a list that fits one page (next and prev
# null, first == last, total_count == count) is whole and syncs.
#
# The simulator paginates lists in Aiven's style with --page-size /
# /_sim/paging (limit 30..999, the smaller of it and the page size; cursor
# or after) and puts the configured keys in the response.
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
for m in next total_count first,last aiven; do
	paging "{\"page_size\": 3, \"marker\": \"$m\"}"
	run "users_$m" sync
	refused "users_$m" "users list cut at 3 with marker $m"
	unchanged "users list cut ($m)"
done
grep -q '"next" in the body' "$O/users_next.err" && grep -q '"total_count" in the body' "$O/users_total_count.err" &&
    grep -q '"last" in the body' "$O/users_first,last.err" && grep -q '"next" in the body' "$O/users_aiven.err" &&
    ok "the message names the marker it saw (next, total_count, last unlike first)" ||
    bad "marker not named: $(head -c 300 "$O/users_next.err") $(head -c 300 "$O/users_first,last.err")"
# prev: a page that is not the first.  A client that asks without a
# cursor gets the first page, so a canned answer stands for a server
# that starts elsewhere.
paging '{"page_size": 0}'
sim_ctl POST /_sim/faults "{\"path\": \"/application-users\$\", \"kind\": \"json\", \"body\": {\"application_users\": [{\"user_id\": \"$UA\", \"name\": \"alice\"}], \"prev\": \"/v1/organization/$ORG_ID/application-users?limit=999\", \"next\": null}}" > /dev/null
run users_prev sync
sim_ctl DELETE /_sim/faults > /dev/null
refused users_prev "users list, a later page (prev set, next null)"
grep -q '"prev" in the body' "$O/users_prev.err" && ok "the message names prev" || bad "prev not named: $(head -c 300 "$O/users_prev.err")"
unchanged "users list, a later page"
# One page that holds everything, in Aiven's style: whole.
paging '{"page_size": 50, "marker": "aiven"}'
api GET "/v1/organization/$ORG_ID/application-users?limit=999" > "$W/page.json"
jget 'd["next"] is None and d["prev"] is None and d["first"] == d["last"] and d["total_count"] == len(d["application_users"])' < "$W/page.json" | grep -qx True &&
    ok "simulator: one page holds all (next, prev null; first == last; total_count)" || bad "one page: $(head -c 300 "$W/page.json")"
run whole1 sync
[ "$(cat "$O/whole1.rc")" = 0 ] && ok "a paginated list that fits one page syncs" ||
    bad "one page, aiven keys: sync exit $(cat "$O/whole1.rc"): $(head -c 300 "$O/whole1.err")"
ctl sync > /dev/null 2>&1; snap   # the baseline for what follows

# The users list whole (6 users, page size 6), alice's token list (7) cut.
ctl token create "$UA" --description t6 > /dev/null 2>&1 < /dev/null
ctl token create "$UA" --description t7 > /dev/null 2>&1 < /dev/null
paging '{"page_size": 6, "marker": "total_count"}'
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
paging '{"page_size": 2, "marker": "first,last"}'
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
