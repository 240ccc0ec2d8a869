#!/bin/bash
# it_ops.sh - the operator side: man pages (man --warnings), bash
# completion, systemd units (systemd-analyze verify), sysusers/tmpfiles
# into a scratch root, node_exporter metrics (status/sync --prometheus,
# the result of a failed sync), `aivenctl audit` and `aivenctl doctor`
# (against a scratch /etc under --root; the real /etc is only read).
. "$(dirname "$0")/lib.sh"

# ---------------------------------------------------------------- man pages
if command -v man >/dev/null; then
	for m in "$TOP"/docs/*.[358]; do
		w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null)
		[ -z "$w" ] && ok "man --warnings -l ${m##*/}: clean" ||
			bad "man warnings in ${m##*/}: $w"
	done
	# A command's tag is its whole synopsis: a tag cut after the first
	# word pushed "[--unused-days N] ..." into the text (audit, doctor).
	for c in audit doctor; do
		l=$(LC_ALL=C.UTF-8 MANWIDTH=80 man -l "$TOP/docs/aivenctl.8" 2>/dev/null | grep -A1 -E "^       $c ")
		[[ $(head -1 <<<"$l") == *"]" ]] && [[ $(sed -n 2p <<<"$l") == *Check* ]] &&
			ok "aivenctl(8): the $c entry renders its synopsis whole, text below" || bad "aivenctl(8) $c entry: $l"
	done
else
	skip "man not installed: man pages not checked"
fi

# ---------------------------------------------------------------- completion
comp() {  # comp WORDS... : completions for the last word (may be "")
	PATH="$AB:$PATH" bash --norc --noprofile -c '
		source "$1/completion/aivenctl.bash"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"
		_aivenctl; printf "%s\n" "${COMPREPLY[@]}"' _ "$TOP" "$@"
}
cp=$(bash --norc --noprofile -c 'source "$1"; complete -p aivenctl' _ "$TOP/completion/aivenctl.bash" 2>&1)
[ "$cp" = "complete -F _aivenctl aivenctl" ] && ok "completion: $cp" || bad "complete -p aivenctl: $cp"
[ "$(comp aivenctl to)" = token ] && ok "completion: aivenctl to -> token" || bad "completion of 'to': $(comp aivenctl to)"
[ "$(comp aivenctl token "" | sort | tr '\n' ' ')" = "add create list revoke rotate " ] &&
	ok "completion: token subcommands" || bad "token subcommands: $(comp aivenctl token "")"
[ "$(comp aivenctl token create u1 --ext)" = --extend-when-used ] &&
	ok "completion: token create options" || bad "token create --ext: $(comp aivenctl token create u1 --ext)"
comp aivenctl audit -- | grep -qx -- --unused-days && ok "completion: audit --unused-days" ||
	bad "audit options: $(comp aivenctl audit --)"
comp aivenctl doctor -- | grep -qx -- --offline && ok "completion: doctor --offline" || bad "doctor options"
comp aivenctl status --prom | grep -qx -- --prometheus && ok "completion: status --prometheus" || bad "status options"
mkdir -p "$W/compdir"; : > "$W/compdir/conf-a"
comp aivenctl -c "$W/compdir/con" | grep -qx "$W/compdir/conf-a" && ok "completion: -c completes file names" ||
	bad "-c file completion: $(comp aivenctl -c "$W/compdir/con")"
comp aivenctl verify u --user-match "" | grep -qx email && ok "completion: --user-match values" || bad "--user-match values"

