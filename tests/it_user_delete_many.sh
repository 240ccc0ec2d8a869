#!/bin/bash
# it_user_delete_many.sh - `aivenctl user delete` of a user with more live
# tokens than the revocation journal has slots (1024), on a healthy disk
# (review 4, F3): each token is journaled and then stored, one at a time,
# so every commit frees its slot again and the journal never fills; every
# token is revoked here, and nothing claims the disk is full.  Tokens that
# were already revoked take no slot.
. "$(dirname "$0")/lib.sh"
start_sim --quiet --seed-users 1 --seed-tokens-per-user 1030 || { bad "sim"; finish; exit; }
ctl sync > "$W/sync" 2>&1 || { bad "sync: $(cat "$W/sync")"; finish; exit; }
U=$(ctl --json user list | python3 -c 'import json,sys; print([u["user_id"] for u in json.load(sys.stdin) if u["name"] == "seed-user-000001"][0])')
[ -n "$U" ] || { bad "no seeded user"; finish; exit; }
n=$(ctl --json token list "$U" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 1030 ] && ok "a user with $n tokens in the cache" || bad "tokens: $n"
# One revoked beforehand: not live, it takes no slot and is not counted.
P1=$(ctl --json token list "$U" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["token_prefix"])')
ctl token revoke "$U" "$P1" > /dev/null 2>&1 || bad "revoke $P1"
ctl --json user delete "$U" > "$W/del" 2>"$W/del.err"; rc=$?
if [ $rc = 0 ] && ! grep -q "cannot record\|journal is full\|no space" "$W/del.err"; then
	ok "user delete with 1,029 live tokens (journal: 1024 slots): exit 0, no revocation left unrecorded, no false 'disk full'"
else
	bad "user delete: exit $rc: $(grep -v '^$' "$W/del.err" | head -5)"
fi
[ "$(jget 'd["tokens_revoked_locally"]' < "$W/del")" = 1029 ] && ok "1,029 tokens revoked here (the one revoked before not counted again)" ||
	bad "count: $(cat "$W/del")"
ctl status > "$W/st" 2>&1
grep -qE '^journaled_revocations: +0$' "$W/st" && ok "the journal is empty afterwards" || bad "status: $(cat "$W/st")"
finish
