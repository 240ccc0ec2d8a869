#!/bin/bash
# it_idempotent.sh - deletes are idempotent (as the Terraform provider
# treats a 404 on delete): `aivenctl token revoke` and `user delete` of a
# token or user this host knows, which the API answers 404 for, report
# "already revoked / deleted at the API" and exit 0 -- a second run, a
# revocation the last sync sent, one done in the console.  Known to
# neither the cache nor the API is an error (a typo) with exit 66.
#
# The pending-revocation path: a revoke whose API call failed (5xx) leaves
# a tombstone, the next sync sends the deletion, and running the revoke
# again, as the first message said to, then succeeds.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { skip "curl not installed"; finish; exit; }
[ -x "$AB/aivenctl" ] || { bad "aivenctl not built in $AB"; finish; exit; }
start_sim --quiet || { bad "simulator did not start"; finish; exit; }

O=$W/out; mkdir -p "$O"
# run NAME ARGS...: aivenctl with $W's config; $O/NAME.{out,err,rc}
run() { local n=$1; shift; ctl "$@" > "$O/$n.out" 2> "$O/$n.err" < /dev/null; echo $? > "$O/$n.rc"; }
rc_is() {  # rc_is NAME WANT DESC
	local got; got=$(cat "$O/$1.rc")
	[ "$got" = "$2" ] && ok "$3 (exit $got)" ||
	    bad "$3: exit $got, want $2: $(head -c 300 "$O/$1.err") $(head -c 200 "$O/$1.out")"
}
has() {  # has NAME out|err REGEX DESC
	grep -Eq -- "$3" "$O/$1.$2" && ok "$4" || bad "$4: no /$3/ in $(head -c 300 "$O/$1.$2")"
}
listed() {  # listed USER PREFIX -> True/False (at the API)
	api GET "/v1/organization/$ORG_ID/application-users/$1/access-tokens" |
	    jget "any(t['token_prefix'] == '$2' for t in d['tokens'])"
}
uid_of() { ctl --json user list 2>/dev/null | jget "[u['user_id'] for u in d if u['name']=='$1'][0]"; }

