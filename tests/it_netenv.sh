#!/bin/bash
# it_netenv.sh - no environment variable steers the network client.
# Run: AIVENAUTH_BUILD=$PWD/build AIVENAUTH_TOP=$PWD bash tests/it_netenv.sh
#
# Inside PAM (su, sudo) the environment is the caller's.  A listener on
# 127.0.0.1 stands for a proxy the caller controls: it records every
# connection's request line, then answers 502.  With https_proxy,
# http_proxy, ALL_PROXY and the upper-case forms pointing at it, a sync
# must not connect to it; with `proxy = URL` in the config (the only way
# to use a proxy) it must, even with NO_PROXY naming the API host.  With
# SSLKEYLOGFILE set (libcurl would create that file at its global init and
# write TLS secrets to it) no API call is made and the file is not made.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { skip "curl not installed"; finish; exit; }
start_sim || { bad "simulator did not start"; finish; exit; }

python3 - "$W/proxy.port" "$W/proxy.log" <<'PY' > "$W/proxy.out" 2>&1 &
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
tmp = sys.argv[1] + ".tmp"
open(tmp, "w").write(str(s.getsockname()[1]))
import os; os.rename(tmp, sys.argv[1])
while True:
    c, _ = s.accept()
    c.settimeout(5)
    data = b""
    try:
        while b"\n" not in data:
            d = c.recv(4096)
            if not d:
                break
            data += d
    except OSError:
        pass
    with open(sys.argv[2], "a") as f:      # before the answer: the client
        f.write("conn: %r\n" % data.split(b"\r\n")[0])   # waits for it
    try:
        c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    except OSError:
        pass
    c.close()
PY
PPID_=$!; PIDS+=("$PPID_")
for i in $(seq 600); do [ -s "$W/proxy.port" ] && break; sleep 0.1; done
PP=$(cat "$W/proxy.port" 2>/dev/null)
[ -n "$PP" ] || { bad "proxy listener did not start: $(cat "$W/proxy.out")"; finish; exit; }
PURL=http://127.0.0.1:$PP
: > "$W/proxy.log"

# 1. The environment's proxies are not used.
env https_proxy=$PURL http_proxy=$PURL HTTPS_PROXY=$PURL HTTP_PROXY=$PURL \
    ALL_PROXY=$PURL all_proxy=$PURL \
    "$AB/aivenctl" -c "$W/aivenauth.conf" sync > "$W/s1.out" 2> "$W/s1.err"
rc=$?
[ $rc = 0 ] && ok "sync with *_proxy set in the environment succeeds (direct)" ||
	bad "sync with *_proxy set: exit $rc: $(cat "$W/s1.err")"
[ ! -s "$W/proxy.log" ] && ok "no connection to the environment's proxy" ||
	bad "the environment's proxy was used: $(cat "$W/proxy.log")"

# 2. proxy = URL in the config is used, NO_PROXY notwithstanding.
: > "$W/proxy.log"
sed "/^api_url/a proxy = $PURL" "$W/aivenauth.conf" > "$W/proxy.conf"
chmod 0644 "$W/proxy.conf"
env NO_PROXY='*' no_proxy=127.0.0.1 \
    "$AB/aivenctl" -c "$W/proxy.conf" sync > "$W/s2.out" 2> "$W/s2.err"
