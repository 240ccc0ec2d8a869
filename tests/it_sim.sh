#!/bin/bash
# it_sim.sh - self-test of the Aiven API simulator (sim/aiven-sim) with curl.
# Run: AIVENAUTH_BUILD=$PWD/build AIVENAUTH_TOP=$PWD bash tests/it_sim.sh
# (AIVENAUTH_BUILD need not contain anything for this script.)
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { skip "curl not installed"; finish; exit; }

# ---------------------------------------------------------------- helpers
# api METHOD PATH [JSON] [TOKEN] [extra curl args...]: body -> $W/body,
# headers -> $W/hdr, status -> $CODE.  TOKEN "-" sends no Authorization.
api() {
	local m=$1 p=$2 body=${3:-} tok=${4:-$ADMIN_TOKEN}
	shift; shift; [ $# -gt 0 ] && shift; [ $# -gt 0 ] && shift
	local a=(-sS -o "$W/body" -D "$W/hdr" -w '%{http_code}' -X "$m" -A "it_sim/1.0 (test)")
	[ "$tok" != "-" ] && a+=(-H "Authorization: aivenv1 $tok")
	[ -n "$body" ] && a+=(-H 'Content-Type: application/json' --data "$body")
	CODE=$(curl "${a[@]}" "$@" "$SIM_URL$p")
}
# jq-free JSON access: jget EXPR (python expression over `d`, the body)
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$W/body" "$1"; }
is_code() { [ "$CODE" = "$1" ]; }
# expect DESC STATUS [PYTHON-CONDITION over d]
expect() {
	local d=$1 s=$2 cond=${3:-}
	if [ "$CODE" != "$s" ]; then bad "$d (status $CODE, want $s: $(head -c 300 "$W/body"))"; return; fi
	if [ -n "$cond" ] && [ "$(jget "bool($cond)" 2>&1)" != True ]; then
		bad "$d (condition $cond false on: $(head -c 300 "$W/body"))"; return
	fi
	ok "$d"
}
enc() { python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
ORGP() { echo "/v1/organization/$ORG_ID$1"; }

# ---------------------------------------------------------------- static checks
SIMF="$TOP/sim/aiven-sim"
if python3 - "$SIMF" <<'EOF'
import py_compile, sys, tempfile, os
py_compile.compile(sys.argv[1], cfile=os.path.join(tempfile.mkdtemp(), "x.pyc"), doraise=True)
EOF
then ok "py_compile clean"; else bad "py_compile"; fi
if python3 - "$SIMF" <<'EOF'
import ast, sys
tree = ast.parse(open(sys.argv[1]).read())
mods = set()
for n in ast.walk(tree):
    if isinstance(n, ast.Import):
        mods |= {a.name.split(".")[0] for a in n.names}
    elif isinstance(n, ast.ImportFrom):
        mods.add(n.module.split(".")[0])
bad = sorted(m for m in mods if m not in sys.stdlib_module_names)
print("third-party imports:", bad) if bad else None
sys.exit(1 if bad else 0)
EOF
then ok "standard library imports only"; else bad "non-stdlib import"; fi
# Every error_code the simulator itself sends on /v1 comes from the API's
# published catalogue (ApiError refuses others at run time too).
if python3 - "$SIMF" <<'EOF'
import ast, sys
catalogue = {"organization_user_not_found", "organization_not_found", "permission_denied",
             "action_forbidden_for_application_users", "client_ip_address_policy_violation",
             "auth_token_max_age_too_low", "ip_address_not_valid", "bad_request",
             "internal_server_error", "user_not_application_user"}
tree = ast.parse(open(sys.argv[1]).read())
codes = set()
for n in ast.walk(tree):
    if isinstance(n, ast.Call) and getattr(n.func, "id", None) in ("ApiError", "err_body"):
        if len(n.args) >= 3 and isinstance(n.args[2], ast.Constant):
            codes.add(n.args[2].value)
    if isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "IP_POLICY_CODE" for t in n.targets):
        codes.add(n.value.value)
extra = sorted(c for c in codes if c not in catalogue)
if extra or not codes:
    print("codes:", sorted(codes), "outside the catalogue:", extra)
sys.exit(1 if extra or "not_found" in codes or not codes else 0)
EOF
then ok "error codes from the catalogue only (no not_found)"; else bad "error code outside the catalogue"; fi
[ -x "$SIMF" ] && ok "sim/aiven-sim is executable" || bad "sim/aiven-sim not executable"
if python3 "$SIMF" --listen 0.0.0.0 --port 0 >/dev/null 2>&1; then
	bad "--listen 0.0.0.0 accepted"
else ok "--listen 0.0.0.0 refused"; fi

# ---------------------------------------------------------------- start
start_sim --quiet --log "$W/access.log" || { bad "start_sim"; finish; exit 1; }
ok "start_sim: $SIM_URL org $ORG_ID admin $ADMIN_USER_ID"
[[ $ORG_ID =~ ^org[0-9a-f]{11}$ ]] && ok "organization id format" || bad "org id $ORG_ID"
[ "$(stat -c %a "$W/sim.boot")" = 600 ] && ok "bootstrap file mode 0600" || bad "bootstrap mode"
[ "$(cat "$W/sim.port")" = "${SIM_URL##*:}" ] && ok "port file matches api_url" || bad "port file"
grep -q "^aiven-sim listening on http://127.0.0.1:${SIM_URL##*:}\$" "$W/sim.log" \
	&& ok "listening line printed" || bad "listening line"
[ ${#ADMIN_TOKEN} = 372 ] && [[ $ADMIN_TOKEN == *== ]] && ok "admin token 372 chars ending ==" \
	|| bad "admin token shape"

# ---------------------------------------------------------------- auth
api GET /v1/me; expect "/v1/me with aivenv1" 200 \
	"d['user']['user_id']=='$ADMIN_USER_ID' and d['user']['state']=='active' and d['user']['tenant']=='aiven' and d['user']['auth']==[] and d['user']['projects']==[] and d['user']['project_membership']=={} and d['user']['project_memberships']=={} and d['user']['invitations']==[] and 'real_name' in d['user'] and '@' in d['user']['user']"
ME_EMAIL=$(jget "d['user']['user']")
[ "$ME_EMAIL" = "$ADMIN_USER_ID@application-user.avns.net" ] &&
    ok "/v1/me: the e-mail in Aiven's shape <user_id>@application-user.avns.net ($ME_EMAIL)" ||
    bad "/v1/me e-mail: $ME_EMAIL"
# The spec declares the scheme as HTTP bearer and Aiven's MCP server sends
# "Bearer <token>": accepted by default; "refuse" tests aivenv1-only clients.
sim_ctl GET /_sim/stats > "$W/body"; b0=$(jget "d['auth_schemes']['bearer']"); a0=$(jget "d['auth_schemes']['aivenv1']")
api GET /v1/me "" - -H "Authorization: Bearer $ADMIN_TOKEN"
expect "Bearer accepted by default" 200 "d['user']['user_id']=='$ADMIN_USER_ID'"
api GET /v1/me "" - -H "authorization: bearer $ADMIN_TOKEN"; expect "bearer, any case" 200
sim_ctl GET /_sim/stats > "$W/body"; CODE=200
expect "stats count the schemes: 2 bearer, no aivenv1" 200 \
	"d['auth_schemes']=={'bearer': $b0 + 2, 'aivenv1': $a0}"
sim_ctl POST /_sim/modes '{"bearer": "refuse"}' > "$W/body"; CODE=200
expect "/_sim/modes bearer refuse" 200 "d['bearer']=='refuse' and d['expired_tokens']=='listed' and d['me_app_tokens']=='ok'"
api GET /v1/me "" - -H "Authorization: Bearer $ADMIN_TOKEN"
expect "bearer refuse: Bearer -> 401" 401 "d['message']=='Missing (expired) db token'"
api GET /v1/me; expect "bearer refuse: aivenv1 still works" 200
sim_ctl POST /_sim/modes '{"bearer": "accept"}' >/dev/null
api GET /v1/me "" - -H "Authorization: Bearer $ADMIN_TOKEN"; expect "bearer accept again" 200
out=$(sim_ctl POST /_sim/modes '{"bearer": "maybe"}')
case $out in *bearer*) ok "/_sim/modes: bad value rejected";; *) bad "/_sim/modes bad value: $out";; esac
out=$(sim_ctl POST /_sim/modes '{"colour": "red"}')
case $out in *"unknown mode"*) ok "/_sim/modes: unknown key rejected";; *) bad "/_sim/modes unknown key: $out";; esac
api GET /v1/me "" - -H "authorization: AIVENV1 $ADMIN_TOKEN"; expect "lowercase header, uppercase scheme" 200
api GET /v1/me "" -
expect "no Authorization -> 401" 401 "d=={'message':'Missing (expired) db token','errors':[{'message':'Missing (expired) db token','status':401}]}"
api GET /v1/me "" "${ADMIN_TOKEN:0:12}AAAA${ADMIN_TOKEN:16}"
expect "right prefix, wrong token -> 401 Missing (expired) db token" 401 \
	"d=={'message':'Missing (expired) db token','errors':[{'message':'Missing (expired) db token','status':401}]}"
