#!/bin/bash
# it_publish_lifts.sh - a publication never lifts a withdrawal made by a
# revocation its commit did not carry (review 5, F3).  A sync commits;
# before it publishes, `token revoke` journals R and withdraws the
# readers, then is interrupted (Ctrl-C while it waits for the publish
# lock).  The sync freed the journal lock at its commit, so its
# publication (lacking R) rewrote the state record and lifted the
# withdrawal: R accepted until the next write.  Now the sync keeps the
# journal locked until its state record is written: the revoke waits
# (and journals after the publication), or -- on the old code -- it
# journals and withdraws inside the window and R must still be refused.
# The sync is held after its commit by an LD_PRELOAD shim
# (tests/preload/rename_pause.c) on the publication's rename; the test
# waits for conditions (files, /proc/locks), never for time.
. "$(dirname "$0")/lib.sh"
cc -shared -fPIC -O1 -o "$W/rename_pause.so" "$TOP/tests/preload/rename_pause.c" -ldl ||
	{ bad "cannot build the rename_pause shim"; finish; exit; }
start_sim --quiet || { bad "sim"; finish; exit; }
SECRETS=$W/secrets; mkdir -m 0700 "$SECRETS"
dec() { "$AB/aivenctl" -c "$W/aivenauth.conf" verify pl-bot < "$1" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//'; }
waitfor() { local i; for i in $(seq 3000); do eval "$1" && return 0; sleep 0.1; done; return 1; }
# pid $1 waits for a lock (a "->" line of /proc/locks names the waiter)
blocked() { grep -Eq -- "-> +FLOCK +ADVISORY +WRITE +$1 " /proc/locks; }
ctl --json user create pl-bot > "$W/u.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
U=$(jget 'd["user_id"]' < "$W/u.json")
ctl token create "$U" 2>/dev/null | head -n 1 > "$SECRETS/R"
ctl token create "$U" 2>/dev/null | head -n 1 > "$SECRETS/K"
ctl sync > /dev/null 2>&1 || bad "sync"
[ "$(dec "$SECRETS/R")" = accepted ] && ok "R accepted" || bad "R: $(dec "$SECRETS/R")"
# Something new at the API, so the sync publishes a new snapshot.
api POST "/v1/organization/$ORG_ID/application-users/$U/access-tokens" '{"description":"y"}' > /dev/null ||
	bad "api token create"
R5_PAUSED=$W/paused R5_GO=$W/go LD_PRELOAD="$W/rename_pause.so" \
	"$AB/aivenctl" -c "$W/aivenauth.conf" sync > "$W/sync.out" 2>&1 &
SP=$!; PIDS+=("$SP")
waitfor '[ -e "$W/paused" ]' && ok "sync committed, held before its publication" ||
	bad "sync never reached its rename"
"$AB/aivenctl" -c "$W/aivenauth.conf" token revoke "$U" "$(head -c 12 "$SECRETS/R")" > "$W/rv" 2>&1 &
RP=$!; PIDS+=("$RP")
# Either the revoke journals and withdraws inside the window (the old
# code), or it waits for the journal lock the sync holds.
waitfor '[ "$(dec "$SECRETS/K")" = cache-unavailable ] || blocked "$RP"' ||
	bad "the revoke neither withdrew the readers nor waited for a lock"
if [ "$(dec "$SECRETS/K")" = cache-unavailable ]; then
	bad "token revoke journaled R and withdrew the readers between the sync's commit and its publication"
	# The operator gives up (TERM: a background job ignores INT).
	kill -TERM "$RP" 2>/dev/null; wait "$RP" 2>/dev/null
	touch "$W/go"; wait "$SP"
	r=$(dec "$SECRETS/R")
	[ "$r" != accepted ] && ok "R refused after the sync published ($r)" ||
		bad "R ACCEPTED: the sync's publication (committed before R was journaled) lifted the revoke's withdrawal"
else
	ok "token revoke waits for the journal the sync holds through its publication"
	touch "$W/go"; wait "$SP"; rc=$?
	[ $rc = 0 ] && ok "the sync published (exit 0)" || bad "sync exit $rc: $(cat "$W/sync.out")"
	wait "$RP"; rc=$?
	[ $rc = 0 ] && ok "token revoke done after the publication (exit 0)" || bad "token revoke exit $rc: $(cat "$W/rv")"
	r=$(dec "$SECRETS/R")
	[ "$r" = revoked ] && ok "R revoked" || bad "R is '$r' after the revoke"
	[ "$(dec "$SECRETS/K")" = accepted ] && ok "K accepted (published, not withdrawn)" || bad "K: $(dec "$SECRETS/K")"
fi
finish
