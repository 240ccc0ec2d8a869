#!/bin/bash
# it_accounts.sh - the local account map (aivenauth-accounts(5)) end to
# end: tokens made through aivenctl against the API simulator, pamtester
# through Linux-PAM (pam_wrapper, a private service directory), a real
# sshd, and `aivenctl verify --user-match map`, which must agree with PAM
# on every case; then inspect, audit and doctor on the same map.
#
# Run: AIVENAUTH_BUILD=$PWD/build AIVENAUTH_TOP=$PWD bash tests/it_accounts.sh
# (as root for sshd and for the owner case; the rest runs as anyone).
#
# The CI jobs of the README: application users ci-runner and
# terraform-prod log in as one local account with their own tokens; a
# third (intruder) is refused; nobody gets root without a line.  sshd
# needs a real Unix account and /etc/passwd is not ours to edit, so
# there the shared account is `nobody` (the README's `deploy`).
. "$(dirname "$0")/lib.sh"

MOD="$AB/pam_aiven.so"
SEC=/usr/lib/x86_64-linux-gnu/security
PW_LIB=libpam_wrapper.so
ROOT=false; [ "$(id -u)" = 0 ] && ROOT=true
need() { command -v "$1" >/dev/null 2>&1; }

[ -r "$MOD" ] || { bad "no module at $MOD"; finish; exit; }
need pamtester || { skip "pamtester not installed"; finish; exit; }
ldconfig -p | grep -q "$PW_LIB" || [ -e "/usr/lib/x86_64-linux-gnu/$PW_LIB" ] ||
    { skip "libpam_wrapper.so missing (package libpam-wrapper)"; finish; exit; }

start_sim || { bad "simulator did not start"; finish; exit; }
S="$W/secrets"; mkdir -m 0700 "$S"
mkuser() {
	ctl --json user create "$1" > "$W/user-$1.json" 2>"$W/user-$1.err" || return 1
	jget "d['user_id']" < "$W/user-$1.json"
}
mktoken() {   # USER_ID NAME [token create options]: token in $S/NAME
	local uid=$1 name=$2; shift 2
	( umask 077; ctl token create "$uid" --description "accounts $name" "$@" \
	    > "$S/$name" 2>"$W/token-$name.err" ) || return 1
}
tok() { head -1 "$S/$1"; }
pfx() { head -c 12 "$S/$1"; }

CI=$(mkuser ci-runner) && TF=$(mkuser terraform-prod) && IN=$(mkuser intruder) &&
    BK=$(mkuser backup-nightly) && GR=$(mkuser grafana) ||
    { bad "user create: $(cat "$W"/user-*.err)"; finish; exit; }
mktoken "$CI" ci && mktoken "$CI" ci_rev && mktoken "$TF" tf && mktoken "$IN" in &&
    mktoken "$BK" bk && mktoken "$GR" gr --scope user:read && mktoken "$GR" gr2 ||
    { bad "token create: $(cat "$W"/token-*.err)"; finish; exit; }
ctl sync > /dev/null 2>"$W/sync.err" || bad "sync: $(cat "$W/sync.err")"
ctl token revoke "$CI" "$(pfx ci_rev)" > /dev/null 2>"$W/revoke.err" ||
    bad "revoke: $(cat "$W/revoke.err")"

MAP="$W/accounts"
write_map() { printf '%s' "$1" > "$MAP.new" && chmod 0644 "$MAP.new" && mv "$MAP.new" "$MAP"; }
write_map "# local account   application users (names, u-ids, globs)   options
deploy            ci-runner $TF
backup            backup-*              from=127.0.0.0/8
offsite           backup-*              from=10.0.0.0/8
postgres-ro       grafana               scope=projects:read
nobody            ci-runner terraform-prod
"

