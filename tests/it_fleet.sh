#!/bin/bash
# it_fleet.sh - fleet mode through aivenctl: `fleet keygen` (a new 0600 key
# file, never over an existing file nor through a symlink; the public key
# printed is the one the secret key makes, and the config accepts it as a
# pinned key), and `fleet status` against a real etcd started here on
# 127.0.0.1 (free ports, data in $W, stopped by pid) with a heartbeat
# written and signed by this script from the format in docs/FLEET.md
# (python3 + openssl, not the library: an independent check of the format).
. "$(dirname "$0")/lib.sh"

cat > "$W/aivenauth.conf" <<EOC
cache_dir = $W/cache
EOC
chmod 0644 "$W/aivenauth.conf"

# --------------------------------------------------------------- keygen
pk=$(ctl fleet keygen --out "$W/fleet.key" 2>"$W/err"); rc=$?
[ $rc = 0 ] && ok "fleet keygen: exit 0" || bad "fleet keygen: exit $rc: $(cat "$W/err")"
[[ $pk =~ ^[A-Za-z0-9+/]{43}=$ ]] && ok "fleet keygen: prints a base64 public key" ||
	bad "fleet keygen printed '$pk'"
m=$(stat -c %a "$W/fleet.key" 2>/dev/null)
[ "$m" = 600 ] && ok "fleet keygen: key file mode 0600" || bad "key file mode '$m'"
# The secret key file is one line of base64 of 64 bytes whose second half is
# the public key printed.
half=$(python3 -c 'import base64,sys; print(base64.b64encode(base64.b64decode(open(sys.argv[1]).read())[32:]).decode())' "$W/fleet.key" 2>&1)
[ "$half" = "$pk" ] && ok "fleet keygen: printed key is the secret key's public half" ||
	bad "public half '$half' vs printed '$pk'"
# The config takes it as a pinned key.
printf 'fleet_public_keys = %s\n' "$pk" >> "$W/aivenauth.conf"
got=$(ctl --json status 2>&1 >/dev/null | grep -c 'fleet_public_keys')
[ "$got" = 0 ] && ok "config accepts the printed key as fleet_public_keys" ||
	bad "config refused the key: $(ctl status 2>&1 | head -3)"

# Never over an existing file.
before=$(sha256sum < "$W/fleet.key")
ctl fleet keygen --out "$W/fleet.key" >"$W/out" 2>"$W/err"; rc=$?
after=$(sha256sum < "$W/fleet.key")
[ $rc != 0 ] && [ "$before" = "$after" ] && [ ! -s "$W/out" ] &&
	ok "fleet keygen: refuses an existing file (exit $rc), file unchanged" ||
	bad "fleet keygen over an existing file: exit $rc, changed=$([ "$before" = "$after" ] && echo no || echo yes)"
grep -q 'never overwritten' "$W/err" && ok "fleet keygen: says why" || bad "message: $(cat "$W/err")"

# Never through a symlink (dangling, so O_EXCL alone would not be enough
# without O_NOFOLLOW semantics: the target must not be created).
ln -s "$W/elsewhere.key" "$W/link.key"
ctl fleet keygen --out "$W/link.key" >/dev/null 2>"$W/err"; rc=$?
[ $rc != 0 ] && [ ! -e "$W/elsewhere.key" ] && ok "fleet keygen: does not follow a symlink (exit $rc)" ||
	bad "fleet keygen through a symlink: exit $rc, target created: $([ -e "$W/elsewhere.key" ] && echo yes || echo no)"

# Default path from the config; no path at all is a usage error.
printf 'fleet_signing_key_file = %s\n' "$W/cfg.key" >> "$W/aivenauth.conf"
ctl fleet keygen >/dev/null 2>"$W/err" && [ -f "$W/cfg.key" ] &&
	ok "fleet keygen: writes fleet_signing_key_file by default" || bad "default path: $(cat "$W/err")"
