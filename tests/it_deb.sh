#!/bin/bash
# it_deb.sh - build the Debian packages (tools/build-deb), install them on
# this machine with apt-get and use them as the README's .deb route says,
# then remove and purge them, checking that nobody is locked out on the
# way:
#
#   install     aivenctl --version, the PAM module path, the aivenauth
#               user, /var/lib/aivenauth 2750, the timer enabled, man
#               pages, the pam-auth-update profile registered but not
#               enabled (/etc/pam.d unchanged);
#   use         /etc/aivenauth configured, `runuser -u aivenauth --
#               aivenctl sync` against the simulator, a token made; a PAM
#               service with the README's sshd lines for people and
#               tokens (a new file) logs in the token and a person's Unix
#               password (pam_unix, a test user); the README's separate
#               sshd-aiven service logs in the token only;
#               `pam-auth-update --enable aiven` puts tokens in
#               common-auth, people still log in;
#   remove      refused while the service file names pam_aiven.so, the
#               module still there and logins unchanged; once the file is
#               gone, removal takes the profile's lines out of common-*
#               and the person still logs in through common-auth;
#   purge       the cache, the user and group aivenauth (and the
#               memberships in it) gone; the admin token file kept, given
#               to root, and named in purge's message.
#
# The whole script runs in a private mount namespace where /etc/pam.d,
# /var/lib/pam (pam-auth-update's state) and /var/cache/debconf are
# copies: the machine's own PAM configuration is never edited, not even
# by pam-auth-update.  It does install and purge packages, and makes (and
# deletes) a test user.
#
# Slow (it builds the packages) and changes the machine: runs only with
# AIVENAUTH_TEST_DEB=1, as root, on a host without aivenauth packages.
if [ "${AIVENAUTH_TEST_DEB:-}" = 1 ] && [ "$(id -u)" = 0 ] &&
    [ -z "${AIVENAUTH_DEB_NS:-}" ] && command -v unshare >/dev/null; then
	AIVENAUTH_DEB_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

if [ "${AIVENAUTH_TEST_DEB:-}" != 1 ]; then
	skip "Debian package build/install/purge (set AIVENAUTH_TEST_DEB=1)"; finish; exit 0
fi
if [ "$(id -u)" != 0 ]; then
	skip "Debian package test needs root"; finish; exit 0
fi
if [ -z "${AIVENAUTH_DEB_NS:-}" ]; then
	bad "no private mount namespace (unshare missing): not touching /etc/pam.d"; finish; exit 1
fi
PKGS="aivenctl libpam-aiven libaivenauth1 libaivenauth-dev"
if dpkg-query -W -f='${Status}\n' $PKGS 2>/dev/null | grep -q 'ok installed'; then
	skip "aivenauth packages already installed: not touching them"; finish; exit 0
fi
t0=$(date +%s)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
HUMAN=aivtest-deb          # a local account: a person's password, and a token
HUMAN_PW='Correct-Horse-Battery-9'
SVC=aivtest-deb            # /etc/pam.d/$SVC: the README's sshd lines
SVC_COMMON=aivtest-deb-common   # /etc/pam.d/$SVC_COMMON: common-* only
SVC_TOKENS=aivtest-deb-tokens   # /etc/pam.d/$SVC_TOKENS: README's sshd-aiven
had_user=0; getent passwd aivenauth >/dev/null && had_user=1
had_etc=0; [ -e /etc/aivenauth ] && had_etc=1
if getent passwd "$HUMAN" >/dev/null; then
	bad "user $HUMAN exists already: not touching it"; finish; exit 1
fi

# The private copies (the namespace ends with this script).
for d in /etc/pam.d /var/lib/pam /var/cache/debconf; do
	mkdir -p "$W/ns$d" && cp -a "$d/." "$W/ns$d/" && mount --bind "$W/ns$d" "$d" ||
		{ bad "private copy of $d"; finish; exit 1; }
done
ok "private copies of /etc/pam.d, /var/lib/pam, /var/cache/debconf"
pam_before=$(cd /etc/pam.d && sha256sum -- * 2>/dev/null)

purge() {
	DEBIAN_FRONTEND=noninteractive apt-get purge -y $PKGS >"$W/purge.log" 2>&1
}
cleanup() {
	rm -f "/etc/pam.d/$SVC" "/etc/pam.d/$SVC_COMMON" "/etc/pam.d/$SVC_TOKENS"
	[ "$had_etc" = 1 ] || rm -f /etc/aivenauth/accounts
	dpkg-query -W -f='${Status}\n' $PKGS 2>/dev/null | grep -q 'ok installed' && purge
	getent passwd "$HUMAN" >/dev/null && userdel "$HUMAN"
	[ $had_etc = 1 ] || rm -rf /etc/aivenauth
	if [ $had_user = 0 ] && getent passwd aivenauth >/dev/null; then
		userdel aivenauth 2>/dev/null; groupdel aivenauth 2>/dev/null
	fi
	lib_cleanup
}
trap cleanup EXIT