mkdir -p "$W/pam.d"
svc() {   # NAME ARGS
	cat > "$W/pam.d/$1" <<EOT
auth     required  $MOD config=$W/aivenauth.conf $2
account  required  $MOD config=$W/aivenauth.conf $2
session  required  $SEC/pam_permit.so
password required  $SEC/pam_deny.so
EOT
}
svc aivmap "user_match=map account_map=$MAP"
svc aivany "user_match=any"
printf 'auth required %s/pam_deny.so\naccount required %s/pam_deny.so\n' $SEC $SEC > "$W/pam.d/other"
chmod -R a+rX "$W/pam.d"
export PAM_WRAPPER_SERVICE_DIR="$W/pam.d" PAM_WRAPPER_DEBUGLEVEL=2

# pam TOKEN ACCOUNT SERVICE RHOST -> 0 accepted, 1 refused, 2 broken; the
# module's log line (pam_syslog through pam_wrapper) in $W/pam.last
pam() {
	tok "$1" | PAM_WRAPPER=1 LD_PRELOAD=$PW_LIB pamtester -I rhost="$4" "$3" "$2" \
	    authenticate acct_mgmt > "$W/pam.last" 2>&1
	local rc=$?
	cat "$W/pam.last" >> "$W/pam.all"
	[ $rc = 0 ] && return 0
	grep -qE 'Authentication failure|Authentication service cannot retrieve|Permission denied|Error in service module|Critical error|System error' "$W/pam.last" && return 1
	return 2
}
# vfy TOKEN ACCOUNT RHOST -> aivenctl verify's exit code, output in $W/vfy.last
vfy() {
	tok "$1" | ctl verify --user-match map --account-map "$MAP" --rhost "$3" "$2" \
	    > "$W/vfy.last" 2>&1
}

# case DESC TOKEN ACCOUNT RHOST accept|REASON: PAM and verify agree, and
# the module's log names the reason and both users.
case_() {
	local desc=$1 t=$2 acct=$3 rh=$4 want=$5 prc vrc
	pam "$t" "$acct" aivmap "$rh"; prc=$?
	vfy "$t" "$acct" "$rh"; vrc=$?
	if [ "$want" = accept ]; then
		if [ $prc = 0 ] && [ $vrc = 0 ]; then ok "$desc: accepted by PAM and verify"
		else bad "$desc: want accepted, PAM rc=$prc verify rc=$vrc: $(tail -2 "$W/pam.last") / $(head -1 "$W/vfy.last")"; fi
	else
		if [ $prc = 1 ] && [ $vrc = 1 ] && grep -q "reason=$want" "$W/pam.last" &&
		    grep -q "^denied: $want:" "$W/vfy.last"; then
			ok "$desc: refused by PAM and verify, reason $want"
		else
			bad "$desc: want $want, PAM rc=$prc verify rc=$vrc: $(grep -o 'reason=[a-z-]*' "$W/pam.last" | head -1) / $(head -1 "$W/vfy.last")"
		fi
	fi
}

case_ "ci-runner as deploy" ci deploy 127.0.0.1 accept
grep -q "user=deploy app_user=ci-runner($CI) rhost=127.0.0.1 prefix=$(pfx ci) decision=accepted" "$W/pam.last" &&
    ok "decision line names the account and the application user" ||
    bad "decision line: $(grep decision= "$W/pam.last" | head -1)"
case_ "terraform-prod (listed by id) as deploy" tf deploy 127.0.0.1 accept
case_ "intruder as deploy" in deploy 127.0.0.1 map-not-listed
grep -q "user=deploy app_user=intruder($IN)" "$W/pam.last" &&
    ok "refusal names the application user too" || bad "refusal line without app_user"
case_ "ci-runner as root (no line)" ci root 127.0.0.1 map-no-line
case_ "intruder as root (no line)" in root 127.0.0.1 map-no-line
case_ "ci-runner as its own name (no line)" ci ci-runner 127.0.0.1 map-no-line
case_ "glob + from= inside" bk backup 127.0.0.1 accept
case_ "glob + from= outside" bk offsite 127.0.0.1 map-from
case_ "glob, not matching" ci backup 127.0.0.1 map-not-listed
case_ "scope= the token lacks" gr postgres-ro 127.0.0.1 map-scope
case_ "scope= on a token without scopes" gr2 postgres-ro 127.0.0.1 accept
case_ "revoked token of a listed user" ci_rev deploy 127.0.0.1 revoked

