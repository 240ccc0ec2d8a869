#!/bin/bash
# it_fleet_faults.sh - fleet mode under faults (docs/FLEET.md, issue 12): a
# real etcd on 127.0.0.1 (tests/lib_etcd.sh), the simulator seeded with an
# organization of 100 users x 20 tokens, one publisher and several
# followers with their own configs and caches.
#
# The property every fault must keep: each follower is on its LAST COMPLETE
# generation.  The publisher holds NT enrolled tokens T1..TNT (their hashes
# known, so followers decide on them); each published change revokes the
# next one at the simulator, so generation G of the test decides "the first
# K(G) denied, the rest accepted".  A follower is on a complete generation
# when its applied generation G is one the test saw published whole (current
# moved to it) and its decisions on T1..TNT are exactly those of G; its
# applied generation never goes backwards.
#
#  1. etcd stopped and restarted under a long-running `aivenctl follow`;
#  2. the publisher killed (SIGKILL) at varied points of `sync` (fixed seed);
#  3. a follower killed at varied points of `follow --once` (fixed seed);
#  4. compaction past a follower's revision: a restarted follower, and a
#     running one whose next watch (held by a forwarder) is canceled;
#  5. the leader's lease lapsing (fleet_lease_ttl = 5): publisher A frozen
#     inside its sync (SIGSTOP), then A held at its first guarded write
#     (a forwarder), B takes over each time, A's writes are refused;
#  6. a partition (a forwarder that relays nothing) longer than max_stale;
#  6b. a revocation pending across a leader change, the API failing across
#     it (503 on every DELETE), then recovering;
#  7. a follower's etcd credential (RBAC read) used to publish.
# Waits are bounded polls on a condition; no assertion is on timing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_etcd.sh"

if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
	skip "fleet faults: etcd not installed"
	finish; exit
fi
SEED=${FAULT_SEED:-12}      # the kill delays: reproducible
N_PUB_KILLS=${N_PUB_KILLS:-15}
N_FOL_KILLS=${N_FOL_KILLS:-12}
NT=34
SECRETS=$W/secrets; mkdir -m 0700 "$SECRETS"
STOPPED=()
trap 'for p in "${STOPPED[@]}"; do kill -CONT "$p" 2>/dev/null; done; lib_cleanup' EXIT

start_sim --quiet --seed-users 100 --seed-tokens-per-user 20 \
    --seed-tokens-file "$SECRETS/seed.jsonl" || { bad "simulator did not start"; finish; exit; }
etcd_start || { bad "etcd did not start: $(tail -5 "$W/etcd.log")"; finish; exit; }
ok "etcd on 127.0.0.1:$ETCD_CP, simulator with 100 users x 20 tokens"

PFX=/flt/
cp "$W/aivenauth.conf" "$W/base.conf"       # the same host, fleet off
pk=$(ctl fleet keygen --out "$W/fleet.key" 2>"$W/err") || bad "keygen: $(cat "$W/err")"
cat >> "$W/aivenauth.conf" <<EOC
fleet = publish
etcd_endpoints = $EURL
etcd_prefix = $PFX
fleet_signing_key_file = $W/fleet.key
EOC
# fconf N [ENDPOINT [MAX_STALE]]: follower N's config (no API token file)
fconf() {
	cat > "$W/f$1.conf" <<EOC
organization_id = $ORG_ID
api_url = $SIM_URL
api_token_file = $W/no-token
cache_dir = $W/f$1
fleet = follow
etcd_endpoints = ${2:-$EURL}
etcd_prefix = $PFX
fleet_public_keys = $pk
max_stale = ${3:-1h}
timeout = 10
EOC
	chmod 0644 "$W/f$1.conf"
}
for n in 1 2 3 4; do fconf $n; done
fctl() { local n=$1; shift; "$AB/aivenctl" -c "$W/f$n.conf" "$@"; }
applied() { fctl "$1" --json status 2>/dev/null | sed -n 's/^ *"generation": \([0-9]*\),*$/\1/p'; }
CUR_Q="{\"key\":\"$(printf %s "${PFX}current" | base64 -w0)\"}"
current() {  # etcd's current generation (curl: cheaper than python)
	local v
	if [ -n "${ETCD_AUTH_USER:-}" ]; then ekv get "${PFX}current" 2>/dev/null || echo 0; return; fi
	v=$(curl -s -X POST "$EURL/v3/kv/range" -d "$CUR_Q" | sed -n 's/.*"value":"\([^"]*\)".*/\1/p')
	if [ -n "$v" ]; then printf '%s\n' "$v" | base64 -d; echo; else echo 0; fi
}
gdir() { printf '%sgen/%020d/' "$PFX" "$1"; }

# T1..TNT: one seeded token of each of NT users, enrolled (hash stored) on
# the publisher with the fleet off (no publish per token).
python3 - "$SECRETS" "$NT" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
seen, out = set(), []
for l in open(d + "/seed.jsonl"):
    r = json.loads(l)
    if r["user_id"] not in seen:
        seen.add(r["user_id"]); out.append(r)
for i, r in enumerate(out[:n], 1):
    open("%s/T%d" % (d, i), "w").write(r["full_token"] + "\n")
    open("%s/T%d.meta" % (d, i), "w").write("%s %s\n" % (r["user_id"], r["token_prefix"]))
