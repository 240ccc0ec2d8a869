#!/bin/bash
# it_withdraw_torn.sh - a state record that is there but cannot be read
# fails closed (review 5, F1).  `token revoke` journals the revocation and
# withdraws the readers (a seqlock write of cache_dir/state: seq odd,
# magic, body, seq even) before it opens the cache.  Killed mid-withdrawal
# (power loss, the OOM killer, Ctrl-C) it leaves seq odd; a reader that
# took that for "no record" decided on the old snapshot and accepted the
# journaled token.  Now: cache-unavailable until a writer rewrites the
# record; a damaged (even-seq, bad checksum) record likewise; a missing
# record (a cache from before the record existed) still falls back to the
# snapshot.  The kill is an LD_PRELOAD shim (tests/preload/pwrite_kill.c):
# the Nth pwrite into cache/state raises SIGKILL.  No timing.
. "$(dirname "$0")/lib.sh"
cc -shared -fPIC -O1 -o "$W/pwrite_kill.so" "$TOP/tests/preload/pwrite_kill.c" -ldl ||
	{ bad "cannot build the pwrite_kill shim"; finish; exit; }
start_sim --quiet || { bad "sim"; finish; exit; }
SECRETS=$W/secrets; mkdir -m 0700 "$SECRETS"
dec() { "$AB/aivenctl" -c "$W/aivenauth.conf" verify wt-bot < "$1" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//'; }
# revoke_killed N TOKEN: `token revoke` killed at its Nth pwrite into state
# (a subshell: bash's "Killed" notice goes to /dev/null with its stderr)
revoke_killed() {
	(R5_KILL_SUFFIX=/cache/state R5_KILL_AT=$1 LD_PRELOAD="$W/pwrite_kill.so" \
		"$AB/aivenctl" -c "$W/aivenauth.conf" token revoke "$U" "$(head -c 12 "$2")" > /dev/null 2>&1
	 exit $?) 2>/dev/null
}
seq_of() { python3 -c 'import struct,sys; print(struct.unpack_from("<Q", open(sys.argv[1], "rb").read(16), 8)[0])' "$W/cache/state"; }
ctl --json user create wt-bot > "$W/u.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
U=$(jget 'd["user_id"]' < "$W/u.json")
for t in A B C D E; do ctl token create "$U" 2>/dev/null | head -n 1 > "$SECRETS/$t"; done
ctl sync > /dev/null 2>&1 || bad "sync"
[ "$(dec "$SECRETS/A")" = accepted ] && ok "A accepted before" || bad "A: $(dec "$SECRETS/A")"

# Control: killed after the withdrawal's four writes (at the fifth: the
# open's publication) -> withdrawn, the readers refuse.
revoke_killed 5 "$SECRETS/B"
r=$(dec "$SECRETS/B")
[ "$r" = cache-unavailable ] && ok "killed after the withdrawal: B is $r" || bad "killed after the withdrawal: B is $r"
ctl sync > /dev/null 2>&1 || bad "sync after B"
[ "$(dec "$SECRETS/A")" = accepted ] && ok "A accepted again after the sync" || bad "A: $(dec "$SECRETS/A")"
[ "$(dec "$SECRETS/B")" = revoked ] && ok "B revoked after the sync" || bad "B: $(dec "$SECRETS/B")"

# The finding: killed at the withdrawal's 2nd write (seq odd, nothing else
# written) and at its 3rd (seq odd, magic written, the body not).
for at in 2 3; do
	t=$([ $at = 2 ] && echo A || echo C)
	revoke_killed $at "$SECRETS/$t"; rc=$?
	[ $rc = 137 ] && ok "token revoke killed at write $at of the withdrawal" || bad "set-up: exit $rc"
	s=$(seq_of)
	[ $((s % 2)) = 1 ] && ok "state left with an odd seq ($s)" || bad "state seq $s is even"
	r=$(dec "$SECRETS/$t")
	[ "$r" = cache-unavailable ] && ok "$t (journaled revoked) refused after a torn withdrawal ($r)" ||
		bad "$t (journaled revoked) is '$r' after token revoke died mid-withdrawal (must be cache-unavailable)"
	r=$(dec "$SECRETS/D")
	[ "$r" = cache-unavailable ] && ok "every reader refuses on a torn record (D: $r)" ||
		bad "D is '$r' on a torn record"
	# The writer repairs it: its open finds the record unreadable and
	# publishes (storing the journaled revocation first).
	ctl sync > /dev/null 2>&1 || bad "sync after the torn withdrawal"
	s=$(seq_of)
	[ $((s % 2)) = 0 ] && ok "the next sync rewrote the record (seq $s)" || bad "seq $s still odd after a sync"
	[ "$(dec "$SECRETS/$t")" = revoked ] && ok "$t revoked after the sync" || bad "$t: $(dec "$SECRETS/$t")"
	[ "$(dec "$SECRETS/D")" = accepted ] && ok "D accepted again after the sync" || bad "D: $(dec "$SECRETS/D")"
done

# A damaged record (seq even, checksum wrong): refused too.
cp -p "$W/cache/state" "$W/state.good"
python3 - "$W/cache/state" <<'PY'
import sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(40); b = f.read(1); f.seek(40); f.write(bytes([b[0] ^ 0xff]))
PY
r=$(dec "$SECRETS/D")
[ "$r" = cache-unavailable ] && ok "a damaged state record: D is $r" || bad "a damaged state record: D is '$r'"
cp -p "$W/state.good" "$W/cache/state"
[ "$(dec "$SECRETS/D")" = accepted ] && ok "the record restored: D accepted" || bad "D: $(dec "$SECRETS/D")"

# A missing record (a cache from before the record existed) still falls
# back to the snapshot: not refused.
rm -f "$W/cache/state"
r=$(dec "$SECRETS/D")
[ "$r" = accepted ] && ok "no state record at all: D decided on the snapshot ($r)" || bad "no state record: D is '$r'"
ctl sync > /dev/null 2>&1 || bad "sync recreating the record"
[ -f "$W/cache/state" ] && [ "$(dec "$SECRETS/E")" = accepted ] && ok "the sync recreated the record; E accepted" ||
	bad "after the sync: state $(ls "$W/cache/state" 2>&1), E $(dec "$SECRETS/E")"
finish
