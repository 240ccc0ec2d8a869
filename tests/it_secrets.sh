#!/bin/bash
# it_secrets.sh - no secret in any output, log, argv or cache file.
#
# Two secrets are followed: a known application token TK (minted by
# `aivenctl token create`, whose stdout is the one place allowed to show
# it), a second token TA enrolled with `token add`, and the admin token.
# Every aivenctl command and error path runs with -vv (debug), PAM runs
# through pamtester under pam_wrapper with `debug` and
# PAM_WRAPPER_DEBUGLEVEL=2 (the module's pam_syslog lines on stderr), and
# every aivenctl and pamtester runs through a wrapper of this test's that
# records its command line before it execs the real program (sampling
# /proc instead missed most of them on a busy machine).  Then every output,
# log line, recorded command line, the simulator's
# log and the cache files (writer env, snapshot, state) are searched for each secret
# whole and for long substrings of it: zero hits.  The search is shown to
# work on the one file that must hold TK (token create's stdout).
#
# Also: hash_equal is sodium_memcmp (disassembly), and no memcmp/strcmp/
# strncmp in libaivenauth/ or pam_aiven/ outside a reviewed allowlist.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { skip "curl not installed"; finish; exit; }
[ -x "$AB/aivenctl" ] || { bad "aivenctl not built in $AB"; finish; exit; }
O=$W/out; mkdir -p "$O"
N=0
# run CMD...: stdin from $IN (if set), outputs to $O/NNN.{out,err}
run() {
	N=$((N + 1)); local f
	f=$(printf '%s/%03d' "$O" "$N")
	printf '%s\n' "$*" > "$f.cmd"
	if [ -n "${IN+x}" ]; then
		printf '%s\n' "$IN" | "$@" > "$f.out" 2> "$f.err"
	else
		"$@" > "$f.out" 2> "$f.err" < /dev/null
	fi
	RC=$?; LAST=$f
}
alter() { python3 -c 'import sys
t=sys.argv[1]; s=t.rstrip("="); p=t[len(s):]
print(s[:-2] + ("A" if s[-2] != "A" else "B") + s[-1] + p)' "$1"; }

start_sim --log "$W/sim-access.log" || { bad "simulator did not start"; finish; exit; }
( umask 077; printf 'Authorization: aivenv1 %s\n' "$ADMIN_TOKEN" > "$W/auth.hdr" )
api() { curl -sS -X "$1" -H @"$W/auth.hdr" -H 'Content-Type: application/json' ${3:+--data "$3"} "$SIM_URL$2"; }

# ---- argv: every aivenctl / pamtester runs through a wrapper that appends
# its command line (as the program receives it) to $SNAP, then execs it.
SNAP=$W/cmdlines
: > "$SNAP"
mkdir -p "$W/bin"
wrap() {  # wrap NAME REAL: $W/bin/NAME
	printf '#!/bin/bash\nprintf "%%s\\n" "$0 $*" >> %q\nexec %q "$@"\n' "$SNAP" "$2" > "$W/bin/$1"
	chmod 755 "$W/bin/$1"
}
wrap aivenctl "$AB/aivenctl"
CTL=$W/bin/aivenctl
ctl() { "$CTL" -c "$W/aivenauth.conf" "$@"; }
command -v pamtester > /dev/null && wrap pamtester "$(command -v pamtester)"
V=-vv

# ---- the happy paths
run ctl $V sync;                    [ $RC = 0 ] || bad "sync: $(cat "$LAST.err")"
run ctl $V user create alice
run ctl $V --json user list
UA=$(jget '[u["user_id"] for u in d if u["name"]=="alice"][0]' < "$LAST.out")
run ctl $V token create "$UA" --description known
MINT=$LAST.out
TK=$(head -1 "$MINT")
[[ ${#TK} -ge 300 ]] && ok "token create printed a token (${#TK} chars)" || { bad "token create: $(cat "$LAST.err")"; finish; exit; }
TA=$(api POST "/v1/organization/$ORG_ID/application-users/$UA/access-tokens" '{"description":"added"}' | jget 'd["full_token"]')
TL=$(api POST "/v1/organization/$ORG_ID/application-users/$UA/access-tokens" '{"description":"learned"}' | jget 'd["full_token"]')
run ctl $V sync
IN=$TA run ctl $V token add "$UA";              [ $RC = 0 ] && ok "token add" || bad "token add: $(cat "$LAST.err")"
IN=$TK run ctl $V verify alice;                 [ $RC = 0 ] && ok "verify TK accepted" || bad "verify TK: $(cat "$LAST.out")"
IN=$TA run ctl $V --json verify alice --rhost 192.0.2.1
IN=$TK run ctl $V token list
IN=$TK run ctl $V inspect "${TK:0:12}"
run ctl $V status

# ---- error paths, every one with a secret in play
IN=$(alter "$TK") run ctl $V verify alice;      [ $RC = 1 ] && ok "wrong secret refused" || bad "wrong secret: rc $RC"
IN=$TK run ctl $V verify bob;                   [ $RC = 1 ] && ok "other user refused" || bad "other user: rc $RC"
IN="$TK!" run ctl $V verify alice;              [ $RC = 1 ] && ok "token+junk refused" || bad "token+junk: rc $RC"
IN="${TK}${TK}${TK}" run ctl $V verify alice;   [ $RC = 1 ] && ok "token x3 (over 1024) refused" || bad "token x3: rc $RC"
IN="${TK:0:200} ${TK:200}" run ctl $V verify alice
IN=$TK run ctl $V verify alice --scope nope --rhost 'garbage host'
IN=$TK run ctl $V token add "$UA"              # again: idempotent
IN=$TK run ctl $V token add u000000000000;      [ $RC != 0 ] && ok "token add to another user: refused ($RC)" || bad "token add other user accepted"
IN="not a token $TK" run ctl $V token add "$UA"
IN=$(alter "$TA") run ctl $V token add "$UA"
# online learning, with and without success
sed 's/^cache_dir.*/&/' "$W/aivenauth.conf" > "$W/learn.conf"; echo 'online = learn' >> "$W/learn.conf"
IN=$(alter "$TL") run "$CTL" -c "$W/learn.conf" $V verify alice
[ $RC = 1 ] && ok "online: wrong secret refused" || bad "online wrong secret rc $RC"
IN=$TL run "$CTL" -c "$W/learn.conf" $V verify alice
[ $RC = 0 ] && ok "online: learned" || bad "online learn rc $RC: $(cat "$LAST.err")"
# API faults while secrets are on the wire
sim_ctl POST /_sim/faults '{"kind":"invalid_json","path":"access-tokens$","method":"POST","count":1}' > /dev/null
run ctl $V token create "$UA"
sim_ctl POST /_sim/faults '{"kind":"truncated","path":"access-tokens$","method":"POST","count":1}' > /dev/null
run ctl $V token create "$UA"
sim_ctl POST /_sim/faults '{"kind":"status","status":500,"path":"/v1/me","count":1}' > /dev/null
IN=$(alter "$TL") run "$CTL" -c "$W/learn.conf" $V verify alice
sim_ctl DELETE /_sim/faults > /dev/null
# a wrong admin token (401), from the file and from the environment
sed "s|^api_token_file.*|api_token_file = $W/bad-token|" "$W/aivenauth.conf" > "$W/bad.conf"
( umask 077; alter "$ADMIN_TOKEN" > "$W/bad-token" )
run "$CTL" -c "$W/bad.conf" $V sync;     [ $RC = 77 ] && ok "wrong admin token: 77" || bad "wrong admin token: rc $RC"
AIVEN_AUTH_TOKEN=$(alter "$ADMIN_TOKEN") run "$CTL" -c "$W/aivenauth.conf" $V user list
AIVEN_AUTH_TOKEN=$ADMIN_TOKEN run "$CTL" -c "$W/bad.conf" $V user list
[ $RC = 0 ] && ok "AIVEN_AUTH_TOKEN overrides the file" || bad "AIVEN_AUTH_TOKEN: rc $RC"
chmod 0644 "$W/bad-token"
run "$CTL" -c "$W/bad.conf" $V sync;     [ $RC = 77 ] && ok "readable token file refused: 77" || bad "readable token file: rc $RC"
# the admin token file holding junk around the token
( umask 077; printf 'x%s\n\n%s\n' "$ADMIN_TOKEN" "$ADMIN_TOKEN" > "$W/bad-token" ); chmod 600 "$W/bad-token"
run "$CTL" -c "$W/bad.conf" $V sync
# a config that is not ours, a cache that is not there
sed "s|^cache_dir.*|cache_dir = $W/nonexistent|" "$W/aivenauth.conf" > "$W/nocache.conf"
IN=$TK run "$CTL" -c "$W/nocache.conf" $V verify alice
[ $RC = 69 ] && ok "no cache: 69" || bad "no cache: rc $RC"
printf 'api_url = %s\n' "$TK" > "$W/tokconf.conf"; chmod 644 "$W/tokconf.conf"
IN=$TK run "$CTL" -c "$W/tokconf.conf" $V verify alice
printf '%s = 1\n' "$TK" > "$W/tokconf2.conf"; chmod 644 "$W/tokconf2.conf"
IN=$TK run "$CTL" -c "$W/tokconf2.conf" $V verify alice
# revoke and rotate
run ctl $V token rotate "$UA" "${TA:0:12}" --grace 600
run ctl $V token revoke "$UA" "${TL:0:12}"
IN=$TL run ctl $V verify alice;                 [ $RC = 1 ] && ok "revoked refused" || bad "revoked: rc $RC"
run ctl $V sync
run ctl $V --json token list

# ---- PAM: pamtester under pam_wrapper, module with debug
PW=$(ls /usr/lib/x86_64-linux-gnu/libpam_wrapper.so 2>/dev/null)
SEC=/usr/lib/x86_64-linux-gnu/security
if [ -n "$PW" ] && command -v pamtester > /dev/null && [ -f "$AB/pam_aiven.so" ]; then
	mkdir -p "$W/pam.d"
	for s in aivtest:"" aivlearn:"online=learn"; do
		printf 'auth required %s config=%s debug %s\naccount required %s config=%s debug\n' \
		    "$AB/pam_aiven.so" "$W/aivenauth.conf" "${s#*:}" "$AB/pam_aiven.so" "$W/aivenauth.conf" \
		    > "$W/pam.d/${s%%:*}"
	done
	pt() {  # pt SERVICE USER TOKEN
		IN=$3 run env PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" PAM_WRAPPER_DEBUGLEVEL=2 \
		    LD_PRELOAD="$PW" "$W/bin/pamtester" -I rhost=192.0.2.7 "$1" "$2" authenticate acct_mgmt
	}
	pt aivtest alice "$TK";                      [ $RC = 0 ] && ok "PAM: TK accepted" || bad "PAM TK: $(tail -3 "$LAST.err")"
	grep -q 'SYSLOG' "$LAST.err" && ok "PAM: module syslog lines captured" || bad "PAM: no syslog lines captured"
	pt aivtest alice "$(alter "$TK")";           [ $RC != 0 ] && ok "PAM: wrong secret refused" || bad "PAM wrong secret accepted"
	pt aivtest alice "$TK$TK"
	pt aivtest alice "x$TK"
	pt aivtest alice "${TK:0:40}"
	pt aivtest "$TK" "$TK"
	pt aivtest "${TK:0:100}" "password"
	pt aivtest bob "$TK"
	pt aivlearn alice "$(alter "$TL")"
	sed -i 's/^cache_dir.*/cache_dir = \/nonexistent-aivenauth/' "$W/learn.conf"
	printf 'auth required %s config=%s debug\n' "$AB/pam_aiven.so" "$W/learn.conf" > "$W/pam.d/aivnocache"
	pt aivnocache alice "$TK";                   [ $RC != 0 ] && ok "PAM: no cache refused" || bad "PAM: no cache accepted"
else
	skip "PAM part: pamtester, libpam_wrapper or pam_aiven.so missing"
fi

# Every command line was recorded: one per aivenctl / pamtester run.
n=$(grep -c '/bin/aivenctl ' "$SNAP"); want=$(cat "$O"/*.cmd | grep -c '/bin/aivenctl \|^ctl ')
[ "$n" = "$want" ] && [ "$n" -ge 10 ] && ok "argv: all $n aivenctl command lines recorded" ||
	bad "argv: $n aivenctl command lines recorded, $want run"
n=$(grep -c '/bin/pamtester ' "$SNAP"); want=$(cat "$O"/*.cmd | grep -c '/bin/pamtester ')
if [ "$want" = 0 ]; then skip "argv: no pamtester run"
elif [ "$n" = "$want" ]; then ok "argv: all $n pamtester command lines recorded"
else bad "argv: $n pamtester command lines recorded, $want run"; fi

# ---- the search
# substrings: whole, and 48-character windows at several offsets (past the
# 12-character prefix, which is public)
needles() {
	local s=$1 i
	printf '%s\n' "$s"
	for i in 12 60 120 200 300; do
		[ $((i + 48)) -le ${#s} ] && printf '%s\n' "${s:$i:48}"
	done
}
NEEDLES=$W/needles; : > "$NEEDLES"
for s in "$TK" "$TA" "$TL" "$ADMIN_TOKEN"; do needles "$s" >> "$NEEDLES"; done
# the search works: the one file allowed to hold TK does
if grep -aqF -f "$NEEDLES" "$MINT"; then ok "search finds TK in token create's stdout (the search works)"
else bad "search does not find TK where it must be"; fi
files=()
grep aivenctl "$W/cmdlines" > "$W/cmdlines.aivenctl"
for f in "$O"/*.out "$O"/*.err "$W/cmdlines.aivenctl" "$W/sim-access.log" "$W/sim.log" \
         "$W/cache/writer/data.mdb" "$W/cache/writer/lock.mdb" "$W/cache/snapshot.mdb" "$W/cache/state"; do
	[ -f "$f" ] || continue
	[ "$f" = "$MINT" ] && continue
	# token create/rotate stdout is the token, by design
	grep -q '^ctl.* token \(create\|rotate\)\|aivenctl.* token \(create\|rotate\)' "${f%.*}.cmd" 2>/dev/null &&
	    [ "${f##*.}" = out ] && continue
	files+=("$f")
done
hits=$(grep -laF -f "$NEEDLES" "${files[@]}")
if [ -z "$hits" ]; then
	ok "no secret (whole or 48-char substring) in ${#files[@]} files: outputs, PAM syslog, argv, sim log, writer env, snapshot, state"
else
	bad "secret found in: $(echo "$hits" | tr '\n' ' ')"
fi
# the argv snapshots specifically (shorter windows: 24 characters)
if grep -aqF -f <(for s in "$TK" "$TA" "$TL" "$ADMIN_TOKEN"; do printf '%s\n' "${s:12:24}" "${s:100:24}"; done) "$W/cmdlines.aivenctl"; then
	bad "a secret in some argv"
else
	ok "no secret in any aivenctl argv ($(wc -l < "$W/cmdlines.aivenctl") command lines)"
fi
# the rotate's replacement, printed once, is not in the cache either
RT=$(for f in "$O"/*.cmd; do grep -q 'token rotate' "$f" && head -1 "${f%.cmd}.out"; done | head -1)
if [[ ${#RT} -ge 300 ]]; then
	! grep -aqF "${RT:20:48}" "$W/cache/writer/data.mdb" "$W/cache/snapshot.mdb" && ok "rotated token not in the cache" || bad "rotated token in the cache"
fi

# ---- constant-time compare
HO=$AB/obj/libaivenauth/base/hash.o
if command -v objdump > /dev/null && [ -f "$HO" ]; then
	body=$(objdump -dr --no-show-raw-insn "$HO" | awk '/<hash_equal>:/{p=1; next} /^$/{p=0} p')
	if printf '%s\n' "$body" | grep -q 'sodium_memcmp'; then ok "hash_equal calls sodium_memcmp (hash.o disassembly)"
	else bad "hash_equal does not call sodium_memcmp: $body"; fi
	if printf '%s\n' "$body" | grep -Eq '\b(memcmp|bcmp|strcmp)\b'; then bad "hash_equal calls a plain compare"; else ok "hash_equal calls no plain memcmp"; fi
	body=$(objdump -d --no-show-raw-insn "$AB/pam_aiven.so" | awk '/<hash_equal>:/{p=1; next} /^$/{p=0} p')
	printf '%s\n' "$body" | grep -q 'sodium_memcmp' && ok "pam_aiven.so: hash_equal calls sodium_memcmp" ||
		bad "pam_aiven.so: hash_equal without sodium_memcmp"
	objdump -dr "$AB/obj/libaivenauth/reader/verify.o" | grep -q 'hash_equal' && ok "verify.o calls hash_equal" ||
		bad "verify.o does not call hash_equal"
else
	skip "objdump or $HO missing"
fi
# Plain compares in the library and the module: each reviewed.  A hash or
# a token must never be compared with them (timing); a new use fails this
# test until added here with its reason.
ALLOW=$(cat <<'EOA'
libaivenauth/writer/apply.c ### int c = memcmp(a, b, an < bn ? an : bn); ### LMDB key order of prefixes/ids (public)
libaivenauth/writer/apply.c ### return d->mv_size == b->len && memcmp(d->mv_data, b->data, b->len) == 0; ### unchanged-record check at sync: both sides are this host's data, no attacker timing
libaivenauth/writer/apply.c ### return x.n == y.n && (x.n == 0 || memcmp(x.p, y.p, x.n) == 0); ### user ids/names/emails of two versions of one record (writer side)
libaivenauth/writer/apply.c ### (n.scopes_len > 0 && memcmp(n.scopes, o->scopes, n.scopes_len) != 0) || ### scopes of two versions of one record (writer side)
libaivenauth/writer/apply.c ### (n.ips_len > 0 && memcmp(n.ips, o->ips, n.ips_len) != 0)) ### ip_allowlist of two versions of one record (writer side)
libaivenauth/writer/apply.c ### if (pn < n && memcmp(p, t->prefix, pn) == 0) { ### token prefixes of one listing (public)
libaivenauth/writer/apply.c ### old.mv_size != n || memcmp(old.mv_data, ### organization id stored vs listed (public)
libaivenauth/reader/learned.c ### strcmp(l->e[i].prefix, prefix) == 0) ### token prefix (public); the learned hash itself goes through hash_equal
libaivenauth/writer/cache_write.c ### if (plen >= a->len || memcmp(a->meta->prefix, a->token, plen) != 0) { ### token prefix (public) vs its metadata
libaivenauth/base/cidr.c ### return memcmp(addr, v4_mapped, sizeof(v4_mapped)) == 0; ### IP address
libaivenauth/base/cidr.c ### if (memcmp(c->addr, addr, full) != 0) ### IP address
libaivenauth/base/config.c ### if (strcmp(key, key_names[i]) == 0) ### config key
libaivenauth/base/config_value.c ### if (plain && !((hlen == 9 && strncmp(host, "127.0.0.1", 9) == 0) || ### URL host
libaivenauth/base/config_value.c ### (hlen == 9 && strncmp(host, "localhost", 9) == 0) || ### URL host
libaivenauth/base/config_value.c ### (hlen == 5 && strncmp(host, "[::1]", 5) == 0))) { ### URL host
libaivenauth/base/config.c ### if (strcmp(v, "off") == 0) { ### config value
libaivenauth/base/config.c ### } else if (strcmp(v, "learn") == 0) { ### config value
libaivenauth/base/rec.c ### return n == a.n && memcmp(a.p, s, n) == 0; ### sv_eq: user names/ids/emails
libaivenauth/writer/sync.c ### return strcmp(x->prefix, y->prefix); ### sort by prefix (public)
libaivenauth/reader/verify.c ### if (s.n < nl && need[s.n] == ':' && memcmp(s.p, need, s.n) == 0) ### scope names
libaivenauth/net/http_client.c ### if (strcmp(host, "127.0.0.1") == 0 || ### URL host
libaivenauth/net/http_client.c ### strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 || ### URL host
libaivenauth/net/http_client.c ### strcmp(host, "::1") == 0) { ### URL host
libaivenauth/net/http.c ### if (strcmp(r->method, "POST") == 0) { ### HTTP method
libaivenauth/net/http.c ### } else if (strcmp(r->method, "GET") != 0) { ### HTTP method
pam_aiven/args.c ### if (strcmp(v, user_matches[i].name) == 0) { ### module argument
pam_aiven/args.c ### if (strcmp(v, "fail") == 0) ### module argument
pam_aiven/args.c ### else if (strcmp(v, "ignore") == 0) ### module argument
pam_aiven/args.c ### strncmp(opt_table[i].name, name, nlen) == 0) ### module argument
pam_aiven/args.c ### if (strcmp(argv[i], "debug") == 0) ### module argument
pam_aiven/args.c ### if (strncmp(argv[i], "config=", 7) == 0) { ### module argument
pam_aiven/args.c ### if (mlen != nlen || strncmp(argv[i], argv[j], nlen) != 0) ### module argument names (duplicates)
libaivenauth/base/config.c ### if (strncasecmp(v, schemes[i], strlen(schemes[i])) == 0 && ### proxy URL scheme
pam_aiven/ctxpool.c ### if (s->busy || strcmp(s->key, key) != 0) ### pool key: the module arguments from the PAM service file
pam_aiven/pam_aiven.c ### if (user == NULL || ad->user == NULL || strcmp(user, ad->user) != 0) { ### PAM user name
libaivenauth/base/acctmap_match.c ### if (idlen == strlen(u) && memcmp(u, id, idlen) == 0) ### account map: application user id (public)
libaivenauth/base/acctmap_match.c ### memcmp(u, name, nlen) == 0) { ### account map: application user name (public)
libaivenauth/base/acctmap.c ### int c = strcmp(x->pub.account, y->pub.account); ### account map: local account names (sort)
libaivenauth/base/acctmap_match.c ### return strcmp((const char *)key, l->pub.account); ### account map: local account names (bsearch)
libaivenauth/base/acctmap.c ### if (strcmp(tok, "from") == 0) { ### account map: option name
libaivenauth/base/acctmap.c ### } else if (strcmp(tok, "scope") == 0) { ### account map: option name
libaivenauth/base/acctmap.c ### if (strcmp(m->sorted[i]->pub.account, ### account map: duplicate local accounts
libaivenauth/base/acctmap_load.c ### strcmp(c->path, path) == 0 && lstat(path, &now_sb) == 0 && ### account map path (config)
libaivenauth/base/acctmap_load.c ### if (c->path == NULL || strcmp(c->path, path) != 0) { ### account map path (config)
libaivenauth/reader/verify.c ### if (strcmp(user, "root") == 0) ### PAM user name (user_match any, uid 0)
libaivenauth/reader/verify.c ### if (now < ctx->not_uid0_until && strcmp(user, ctx->not_uid0) == 0) ### PAM user name (user_match any, the last NSS answer)
pam_aiven/opts.c ### strncmp(argv[i], "account_map_file=", 17) == 0) { ### module argument
pam_aiven/pam_aiven.c ### strcmp(d.prefix, ad->prefix) != 0) { ### token prefix (public)
pam_aiven/pam_aiven.c ### if (argv[i] != NULL && strcmp(argv[i], "non_token=fail") == 0) ### module argument (config-error path)
libaivenauth/base/config_value.c ### if (strncasecmp(v, "https://", 8) == 0) { ### URL scheme
libaivenauth/base/config_value.c ### } else if (strncasecmp(v, "http://", 7) == 0) { ### URL scheme
libaivenauth/net/http_client.c ### if (strncasecmp(url, "https://", 8) == 0) { ### URL scheme
libaivenauth/net/http_client.c ### if (strncasecmp(url, "http://", 7) != 0) ### URL scheme
libaivenauth/net/json_error.c ### if (strncasecmp(s + i, needle, k) == 0) ### HTML tag search in an error page
libaivenauth/base/config_fleet.c ### if (strcmp(key, "fleet_lease_ttl") == 0) { ### config key name
libaivenauth/base/config_fleet.c ### if (strcmp(key, "fleet") == 0) { ### config key / fleet mode name
libaivenauth/base/config_fleet.c ### if (strcmp(v, "off") == 0) ### config key / fleet mode name
libaivenauth/base/config_fleet.c ### else if (strcmp(v, "publish") == 0) ### config key / fleet mode name
libaivenauth/base/config_fleet.c ### else if (strcmp(v, "follow") == 0) ### config key / fleet mode name
libaivenauth/base/config_fleet.c ### if (strcmp(key, "etcd_endpoints") == 0) ### config key / fleet mode name
libaivenauth/base/config_fleet.c ### if (strcmp(key, "etcd_prefix") == 0) ### config key / fleet mode name
libaivenauth/base/config_fleet.c ### if (strcmp(key, "etcd_ca_file") == 0) ### config key / fleet mode name
libaivenauth/base/config_fleet.c ### if (strcmp(key, "etcd_user") == 0) ### config key / fleet mode name
libaivenauth/base/config_fleet.c ### if (strcmp(key, "etcd_password_file") == 0) ### config key / fleet mode name
libaivenauth/base/config_fleet.c ### if (strcmp(key, "fleet_signing_key_file") == 0) ### config key / fleet mode name
libaivenauth/base/config_fleet.c ### if (strcmp(key, "fleet_public_keys") == 0) ### config key / fleet mode name
libaivenauth/base/config_fleet.c ### if (strcmp(key, "fleet") == 0) ### config key / fleet mode name
libaivenauth/fleet/fleet_etcd_read.c ### memcmp(kv->key, w->current.data, kv->key_len) == 0) { ### etcd key names (public)
libaivenauth/fleet/fleet_etcd_read.c ### memcmp(kv->key, w->heartbeat.data, kv->key_len) == 0) { ### etcd key names (public)
libaivenauth/fleet/fleet_etcd_write.c ### int c = memcmp(x->key.data, y->key.data, n); ### etcd key names (public)
libaivenauth/fleet/fleet_gen.c ### if (len < pl + 4 + 20 + 2 || memcmp(key, b->prefix, pl) != 0 || ### etcd key layout (public)
libaivenauth/fleet/fleet_gen.c ### if (ll == 8 && memcmp(leaf, "manifest", 8) == 0) ### etcd key layout (public)
libaivenauth/fleet/fleet_gen.c ### else if (ll > 2 && memcmp(leaf, "u/", 2) == 0) ### etcd key layout (public)
libaivenauth/fleet/fleet_apply.c ### return strcmp(sort_gen->snap.tokens[*(const size_t *)x].prefix, ### token prefixes, sort order (public)
libaivenauth/fleet/fleet_apply.c ### return strcmp(key, find_gen->snap.tokens[*(const size_t *)e].prefix); ### token prefixes, lookup (public)
libaivenauth/fleet/fleet_from_cache.c ### return strcmp(k, ((const struct aivenauth_user *)e)->user_id); ### application user ids (public)
libaivenauth/fleet/fleet_gen.c ### else if (ll > 2 && memcmp(leaf, "t/", 2) == 0) ### etcd key layout (public)
libaivenauth/fleet/fleet_gen.c ### memcmp(exp.data, key, key_len) != 0) { ### etcd key layout (public)
libaivenauth/fleet/fleet_gen.c ### memcmp(key + pl, "gen/", 4) != 0 || key[pl + 24] != '/') ### etcd key layout (public)
libaivenauth/fleet/fleet_gen.c ### int c = memcmp(a, b, an < bn ? an : bn); ### set names: user ids, token prefixes (public)
libaivenauth/fleet/fleet_etcd_write.c ### int c = a == NULL ? 1 : o == NULL ? -1 : memcmp(a->name, o->name, ### set names: user ids, token prefixes (public)
libaivenauth/fleet/fleet_publish.c ### strcmp(nw->e[i].name, old->e[j].name); ### set names: user ids, token prefixes (public)
libaivenauth/fleet/fleet_published.c ### strcmp(out->e[i - 1].name, out->e[i].name) >= 0)) ### set names: user ids, token prefixes (public)
libaivenauth/fleet/fleet_rec.c ### if (memcmp(hdr, MAGIC, sizeof(MAGIC)) != 0 || hdr[4] != FLEET_VERSION) ### record magic
libaivenauth/fleet/fleet_rec.c ### memcmp(expect_org, org, org_len) != 0)) ### organization id (public, inside a verified signature)
libaivenauth/base/pinned_keys.c ### if (memcmp(out->pk[i], pk, FLEET_PK_BYTES) == 0) { ### pinned public keys (public)
libaivenauth/fleet/fleet_rec.c ### int c = memcmp(a, b, an < bn ? an : bn); ### etcd key order (public)
libaivenauth/fleet/fleet_lead.c ### if (r.lease != 0 && (strcmp(r.host, id) != 0 || ### the leader lease's host name (public)
libaivenauth/fleet/fleet_lead.c ### strcmp(r.boot_id, boot) != 0 || r.dir_dev != dev || ### the kernel's boot id (not a secret)
libaivenauth/fleet/fleet_lead.c ### strcmp(v.leader, id) == 0) { ### publisher id in the leader key (public)
libaivenauth/fleet/fleet_lead.c ### if (strcmp(v.leader, id) == 0) ### publisher id in the leader key (public)
libaivenauth/fleet/fleet_publish.c ### v.leader_lease == stored && strcmp(v.leader, id) == 0) { ### publisher id in the leader key (public)
libaivenauth/net/etcd_json.c ### strcmp(json_string_value(t), "PUT") == 0)) ### watch event type
libaivenauth/net/etcd_json.c ### strcmp(json_string_value(t), "DELETE") == 0) ### watch event type
libaivenauth/net/json.c ### strcmp(json_string_value(id), user_id) != 0) || ### /v1/me user id vs the synced owner (public ids)
libaivenauth/net/json_error.c ### hit = json_is_string(v) && strcmp(json_string_value(v), code) == 0; ### API error_code
libaivenauth/net/json_error.c ### strcmp(json_string_value(c), code) == 0) ### API error_code
libaivenauth/base/file.c ### if (strcmp(real, dir) != 0 && strlen(real) + 2 <= WALK_PATH_MAX) { ### file paths (the parent-directory walk)
libaivenauth/base/file.c ### snprintf(dir, sizeof(dir), "%s/x", strcmp(real, "/") == 0 ? ### file paths (the parent-directory walk)
libaivenauth/base/file.c ### } else if (strcmp(real, dir) != 0) { ### file paths (the parent-directory walk)
libaivenauth/base/dupnames_rec.c ### int c = n > 0 ? memcmp(x->p, y->p, n) : 0; ### application user names (public), sorted
libaivenauth/base/dupnames_rec.c ### return memcmp(a, b, DUPNAMES_DIGEST); ### digests of application user names (public), sorted and searched
libaivenauth/reader/dupnames.c ### if (!dn->valid || memcmp(id, no_id, sizeof(id)) == 0 || ### snapshot id (a cache key, not a secret)
libaivenauth/reader/dupnames.c ### memcmp(id, dn->snap_id, sizeof(id)) != 0) { ### snapshot id (a cache key, not a secret)
libaivenauth/reader/dupnames.c ### dn->valid = memcmp(id, no_id, sizeof(id)) != 0; ### snapshot id (a cache key, not a secret)
libaivenauth/fleet/fleet_from_cache.c ### if (strcmp(tk->prefix, j.e[i].prefix) != 0) ### token prefix (public) of a journaled revocation
libaivenauth/fleet/fleet_from_cache.c ### strcmp(tk->user_id, j.e[i].user_id) == 0) { ### application user id (public) of a journaled revocation
libaivenauth/writer/revoke_fold.c ### if (j.kind[i] == REVJ_ENTRY && strcmp(j.e[i].prefix, prefix) == 0 && ### token prefix (public) in the revocation journal
libaivenauth/writer/revoke_fold.c ### strcmp(j.e[i].user_id, user_id) == 0) { ### application user id (public) in the revocation journal
libaivenauth/writer/sync.c ### if (hit->user_id == NULL || strcmp(hit->user_id, user_id) != 0) { ### application user id (public) of a listed token
libaivenauth/writer/sync.c ### strcmp(j->e[i].prefix, prefix) == 0) ### token prefix (public) in the revocation journal
libaivenauth/writer/revoke_fold.c ### if (strcmp(j->hdr.over[i].prefix, prefix) == 0 && ### token prefix (public) on the journal's overflow mark
libaivenauth/writer/revoke_fold.c ### strcmp(j->hdr.over[i].user_id, user_id) == 0) { ### application user id (public) on the journal's overflow mark
libaivenauth/writer/revoke_fold.c ### strcmp(j->hdr.over[i].user_id, user_id) == 0) ### application user id (public) on the journal's overflow mark
libaivenauth/writer/revoke_fold.c ### strcmp(j->e[k].prefix, j->hdr.over[i].prefix) == 0 && ### token prefix (public): an overflowed revocation already journaled?
libaivenauth/writer/revoke_fold.c ### strcmp(j->e[k].user_id, j->hdr.over[i].user_id) == 0) ### application user id (public): an overflowed revocation already journaled?
pam_aiven/args.c ### if (strcmp(allowed[i], d->name) == 0) ### module argument names
EOA
)
unlisted=0
while IFS= read -r hit; do
	f=${hit%%:*}; rest=${hit#*:}; code=${rest#*:}
	code=$(printf '%s' "$code" | sed 's/^[[:space:]]*//')
	if ! printf '%s\n' "$ALLOW" | awk -F' ### ' -v f="$f" -v c="$code" \
	    '$1 == f && $2 == c { found = 1 } END { exit !found }'; then
		bad "unreviewed plain compare: $f: $code"; unlisted=$((unlisted + 1))
	fi
done < <(cd "$TOP" && grep -nE '\b(memcmp|strcmp|strncmp|strcasecmp|strncasecmp|bcmp)[[:space:]]*\(' \
    libaivenauth/*/*.c pam_aiven/*.c | grep -vE '^[^:]*:[0-9]+:[[:space:]]*(/?\*|//)')
[ $unlisted = 0 ] && ok "every memcmp/strcmp/strncmp in libaivenauth/ and pam_aiven/ is on the reviewed allowlist (none on a hash or token)"
finish
