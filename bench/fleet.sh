# bench/fleet.sh - section `fleet` of tools/run-bench (sourced there; uses
# its W B QUICK PIDS fig figs section med stop_pid).  docs/FLEET.md
# "Numbers" reports what it prints.
#
# One real etcd on 127.0.0.1 (no TLS, default settings), the API simulator,
# one publisher and N followers, each follower with its own config and
# cache dir and its own long-running `aivenctl follow` (its etcd watch).
# Per organization size:
#
#  a. API requests per publisher sync (the simulator's request counter)
#     with 1, 10 and N followers running, and the followers' own (zero);
#     per minute at the sync timer's interval (systemd/aivenauth-sync.timer:
#     one run per 60 s).  Against today's per-host sync: 1 and 10 hosts
#     (own caches, the admin token each) syncing the same way; 100 and
#     more are extrapolated linearly from those, and said so.
#  b. etcd and followers at rest: keys under the prefix, database size,
#     etcd CPU over an idle window and over the publisher's heartbeats,
#     RSS of etcd and (median) of the followers, the followers' CPU.
#  c. propagation (bench_fleet_probe trials): `token create` then
#     `token revoke` on the publisher, TRIALS times; per follower the time
#     from the command's start to the first accepting / refusing verify on
#     its cache; the command's own run time is the floor of the same run.
#     etcd CPU and the bytes etcd sent to its clients (its gRPC counter,
#     which the JSON gateway goes through) over the trials, per follower
#     and change.
#  d. one change with nobody watching: etcd's CPU and bytes for the
#     publish alone, then for one follower's `follow --once` of it, and how
#     long that takes (the follower's own floor); the JSON/gRPC byte ratio.
#
# Full run: small (20 users x 5 tokens, 100 followers, 7 trials), then
# large (1,000 x 10, BENCH_FLEET_LARGE_FOLLOWERS=100 followers,
# BENCH_FLEET_LARGE_TRIALS=3: with delta generations a change costs a
# follower a few records, but each follower's first apply is a full read
# of 11,000 records on the same 2 CPUs).  BENCH_QUICK=1: small with 10 followers.
#
# Nothing here depends on how the fleet lays out etcd: it uses aivenctl
# commands, the library's public API (through the probe), the whole
# prefix and etcd's own metrics.  Every process is started here, recorded
# in PIDS (run-bench's EXIT trap stops them by pid) and stopped by pid;
# each is started as the binary itself (never a shell function run with
# &), so that $! is the process to stop and not a subshell around it.

FW=$W/fleet
mkdir -p "$FW/c" "$FW/f" "$FW/h"
chmod 755 "$FW"
TCK=$(getconf CLK_TCK)
FPFX=/bench/
PROBE=$B/bench_fleet_probe
CTL=$B/aivenctl

fl_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Forget stopped pids, so that the trap never signals a pid reused since.
fl_forget() {
	local p q keep=()
	for p in "${PIDS[@]}"; do
		for q in "$@"; do [ "$p" = "$q" ] && continue 2; done
		keep+=("$p")
	done
	PIDS=("${keep[@]}")
}
# Stop many at once: TERM to all first, then wait for each by pid.
fl_stop() {
	local p
	for p in "$@"; do kill -TERM "$p" 2>/dev/null; done
	for p in "$@"; do stop_pid "$p"; done
	fl_forget "$@"
}
fl_cpu_ms() {  # utime+stime of the pids given, in ms (0 for a gone pid)
	local p s=0 t
	for p in "$@"; do
		t=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) || t=0
		s=$((s + ${t:-0}))
	done
	echo $((s * 1000 / TCK))
}
fl_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
fl_now_ms() { echo $(($(date +%s%N) / 1000000)); }
fl_b64() { printf %s "$1" | base64 -w0; }
fl_keys() {    # keys under the prefix (count only)
	local end=${FPFX%/}0   # '/' + 1 = '0': the end of the prefix range
	curl -s -X POST "$EURL/v3/kv/range" \
	    -d "{\"key\":\"$(fl_b64 "$FPFX")\",\"range_end\":\"$(fl_b64 "$end")\",\"count_only\":true}" |
	    python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", 0))'
}
fl_db() {      # "dbSize dbSizeInUse" in bytes, from the JSON gateway
	curl -s -X POST "$EURL/v3/maintenance/status" -d '{}' |
	    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("dbSize", 0), d.get("dbSizeInUse", 0))'
}
fl_revision() {
	curl -s -X POST "$EURL/v3/kv/range" -d '{"key":"AA=="}' |
	    python3 -c 'import json,sys; print(json.load(sys.stdin)["header"]["revision"])'
}
fl_grpc() {    # "sent received": bytes etcd's gRPC server sent to / got from clients
	curl -s "$EURL/metrics" | awk '
	    /^etcd_network_client_grpc_sent_bytes_total/ {s = $2}
	    /^etcd_network_client_grpc_received_bytes_total/ {r = $2}
	    END {printf "%.0f %.0f\n", s, r}'
}
fl_api_total() {
	curl -s "$SIM_URL/_sim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])'
}
fl_api_reset() { curl -s -X POST "$SIM_URL/_sim/stats/reset" >/dev/null; }
fl_kib() { awk -v b="$1" 'BEGIN{printf "%.0f", b / 1024}'; }
fl_div() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN{if (b == 0) print "-"; else printf f "\n", a / b}'; }