# ---------------------------------------------------------------- setup
ctl sync >/dev/null 2>&1 || { bad "first sync"; finish; exit; }
for u in bob carol dave erin; do ctl user create "$u" >/dev/null 2>&1; done
UB=$(uid_of bob); UC=$(uid_of carol); UD=$(uid_of dave); UE=$(uid_of erin)
mint() { ctl token create "$1" --description "$2" 2>/dev/null </dev/null | head -1; }
T1=$(mint "$UB" one); T2=$(mint "$UB" two); T3=$(mint "$UB" three)
TE=$(mint "$UE" erin)
P1=${T1:0:12}; P2=${T2:0:12}; P3=${T3:0:12}
ctl sync >/dev/null 2>&1
if [[ -z $UB || -z $UC || -z $UD || -z $UE || ${#T1} -lt 300 || ${#T2} -lt 300 || ${#T3} -lt 300 || ${#TE} -lt 300 ]]; then
	bad "setup: users '$UB' '$UC' '$UD' '$UE', tokens ${#T1} ${#T2} ${#T3} ${#TE}"; finish; exit
fi
ok "setup: bob $UB with $P1 $P2 $P3; carol, dave, erin"

# ---------------------------------------------------------------- revoke twice
run r1 token revoke "$UB" "$P1"
rc_is r1 0 "revoke"
has r1 out "^Token $(rx "$P1") \\(application user $UB\\) revoked\\.\$" "revoke: revoked"
run r1b token revoke "$UB" "$P1"
rc_is r1b 0 "revoke the same token again"
has r1b out "^Token $(rx "$P1") \\(application user $UB\\) already revoked at the API" \
    "revoke again: says already revoked at the API"
run r1j --json token revoke "$UB" "$P1"
rc_is r1j 0 "revoke again, --json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["already_revoked_at_api"] is True and d["revoked_at_api"] is True and d["revoked_locally"] is True else 1)' "$O/r1j.out" &&
    ok "revoke again --json: already_revoked_at_api" || bad "revoke again --json: $(cat "$O/r1j.out")"
printf '%s\n' "$T1" | ctl verify bob > "$O/v1.out" 2>&1
grep -q '^denied: revoked' "$O/v1.out" && ok "the twice-revoked token is refused" || bad "verify: $(head -1 "$O/v1.out")"

# ---------------------------------------------------------------- pending revocation
# The API call fails (503, retries included); the tombstone holds; the next
# sync sends the deletion; the revoke run again then succeeds.
sim_ctl POST /_sim/faults "{\"path\": \"/access-tokens/$(rx "$(enc "$P2")")\$\", \"method\": \"DELETE\", \"kind\": \"status\", \"status\": 503}" >/dev/null
run r2 token revoke "$UB" "$P2"
sim_ctl DELETE /_sim/faults >/dev/null
rc_is r2 75 "revoke with the API failing (503)"
has r2 err "revoked locally; the API call failed" "revoke 503: revoked locally, API failed"
[ "$(listed "$UB" "$P2")" = True ] && ok "the API still lists $P2" || bad "the API no longer lists $P2"
run s2 sync
rc_is s2 0 "sync"
has s2 out "^revocations sent to the API: 1\$" "sync sent the pending revocation"
[ "$(listed "$UB" "$P2")" = False ] && ok "the API no longer lists $P2" || bad "the API still lists $P2"
run r2b token revoke "$UB" "$P2"
rc_is r2b 0 "revoke run again after the sync sent it"
has r2b out "already revoked at the API" "revoke after the sync: already revoked at the API"

# ---------------------------------------------------------------- revoked elsewhere
# Revoked in the console, not synced since: the cache knows the token.
sim_ctl POST "/_sim/tokens/$(enc "$P3")/revoke" >/dev/null
run r3 token revoke "$UB" "$P3"
rc_is r3 0 "revoke of a token already revoked in the console"
has r3 out "already revoked at the API" "revoked in the console: already revoked at the API"

# ---------------------------------------------------------------- typos
run r4 token revoke "$UB" AAAAAAAAAAAA
rc_is r4 66 "revoke of a token neither the cache nor the API knows"
has r4 err "^aivenctl: .*known neither to this host's cache nor to the API.*typo" \
    "revoke unknown: says neither knows it (a typo?)"
grep -q 'revoked\.$' "$O/r4.out" && bad "revoke unknown printed 'revoked'" || ok "revoke unknown: no success line"
run r5 token revoke u00000000000 "$P1"
rc_is r5 65 "revoke under the wrong user id (the cache knows whose it is)"
# No cache at all: nothing is known here, so a 404 is an error.
sed "s|^cache_dir = .*|cache_dir = $W/nocache|" "$W/aivenauth.conf" > "$W/nocache.conf"
"$AB/aivenctl" -c "$W/nocache.conf" token revoke "$UB" "$P1" > "$O/r6.out" 2> "$O/r6.err"; echo $? > "$O/r6.rc"
rc_is r6 66 "no cache, token gone at the API: an error (nothing here knows it)"
has r6 err "known neither" "no cache: says neither knows it"

# ---------------------------------------------------------------- user delete
run u1 user delete "$UC"
rc_is u1 0 "user delete"
has u1 out "^Application user $UC deleted\\.\$" "user delete: deleted"
run u1b user delete "$UC"
rc_is u1b 0 "user delete again"
has u1b out "^Application user $UC already deleted at the API\\.\$" "user delete again: already deleted"
run u1j --json user delete "$UC"
rc_is u1j 0 "user delete again, --json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["already_deleted_at_api"] is True and d["deleted"] is True else 1)' "$O/u1j.out" &&
    ok "user delete again --json: already_deleted_at_api" || bad "user delete again --json: $(cat "$O/u1j.out")"
# Deleted in the console, not synced since.
api DELETE "/v1/organization/$ORG_ID/application-users/$UD" >/dev/null
run u2 user delete "$UD"
rc_is u2 0 "user delete of a user deleted in the console"
has u2 out "already deleted at the API" "deleted in the console: already deleted"
# Deleted, then synced (the user is gone from the cache; its token's
# tombstone remains, and that is enough to know it).
run u3 user delete "$UE"
rc_is u3 0 "user delete erin"
run s3 sync
ctl --json user list --cached 2>/dev/null | jget "any(u['user_id']=='$UE' for u in d)" | grep -q False &&
    ok "after the sync the cache lists erin no more" || bad "erin still cached"
run u3b user delete "$UE"
rc_is u3b 0 "user delete again after a sync (known from its token's tombstone)"
has u3b out "already deleted at the API" "after a sync: already deleted"
# ---------------------------------------------------------------- token create
# The API requires a description; without --description aivenctl sends
# one that says where and when the token was made.
ctl token create "$UB" > /dev/null 2>&1 < /dev/null
desc=$(api GET "/v1/organization/$ORG_ID/application-users/$UB/access-tokens" |
    jget "sorted(d['tokens'], key=lambda t: t['create_time'])[-1]['description']")
[[ $desc == "created by aivenctl on $(hostname) at 20"*Z ]] &&
    ok "token create without --description sends '$desc'" || bad "default description: '$desc'"

run u4 user delete u-no-such-user
rc_is u4 66 "user delete of a user neither the cache nor the API knows"
has u4 err "^aivenctl: .*known neither to this host's cache nor to the API.*typo" \
    "user delete unknown: says neither knows it (a typo?)"
finish
