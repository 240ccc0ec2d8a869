#!/bin/bash
# bench/sasl.sh BUILD - the SASL path side by side in one run, with the same
# load client (bench/sasl_load.c: connect, one request, answer, close, as
# libsasl2 does) against three responders on unix sockets:
#   aivenauth   aivenauth-saslauthd (policy, verify, one log line)
#   saslauthd   Cyrus saslauthd -a pam (5 worker processes, Debian's
#               default) + pam_aiven through pam_wrapper (private PAM dir)
#   floor       bench_sasl_floor: the same event loop answering OK
#               without deciding anything
# Tokens are 200 characters (the simulator's --token-bytes 150): saslauthd
# refuses fields over 256 bytes.  1 and 16 clients, sides alternated,
# then 16 clients with 100 idle connections held open, and the
# responder's RSS before and after RSS_REQUESTS more requests.
#   SASL_REQS=2000 (per client at 16 clients; 1 client does 4x)
#   RSS_REQUESTS=1000000
# Prints "sasl_* value" figure lines and the ratios; servers are stopped
# by pid, everything lives in one temp dir removed at exit.
set -u
B=$(cd "${1:-build}" && pwd) || exit 1
TOP=$(cd "$(dirname "$0")/.." && pwd)
REQS=${SASL_REQS:-2000}
RSSN=${RSS_REQUESTS:-1000000}
W=$(mktemp -d /tmp/aivsaslbench.XXXXXX) || exit 1
chmod 755 "$W"
PIDS=()
stop_pid() {
	local p=$1 i
	[[ $p =~ ^[1-9][0-9]*$ ]] || return 0
	kill -TERM "$p" 2>/dev/null || return 0
	for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null || true
}
cleanup() {
	local p
	[ -s "$W/sasl/saslauthd.pid" ] && PIDS+=("$(cat "$W/sasl/saslauthd.pid")")
	for p in "${PIDS[@]}"; do stop_pid "$p"; done
	rm -rf "$W"
}
trap cleanup EXIT
jf() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
wait_file() { local i; for i in $(seq 600); do [ -e "$1" ] && return 0; sleep 0.1; done; return 1; }

# --- API simulator, one user, one enrolled 200-character token
python3 "$TOP/sim/aiven-sim" --port 0 --port-file "$W/sim.port" \
    --bootstrap-file "$W/sim.boot" --token-bytes 150 > "$W/sim.log" 2>&1 &
PIDS+=($!)
wait_file "$W/sim.boot" && sleep 0.2 || { echo "sasl bench: simulator did not start"; exit 1; }
( umask 077; jf "$W/sim.boot" admin_token > "$W/api-token" )
cat > "$W/aivenauth.conf" <<EOC
api_url = $(jf "$W/sim.boot" api_url)
organization_id = $(jf "$W/sim.boot" organization_id)
api_token_file = $W/api-token
cache_dir = $W/cache
EOC
chmod 0644 "$W/aivenauth.conf"
CTL() { "$B/aivenctl" -c "$W/aivenauth.conf" "$@"; }
uid=$(CTL --json user create alice | python3 -c 'import json,sys; print(json.load(sys.stdin)["user_id"])')
( umask 077; CTL --json token create "$uid" | python3 -c 'import json,sys; sys.stdout.write(json.load(sys.stdin)["full_token"])' > "$W/tok" )
CTL sync > /dev/null || { echo "sasl bench: sync failed"; exit 1; }
echo "token: $(wc -c < "$W/tok") characters"

# --- the three responders
"$B/aivenauth-saslauthd" -c "$W/aivenauth.conf" --listen "$W/aiven.sock" --stderr \
    > "$W/aiven.log" 2>&1 &
APID=$!; PIDS+=("$APID")
"$B/bench_sasl_floor" "$W/floor.sock" > "$W/floor.log" 2>&1 &
PIDS+=($!)
mkdir -p "$W/pam.d" "$W/sasl"
SEC=/usr/lib/x86_64-linux-gnu/security
printf 'auth required %s config=%s\naccount required %s/pam_permit.so\n' \
    "$B/pam_aiven.so" "$W/aivenauth.conf" "$SEC" > "$W/pam.d/smtp"
PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" LD_PRELOAD=libpam_wrapper.so \
    saslauthd -a pam -m "$W/sasl" -n 5 > "$W/saslauthd.log" 2>&1
wait_file "$W/aiven.sock" && wait_file "$W/floor.sock" && wait_file "$W/sasl/mux" &&
    wait_file "$W/sasl/saslauthd.pid" || { echo "sasl bench: a responder did not start"; exit 1; }
declare -A SOCK=([aivenauth]="$W/aiven.sock" [saslauthd]="$W/sasl/mux" [floor]="$W/floor.sock")

load() {   # SIDE CLIENTS REQS [IDLE] -> the client's line
	"$B/bench_sasl_load" "${SOCK[$1]}" "$2" "$3" alice smtp OK ${4:-} < "$W/tok"
}
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
# warm-up, and a correctness gate: every side must accept the token
for s in aivenauth saslauthd floor; do
	load $s 1 200 > "$W/warm.$s" || { echo "sasl bench: $s: $(cat "$W/warm.$s")"; exit 1; }
done
declare -A RPS P99
for c in 1 16; do
	n=$REQS; [ "$c" = 1 ] && n=$((REQS * 4))
	for s in aivenauth saslauthd floor saslauthd aivenauth floor; do   # alternated
		l=$(load $s $c $n) || { echo "sasl bench: $s: $l"; exit 1; }
		echo "  $s c=$c: $l"
		r=$(echo "$l" | field per_s); p=$(echo "$l" | field p99_us)
		# the better of two runs per side (a shared machine's noise is one-sided)
		[ -z "${RPS[$s$c]:-}" ] || awk -v a="$r" -v b="${RPS[$s$c]}" 'BEGIN{exit !(a>b)}' && {
			RPS[$s$c]=$r; P99[$s$c]=$p; }
	done
	for s in aivenauth saslauthd floor; do
		echo "sasl_per_s_${s}_c$c ${RPS[$s$c]}"
		echo "sasl_p99_us_${s}_c$c ${P99[$s$c]}"
	done
	echo "sasl_ratio_aivenauth_vs_saslauthd_c$c $(awk -v a="${RPS[aivenauth$c]}" -v b="${RPS[saslauthd$c]}" 'BEGIN{printf "%.2f", a/b}')"
	echo "sasl_ratio_floor_vs_aivenauth_c$c $(awk -v a="${RPS[floor$c]}" -v b="${RPS[aivenauth$c]}" 'BEGIN{printf "%.2f", a/b}')"
done
l=$(load aivenauth 16 "$REQS" 100) || { echo "sasl bench: idle run: $l"; exit 1; }
echo "  aivenauth c=16 with 100 idle connections: $l"
echo "sasl_p99_us_aivenauth_c16_idle100 $(echo "$l" | field p99_us)"
echo "sasl_per_s_aivenauth_c16_idle100 $(echo "$l" | field per_s)"
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$APID/status"; }
r0=$(rss)
load aivenauth 16 $((RSSN / 16)) > "$W/rss.out" || { echo "sasl bench: rss run: $(cat "$W/rss.out")"; exit 1; }
r1=$(rss)
echo "  aivenauth rss run: $(cat "$W/rss.out")"
echo "sasl_rss_kb_before $r0"
echo "sasl_rss_kb_after_${RSSN} $r1"