r = out[n]          # X: never enrolled, never revoked (for 7.)
open("%s/X" % d, "w").write(r["full_token"] + "\n")
open("%s/X.meta" % d, "w").write("%s %s\n" % (r["user_id"], r["token_prefix"]))
PY
"$AB/aivenctl" -c "$W/base.conf" sync > /dev/null 2>"$W/err" || bad "first sync: $(cat "$W/err")"
for i in $(seq $NT); do
	read -r u p < "$SECRETS/T$i.meta"
	"$AB/aivenctl" -c "$W/base.conf" token add "$u" < "$SECRETS/T$i" > /dev/null 2>"$W/err" ||
	    bad "token add T$i: $(cat "$W/err")"
done

# dvec N: follower N's decisions on T1..TNT, one letter each (A accepted,
# D denied, E<rc> anything else); expv K: those of a generation with K
# revoked.
dvec() {
	local i u p rc out=""
	for i in $(seq $NT); do
		read -r u p < "$SECRETS/T$i.meta"
		fctl "$1" verify "$u" --user-match id < "$SECRETS/T$i" > /dev/null 2>&1; rc=$?
		case $rc in 0) out+=A ;; 1) out+=D ;; *) out+="E$rc" ;; esac
	done
	echo "$out"
}
expv() { local i out=""; for i in $(seq $NT); do if [ "$i" -le "$1" ]; then out+=D; else out+=A; fi; done; echo "$out"; }
declare -A GENK LAST
FRC=()
K=0
# change [churn]: the next enrolled token revoked at the simulator (the
# publisher's next sync drops it), plus one new token there so every
# snapshot differs (churn: only that).
change() {
	if [ "${1:-}" != churn ]; then
		K=$((K + 1))
		[ -e "$SECRETS/T$K.meta" ] || { bad "test bug: more than $NT revocations"; K=$NT; }
		read -r u p < "$SECRETS/T$K.meta"
		sim_ctl POST "/_sim/tokens/$(enc "$p")/revoke" > /dev/null
	fi
	api POST "/v1/organization/$ORG_ID/application-users/$ADMIN_USER_ID/access-tokens" \
	    '{"description": "churn"}' > /dev/null
}
# publish [CONF]: a sync that must publish a new generation; records it
publish() {
	local c=${1:-$W/aivenauth.conf} out g
	out=$("$AB/aivenctl" -c "$c" sync 2>&1)
	g=$(printf '%s\n' "$out" | sed -n 's/^fleet: published generation \([0-9]*\) .*/\1/p')
	if [ -z "$g" ] || [ "$(current)" != "$g" ]; then
		bad "publish: $out"; return 1
	fi
	GENK[$g]=$K
	NREC=$(printf '%s\n' "$out" | sed -n 's/^fleet: published generation [0-9]* (\([0-9]*\) users, \([0-9]*\) tokens)$/\1 \2/p' | awk '{print $1 + $2}')
}
# complete N: follower N is on a complete generation, not behind LAST[N];
# says why not in WHY.
complete() {
	local n=$1 g d
	g=$(applied "$n"); d=$(dvec "$n")
	WHY="follower $n: generation '$g' (known: ${GENK[$g]-no}), decisions $d"
	[ -n "$g" ] && [ -n "${GENK[$g]-}" ] || return 1
	[ "$d" = "$(expv "${GENK[$g]}")" ] || { WHY+=" expected $(expv "${GENK[$g]}")"; return 1; }
	[ "$g" -ge "${LAST[$n]:-0}" ] || { WHY+=" went back from ${LAST[$n]}"; return 1; }
	LAST[$n]=$g
}
follow12() {  # follow --once on followers 1 and 2 side by side; exit codes in FRC
	local p1 p2
	fctl 1 follow --once > "$W/fo.1" 2>&1 & p1=$!
	fctl 2 follow --once > "$W/fo.2" 2>&1 & p2=$!
	wait $p1; FRC[1]=$?; wait $p2; FRC[2]=$?
}
held() { [ -e "$W/fwd.$1/held" ]; }
answered() { grep -q 'answered after release' "$W/fwd.$1/log"; }
on_gen() { [ "$(applied "$1")" = "$2" ]; }
ms() { date +%s%3N; }
delays() {  # delays SEED N LO_MS HI_MS: N delays in seconds, fixed seed
	python3 -c 'import random,sys; r=random.Random(int(sys.argv[1])); lo,hi=int(sys.argv[3]),int(sys.argv[4]); print(" ".join("%.3f" % ((lo + r.random() * (hi - lo)) / 1000) for _ in range(int(sys.argv[2]))))' "$@"
}
minmax() { printf '%s\n' "$@" | sort -n | sed -n '1p;$p' | paste -sd- | sed 's/-/../'; }
section() { echo "# $1 (at ${SECONDS} s)"; }
# Hot paths of 2. through curl (a python start per call costs more than
# the call): ecount PREFIX, ehas KEY, drop_lease.
b64s() { printf %s "$1" | base64 -w0; }
ecount() {  # PREFIX ends in '/': its range ends at '0' ('/' + 1)
	local p=$1 e=${1%/}0
	curl -s -X POST "$EURL/v3/kv/range" -d "{\"key\":\"$(b64s "$p")\",\"range_end\":\"$(b64s "$e")\",\"count_only\":true}" |
	    sed -n 's/.*"count":"\([0-9]*\)".*/\1/p' | grep . || echo 0
}
ehas() { curl -s -X POST "$EURL/v3/kv/range" -d "{\"key\":\"$(b64s "$1")\"}" | grep -q '"kvs"'; }
drop_lease() {  # the killed leader's lease, revoked (standing in for its TTL)
	local l
	l=$(curl -s -X POST "$EURL/v3/kv/range" -d "{\"key\":\"$(b64s "${PFX}leader")\"}" | sed -n 's/.*"lease":"\([0-9]*\)".*/\1/p')
	[ -n "$l" ] && curl -s -X POST "$EURL/v3/lease/revoke" -d "{\"ID\":\"$l\"}" > /dev/null
}