# ---------------------------------------------------------------- systemd
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$W/units"
	for u in aivenauth-sync.service aivenauth-sync.timer aivenauth-follow.service; do
		sed "s|/usr/sbin/aivenctl|$AB/aivenctl|g" "$TOP/systemd/$u" > "$W/units/$u"
	done
	out=$(cd "$W/units" && systemd-analyze verify --man=no aivenauth-sync.service aivenauth-sync.timer aivenauth-follow.service 2>&1); rc=$?
	[ $rc = 0 ] && [ -z "$out" ] && ok "systemd-analyze verify: units clean" ||
		bad "systemd-analyze verify (rc $rc): $out"
	for k in 'ProtectSystem=strict' 'ReadWritePaths=/var/lib/aivenauth' 'NoNewPrivileges=yes' \
	    'PrivateTmp=yes' 'ProtectHome=yes' 'CapabilityBoundingSet=$' 'User=aivenauth' \
	    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'SystemCallFilter=@system-service'; do
		grep -q "^$k" "$TOP/systemd/aivenauth-sync.service" || bad "service lacks $k"
		grep -q "^$k" "$TOP/systemd/aivenauth-follow.service" || bad "follow service lacks $k"
	done
	grep -q '^Restart=on-failure' "$TOP/systemd/aivenauth-follow.service" &&
		grep -q '^ExecStart=/usr/sbin/aivenctl follow$' "$TOP/systemd/aivenauth-follow.service" &&
		ok "aivenauth-follow.service: runs aivenctl follow, restarts on failure" ||
		bad "aivenauth-follow.service: ExecStart/Restart"
	ok "service hardening directives present"
	sec=$(cd "$W/units" && systemd-analyze security --offline=yes aivenauth-sync.service 2>/dev/null |
	      sed -n 's/.*Overall exposure level for aivenauth-sync.service: \([0-9.]*\).*/\1/p')
	if [ -n "$sec" ]; then
		awk -v s="$sec" 'BEGIN { exit !(s <= 2.0) }' && ok "systemd-analyze security: exposure $sec (<= 2.0)" ||
			bad "systemd-analyze security: exposure $sec"
	fi
else
	skip "systemd-analyze not installed: units not verified"
fi
if command -v systemd-sysusers >/dev/null && command -v systemd-tmpfiles >/dev/null && [ "$(id -u)" = 0 ]; then
	R=$W/sysroot; mkdir -p "$R/usr/lib/sysusers.d" "$R/usr/lib/tmpfiles.d" "$R/etc"
	cp "$TOP/systemd/aivenauth.sysusers" "$R/usr/lib/sysusers.d/aivenauth.conf"
	cp "$TOP/systemd/aivenauth.tmpfiles" "$R/usr/lib/tmpfiles.d/aivenauth.conf"
	systemd-sysusers --root="$R" >/dev/null 2>&1 && systemd-tmpfiles --root="$R" --create >/dev/null 2>&1
	uid=$(awk -F: '$1 == "aivenauth" { print $3 ":" $4 ":" $7 }' "$R/etc/passwd")
	gid=$(awk -F: '$1 == "aivenauth" { print $3 }' "$R/etc/group")
	[[ $uid == [0-9]*:$gid:/usr/sbin/nologin ]] && [ -n "$gid" ] &&
		ok "sysusers: system user and group aivenauth ($uid)" || bad "sysusers: '$uid' '$gid'"
	st=$(stat -c '%a %u:%g' "$R/var/lib/aivenauth"); st2=$(stat -c '%a %u:%g' "$R/etc/aivenauth")
	[ "$st" = "2750 ${uid%%:*}:$gid" ] && [ "$st2" = "755 0:0" ] &&
		ok "tmpfiles: /var/lib/aivenauth 2750 aivenauth:aivenauth, /etc/aivenauth 0755 root" ||
		bad "tmpfiles: /var/lib/aivenauth $st, /etc/aivenauth $st2"
else
	skip "systemd-sysusers/systemd-tmpfiles (as root) not available"
fi

# ---------------------------------------------------------------- metrics
start_sim || { bad "simulator did not start"; finish; exit 1; }
uid=$(ctl --json user create ops-runner | sed -n 's/^ *"user_id": "\(.*\)",*$/\1/p')
ctl token create "$uid" --description deploy --max-age-seconds 86400 --ip-allowlist 10.0.0.0/8 >/dev/null 2>&1
ctl token create "$uid" --description deploy --max-age-seconds 86400 --ip-allowlist 10.0.0.0/8 >/dev/null 2>&1
empty=$(ctl --json user create ops-empty | sed -n 's/^ *"user_id": "\(.*\)",*$/\1/p')

