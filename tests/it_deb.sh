#!/bin/bash
# it_deb.sh - build the Debian packages (tools/build-deb), install them on
# this machine with apt-get, check what an operator gets (aivenctl
# --version, the PAM module path, the aivenauth user, /var/lib/aivenauth
# 2750, the timer enabled, man pages, no PAM config touched), then purge
# them and check the machine is as before.
#
# Slow and changes the machine: runs only with AIVENAUTH_TEST_DEB=1, as
# root, on a host without aivenauth packages installed.
. "$(dirname "$0")/lib.sh"

if [ "${AIVENAUTH_TEST_DEB:-}" != 1 ]; then
	skip "Debian package build/install/purge (set AIVENAUTH_TEST_DEB=1)"; finish; exit 0
fi
if [ "$(id -u)" != 0 ]; then
	skip "Debian package test needs root"; finish; exit 0
fi
if dpkg-query -W -f='${Status}\n' aivenctl libpam-aiven libaivenauth1 libaivenauth-dev 2>/dev/null | grep -q 'ok installed'; then
	skip "aivenauth packages already installed: not touching them"; finish; exit 0
fi
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
had_user=0; getent passwd aivenauth >/dev/null && had_user=1
had_etc=0; [ -e /etc/aivenauth ] && had_etc=1
pam_before=$(cd /etc/pam.d && sha256sum -- * 2>/dev/null)

if "$TOP/tools/build-deb" "$W/debs" > "$W/build.log" 2>&1; then
	ok "tools/build-deb: dpkg-buildpackage -us -uc -b"
else
	bad "package build failed"; tail -40 "$W/build.log"; finish; exit 1
fi
for p in libaivenauth1 libpam-aiven aivenctl libaivenauth-dev; do
	[ -f "$W/debs/${p}_0.1.0_$(dpkg --print-architecture).deb" ] && ok "built $p" || bad "no $p .deb"
done
tags=$(grep -E '^[EW]: ' "$W/debs/lintian.txt" 2>/dev/null)
[ -z "$tags" ] && ok "lintian: no errors or warnings" || bad "lintian: $tags"

purge() {
	DEBIAN_FRONTEND=noninteractive apt-get purge -y aivenctl libpam-aiven libaivenauth-dev libaivenauth1 >"$W/purge.log" 2>&1
}
trap 'purge; lib_cleanup' EXIT
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
[ "$pam_before" = "$(cd /etc/pam.d && sha256sum -- * 2>/dev/null)" ] && ok "/etc/pam.d untouched" || bad "/etc/pam.d changed"
# the installed packages against the simulator, as the aivenauth user would
if start_sim; then
	cp "$W/api-token" "$W/tok2"
	out=$(aivenctl -c "$W/aivenauth.conf" sync 2>&1) && ok "installed aivenctl syncs: $out" || bad "installed aivenctl sync: $out"
	aivenctl -c "$W/aivenauth.conf" doctor --root "$W" >/dev/null 2>&1; ok "installed aivenctl doctor runs (rc $?)"
fi

purge && ok "apt-get purge" || { bad "apt-get purge"; tail -20 "$W/purge.log"; }
trap lib_cleanup EXIT
left=$(dpkg-query -W -f='${Package} ${Status}\n' aivenctl libpam-aiven libaivenauth1 libaivenauth-dev 2>/dev/null | grep -v 'not-installed')
[ -z "$left" ] && ok "packages fully purged" || bad "still known to dpkg: $left"
[ ! -e /var/lib/aivenauth ] && ok "purge removed /var/lib/aivenauth" || bad "/var/lib/aivenauth left"
[ ! -e "/usr/lib/$MA/security/pam_aiven.so" ] && [ ! -e /usr/sbin/aivenctl ] && ok "no files left" || bad "files left"
[ $had_etc = 1 ] || { [ ! -e /etc/aivenauth ] && ok "purge removed the empty /etc/aivenauth" || bad "/etc/aivenauth left"; }
if [ $had_user = 0 ] && getent passwd aivenauth >/dev/null; then
	# Debian keeps system users on purge; this test restores the machine.
	userdel aivenauth 2>/dev/null; groupdel aivenauth 2>/dev/null
	getent passwd aivenauth >/dev/null && bad "could not remove the aivenauth user" ||
		ok "aivenauth user kept by purge (policy), removed by the test"
fi
finish