change
publish || { finish; exit; }
G1=$(current)
for n in 1 2 3 4; do fctl $n follow --once > "$W/fo.$n" 2>&1 || bad "follow --once f$n: $(cat "$W/fo.$n")"; done
c=0; for n in 1 2 3 4; do complete $n && c=$((c + 1)) || bad "$WHY"; done
[ $c = 4 ] && ok "generation $G1 ($(ekv count "$(gdir "$G1")") keys) applied on 4 followers, decisions $(expv $K)"

# ------------------------------------------------------------ 1. etcd restart
section "1. etcd restart"
"$AB/aivenctl" -c "$W/f4.conf" follow > "$W/follow4.log" 2>&1 &
F4=$!; PIDS+=("$F4")
etcd_stop
grep_retry() { grep -q 'retrying in' "$W/follow4.log"; }
wait_for 30 grep_retry || bad "follow: no retry logged with etcd down: $(cat "$W/follow4.log")"
if kill -0 "$F4" 2>/dev/null && complete 4 && [ "$(applied 4)" = "$G1" ]; then
	ok "1. etcd down: the running follow retries, its follower still decides on generation $G1"
else
	bad "1. etcd down: alive=$(kill -0 "$F4" 2>/dev/null && echo yes || echo no) $WHY"
fi
etcd_start || bad "etcd did not restart"
change; publish
G=$(current)
if wait_for 60 on_gen 4 "$G" && complete 4; then
	ok "1. etcd back: the running follow applies generation $G from its watch"
else
	bad "1. etcd back: follower 4 on $(applied 4), want $G: $WHY: $(tail -3 "$W/follow4.log")"
fi

# ------------------------------------------------------------ 2. publisher killed
section "2. publisher killed"
# How long a whole sync + publish takes here, to spread the kills over it.
change churn
t0=$(ms); publish; T_PUB=$(($(ms) - t0))
for n in 1 2; do fctl $n follow --once > /dev/null 2>&1; complete $n || bad "$WHY"; done
DL=($(delays "$SEED" "$N_PUB_KILLS" $((T_PUB / 5)) $((T_PUB * 8 / 10))))
declare -A CAT
viol=0; nopub=0
for d in "${DL[@]}"; do
	change
	before=$(current); gt=$((before + 1))
	"$AB/aivenctl" -c "$W/aivenauth.conf" sync > "$W/kill.out" 2>&1 &
	p=$!
	sleep "$d"
	kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; rc=$?
	after=$(current)
	if [ $rc != 137 ]; then c="finished before the kill"
	elif [ "$after" = "$gt" ]; then c="killed after current moved"
	elif ehas "$(gdir "$gt")manifest"; then c="killed mid-publish: manifest, current not moved"
	elif [ "$(ecount "$(gdir "$gt")")" != 0 ]; then c="killed mid-publish: records without manifest"
	else c="killed before publishing (campaign or sync)"
	fi
	CAT[$c]=$((${CAT[$c]:-0} + 1))
	[ "$after" = "$gt" ] && GENK[$gt]=$K
	drop_lease
	follow12
	for n in 1 2; do
		[ "${FRC[$n]}" = 0 ] || { viol=$((viol + 1)); bad "2. after a kill ($c, ${d}s): follow --once f$n: $(cat "$W/fo.$n")"; }
		complete $n || { viol=$((viol + 1)); bad "2. after a kill ($c, ${d}s): $WHY"; }
	done
	# the next run publishes a newer complete generation, which followers apply
	change churn
	if publish; then
		follow12
		for n in 1 2; do
			{ complete $n && on_gen $n "$(current)"; } || { viol=$((viol + 1)); bad "2. next run after a kill ($c): $WHY"; }
		done
	else
		nopub=$((nopub + 1))
	fi
done
summary=""; for c in "${!CAT[@]}"; do summary+="$c: ${CAT[$c]}; "; done
echo "publisher kills (delays $(minmax "${DL[@]}") s, a whole sync + publish took ${T_PUB} ms): $summary"
mid=$((${CAT["killed mid-publish: records without manifest"]:-0} + ${CAT["killed mid-publish: manifest, current not moved"]:-0}))
[ $viol = 0 ] && [ $nopub = 0 ] &&
	ok "2. publisher SIGKILLed $N_PUB_KILLS times ($mid mid-publish): every follower on a complete generation each time; the next run publishes one they apply" ||
	bad "2. publisher kills: $viol violations, $nopub next runs that did not publish"
# Where a kill at a delay lands depends on this machine's speed: counted,
# not asserted (2b makes sure of the points in between).
[ "$mid" -gt 0 ] && ok "2. kills that landed mid-publish: $mid of $N_PUB_KILLS" ||
	skip "2. no delayed kill landed mid-publish this time: $summary"