# completion from the cache: ids shown with names, names complete to ids,
# prefixes for inspect, revoke and rotate (of the user given).
ctl sync >/dev/null 2>&1
ccomp() { comp aivenctl -c "$W/aivenauth.conf" "$@"; }
ccomp token revoke "" > "$W/c1"
grep -qx "$uid (ops-runner)" "$W/c1" && grep -qx "$empty (ops-empty)" "$W/c1" &&
	ok "completion: user ids offered with their names" || bad "completion ids+names: $(cat "$W/c1")"
[ "$(ccomp token revoke ops-r)" = "$uid" ] && ok "completion: a name completes to its user's id" ||
	bad "completion of a name: $(ccomp token revoke ops-r)"
[ "$(ccomp token list "${uid:0:4}" | wc -l)" -ge 1 ] && ccomp token list "$uid" | grep -qx "$uid" &&
	ok "completion: a unique id completes to the id alone" || bad "completion of an id: $(ccomp token list "$uid")"
mapfile -t cps < <(ctl --json token list "$uid" | sed -n 's/^ *"token_prefix": "\(.*\)",*$/\1/p')
[ "$(ccomp token revoke "$uid" "" | sort)" = "$(printf '%s\n' "${cps[@]}" | sort)" ] &&
	ok "completion: token revoke USER_ID completes that user's prefixes" || bad "completion revoke prefixes: $(ccomp token revoke "$uid" "")"
[ "$(ccomp inspect "${cps[0]:0:6}")" = "${cps[0]}" ] && ok "completion: inspect completes a prefix" ||
	bad "completion inspect: '$(ccomp inspect "${cps[0]:0:6}")' want ${cps[0]}"
ccomp token rotate "$uid" "${cps[1]:0:6}" | grep -qx -- "${cps[1]}" && ok "completion: token rotate USER_ID completes a prefix" ||
	bad "completion rotate: $(ccomp token rotate "$uid" "${cps[1]:0:6}")"
ctl sync --prometheus "$W/m/aivenauth.prom" >/dev/null 2>"$W/err"; rc=$?
[ $rc != 0 ] && grep -q "cannot write metrics" "$W/err" &&
	ok "sync --prometheus into a missing directory: error, rc $rc" || bad "missing metrics dir: rc $rc $(cat "$W/err")"
mkdir -p "$W/m"
ctl sync --prometheus "$W/m/aivenauth.prom" >/dev/null 2>"$W/err"; rc=$?
[ $rc = 0 ] && [ -s "$W/m/aivenauth.prom" ] && ok "sync --prometheus FILE writes metrics" || bad "sync --prometheus rc $rc $(cat "$W/err")"
[ "$(ls -A "$W/m")" = aivenauth.prom ] && ok "metrics written atomically (no temporary file left)" || bad "metrics dir: $(ls -A "$W/m")"
[ "$(stat -c %a "$W/m/aivenauth.prom")" = 644 ] && ok "metrics file mode 0644" || bad "metrics mode $(stat -c %a "$W/m/aivenauth.prom")"
ctl status --prometheus "$W/m/aivenauth.prom" 2>"$W/err"; rc=$?
M=$W/m/aivenauth.prom
[ $rc = 0 ] && ok "status --prometheus FILE exit 0" || bad "status --prometheus rc $rc"
miss=""
for n in aivenauth_last_sync_timestamp_seconds aivenauth_last_sync_age_seconds aivenauth_cache_generation \
    aivenauth_users aivenauth_tokens aivenauth_tokens_enrolled aivenauth_tokens_revoked aivenauth_sync_success; do
	grep -q "^# HELP $n " "$M" && grep -q "^# TYPE $n gauge$" "$M" && grep -qE "^$n [0-9.]+$" "$M" || miss="$miss $n"
done
[ -z "$miss" ] && ok "metrics with HELP/TYPE: sync time and age, generation, users, tokens, enrolled, revoked, success" ||
	bad "metrics missing or malformed:$miss"
