#!/bin/bash
# it_install.sh - `make install` / `make uninstall` into a staging tree, as
# a Debian packager runs them: the file list and modes, SONAME links,
# exported symbols, no build-tree RPATH, the compiled-in paths, the
# pkg-config file (a program from libaivenauth(3) built against the staged
# tree and run: it accepts a token synced from the simulator), the staged
# aivenctl talking to the API through the staged network module, and an
# uninstall that leaves nothing.
#
# Builds in its own tree under $W (never touches the shared build dirs).
. "$(dirname "$0")/lib.sh"

MA=$(gcc -print-multiarch 2>/dev/null); MA=${MA:-x86_64-linux-gnu}
LIBDIR=/usr/lib/$MA
D=$W/root
B=$W/build
VARS=(BUILD="$B" PREFIX=/usr LIBDIR="$LIBDIR" PAMDIR="$LIBDIR/security"
      SYSTEMDUNITDIR=/lib/systemd/system OPT='-O1' V=0)
J=-j$(nproc 2>/dev/null || echo 2)

if make -s -C "$TOP" "${VARS[@]}" $J all >"$W/build.log" 2>&1 &&
   make -s -C "$TOP" "${VARS[@]}" install DESTDIR="$D" >"$W/install.log" 2>&1; then
	ok "make install DESTDIR=... PREFIX=/usr LIBDIR=$LIBDIR"
else
	bad "make install"; tail -30 "$W/build.log" "$W/install.log"; finish; exit 1
fi

# ---- the file list, with modes and link targets
expect=$(sort <<EOF
/etc/aivenauth d755
/lib/systemd/system/aivenauth-follow.service f644
/lib/systemd/system/aivenauth-saslauthd.service f644
/lib/systemd/system/aivenauth-saslauthd.socket f644
/lib/systemd/system/aivenauth-sync.service f644
/lib/systemd/system/aivenauth-sync.timer f644
/usr/include/aivenauth.h f644
/usr/include/aivenauth_fleet.h f644
$LIBDIR/aivenauth/aivenauth-net.so f644
$LIBDIR/libaivenauth.so l->libaivenauth.so.1
$LIBDIR/libaivenauth.so.0.1.0 f644
$LIBDIR/libaivenauth.so.1 l->libaivenauth.so.0.1.0
$LIBDIR/pkgconfig/aivenauth.pc f644
$LIBDIR/security/pam_aiven.so f644
/usr/lib/sysusers.d/aivenauth.conf f644
/usr/lib/tmpfiles.d/aivenauth.conf f644
/usr/sbin/aivenauth-saslauthd f755
/usr/sbin/aivenctl f755
/usr/share/bash-completion/completions/aivenctl f644
/usr/share/man/man3/aivenauth.3 f644
/usr/share/man/man3/libaivenauth.3 f644
/usr/share/man/man5/aivenauth-accounts.5 f644
/usr/share/man/man5/aivenauth.conf.5 f644
/usr/share/man/man8/aivenauth-saslauthd.8 f644
/usr/share/man/man8/aivenctl.8 f644
/usr/share/man/man8/pam_aiven.8 f644
EOF
)
got=$(cd "$D" && find . -mindepth 1 \( -type f -o -type l -o -type d -empty \) \
      -printf '%p %y %m %l\n' | awk '{ sub(/^\./, "", $1);
      print $1, ($2 == "l" ? "l->" $4 : $2 $3) }' | sort)
if [ "$got" = "$expect" ]; then
	ok "installed files, modes and links as expected"
else
	bad "installed file list differs"; diff <(echo "$expect") <(echo "$got") | sed 's/^/    /'
fi

# ---- ELF: SONAME, exports, RPATH, compiled-in paths
lib=$D$LIBDIR/libaivenauth.so.0.1.0
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libaivenauth.so.1 ] && ok "SONAME libaivenauth.so.1" || bad "SONAME is '$soname'"

