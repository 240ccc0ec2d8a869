#!/bin/bash
# it_doctor.sh - `aivenctl doctor` quiet enough to monitor with (issue 21):
# every pam_aiven.so line judged by the module's own argument parser (a
# typo fails with its line and "did you mean"), user_match=any, a stack
# shared with people, sshd letting root in, saslauthd -c only where it
# touches this product, fixes that fix (a config that does not load, a
# cache_dir the sync refuses, a failed sync run by hand or by the unit).
# Everything against a scratch /etc under --root; the real /etc is only read.
. "$(dirname "$0")/lib.sh"

start_sim || { bad "simulator did not start"; finish; exit 1; }
unset INVOCATION_ID
ctl sync >/dev/null 2>&1 || bad "first sync"
R=$W/etcroot; mkdir -p "$R/etc/pam.d" "$R/etc/default" "$R/etc/ssh/sshd_config.d"
doc() { ctl doctor --root "$R" --offline > "$W/doc" 2>"$W/doc.err"; }
have() { grep -qE -- "$2" "$W/doc" && ok "doctor: $1" || { bad "doctor: $1"; sed 's/^/    /' "$W/doc" "$W/doc.err"; }; }
hasnt() { grep -qE -- "$2" "$W/doc" && { bad "doctor: $1"; sed 's/^/    /' "$W/doc"; } || ok "doctor: $1"; }

# ---------------------------------------------------------------- arguments
printf 'auth required pam_aiven.so scpoe=projects:read\naccount required pam_aiven.so\n' > "$R/etc/pam.d/nginx-aiven"
printf 'auth required pam_aiven.so user_match=nmae\naccount required pam_aiven.so\n' > "$R/etc/pam.d/pg-aiven"
printf 'auth required pam_aiven.so max_stale=soon\naccount required pam_aiven.so\n' > "$R/etc/pam.d/stale-aiven"
printf '# a comment\nauth required pam_aiven.so scope=projects:read max_stale=3600 non_token=ignore\naccount required pam_aiven.so\n' > "$R/etc/pam.d/good-aiven"
doc; rc=$?
[ $rc = 1 ] && ok "doctor: a PAM line the module refuses makes it exit 1" || bad "doctor rc $rc"
have "a misspelt argument fails with file:line and did-you-mean" \
	"^fail +pam +$R/etc/pam.d/nginx-aiven:1: auth required pam_aiven.so: unknown module argument \"scpoe\" \(did you mean \"scope\"\?\).*; fix: correct line 1 of $R/etc/pam.d/nginx-aiven$"
have "a misspelt value fails with the values' did-you-mean" \
	"^fail +pam +$R/etc/pam.d/pg-aiven:1: .*module argument user_match: invalid value \"nmae\" \(did you mean \"name\"\?\)"
have "a config key with a bad value fails (the library's check)" \
	"^fail +pam +$R/etc/pam.d/stale-aiven:1: .*module argument max_stale: invalid value"
hasnt "a file with a refused line is not also ok" "^ok +pam +$R/etc/pam.d/nginx-aiven"
have "a good line passes" "^ok +pam +$R/etc/pam.d/good-aiven: auth required, account required$"
hasnt "no failure for the good file" "^fail +pam +$R/etc/pam.d/good-aiven"
rm -f "$R/etc/pam.d/pg-aiven" "$R/etc/pam.d/stale-aiven" "$R/etc/pam.d/nginx-aiven"

printf 'auth required pam_aiven.so config=%s/missing.conf\naccount required pam_aiven.so\n' "$W" > "$R/etc/pam.d/cfg-aiven"
mkdir -p "$R$W"
doc
have "config= naming a missing file fails" "^fail +pam +$R/etc/pam.d/cfg-aiven:1: .*config=$W/missing.conf: .*; fix: correct line 1"
rm -f "$R/etc/pam.d/cfg-aiven"