printf 'cache_dir = %s\n' "$W/cache" > "$W/empty.conf"
"$AB/aivenctl" -c "$W/empty.conf" fleet keygen >/dev/null 2>"$W/err"; rc=$?
[ $rc = 64 ] && grep -q -- '--out FILE' "$W/err" && ok "fleet keygen without a path: EX_USAGE" ||
	bad "no path: exit $rc: $(cat "$W/err")"
# JSON output.
ctl --json fleet keygen --out "$W/j.key" > "$W/j.json" 2>"$W/err"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["public_key"])==44 and d["secret_key_file"]==sys.argv[2]' "$W/j.json" "$W/j.key" &&
	ok "fleet keygen --json: public_key, secret_key_file" || bad "json: $(cat "$W/j.json" "$W/err")"
# Two keygens make two different keys.
pk2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["public_key"])' "$W/j.json")
[ "$pk2" != "$pk" ] && ok "fleet keygen: a fresh key each time" || bad "same key twice"

# Help, man page and completion know the commands.
"$AB/aivenctl" help | grep -q 'aivenctl fleet status' && "$AB/aivenctl" help | grep -q 'fleet keygen' &&
	ok "help lists fleet keygen and fleet status" || bad "help: $("$AB/aivenctl" help | grep fleet)"
comp=$(bash --norc --noprofile -c 'source "$1"; COMP_WORDS=(aivenctl fleet ""); COMP_CWORD=2; _aivenctl; echo "${COMPREPLY[@]}"' _ "$TOP/completion/aivenctl.bash")
[ "$comp" = "keygen resign status" ] && ok "completion: fleet subcommands" || bad "completion: '$comp'"
man -l "$TOP/docs/aivenctl.8" 2>/dev/null | grep -q 'fleet keygen \[--out FILE\]' &&
	ok "aivenctl.8 documents fleet keygen" || bad "aivenctl.8 lacks fleet keygen"

# --------------------------------------------------------------- status
if ! command -v etcd >/dev/null || ! command -v openssl >/dev/null; then
	skip "fleet status: etcd or openssl not installed"
	finish; exit
fi
. "$(dirname "$0")/lib_etcd.sh"
etcd_start || { bad "etcd did not start: $(tail -5 "$W/etcd.log" 2>/dev/null)"; finish; exit; }
ORG=org-fleet-1
cat > "$W/follower.conf" <<EOC
cache_dir = $W/cache
organization_id = $ORG
fleet = follow
etcd_endpoints = $EURL
etcd_prefix = /fl/
fleet_public_keys = $pk
max_stale = 1h
EOC
chmod 0644 "$W/follower.conf"
fctl() { "$AB/aivenctl" -c "$W/follower.conf" "$@"; }
b64() { printf %s "$1" | base64 -w0; }
eput() {  # eput KEY VALUE_FILE
	curl -s -X POST "$EURL/v3/kv/put" \
	    -d "{\"key\":\"$(b64 "$1")\",\"value\":\"$(base64 -w0 < "$2")\"}" >/dev/null
}

fctl fleet status >"$W/st" 2>&1; rc=$?
[ $rc = 69 ] && grep -q 'state: *never-published' "$W/st" && grep -q 'leader: *none' "$W/st" &&
	ok "fleet status, nothing published: never-published, exit 69" || bad "empty fleet: exit $rc: $(cat "$W/st")"

# A heartbeat signed with the secret key of $W/fleet.key, for key
# /fl/heartbeat, generation 7 (fleet_rec.h: "AVF1", version 2, type 4).
# mk_hb KEYFILE ORG GEN LAST_SYNC OUT
mk_hb() {
	python3 - "$@" <<'PY'
import base64, struct, subprocess, sys, tempfile, os
keyfile, org, gen, last, out = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
sk = base64.b64decode(open(keyfile).read())
seed = sk[:32]
key = b"/fl/heartbeat"
body = struct.pack("<qq", last, last + 1) + struct.pack("<I", 6) + b"pub-it" + bytes(32)  # + the set digest it vouches for
rec = b"AVF1" + bytes([2, 4]) + struct.pack("<H", 0) + struct.pack("<Q", gen) + \
    struct.pack("<H", len(org)) + org + struct.pack("<I", len(body)) + body
msg = b"aivenauth-fleet-v1\0" + struct.pack("<I", len(key)) + key + rec
d = tempfile.mkdtemp()
pem = os.path.join(d, "k.pem"); m = os.path.join(d, "m")
der = bytes.fromhex("302e020100300506032b657004220420") + seed
open(pem, "w").write("-----BEGIN PRIVATE KEY-----\n" + base64.b64encode(der).decode() + "\n-----END PRIVATE KEY-----\n")
open(m, "wb").write(msg)
sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", pem, "-rawin", "-in", m],
    check=True, capture_output=True).stdout