bad_lines=$(grep -vE '^# (HELP|TYPE) aivenauth_[a-z_]+ .+$|^aivenauth_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.]+$' "$M")
[ -z "$bad_lines" ] && ok "every metrics line is valid text exposition format" || bad "bad metric lines: $bad_lines"
val() { sed -n "s/^$1 //p" "$M"; }
[ "$(val aivenauth_users)" = 3 ] && [ "$(val aivenauth_tokens)" = 3 ] && [ "$(val aivenauth_tokens_enrolled)" = 2 ] &&
	[ "$(val aivenauth_sync_success)" = 1 ] && ok "metric values: 3 users, 3 tokens, 2 enrolled, sync_success 1" ||
	bad "metric values: users $(val aivenauth_users) tokens $(val aivenauth_tokens) enrolled $(val aivenauth_tokens_enrolled) success $(val aivenauth_sync_success)"
gen=$(val aivenauth_cache_generation); ts=$(val aivenauth_last_sync_timestamp_seconds)
ctl status --prometheus | grep -q '^aivenauth_cache_up 1$' && ok "status --prometheus (no FILE) prints to stdout" || bad "status --prometheus to stdout"
# a failed sync: the API refuses the admin token
sed "s|api_token_file = .*|api_token_file = $W/bad-token|" "$W/aivenauth.conf" > "$W/bad.conf"
( umask 077; echo not-a-valid-admin-token-at-all-xxxxxxxxxxxxxxxx > "$W/bad-token" )
sleep 1
"$AB/aivenctl" -c "$W/bad.conf" sync >/dev/null 2>&1; rc=$?
[ $rc = 77 ] && ok "sync with a bad admin token fails (EX_NOPERM)" || bad "bad-token sync rc $rc"
ctl status --prometheus "$M" 2>/dev/null
[ "$(val aivenauth_sync_success)" = 0 ] && [ "$(val aivenauth_cache_generation)" = "$gen" ] &&
	[ "$(val aivenauth_last_sync_timestamp_seconds)" = "$ts" ] &&
	ok "after a failed sync: sync_success 0, generation and last good sync unchanged" ||
	bad "after failed sync: success $(val aivenauth_sync_success) gen $(val aivenauth_cache_generation)/$gen"
[ "$(val aivenauth_last_sync_attempt_exit_code)" = 77 ] && ok "after a failed sync: last_sync_attempt_exit_code 77" ||
	bad "last_sync_attempt_exit_code $(val aivenauth_last_sync_attempt_exit_code)"
# status right after a failed sync: not "fresh" with exit 0
ctl status > "$W/st" 2>"$W/st.err"; rc=$?
[ $rc = 75 ] && grep -qE '^state: +sync-failing$' "$W/st" && grep -qE '^last_attempt: +failed$' "$W/st" &&
	grep -qE '^last_attempt_time: +20[0-9-]+T[0-9:]+Z$' "$W/st" && grep -qE '^last_attempt_error: +.+' "$W/st" &&
	grep -q 'the last sync attempt .* failed' "$W/st.err" &&
	ok "status after a failed sync: state sync-failing, exit 75, the attempt's time, result and error" ||
	bad "status after failed sync: rc $rc: $(cat "$W/st" "$W/st.err")"
grep -q journalctl "$W/st.err" && bad "status: journalctl after a sync run by hand" || ok "status: no journalctl after a sync run by hand"
ctl --json status > "$W/st.json" 2>/dev/null; rc=$?
python3 - "$W/st.json" <<'PY' && [ $rc = 75 ] && ok "status --json after a failed sync: last_attempt {time, result failed, exit_code 77, error}, exit 75" || bad "status --json failed sync rc $rc: $(cat "$W/st.json")"
import json, sys
d = json.load(open(sys.argv[1]))
a = d["last_attempt"]
assert d["state"] == "sync-failing" and d["stale"] is False, d
assert a["result"] == "failed" and a["exit_code"] == 77 and a["error"] and a["time"].endswith("Z"), a
PY
ctl sync >/dev/null 2>&1; ctl status --prometheus "$M" 2>/dev/null
[ "$(val aivenauth_sync_success)" = 1 ] && ok "a good sync sets sync_success 1 again" || bad "sync_success after recovery"
ctl status > "$W/st" 2>"$W/st.err"; rc=$?
[ $rc = 0 ] && grep -qE '^state: +fresh$' "$W/st" && grep -qE '^last_attempt: +ok$' "$W/st" &&
	grep -qE '^last_attempt_error: *$' "$W/st" && ok "status after a good sync again: fresh, last_attempt ok, exit 0" ||
	bad "status after recovery: rc $rc: $(cat "$W/st" "$W/st.err")"