printf 'auth required pam_aiven.so user_match=any\naccount required pam_aiven.so\n' > "$R/etc/pam.d/any-aiven"
doc
have "user_match=any is a warning, worded for any account map" \
	"^warn +pam +$R/etc/pam.d/any-aiven:1: user_match=any: a valid token is accepted for whatever account name the client sends.*; fix: use user_match=name"
rm -f "$R/etc/pam.d/any-aiven"

# ---------------------------------------------------------------- shared stacks
cat > "$R/etc/pam.d/sshd" <<'EOF'
auth     [success=done ignore=ignore authinfo_unavail=ignore default=die] pam_aiven.so non_token=ignore
@include common-auth
account  [success=ok ignore=ignore default=bad] pam_aiven.so
@include common-account
EOF
doc
have "the README's sshd lines: a warning about token-shaped passwords of people" \
	"^warn +pam +$R/etc/pam.d/sshd:1: pam_aiven's refusal ends the login \(default=die\) in a stack people log in with"
hasnt "the README's sshd lines do not fail" "^fail +pam "
have "sshd: PermitRootLogin unset is fine" "^ok +pam +sshd: PermitRootLogin not set"
sed -i 's/ non_token=ignore//' "$R/etc/pam.d/sshd"
doc
have "default=die without non_token=ignore in a shared stack fails: people are refused" \
	"^fail +pam +$R/etc/pam.d/sshd:1: pam_aiven ends the login when it does not accept the password, in a stack people log in with.*; fix: add non_token=ignore"
printf 'auth requisite pam_aiven.so\nauth required pam_unix.so\naccount required pam_aiven.so\n' > "$R/etc/pam.d/sshd"
doc
have "requisite pam_aiven before pam_unix fails too" "^fail +pam +$R/etc/pam.d/sshd:1: pam_aiven ends the login"
printf 'auth sufficient pam_aiven.so\n@include common-auth\naccount required pam_aiven.so\n' > "$R/etc/pam.d/sshd"
doc
hasnt "auth sufficient in a shared stack: nothing to say" "^(warn|fail) +pam +$R/etc/pam.d/sshd:"
printf 'Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n' > "$R/etc/ssh/sshd_config"
printf 'PermitRootLogin yes\n' > "$R/etc/ssh/sshd_config.d/10-root.conf"
doc
have "sshd letting root log in by password with a stack that takes tokens: a warning" \
	"^warn +pam +$R/etc/ssh/sshd_config.d/10-root.conf: PermitRootLogin yes, and /etc/pam.d/sshd accepts tokens.*; fix: set PermitRootLogin prohibit-password"
rm -f "$R/etc/ssh/sshd_config.d/10-root.conf"
doc
have "sshd: PermitRootLogin no is fine" "^ok +pam +sshd: PermitRootLogin no$"
rm -f "$R/etc/pam.d/sshd"