fl_start_sim() {   # USERS TOKENS_PER_USER
	rm -f "$FW/sim.port" "$FW/sim.boot"
	python3 sim/aiven-sim --port 0 --port-file "$FW/sim.port" --bootstrap-file "$FW/sim.boot" \
	    --seed-users "$1" --seed-tokens-per-user "$2" --quiet >"$FW/sim.log" 2>&1 &
	SIM_PID=$!; PIDS+=("$SIM_PID")
	local i
	for i in $(seq 600); do [ -s "$FW/sim.boot" ] && break; kill -0 "$SIM_PID" 2>/dev/null || break; sleep 0.1; done
	[ -s "$FW/sim.boot" ] || { echo "  simulator did not start: $(tail -3 "$FW/sim.log")"; return 1; }
	eval "$(python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); print("SIM_URL=%s ORG=%s" % (b["api_url"], b["organization_id"])); open(sys.argv[2],"w").write(b["admin_token"])' "$FW/sim.boot" "$FW/api-token")"
	chmod 600 "$FW/api-token"
}
fl_start_etcd() {
	local cp pp i
	cp=$(fl_port); pp=$(fl_port)
	EURL=http://127.0.0.1:$cp
	rm -rf "$FW/etcd"
	etcd --name bench --data-dir "$FW/etcd" --listen-client-urls "$EURL" --advertise-client-urls "$EURL" \
	    --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
	    --initial-cluster "bench=http://127.0.0.1:$pp" --log-level warn >"$FW/etcd.log" 2>&1 &
	ETCD_PID=$!; PIDS+=("$ETCD_PID")
	for i in $(seq 100); do
		curl -s -m 1 -X POST "$EURL/v3/kv/range" -d '{"key":"AA=="}' 2>/dev/null | grep -q header && return 0
		sleep 0.1
	done
	echo "  etcd did not start: $(tail -3 "$FW/etcd.log")"; return 1
}
fl_publisher() {
	rm -rf "$FW/pub" "$FW/fleet.key"
	PK=$("$CTL" fleet keygen --out "$FW/fleet.key" 2>"$FW/keygen.err") || { echo "  keygen: $(cat "$FW/keygen.err")"; return 1; }
	cat >"$FW/pub.conf" <<EOC
api_url = $SIM_URL
organization_id = $ORG
api_token_file = $FW/api-token
cache_dir = $FW/pub
timeout = 10
fleet = publish
etcd_endpoints = $EURL
etcd_prefix = $FPFX
fleet_signing_key_file = $FW/fleet.key
EOC
	chmod 644 "$FW/pub.conf"
}
# Followers: no API token (any API call they made would be counted by the
# simulator, whose URL they have).
fl_follower_conf() {
	local i=$1
	rm -rf "$FW/f/$i"
	cat >"$FW/c/f$i.conf" <<EOC
api_url = $SIM_URL
organization_id = $ORG
api_token_file = $FW/no-token
cache_dir = $FW/f/$i
fleet = follow
etcd_endpoints = $EURL
etcd_prefix = $FPFX
fleet_public_keys = $PK
max_stale = 1h
timeout = 10
EOC
	chmod 644 "$FW/c/f$i.conf"
}
# Start followers FROM..TO in batches of 10; each batch must have applied
# the current generation before the next starts (no thundering herd at
# start: 100 first reads at once would measure the start, not the fleet).
FPIDS=()
fl_start_followers() {
	local from=$1 to=$2 lo hi i
	for ((lo = from; lo <= to; lo += 10)); do
		hi=$((lo + 9)); [ $hi -gt "$to" ] && hi=$to
		for ((i = lo; i <= hi; i++)); do
			fl_follower_conf $i
			"$CTL" -c "$FW/c/f$i.conf" follow >"$FW/follow.$i.log" 2>&1 &
			FPIDS+=($!); PIDS+=($!)
		done
		"$PROBE" ready "$FW/c" "$lo" "$hi" 120 || { echo "  followers $lo..$hi: $(tail -2 "$FW/follow.$lo.log")"; return 1; }
	done
}
fl_hosts_conf() {  # per-host sync, today's way: N hosts 1..N, the admin token each
	local i
	for ((i = 1; i <= $1; i++)); do
		rm -rf "$FW/h/$i"
		printf 'api_url = %s\norganization_id = %s\napi_token_file = %s\ncache_dir = %s\ntimeout = 10\n' \
		    "$SIM_URL" "$ORG" "$FW/api-token" "$FW/h/$i" >"$FW/c/h$i.conf"
		chmod 644 "$FW/c/h$i.conf"
	done
}
fl_sync() {  # CONF: one sync, quiet; failure printed
	"$CTL" -c "$1" sync >"$FW/sync.out" 2>&1 || echo "  sync ($1) failed: $(tail -2 "$FW/sync.out")"
}