api GET /v1/me "" "nonsense!"
expect "a token that does not decode -> 401 Invalid token" 401 \
	"d=={'message':'Invalid token','errors':[{'message':'Invalid token','status':401}]}"
api GET /v1/me "" - -H "Authorization: Basic $ADMIN_TOKEN"; expect "wrong scheme -> 401" 401
api GET /v1/organizations; expect "GET /v1/organizations" 200 \
	"d['organizations'][0]['organization_id']=='$ORG_ID' and d['organizations'][0]['tier']=='business' and all(k in d['organizations'][0] for k in ('account_id','create_time','update_time','organization_name'))"
api GET "/v1/organization/$ORG_ID"; expect "GET /v1/organization/{org}" 200 "d['organization_id']=='$ORG_ID'"
api GET "/v1/organization/org00000000000"; expect "unknown org -> 404" 404 "d['errors'][0]['error_code']=='organization_not_found'"

# ---------------------------------------------------------------- users
api GET "$(ORGP /application-users)"; expect "list users has admin" 200 \
	"[u['user_id'] for u in d['application_users']]==['$ADMIN_USER_ID']"
api POST "$(ORGP /application-users)" '{"name": "web service"}'
expect "create user -> 200 top-level object, e-mail <user_id>@application-user.avns.net" 200 \
	"d['name']=='web service' and d['is_super_admin'] is False and d['user_id'].startswith('u') and len(d['user_id'])==12 and d['user_email']==d['user_id']+'@application-user.avns.net' and d['create_time'].endswith('Z')"
U1=$(jget "d['user_id']")
api GET "$(ORGP /application-users)?limit=999"; expect "list with ?limit=999" 200 "'$U1' in [u['user_id'] for u in d['application_users']]"
api GET "$(ORGP /application-users/$U1/)"; expect "get user, trailing slash" 200 "d['user_id']=='$U1'"
api PATCH "$(ORGP /application-users/$U1)" '{"name": "renamed"}'; expect "PATCH name" 200 "d['name']=='renamed'"
api POST "$(ORGP /application-users)" '{"name": ""}'; expect "empty name -> 400" 400 "d['errors'][0]['status']==400 and d['message']"
api POST "$(ORGP /application-users)" '{}'; expect "missing name -> 400" 400
api POST "$(ORGP /application-users)" '{"name": 5}'; expect "non-string name -> 400" 400
api POST "$(ORGP /application-users)" '{"name": "x", "is_super_admin": true}'
expect "is_super_admin true -> 400" 400 "d['message']=='Making application users super admin is no longer supported'"
api POST "$(ORGP /application-users)" '{not json'; expect "invalid JSON body -> 400" 400
api GET "$(ORGP /application-users/u00000000000)"
expect "unknown user -> 404" 404 "d=={'message':'User not in organization','errors':[{'error_code':'organization_user_not_found','message':'User not in organization','status':404}]}"
api DELETE "$(ORGP /application-users/u00000000000)"; expect "delete unknown user -> 404" 404