# user_match=any never admits uid 0
pam ci root aivany 127.0.0.1; rc=$?
[ $rc = 1 ] && grep -q "reason=root-refused" "$W/pam.last" &&
    ok "user_match=any refuses root (root-refused)" || bad "user_match=any and root: rc=$rc $(grep -o 'reason=[a-z-]*' "$W/pam.last")"
pam ci deploy aivany 127.0.0.1 && ok "user_match=any still admits other accounts" ||
    bad "user_match=any refused deploy: $(tail -2 "$W/pam.last")"
tok ci | ctl verify --user-match any root > "$W/vfy.last" 2>&1; rc=$?
[ $rc = 1 ] && grep -q "^denied: root-refused:" "$W/vfy.last" &&
    ok "verify --user-match any refuses root too" || bad "verify any root: rc=$rc $(head -1 "$W/vfy.last")"

# ---------------------------------------------------------------- edits
write_map "deploy ci-runner
root   terraform-prod
"
case_ "after an edit: root by its explicit line" tf root 127.0.0.1 accept
case_ "after an edit: terraform-prod no longer deploy" tf deploy 127.0.0.1 map-not-listed

# ---------------------------------------------------------------- hostile maps
GOOD="deploy ci-runner terraform-prod
"
broken() {   # DESC LOGGED: PAM refuses (service error), verify too, both say why
	local desc=$1 logged=$2 prc vrc
	pam ci deploy aivmap 127.0.0.1; prc=$?
	vfy ci deploy 127.0.0.1; vrc=$?
	if [ $prc = 1 ] && grep -q 'reason=map-unavailable' "$W/pam.last" &&
	    grep -qF -- "$logged" "$W/pam.last" && [ $vrc != 0 ] && [ $vrc != 1 ] &&
	    grep -qF -- "$logged" "$W/vfy.last"; then
		ok "$desc: refused with \"$logged\""
	else
		bad "$desc: PAM rc=$prc verify rc=$vrc: $(grep -E 'map|decision' "$W/pam.last" | head -2) / $(head -2 "$W/vfy.last")"
	fi
}
write_map "deploy ci-runner
backup backup-* from=10.0.0.0/99
"
broken "syntax error" "$MAP:2:22: "
write_map "$GOOD"; chmod 0666 "$MAP"
broken "mode 0666" "world-writable"
write_map "$GOOD"; chmod 0664 "$MAP"
broken "mode 0664" "group-writable"
write_map "$GOOD"
if $ROOT; then
	chown nobody "$MAP"
	broken "owner nobody" "owned by uid"
	chown root "$MAP"
fi
mv "$MAP" "$MAP.real"; ln -s "$MAP.real" "$MAP"
broken "symlink" "symlink"
rm -f "$MAP"; mv "$MAP.real" "$MAP"
printf 'deploy ci-runner\0terraform-prod\n' > "$MAP"
broken "NUL byte" "NUL byte"
head -c 9000000 /dev/zero | tr '\0' '\n' > "$MAP"
broken "a 9 MB file" "too large"
{ printf 'deploy '; head -c 1048576 /dev/zero | tr '\0' a; printf '\n'; } > "$MAP"
broken "a line of 1 MB" "line longer than 65536 bytes"
rm -f "$MAP"
broken "missing" "does not exist"
# SECURITY.md O2: a map caught half-written (its last line cut: from= gone)
printf 'deploy ci-runner\nbackup backup-*' > "$MAP"
broken "a last line without its newline" "looks like a partial write"
write_map "$GOOD"
case_ "a good map again" ci deploy 127.0.0.1 accept

