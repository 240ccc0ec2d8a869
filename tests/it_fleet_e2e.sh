#!/bin/bash
# it_fleet_e2e.sh - fleet mode end to end (docs/FLEET.md): a real etcd on
# 127.0.0.1 (free ports, data in $W, stopped by pid), the API simulator,
# one publisher and three followers (separate configs and cache dirs; the
# followers have no API token file at all).
#
#  * a token created on the publisher is accepted on every follower after
#    `aivenctl follow --once` (aivenctl verify; through PAM with pamtester
#    + pam_wrapper on one follower), and refused on every follower once
#    revoked on the publisher; the simulator's stats show that no follower
#    called the API;
#  * on a follower, the commands that need the admin token say where to
#    run them (EX_CONFIG);
#  * hostile etcd writers: a generation signed by another key (written by
#    a second "publisher" with its own key), a generation whose records
#    are unsigned, a replay of an older generation (a saved copy of etcd
#    put back): each leaves every follower's decisions unchanged;
#  * staleness: a follower with max_stale = 1 s turns cache-stale (PAM:
#    "cannot retrieve authentication info") while etcd is down and the
#    publisher does not sync, keeps its generation, and recovers after
#    etcd is back and the publisher synced;
#  * the long-running `aivenctl follow` applies a new token from a watch
#    (bounded poll on the decision, no fixed sleep).
# Every other assertion follows `follow --once`: no timing involved.
. "$(dirname "$0")/lib.sh"

if ! command -v etcd >/dev/null; then
	skip "fleet e2e: etcd not installed"
	finish; exit
fi
SECRETS=$W/secrets; mkdir -m 0700 "$SECRETS"
start_sim || { bad "simulator did not start"; finish; exit; }

. "$(dirname "$0")/lib_etcd.sh"
start_etcd() { etcd_start; }     # ports kept: a restart is the same node
start_etcd || { bad "etcd did not start: $(tail -5 "$W/etcd.log")"; finish; exit; }
ok "etcd started at $EURL"

PFX=/e2e/
pk=$(ctl fleet keygen --out "$W/fleet.key" 2>"$W/err") || bad "keygen: $(cat "$W/err")"
# The publisher: the simulator's config plus the fleet keys.
cat >> "$W/aivenauth.conf" <<EOC
fleet = publish
etcd_endpoints = $EURL
etcd_prefix = $PFX
fleet_signing_key_file = $W/fleet.key
EOC
# Followers: no api_token_file (the default path does not exist either),
# the simulator as api_url so that any API call would be counted.
for n in 1 2 3; do
	cat > "$W/f$n.conf" <<EOC
api_url = $SIM_URL
organization_id = $ORG_ID
api_token_file = $W/no-token-f$n
cache_dir = $W/f$n
fleet = follow
etcd_endpoints = $EURL
etcd_prefix = $PFX
fleet_public_keys = $pk
max_stale = 1h
timeout = 5
EOC
	chmod 0644 "$W/f$n.conf"
done
fctl() { local n=$1; shift; "$AB/aivenctl" -c "$W/f$n.conf" "$@"; }
follow_all() {  # follow --once on every follower; out in $W/fo.N, rc in FRC[N]
	local n
	for n in 1 2 3; do
		fctl $n follow --once > "$W/fo.$n" 2>&1; FRC[$n]=$?
	done
}
# decision TOKEN_FILE N: accepted / denied: REASON on follower N
decision() { fctl "$2" verify fleet-bot < "$1" 2>/dev/null | head -n 1 | cut -d: -f1-2; }
decisions() {  # one line: the decisions of every follower for every token file given
	local t n out=""
	for t in "$@"; do for n in 1 2 3; do out+="$(basename "$t")@f$n=$(decision "$t" $n) "; done; done
	echo "$out"
}
# applied N: the fleet generation follower N's cache holds (its state)
applied() { fctl "$1" --json status 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])' 2>/dev/null; }