sed "s|cache_dir = .*|cache_dir = $W/nocache|" "$W/aivenauth.conf" > "$W/nocache.conf"
"$AB/aivenctl" -c "$W/nocache.conf" status --prometheus "$W/m/nocache.prom" 2>/dev/null; rc=$?
[ $rc = 0 ] && grep -q '^aivenauth_cache_up 0$' "$W/m/nocache.prom" && grep -q '^aivenauth_sync_success 0$' "$W/m/nocache.prom" &&
	ok "missing cache: metrics still written (cache_up 0, sync_success 0)" || bad "missing cache metrics rc $rc"

# ---------------------------------------------------------------- audit
ctl audit > "$W/audit" 2>"$W/err"; rc=$?
[ $rc = 1 ] && ok "audit with findings exits 1" || bad "audit rc $rc $(cat "$W/err")"
grep -qE "^no-tokens +user ops-empty \($empty\): .*; fix: .*aivenctl user delete $empty$" "$W/audit" &&
	ok "audit: user without tokens, with the fix" || bad "audit no-tokens: $(cat "$W/audit")"
grep -qE "^duplicate +token .* of ops-runner \($uid\): 2 live tokens share the description \"deploy\"" "$W/audit" &&
	ok "audit: two tokens for one purpose" || bad "audit duplicate: $(cat "$W/audit")"
grep -qE "^no-expiry +token .* of aiven-sim admin" "$W/audit" && grep -qE "^no-ip-allowlist +token .* of aiven-sim admin" "$W/audit" &&
	ok "audit: token without expiry and without ip_allowlist (the admin token)" || bad "audit expiry/allowlist: $(cat "$W/audit")"
grep -E "ops-runner" "$W/audit" | grep -qE "^(no-expiry|no-ip-allowlist)" &&
	bad "audit flags ops-runner's restricted tokens" || ok "audit: tokens with expiry and ip_allowlist not flagged"
[ "$(grep -c . "$W/audit")" = "$(grep -c '; fix: ' "$W/audit")" ] && ok "audit: every line has a fix" || bad "audit line without fix"
ctl --json audit > "$W/audit.json"; rc=$?
python3 - "$W/audit.json" <<'PY' && ok "audit --json: findings with check, user, prefix, message, fix" || bad "audit --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["unused_days"] == 90 and d["rotation_days"] == 365, d
checks = {f["check"] for f in d["findings"]}
assert {"no-tokens", "duplicate", "no-expiry", "no-ip-allowlist"} <= checks, checks
assert all(set(f) == {"check", "user_id", "user_name", "prefix", "sync_token", "message", "fix"} for f in d["findings"])
PY
# The sync's own admin token: marked, and never "revoke it".
grep -E "of aiven-sim admin" "$W/audit" | grep -qv "\[the sync's own admin token\]" &&
	bad "audit: an admin-token line not marked as the sync's: $(grep 'aiven-sim admin' "$W/audit")" ||
	ok "audit: the sync's own admin token is marked on every line"
grep "\[the sync's own admin token\]" "$W/audit" | grep -qiE 'fix: .*revoke' &&
	bad "audit suggests revoking the sync's own token: $(grep "sync's own" "$W/audit")" ||
	ok "audit: no fix suggests revoking the sync's own admin token"
