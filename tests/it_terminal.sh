#!/bin/bash
# it_terminal.sh - names and descriptions from the API never act on the
# admin's terminal.
# Run: AIVENAUTH_BUILD=$PWD/build AIVENAUTH_TOP=$PWD bash tests/it_terminal.sh
#
# Whoever may create application users in the organization chooses their
# names and their tokens' descriptions.  A user is created (through the
# API, as any organization admin could) with a name holding ESC sequences
# (retitle the window, clear the screen, move the cursor up), a BEL, a DEL,
# a C1 CSI (U+009B) and a right-to-left override, and a token whose
# description holds colour sequences, a tab and a ^A.  Every text output of aivenctl
# that shows them must hold no such byte, and show them visibly; --json
# output must carry them exactly (jansson escapes).
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { skip "curl not installed"; finish; exit; }
start_sim || { bad "simulator did not start"; finish; exit; }

# The name, as JSON (the simulator and the API take UTF-8 JSON): ESC ] 0 ;
# title BEL, ESC [ 2 J, ESC [ 1 A, DEL, U+009B, U+202E.  (Invalid UTF-8
# cannot travel in JSON: jansson refuses the whole answer.)
NAME_JSON='"evil\u001b]0;pwned\u0007\u001b[2J\u001b[1Aname\u007f\u009b31m\u202eabc"'
NAME_PY='evil\x1b]0;pwned\x07\x1b[2J\x1b[1Aname\x7f\x9b31m\u202eabc'
AH="Authorization: aivenv1 $ADMIN_TOKEN"
U=$(curl -sS -X POST -H "$AH" -H 'Content-Type: application/json' \
    --data "{\"name\": $NAME_JSON}" "$SIM_URL/v1/organization/$ORG_ID/application-users" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["user_id"])')
[ -n "$U" ] && ok "user with control characters created ($U)" || bad "user create failed"
ctl token create "$U" --description "$(printf 'desc\033[31mred\033[0m\tTAB\001')" \
    > "$W/mint.out" 2> "$W/mint.err" || bad "token create: $(cat "$W/mint.err")"
PREFIX=$(head -c 12 "$W/mint.out")
ctl sync > /dev/null 2> "$W/sync.err" || bad "sync: $(cat "$W/sync.err")"

# has_raw FILE: a C0 control other than newline, DEL, or C1 (as UTF-8 or a
# raw byte), or a bidi override, in FILE.
has_raw() {
	python3 - "$1" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
bad = [c for c in b if (c < 0x20 and c != 0x0a) or c == 0x7f]
t = b.decode('utf-8', 'replace')
bad += [c for c in t if 0x80 <= ord(c) <= 0x9f or ord(c) in (0x202e, 0x200f)]
sys.exit(0 if bad else 1)
PY
}
# text NAME ARGS...: run aivenctl, its stdout and stderr safe for a terminal.
text() {
	local n=$1; shift
	ctl "$@" > "$W/$n.out" 2> "$W/$n.err"
	if has_raw "$W/$n.out" || has_raw "$W/$n.err"; then
		bad "aivenctl $*: raw control characters reach the terminal: $(od -c "$W/$n.out" | head -5)"
	else
		ok "aivenctl $*: no control character reaches the terminal"
	fi
}
text ulist user list
grep -qF 'evil\x1b]0;pwned\x07\x1b[2J\x1b[1Aname\x7f\u009b31m\u202eabc' "$W/ulist.out" &&
	ok "user list shows the name visibly (\\x1b, \\x07, \\x7f, \\u009b, \\u202e)" ||
	bad "user list: name not shown as expected: $(grep "$U" "$W/ulist.out" | cat -v)"
text ulistc user list --cached
text tlist token list
grep -qF 'desc\x1b[31mred\x1b[0m\x09TAB\x01' "$W/tlist.out" &&
	ok "token list shows the description visibly" ||
	bad "token list: description not shown as expected: $(grep "$PREFIX" "$W/tlist.out" | cat -v)"
text tlistu token list "$U"
text inspect inspect "$PREFIX"
grep -qF 'user_name:             evil\x1b' "$W/inspect.out" && ok "inspect shows the name visibly" ||
	bad "inspect: $(grep user_name "$W/inspect.out" | cat -v)"
text audit audit
text verify verify --user-match any whoever < "$W/mint.out"
grep -qF 'user_name: evil\x1b' "$W/verify.out" && ok "verify shows the name visibly" ||
	bad "verify: $(cat -v "$W/verify.out")"

# --json: exact strings, escaped by jansson.
ctl --json user list > "$W/ulist.json" 2>&1
python3 - "$W/ulist.json" "$U" "$NAME_PY" <<'PY' && ok "--json user list carries the name exactly" || bad "--json user list: name altered"
import json, sys
d = json.load(open(sys.argv[1]))
users = d if isinstance(d, list) else d.get("application_users", d.get("users", []))
want = sys.argv[3].encode().decode('unicode_escape')
sys.exit(0 if any(u.get("user_id") == sys.argv[2] and u.get("name") == want for u in users) else 1)
PY
ctl --json token list "$U" > "$W/tlist.json" 2>&1
python3 - "$W/tlist.json" <<'PY' && ok "--json token list carries the description exactly" || bad "--json token list: description altered: $(head -c 300 "$W/tlist.json")"
import json, sys
d = json.load(open(sys.argv[1]))
toks = d if isinstance(d, list) else d.get("tokens", [])
sys.exit(0 if any(t.get("description") == "desc\x1b[31mred\x1b[0m\tTAB\x01" for t in toks) else 1)
PY
finish