# 2b. Killed at chosen points of its publish: the publisher's etcd is a
#     forwarder that holds its Nth txn (N among the first, the middle and
#     the last of the txns a publish makes here, counted on a clean run
#     through the same forwarder); the publisher is SIGKILLed while it
#     waits, its lease revoked, and only then the held txn let through: a
#     dead leader's late write, which the guard must refuse.  Every run
#     starts without a leader (the lease revoked), so each makes the same
#     txns.
sed -e '/^etcd_endpoints = /d' "$W/aivenauth.conf" > "$W/pf.conf.in"
pf_conf() { { cat "$W/pf.conf.in"; echo "etcd_endpoints = http://127.0.0.1:$FWD_PORT"; } > "$W/pf.conf"; }
drop_lease; change churn
fwd_start c "$ETCD_CP" || bad "forwarder"
pf_conf; publish "$W/pf.conf"
NTX=$(grep -c '^req /v3/kv/txn$' "$W/fwd.c/log")
stop_pid "$FWD_PID"
follow12
viol=0; pts=""
for pt in $(printf '%s\n' 1 2 3 $((NTX / 2)) $((NTX - 1)) "$NTX" | awk '$1 >= 1' | sort -nu); do
	drop_lease; change
	before=$(current); gt=$((before + 1))
	fwd_start k "$ETCD_CP" --hold /v3/kv/txn --hold-nth "$pt" --armed 1 || bad "forwarder"
	FK=$FWD_PID; pf_conf
	"$AB/aivenctl" -c "$W/pf.conf" sync > "$W/kill.out" 2>&1 &
	p=$!
	wait_for 30 held k || bad "2b. txn $pt not held: $(cat "$W/kill.out")"
	kill -KILL "$p"; wait "$p" 2>/dev/null
	drop_lease
	n=$(ecount "$(gdir "$gt")"); m=no; ehas "$(gdir "$gt")manifest" && m=yes
	cur=$(current)
	touch "$W/fwd.k/release"
	wait_for 30 answered k || bad "2b. the late txn $pt got no answer"
	n2=$(ecount "$(gdir "$gt")")
	if [ "$cur" = "$before" ] && [ "$(current)" = "$before" ] && [ "$n2" = "$n" ]; then
		pts+="$pt:$n$([ $m = yes ] && echo +manifest) "
	else
		viol=$((viol + 1))
		bad "2b. killed at txn $pt of $NTX: current $cur then $(current) (want $before), gen/$gt/ $n keys, $n2 after the late txn"
	fi
	stop_pid "$FK"
	follow12
	for n in 1 2; do
		{ [ "${FRC[$n]}" = 0 ] && complete $n && on_gen $n "$before"; } || { viol=$((viol + 1)); bad "2b. after a kill at txn $pt: $WHY $(cat "$W/fo.$n")"; }
	done
	drop_lease; change churn
	publish || viol=$((viol + 1))
	follow12
	for n in 1 2; do
		{ complete $n && on_gen $n "$(current)"; } || { viol=$((viol + 1)); bad "2b. next run after a kill at txn $pt: $WHY"; }
	done
done
[ $viol = 0 ] && ok "2b. publisher SIGKILLed while its txn N of $NTX was held (N:keys of gen/G/ left = $pts): current never moved, the dead leader's late txn is refused, followers stay on the last complete generation, the next run publishes one they apply" ||
	bad "2b. $viol violations"

# ------------------------------------------------------------ 3. follower killed
section "3. follower killed"
fctl 3 follow --once > /dev/null 2>&1; complete 3 || bad "$WHY"
G_OLD=$(applied 3)
rm -rf "$W/f3.base"; cp -a "$W/f3" "$W/f3.base"
change; publish; G_NEW=$(current)
restore3() { rm -rf "$W/f3"; cp -a "$W/f3.base" "$W/f3"; LAST[3]=$G_OLD; }
T_APPLY=
for i in 1 2 3; do   # the fastest of three clean applies (the first may be cold)
	restore3
	t0=$(ms); fctl 3 follow --once > /dev/null 2>&1; t=$(($(ms) - t0))
	{ complete 3 && on_gen 3 "$G_NEW"; } || bad "3. a clean apply: $WHY"
	[ -z "$T_APPLY" ] || [ "$t" -lt "$T_APPLY" ] && T_APPLY=$t
done
DL=($(delays $((SEED + 1)) "$N_FOL_KILLS" $((T_APPLY / 4)) $((T_APPLY * 11 / 10))))
viol=0; killed=0; old=0; wrote=0
for d in "${DL[@]}"; do
	restore3
	"$AB/aivenctl" -c "$W/f3.conf" follow --once > "$W/fo.3" 2>&1 &
	p=$!
	sleep "$d"
	kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; rc=$?
	[ $rc = 137 ] && killed=$((killed + 1))
	g=$(applied 3)
	[ "$g" = "$G_OLD" ] && old=$((old + 1))
	# the writer's file changed but the generation did not: killed inside
	# the write (pages written, not committed)
	[ "$g" = "$G_OLD" ] && ! cmp -s "$W/f3/writer/data.mdb" "$W/f3.base/writer/data.mdb" && wrote=$((wrote + 1))
	complete 3 || { viol=$((viol + 1)); bad "3. follower killed at ${d}s: $WHY"; }
	fctl 3 follow --once > "$W/fo.3" 2>&1; rc=$?
	{ [ $rc = 0 ] && complete 3 && on_gen 3 "$G_NEW"; } ||
	    { viol=$((viol + 1)); bad "3. next follow --once after a kill at ${d}s: exit $rc $(cat "$W/fo.3"): $WHY"; }