# ---------------------------------------------------------------- inspect, audit, doctor
echo "account_map_file = $MAP" >> "$W/aivenauth.conf"
write_map "deploy   ci-runner $TF ghost-user
root     ci-runner from=192.0.2.0/24
backup   backup-*  nobody-* from=127.0.0.0/8
"
ctl inspect "$(pfx ci)" > "$W/inspect.out" 2>&1
grep -qE "^local_accounts: +deploy, root \(from=192.0.2.0/24\)$" "$W/inspect.out" &&
    ok "inspect lists the local accounts ci-runner's token may log into" ||
    bad "inspect: $(grep local_accounts "$W/inspect.out")"
ctl --json inspect "$(pfx bk)" | jget "[a['account'] for a in d['local_accounts']]" > "$W/inspect.json" 2>&1
grep -qx "\['backup'\]" "$W/inspect.json" && ok "inspect --json: local_accounts" ||
    bad "inspect --json: $(cat "$W/inspect.json")"
ctl audit > "$W/audit.out" 2>&1
grep -q '^map-unknown-user .*line 1 (deploy): name "ghost-user"' "$W/audit.out" &&
    ok "audit flags a line naming an unknown application user" || bad "audit unknown: $(grep map- "$W/audit.out")"
grep -q '^map-root .*line 2 maps 1 application user entry to root' "$W/audit.out" &&
    ok "audit flags application users mapped to root" || bad "audit root: $(grep map- "$W/audit.out")"
grep -q '^map-empty-glob .*"nobody-\*"' "$W/audit.out" &&
    ok "audit flags a glob matching nobody" || bad "audit glob: $(grep map- "$W/audit.out")"
ctl --json audit | jget "sorted(set(f['check'] for f in d['findings'] if f['check'].startswith('map-')))" > "$W/audit.json" 2>&1
grep -qx "\['map-empty-glob', 'map-root', 'map-unknown-user'\]" "$W/audit.json" &&
    ok "audit --json: map findings" || bad "audit --json: $(cat "$W/audit.json")"
ctl doctor --offline > "$W/doctor.out" 2>&1
grep -q "^warn .*accounts.*ghost-user" "$W/doctor.out" && grep -q "^warn .*accounts.*to root" "$W/doctor.out" &&
    ok "doctor warns about unknown users and root lines" || bad "doctor: $(grep accounts "$W/doctor.out")"
write_map "deploy ci-runner
deploy terraform-prod
"
ctl doctor --offline > "$W/doctor.out" 2>&1
grep -q "^fail .*accounts.*$MAP:2:1: a second line for local account \"deploy\"" "$W/doctor.out" &&
    ok "doctor fails a broken map with file:line:column" || bad "doctor broken: $(grep accounts "$W/doctor.out")"
write_map "$GOOD"

# SECURITY.md O3: a good map in a directory others may write to
mkdir -m 0755 "$W/m"; MAP2="$W/m/accounts"
printf '%s' "$GOOD" > "$MAP2"; chmod 0644 "$MAP2"
svc aivmap2 "user_match=map account_map=$MAP2"
pam ci deploy aivmap2 127.0.0.1; prc=$?
[ $prc = 0 ] && ok "a map in a sane directory: accepted" || bad "map in $W/m: rc=$prc $(tail -2 "$W/pam.last")"
chmod 0775 "$W/m"
want="directory $W/m of account map $MAP2 is group-writable without the sticky bit"
pam ci deploy aivmap2 127.0.0.1; prc=$?
tok ci | ctl verify --user-match map --account-map "$MAP2" deploy > "$W/vfy.last" 2>&1; vrc=$?
[ $prc = 1 ] && grep -q 'reason=map-unavailable' "$W/pam.last" && grep -qF "$want" "$W/pam.last" &&
    [ $vrc != 0 ] && [ $vrc != 1 ] && grep -qF "$want" "$W/vfy.last" &&
    grep -qF "run: chmod go-w $W/m" "$W/vfy.last" &&
    ok "a map in a group-writable directory: refused, naming the directory" ||
    bad "group-writable map dir: PAM rc=$prc verify rc=$vrc: $(grep -E 'map|decision' "$W/pam.last" | head -2) / $(head -2 "$W/vfy.last")"