# ---------------------------------------------------------------- saslauthd
# Stock Debian: -c, not running, and no service here uses pam_aiven.
rm -f "$R"/etc/pam.d/*
printf 'START=no\nMECHANISMS="pam"\nOPTIONS="-c -m /var/run/saslauthd"\n' > "$R/etc/default/saslauthd"
doc
hasnt "saslauthd -c with no pam_aiven service does not fail" "^fail +saslauthd"
have "... and says why it does not matter" "^ok +saslauthd +$R/etc/default/saslauthd: saslauthd -c, but no PAM service here uses pam_aiven"
printf 'auth required pam_aiven.so\naccount required pam_aiven.so\n' > "$R/etc/pam.d/smtp"
printf 'MECHANISMS="ldap"\nOPTIONS="-c"\n' > "$R/etc/default/saslauthd"
doc
hasnt "saslauthd -c that does not ask PAM does not fail" "^fail +saslauthd"
printf 'MECHANISMS="pam"\nOPTIONS="-c"\n' > "$R/etc/default/saslauthd"
doc
have "saslauthd -c asking PAM, with a pam_aiven service: fails" "^fail +saslauthd .*caches credentials"
rm -f "$R/etc/default/saslauthd"

# ---------------------------------------------------------------- fixes that fix
chmod 0666 "$W/aivenauth.conf"
doc
chmod 0644 "$W/aivenauth.conf"
have "a 0666 config: the chmod fix" "^fail +config .*writable by group or others.*; fix: chmod go-w $W/aivenauth.conf$"
hasnt "a 0666 config: no 'correct the line' where there is no line" "correct the line|line named above"
printf 'max_stale = 1h # inline\n' >> "$W/aivenauth.conf"
doc
sed -i '$d' "$W/aivenauth.conf"
have "a config with a bad line: that line, in the message and the fix" \
	"^fail +config +$W/aivenauth.conf does not load: $W/aivenauth.conf:[0-9]+: .*; fix: correct line [0-9]+ of $W/aivenauth.conf"
# SECURITY.md O3: the config's directory writable by others (they could
# swap an older config in): the library refuses it, doctor says which
# directory and the chmod
wmode=$(stat -c %a "$W"); chmod 0775 "$W"
doc
chmod "$wmode" "$W"
have "the config's directory group-writable: named, with the chmod" \
	"^fail +config +$W/aivenauth.conf does not load: directory $W of config file $W/aivenauth.conf is group-writable without the sticky bit \(owner uid [0-9]+, mode 0775\): others can swap the file; run: chmod go-w $W"
chmod 0770 "$W/cache"
doc
chmod 0750 "$W/cache"
have "a group-writable cache_dir: chmod, saying the sync refuses it too" "^fail +cache +cache_dir $W/cache .*writable by group or others: readers and the sync refuse it; fix: chmod 2750 $W/cache$"
grep -E '^fail' "$W/doc" | grep -q 'aivenctl sync' && bad "doctor: a group-writable cache_dir gets a sync that exits 77: $(grep -E '^fail' "$W/doc" | grep 'aivenctl sync')" ||
	ok "doctor: no 'aivenctl sync' fix while cache_dir is refused (the sync itself would exit 77)"
chmod 0770 "$W/cache"; ctl sync >/dev/null 2>&1; rc=$?; chmod 0750 "$W/cache"
[ $rc = 77 ] && ok "(the sync does refuse a group-writable cache_dir: exit 77)" || bad "sync with group-writable cache rc $rc"

# a failed sync by hand: no journalctl; under the unit: journalctl
sed "s|api_token_file = .*|api_token_file = $W/bad-token|" "$W/aivenauth.conf" > "$W/bad.conf"
( umask 077; echo not-a-valid-admin-token-at-all-xxxxxxxxxxxxxxxx > "$W/bad-token" )
"$AB/aivenctl" -c "$W/bad.conf" sync >/dev/null 2>&1
doc
have "a failed sync run by hand: run it again with -v" "^warn +fresh +the last sync attempt .* failed: .*; fix: it was run by hand, not by aivenauth-sync.service: run it again with -v"
hasnt "a failed sync run by hand: no journalctl" "journalctl"
INVOCATION_ID=0123456789abcdef "$AB/aivenctl" -c "$W/bad.conf" sync >/dev/null 2>&1
doc
have "a failed sync under the unit: journalctl" "^warn +fresh +the last sync attempt .* failed: .*; fix: journalctl -u aivenauth-sync.service$"
ctl sync >/dev/null 2>&1

# ---------------------------------------------------------------- revocation journal
# cache_dir/writer/revocations (SECURITY.md O1): status, metrics and
# doctor show revocations recorded but not stored yet; a full journal
# fails doctor, and `token revoke` / `token rotate` say so and exit non-zero.
J=$W/cache/writer/revocations
# journal N: N revocations recorded in the journal and nothing else (the
# library call `token revoke` makes first), for tokens the cache lacks
journal() {
	python3 - "$AB/libaivenauth.so.1" "$W/aivenauth.conf" "$JU" "$1" "$RANDOM" <<'PY' || bad "journal helper failed"
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
ctx = ctypes.c_void_p()
if lib.aivenauth_ctx_new(ctypes.byref(ctx)) != 0: sys.exit(1)
if lib.aivenauth_config_load(ctx, sys.argv[2].encode(), True) != 0: sys.exit(2)
for i in range(int(sys.argv[4])):
    if lib.aivenauth_revocation_record(ctx, sys.argv[3].encode(), ("jr%s-%03d" % (sys.argv[5], i)).encode()) != 0: sys.exit(3)
# Recorded without the cache open, the readers are withdrawn until a
# publication carries them (as `token revoke` leaves them); opening the
# writer publishes.  The tokens are unknown to the cache: still pending.
if lib.aivenauth_cache_open(ctx, 1) != 0: sys.exit(4)
PY
}
creates() { sim_ctl GET /_sim/stats | python3 -c 'import json,sys; print(sum(v for k, v in json.load(sys.stdin)["requests"].items() if k.startswith("POST") and "access-tokens" in k))'; }
jdec() { "$AB/aivenctl" -c "$W/aivenauth.conf" verify jr-bot < "$W/jt" 2>/dev/null | head -n 1 | sed -e 's/^denied: //' -e 's/:.*//'; }
ctl --json user create jr-bot > "$W/ju.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
JU=$(jget 'd["user_id"]' < "$W/ju.json")
( umask 077; ctl token create "$JU" 2>"$W/err" | head -n 1 > "$W/jt" )
JP=$(head -c 12 "$W/jt")
ctl sync > /dev/null 2>&1 || bad "sync"
doc
have "the revocation journal: allocated, none pending" "^ok +revocations +$J: none pending \(1024 slots, allocated\)$"
chmod 0644 "$J"; doc; chmod 0600 "$J"
have "a 0644 revocation journal fails: the file, its mode, the fix" \
	"^fail +revocations +$J \([^)]*0644\) is open to group or others \(must be 0600\): the writer refuses it.*; fix: chmod 0600 $J$"
