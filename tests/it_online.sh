#!/bin/bash
# it_online.sh - online checks (online = learn: GET /v1/me with the token)
# vouch only on a positive answer: HTTP 200 with the API's "user" object
# about the application user who owns the prefix in the synced metadata.
#
# Every other answer -- 401, a 403 whatever its error_code, a 403 for the
# caller's address (its own reason), a 200 about another user, a 200 that
# is not the API's -- must vouch for nothing and store nothing.  Each case
# presents a FORGED secret (a synced prefix plus other characters) while
# the simulator gives that answer, on its own copy of the cache; then the
# genuine token must still be accepted there (learned), which proves no
# hash was stored for the forgery.  (The bug this guards: a 403 was taken
# for a live token, the forged secret's hash was stored, and the genuine
# owner was locked out with secret-mismatch.)
#
# Also: the simulator's /v1/me switch (403 permission_denied or
# action_forbidden_for_application_users for application tokens, as the
# real API may answer: undocumented), a token's
# real ip_allowlist enforced by the simulator, the sliding-expiry
# keep-alive (extends only on a positive answer), and PAM through
# pamtester under pam_wrapper.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { skip "curl not installed"; finish; exit; }
[ -x "$AB/aivenctl" ] || { bad "aivenctl not built in $AB"; finish; exit; }
start_sim --quiet || { bad "simulator did not start"; finish; exit; }

O=$W/out; mkdir -p "$O"
# the same prefix, another secret
forge() { python3 -c 'import sys
t=sys.argv[1]; s=t.rstrip("="); p=t[len(s):]
print(s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1] + p)' "$1"; }
fault() { sim_ctl POST /_sim/faults "$1" >/dev/null; }