# Raw etcd access (python3, the JSON gateway): what a hostile writer does.
edump() {
	python3 - "$EURL" "$PFX" "$1" <<'EOP'
import base64, json, sys, urllib.request
url, pfx, out = sys.argv[1:]
def b64(s): return base64.b64encode(s).decode()
end = pfx[:-1] + chr(ord(pfx[-1]) + 1)
req = urllib.request.Request(url + "/v3/kv/range", json.dumps({"key": b64(pfx.encode()), "range_end": b64(end.encode())}).encode())
kvs = json.load(urllib.request.urlopen(req)).get("kvs", [])
json.dump([[kv["key"], kv.get("value", "")] for kv in kvs], open(out, "w"))
EOP
}
eload() {  # eload DUMP [ZERO_SIGS_FROM_GEN TO_GEN]: put keys back (optionally moved, sigs zeroed)
	python3 - "$EURL" "$@" <<'EOP'
import base64, json, sys, urllib.request
url, dump = sys.argv[1], sys.argv[2]
move = sys.argv[3:5]
def put(k, v):
    req = urllib.request.Request(url + "/v3/kv/put", json.dumps({"key": base64.b64encode(k).decode(), "value": base64.b64encode(v).decode()}).encode())
    urllib.request.urlopen(req).read()
for k, v in json.load(open(dump)):
    k = base64.b64decode(k); v = base64.b64decode(v)
    if k.endswith(b"/leader"):
        continue
    if move:
        f, t = ("gen/%020d/" % int(move[0])).encode(), ("gen/%020d/" % int(move[1])).encode()
        if f not in k:
            continue
        k = k.replace(f, t)
        v = v[:-64] + b"\0" * 64          # the signature: gone
    put(k, v)
EOP
}
ecur() { curl -s -X POST "$EURL/v3/kv/put" -d "{\"key\":\"$(printf %s "${PFX}current" | base64 -w0)\",\"value\":\"$(printf %s "$1" | base64 -w0)\"}" >/dev/null; }

# ------------------------------------------------------------ publish, follow
ctl --json user create fleet-bot > "$W/u.json" 2>"$W/err" || bad "user create: $(cat "$W/err")"
UID1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["user_id"])' "$W/u.json")
ctl sync > "$W/sync1" 2>&1; rc=$?
[ $rc = 0 ] && grep -q 'fleet: published generation 1 ' "$W/sync1" &&
	ok "publisher: sync publishes generation 1" || bad "publisher sync: exit $rc: $(cat "$W/sync1")"
ctl sync > "$W/sync1b" 2>&1
grep -q 'fleet: heartbeat for generation 1' "$W/sync1b" &&
	ok "publisher: a sync that changed nothing publishes only a heartbeat" || bad "second sync: $(cat "$W/sync1b")"