journal 1
ctl status > "$W/st" 2>"$W/st.err"
grep -qE '^journaled_revocations: +1$' "$W/st" && grep -q "1 revocation(s) in the revocation journal are not stored in the cache yet: run .aivenctl sync." "$W/st.err" &&
	ok "status: journaled_revocations 1, and a warning with the fix" || bad "status: $(cat "$W/st" "$W/st.err")"
[ "$(ctl --json status 2>/dev/null | jget 'd["revocation_journal"]["pending"]')" = 1 ] &&
	ok "status --json: revocation_journal.pending 1" || bad "status --json: $(ctl --json status 2>&1)"
ctl status --prometheus 2>/dev/null | grep -qx 'aivenauth_revocations_pending 1' &&
	ok "status --prometheus: aivenauth_revocations_pending 1" || bad "metrics: $(ctl status --prometheus 2>&1 | grep revoc)"
doc
have "a pending revocation: a warning, with the fix" \
	"^warn +revocations +$J: 1 revocation\(s\) recorded, not yet stored in the cache or confirmed by the API .*; fix: free space in the file system of $W/cache .*aivenctl sync"
journal 1023
doc; rc=$?
have "a full journal fails" "^fail +revocations +$J: full, 1024 revocations recorded that the cache could not store .*: .token revoke. fails until they are stored; fix: free space in the file system of $W/cache"
[ $rc = 1 ] && ok "doctor: exit 1 with the journal full" || bad "doctor exit $rc with the journal full"
c0=$(creates)
ctl token rotate "$JU" "$JP" > "$W/rot" 2>&1; rc=$?
[ $rc != 0 ] && grep -q "the revocation journal cannot take the old token's revocation (.*): nothing created, token $JP unchanged; the journal is full: free space" "$W/rot" &&
	[ "$(creates)" = "$c0" ] && [ "$(jdec)" = accepted ] &&
	ok "token rotate with the journal full: exit $rc before creating anything (no token created at the API), the old token still accepted" ||
	bad "token rotate, journal full: exit $rc, creates $c0 -> $(creates), $(jdec): $(cat "$W/rot")"