# ---------------------------------------------------------------- tokens
TP="$(ORGP /application-users/$U1/access-tokens)"
api POST "$TP" '{"description": "first"}'
expect "create token -> 200 {full_token, token_prefix}" 200 \
	"sorted(d)==['full_token','token_prefix'] and len(d['full_token'])==372 and d['full_token'].endswith('==') and d['full_token'][:12]==d['token_prefix']"
T1=$(jget "d['full_token']"); P1=$(jget "d['token_prefix']")
api GET "$TP"; expect "token list: all fields, nulls, unknown extra field" 200 \
	"len(d['tokens'])==1 and (lambda t: t['token_prefix']=='$P1' and t['created_manually'] is True and t['currently_active'] is False and t['description']=='first' and t['expiry_time'] is None and t['max_age_seconds'] is None and t['extend_when_used'] is False and t['last_used_time'] is None and t['last_ip'] is None and t['last_user_agent'] is None and t['last_user_agent_human_readable'] is None and t['ip_allowlist'] is None and 'scopes' not in t and t['token_kind']=='app' and t['create_time'].endswith('Z'))(d['tokens'][0])"
grep -qF "$T1" "$W/body" && bad "list leaks full token" || ok "list never shows the full token"

# non-admin app user
api GET /v1/me "" "$T1"; expect "non-admin token: /v1/me 200" 200 "d['user']['user_id']=='$U1' and d['user']['real_name']=='renamed'"
api GET "$(ORGP /application-users)" "" "$T1"
PM="You don't have permission to perform this action"
expect "non-admin token: list users -> 403, the message names the operation" 403 \
	"d=={'message':\"$PM: ApplicationUsersList\",'errors':[{'error_code':'permission_denied','message':\"$PM: ApplicationUsersList\",'status':403}]}"
api POST "$TP" '{"description":"x"}' "$T1"
expect "non-admin token: create token -> 403 ApplicationUserAccessTokenCreate" 403 \
	"d['message']==\"$PM: ApplicationUserAccessTokenCreate\" and d['errors'][0]['error_code']=='permission_denied'"
api DELETE "$TP/AAAAAAAAAAAA" "" "$T1"
expect "non-admin token: delete token -> 403 ApplicationUserAccessTokenDelete" 403 \
	"d['message']==\"$PM: ApplicationUserAccessTokenDelete\""
r=$(sim_ctl POST "/_sim/users/$U1/admin" '{"admin": true}')
api GET "$TP" "" "$T1"
expect "granted admin: own list works, currently_active only for the caller" 200 \
	"[t['currently_active'] for t in d['tokens']]==[True]"
api GET "$TP"; expect "listed with another token: currently_active false" 200 "[t['currently_active'] for t in d['tokens']]==[False]"
r=$(sim_ctl POST "/_sim/users/$U1/admin" '{"admin": false}')
api GET "$TP" "" "$T1"; expect "admin removed -> 403 again" 403

# last_used fields
api GET /v1/me "" "$T1" -A "aiven-client/4.16.0"
api GET "$TP"; expect "last_used_time/last_ip/last_user_agent updated" 200 \
	"(lambda t: t['last_ip']=='127.0.0.1' and t['last_user_agent']=='aiven-client/4.16.0' and t['last_user_agent_human_readable']=='aiven-client 4.16.0' and t['last_used_time'].endswith('Z') and '.' in t['last_used_time'])(d['tokens'][0])"

# validation
# The API's 400: {"message", "errors": [{"message", "status", "error_code"}]}.
SHAPE400="set(d)=={'message','errors'} and len(d['errors'])==1 and d['errors'][0]['status']==400 and d['errors'][0]['message']==d['message'] and set(d['errors'][0]) <= {'message','status','error_code','more_info','metadata'}"
long=$(python3 -c 'print("x"*1001)')
api POST "$TP" "{\"description\": \"$long\"}"; expect "description 1001 chars -> 400" 400 "$SHAPE400"
api POST "$TP" "{\"description\": \"${long:1}\"}"; expect "description 1000 chars -> 200" 200
api POST "$TP" '{"description": "", "max_age_seconds": 599}'
expect "max_age 599 -> 400 auth_token_max_age_too_low, the API's shape" 400 \
	"$SHAPE400 and d['errors'][0]['error_code']=='auth_token_max_age_too_low'"