exports() { nm -D --defined-only "$1" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u; }
other=$(exports "$lib" | grep -v '^aivenauth_')
n=$(exports "$lib" | grep -c '^aivenauth_')
[ -z "$other" ] && [ "$n" -gt 30 ] && ok "library exports only aivenauth_* ($n symbols)" ||
	bad "library exports: $other (aivenauth_*: $n)"
nm -D "$lib" | grep -q ' A AIVENAUTH_1$' && ok "library symbols versioned AIVENAUTH_1" ||
	bad "no AIVENAUTH_1 version node"
pam=$(exports "$D$LIBDIR/security/pam_aiven.so" | tr '\n' ' ')
[ "$pam" = "pam_sm_acct_mgmt pam_sm_authenticate pam_sm_setcred " ] &&
	ok "pam_aiven.so exports only pam_sm_*" || bad "pam_aiven.so exports: $pam"
net=$(exports "$D$LIBDIR/aivenauth/aivenauth-net.so" | tr '\n' ' ')
[ "$net" = "aivenauth_net_ops_v1 " ] && ok "aivenauth-net.so exports only its ops table" ||
	bad "aivenauth-net.so exports: $net"

rp=""
for f in "$D/usr/sbin/aivenctl" "$lib" "$D$LIBDIR/security/pam_aiven.so" \
    "$D$LIBDIR/aivenauth/aivenauth-net.so"; do
	readelf -d "$f" | grep -qE '\((RPATH|RUNPATH)\)' && rp="$rp $f"
done
[ -z "$rp" ] && ok "no RPATH/RUNPATH in installed objects" || bad "RPATH in:$rp"
readelf -d "$D/usr/sbin/aivenctl" | grep -q 'NEEDED.*\[libaivenauth.so.1\]' &&
	ok "aivenctl links libaivenauth.so.1" || bad "aivenctl does not need libaivenauth.so.1"
readelf -d "$D$LIBDIR/security/pam_aiven.so" | grep -qE 'NEEDED.*(libcurl|libjansson)' &&
	bad "pam_aiven.so links libcurl/jansson" || ok "pam_aiven.so does not link libcurl or jansson"
strings "$lib" | grep -qx "$LIBDIR/aivenauth/aivenauth-net.so" &&
	ok "network module path compiled in: $LIBDIR/aivenauth/" ||
	bad "network module default path not $LIBDIR/aivenauth/aivenauth-net.so"
grep -q '^ExecStart=/usr/sbin/aivenctl sync$' "$D/lib/systemd/system/aivenauth-sync.service" &&
	ok "unit ExecStart names the installed aivenctl" || bad "unit ExecStart path"
grep -qx '\.so man3/libaivenauth\.3' "$D/usr/share/man/man3/aivenauth.3" &&
	ok "aivenauth(3) is a .so link to libaivenauth(3)" || bad "aivenauth.3 link page"

# ---- pkg-config and the libaivenauth(3) example against the staged tree
export PKG_CONFIG_SYSROOT_DIR=$D PKG_CONFIG_PATH=$D$LIBDIR/pkgconfig PKG_CONFIG_LIBDIR=
flags=$(pkg-config --cflags --libs aivenauth 2>&1)
case $flags in
*"-I$D/usr/include"*"-L$D$LIBDIR"*-laivenauth*) ok "pkg-config --cflags --libs aivenauth: $flags" ;;
*) bad "pkg-config gave: $flags" ;;
esac
[ "$(pkg-config --modversion aivenauth)" = 0.1.0 ] && ok "pkg-config --modversion 0.1.0" ||
	bad "pkg-config --modversion"
sed -n '/^\.\\" example-begin/,/^\.\\" example-end/p' "$TOP/docs/libaivenauth.3" |
	sed -e '1,2d' -e '$d' | sed -e '$d' -e 's/\\e/\\/g' > "$W/tokencheck.c"
# shellcheck disable=SC2086
if gcc -Wall -Wextra -Werror -o "$W/tokencheck" "$W/tokencheck.c" $flags 2>"$W/cc.log"; then
	ok "libaivenauth(3) example compiles with pkg-config flags, -Wall -Wextra -Werror"