# "unused" comes from the API's last_used_time, which logins here never
# move: said, and never a reason to revoke on its own.  A token made at
# the API and used there 92 days ago, before this host first syncs it.
enc_p() { python3 -c 'import urllib.parse,sys;print(urllib.parse.quote(sys.argv[1],safe=""))' "$1"; }
aged=$(ctl --json user create ops-aged | sed -n 's/^ *"user_id": "\(.*\)",*$/\1/p')
ap=$(api POST "/v1/organization/$ORG_ID/application-users/$aged/access-tokens" '{"description":"ci"}' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["token_prefix"])')
sim_ctl POST "/_sim/tokens/$(enc_p "$ap")/age" '{"last_used_seconds_ago": 8000000}' >/dev/null
ctl sync > "$W/async" 2>&1 || bad "sync after ageing: $(cat "$W/async")"
ctl audit > "$W/audit0" 2>&1
n_unused=$(grep -c '^unused' "$W/audit0")
[ "$n_unused" = 1 ] && grep -qE "^unused +token .* of ops-aged .*: no use seen by the API for 92 days \(last used .*, from the API's last_used_time, which logins through aivenauth \(pam_aiven, aivenctl verify\) never move\)" "$W/audit0" &&
	ok "audit: an 'unused' finding says last used comes from the API's last_used_time, which logins here never move" ||
	bad "audit unused source ($n_unused): $(cat "$W/audit0")"
grep '^unused' "$W/audit0" | grep -q 'token revoke' && bad "audit recommends revoking on last_used_time alone: $(grep '^unused' "$W/audit0" | grep 'token revoke')" ||
	ok "audit: no 'unused' finding recommends revoking on that basis alone (fix: ask who uses it)"
grep '^unused' "$W/audit0" | grep -v -q 'fix: ask who uses it before revoking' && bad "audit unused fix: $(grep '^unused' "$W/audit0")"
ctl user delete "$aged" >/dev/null 2>&1 || bad "delete ops-aged"
ctl sync >/dev/null 2>&1
# Without access to the token (api_token_file elsewhere), the last good
# sync's record still names it.
adm=$(ctl --json audit | python3 -c 'import json,sys; print(json.load(sys.stdin)["sync_token_prefix"])')
sed "s|api_token_file = .*|api_token_file = $W/no-such-token|" "$W/aivenauth.conf" > "$W/notok.conf"
adm2=$(env -u AIVEN_AUTH_TOKEN "$AB/aivenctl" -c "$W/notok.conf" --json audit | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["sync_token_prefix"], d["last_used_source"][:24])')
[ -n "$adm" ] && [ "$adm" != None ] && [ "$adm2" = "$adm the API's last_used_time" ] &&
	ok "audit --json: sync_token_prefix from the sync's record when the token cannot be read; last_used_source said" ||
	bad "audit sync_token_prefix '$adm' / '$adm2'"
ctl audit --unused-days 0 --rotation-days 0 >/dev/null; rc=$?
[ $rc = 1 ] && ok "audit --unused-days 0 --rotation-days 0 accepted" || bad "audit with 0 days rc $rc"
ctl audit --unused-days ten >/dev/null 2>&1; [ $? = 64 ] && ok "audit --unused-days ten: usage error" || bad "audit bad number"
# a clean organization: delete the findings' causes
ctl user delete "$empty" >/dev/null 2>&1
old=$(ctl --json token list "$uid" | sed -n 's/^ *"token_prefix": "\(.*\)",*$/\1/p' | head -1)
[ -n "$old" ] && ctl token revoke "$uid" "$old" >/dev/null 2>&1
ctl sync >/dev/null 2>&1
ctl audit | grep -v "aiven-sim admin" > "$W/audit2"
[ ! -s "$W/audit2" ] && ok "audit: findings gone once fixed (only the admin token left)" || bad "audit after fixes: $(cat "$W/audit2")"