rc=$?
SIMHP=${SIM_URL#http://}
grep -qF "conn: b'GET http://$SIMHP/v1/" "$W/proxy.log" &&
	ok "proxy = $PURL: the API call went through it (NO_PROXY set)" ||
	bad "proxy = URL not used (exit $rc): log: $(cat "$W/proxy.log"); $(head -c 300 "$W/s2.err")"
[ $rc != 0 ] && ok "sync through the refusing proxy fails (exit $rc)" || bad "sync through a 502 proxy succeeded"
for v in 'ftp://127.0.0.1:1' 'http://user:pw@127.0.0.1:1' 'http://' '127.0.0.1:3128'; do
	sed "/^api_url/a proxy = $v" "$W/aivenauth.conf" > "$W/badproxy.conf"
	"$AB/aivenctl" -c "$W/badproxy.conf" sync > /dev/null 2> "$W/bp.err"
	rc=$?
	[ $rc = 78 ] && grep -q 'bad value for proxy' "$W/bp.err" &&
		ok "proxy = $v refused (exit $rc)" || bad "proxy = $v: exit $rc: $(cat "$W/bp.err")"
done

# 3. SSLKEYLOGFILE: nothing is started, the file is not created.
: > "$W/proxy.log"
SSLKEYLOGFILE=$W/keys.txt "$AB/aivenctl" -c "$W/aivenauth.conf" sync > "$W/s3.out" 2> "$W/s3.err"
rc=$?
[ $rc != 0 ] && grep -q 'SSLKEYLOGFILE' "$W/s3.err" &&
	ok "SSLKEYLOGFILE set: sync refused, says why (exit $rc)" ||
	bad "SSLKEYLOGFILE set: exit $rc: $(cat "$W/s3.err")"
[ ! -e "$W/keys.txt" ] && ok "SSLKEYLOGFILE: the file was not created" ||
	bad "SSLKEYLOGFILE: libcurl created $W/keys.txt"
SSLKEYLOGFILE= "$AB/aivenctl" -c "$W/aivenauth.conf" sync > /dev/null 2>&1 &&
	ok "SSLKEYLOGFILE empty: sync works" || bad "SSLKEYLOGFILE empty: sync failed"

# 4. The same inside PAM (online learning: GET /v1/me with the token),
#    pamtester under pam_wrapper, the caller's environment set.
PW=$(ls /usr/lib/x86_64-linux-gnu/libpam_wrapper.so 2>/dev/null)
if [ -n "$PW" ] && command -v pamtester > /dev/null && [ -f "$AB/pam_aiven.so" ]; then
	( umask 077; printf 'Authorization: aivenv1 %s\n' "$ADMIN_TOKEN" > "$W/auth.hdr" )
	ctl user create netenv-bot > /dev/null 2>&1
	UB=$(ctl --json user list | python3 -c 'import json,sys; print([u["user_id"] for u in json.load(sys.stdin) if u["name"]=="netenv-bot"][0])')
	mint() {  # a token made at the API, not enrolled here: PAM must learn it
		curl -sS -X POST -H @"$W/auth.hdr" -H 'Content-Type: application/json' --data '{"description":"netenv"}' \
		    "$SIM_URL/v1/organization/$ORG_ID/application-users/$UB/access-tokens" |
		    python3 -c 'import json,sys; print(json.load(sys.stdin)["full_token"])'
	}
	T1=$(mint); T2=$(mint)
	ctl sync > /dev/null 2>&1 || bad "sync before the PAM part"
	mkdir -p "$W/pam.d"
	printf 'auth required %s config=%s online=learn\n' "$AB/pam_aiven.so" "$W/aivenauth.conf" > "$W/pam.d/aivnet"
	pt() {  # pt TOKEN ENV...: pamtester as netenv-bot with ENV; exit code in $RC
		local t=$1; shift
		printf '%s\n' "$t" | env "$@" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" \
		    PAM_WRAPPER_DEBUGLEVEL=2 LD_PRELOAD="$PW" pamtester aivnet netenv-bot authenticate \
		    > "$W/pt.out" 2>&1
		RC=$?
	}
	: > "$W/proxy.log"
	pt "$T1" https_proxy=$PURL http_proxy=$PURL ALL_PROXY=$PURL HTTPS_PROXY=$PURL
	[ $RC = 0 ] && ok "PAM, *_proxy set: the token is learned online, directly" ||
		bad "PAM, *_proxy set: exit $RC: $(grep -v '^$' "$W/pt.out" | tail -3)"
	[ ! -s "$W/proxy.log" ] && ok "PAM: no connection to the caller's proxy" ||
		bad "PAM: the caller's proxy was used: $(cat "$W/proxy.log")"
	pt "$T2" SSLKEYLOGFILE="$W/pam-keys.txt"
	[ $RC != 0 ] && ok "PAM, SSLKEYLOGFILE set: no online decision (exit $RC)" ||
		bad "PAM, SSLKEYLOGFILE set: accepted online"
	[ ! -e "$W/pam-keys.txt" ] && ok "PAM, SSLKEYLOGFILE: the file was not created" ||
		bad "PAM, SSLKEYLOGFILE: $W/pam-keys.txt created"
	grep -q 'SSLKEYLOGFILE is set' "$W/pt.out" && ok "PAM, SSLKEYLOGFILE: the log says why" ||
		bad "PAM, SSLKEYLOGFILE: no reason logged: $(grep SYSLOG "$W/pt.out" | tail -3)"
	pt "$T2"
	[ $RC = 0 ] && ok "PAM, clean environment: the same token is learned" ||
		bad "PAM, clean environment: exit $RC: $(grep -v '^$' "$W/pt.out" | tail -3)"
else
	skip "PAM part: pamtester, libpam_wrapper or pam_aiven.so missing"
fi
finish