api POST "$TP" '{"description": "", "max_age_seconds": 600}'; expect "max_age 600 accepted" 200
api POST "$TP" '{"description": "", "max_age_seconds": 315360000}'; expect "max_age 315360000 accepted" 200
api POST "$TP" '{"description": "", "max_age_seconds": 315360001}'; expect "max_age 315360001 -> 400" 400 "$SHAPE400"
api POST "$TP" '{"description": "", "max_age_seconds": true}'; expect "max_age true -> 400" 400 "$SHAPE400"
api POST "$TP" '{"description": "", "max_age_seconds": "3600"}'; expect "max_age string -> 400" 400
api POST "$TP" '{"description": "", "max_age_seconds": 3600.5}'; expect "max_age 3600.5 -> 400" 400
api POST "$TP" '{"description": "", "max_age_seconds": 3600.0}'; expect "max_age 3600.0 accepted" 200
api POST "$TP" '{"description": "n", "max_age_seconds": null, "extend_when_used": true}'
expect "explicit null max_age + extend accepted" 200; PN=$(jget "d['token_prefix']")
api POST "$TP" '{"description": "", "ip_allowlist": ["10.0.0.0/33"]}'
expect "bad CIDR -> 400 ip_address_not_valid" 400 "d['errors'][0]['error_code']=='ip_address_not_valid'"
api POST "$TP" '{"description": "", "ip_allowlist": ["banana"]}'; expect "non-IP -> 400" 400
ips=$(python3 -c 'import json; print(json.dumps(["10.0.%d.0/24" % i for i in range(101)]))')
api POST "$TP" "{\"description\": \"\", \"ip_allowlist\": $ips}"; expect "101 ip_allowlist entries -> 400" 400 "$SHAPE400"
ips=$(python3 -c 'import json; print(json.dumps(["127.0.%d.0/24" % i for i in range(100)]))')
api POST "$TP" "{\"description\": \"\", \"ip_allowlist\": $ips}"; expect "100 ip_allowlist entries accepted" 200
scs=$(python3 -c 'import json; print(json.dumps(["user:read"]*101))')
api POST "$TP" "{\"description\": \"\", \"scopes\": $scs}"; expect "101 scopes -> 400" 400 "$SHAPE400"
scs=$(python3 -c 'import json; print(json.dumps(["user:read"]*100))')
api POST "$TP" "{\"description\": \"\", \"scopes\": $scs}"; expect "100 scopes accepted" 200
api POST "$TP" '{"description": "limits", "ip_allowlist": ["192.168.0.0/24", "2001:db8::/32", "10.1.2.3"], "scopes": ["user:read"]}'
expect "ip_allowlist (CIDR v4/v6 + single IP) and scopes accepted" 200; PL=$(jget "d['token_prefix']")
api GET "$TP"; expect "list shows ip_allowlist/scopes; extend ignored without max age" 200 \
	"(lambda m: m['$PL']['ip_allowlist']==['192.168.0.0/24','2001:db8::/32','10.1.2.3'] and m['$PL']['scopes']==['user:read'] and m['$PN']['extend_when_used'] is False and m['$PN']['expiry_time'] is None)({t['token_prefix']: t for t in d['tokens']})"
api POST "$TP" '{"description": "ip", "ip_allowlist": ["192.168.0.0/24"]}'; TL=$(jget "d['full_token']")
api GET /v1/me "" "$TL"
expect "a token's own ip_allowlist is enforced: 403 client_ip_address_policy_violation" 403 \
	"d['errors'][0]['error_code']=='client_ip_address_policy_violation'"
api POST "$TP" '{"description": "ip ok", "ip_allowlist": ["10.9.0.0/16", "127.0.0.0/8"]}'; TO=$(jget "d['full_token']")
api GET /v1/me "" "$TO"; expect "allowlist containing 127.0.0.1: the call works" 200

# required description (the spec: required string, <= 1000)
api POST "$TP" '{}'; expect "token create without description -> 400" 400 "$SHAPE400 and 'description' in d['message']"
api POST "$TP" '{"description": null}'; expect "description null -> 400" 400 "$SHAPE400"
api POST "$TP" '{"description": 5}'; expect "description not a string -> 400" 400 "$SHAPE400"
api POST "$TP" '{"description": ""}'; expect "empty description accepted" 200

# extend_when_used sliding
api POST "$TP" '{"description": "slide", "max_age_seconds": 600, "extend_when_used": true}'
TS=$(jget "d['full_token']"); PS=$(jget "d['token_prefix']")
api GET "$TP"; e0=$(jget "[t['expiry_time'] for t in d['tokens'] if t['token_prefix']=='$PS'][0]")
sleep 1.1
api GET /v1/me "" "$TS"
api GET "$TP"; e1=$(jget "[t['expiry_time'] for t in d['tokens'] if t['token_prefix']=='$PS'][0]")
python3 - "$e0" "$e1" <<'EOF' && ok "extend_when_used slides expiry_time ($e0 -> $e1)" || bad "no slide: $e0 -> $e1"
import sys, datetime
f = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
sys.exit(0 if (f(sys.argv[2]) - f(sys.argv[1])).total_seconds() >= 1.0 else 1)
EOF
api POST "$TP" '{"description": "fixed", "max_age_seconds": 600}'
TF=$(jget "d['full_token']"); PF=$(jget "d['token_prefix']")
api GET "$TP"; f0=$(jget "[t['expiry_time'] for t in d['tokens'] if t['token_prefix']=='$PF'][0]")
sleep 0.2; api GET /v1/me "" "$TF"
api GET "$TP"; f1=$(jget "[t['expiry_time'] for t in d['tokens'] if t['token_prefix']=='$PF'][0]")
[ "$f0" = "$f1" ] && ok "no extend_when_used: expiry_time fixed" || bad "expiry moved $f0 -> $f1"

# expiry and revocation through the control API
r=$(sim_ctl POST "/_sim/tokens/$(enc "$PS")/expire"); api GET /v1/me "" "$TS"
expect "expired token -> 401 Missing (expired) db token" 401 \
	"d=={'message':'Missing (expired) db token','errors':[{'message':'Missing (expired) db token','status':401}]}"
api GET "$TP"; expect "expired_tokens listed (default): still listed with a past expiry_time" 200 \
	"[t['expiry_time'] for t in d['tokens'] if t['token_prefix']=='$PS'][0] is not None"