# ---------------------------------------------------------------- doctor
R=$W/etcroot; mkdir -p "$R/etc/pam.d" "$R/etc/default" "$R/etc/dovecot/conf.d"
printf 'auth required pam_aiven.so\naccount required pam_aiven.so\n' > "$R/etc/pam.d/nginx-aiven"
printf 'auth required pam_aiven.so scope=projects:read\n' > "$R/etc/pam.d/no-account"
printf 'auth optional pam_aiven.so\naccount required pam_aiven.so\n' > "$R/etc/pam.d/optional-svc"
printf '# pam_aiven.so is mentioned only in a comment\nauth required pam_unix.so\n' > "$R/etc/pam.d/login"
printf 'START=yes\nMECHANISMS="pam"\nOPTIONS="-c -m /var/run/saslauthd"\n' > "$R/etc/default/saslauthd"
printf 'auth_cache_size = 10M\nauth_cache_ttl = 1 hour\n' > "$R/etc/dovecot/conf.d/10-auth.conf"
ctl doctor --root "$R" > "$W/doc" 2>"$W/doc.err"; rc=$?
[ $rc = 1 ] && ok "doctor with failures exits 1" || bad "doctor rc $rc"
have() { grep -qE "$2" "$W/doc" && ok "doctor: $1" || { bad "doctor: $1"; sed 's/^/    /' "$W/doc"; }; }
have "config ok" "^ok +config +$W/aivenauth.conf \(root:root 0644\)$"
have "api reachable with the admin token" "^ok +api +http://127.0.0.1:[0-9]+ accepts the admin token$"
have "fresh cache" "^ok +fresh +last good sync [0-9]+ s ago"
have "PAM service with auth and account" "^ok +pam +$R/etc/pam.d/nginx-aiven: auth required, account required$"
have "PAM service without account line" "^warn +pam +$R/etc/pam.d/no-account: no account line.*; fix: add .account required pam_aiven.so."
have "auth optional" "^warn +pam +$R/etc/pam.d/optional-svc: auth optional pam_aiven"
grep -q "pam.d/login" "$W/doc" && bad "doctor: a comment counted as pam_aiven use" || ok "doctor: pam_aiven in a comment ignored"
have "saslauthd -c" "^fail +saslauthd +$R/etc/default/saslauthd: saslauthd -c caches credentials.*; fix: remove -c"
have "dovecot auth_cache_size" "^warn +dovecot +$R/etc/dovecot/conf.d/10-auth.conf:1: auth_cache_size = 10M.*; fix: set auth_cache_size = 0"
have "summary line" "^[0-9]+ ok, [0-9]+ warn, [0-9]+ fail$"
grep -vE '^(ok|warn|fail) |^[0-9]+ ok, ' "$W/doc" | grep -q . && bad "doctor: line without a level" || ok "doctor: every line is ok/warn/fail"
grep -E '^(warn|fail) ' "$W/doc" | grep -v '; fix: ' | grep -q . && bad "doctor: warn/fail without fix" || ok "doctor: every warn/fail has a fix"
grep -q "$ADMIN_TOKEN" "$W/doc" "$W/doc.err" && bad "doctor printed the admin token" || ok "doctor never prints the admin token"
# fix them: exit 0 when nothing fails
printf 'OPTIONS="-m /var/run/saslauthd"\n' > "$R/etc/default/saslauthd"
printf 'auth_cache_size = 0\n' > "$R/etc/dovecot/conf.d/10-auth.conf"
ctl doctor --root "$R" --offline > "$W/doc" 2>&1; rc=$?
if getent passwd aivenauth >/dev/null; then
	skip "host has an aivenauth user: exit status with fixed files not checked"
else
	# Only the missing aivenauth user (and the modes that follow) should fail.
	grep '^fail' "$W/doc" | grep -qv ' user ' && bad "doctor: unexpected fail: $(grep '^fail' "$W/doc")" ||
		ok "doctor: after fixes only the missing aivenauth user fails"