done
echo "follower kills (delays $(minmax "${DL[@]}") s, a whole follow --once took ${T_APPLY} ms at best): $killed killed while running, $old left on generation $G_OLD ($wrote of them with the writer's file already written to), $((N_FOL_KILLS - old)) on $G_NEW"
[ $viol = 0 ] && ok "3. follower SIGKILLed $N_FOL_KILLS times mid follow --once: decides on $G_OLD or $G_NEW, never a mix; the next follow --once applies $G_NEW" ||
	bad "3. follower kills: $viol violations"
[ "$killed" -gt 0 ] && [ "$old" -gt 0 ] && ok "3. kills that left the follower on the previous generation: $old of $N_FOL_KILLS" ||
	skip "3. no delayed kill hit the apply this time ($killed killed, $old on the previous generation)"

# ------------------------------------------------------------ 4. compaction
section "4. compaction"
# a. A follower down while generations come and etcd compacts: restarted,
#    its long-running follow reads the prefix again.
stop_pid "$F4"
change; publish; change churn; publish; change churn; publish
G=$(current); R=$(ekv rev)
ekv compact "$R" || bad "compact $R"
"$AB/aivenctl" -c "$W/f4.conf" follow > "$W/follow4b.log" 2>&1 &
F4=$!; PIDS+=("$F4")
wait_for 30 on_gen 4 "$G" && complete 4 &&
	ok "4a. compacted to revision $R while follower 4 was down: its restarted follow applies generation $G" ||
	bad "4a. follower 4 on $(applied 4), want $G: $WHY: $(tail -3 "$W/follow4b.log")"
# b. A running follow whose next watch starts at a compacted revision: its
#    etcd is a forwarder that holds that watch while generations come and
#    etcd compacts, then lets it through.
fwd_start w "$ETCD_CP" --hold /v3/watch || bad "forwarder did not start"
fconf 5 "http://127.0.0.1:$FWD_PORT"
"$AB/aivenctl" -c "$W/f5.conf" -v follow > "$W/follow5.log" 2>&1 &
F5=$!; PIDS+=("$F5")
wait_for 30 on_gen 5 "$G" || bad "4b. follower 5 did not apply $G: $(tail -3 "$W/follow5.log")"
touch "$W/fwd.w/arm"
ctl sync > /dev/null 2>&1     # a heartbeat: follower 5 reads again and watches anew
wait_for 30 held w || bad "4b. the forwarder held no watch: $(cat "$W/fwd.w/log")"
change; publish; change churn; publish
G=$(current); R=$(ekv rev)
ekv compact "$R" || bad "compact $R"
touch "$W/fwd.w/release"
wait_for 30 on_gen 5 "$G" && complete 5 && grep -q 'compacted' "$W/follow5.log" &&
	ok "4b. a running follow's watch canceled by compaction (revision $R): it reads again and applies generation $G" ||
	bad "4b. follower 5 on $(applied 5), want $G: $WHY: $(grep -i compact "$W/follow5.log" | head -3)"
wait_for 30 on_gen 4 "$G" && complete 4 || bad "4. follower 4 (not compacted under it) on $(applied 4), want $G"
stop_pid "$F5"

# ------------------------------------------------------------ 5. lease lapse
section "5. lease lapse"
# Publisher A (this publisher's cache) and B (a copy of it: the same hashes
# and hash key), the same signing key, lease TTL 5 s, host names pubA and
# pubB (their publisher ids) through a UTS namespace when we may make one.
# (unshare without --fork execs: a background pid is aivenctl's own)
if unshare --uts true 2>/dev/null; then
	AS_A=(unshare --uts sh -c 'hostname "$0" && exec "$@"' pubA)
	AS_B=(unshare --uts sh -c 'hostname "$0" && exec "$@"' pubB)
	HAVE_UTS=true
else
	AS_A=(); AS_B=()
	HAVE_UTS=false
	skip "5. no UTS namespace: publisher ids not told apart"
fi
sed -e '/^timeout = /d' "$W/aivenauth.conf" > "$W/pa.conf"
printf 'timeout = 60\nfleet_lease_ttl = 5\n' >> "$W/pa.conf"
rm -rf "$W/cacheB"; cp -a "$W/cache" "$W/cacheB"
sed -e "s#^cache_dir = .*#cache_dir = $W/cacheB#" "$W/pa.conf" > "$W/pb.conf"
chmod 0644 "$W/pa.conf" "$W/pb.conf"
no_leader() { ! ekv get "${PFX}leader" > /dev/null; }
# publisher_b: B takes over and publishes; followers 1 and 2 apply it
publisher_b() {
	local out g
	out=$("${AS_B[@]}" "$AB/aivenctl" -c "$W/pb.conf" sync 2>&1)
	g=$(printf '%s\n' "$out" | sed -n 's/^fleet: published generation \([0-9]*\) .*/\1/p')
	[ -n "$g" ] && [ "$(current)" = "$g" ] || { bad "5. B did not publish: $out"; return 1; }
	GENK[$g]=$K; GB=$g
}
# a. A frozen inside its sync: the simulator delays one token list 2 s;
#    once that request has arrived, A is stopped.
drop_lease; change
sim_ctl POST /_sim/faults '{"path": "access-tokens$", "method": "GET", "kind": "latency", "ms": 2000, "count": 1}' > /dev/null
"${AS_A[@]}" "$AB/aivenctl" -c "$W/pa.conf" sync > "$W/a.out" 2>&1 &
A=$!
fired() { sim_ctl GET /_sim/faults | python3 -c 'import json,sys; sys.exit(0 if any(f["fired"] for f in json.load(sys.stdin)["faults"]) else 1)'; }
wait_for 30 fired || bad "5a. A's sync never reached the delayed request"
leader_then=$(ekv get "${PFX}leader")
kill -STOP "$A"; STOPPED+=("$A")
sim_ctl DELETE /_sim/faults > /dev/null
wait_for 30 no_leader || bad "5a. A's lease did not lapse"
publisher_b
for n in 1 2; do fctl $n follow --once > /dev/null 2>&1; { complete $n && on_gen $n "$GB"; } || bad "5a. $WHY"; done
R_B=$(ekv rev)
kill -CONT "$A"; wait "$A"; rc=$?
hb=$(ekv hbpub "$PFX")
if [ $rc = 77 ] && grep -q 'leader lease has expired' "$W/a.out" && [ "$(current)" = "$GB" ] &&
    [ "$(ekv rev)" = "$R_B" ] && { ! $HAVE_UTS || { [ "$leader_then" = pubA ] && [ "$hb" = "pubB $GB" ]; }; }; then
	ok "5a. A frozen in its sync past its lease, B took over (generation $GB); resumed, A exits 77 (lease expired), writes nothing (revision $R_B unchanged, heartbeat '$hb')"