# Whether the API keeps listing expired tokens is unknown: both, by switch.
sim_ctl POST /_sim/modes '{"expired_tokens": "unlisted"}' >/dev/null
api GET "$TP"; expect "expired_tokens unlisted: the expired token is gone from the list" 200 \
	"'$PS' not in [t['token_prefix'] for t in d['tokens']] and '$P1' in [t['token_prefix'] for t in d['tokens']]"
api DELETE "$TP/$(enc "$PS")"; expect "expired_tokens unlisted: DELETE of it -> 404" 404
api GET /v1/me "" "$TS"; expect "expired_tokens unlisted: still 401" 401
sim_ctl POST /_sim/modes '{"expired_tokens": "listed"}' >/dev/null
api GET "$TP"; expect "expired_tokens listed again: it is back" 200 \
	"'$PS' in [t['token_prefix'] for t in d['tokens']]"
r=$(sim_ctl POST "/_sim/tokens/$(enc "$PF")/revoke"); api GET /v1/me "" "$TF"
expect "revoked (console) token -> 401" 401
api GET "$TP"; expect "revoked token gone from list" 200 "'$PF' not in [t['token_prefix'] for t in d['tokens']]"

# prefixes with + and /, percent-encoded delete
SP=""; ST=""; n=0
for i in $(seq 40); do
	api POST "$TP" '{"description": "special"}'
	p=$(jget "d['token_prefix']"); n=$((n + 1))
	case $p in *[+/]*) SP=$p; ST=$(jget "d['full_token']"); break;; esac
done
if [ -n "$SP" ]; then
	ok "prefix with + or / after $n tokens: $SP"
	api GET /v1/me "" "$ST"; expect "token with special prefix authenticates" 200
	api DELETE "$TP/$(enc "$SP")" "" "" -H 'Content-Type: application/octet-stream'
	if [ "$CODE" = 204 ] && [ ! -s "$W/body" ] && ! grep -qi '^content-length: [1-9]' "$W/hdr"; then
		ok "percent-encoded DELETE of $SP -> 204 with empty body"
	else bad "DELETE $SP -> $CODE $(cat "$W/body")"; fi
	api GET /v1/me "" "$ST"; expect "deleted token -> 401" 401
	api DELETE "$TP/$(enc "$SP")"; expect "DELETE again -> 404 standard body" 404 "d['errors'][0]['status']==404"
else bad "no prefix with + or / in 40 tokens"; fi
api DELETE "$TP/AAAAAAAAAAAA"
expect "DELETE unknown prefix -> 404, no error_code (the catalogue has no not_found)" 404 \
	"set(d)=={'message','errors'} and 'error_code' not in d['errors'][0]"
api POST "$TP" '{"description": "full"}'; TX=$(jget "d['full_token']")
api DELETE "$TP/$(enc "$TX")"; expect "DELETE with a full token instead of the prefix -> 404" 404
api GET /v1/me "" "$TX"; expect "... and the token still works" 200
api GET "$TP" "" - -H "Authorization: aivenv1 $ADMIN_TOKEN" -H 'Content-Type: application/octet-stream'
expect "GET with Content-Type application/octet-stream" 200
cnt=$(python3 - "$SIM_URL" "$ADMIN_TOKEN" "$ORG_ID" "$U1" <<'EOF'
import json, sys, urllib.request
url, tok, org, uid = sys.argv[1:]
req = urllib.request.Request("%s/v1/organization/%s/application-users/%s/access-tokens" % (url, org, uid),
                             headers={"Authorization": "aivenv1 " + tok})
toks = json.load(urllib.request.urlopen(req))["tokens"]
ps = [t["token_prefix"] for t in toks]
print(len(ps) == len(set(ps)))
EOF
)
[ "$cnt" = True ] && ok "prefixes unique in list" || bad "duplicate prefixes"

# user delete removes its tokens
api POST "$(ORGP /application-users)" '{"name": "doomed"}'; U2=$(jget "d['user_id']")
api POST "$(ORGP /application-users/$U2/access-tokens)" '{"description": "d"}'; T2=$(jget "d['full_token']")
api GET /v1/me "" "$T2"; expect "doomed user's token works" 200
api DELETE "$(ORGP /application-users/$U2)"
[ "$CODE" = 204 ] && [ ! -s "$W/body" ] && ok "DELETE user -> 204 empty body" || bad "DELETE user -> $CODE"
api GET /v1/me "" "$T2"; expect "deleted user's token -> 401" 401
api GET "$(ORGP /application-users/$U2)"; expect "deleted user -> 404" 404

# unknown paths and methods
api GET /v1/nothing/here; expect "unknown path -> 404 standard body, no error_code" 404 "d['errors'][0]['status']==404 and d['message'] and 'error_code' not in d['errors'][0]"
api PUT "$(ORGP /application-users)" '{}'; expect "wrong method -> 405" 405
api DELETE "$TP"; expect "DELETE on token list -> 405" 405