# fl_size TAG USERS TOKENS_PER_USER NFOLLOWERS TRIALS SYNCS
fl_size() {
	local tag=$1 users=$2 tpu=$3 nf=$4 trials=$5 k=$6
	local n have=0 tot i t0 t1 c0 c1 c2 e0 e1 e2 g rx0 rx1 g0 g1 rss r db idle
	section "fleet $tag: $users users x $tpu tokens, 1 etcd, 1 publisher, up to $nf followers (aivenctl follow each)"
	echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (wall-clock figures move with it)"
	fl_start_sim "$users" "$tpu" || return 1
	fl_start_etcd || return 1
	fl_publisher || return 1
	"$CTL" -c "$FW/pub.conf" --json user create fleet-bench >"$FW/user.json" 2>"$FW/user.err" ||
	    { echo "  user create: $(cat "$FW/user.err")"; return 1; }
	BUID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["user_id"])' "$FW/user.json")
	t0=$(fl_now_ms); fl_sync "$FW/pub.conf"; t1=$(fl_now_ms)
	echo "  publisher's first sync + publish of the whole organization: $((t1 - t0)) ms"
	fig "fleet_${tag}_first_publish_ms" $((t1 - t0)) "first sync + full generation"
	fl_sync "$FW/pub.conf"   # the admin token's own last use settles

	# a. API requests per publisher sync, 1 / 10 / nf followers watching.
	for n in 1 10 "$nf"; do
		[ "$n" -gt "$nf" ] && continue
		[ "$n" -le "$have" ] && continue
		t0=$(fl_now_ms)
		fl_start_followers $((have + 1)) "$n" || return 1
		t1=$(fl_now_ms)
		echo "  started followers $((have + 1))..$n in $((t1 - t0)) ms (batches of 10, each batch's first apply awaited)"
		have=$n
		sleep 1
		fl_api_reset
		c0=$(fl_cpu_ms "$ETCD_PID"); g0=$(fl_cpu_ms "${FPIDS[@]}")
		for ((i = 0; i < k; i++)); do fl_sync "$FW/pub.conf"; done
		sleep 1   # the followers read the last heartbeat
		tot=$(fl_api_total)
		c1=$(fl_cpu_ms "$ETCD_PID"); g1=$(fl_cpu_ms "${FPIDS[@]}")
		fig "fleet_${tag}_api_req_per_min_fleet_f$n" "$(fl_div "$tot" "$k")" "$k publisher sync(s), $n follower(s): per sync = per minute"
		[ "$n" = "$nf" ] && {
			fig "fleet_${tag}_heartbeat_etcd_cpu_ms" "$(fl_div $((c1 - c0)) "$k" %.0f)" "etcd CPU per publisher sync (heartbeat to $n watchers)"
			fig "fleet_${tag}_heartbeat_followers_cpu_ms" "$(fl_div $((g1 - g0)) "$k" %.0f)" "all $n followers' CPU per heartbeat"
		}
	done
	fl_api_reset
	idle=$([ "$QUICK" = 1 ] && echo 5 || echo 10)
	c0=$(fl_cpu_ms "$ETCD_PID"); g0=$(fl_cpu_ms "${FPIDS[@]}")
	sleep "$idle"
	c1=$(fl_cpu_ms "$ETCD_PID"); g1=$(fl_cpu_ms "${FPIDS[@]}")
	fig "fleet_${tag}_api_req_followers" "$(fl_api_total)" "API requests by $nf followers in ${idle} s (want 0)"

	# b. at rest
	fig "fleet_${tag}_etcd_keys" "$(fl_keys)" "keys under $FPFX"
	read -r db r <<<"$(fl_db)"
	fig "fleet_${tag}_etcd_db_kib" "$(fl_kib "$db")" "dbSize (no compaction yet)"
	fig "fleet_${tag}_etcd_db_inuse_kib" "$(fl_kib "$r")" "dbSizeInUse"
	fig "fleet_${tag}_etcd_rss_kib" "$(fl_rss_kb "$ETCD_PID")" "VmRSS, $nf watchers"
	fig "fleet_${tag}_etcd_idle_cpu_ms_per_s" "$(fl_div $((c1 - c0)) "$idle")" "etcd CPU at rest, $nf watchers"
	fig "fleet_${tag}_follower_idle_cpu_ms_per_s" "$(fl_div $((g1 - g0)) "$((idle * nf))" %.2f)" "per follower, at rest"
	rss=$(for i in "${FPIDS[@]}"; do fl_rss_kb "$i"; done | med | cut -d. -f1)
	fig "fleet_${tag}_follower_rss_kib_median" "$rss" "VmRSS of one aivenctl follow"
	fig "fleet_${tag}_follower_cache_kib" "$(du -sk "$FW/f/1" | cut -f1)" "one follower's cache dir (du)"

	# c. propagation
	echo "  propagation: $trials x (token create, then token revoke) on the publisher; $nf followers probed"
	echo "  (ms from the command's start to each follower's first accepting / refusing verify;"
	echo "   p50/p99 over followers x trials; first/last = the first and the last follower of a trial;"
	echo "   cmd = the publisher's command alone: API call, local write, publish = the floor)"
	c0=$(fl_cpu_ms "$ETCD_PID"); read -r e0 rx0 <<<"$(fl_grpc)"; g0=$(fl_cpu_ms "${FPIDS[@]}")
	t0=$(fl_now_ms)
	"$PROBE" trials "$CTL" "$FW/pub.conf" "$BUID" "$FW/c" "$nf" "$trials" 120 "$tag" "$FW/probe.log" |
	    sed 's/^trial /  trial /; s/^note /  note /' | figs
	[ "${PIPESTATUS[0]}" = 0 ] || echo "  probe failed: $(tail -3 "$FW/probe.log")"
	t1=$(fl_now_ms)
	c1=$(fl_cpu_ms "$ETCD_PID"); read -r e1 rx1 <<<"$(fl_grpc)"; g1=$(fl_cpu_ms "${FPIDS[@]}")
	n=$((2 * trials))   # changes published
	fig "fleet_${tag}_change_etcd_cpu_ms" "$(fl_div $((c1 - c0)) "$n" %.0f)" "etcd CPU per change ($nf watchers)"
	fig "fleet_${tag}_change_follower_cpu_ms" "$(fl_div $((g1 - g0)) $((n * nf)) %.1f)" "one follower's CPU per change (mean of $nf)"
	fig "fleet_${tag}_change_bytes_per_follower" "$(fl_div $((e1 - e0)) $((n * nf)) %.0f)" "etcd gRPC bytes sent per follower per change"
	fig "fleet_${tag}_change_bytes_from_publisher" "$(fl_div $((rx1 - rx0)) "$n" %.0f)" "etcd gRPC bytes received per change (the publish)"
	echo "  propagation phase took $((t1 - t0)) ms; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
	fig "fleet_${tag}_etcd_keys_after" "$(fl_keys)" "after $n changes"
	read -r db r <<<"$(fl_db)"
	fig "fleet_${tag}_etcd_db_after_kib" "$(fl_kib "$db")" "dbSize after $n changes, no compaction"
	fig "fleet_${tag}_etcd_db_inuse_after_kib" "$(fl_kib "$r")" "dbSizeInUse"
	curl -s -X POST "$EURL/v3/kv/compaction" -d "{\"revision\":\"$(fl_revision)\",\"physical\":true}" >/dev/null
	read -r db r <<<"$(fl_db)"
	fig "fleet_${tag}_etcd_db_inuse_compacted_kib" "$(fl_kib "$r")" "dbSizeInUse after compacting history"
	fig "fleet_${tag}_etcd_rss_after_kib" "$(fl_rss_kb "$ETCD_PID")"
	fl_stop "${FPIDS[@]}"; FPIDS=()

	# d. one change alone, no follower watching: what the publish costs
	#    etcd, then what one follower's `follow --once` (a read of the
	#    change, no watch) costs etcd and takes itself.  The difference to
	#    c. is the watch's share and the contention of N followers on 2 CPUs.
	: >"$FW/solo"
	for ((i = 0; i < 3; i++)); do
		c0=$(fl_cpu_ms "$ETCD_PID"); read -r e0 rx0 <<<"$(fl_grpc)"
		"$CTL" -c "$FW/pub.conf" token create "$BUID" >/dev/null 2>"$FW/solo.err" ||
		    echo "  token create: $(tail -1 "$FW/solo.err")"
		c1=$(fl_cpu_ms "$ETCD_PID"); read -r e1 rx1 <<<"$(fl_grpc)"
		t0=$(fl_now_ms)
		"$CTL" -c "$FW/c/f1.conf" follow --once >"$FW/solo.out" 2>&1 || echo "  follow --once: $(tail -1 "$FW/solo.out")"
		t1=$(fl_now_ms)
		c2=$(fl_cpu_ms "$ETCD_PID"); read -r e2 g <<<"$(fl_grpc)"
		echo "$((c1 - c0)) $((rx1 - rx0)) $((c2 - c1)) $((e2 - e1)) $((t1 - t0))" >>"$FW/solo"
	done
	fig "fleet_${tag}_solo_publish_etcd_cpu_ms" "$(cut -d' ' -f1 "$FW/solo" | med)" "etcd CPU for one publish, nobody watching"
	fig "fleet_${tag}_solo_publish_bytes" "$(cut -d' ' -f2 "$FW/solo" | med)" "etcd gRPC bytes received for it"
	fig "fleet_${tag}_solo_read_etcd_cpu_ms" "$(cut -d' ' -f3 "$FW/solo" | med)" "etcd CPU for one follow --once of it"
	fig "fleet_${tag}_solo_read_bytes" "$(cut -d' ' -f4 "$FW/solo" | med)" "etcd gRPC bytes sent for it"
	fig "fleet_${tag}_solo_read_ms" "$(cut -d' ' -f5 "$FW/solo" | med)" "follow --once: read + verify + apply, alone"
	# What the JSON gateway puts on the wire for the gRPC bytes counted
	# above: one read of the whole prefix both ways.
	read -r e0 rx0 <<<"$(fl_grpc)"
	r=$(curl -s -o /dev/null -w '%{size_download}' -X POST "$EURL/v3/kv/range" \
	    -d "{\"key\":\"$(fl_b64 "$FPFX")\",\"range_end\":\"$(fl_b64 "${FPFX%/}0")\"}")
	read -r e1 rx1 <<<"$(fl_grpc)"
	fig "fleet_${tag}_json_vs_grpc_bytes" "$(fl_div "$r" $((e1 - e0)) %.2f)" "JSON gateway bytes / gRPC bytes, one range of the prefix"

	# a'. today's per-host sync: N hosts, each its own cache and the admin token
	for n in 1 10; do
		fl_hosts_conf "$n"
		for ((i = 1; i <= n; i++)); do fl_sync "$FW/c/h$i.conf"; done   # first sync, not counted
		fl_api_reset
		for ((t0 = 0; t0 < k; t0++)); do
			for ((i = 1; i <= n; i++)); do fl_sync "$FW/c/h$i.conf"; done
		done
		tot=$(fl_api_total)
		fig "fleet_${tag}_api_req_per_min_perhost_h$n" "$(fl_div "$tot" "$k")" "$n host(s) x $k sync(s) each: per minute"
		[ "$n" = 10 ] && fig "fleet_${tag}_api_req_per_min_perhost_h100" "$(fl_div $((tot * 10)) "$k")" "EXTRAPOLATED linearly from 10 hosts"
	done
	fl_stop "$ETCD_PID" "$SIM_PID"
	rm -rf "$FW/etcd" "$FW/f" "$FW/h" "$FW/pub"; mkdir -p "$FW/f" "$FW/h"
}

if [ "$QUICK" = 1 ]; then
	fl_size small 20 5 10 3 2
else
	fl_size small 20 5 100 7 3
	fl_size large 1000 10 "${BENCH_FLEET_LARGE_FOLLOWERS:-100}" "${BENCH_FLEET_LARGE_TRIALS:-3}" 1
fi
rm -rf "$FW"
