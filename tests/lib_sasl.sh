# tests/lib_sasl.sh - shared set-up of the aivenauth-saslauthd scripts
# (it_saslauthd.sh, it_sasl_servers.sh).  Source after lib.sh.
#
#   sasl_setup                 simulator; users alice and bob; tokens in
#                              $S (0700): a_good a_ipl (ip_allowlist)
#                              a_rev a_other (alice) b_good (bob); a_wrong
#                              (a_good's prefix, another secret);
#                              u_unknown (a prefix nobody has); a sync
#   start_sasld NAME [ARGS...] start the responder on $W/NAME.sock, log in
#                              $W/NAME.log; sets SASLD_PID, SASLD_SOCK
#   stop_sasld                 SIGTERM, wait; sets SASLD_RC
#   leak_check [DIR]           no token of $S in any file of $W (secrets
#                              excluded) nor in the responder's command line
SASLD="$AB/aivenauth-saslauthd"
SP="$TOP/tests/helpers/saslproto.py"
S="$W/secrets"

_jtok() {   # JSON file -> token file (0600) and .prefix
	python3 - "$1" "$2" <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, d["full_token"].encode()); os.close(fd)
open(sys.argv[2] + ".prefix", "w").write(d["token_prefix"] + "\n")
PY
}

sasl_setup() {
	local t
	start_sim || return 1
	mkdir -m 0700 "$S"
	ALICE_ID=$(ctl --json user create alice | jget 'd["user_id"]') || return 1
	BOB_ID=$(ctl --json user create bob | jget 'd["user_id"]') || return 1
	for t in a_good a_rev a_other; do
		ctl --json token create "$ALICE_ID" --description "sasl $t" > "$S/$t.json" || return 1
		_jtok "$S/$t.json" "$S/$t"
	done
	ctl --json token create "$ALICE_ID" --ip-allowlist 127.0.0.0/8 \
	    --ip-allowlist ::1/128 --description "sasl a_ipl" > "$S/a_ipl.json" || return 1
	_jtok "$S/a_ipl.json" "$S/a_ipl"
	ctl --json token create "$BOB_ID" --description "sasl b_good" > "$S/b_good.json" || return 1
	_jtok "$S/b_good.json" "$S/b_good"
	# Same prefix, another secret; and a prefix nobody has.
	python3 - "$S" <<'PY'
import os, sys
d = sys.argv[1]
t = open(os.path.join(d, "a_good")).read()
sw = {c: n for c, n in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                           "BCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789A")}
w = t[:100] + "".join(sw.get(c, c) for c in t[100:116]) + t[116:]
u = "".join(sw.get(c, c) for c in t[:12]) + t[12:]
for name, v in (("a_wrong", w), ("u_unknown", u)):
    fd = os.open(os.path.join(d, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, v.encode()); os.close(fd)
PY
	ctl sync > "$W/sync0.out" 2>&1 || { cat "$W/sync0.out"; return 1; }
}

start_sasld() {
	local name=$1 i; shift
	SASLD_SOCK="$W/$name.sock"
	rm -f "$SASLD_SOCK"
	"$SASLD" -c "$W/aivenauth.conf" --listen "$SASLD_SOCK" --stderr "$@" \
	    > "$W/$name.log" 2>&1 &
	SASLD_PID=$!; PIDS+=("$SASLD_PID")
	for i in $(seq 600); do
		[ -S "$SASLD_SOCK" ] && grep -q 'ready:' "$W/$name.log" && return 0
		kill -0 "$SASLD_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "aivenauth-saslauthd did not start:"; cat "$W/$name.log"
	return 1
}

stop_sasld() {
	kill -TERM "$SASLD_PID" 2>/dev/null
	wait "$SASLD_PID"; SASLD_RC=$?
}

# ask LOGIN TOKENNAME SERVICE REALM EXPECT(OK|NO)
ask() { python3 "$SP" "$SASLD_SOCK" ask "$1" "@$S/$2" "$3" "$4" "$5"; }

leak_check() {
	local t f hits=""
	for t in "$S"/*; do
		case $t in *.json|*.prefix) continue;; esac
		f=$(grep -rlF -f "$t" "$W" --exclude-dir=secrets 2>/dev/null | head -3)
		[ -n "$f" ] && hits="$hits ${t##*/}:$f"
	done
	[ -z "$hits" ] && ok "no token in any log or output of the run" ||
	    bad "token found:$hits"
}