# ---------------------------------------------------------------- faults
fault() { sim_ctl POST /_sim/faults "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }
ME="$SIM_URL/v1/me"
AH="Authorization: aivenv1 $ADMIN_TOKEN"
id=$(fault '{"path": "^/v1/me$", "kind": "status", "status": 503, "count": 1}')
[[ $id =~ ^[0-9]+$ ]] && ok "POST /_sim/faults -> id $id" || bad "fault id: $id"
api GET /v1/me; expect "fault status 503 (standard body)" 503 "d['errors'][0]['status']==503"
fault '{"path": "^/v1/me$", "kind": "status", "status": 403, "error_code": "some_future_code", "more_info": "https://docs.example/e", "metadata": {"k": 1}, "count": 1}' >/dev/null
api GET /v1/me; expect "fault status: error_code (even unknown), more_info and metadata as given" 403 \
	"d['errors'][0]=={'message':'Simulated error','status':403,'error_code':'some_future_code','more_info':'https://docs.example/e','metadata':{'k':1}}"
api GET /v1/me; expect "count 1: next request normal" 200
fault '{"kind": "rate_limit", "retry_after": "2", "count": 1}' >/dev/null
api GET /v1/me
[ "$CODE" = 429 ] && grep -qi '^retry-after: 2' "$W/hdr" && ok "fault rate_limit -> 429 Retry-After: 2" || bad "rate_limit: $CODE"
fault '{"kind": "rate_limit", "count": 1}' >/dev/null
api GET /v1/me
[ "$CODE" = 429 ] && ! grep -qi '^retry-after' "$W/hdr" && ok "rate_limit without Retry-After" || bad "rate_limit no header: $CODE"
fault '{"kind": "latency", "ms": 600, "count": 1}' >/dev/null
t=$(curl -s -o /dev/null -w '%{time_total}' -H "$AH" "$ME")
python3 -c "import sys; sys.exit(0 if $t >= 0.6 else 1)" && ok "fault latency 600 ms (took ${t}s)" || bad "latency took $t"
fault '{"kind": "invalid_json", "count": 1}' >/dev/null
api GET /v1/me
if [ "$CODE" = 200 ] && ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$W/body" 2>/dev/null; then
	ok "fault invalid_json -> 200 non-JSON"; else bad "invalid_json: $CODE"; fi
fault '{"kind": "truncated", "count": 1}' >/dev/null
curl -sS -o /dev/null -H "$AH" "$ME" 2>/dev/null; rc=$?
[ $rc = 18 ] && ok "fault truncated -> curl partial file (18)" || bad "truncated rc $rc"
fault '{"kind": "oversized", "mb": 3, "count": 1}' >/dev/null
out=$(curl -sS -o "$W/big" -w '%{http_code} %{size_download}' -H "$AH" "$ME")
if [ "$out" = "200 3145728" ] && python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$W/big"; then
	ok "fault oversized 3 MB, valid JSON"; else bad "oversized: $out"; fi
rm -f "$W/big"
fault '{"kind": "oversized", "count": 1}' >/dev/null
out=$(curl -sS -o /dev/null --max-filesize 1000000 -w '%{http_code}' -H "$AH" "$ME" 2>&1)
case $out in *63*|*"Maximum file size"*|*exceed*) ok "fault oversized default 64 MB refused by --max-filesize";;
	*) bad "oversized default: $out";; esac
fault '{"kind": "wrong_content_type", "count": 1}' >/dev/null
out=$(curl -sS -o /dev/null -w '%{http_code} %{content_type}' -H "$AH" "$ME")
case $out in "200 text/html"*) ok "fault wrong_content_type -> $out";; *) bad "wrong_content_type: $out";; esac
fault '{"kind": "html_error", "count": 1}' >/dev/null
out=$(curl -sS -o "$W/body" -w '%{http_code} %{content_type}' -H "$AH" "$ME")
case $out in "502 text/html"*) grep -q '<html>' "$W/body" && ok "fault html_error -> 502 HTML" || bad "html_error body";;
	*) bad "html_error: $out";; esac
fault '{"kind": "reset", "count": 1}' >/dev/null
curl -sS -o /dev/null -H "$AH" "$ME" 2>"$W/err"; rc=$?
[ $rc = 56 ] || [ $rc = 52 ] && ok "fault reset -> curl rc $rc ($(head -c 80 "$W/err"))" || bad "reset rc $rc"
fault '{"kind": "stall", "ms": 3000, "count": 1}' >/dev/null
curl -sS -m 1 -o /dev/null -H "$AH" "$ME" 2>/dev/null; rc=$?
[ $rc = 28 ] && ok "fault stall -> client timeout (28)" || bad "stall rc $rc"
# path/method filters and the fault list
fault '{"path": "access-tokens$", "method": "GET", "kind": "status", "status": 500}' >/dev/null
api GET /v1/me; expect "filtered fault: other path unaffected" 200
api POST "$TP" '{"description":"x"}'; expect "filtered fault: other method unaffected" 200
api GET "$TP"; expect "filtered fault hits GET .../access-tokens" 500
api GET "$TP"; expect "count -1: fires until cleared" 500
sim_ctl GET /_sim/faults >"$W/body"; CODE=200
expect "GET /_sim/faults lists faults" 200 "any(f['kind']=='status' and f['count']==-1 and f['fired']==2 for f in d['faults'])"
sim_ctl DELETE /_sim/faults >/dev/null
api GET "$TP"; expect "DELETE /_sim/faults clears" 200
sim_ctl GET /_sim/faults >"$W/body"; expect "fault list empty" 200 "d['faults']==[]"
out=$(sim_ctl POST /_sim/faults '{"kind": "bogus"}')
case $out in *kind*) ok "unknown fault kind rejected";; *) bad "bogus kind: $out";; esac
fault '{"path": "^/v1/me$", "kind": "json", "body": {"user": {"user_id": "u00000000000"}}, "count": 1}' >/dev/null
api GET /v1/me; expect "fault json: a canned 200 body" 200 "d=={'user': {'user_id': 'u00000000000'}}"
fault '{"kind": "json", "status": 418, "body": [1], "count": 1}' >/dev/null
api GET /v1/me; expect "fault json: any status, any JSON" 418 "d==[1]"

# ---------------------------------------------------------------- /v1/me switch
r=$(sim_ctl POST /_sim/me '{"app_tokens": "permission_denied"}')
api GET /v1/me; expect "/_sim/me permission_denied: /v1/me -> 403 permission_denied" 403 \
	"d['errors'][0]['error_code']=='permission_denied' and d['message']==\"$PM: UserInfo\""
r=$(sim_ctl POST /_sim/me '{"app_tokens": "action_forbidden_for_application_users"}')
api GET /v1/me; expect "/_sim/me action_forbidden_for_application_users: /v1/me -> 403 with that code" 403 \
	"d['errors'][0]['error_code']=='action_forbidden_for_application_users' and d['errors'][0]['status']==403 and set(d)=={'message','errors'}"