fi
have "saslauthd fixed" "^ok +saslauthd .*no credential cache"
have "--offline skips the API" "^ok +api +not checked \(--offline\)$"
chmod 0666 "$W/aivenauth.conf"
ctl doctor --root "$R" --offline > "$W/doc" 2>&1
chmod 0644 "$W/aivenauth.conf"
have "world-writable config fails with chmod fix" "^fail +config .*writable by group or others.*; fix: chmod go-w $W/aivenauth.conf$"
chmod 0644 "$W/api-token"
ctl doctor --root "$R" --offline > "$W/doc" 2>&1
chmod 0600 "$W/api-token"
have "readable token file fails" "^fail +token +api_token_file $W/api-token \(root:root 0644\) is readable.*; fix: chmod 0600"
# The first layout (lock.mdb shared with the readers' group) is flagged.
have "new layout: writer/ private" "^ok +cache +$W/cache/writer \(.*\): private to the writer$"
touch "$W/cache/lock.mdb"; chmod 0660 "$W/cache/lock.mdb"
ctl doctor --root "$R" --offline > "$W/doc" 2>&1
rm -f "$W/cache/lock.mdb"
have "old layout (a lock.mdb shared with readers) fails with the fix" "^fail +cache +$W/cache/lock.mdb: the old layout, where readers share the writer's LMDB lock file and can change decisions; fix: .*aivenctl sync"
chmod 0750 "$W/cache/writer"
ctl doctor --root "$R" --offline > "$W/doc" 2>&1
chmod 0700 "$W/cache/writer"
have "writer/ open to the group fails with chmod 0700" "^fail +cache +$W/cache/writer .*must be private.*; fix: chmod 0700 $W/cache/writer$"
ctl --json doctor --root "$R" --offline > "$W/doc.json" 2>/dev/null
python3 - "$W/doc.json" <<'PY' && ok "doctor --json: checks with level, check, message, fix" || bad "doctor --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["ok"] + d["warn"] + d["fail"] == len(d["checks"]) > 5
assert all(c["level"] in ("ok", "warn", "fail") for c in d["checks"])
assert all((c["fix"] is None) == (c["level"] == "ok") for c in d["checks"])
PY
# ---------------------------------------------------------------- conversion
# A cache in the first layout (the writer's data.mdb in cache_dir, lock.mdb
# 0660 for the readers' group) is refused by readers with the fix, and the
# next writer run converts it, keeping every enrolled hash.
( umask 077; ctl token create "$uid" --description convert > "$W/ctok" 2>/dev/null ) || bad "token create (conversion)"
printf '%s\n' "$(cat "$W/ctok")" | ctl verify ops-runner > /dev/null 2>&1 && ok "conversion: token accepted before" || bad "conversion: token refused before"
mv "$W/cache/writer/data.mdb" "$W/cache/data.mdb"
rm -rf "$W/cache/writer" "$W/cache/snapshot.mdb" "$W/cache/state"
: > "$W/cache/lock.mdb"; chmod 0660 "$W/cache/lock.mdb"
printf '%s\n' "$(cat "$W/ctok")" | ctl verify ops-runner > "$W/cv1" 2>&1; rc=$?
[ $rc = 69 ] && grep -q "old layout.*aivenctl sync" "$W/cv1" && ok "old layout: a reader refuses it and says to run aivenctl sync (exit $rc)" ||
	bad "old layout reader: exit $rc: $(cat "$W/cv1")"
ctl sync > "$W/cv2" 2>&1 && ok "old layout: aivenctl sync converts it" || bad "conversion sync: $(cat "$W/cv2")"
[ ! -e "$W/cache/lock.mdb" ] && [ ! -e "$W/cache/data.mdb" ] && [ -f "$W/cache/writer/data.mdb" ] &&
    [ -f "$W/cache/snapshot.mdb" ] && ok "conversion: the shared lock.mdb is gone, writer/ and snapshot.mdb are there" ||
	bad "conversion layout: $(ls -la "$W/cache" "$W/cache/writer" 2>&1 | tr '\n' ' ')"
printf '%s\n' "$(cat "$W/ctok")" | ctl verify ops-runner > "$W/cv3" 2>&1 && ok "conversion: the enrolled token is still accepted" ||
	bad "after conversion: $(cat "$W/cv3")"
[ "$(find /etc/pam.d -newer "$W/aivenauth.conf" 2>/dev/null | wc -l)" = 0 ] && ok "nothing under /etc/pam.d changed" || bad "/etc/pam.d changed"
finish