# ------------------------------------------------------------ build

if "$TOP/tools/build-deb" "$W/debs" > "$W/build.log" 2>&1; then
	ok "tools/build-deb: dpkg-buildpackage -us -uc -b ($(( $(date +%s) - t0 )) s)"
else
	bad "package build failed"; tail -40 "$W/build.log"; finish; exit 1
fi
for p in libaivenauth1 libpam-aiven aivenctl libaivenauth-dev; do
	[ -f "$W/debs/${p}_0.1.0_$(dpkg --print-architecture).deb" ] && ok "built $p" || bad "no $p .deb"
done
if [ -f "$W/debs/lintian.txt" ]; then
	tags=$(grep -E '^[EW]: ' "$W/debs/lintian.txt")
	[ -z "$tags" ] && ok "lintian: no errors or warnings" || bad "lintian: $tags"
else
	skip "lintian not installed: packages not linted"
fi

# ------------------------------------------------------------ install

t1=$(date +%s)
if DEBIAN_FRONTEND=noninteractive apt-get install -y "$W"/debs/*_0.1.0_*.deb >"$W/apt.log" 2>&1; then
	ok "apt-get install ./*.deb"
else
	bad "apt-get install"; tail -20 "$W/apt.log"; finish; exit 1
fi
v=$(aivenctl --version 2>&1)
[ "$v" = "aivenctl 0.1.0 (libaivenauth 0.1.0)" ] && ok "aivenctl --version: $v" || bad "aivenctl --version: $v"
[ "$(command -v aivenctl)" = /usr/sbin/aivenctl ] && ok "aivenctl in /usr/sbin" || bad "aivenctl at $(command -v aivenctl)"
[ -f "/usr/lib/$MA/security/pam_aiven.so" ] && ok "PAM module at /usr/lib/$MA/security/pam_aiven.so" || bad "no PAM module"
[ -f "/usr/lib/$MA/aivenauth/aivenauth-net.so" ] && ok "network module at /usr/lib/$MA/aivenauth/" || bad "no network module"
getent passwd aivenauth | grep -q ':/usr/sbin/nologin$' && ok "system user aivenauth (nologin)" || bad "no aivenauth user"
st=$(stat -c '%a %U:%G' /var/lib/aivenauth 2>&1)
[ "$st" = "2750 aivenauth:aivenauth" ] && ok "/var/lib/aivenauth $st" || bad "/var/lib/aivenauth: $st"
if [ -d /run/systemd/system ]; then
	systemctl is-enabled aivenauth-sync.timer 2>/dev/null | grep -q enabled && ok "timer enabled" || bad "timer not enabled"
else
	[ -L /etc/systemd/system/timers.target.wants/aivenauth-sync.timer ] && ok "timer enabled (symlink; systemd not running)" ||
		bad "timer not enabled"
fi
man -w aivenctl >/dev/null 2>&1 && man -w pam_aiven >/dev/null 2>&1 && man -w 3 libaivenauth >/dev/null 2>&1 &&
	ok "man pages installed: aivenctl(8), pam_aiven(8), libaivenauth(3)" || bad "man pages"
pkg-config --modversion aivenauth 2>/dev/null | grep -qx 0.1.0 && ok "pkg-config aivenauth from libaivenauth-dev" || bad "pkg-config"
grep -qx 'Default: no' /usr/share/pam-configs/aiven 2>/dev/null &&
	ok "pam-auth-update profile /usr/share/pam-configs/aiven, Default: no" || bad "no profile, or not Default: no"
grep -qx aiven /var/lib/pam/seen && ok "profile registered with pam-auth-update (seen)" || bad "profile not registered"
[ "$pam_before" = "$(cd /etc/pam.d && sha256sum -- * 2>/dev/null)" ] &&
	ok "/etc/pam.d untouched: the profile is not enabled by installing" || bad "/etc/pam.d changed by installing"

# ------------------------------------------------------------ use

useradd -M -s /usr/sbin/nologin "$HUMAN" && printf '%s:%s\n' "$HUMAN" "$HUMAN_PW" | chpasswd &&
	ok "test user $HUMAN with a Unix password" || bad "useradd $HUMAN"
# pamtester SERVICE < FILE as root: the machine's libpam, /etc/pam.d (our copy)
pt() { pamtester "$1" "$HUMAN" authenticate acct_mgmt < "$2" 2>&1; }
printf '%s\n' "$HUMAN_PW" > "$W/pw"
printf 'not-the-password\n' > "$W/wrongpw"
login_ok() { [[ $(pt "$1" "$2") == *"account management done"* ]]; }

if start_sim; then
	# The README's .deb route: config, admin token owned by the sync
	# user, sync as that user.
	sed -e "s|^cache_dir = .*|cache_dir = /var/lib/aivenauth|" \
	    -e "s|^api_token_file = .*|api_token_file = /etc/aivenauth/api-token|" \
	    "$W/aivenauth.conf" > /etc/aivenauth/aivenauth.conf
	chmod 0644 /etc/aivenauth/aivenauth.conf
	install -o aivenauth -g aivenauth -m 0600 "$W/api-token" /etc/aivenauth/api-token
	out=$(runuser -u aivenauth -- aivenctl sync 2>&1) && ok "runuser -u aivenauth -- aivenctl sync: $out" ||
		bad "sync as aivenauth: $out"
	runuser -u aivenauth -- aivenctl user create "$HUMAN" >/dev/null 2>&1 || bad "user create"
	uid=$(runuser -u aivenauth -- aivenctl --json user list | jget '[u["user_id"] for u in d if u["name"]=="'"$HUMAN"'"][0]')
	( umask 077; runuser -u aivenauth -- aivenctl token create "$uid" > "$W/tok" 2>"$W/tok.err" ) &&
		[ -s "$W/tok" ] && ok "token created and enrolled by aivenauth" || bad "token create: $(cat "$W/tok.err")"
else
	bad "simulator"
fi

# readme_block TEXT: the first fenced block after the README line holding TEXT
readme_block() {
	awk -v m="$1" 'index($0, m) { f = 1; next }
	    f == 1 && /^```/ { f = 2; next }
	    f == 2 && /^```/ { exit }
	    f == 2 { print }' "$TOP/README.md"
}
{
	echo "# it_deb.sh: README's sshd lines for people and tokens"
	readme_block '**sshd, one service for people and tokens.**' | grep '^auth'
	echo '@include common-auth'
	readme_block '**sshd, one service for people and tokens.**' | grep '^account'
	echo '@include common-account'
} > "/etc/pam.d/$SVC"
readme_block '`/etc/pam.d/sshd-aiven`:' > "/etc/pam.d/$SVC_TOKENS"
[ "$(grep -c pam_aiven "/etc/pam.d/$SVC")" = 2 ] && grep -q '^@include common-account' "/etc/pam.d/$SVC_TOKENS" &&
	ok "PAM files from the README's two sshd recipes" || bad "README's sshd recipes not found"
printf '@include common-auth\n@include common-account\n' > "/etc/pam.d/$SVC_COMMON"
login_ok "$SVC" "$W/tok" && ok "$SVC: the token logs in through the installed module" || bad "$SVC token: $(pt "$SVC" "$W/tok")"
login_ok "$SVC" "$W/pw" && ok "$SVC: a person logs in with a Unix password (pam_unix)" || bad "$SVC person: $(pt "$SVC" "$W/pw")"
login_ok "$SVC" "$W/wrongpw" && bad "$SVC: a wrong password accepted" || ok "$SVC: a wrong password refused"
# The README's recipe logs tokens in through the local account map: the
# test's account, for its own application user.
printf '%s %s\n' "$HUMAN" "$HUMAN" > /etc/aivenauth/accounts
chmod 0644 /etc/aivenauth/accounts
login_ok "$SVC_TOKENS" "$W/tok" && ok "$SVC_TOKENS (README's separate sshd service): the token logs in" ||
	bad "$SVC_TOKENS token: $(pt "$SVC_TOKENS" "$W/tok")"
login_ok "$SVC_TOKENS" "$W/pw" && bad "$SVC_TOKENS: a Unix password accepted" ||
	ok "$SVC_TOKENS: a Unix password refused (tokens only)"
rm -f "/etc/pam.d/$SVC_TOKENS" /etc/aivenauth/accounts
login_ok "$SVC_COMMON" "$W/tok" && bad "common-auth accepts a token before the profile is enabled" ||
	ok "common-auth: no token logins until the profile is enabled"

DEBIAN_FRONTEND=noninteractive pam-auth-update --enable aiven >"$W/pau.log" 2>&1 || bad "pam-auth-update --enable aiven: $(cat "$W/pau.log")"
grep -q 'pam_aiven\.so' /etc/pam.d/common-auth && grep -q 'pam_aiven\.so' /etc/pam.d/common-account &&
	ok "pam-auth-update --enable aiven: pam_aiven.so in common-auth and common-account" || bad "profile not applied"
login_ok "$SVC_COMMON" "$W/tok" && ok "common-auth: the token logs in" || bad "common-auth token: $(pt "$SVC_COMMON" "$W/tok")"
login_ok "$SVC_COMMON" "$W/pw" && ok "common-auth: a person still logs in with a Unix password" ||
	bad "common-auth person: $(pt "$SVC_COMMON" "$W/pw")"
login_ok "$SVC_COMMON" "$W/wrongpw" && bad "common-auth: a wrong password accepted" || ok "common-auth: a wrong password refused"

# ------------------------------------------------------------ remove

if DEBIAN_FRONTEND=noninteractive apt-get remove -y libpam-aiven >"$W/remove1.log" 2>&1; then
	bad "libpam-aiven removed although /etc/pam.d/$SVC uses it"
else
	ok "apt-get remove libpam-aiven refused while /etc/pam.d/$SVC uses the module"
fi
grep -q "NOT removing pam_aiven.so" "$W/remove1.log" && grep -q "/etc/pam.d/$SVC:2: auth" "$W/remove1.log" &&
	ok "the refusal names the file and line" || { bad "refusal message"; cat "$W/remove1.log"; }
dpkg-query -W -f='${Status}\n' libpam-aiven 2>/dev/null | grep -qx 'install ok installed' &&
	[ -f "/usr/lib/$MA/security/pam_aiven.so" ] && ok "libpam-aiven still installed, module in place" ||
	bad "libpam-aiven state: $(dpkg-query -W -f='${Status}' libpam-aiven 2>&1)"
grep -q 'pam_aiven\.so' /etc/pam.d/common-auth && ok "refused before anything changed: the profile still enabled" ||
	bad "the refusal took the profile out"
login_ok "$SVC" "$W/pw" && login_ok "$SVC" "$W/tok" && ok "$SVC: person and token still log in after the refusal" ||
	bad "$SVC after the refusal: $(pt "$SVC" "$W/pw")"

rm -f "/etc/pam.d/$SVC"
usermod -aG aivenauth "$HUMAN"    # as an administrator adds www-data
id -nG "$HUMAN" | grep -qw aivenauth || bad "usermod -aG aivenauth"
purge && ok "apt-get purge (no service file names the module any more)" || { bad "apt-get purge"; tail -20 "$W/purge.log"; }
left=$(dpkg-query -W -f='${Package} ${Status}\n' $PKGS 2>/dev/null | grep -v 'not-installed')
[ -z "$left" ] && ok "packages fully purged" || bad "still known to dpkg: $left"
! grep -q 'pam_aiven' /etc/pam.d/common-auth /etc/pam.d/common-account &&
	ok "removal took the profile's lines out of common-auth and common-account" || bad "pam_aiven left in common-*"
login_ok "$SVC_COMMON" "$W/pw" && ok "after removal a person logs in through common-auth (pam_unix)" ||
	bad "after removal, person: $(pt "$SVC_COMMON" "$W/pw")"
login_ok "$SVC_COMMON" "$W/tok" && bad "after removal a token logs in" || ok "after removal the token no longer logs in"
rm -f "/etc/pam.d/$SVC_COMMON"
[ "$pam_before" = "$(cd /etc/pam.d && sha256sum -- * 2>/dev/null)" ] &&
	ok "/etc/pam.d as before the installation" || bad "/etc/pam.d differs from before"

# ------------------------------------------------------------ purge

[ ! -e /var/lib/aivenauth ] && ok "purge removed /var/lib/aivenauth" || bad "/var/lib/aivenauth left"
[ ! -e "/usr/lib/$MA/security/pam_aiven.so" ] && [ ! -e /usr/sbin/aivenctl ] && [ ! -e /usr/share/pam-configs/aiven ] &&
	ok "no files left" || bad "files left"
if [ $had_user = 0 ]; then
	! getent passwd aivenauth >/dev/null && ok "purge removed the user aivenauth" || bad "user aivenauth left"
	! getent group aivenauth >/dev/null && ok "purge removed the group aivenauth" || bad "group aivenauth left"
	! id -nG "$HUMAN" | grep -qw aivenauth && ok "and the membership given to $HUMAN with it" || bad "$HUMAN still in aivenauth"
fi
st=$(stat -c '%U:%G %a' /etc/aivenauth/api-token 2>&1)
[ "$st" = "root:root 600" ] && ok "admin token file kept, given to root: $st" || bad "api-token after purge: $st"
grep -q '/etc/aivenauth/api-token: the organization admin token' "$W/purge.log" && grep -q 'Revoke the admin token' "$W/purge.log" &&
	ok "purge names the admin token file and says to revoke it" || { bad "purge message"; cat "$W/purge.log"; }
grep -q '/etc/aivenauth/aivenauth.conf' "$W/purge.log" && ok "purge names the kept config file" || bad "config not named"
rm -f /etc/aivenauth/api-token /etc/aivenauth/aivenauth.conf
[ $had_etc = 1 ] || rmdir /etc/aivenauth 2>/dev/null || bad "/etc/aivenauth holds more: $(ls -A /etc/aivenauth)"
ok "it_deb.sh took $(( $(date +%s) - t0 )) s (build $(( t1 - t0 )) s)"
finish