sim_ctl GET /_sim/modes > "$W/body"; CODE=200
expect "/_sim/modes shows the /v1/me mode" 200 "d['me_app_tokens']=='action_forbidden_for_application_users'"
api GET "$TP"; expect "... other endpoints unaffected" 200
r=$(sim_ctl POST /_sim/me '{"app_tokens": "ok"}')
api GET /v1/me; expect "/_sim/me ok: 200 again" 200
out=$(sim_ctl POST /_sim/me '{"app_tokens": "maybe"}')
case $out in *app_tokens*) ok "/_sim/me: bad mode rejected";; *) bad "/_sim/me bad mode: $out";; esac

# ---------------------------------------------------------------- paging
# The API documents these lists unpaginated; where Aiven paginates, it is
# limit (30..999) with cursor or after, and next/prev/first/last/total_count
# in the response -- never offset or next_page_token.
api GET "$TP?limit=2"; n_all=$(jget "len(d['tokens'])")
expect "no page size: query parameters ignored, the list is whole ($n_all tokens)" 200 "len(d['tokens'])>2 and set(d)=={'tokens'}"
api GET "$TP"; ALL=$(jget "','.join(t['token_prefix'] for t in d['tokens'])")
r=$(sim_ctl POST /_sim/paging '{"page_size": 3}')
api GET "$TP"
expect "page size 3 (marker aiven): 3 tokens with next, prev, first, last, total_count" 200 \
	"len(d['tokens'])==3 and set(d)=={'tokens','next','prev','first','last','total_count'} and d['prev'] is None and 'cursor=' in d['next'] and d['first']!=d['last'] and 'cursor=' in d['last'] and d['total_count']==$n_all"
grep -Eqi 'offset|page_token' "$W/body" && bad "offset or next_page_token in a page: $(head -c 300 "$W/body")" ||
    ok "no offset and no next_page_token in a page"
# walk KEY START: follow KEY links from START; prints the pages' prefixes
walk() {
	AUTH="aivenv1 $ADMIN_TOKEN" python3 - "$SIM_URL" "$1" "$2" <<'EOF'
import json, os, sys, urllib.request
url, key, path = sys.argv[1:]
pages = []
while path and len(pages) < 100:
    assert "offset" not in path and "page_token" not in path, path
    req = urllib.request.Request(url + path, headers={"Authorization": os.environ["AUTH"]})
    d = json.load(urllib.request.urlopen(req))
    pages.append([t["token_prefix"] for t in d["tokens"]])
    path = d[key]
if key == "prev":
    pages.reverse()
print(len(pages), ",".join(p for page in pages for p in page))
EOF
}
out=$(walk next "$TP")
[ "$out" = "$(( (n_all + 2) / 3 )) $ALL" ] && ok "following next: every token once, in order ($(( (n_all + 2) / 3 )) pages)" ||
    bad "walk next: $out (want $ALL)"
api GET "$TP"; LAST=$(jget "d['last']")
api GET "$LAST"; expect "the last page: next null, prev set" 200 "d['next'] is None and d['prev'] and len(d['tokens'])==($n_all - 1) % 3 + 1"
out=$(walk prev "$LAST")
[ "$out" = "$(( (n_all + 2) / 3 )) $ALL" ] && ok "following prev back from last: every token once" || bad "walk prev: $out"
A3=$(echo "$ALL" | cut -d, -f3)
api GET "$TP?after=$(enc "$A3")"
expect "after=<third prefix>: the page starts at the fourth" 200 \
	"[t['token_prefix'] for t in d['tokens']]=='$ALL'.split(',')[3:6]"
api GET "$TP?limit=30"; expect "limit 30 (the minimum), page size 3: the smaller wins" 200 "len(d['tokens'])==3 and 'limit=30' in d['next']"
api GET "$TP?limit=999"; expect "limit 999 (the maximum) accepted" 200 "len(d['tokens'])==3"
for l in 29 1000 0 x -1; do
	api GET "$TP?limit=$l"; expect "limit $l -> 400" 400 "d['errors'][0]['error_code']=='bad_request' and '30' in d['message']"
done
api GET "$TP?cursor=bogus"; expect "a cursor the server did not make -> 400" 400
api GET "$TP?after=NoSuchPrefix"; expect "after an unknown item -> 400" 400
api GET "$TP?after=$(enc "$A3")&cursor=x"; expect "cursor and after together -> 400" 400
for m in next total_count first,last prev; do
	r=$(sim_ctl POST /_sim/paging "{\"marker\": \"$m\"}")
	api GET "$TP"
	expect "marker $m: only those keys" 200 "set(d)=={'tokens'} | set('$m'.split(',')) and len(d['tokens'])==3"
done
api GET "$TP"; expect "marker prev on the first page: prev null" 200 "d['prev'] is None"
r=$(sim_ctl POST /_sim/paging '{"marker": "none"}')
api GET "$TP"; expect "marker none: a silent cut" 200 "len(d['tokens'])==3 and set(d)=={'tokens'}"
out=$(sim_ctl POST /_sim/paging '{"marker": "links"}')
case $out in *marker*) ok "marker links (not Aiven's style) rejected";; *) bad "marker links: $out";; esac
r=$(sim_ctl POST /_sim/paging "{\"page_size\": $((n_all + 5)), \"marker\": \"aiven\"}")
api GET "$TP"
expect "one page holds all: next and prev null, first == last, total_count == count" 200 \
	"len(d['tokens'])==$n_all and d['next'] is None and d['prev'] is None and d['first']==d['last'] and d['total_count']==$n_all"