assert len(sig) == 64
open(out, "wb").write(rec + sig)
for f in (pem, m): os.unlink(f)
os.rmdir(d)
PY
}
now=$(date +%s)
mk_hb "$W/fleet.key" "$ORG" 7 "$now" "$W/hb" && eput /fl/heartbeat "$W/hb"
printf 7 > "$W/cur"; eput /fl/current "$W/cur"
printf pub-it > "$W/leader"; eput /fl/leader "$W/leader"
fctl fleet status >"$W/st" 2>&1; rc=$?
[ $rc = 0 ] && grep -q 'state: *fresh' "$W/st" && grep -q 'heartbeat: *verified, generation 7, publisher pub-it' "$W/st" &&
	grep -q 'published generation: 7' "$W/st" && grep -q 'leader: *pub-it' "$W/st" &&
	ok "fleet status: heartbeat signed outside the library verifies (fresh, exit 0)" ||
	bad "fleet status with a good heartbeat: exit $rc: $(cat "$W/st")"
fctl --json fleet status >"$W/st.json" 2>&1
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["heartbeat_valid"] and d["published_generation"]==7 and d["state"]=="fresh" and d["publisher_id"]=="pub-it"' "$W/st.json" &&
	ok "fleet status --json" || bad "json: $(cat "$W/st.json")"

# Stale: the publisher's last good sync is older than max_stale.
mk_hb "$W/fleet.key" "$ORG" 7 $((now - 7200)) "$W/hb" && eput /fl/heartbeat "$W/hb"
fctl fleet status >"$W/st" 2>&1; rc=$?
[ $rc = 69 ] && grep -q 'state: *stale' "$W/st" && ok "fleet status: old last sync -> stale, exit 69" ||
	bad "stale: exit $rc: $(cat "$W/st")"

# Signed by another key (the one in $W/j.key): refused.
mk_hb "$W/j.key" "$ORG" 7 "$now" "$W/hb" && eput /fl/heartbeat "$W/hb"
fctl fleet status >"$W/st" 2>&1; rc=$?
[ $rc = 69 ] && grep -q 'heartbeat: *REFUSED: signature' "$W/st" &&
	ok "fleet status: heartbeat signed by an unpinned key refused, exit 69" ||
	bad "foreign heartbeat: exit $rc: $(cat "$W/st")"
# Another organization's heartbeat, signed with the right key: refused.
mk_hb "$W/fleet.key" other-org 7 "$now" "$W/hb" && eput /fl/heartbeat "$W/hb"
fctl fleet status >"$W/st" 2>&1; rc=$?
[ $rc = 69 ] && grep -q 'REFUSED: record of another organization' "$W/st" &&
	ok "fleet status: another organization's heartbeat refused" || bad "other org: exit $rc: $(cat "$W/st")"
# Garbage.
printf 'not a record' > "$W/hb"; eput /fl/heartbeat "$W/hb"
fctl fleet status >"$W/st" 2>&1; rc=$?
[ $rc = 69 ] && grep -q 'REFUSED' "$W/st" && ok "fleet status: unsigned bytes refused" || bad "garbage: exit $rc: $(cat "$W/st")"
# etcd down: a clear error, EX_TEMPFAIL.
etcd_stop
fctl fleet status >"$W/st" 2>&1; rc=$?
[ $rc = 75 ] && grep -q 'aivenctl: fleet status' "$W/st" && ok "fleet status, etcd down: exit 75 with a message" ||
	bad "etcd down: exit $rc: $(cat "$W/st")"

finish