ctl token revoke "$JU" "$JP" > "$W/rv" 2>&1; rc=$?
[ $rc = 74 ] && grep -q "the revocation journal $J is full (1024 revocations the cache could not store yet): free space" "$W/rv" &&
	grep -q "cannot record the revocation of token $JP in the revocation journal (.*): readers refuse to decide" "$W/rv" && [ "$(jdec)" = revoked ] &&
	ok "token revoke with the journal full: exit $rc, says the revocation is not recorded; the cache still stores it (revoked)" ||
	bad "token revoke, journal full: exit $rc, $(jdec): $(cat "$W/rv")"
ctl sync > /dev/null 2>&1 || bad "sync after the journal"
doc
have "after a sync: none pending" "^ok +revocations +$J: none pending"
grep -qE '^journaled_revocations: +0$' <(ctl status 2>/dev/null) && ok "status: journaled_revocations 0 after the sync" || bad "status after the sync: $(ctl status 2>&1)"

# A revocation the API has not confirmed (its DELETE keeps failing): this
# host refuses the token, but it still works at the API; status, metrics
# and doctor say so until a sync gets the DELETE through.
( umask 077; ctl token create "$JU" 2>"$W/err" | head -n 1 > "$W/jt" )
JP=$(head -c 12 "$W/jt")
ctl sync > /dev/null 2>&1 || bad "sync before the unconfirmed revocation"
sim_ctl POST /_sim/faults '{"kind":"status","status":503,"method":"DELETE"}' >/dev/null
ctl token revoke "$JU" "$JP" > /dev/null 2>&1
ctl sync > /dev/null 2>&1
ctl status > "$W/st" 2>"$W/st.err"
grep -qE '^unconfirmed_revocations: +1$' "$W/st" && grep -q "1 token(s) revoked here are still listed by the API (their DELETE has not succeeded since " "$W/st.err" &&
	[ "$(jdec)" = revoked ] &&
	ok "status: a revocation the API has not confirmed (DELETE 503, after a sync): unconfirmed_revocations 1 and a warning; the token refused here" ||
	bad "status, unconfirmed: $(jdec) $(cat "$W/st" "$W/st.err")"
[ "$(ctl --json status 2>/dev/null | jget 'd["unconfirmed_revocations"]["count"]')" = 1 ] &&
	ok "status --json: unconfirmed_revocations.count 1" || bad "status --json: $(ctl --json status 2>&1)"
ctl status --prometheus 2>/dev/null | grep -qx 'aivenauth_revocations_unconfirmed 1' &&
	ok "status --prometheus: aivenauth_revocations_unconfirmed 1" || bad "metrics: $(ctl status --prometheus 2>&1 | grep revoc)"
doc
have "doctor warns about a revocation the API has not confirmed" \
	"^warn +revocations +1 token\(s\) revoked here are still listed by the API \(DELETE not confirmed since [^)]*\): refused here, still valid at the API; fix: check the API"
sim_ctl DELETE /_sim/faults >/dev/null
ctl sync > /dev/null 2>&1 || bad "sync with the API back"
grep -qE '^unconfirmed_revocations: +0$' <(ctl status 2>/dev/null) && { doc; true; } &&
	grep -qE "^ok +revocations +every revocation made here is confirmed by the API$" "$W/doc" &&
	ok "the API back: the sync's DELETE confirms it; status 0, doctor ok" || bad "after the API came back: $(ctl status 2>&1; cat "$W/doc")"

# ---------------------------------------------------------------- levels
doc; rc=$?
grep -q '^fail' "$W/doc" && want=1 || want=0
[ $rc = $want ] && ok "doctor: exit $rc with $(grep -c '^fail' "$W/doc") fail line(s) (0: none, 1: some)" || bad "doctor exit $rc, want $want"
[ "$(find /etc/pam.d -newer "$W/aivenauth.conf" 2>/dev/null | wc -l)" = 0 ] && ok "nothing under /etc/pam.d changed" || bad "/etc/pam.d changed"
finish