r=$(sim_ctl POST /_sim/paging '{"page_size": 0}')
api GET "$TP?limit=5"; expect "page size 0: whole again, limit ignored" 200 "len(d['tokens'])==$n_all and set(d)=={'tokens'}"

# ---------------------------------------------------------------- stats, latency
# A latency far longer than the test (10 minutes): the 8 requests are held
# until all 8 are sleeping at once, which only overlapping sleeps allow,
# then released by setting the latency back to 0.  No clock is read.
# First, nothing in flight (the stalled request above sleeps on after its
# client gave up).
for i in $(seq 600); do
	sim_ctl GET /_sim/stats > "$W/body"; [ "$(jget "d['in_flight']")" = 0 ] && break
	sleep 0.1
done
sim_ctl POST /_sim/stats/reset >/dev/null
sim_ctl POST /_sim/latency '{"ms": 600000}' >/dev/null
# In a subshell, so a bare wait covers exactly the curls (the simulator is
# this script's child; waiting on a pid list raced with bash's reaping).
( for i in $(seq 8); do curl -s -o /dev/null -H "$AH" "$SIM_URL$(ORGP /application-users)" & done; wait ) &
CURLS=$!
for i in $(seq 600); do   # up to 60 s for 8 curls to connect
	sim_ctl GET /_sim/stats > "$W/body"; [ "$(jget "d['in_flight']")" = 8 ] && break
	sleep 0.1
done
sim_ctl GET /_sim/stats >"$W/body"; CODE=200
expect "latency sleeps overlap: 8 requests sleeping at once" 200 "d['in_flight']==8"
sim_ctl POST /_sim/latency '{"ms": 0}' >/dev/null
wait "$CURLS"
sim_ctl GET /_sim/stats >"$W/body"; CODE=200
expect "stats: 8 parallel requests counted per route template" 200 \
	"d['requests'].get('GET /v1/organization/{organization_id}/application-users')==8"
expect "stats: max_concurrent 8, in_flight back to 0 once the latency is lifted ($(jget "d['max_concurrent']"))" 200 \
	"d['max_concurrent']==8 and d['in_flight']==0"

# ---------------------------------------------------------------- state, logs
sim_ctl GET /_sim/state >"$W/body"; CODE=200
expect "GET /_sim/state dumps users and prefixes" 200 "any(u['user_id']=='$U1' for u in d['users'])"
grep -qF "${T1:12:40}" "$W/body" && bad "state leaks full tokens" || ok "state shows no full tokens"
bad_log=0
for t in "$ADMIN_TOKEN" "$T1" "$TS" "$TF"; do
	grep -qF "${t:12:40}" "$W/access.log" "$W/sim.log" && bad_log=1
done
[ $bad_log = 0 ] && ok "logs contain no full tokens" || bad "full token in logs"
grep -q " GET /v1/me 200 ${ADMIN_TOKEN:0:12} " "$W/access.log" && ok "access log: method path status prefix" \
	|| bad "access log format"

# ---------------------------------------------------------------- scale
sim_ctl POST /_sim/stats/reset >/dev/null
t0=$(date +%s.%N)
sim_ctl POST /_sim/seed '{"users": 10000, "tokens_per_user": 10}' >"$W/body"; CODE=200
t1=$(date +%s.%N)
el=$(python3 -c "print(round($t1 - $t0, 2))")
expect "seed 10,000 users x 10 tokens in ${el}s" 200 "d['users_created']==10000 and d['tokens_created']==100000"
python3 -c "import sys; sys.exit(0 if $el < 10 else 1)" && ok "seeding under 10 s" || bad "seeding slow: $el"
echo "seed 10,000 x 10: ${el}s"
out=$(curl -sS -o "$W/body" -w '%{http_code} %{time_total} %{size_download}' -H "$AH" "$SIM_URL$(ORGP /application-users)")
set -- $out; CODE=$1
expect "list all users after seeding (${2}s, $3 bytes)" 200 "len(d['application_users'])>=10001"
echo "list 10,000+ users: ${2}s"
SU=$(jget "[u['user_id'] for u in d['application_users'] if u['name'].startswith('seed-user-')][0]")
api GET "$(ORGP /application-users/$SU/access-tokens)"
expect "seeded user has 10 tokens, mixed lifetimes" 200 \
	"len(d['tokens'])==10 and any(t['max_age_seconds'] for t in d['tokens']) and any(t['max_age_seconds'] is None for t in d['tokens'])"
sim_ctl POST /_sim/seed '{"users": 2, "tokens_per_user": 1, "return_tokens": true}' >"$W/body"
STK=$(jget "d['tokens_created_list'][0]['full_token']")
api GET /v1/me "" "$STK"; expect "seed return_tokens: seeded token authenticates (plain user)" 200
api GET "$(ORGP /application-users)" "" "$STK"; expect "seeded user is not admin" 403

# ---------------------------------------------------------------- shutdown
stop_pid "$SIM_PID"   # lib's stop_pid reaps; check the exit status separately
python3 "$SIMF" --port 0 --port-file "$W/p2" --quiet >"$W/s2.log" 2>&1 &
p2=$!; PIDS+=("$p2")
for i in $(seq 600); do [ -s "$W/p2" ] && break; sleep 0.1; done
kill -TERM "$p2"; wait "$p2"; rc=$?
[ $rc = 0 ] && ok "SIGTERM -> exit 0" || bad "SIGTERM exit $rc"
python3 "$SIMF" --port 0 --port-file "$W/p3" --quiet >"$W/s3.log" 2>&1 &
p3=$!; PIDS+=("$p3")
for i in $(seq 600); do [ -s "$W/p3" ] && break; sleep 0.1; done
kill -INT "$p3"; wait "$p3"; rc=$?
[ $rc = 0 ] && ok "SIGINT -> exit 0" || bad "SIGINT exit $rc"

finish
