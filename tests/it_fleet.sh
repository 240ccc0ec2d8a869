#!/bin/bash
# it_fleet.sh - fleet mode through aivenctl: `fleet keygen` (a new 0600 key
# file, never over an existing file nor through a symlink; the public key
# printed is the one the secret key makes, and the config accepts it as a
# pinned key).
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

finish