else
	bad "5a. A: exit $rc, current $(current) want $GB, revision $(ekv rev) want $R_B, heartbeat '$hb', leader was '$leader_then': $(cat "$W/a.out")"
fi
# b. A held at its first guarded write: its etcd is a forwarder that holds
#    the first txn after A's keepalive (the publish's start) until A's
#    lease has lapsed and B has published.
fwd_start g "$ETCD_CP" --hold-after /v3/lease/keepalive --hold /v3/kv/txn || bad "forwarder did not start"
sed -e "s#^etcd_endpoints = .*#etcd_endpoints = http://127.0.0.1:$FWD_PORT#" "$W/pa.conf" > "$W/pa2.conf"
chmod 0644 "$W/pa2.conf"
drop_lease; change
"${AS_A[@]}" "$AB/aivenctl" -c "$W/pa2.conf" sync > "$W/a2.out" 2>&1 &
A=$!
wait_for 30 held g || bad "5b. A's guarded write was not held: $(cat "$W/fwd.g/log" "$W/a2.out")"
leader_then=$(ekv get "${PFX}leader")
wait_for 30 no_leader || bad "5b. A's lease did not lapse"
publisher_b
n_b=$(ekv count "$(gdir "$GB")")
touch "$W/fwd.g/release"
wait "$A"; rc=$?
R_B=$(ekv rev)
for n in 1 2; do fctl $n follow --once > /dev/null 2>&1; { complete $n && on_gen $n "$GB"; } || bad "5b. $WHY"; done
ekv history "$PFX" > "$W/history" 2>"$W/err" || bad "history: $(cat "$W/err")"
hb=$(ekv hbpub "$PFX")
# No heartbeat of A's in etcd's history (since the compaction of 4.):
# A never published.
lateA=$(grep -c 'heartbeat pubA$' "$W/history")
if [ $rc = 77 ] && grep -q 'lease lost' "$W/a2.out" && [ "$(current)" = "$GB" ] &&
    [ "$(ekv count "$(gdir "$GB")")" = "$n_b" ] && [ "$lateA" = 0 ] &&
    { ! $HAVE_UTS || { [ "$leader_then" = pubA ] && [ "$hb" = "pubB $GB" ]; }; }; then
	ok "5b. A held at its first guarded write past its lease; B published $GB; released, A's txn is refused (exit 77), $GB intact ($n_b keys), heartbeat '$hb', no heartbeat of A after B's in etcd's history"
else
	bad "5b. A: exit $rc, current $(current) want $GB, keys $(ekv count "$(gdir "$GB")") want $n_b, heartbeat '$hb', A after B: $lateA, leader was '$leader_then': $(cat "$W/a2.out")"
fi

# ------------------------------------------------------------ 6. partition
section "6. partition"
# Follower 6 reaches etcd through a forwarder; the forwarder stops relaying
# anything (the connections stay open: packets lost, not refused) for
# longer than its max_stale.
fwd_start p "$ETCD_CP" || bad "forwarder did not start"
fconf 6 "http://127.0.0.1:$FWD_PORT" 3
drop_lease; change churn; publish   # the publisher publishes what A synced in 5.
fctl 6 follow --once > /dev/null 2>&1
"$AB/aivenctl" -c "$W/f6.conf" follow > "$W/follow6.log" 2>&1 &
F6=$!; PIDS+=("$F6")
G6=$(applied 6)
fresh6() { ctl sync > /dev/null 2>&1; [ "$(dvec 6)" = "$(expv "${GENK[$G6]:-0}")" ]; }
wait_for 30 fresh6 || bad "6. follower 6 not fresh before the partition: $(dvec 6)"
touch "$W/fwd.p/drop"
ctl sync > /dev/null 2>&1
read -r U_NT P_NT < "$SECRETS/T$NT.meta"
stale6() { fctl 6 verify "$U_NT" --user-match id < "$SECRETS/T$NT" 2>/dev/null | grep -q 'cache-stale'; }
if wait_for 30 stale6 && [ "$(applied 6)" = "$G6" ] && kill -0 "$F6"; then
	ok "6. partitioned past max_stale (3 s): follower 6 says cache-stale, keeps generation $G6"