else
	bad "example does not compile"; sed 's/^/    /' "$W/cc.log"
fi
printf '#include <aivenauth_fleet.h>\nint main(void) { struct aivenauth_fleet_status s = {0}; return (int)s.current; }\n' > "$W/fleet.c"
# shellcheck disable=SC2086
gcc -std=c11 -Wall -Wextra -Werror -o "$W/fleet" "$W/fleet.c" $flags 2>"$W/cc.log" &&
	ok "the installed aivenauth_fleet.h compiles on its own (C11, -Werror)" || { bad "aivenauth_fleet.h"; sed 's/^/    /' "$W/cc.log"; }
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH PKG_CONFIG_LIBDIR

# ---- run the staged programs: aivenctl (finds the staged network module
# next to the staged library) and the example
export LD_LIBRARY_PATH=$D$LIBDIR
SCTL() { "$D/usr/sbin/aivenctl" -c "$W/aivenauth.conf" "$@"; }
v=$("$D/usr/sbin/aivenctl" --version 2>&1)
[ "$v" = "aivenctl 0.1.0 (libaivenauth 0.1.0)" ] && ok "staged aivenctl --version: $v" ||
	bad "staged aivenctl --version: $v"
"$D/usr/sbin/aivenctl" --help | grep -q '/etc/aivenauth/aivenauth.conf' &&
	ok "aivenctl --help names /etc/aivenauth/aivenauth.conf (SYSCONFDIR compiled in)" ||
	bad "aivenctl --help config path"
ldd "$D/usr/sbin/aivenctl" | grep -q "$D$LIBDIR/libaivenauth.so.1" &&
	ok "staged aivenctl loads the staged library" || bad "staged aivenctl loads: $(ldd "$D/usr/sbin/aivenctl" | grep aivenauth)"

if start_sim; then
	uid=$(SCTL --json user create inst-runner | sed -n 's/^ *"user_id": "\(.*\)",*$/\1/p')
	tok=$(SCTL token create "$uid" --description install-test 2>"$W/tc.err" | head -1)
	if [ -n "$uid" ] && [ -n "$tok" ] && SCTL sync >/dev/null 2>"$W/sync.err"; then
		ok "staged aivenctl: user create, token create, sync through the staged network module"
	else
		bad "staged aivenctl against the simulator"; cat "$W/tc.err" "$W/sync.err" 2>/dev/null
	fi
	out=$(AIVENAUTH_CONFIG=$W/aivenauth.conf "$W/tokencheck" inst-runner 10.1.2.3 <<<"$tok"); rc=$?
	[ $rc = 0 ] && [[ $out == "accepted: inst-runner ($uid), token "* ]] &&
		ok "example program accepts the token: $out" || bad "example: rc=$rc $out"
	out=$(AIVENAUTH_CONFIG=$W/aivenauth.conf "$W/tokencheck" someone-else <<<"$tok"); rc=$?
	[ $rc = 1 ] && [[ $out == "denied: user-mismatch:"* ]] &&
		ok "example program denies another user: $out" || bad "example other user: rc=$rc $out"
else
	bad "simulator did not start"
fi
unset LD_LIBRARY_PATH

# ---- uninstall leaves nothing
if make -s -C "$TOP" "${VARS[@]}" uninstall DESTDIR="$D" >"$W/uninstall.log" 2>&1; then
	left=$(cd "$D" && find . \( -type f -o -type l \) | sort)
	[ -z "$left" ] && ok "make uninstall leaves no file or link" ||
		bad "left after uninstall: $left"
	[ ! -e "$D$LIBDIR/aivenauth" ] && [ ! -e "$D/etc/aivenauth" ] &&
		ok "uninstall removes aivenauth's own directories" || bad "aivenauth directories left"
else
	bad "make uninstall"; cat "$W/uninstall.log"
fi
finish