# Another publisher holds the leader key (a lease-bound key put here): this
# one syncs nothing and makes no API request, and says who leads.
LEASE=$(curl -s -X POST "$EURL/v3/lease/grant" -d '{"TTL":60}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["ID"])')
curl -s -X POST "$EURL/v3/kv/put" -d "{\"key\":\"$(printf %s "${PFX}leader" | base64 -w0)\",\"value\":\"$(printf other-host | base64 -w0)\",\"lease\":\"$LEASE\"}" >/dev/null
sim_ctl POST /_sim/stats/reset >/dev/null
ctl sync > "$W/sync.nl" 2>&1; rc=$?
tot=$(sim_ctl GET /_sim/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
[ $rc = 0 ] && grep -q 'not the leader (leader: other-host)' "$W/sync.nl" && [ "$tot" = 0 ] &&
	ok "publisher not the leader: sync exits 0, names the leader, no API request" ||
	bad "not the leader: exit $rc, $tot API requests: $(cat "$W/sync.nl")"
curl -s -X POST "$EURL/v3/lease/revoke" -d "{\"ID\":\"$LEASE\"}" >/dev/null
mint() {  # mint NAME: token create on the publisher, the token in $SECRETS/NAME
	ctl token create "$UID1" > "$W/mint.$1" 2>"$W/mint.$1.err" || bad "token create $1: $(cat "$W/mint.$1.err")"
	head -n 1 "$W/mint.$1" > "$SECRETS/$1"
	: > "$W/mint.$1"
	python3 -c 'import sys; print(open(sys.argv[1]).read().strip()[:12])' "$SECRETS/$1"
}
PA=$(mint A)
sim_ctl POST /_sim/stats/reset >/dev/null
follow_all
[ "${FRC[1]}${FRC[2]}${FRC[3]}" = 000 ] && grep -q 'applied generation 2' "$W/fo.1" &&
	ok "follow --once on 3 followers: generation 2 applied (exit 0)" ||
	bad "follow --once: rc ${FRC[*]}: $(cat "$W/fo.1" "$W/fo.2" "$W/fo.3")"
d=$(decisions "$SECRETS/A")
[ "$d" = "A@f1=accepted A@f2=accepted A@f3=accepted " ] &&
	ok "a token created on the publisher is accepted on every follower" || bad "decisions: $d"
edump "$W/dump.A"     # for the replay below: A is accepted in this copy
G_A=$(applied 1)
# The hash key is the publisher's: the follower's cache hashes like it.
fctl 1 follow --once > "$W/fo.again" 2>&1; rc=$?
[ $rc = 0 ] && grep -q 'generation 2 is current' "$W/fo.again" &&
	ok "follow --once with nothing new: exit 0, generation 2 current" || bad "again: exit $rc: $(cat "$W/fo.again")"

if command -v pamtester >/dev/null && [ -e /usr/lib/x86_64-linux-gnu/libpam_wrapper.so ]; then
	HAVE_PAM=true
	mkdir -p "$W/pam.d"
	printf 'auth required %s config=%s\naccount required %s config=%s\n' \
	    "$AB/pam_aiven.so" "$W/f1.conf" "$AB/pam_aiven.so" "$W/f1.conf" > "$W/pam.d/aivfleet"
	printf 'auth required pam_deny.so\naccount required pam_deny.so\n' > "$W/pam.d/other"
	chmod -R a+rX "$W/pam.d"
else
	HAVE_PAM=false
	skip "fleet e2e: pamtester or pam_wrapper missing"
fi
pam() {  # pam TOKEN_FILE: pamtester against follower 1 (f1.conf, or $2)
	local c=${2:-$W/f1.conf}
	sed -i "s#config=[^ ]*#config=$c#g" "$W/pam.d/aivfleet"
	env PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" LD_PRELOAD=libpam_wrapper.so \
	    pamtester aivfleet fleet-bot authenticate acct_mgmt < "$1" 2>&1
}
if $HAVE_PAM; then
	pam "$SECRETS/A" > "$W/pam1" 2>&1
	grep -q 'successfully authenticated' "$W/pam1" && ok "PAM on follower 1: accepted" || bad "PAM: $(cat "$W/pam1")"
fi

# ------------------------------------------------------------ revoke
ctl -vv token revoke "$UID1" "$PA" > "$W/rev" 2>&1 || bad "revoke: $(cat "$W/rev")"
follow_all
d=$(decisions "$SECRETS/A")
[ "$d" = "A@f1=denied: revoked A@f2=denied: revoked A@f3=denied: revoked " ] &&
	ok "revoked on the publisher: refused on every follower after follow --once" || bad "after revoke: $d"
# Published as a delta of one record (the token's removal); every follower,
# up to date, reads two manifests and that record, not the whole set.
nd=0
for n in 1 2 3; do grep -Eq '^applied generation [0-9]+ \(was [0-9]+; delta, 3 records read\)$' "$W/fo.$n" && nd=$((nd + 1)); done
grep -Eq 'published generation [0-9]+ \(delta on [0-9]+: 1 records;' "$W/rev" && [ $nd = 3 ] &&
	ok "the revocation is a delta of 1 record; each follower read 3 records" ||
	bad "revoke delta: $(cat "$W/rev" "$W/fo.1" "$W/fo.2" "$W/fo.3")"
if $HAVE_PAM; then
	pam "$SECRETS/A" > "$W/pam2" 2>&1
	grep -q 'Authentication failure' "$W/pam2" && ok "PAM on follower 1: revoked token refused" || bad "PAM: $(cat "$W/pam2")"
fi
PB=$(mint B)
follow_all
d=$(decisions "$SECRETS/B")
[ "$d" = "B@f1=accepted B@f2=accepted B@f3=accepted " ] && ok "a second token reaches every follower" || bad "B: $d"

# No follower called the API: every request since the reset is the
# publisher's (user create/sync/token create+revoke), and none came while
# only followers ran.
sim_ctl POST /_sim/stats/reset >/dev/null
follow_all
decisions "$SECRETS/A" "$SECRETS/B" >/dev/null
for n in 1 2 3; do fctl $n status >/dev/null 2>&1; done
tot=$(sim_ctl GET /_sim/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
[ "$tot" = 0 ] && ok "followers: follow, verify and status made no API request (simulator total 0)" ||
	bad "the simulator saw $tot requests from followers"
for n in 1 2 3; do [ -e "$W/no-token-f$n" ] && bad "follower $n has a token file"; done
ok "followers have no API token file"

# ------------------------------------------------------------ follower refusals
for c in "sync" "token create $UID1" "token revoke $UID1 $PB" "token rotate $UID1 $PB" "user create x" "user delete $UID1"; do
	# shellcheck disable=SC2086
	fctl 1 $c < /dev/null > "$W/refuse" 2>&1; rc=$?
	if [ $rc = 78 ] && grep -q 'on the publisher' "$W/refuse"; then
		ok "follower: '$c' refused with EX_CONFIG, says to run it on the publisher"
	else
		bad "follower: '$c': exit $rc: $(cat "$W/refuse")"
	fi
done
tot=$(sim_ctl GET /_sim/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
[ "$tot" = 0 ] && ok "the refused commands made no API request" || bad "API requests: $tot"
d=$(decisions "$SECRETS/B")
[ "$d" = "B@f1=accepted B@f2=accepted B@f3=accepted " ] && ok "the refused commands changed nothing" || bad "B after refusals: $d"

# ------------------------------------------------------------ hostile etcd writers
G_B=$(applied 1)
base=$(decisions "$SECRETS/A" "$SECRETS/B")

# 1. Signed by another key, written with the publisher's etcd access: a
#    second publisher config with its own key publishes a generation that
#    holds a token minted through it (valid at the API, hash known to it).
"$AB/aivenctl" fleet keygen --out "$W/evil.key" -c "$W/aivenauth.conf" >/dev/null 2>&1
# (It pins the real key: a publisher builds on the fleet's current
# generation, which it must verify first.)
sed -e "s#^fleet_signing_key_file = .*#fleet_signing_key_file = $W/evil.key#" \
    -e "s#^cache_dir = .*#cache_dir = $W/evil#" "$W/aivenauth.conf" > "$W/evil.conf"
echo "fleet_public_keys = $pk" >> "$W/evil.conf"
chmod 0644 "$W/evil.conf"
# The leader key stays with its publisher between runs: hand it over.
ctl fleet resign > "$W/resign" 2>&1 || bad "fleet resign: $(cat "$W/resign")"
"$AB/aivenctl" -c "$W/evil.conf" sync > "$W/evil.sync" 2>&1
"$AB/aivenctl" -c "$W/evil.conf" token create "$UID1" 2>"$W/evil.err" | head -n 1 > "$SECRETS/E"
"$AB/aivenctl" -c "$W/evil.conf" fleet resign >> "$W/evil.err" 2>&1
grep -q 'published generation' "$W/evil.sync" && ok "hostile: another key published a generation into etcd" ||
	bad "evil publish: $(cat "$W/evil.sync" "$W/evil.err")"
follow_all
[ "${FRC[1]}" != 0 ] && [ "${FRC[2]}" != 0 ] && [ "${FRC[3]}" != 0 ] &&
	ok "hostile (other key): follow --once refuses it on every follower (exit ${FRC[1]})" ||
	bad "other key: rc ${FRC[*]}: $(cat "$W/fo.1")"
after=$(decisions "$SECRETS/A" "$SECRETS/B")
e=$(decisions "$SECRETS/E")
[ "$after" = "$base" ] && [[ $e != *accepted* ]] && [ "$(applied 1)" = "$G_B" ] &&
	ok "hostile (other key): decisions unchanged, its token refused, generation $G_B kept" ||
	bad "other key: before '$base' after '$after' E '$e'"

# The real publisher cannot verify that generation: it does not take the
# leader key (it would not know whether the fleet moved to another key);
# the operator points current back at the last generation it trusts, and
# the real publisher's next sync takes etcd back (it publishes past the
# forged generation).
ctl sync > "$W/sync2" 2>&1; rc=$?
[ $rc = 78 ] && grep -q 'does not verify against this publisher.s keys' "$W/sync2" &&
	grep -q 'point /.*current back' "$W/sync2" &&
	ok "the real publisher does not take the leader key over a generation it cannot verify (exit 78, says what to do)" ||
	bad "sync after forgery: exit $rc: $(cat "$W/sync2")"
ecur "$G_B"
ctl sync > "$W/sync2" 2>&1 || bad "sync after current moved back: $(cat "$W/sync2")"
follow_all
[ "${FRC[1]}${FRC[2]}${FRC[3]}" = 000 ] && ok "the publisher's next generation is applied again" || bad "recover: ${FRC[*]}: $(cat "$W/fo.1")"
G_R=$(applied 1)
base=$(decisions "$SECRETS/A" "$SECRETS/B" "$SECRETS/E")

# 2. Unsigned records: the current generation copied to the next number
#    with every signature zeroed, current moved to it.
edump "$W/dump.R"
eload "$W/dump.R" "$G_R" $((G_R + 1))
ecur $((G_R + 1))
follow_all
after=$(decisions "$SECRETS/A" "$SECRETS/B" "$SECRETS/E")
[ "${FRC[1]}" != 0 ] && [ "$after" = "$base" ] && [ "$(applied 2)" = "$G_R" ] &&
	ok "hostile (unsigned records): refused, decisions unchanged, generation $G_R kept" ||
	bad "unsigned: rc ${FRC[*]} before '$base' after '$after': $(cat "$W/fo.1")"

# 3. Replay: the saved copy of the generation in which A was still
#    accepted (every record, the manifest and the heartbeat, all validly
#    signed) put back, current naming it.  Applied, it would accept A.
eload "$W/dump.A"
ecur "$G_A"
follow_all
after=$(decisions "$SECRETS/A" "$SECRETS/B" "$SECRETS/E")
[ "${FRC[1]}" != 0 ] && grep -qi 'replay\|older' "$W/fo.1" && [ "$after" = "$base" ] && [ "$(applied 3)" = "$G_R" ] &&
	ok "hostile (replay of generation $G_A): refused, decisions unchanged" ||
	bad "replay: rc ${FRC[*]} before '$base' after '$after': $(cat "$W/fo.1")"
ctl sync > "$W/sync3" 2>&1 || bad "sync after replay: $(cat "$W/sync3")"
follow_all
[ "${FRC[1]}${FRC[2]}${FRC[3]}" = 000 ] && ok "after the replay the publisher's next generation applies" ||
	bad "after replay: ${FRC[*]}: $(cat "$W/fo.1")"

# ------------------------------------------------------------ staleness
# Follower 3 now gets max_stale = 1 s: with etcd down and no publisher sync it
# goes stale (and keeps its generation), then recovers.
G3=$(applied 3)
sed -i 's/^max_stale = .*/max_stale = 1/' "$W/f3.conf"
etcd_stop
for i in $(seq 100); do
	[ "$(decision "$SECRETS/B" 3)" = "denied: cache-stale" ] && break
	sleep 0.1
done
[ "$(decision "$SECRETS/B" 3)" = "denied: cache-stale" ] && ok "etcd down, no heartbeat: follower 3 (max_stale 1 s) turns cache-stale" ||
	bad "staleness: $(decision "$SECRETS/B" 3)"
if $HAVE_PAM; then
	pam "$SECRETS/B" "$W/f3.conf" > "$W/pam3" 2>&1
	grep -q 'cannot retrieve authentication info' "$W/pam3" && ok "PAM on the stale follower: PAM_AUTHINFO_UNAVAIL" ||
		bad "PAM stale: $(cat "$W/pam3")"
fi
fctl 3 follow --once > "$W/fo.down" 2>&1; rc=$?
[ $rc != 0 ] && [ "$(decision "$SECRETS/B" 1)" = accepted ] &&
	ok "etcd down: follow --once fails (exit $rc), follower 1 (max_stale 1 h) still decides" || bad "etcd down: exit $rc"
ctl sync > "$W/sync.down" 2>&1; rc=$?
[ $rc = 75 ] && grep -q 'syncing this host only' "$W/sync.down" && [ "$(decision "$SECRETS/B" 3)" = "denied: cache-stale" ] &&
	ok "etcd down: the publisher syncs itself only (exit 75); the follower stays stale" ||
	bad "publisher with etcd down: exit $rc: $(cat "$W/sync.down")"
start_etcd || bad "etcd did not restart"
ctl sync > "$W/sync4" 2>&1 || bad "sync after restart: $(cat "$W/sync4")"
fctl 3 follow --once > "$W/fo.up" 2>&1; rc=$?
[ $rc = 0 ] && [ "$(decision "$SECRETS/B" 3)" = accepted ] && [ "$(applied 3)" -ge "$G3" ] &&
	ok "etcd back, publisher synced: follower 3 fresh again, B accepted" ||
	bad "recovery: exit $rc: $(cat "$W/fo.up") decision $(decision "$SECRETS/B" 3)"

# ------------------------------------------------------------ the watch
# aivenctl itself in the background (not the fctl function, whose $! is
# a subshell: stopping that would leave aivenctl running).
"$AB/aivenctl" -c "$W/f2.conf" follow > "$W/follow.log" 2>&1 &
FPID=$!; PIDS+=("$FPID")
PC=$(mint C)
for i in $(seq 100); do
	[ "$(decision "$SECRETS/C" 2)" = accepted ] && break
	sleep 0.1
done
[ "$(decision "$SECRETS/C" 2)" = accepted ] && ok "aivenctl follow (watching) applies a new token" ||
	bad "watch: $(decision "$SECRETS/C" 2): $(cat "$W/follow.log")"
ctl token revoke "$UID1" "$PC" > /dev/null 2>&1
for i in $(seq 100); do
	[ "$(decision "$SECRETS/C" 2)" = "denied: revoked" ] && break
	sleep 0.1
done
[ "$(decision "$SECRETS/C" 2)" = "denied: revoked" ] && ok "aivenctl follow (watching) applies a revocation" ||
	bad "watch revoke: $(decision "$SECRETS/C" 2)"
stop_pid "$FPID"

# No token in any file of the run but the secrets directory.
leak=none
for t in "$SECRETS"/*; do
	[ -s "$t" ] || continue
	if grep -rqF --exclude-dir=secrets -e "$(cat "$t")" "$W" 2>/dev/null; then leak=$(basename "$t"); fi
done
[ "$leak" = none ] && ok "no token in any file of the run" || bad "token $leak leaked into a file"
finish