else
	bad "6. partition: $(fctl 6 verify "$U_NT" --user-match id < "$SECRETS/T$NT" 2>&1 | head -1), generation $(applied 6)"
fi
if command -v pamtester >/dev/null && [ -e /usr/lib/x86_64-linux-gnu/libpam_wrapper.so ]; then
	mkdir -p "$W/pam.d"
	printf 'auth required %s config=%s\naccount required %s config=%s\n' \
	    "$AB/pam_aiven.so" "$W/f6.conf" "$AB/pam_aiven.so" "$W/f6.conf" > "$W/pam.d/aivfleet"
	printf 'auth required pam_deny.so\naccount required pam_deny.so\n' > "$W/pam.d/other"
	chmod -R a+rX "$W/pam.d"
	read -r u p < "$SECRETS/T$NT.meta"
	env PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" LD_PRELOAD=libpam_wrapper.so \
	    pamtester aivfleet "$u" authenticate < "$SECRETS/T$NT" > "$W/pam" 2>&1
	grep -q 'cannot retrieve authentication info' "$W/pam" && ok "6. PAM on the partitioned follower: PAM_AUTHINFO_UNAVAIL" ||
		bad "6. PAM: $(cat "$W/pam")"
else
	skip "6. pamtester or pam_wrapper missing"
fi
rm -f "$W/fwd.p/drop"
wait_for 60 fresh6 && complete 6 && [ "$(applied 6)" = "$G6" ] &&
	ok "6. partition healed: follower 6 fresh again on generation $G6 (its watch resumed)" ||
	bad "6. after the partition: $(dvec 6) on $(applied 6): $(tail -3 "$W/follow6.log")"
stop_pid "$F6"; stop_pid "$F4"

# ------------------------------------------------------------ 6b. revocation across a leader change
section "6b. revocation across a leader change"
# The next enrolled token revoked with `aivenctl token revoke` on leader A
# while the API answers 503 to every DELETE; A hands over to B (pb.conf)
# with the API still failing, then the API recovers.  The revocation is
# part of the signed published state: every follower keeps refusing the
# token throughout, and leader B sends the DELETE once the API answers.
is_listed() {  # is prefix $1 listed at the simulator?
	sim_ctl GET /_sim/state | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(any(sys.argv[1] in json.dumps(u) for u in d.get("users", [])))' "$1"
}
record() { local g; g=$(current); GENK[$g]=$K; }
follow_check() {  # follow12, then both followers complete on current
	local n
	follow12
	for n in 1 2; do { complete $n && on_gen $n "$(current)"; } || { bad "6b. $1: $WHY"; return 1; }; done
}
ctl sync > /dev/null 2>&1 || bad "6b. A sync"
"${AS_B[@]}" "$AB/aivenctl" -c "$W/pb.conf" sync > "$W/b6.out" 2>&1 || bad "6b. B standby: $(cat "$W/b6.out")"
K=$((K + 1))
read -r u p < "$SECRETS/T$K.meta"
sim_ctl POST /_sim/faults '{"path": "access-tokens", "method": "DELETE", "kind": "status", "status": 503}' > /dev/null
ctl token revoke "$u" "$p" > "$W/rv6" 2>&1; rc=$?
record
follow_check "after the revoke" && [ $rc != 0 ] && [ "$(is_listed "$p")" = True ] &&
	ok "6b. T$K revoked on leader A with the API failing (exit $rc, still listed): refused on followers 1 and 2 (generation $(current))"
"${AS_B[@]}" "$AB/aivenctl" -c "$W/pb.conf" sync > "$W/b6.out" 2>&1 || bad "6b. B standby: $(cat "$W/b6.out")"
ctl fleet resign > /dev/null 2>&1 || bad "6b. A resign"
"${AS_B[@]}" "$AB/aivenctl" -c "$W/pb.conf" sync > "$W/b6.out" 2>&1; rc=$?
record
follow_check "B leading, API failing" && [ $rc = 0 ] && grep -q 'could not be sent to the API' "$W/b6.out" &&
	[ "$(is_listed "$p")" = True ] &&
	ok "6b. A resigned, B leads with the API still failing: its DELETE fails, T$K stays refused on followers 1 and 2 (generation $(current))" ||
	bad "6b. B sync exit $rc: $(cat "$W/b6.out")"
sim_ctl DELETE /_sim/faults > /dev/null
"${AS_B[@]}" "$AB/aivenctl" -c "$W/pb.conf" sync > "$W/b6.out" 2>&1; rc=$?
record
follow_check "after the API recovered" && [ $rc = 0 ] && grep -q 'revocations sent to the API: 1' "$W/b6.out" &&
	[ "$(is_listed "$p")" = False ] &&
	ok "6b. the API recovered: leader B sent the pending DELETE (T$K no longer listed), refused everywhere (generation $(current))" ||
	bad "6b. B sync exit $rc, listed $(is_listed "$p"): $(cat "$W/b6.out")"
"${AS_B[@]}" "$AB/aivenctl" -c "$W/pb.conf" fleet resign > /dev/null 2>&1
ctl sync > "$W/a6.out" 2>&1 || bad "6b. A takes the key back: $(cat "$W/a6.out")"
record

# ------------------------------------------------------------ 7. RBAC
section "7. RBAC"
# etcd users: root, publisher (readwrite on the prefix), follower (read).
for u in root publisher follower; do
	( umask 077; python3 -c 'import secrets; print(secrets.token_hex(16))' > "$SECRETS/etcd-$u" )