sed -i "s|^account_map_file = .*|account_map_file = $MAP2|" "$W/aivenauth.conf"
ctl doctor --offline > "$W/doctor.out" 2>&1
sed -i "s|^account_map_file = .*|account_map_file = $MAP|" "$W/aivenauth.conf"
grep -q "^fail .*accounts.*$want" "$W/doctor.out" &&
    ok "doctor fails the map's group-writable directory" || bad "doctor map dir: $(grep accounts "$W/doctor.out")"
chmod 0755 "$W/m"

# ---------------------------------------------------------------- sshd
if sshd_usable; then
	write_map "nobody   ci-runner terraform-prod
"
	if sshd_start aivmap "PermitRootLogin yes"; then
		ssh_case() {   # DESC TOKEN ACCOUNT 0|1
			sshd_login "$S/$2" "$3"; local rc=$?
			[ $rc = "$4" ] && ok "sshd: $1" || bad "sshd: $1 (rc=$rc, want $4)"
		}
		ssh_case "ci-runner logs in as the shared account" ci nobody 0
		ssh_case "terraform-prod logs in as the shared account" tf nobody 0
		ssh_case "intruder refused" in nobody 1
		ssh_case "ci-runner refused as root (no line)" ci root 1
		ssh_case "revoked token of a listed user refused" ci_rev nobody 1
	fi
fi

# ---------------------------------------------------------------- O4
# SECURITY.md O4: an organization admin creates a second "ci-runner".  A
# line naming ci-runner can no longer tell which: refused for both
# (map-ambiguous-name); by id, the one user; audit and doctor name the ids.
CI2=$(mkuser ci-runner) && mktoken "$CI2" ci2 ||
    bad "second ci-runner: $(cat "$W"/user-ci-runner.err "$W"/token-ci2.err 2>/dev/null)"
ctl sync > /dev/null 2>"$W/sync.err" || bad "sync: $(cat "$W/sync.err")"
write_map "deploy   ci-runner
ops      $CI
"
case_ "a name two users hold (the first)" ci deploy 127.0.0.1 map-ambiguous-name
case_ "a name two users hold (the second)" ci2 deploy 127.0.0.1 map-ambiguous-name
case_ "the same user by id" ci ops 127.0.0.1 accept
case_ "the other user, not that id" ci2 ops 127.0.0.1 map-not-listed
ctl inspect "$(pfx ci)" > "$W/inspect.out" 2>&1
grep -qE "^local_accounts: +deploy \(refused: map-ambiguous-name, list $CI on line 1\), ops$" "$W/inspect.out" &&
    ok "inspect agrees: the line by name is refused, the line by id admits" ||
    bad "inspect ambiguous: $(grep local_accounts "$W/inspect.out")"
ctl audit > "$W/audit.out" 2>&1
grep -q "^map-ambiguous-name .*line 1 (deploy): name \"ci-runner\" is held by 2 application users" "$W/audit.out" &&
    grep "^map-ambiguous-name" "$W/audit.out" | grep -q "$CI" &&
    grep "^map-ambiguous-name" "$W/audit.out" | grep -q "$CI2" &&
    ok "audit flags a name two users hold, naming both ids" || bad "audit ambiguous: $(grep map- "$W/audit.out")"
ctl doctor --offline > "$W/doctor.out" 2>&1
grep -q "^warn .*accounts.*\"ci-runner\" is held by 2 application users.*by the u-id" "$W/doctor.out" &&
    ok "doctor warns about a name two users hold" || bad "doctor ambiguous: $(grep accounts "$W/doctor.out")"

# No token in any output of the run (tokens live in $S only).
leaks=0
for f in "$W"/pam.all "$W"/vfy.last "$W"/*.out "$W"/ssh/sshd.log; do
	[ -f "$f" ] || continue
	for t in ci tf in bk gr gr2 ci_rev ci2; do
		grep -qF "$(tok $t | cut -c13-60)" "$f" && leaks=$((leaks + 1))
	done
done
[ $leaks = 0 ] && ok "no token in the logs and outputs" || bad "$leaks token leak(s)"

finish