# ---------------------------------------------------------------- setup
ctl sync >/dev/null 2>&1 || { bad "first sync"; finish; exit; }
ctl user create alice >/dev/null 2>&1
UA=$(ctl --json user list 2>/dev/null | jget '[u["user_id"] for u in d if u["name"]=="alice"][0]')
# Tokens made elsewhere (straight at the API): synced, never enrolled here.
mk() { api POST "/v1/organization/$ORG_ID/application-users/$UA/access-tokens" "$1" | jget 'd["full_token"]'; }
TL=$(mk '{"description":"learn-me"}')
TI=$(mk '{"description":"elsewhere only","ip_allowlist":["192.0.2.0/24"]}')
ctl sync >/dev/null 2>&1
PL=${TL:0:12}; PI=${TI:0:12}
if [[ -z $UA || ${#TL} -lt 300 || ${#TI} -lt 300 ]]; then
	bad "setup: user '$UA', tokens ${#TL} ${#TI} chars"; finish; exit
fi
TLX=$(forge "$TL")
ADMIN_EMAIL=$(sim_ctl GET /_sim/state | jget "[u['user_email'] for u in d['users'] if u['user_id']=='$ADMIN_USER_ID'][0]")
ALICE_EMAIL=$(sim_ctl GET /_sim/state | jget "[u['user_email'] for u in d['users'] if u['user_id']=='$UA'][0]")
ok "setup: alice $UA, token $PL and $PI made at the API only"
cp -a "$W/cache" "$W/pristine"

# fresh CASE: a copy of the pristine cache and an online = learn config
fresh() {
	local d=$W/run/$1
	rm -rf "$d"; mkdir -p "$d"; cp -a "$W/pristine" "$d/cache"
	sed -e "s|^cache_dir = .*|cache_dir = $d/cache|" "$W/aivenauth.conf" > "$d/conf"
	echo 'online = learn' >> "$d/conf"
}
# v CASE NAME TOKEN [ARGS...]: verify alice on CASE's cache, -v (notices)
v() {
	local c=$1 n=$2 t=$3; shift 3
	printf '%s\n' "$t" | "$AB/aivenctl" -c "$W/run/$c/conf" -v verify "$@" alice \
	    > "$O/$c.$n.out" 2> "$O/$c.$n.err"
	echo $? > "$O/$c.$n.rc"
}
enrolled() {  # enrolled CASE PREFIX -> True/False
	"$AB/aivenctl" -c "$W/run/$1/conf" --json inspect "$2" 2>/dev/null | jget 'd.get("enrolled")'
}

# ---------------------------------------------------------------- answers
# case | fault JSON on GET /v1/me (count 1) | reason | stderr regex
while IFS='|' read -r c f reason msg; do
	[ -z "$c" ] && continue
	fresh "$c"
	fault "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(path="^/v1/me$", method="GET", count=1); print(json.dumps(d))' "$f")"
	v "$c" forged "$TLX"
	sim_ctl DELETE /_sim/faults >/dev/null
	rc=$(cat "$O/$c.forged.rc")
	if grep -q '^accepted' "$O/$c.forged.out" || [ "$rc" = 0 ]; then
		bad "$c: a forged secret was ACCEPTED (exit $rc)"
	else
		ok "$c: forged secret refused (exit $rc)"
	fi
	if [ -n "$reason" ]; then
		grep -q "^denied: $reason: " "$O/$c.forged.out" &&
		    ok "$c: reason $reason" ||
		    bad "$c: reason: $(head -1 "$O/$c.forged.out") $(head -c 300 "$O/$c.forged.err")"
	fi
	grep -Eqi -- "$msg" "$O/$c.forged.err" && ok "$c: the log says why (/$msg/)" ||
	    bad "$c: no /$msg/ in: $(head -c 400 "$O/$c.forged.err")"
	[ "$(enrolled "$c" "$PL")" = False ] && ok "$c: nothing stored" ||
	    bad "$c: a hash was stored for $PL"
	v "$c" genuine "$TL"
	# Readers never write: the genuine token is accepted online and kept
	# in that process's memory; nothing is stored either way.
	if [ "$(cat "$O/$c.genuine.rc")" = 0 ] && [ "$(enrolled "$c" "$PL")" = False ]; then
		ok "$c: the genuine token is still accepted afterwards (online; nothing stored)"
	else
		bad "$c: genuine token after: exit $(cat "$O/$c.genuine.rc"): $(head -1 "$O/$c.genuine.out") $(head -c 300 "$O/$c.genuine.err")"
	fi
done <<EOF_CASES
a403|{"kind":"status","status":403,"error_code":"authentication_failed","message":"Authentication failed"}|online-rejected|a 403 vouches for nothing
p403|{"kind":"status","status":403,"error_code":"permission_denied","message":"Permission denied"}|online-rejected|a 403 vouches for nothing
plain403|{"kind":"status","status":403}|online-rejected|a 403 vouches for nothing
af403|{"kind":"status","status":403,"error_code":"action_forbidden_for_application_users","message":"This action is forbidden for application users: UserInfo"}|online-rejected|a 403 vouches for nothing
new403|{"kind":"status","status":403,"error_code":"a_code_from_next_year","more_info":"https://docs.example/e","metadata":{"why":1}}|online-rejected|a 403 vouches for nothing
ip403|{"kind":"status","status":403,"error_code":"client_ip_address_policy_violation","message":"IP not allowed"}|online-ip-policy|IP policy
org403|{"kind":"status","status":403,"error_code":"api_client_ip_allowlist_blocks_caller","message":"Blocked"}|online-ip-policy|IP policy
u401|{"kind":"status","status":401,"message":"Missing (expired) db token"}|online-rejected|does not accept it \(401\)
i401|{"kind":"status","status":401,"message":"Invalid token"}|online-rejected|does not accept it \(401\)
other|{"kind":"json","status":200,"body":{"user":{"user_id":"$ADMIN_USER_ID","user":"$ADMIN_EMAIL","state":"active"}}}|online-rejected|another user
otherid|{"kind":"json","status":200,"body":{"user":{"user_id":"$ADMIN_USER_ID","user":"$ALICE_EMAIL"}}}|online-rejected|another user
nobody|{"kind":"json","status":200,"body":{"user":{"state":"active"}}}||names no user id
nouser|{"kind":"json","status":200,"body":{"ok":true}}||"user" missing
html|{"kind":"wrong_content_type"}||non-JSON Content-Type
garbage|{"kind":"invalid_json"}||invalid JSON
EOF_CASES

# The genuine token itself under a 403: refused and not learned either
# (a 403 vouches for nothing, whoever presents the token).
fresh g403
fault '{"path":"^/v1/me$","kind":"status","status":403,"error_code":"permission_denied","count":1}'
v g403 genuine "$TL"
sim_ctl DELETE /_sim/faults >/dev/null
[ "$(cat "$O/g403.genuine.rc")" = 1 ] && [ "$(enrolled g403 "$PL")" = False ] &&
    ok "genuine token under a 403: refused, nothing stored" ||
    bad "genuine token under a 403: exit $(cat "$O/g403.genuine.rc"), enrolled $(enrolled g403 "$PL")"

# The control: with a truthful answer the forged secret is refused (401
# from the API) and the genuine one learned.
fresh truth
v truth forged "$TLX"; v truth genuine "$TL"
grep -q '^denied: online-rejected: ' "$O/truth.forged.out" && [ "$(cat "$O/truth.genuine.rc")" = 0 ] &&
    ok "no fault: forged refused (online-rejected), genuine accepted" ||
    bad "no fault: forged $(head -1 "$O/truth.forged.out"), genuine exit $(cat "$O/truth.genuine.rc")"

# ------------------------------------------------ the /v1/me switch
# The real API's answer to an application token on /v1/me is undocumented;
# if it is a 403 -- permission_denied, or action_forbidden_for_application_users
# (what the API answers where it refuses application users an action) --
# online learning must refuse, clearly: no vouch, nothing stored.
while read -r mode msg; do
	sim_ctl POST /_sim/me "{\"app_tokens\": \"$mode\"}" >/dev/null
	fresh "me_$mode"
	v "me_$mode" genuine "$TL"
	sim_ctl POST /_sim/me '{"app_tokens": "ok"}' >/dev/null
	o=$O/me_$mode.genuine
	grep -q '^denied: online-rejected: ' "$o.out" && [ "$(cat "$o.rc")" = 1 ] &&
	    ok "/v1/me $mode for app tokens: online learning refuses (online-rejected, exit 1)" ||
	    bad "/v1/me $mode: $(head -1 "$o.out") exit $(cat "$o.rc")"
	grep -qF "HTTP 403: $msg: UserInfo" "$o.err" && grep -q "token add" "$o.err" &&
	    ok "/v1/me $mode: the log names the 403 and the way out (aivenctl token add)" ||
	    bad "/v1/me $mode: log: $(head -c 400 "$o.err")"
	[ "$(enrolled "me_$mode" "$PL")" = False ] && ok "/v1/me $mode: nothing stored" ||
	    bad "/v1/me $mode: stored"
done <<EOF_ME
permission_denied You don't have permission to perform this action
action_forbidden_for_application_users This action is forbidden for application users
EOF_ME

# ------------------------------------------------ a real ip_allowlist
# Token TI may be used from 192.0.2.0/24 only.  The client (rhost) is in
# it, so the local policy passes; the online check runs from this host
# (127.0.0.1), which the simulator refuses with an IP-policy 403.
fresh realip
v realip genuine "$TI" --rhost 192.0.2.7
grep -q '^denied: online-ip-policy: ' "$O/realip.genuine.out" &&
    ok "token's own ip_allowlist at the API: refused with online-ip-policy" ||
    bad "real ip_allowlist: $(head -1 "$O/realip.genuine.out") $(head -c 300 "$O/realip.genuine.err")"
[ "$(enrolled realip "$PI")" = False ] && ok "real ip_allowlist: nothing stored" || bad "real ip_allowlist: stored"

# ------------------------------------------------ keep-alive
# A sliding token near the end of its window: verify (accepted from the
# cache) slides it at the API only on a positive answer.
( umask 077; ctl token create "$UA" --description sliding --max-age-seconds 3600 \
    --extend-when-used > "$W/slide" 2>/dev/null ) || bad "token create (sliding)"
PS=$(head -c 12 "$W/slide")
sim_ctl POST "/_sim/tokens/$(enc "$PS")/expire" '{"in_seconds": 100}' >/dev/null
ctl sync >/dev/null 2>&1
rm -rf "$W/pristine"; cp -a "$W/cache" "$W/pristine"
ka() {  # ka CASE: verify the sliding token (--json)
	printf '%s\n' "$(cat "$W/slide")" | "$AB/aivenctl" -c "$W/run/$1/conf" -v --json verify alice \
	    > "$O/$1.ka.out" 2> "$O/$1.ka.err"
	echo $? > "$O/$1.ka.rc"
}
local_exp() { "$AB/aivenctl" -c "$W/run/$1/conf" --json inspect "$PS" 2>/dev/null | jget 'd.get("local_expiry") or ""'; }
while IFS='|' read -r c f; do
	[ -z "$c" ] && continue
	fresh "$c"
	fault "$f"
	ka "$c"
	sim_ctl DELETE /_sim/faults >/dev/null
	if [ "$(cat "$O/$c.ka.rc")" = 0 ] && [ "$(jget 'd["extended"]' < "$O/$c.ka.out")" = False ] &&
	    [ -z "$(local_exp "$c")" ]; then
		ok "keep-alive $c: still accepted from the cache, NOT extended"
	else
		bad "keep-alive $c: exit $(cat "$O/$c.ka.rc") $(head -c 200 "$O/$c.ka.out") local_expiry '$(local_exp "$c")'"
	fi
	grep -q "not extended" "$O/$c.ka.err" && ok "keep-alive $c: the log says not extended" ||
	    bad "keep-alive $c: log: $(head -c 300 "$O/$c.ka.err")"
done <<EOF_KA
k403|{"path":"^/v1/me$","kind":"status","status":403,"error_code":"authentication_failed","count":1}
kip|{"path":"^/v1/me$","kind":"status","status":403,"error_code":"client_ip_address_policy_violation","count":1}
kother|{"path":"^/v1/me$","kind":"json","body":{"user":{"user_id":"$ADMIN_USER_ID","user":"$ADMIN_EMAIL"}},"count":1}
EOF_KA
fresh kok
ka kok
[ "$(jget 'd["extended"]' < "$O/kok.ka.out")" = True ] && [ -z "$(local_exp kok)" ] &&
    ok "keep-alive with a positive answer: extended (in the verifying process's memory; the cache is not written)" ||
    bad "keep-alive without fault: $(head -c 300 "$O/kok.ka.out") $(head -c 300 "$O/kok.ka.err")"

# ------------------------------------------------ PAM
PW=$(ls /usr/lib/x86_64-linux-gnu/libpam_wrapper.so 2>/dev/null)
if [ -n "$PW" ] && command -v pamtester >/dev/null && [ -f "$AB/pam_aiven.so" ]; then
	fresh pam
	mkdir -p "$W/pam.d"
	printf 'auth required %s config=%s debug online=learn\n' "$AB/pam_aiven.so" \
	    "$W/run/pam/conf" > "$W/pam.d/aivonline"
	pt() {  # pt NAME TOKEN
		printf '%s\n' "$2" | env PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" \
		    PAM_WRAPPER_DEBUGLEVEL=2 LD_PRELOAD="$PW" pamtester aivonline alice authenticate \
		    > "$O/pam.$1.out" 2>&1
		echo $? > "$O/pam.$1.rc"
	}
	fault '{"path":"^/v1/me$","kind":"status","status":403,"error_code":"authentication_failed","count":1}'
	pt forged "$TLX"
	sim_ctl DELETE /_sim/faults >/dev/null
	[ "$(cat "$O/pam.forged.rc")" != 0 ] && grep -q "decision=denied reason=online-rejected" "$O/pam.forged.out" &&
	    ok "PAM: forged secret under a 403 refused (reason=online-rejected)" ||
	    bad "PAM forged: rc $(cat "$O/pam.forged.rc"): $(grep -m3 'decision=\|pam_aiven' "$O/pam.forged.out")"
	pt genuine "$TL"
	[ "$(cat "$O/pam.genuine.rc")" = 0 ] &&
	    ok "PAM: the genuine token still accepted afterwards" ||
	    bad "PAM genuine: rc $(cat "$O/pam.genuine.rc"): $(tail -3 "$O/pam.genuine.out")"
else
	skip "PAM: pam_wrapper or pamtester missing"
fi
finish