done
E="etcdctl --endpoints=$EURL"
{
	$E user add root --interactive=false < "$SECRETS/etcd-root" && $E role add root &&
	    $E user grant-role root root &&
	    $E user add publisher --interactive=false < "$SECRETS/etcd-publisher" && $E role add pub &&
	    $E role grant-permission pub --prefix=true readwrite "$PFX" && $E user grant-role publisher pub &&
	    $E user add follower --interactive=false < "$SECRETS/etcd-follower" && $E role add fol &&
	    $E role grant-permission fol --prefix=true read "$PFX" && $E user grant-role follower fol &&
	    $E auth enable
} > "$W/rbac.log" 2>&1 || bad "7. RBAC setup: $(cat "$W/rbac.log")"
export ETCD_AUTH_USER=root ETCD_AUTH_PWFILE=$SECRETS/etcd-root
for n in 1 2; do printf 'etcd_user = follower\netcd_password_file = %s\n' "$SECRETS/etcd-follower" >> "$W/f$n.conf"; done
# The hostile one: a publisher's config (fleet = publish, the signing key,
# the admin token) with the follower's etcd credential.
rm -rf "$W/cacheH"; cp -a "$W/cache" "$W/cacheH"
sed -e "s#^cache_dir = .*#cache_dir = $W/cacheH#" "$W/aivenauth.conf" > "$W/h.conf"
printf 'etcd_user = follower\netcd_password_file = %s\n' "$SECRETS/etcd-follower" >> "$W/h.conf"
chmod 0644 "$W/h.conf"
for n in 1 2; do fctl $n follow --once > "$W/fo.$n" 2>&1 || bad "7. follower $n with its etcd user: $(cat "$W/fo.$n")"; done
# Only a read: status and fleet status on a healthy read-only follower
# print nothing on stderr (the write probe's expected 403 is not an error),
# doctor says the follower cannot write.
fctl 1 status > /dev/null 2> "$W/st7.err"; fctl 1 fleet status > /dev/null 2>> "$W/st7.err"
fctl 1 doctor > "$W/doc7" 2>&1
[ ! -s "$W/st7.err" ] && grep -E '^ok +etcd ' "$W/doc7" | grep -q 'can read the prefix, not write it' &&
	ok "7. status and fleet status on a read-only follower print no etcd error; doctor: it can read, not write" ||
	bad "7. stderr: $(cat "$W/st7.err"); doctor: $(grep ' etcd ' "$W/doc7")"
# The real publisher keeps the leader key between runs: it gives it up
# (with its own etcd user) so that the hostile config campaigns for it.
printf 'etcd_user = publisher\netcd_password_file = %s\n' "$SECRETS/etcd-publisher" >> "$W/aivenauth.conf"
ctl fleet resign > "$W/resign7" 2>&1 || bad "7. resign: $(cat "$W/resign7")"
R0=$(ekv rev); C0=$(current); H0=$(ekv hbpub "$PFX")
d0=$(dvec 1)
change
"$AB/aivenctl" -c "$W/h.conf" sync > "$W/h.out" 2>&1; rc=$?
[ $rc = 77 ] && grep -q 'permission denied' "$W/h.out" && [ "$(ekv rev)" = "$R0" ] &&
	ok "7. sync with a follower's etcd user: refused by etcd (exit 77, permission denied), etcd unchanged (revision $R0)" ||
	bad "7. hostile sync: exit $rc, revision $(ekv rev) was $R0: $(cat "$W/h.out")"
read -r u p < "$SECRETS/X.meta"
"$AB/aivenctl" -c "$W/h.conf" token add "$u" < "$SECRETS/X" > "$W/h2.out" 2>&1; rc=$?
[ $rc = 77 ] && grep -q 'permission denied' "$W/h2.out" && grep -q 'not published to the fleet' "$W/h2.out" && [ "$(ekv rev)" = "$R0" ] &&
	ok "7. token add with a follower's etcd user: done locally, publish refused by etcd (exit 77), etcd unchanged" ||
	bad "7. hostile token add: exit $rc, revision $(ekv rev) was $R0: $(cat "$W/h2.out")"
ETCD_AUTH_USER=follower ETCD_AUTH_PWFILE=$SECRETS/etcd-follower ekv put "${PFX}current" 999 2> "$W/put.err"; rc=$?
[ $rc != 0 ] && grep -q 'permission denied' "$W/put.err" && [ "$(ekv rev)" = "$R0" ] && [ "$(current)" = "$C0" ] &&
	ok "7. a raw gateway put with the follower's auth token: permission denied, etcd unchanged" ||
	bad "7. raw put: exit $rc: $(cat "$W/put.err"), current $(current)"
for n in 1 2; do fctl $n follow --once > "$W/fo.$n" 2>&1 || bad "7. follower $n: $(cat "$W/fo.$n")"; done
[ "$(dvec 1)" = "$d0" ] && [ "$(dvec 2)" = "$d0" ] && [ "$(ekv hbpub "$PFX")" = "$H0" ] && complete 1 && complete 2 &&
	ok "7. followers' decisions and generation unchanged ($(applied 1))" || bad "7. followers: $(dvec 1) / $(dvec 2) want $d0: $WHY"
publish && for n in 1 2; do fctl $n follow --once > /dev/null 2>&1; { complete $n && on_gen $n "$(current)"; } || bad "7. $WHY"; done &&
	ok "7. the publisher's own etcd user publishes generation $(current); followers apply it"
section "end"
finish
