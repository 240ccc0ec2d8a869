#!/bin/bash
# it_cli.sh - aivenctl end to end against the Aiven API simulator.
# Run: AIVENAUTH_BUILD=$PWD/build AIVENAUTH_TOP=$PWD bash tests/it_cli.sh
#
# Every command is driven through success and its failures; exit codes and
# output are asserted.  Every stdout/stderr is kept under $W/out and, at the
# end, searched for the full tokens and the admin token: only the stdout of
# `token create` / `token rotate` (files mint_*.out) may hold a token.
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { skip "curl not installed"; finish; exit; }
[ -x "$AB/aivenctl" ] || { bad "aivenctl not built in $AB"; finish; exit; }

O=$W/out
mkdir -p "$O"
SECRETS=$W/secrets        # one full token per line, for the final grep
: > "$SECRETS"

# run NAME CMD...: stdout -> $O/NAME.out, stderr -> $O/NAME.err, $RC.
run() {
	local n=$1; shift
	"$@" >"$O/$n.out" 2>"$O/$n.err" </dev/null; RC=$?; LAST=$n
}
# runin NAME INPUT CMD...: the same with INPUT (plus a newline) on stdin.
runin() {
	local n=$1 in=$2; shift 2
	printf '%s\n' "$in" | "$@" >"$O/$n.out" 2>"$O/$n.err"; RC=$?; LAST=$n
}
# rc DESC WANT: the last command exited WANT.
rc() {
	if [ "$RC" = "$2" ]; then ok "$1 (exit $2)"
	else bad "$1 (exit $RC, want $2): $(head -c 600 "$O/$LAST.err")"; fi
}
# out_has DESC REGEX / err_has DESC REGEX: grep -E the last stdout/stderr.
out_has() {
	if grep -Eq -- "$2" "$O/$LAST.out"; then ok "$1"
	else bad "$1 (no /$2/ in stdout: $(head -c 600 "$O/$LAST.out"))"; fi
}
err_has() {
	if grep -Eq -- "$2" "$O/$LAST.err"; then ok "$1"
	else bad "$1 (no /$2/ in stderr: $(head -c 600 "$O/$LAST.err"))"; fi
}
# re STRING: STRING as an ERE matching itself (prefixes hold + / =).
re() { printf '%s' "$1" | sed 's/[][\\.^$*+?(){}|]/\\&/g'; }
# jcheck DESC PYEXPR: evaluate PYEXPR over d = the last stdout as JSON.
jcheck() {
	local r
	r=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(bool(eval(sys.argv[2])))' \
	    "$O/$LAST.out" "$2" 2>&1)
	if [ "$r" = True ]; then ok "$1"
	else bad "$1 ($2 -> $r; stdout: $(head -c 400 "$O/$LAST.out"))"; fi
}
# jget FILE PYEXPR: print PYEXPR over d = FILE as JSON.
jget() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
sim_state() { sim_ctl GET /_sim/state > "$W/state.json"; }
# sim_has_token PREFIX: the simulator (the API) still has the token.
sim_has_token() {
	sim_state
	[ "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(any(t["token_prefix"]==sys.argv[2] for u in d["users"] for t in u["tokens"]))' "$W/state.json" "$1")" = True ]
}
sim_token() {  # sim_token PREFIX PYEXPR-over-t
	sim_state
	python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
t=[t for u in d["users"] for t in u["tokens"] if t["token_prefix"]==sys.argv[2]][0]
print(eval(sys.argv[3]))' "$W/state.json" "$1" "$2"
}
generation() { "$AB/aivenctl" -c "${1:-$W/aivenauth.conf}" status --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])'; }
user_id_of() { "$AB/aivenctl" -c "$W/aivenauth.conf" --json user list 2>/dev/null | \
	python3 -c 'import json,sys; print([u["user_id"] for u in json.load(sys.stdin) if u["name"]==sys.argv[1]][0])' "$1"; }
# mint NAME ARGS...: token create, the token in $TOK (stdout kept as mint_NAME).
mint() {
	local n=$1; shift
	run "mint_$n" ctl token create "$@"
	TOK=$(head -n 1 "$O/mint_$n.out")
	[[ $TOK =~ ^[A-Za-z0-9+/=]{32,}$ ]] && printf '%s\n' "$TOK" >> "$SECRETS"
}
# alter TOKEN: the same prefix, a different secret (last base64 char before
# the padding changed).
alter() {
	python3 -c 'import sys
t=sys.argv[1]; s=t.rstrip("="); pad=t[len(s):]
c="A" if s[-2]!="A" else "B"
print(s[:-2]+c+s[-1]+pad)' "$1"
}
# conf NAME KEY=VALUE...: a copy of the test config with keys replaced/added.
conf() {
	local f=$W/$1.conf kv k; shift
	cp "$W/aivenauth.conf" "$f"
	for kv in "$@"; do
		k=${kv%%=*}
		sed -i "/^$k = /d" "$f"
		printf '%s = %s\n' "$k" "${kv#*=}" >> "$f"
	done
	chmod 0644 "$f"
	echo "$f"
}

start_sim || { bad "simulator did not start"; finish; exit; }
printf '%s\n' "$ADMIN_TOKEN" >> "$SECRETS"

# ================================================================ usage
run help ctl --help
rc "--help" 0
out_has "--help lists the commands" '^  token create '
out_has "--help lists the exit codes" '75  EX_TEMPFAIL'
out_has "--help documents exit 1 for verify" '^   1  verify'
run help2 "$AB/aivenctl" help;   rc "help" 0
run help3 "$AB/aivenctl" -h;     rc "-h" 0
run version "$AB/aivenctl" version
rc "version" 0
out_has "version prints the version" '^aivenctl [0-9]+\.[0-9]+\.[0-9]+'
run version2 "$AB/aivenctl" --version; rc "--version" 0
run version3 "$AB/aivenctl" --json version
jcheck "version --json" "set(d) == {'version', 'library_version'}"
run noargs "$AB/aivenctl";                  rc "no command" 64
run unknown ctl frobnicate;                 rc "unknown command" 64
err_has "unknown command is named" "unknown command 'frobnicate'"
run unknown2 ctl token frobnicate;          rc "unknown token subcommand" 64
# Help for groups and commands, and "did you mean".
run helpu ctl user --help;                  rc "user --help" 0
out_has "user --help lists its subcommands" '^  delete +delete an application user'
run helpt ctl token --help;                 rc "token --help" 0
out_has "token --help lists its subcommands" '^  rotate +replace a token'
run helpt2 "$AB/aivenctl" help token;       rc "help token" 0
out_has "help token: the group's help, not the global one" '^usage: aivenctl token SUBCOMMAND'
grep -q 'EX_TEMPFAIL' "$O/helpt2.out" && bad "help token printed the global help" || ok "help token is not the global help"
run helpt3 "$AB/aivenctl" help token rotate; rc "help token rotate" 0
out_has "help token rotate: --grace with meaning and default" '^  --grace SECONDS .*'
# Every option in a command's synopsis is listed in its help, with a default.
nodoc=""
for path in "sync" "status" "user list" "token create" "token rotate" "verify" "audit" "doctor" "follow" "fleet keygen"; do
	"$AB/aivenctl" help $path > "$O/h.out" 2>&1 || nodoc="$nodoc [$path: exit $?]"
	for o in $(sed -n '2,3p' "$O/h.out" | grep -oE -- '--[a-z-]+' | sort -u); do
		grep -qE "^  $o" "$O/h.out" || nodoc="$nodoc [$path $o]"
	done
	grep -q 'default' "$O/h.out" || nodoc="$nodoc [$path: no default]"
done
[ -z "$nodoc" ] && ok "per-command help lists every option with its meaning and default" || bad "help misses:$nodoc"
run dym ctl tokne list;                     rc "misspelt command" 64
err_has "misspelt command: did you mean" "unknown command 'tokne' \(did you mean 'token'\?\)"
run dym2 ctl token revok x y;               rc "misspelt subcommand" 64
err_has "misspelt subcommand: did you mean" "did you mean 'token revoke'\?"
run dym3 "$AB/aivenctl" help tokn;          rc "help of a misspelt command" 64
err_has "help: did you mean" "did you mean 'token'\?"
run badopt ctl sync --bogus;                rc "unknown option" 64
run usage1 ctl token create;                rc "token create without USER_ID" 64
run usage2 ctl token create u1 --extend-when-used
rc "--extend-when-used without --max-age-seconds" 64
err_has "avn's message for extend_when_used" 'extend_when_used can only be used if max_age_seconds is specified'
run usage3 ctl token create u1 --max-age-seconds ten; rc "--max-age-seconds not a number" 64
run usage4 ctl verify;                      rc "verify without USER" 64
run usage5 ctl verify x --user-match nobody; rc "verify --user-match bad" 64
run usage6 ctl token revoke only-one-part;  rc "token revoke with a bad id" 64
run usage7 ctl inspect;                     rc "inspect without PREFIX" 64

# ================================================================ status before any sync
run status0 ctl status
rc "status with no cache" 69
run status0j ctl status --json
rc "status --json with no cache" 69
jcheck "status --json says missing" "d['state'] == 'missing'"
run list0 ctl token list
rc "token list with no cache" 69
err_has "no cache: hint to sync" 'aivenctl sync'
runin ver0 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" ctl verify nobody
rc "verify with no cache: no decision" 69
out_has "verify with no cache: cache-unavailable" '^denied: cache-unavailable: '
err_has "verify with no cache: says why" 'no decision could be made'
mkdir -p "$W/junk/writer"; chmod 0700 "$W/junk/writer"
head -c 65536 /dev/urandom > "$W/junk/snapshot.mdb"; head -c 65536 /dev/urandom > "$W/junk/writer/data.mdb"
JUNK=$(conf junk cache_dir="$W/junk")
run corrupt1 "$AB/aivenctl" -c "$JUNK" status
rc "status with a corrupt cache" 69
err_has "corrupt cache: says so" 'corrupt'
run corrupt2 "$AB/aivenctl" -c "$JUNK" sync
rc "sync refuses a corrupt cache" 69
runin corrupt3 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$AB/aivenctl" -c "$JUNK" verify nobody
rc "verify with a corrupt cache" 69

# ================================================================ sync
# The sync's own calls use the admin token, so the API may list a new
# last_used_time for it at each sync (to the second: whether two syncs fall
# in the same second is up to the scheduler).  That is the one change a
# second sync may report; last-use metadata alone is not published to
# readers at once (docs/DESIGN.md), so it cannot be read back here.
run sync1 ctl sync
rc "first sync" 0
out_has "first sync counts" '^users: \+1 ~0 -0, tokens: \+1 ~0 -0, generation 1$'
run sync2 ctl sync
rc "second sync" 0
out_has "second sync: nothing changed but, at most, the admin token's own last use" \
    "^users: \\+0 ~0 -0, tokens: \\+0 ~[01] -0, generation 2\$"
run sync3 ctl --json sync
rc "sync --json" 0
jcheck "sync --json keys" "set(d) >= {'users_added','users_updated','users_removed','tokens_added','tokens_updated','tokens_removed','generation','revocations_sent'}"
jcheck "sync --json numbers" "d['users_added'] == 0 and d['tokens_added'] == 0 and d['generation'] == 3"
run syncv ctl -vv sync
rc "sync -vv" 0
err_has "sync -vv: the library's info/debug messages" '^aivenctl: (debug: )?.*sync'
run sync4 ctl sync --json          # global option after the command
jcheck "--json after the command" "d['generation'] == 5"

# ================================================================ status
run status1 ctl status
rc "status fresh" 0
out_has "status: state fresh" '^state: +fresh$'
out_has "status: generation" '^generation: +5$'
out_has "status: last sync time RFC 3339" '^last_sync_time: +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
run status2 ctl --json status
rc "status --json" 0
jcheck "status --json keys" "set(d) >= {'cache_path','schema_version','generation','users','tokens','enrolled','revoked','last_sync_time','last_sync_age','max_stale','stale','state'}"
jcheck "status --json values" "d['state'] == 'fresh' and d['stale'] is False and d['users'] == 1 and d['tokens'] == 1 and d['cache_path'].endswith('/cache')"

STALE=$(conf stale max_stale=1)
sleep 2
run stale1 "$AB/aivenctl" -c "$STALE" status
rc "status stale (max_stale = 1, 2 s later)" 69
out_has "status: state stale" '^state: +stale$'
err_has "status stale: hint" 'aivenctl sync'
run stale2 "$AB/aivenctl" -c "$STALE" status --json
jcheck "status --json stale" "d['stale'] is True and d['state'] == 'stale'"

# ================================================================ users
run ucreate ctl --json user create ci-bot
rc "user create" 0
jcheck "user create --json object" "d['name'] == 'ci-bot' and set(d) == {'user_id','name','user_email','create_time'}"
U=$(jget "$O/ucreate.out" "d['user_id']")
[ "$(jget "$O/ucreate.out" "d['user_email']")" = "$U@application-user.avns.net" ] &&
    ok "user create: e-mail in Aiven's shape <user_id>@application-user.avns.net" ||
    bad "user create: e-mail $(jget "$O/ucreate.out" "d['user_email']")"
run ulist ctl user list
rc "user list" 0
out_has "user list: header" '^NAME +USER_EMAIL +USER_ID +CREATE_TIME$'
out_has "user list: underline" '^=+  =+  =+  =+$'
out_has "user list: ci-bot" "^ci-bot +$U@application-user\\.avns\\.net +$U "
if grep -q ' $' "$O/ulist.out"; then bad "user list: trailing spaces"; else ok "user list: no trailing spaces"; fi
run ulistc ctl user list --cached
rc "user list --cached" 0
if grep -q 'ci-bot' "$O/ulistc.out"; then bad "user list --cached shows an unsynced user"; else ok "user list --cached is the cache"; fi
run ulistj ctl --json user list
jcheck "user list --json array" "isinstance(d, list) and any(u['name'] == 'ci-bot' for u in d)"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if open(sys.argv[1]).read() == json.dumps(d, indent=4, sort_keys=True) + "\n" else 1)' "$O/ulistj.out" && \
	ok "--json is byte-identical to json.dumps(indent=4, sort_keys=True)" || bad "--json formatting differs from avn's"
run ucreate2 ctl user create ops-bot
rc "user create (table)" 0
out_has "user create prints a table" '^ops-bot '
U2=$(user_id_of ops-bot)
run sync5 ctl sync
out_has "sync sees the two new users" '^users: \+2 ~0 -0'
run ulistc2 ctl --json user list --cached
jcheck "user list --cached after sync" "sorted(u['name'] for u in d) == ['aiven-sim admin', 'ci-bot', 'ops-bot']"

# ================================================================ token create
mint t1 "$U" --description "ci token" --max-age-seconds 3600 --extend-when-used \
	--ip-allowlist 127.0.0.0/8 --ip-allowlist ::1/128 --scope user:read --scope projects:read
T1=$TOK
rc "token create with every option" 0
if [ "$(wc -l < "$O/mint_t1.out")" = 1 ] && [[ $T1 =~ ^[A-Za-z0-9+/=]{100,}$ ]]; then
	ok "token create: the token alone on one line of stdout"
else bad "token create stdout: $(wc -l < "$O/mint_t1.out") lines"; fi
P1=$(ctl --json token list "$U" 2>/dev/null | python3 -c 'import json,sys; print([t["token_prefix"] for t in json.load(sys.stdin) if t["description"]=="ci token"][0])')
[ "${T1:0:${#P1}}" = "$P1" ] && ok "token prefix is the token's start" || bad "prefix $P1 vs token"
LAST=mint_t1
err_has "token create: warning with the prefix on stderr" "created token .* only time"
[ "$(sim_token "$P1" "(t['max_age_seconds'], t['extend_when_used'])")" = "(3600, True)" ] && \
	ok "simulator stored max_age and extend_when_used" || bad "simulator token: $(sim_token "$P1" t)"
run tlist1 ctl --json token list "$U"
jcheck "cache: metadata of the new token" \
	"d[0]['description']=='ci token' and d[0]['scopes']==['user:read','projects:read'] and d[0]['ip_allowlist']==['127.0.0.0/8','::1/128'] and d[0]['enrolled'] is True and d[0]['state']=='active' and d[0]['max_age_seconds']==3600"
run sync6 ctl sync
out_has "sync after create: token updated from the API" 'tokens: \+0 ~[0-9]+ -0'
run tlist2 ctl --json token list "$U"
jcheck "after sync: API metadata, hash kept" \
	"d[0]['scopes']==['user:read','projects:read'] and d[0]['ip_allowlist']==['127.0.0.0/8','::1/128'] and d[0]['enrolled'] is True and d[0]['extend_when_used'] is True"

mint t2j "$U" --json --description json
T2=$(jget "$O/mint_t2j.out" "d['full_token']")
printf '%s\n' "$T2" >> "$SECRETS"
rc "token create --json" 0
LAST=mint_t2j
jcheck "token create --json keys" "set(d) >= {'full_token','token_prefix','user_id','description','max_age_seconds','extend_when_used','ip_allowlist','scopes','enrolled'}"
jcheck "token create --json values" "d['full_token'].startswith(d['token_prefix']) and d['user_id']=='$U' and d['enrolled'] is True and d['max_age_seconds'] is None"
P2=$(jget "$O/mint_t2j.out" "d['token_prefix']")

# A user created after the last sync: its new token works at once.
run ucreate4 ctl --json user create late-bot
U4=$(jget "$O/ucreate4.out" "d['user_id']")
mint t11 "$U4" --description "late"
T11=$TOK
rc "token create for a user not yet synced" 0
runin ver24 "$T11" ctl verify late-bot
rc "verify: token of a user not yet synced, by name" 0

# On a terminal the token is read with echo off.
cat > "$W/ttyrun.py" <<'EOP'
import os, pty, select, sys, time
tok, argv = sys.argv[1].encode(), sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
out = b""
def pump(t, until=None):
    global out
    end = time.time() + t
    while time.time() < end and (until is None or until not in out):
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                return
            if not d:
                return
            out += d
# aivenctl turns echo off before it prints the prompt: once the prompt
# is seen, the token can be sent (bounds are for a hung program only).
pump(60, b"Token: ")
os.write(fd, tok + b"\n")
pump(60)
r = os.waitpid(pid, os.WNOHANG)
if r == (0, 0):                 # hung: the token was lost
    os.kill(pid, 9)
    r = os.waitpid(pid, 0)
_, st = r
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(st))
EOP
python3 "$W/ttyrun.py" "$T11" "$AB/aivenctl" -c "$W/aivenauth.conf" verify late-bot >"$O/pty.out" 2>"$O/pty.err"; RC=$?; LAST=pty
rc "verify on a terminal" 0
out_has "terminal: prompt" 'Token: '
out_has "terminal: accepted" 'accepted'
if grep -qF -- "${T11:12:40}" "$O/pty.out"; then bad "terminal: the token was echoed"; else ok "terminal: no echo"; fi
# Ctrl-C at the prompt: the terminal gets its echo back.
cat > "$W/ttyint.py" <<'EOP'
import os, pty, select, signal, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
end = time.time() + 60
while time.time() < end and b"Token: " not in out:
    if select.select([fd], [], [], 0.05)[0]:
        out += os.read(fd, 4096)
echo_off = not (termios.tcgetattr(fd)[3] & termios.ECHO)
os.write(fd, b"\x03")
_, st = os.waitpid(pid, 0)
echo_back = bool(termios.tcgetattr(fd)[3] & termios.ECHO)
print("echo_off_while_reading=%s echo_restored=%s signaled=%s" % (
    echo_off, echo_back, os.WIFSIGNALED(st) and os.WTERMSIG(st) == signal.SIGINT))
EOP
python3 "$W/ttyint.py" "$AB/aivenctl" -c "$W/aivenauth.conf" verify late-bot >"$O/ttyint.out" 2>"$O/ttyint.err"; LAST=ttyint
out_has "terminal: echo off while reading, restored after Ctrl-C" 'echo_off_while_reading=True echo_restored=True signaled=True'

mint t3 "$U2" --description "ops token"
T3=$TOK; P3=${T3:0:12}
rc "token create for a second user" 0
run tcbad ctl token create u-no-such-user
rc "token create for an unknown user" 66
run sync7 ctl sync

# ================================================================ token list / inspect
run tlist3 ctl token list
rc "token list" 0
out_has "token list: header (with the user's name)" '^PREFIX +USER_NAME +USER_ID +DESCRIPTION +EXPIRY_TIME +LAST_USED_TIME +ENROLLED +STATE$'
grep -qw null "$O/$LAST.out" && bad "token list: a table shows null: $(grep -w null "$O/$LAST.out" | head -2)" ||
	ok "token list: no cell says null (empty instead)"
out_has "token list: a row names the user" " ci-bot +$U "
out_has "token list: underline" '^=+  =+  =+  =+  =+  =+  =+  =+$'
out_has "token list: the ci token" "ci token +[0-9T:Z-]+ +([0-9T:Z-]+ +)?true +active$"
run tlist4 ctl token list "$U2"
if grep -q "$P1" "$O/tlist4.out"; then bad "token list USER_ID filters"; else ok "token list USER_ID filters"; fi
run insp1 ctl inspect "$P1"
rc "inspect" 0
out_has "inspect: prefix" "^token_prefix: +$(re "$P1")$"
out_has "inspect: effective expiry" '^effective_expiry_time: +[0-9]{4}-'
out_has "inspect: state" '^state: +active$'
run insp2 ctl --json inspect "$P1"
jcheck "inspect --json" "d['token_prefix']=='$P1' and d['user_name']=='ci-bot' and 'hash' not in ' '.join(d)"
run insp3 ctl inspect NoSuchPrefix
rc "inspect an unknown prefix" 66

# ================================================================ verify
runin ver1 "$T1" ctl verify ci-bot --rhost 127.0.0.1 --service it
rc "verify accepted" 0
out_has "verify: accepted" '^accepted$'
out_has "verify: prefix" "^token_prefix: $(re "$P1")$"
out_has "verify: user" "^user_id: $U$"
runin ver2 "$(alter "$T1")" ctl verify ci-bot
rc "verify wrong secret" 1
out_has "verify: secret-mismatch" '^denied: secret-mismatch: '
runin ver3 "$T1" ctl verify ops-bot
rc "verify other user" 1
out_has "verify: user-mismatch" '^denied: user-mismatch: '
runin ver4 "$T1" ctl verify "$U" --user-match id --rhost 127.0.0.1
rc "verify --user-match id" 0
runin ver4e "$T1" ctl verify "$U@application-user.avns.net" --user-match email --rhost 127.0.0.1
rc "verify --user-match email with Aiven's <user_id>@application-user.avns.net" 0
runin ver4f "$T1" ctl verify ci-bot --user-match email --rhost 127.0.0.1
rc "verify --user-match email: the name is not the e-mail" 1
out_has "verify --user-match email: user-mismatch" '^denied: user-mismatch: '
runin ver5 "$T1" ctl verify --user-match any --rhost ::1
rc "verify --user-match any without USER" 0
runin ver6 "$T1" ctl verify ci-bot --rhost 192.0.2.1
rc "verify from outside the ip_allowlist" 1
out_has "verify: address" '^denied: address-not-allowed: '
runin ver7 "$T1" ctl verify ci-bot --scope billing:write --rhost 127.0.0.1
rc "verify with a scope the token lacks" 1
out_has "verify: scope" '^denied: scope-missing: '
runin ver8 "not a token" ctl verify ci-bot
rc "verify not token-shaped" 1
out_has "verify: not-token" '^denied: not-token-shaped: '
runin ver9 "$T1" ctl --json verify ci-bot --rhost 127.0.0.1
jcheck "verify --json" "d['decision']=='accepted' and d['accepted'] is True and d['reason']=='accepted' and d['token_prefix']=='$P1' and d['user_id']=='$U'"
sleep 2     # the last sync is now older than max_stale = 1
runin ver10 "$T1" "$AB/aivenctl" -c "$STALE" verify ci-bot --rhost 127.0.0.1
rc "verify with a stale cache" 69
out_has "verify: cache-stale" '^denied: cache-stale: '

# ================================================================ token add
# A token made elsewhere: straight through the API, as a console user would.
curl -sS -X POST -H "Authorization: aivenv1 $(cat "$W/api-token")" -H 'Content-Type: application/json' \
	--data '{"description":"made elsewhere"}' \
	"$SIM_URL/v1/organization/$ORG_ID/application-users/$U2/access-tokens" > "$W/elsewhere.json"
T4=$(jget "$W/elsewhere.json" "d['full_token']"); P4=${T4:0:12}
printf '%s\n' "$T4" >> "$SECRETS"
run sync8 ctl sync
runin ver11 "$T4" ctl verify ops-bot
rc "verify a synced but never seen token" 1
out_has "verify: not-enrolled" '^denied: not-enrolled: '
runin add1 "$T4" ctl token add "$U"
rc "token add: token of another user" 65
err_has "token add: says whose" 'does not belong to user'
runin add2 "abc def" ctl token add "$U2"
rc "token add: not token-shaped" 65
err_has "token add: not token-shaped message" 'not token-shaped'
runin add3 "$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(277)).decode())')" ctl token add "$U2"
rc "token add: unknown prefix" 66
runin add4 "$T4" ctl --json token add "$U2"
rc "token add" 0
jcheck "token add --json" "d == {'token_prefix': '$P4', 'user_id': '$U2', 'enrolled': True}"
runin ver12 "$T4" ctl verify ops-bot
rc "verify after token add" 0
# Stdin with CRLF and no newline at all.
printf '%s' "$T4" | ctl verify ops-bot >"$O/ver13.out" 2>"$O/ver13.err"; RC=$?; LAST=ver13
rc "verify: token without a trailing newline" 0
head -c 70000 /dev/zero | tr '\0' 'A' | ctl token add "$U2" >"$O/add5.out" 2>"$O/add5.err"; RC=$?; LAST=add5
rc "token add: 70000 bytes on stdin" 65

# ================================================================ revoke
run rev1 ctl token revoke "$U" "$P1"
rc "token revoke" 0
out_has "revoke: message" "^Token $(re "$P1") \\(application user $U\\) revoked\\.$"
runin ver14 "$T1" ctl verify ci-bot
rc "verify a revoked token" 1
out_has "verify: revoked" '^denied: revoked: '
sim_has_token "$P1" && bad "API still lists the revoked token" || ok "API no longer lists the revoked token"
run sync9 ctl sync
rc "sync after revoke" 0
runin ver15 "$T1" ctl verify ci-bot
rc "verify revoked token after sync" 1
out_has "verify after sync: still revoked" '^denied: revoked: '
run tlist5 ctl --json token list "$U"
jcheck "token list: revoked here, then gone from the API: state revoked, revoked_by aivenctl" "[(t['state'], t['revoked'], t['revoked_by']) for t in d if t['token_prefix']=='$P1'] == [('revoked', True, 'aivenctl')]"
run rev2 ctl token revoke "$U2" "$P2"
rc "token revoke of another user's prefix" 65
err_has "revoke: says whose" "belongs to user $U"

# The API fails: the local revocation holds.
sim_ctl POST /_sim/faults '{"kind":"status","status":503,"method":"DELETE"}' >/dev/null
run rev3 ctl --json token revoke "$U" "$P2"
rc "revoke with the API failing (503)" 75
jcheck "revoke --json with the API failing" "d['revoked_locally'] is True and d['revoked_at_api'] is False"
err_has "revoke: clear message" 'revoked locally; the API call failed: .*run again or revoke in the console'
runin ver16 "$T2" ctl verify ci-bot
out_has "verify: locally revoked while the API failed" '^denied: revoked: '
sim_has_token "$P2" && ok "the API still has it (delete failed)" || bad "the API lost the token"
sim_ctl DELETE /_sim/faults >/dev/null
run sync10 ctl sync
rc "sync sends the pending revocation" 0
sim_has_token "$P2" && bad "sync did not delete the locally revoked token at the API" || ok "sync deleted the locally revoked token at the API"
runin ver17 "$T2" ctl verify ci-bot
out_has "verify: still revoked after sync" '^denied: revoked: '

# Terraform's import id ORG_ID/USER_ID/PREFIX; prefixes may hold + / =.
mint t5 "$U" --description tf
T5=$TOK; P5=${T5:0:12}
run rev4 ctl --json token revoke "$ORG_ID/$U/$P5"
rc "revoke ORG_ID/USER_ID/PREFIX" 0
jcheck "revoke --json" "d == {'token_prefix': '$P5', 'user_id': '$U', 'revoked_locally': True, 'revoked_at_api': True}"
sim_has_token "$P5" && bad "terraform id: API still lists it" || ok "terraform id: deleted at the API"
run rev5 ctl token revoke "orgnotmine/$U/$P5"
rc "revoke with another organization's id" 64
# A prefix with + / = (the simulator makes such prefixes on request? try a few).
for i in 1 2 3 4 5 6 7 8 9 10; do
	mint "slash$i" "$U" --description slash
	[[ ${TOK:0:12} == */* || ${TOK:0:12} == *+* ]] && break
done
PS=${TOK:0:12}
if [[ $PS == */* || $PS == *+* ]]; then
	run rev6 ctl token revoke "$ORG_ID/$U/$PS"
	rc "revoke a prefix holding + or / ($PS)" 0
	sim_has_token "$PS" && bad "prefix with / or +: still at the API" || ok "prefix with / or +: deleted at the API"
else
	skip "no prefix with + or / in 10 tokens"
fi

# ================================================================ rotate
mint t6 "$U" --description "rotate me" --max-age-seconds 7200 --scope user:read
T6=$TOK; P6=${T6:0:12}
run sync11 ctl sync
run rot1 ctl token rotate "$U" "$P6" --grace 0
mv "$O/rot1.out" "$O/mint_rot1.out"; printf '%s\n' "$(head -n1 "$O/mint_rot1.out")" >> "$SECRETS"
rc "rotate --grace 0" 0
LAST=rot1; err_has "rotate 0: says the old token is revoked" "old token $(re "$P6") revoked"
T7=$(head -n 1 "$O/mint_rot1.out"); P7=${T7:0:12}
[[ $T7 =~ ^[A-Za-z0-9+/=]{100,}$ ]] && ok "rotate prints the new token alone" || bad "rotate stdout"
runin ver18 "$T6" ctl verify ci-bot
out_has "rotate 0: old token refused at once" '^denied: revoked: '
runin ver19 "$T7" ctl verify ci-bot
rc "rotate 0: new token accepted" 0
sim_has_token "$P6" && bad "rotate 0: old token still at the API" || ok "rotate 0: old token deleted at the API"
[ "$(sim_token "$P7" "t['max_age_seconds']")" = 7200 ] && ok "rotate keeps max_age_seconds" || bad "rotate lost max_age_seconds"
run insp4 ctl --json inspect "$P7"
jcheck "rotate keeps description and scopes" "d['description']=='rotate me' and d['scopes']==['user:read']"

# The grace, both ways, without racing the clock: "still accepted during
# the grace" with a grace of 600 s (nothing here takes that long), "refused
# after it" with a grace of 1 s and a 2 s sleep (time only moves forward).
run rot2 ctl --json token rotate "$U" "$P7" --grace 600
mv "$O/rot2.out" "$O/mint_rot2.out"; mv "$O/rot2.err" "$O/mint_rot2.err"
rc "rotate --grace 600" 0
LAST=mint_rot2
jcheck "rotate --json" "d['old_token_prefix']=='$P7' and d['grace_seconds']==600 and d['full_token'].startswith(d['token_prefix'])"
T8=$(jget "$O/mint_rot2.out" "d['full_token']"); P8=${T8:0:12}
printf '%s\n' "$T8" >> "$SECRETS"
err_has "rotate --grace: says when and that sync deletes it" 'refused from .*aivenctl sync'
runin ver20 "$T7" ctl verify ci-bot
rc "rotate 600: old token still accepted during the grace" 0
runin ver21 "$T8" ctl verify ci-bot
rc "rotate 600: new token accepted" 0
run tlist6 ctl --json token list "$U"
jcheck "token list: revoking@TIME" "[t['state'].startswith('revoking@') for t in d if t['token_prefix']=='$P7'] == [True]"
run tlist7 ctl token list "$U"
out_has "token list table: revoking@" "revoking@[0-9]{4}-"
run sync12 ctl sync
sim_has_token "$P7" && ok "rotate 600: sync leaves the old token before its time" || bad "rotate 600: deleted too early"

run rot2b ctl --json token rotate "$U" "$P8" --grace 1
mv "$O/rot2b.out" "$O/mint_rot2b.out"; mv "$O/rot2b.err" "$O/mint_rot2b.err"
RC=$(python3 -c 'import json,sys; print(0 if json.load(open(sys.argv[1])).get("grace_seconds")==1 else 1)' "$O/mint_rot2b.out" 2>/dev/null || echo 1)
rc "rotate --grace 1" 0
T8B=$(jget "$O/mint_rot2b.out" "d['full_token']"); P8B=${T8B:0:12}
printf '%s\n' "$T8B" >> "$SECRETS"
sleep 2
runin ver22 "$T8" ctl verify ci-bot
rc "rotate 1: old token refused after the grace" 1
out_has "rotate 1: reason revoked" '^denied: revoked: '
runin ver22b "$T8B" ctl verify ci-bot
rc "rotate 1: new token accepted" 0
run sync13 ctl sync
rc "sync after the grace" 0
out_has "sync reports the revocation it sent (only the expired grace)" '^revocations sent to the API: 1$'
sim_has_token "$P8" && bad "rotate 1: sync did not delete the old token" || ok "rotate 1: sync deleted the old token at the API"
sim_has_token "$P7" && ok "rotate 600: still at the API within its grace" || bad "rotate 600: deleted within its grace"
run rot3 ctl token rotate "$U" "$P8"
rc "rotate a revoked token" 65
run rot4 ctl token rotate "$U2" "$P8B"
rc "rotate another user's token" 65
run rot5 ctl token rotate "$U" NoSuchPrefix
rc "rotate an unknown prefix" 66
# No --grace: the new token first, the old one keeps working for a day
# (jobs in flight switch), so a rotation never breaks them.
mint t6d "$U" --description "rotate default"
T6D=$TOK; P6D=${T6D:0:12}
run rot6 ctl --json token rotate "$U" "$P6D"
mv "$O/rot6.out" "$O/mint_rot6.out"; mv "$O/rot6.err" "$O/mint_rot6.err"
printf '%s\n' "$(jget "$O/mint_rot6.out" "d['full_token']")" >> "$SECRETS"
RC=$(python3 -c 'import json,sys; print(0 if json.load(open(sys.argv[1])).get("grace_seconds")==86400 else 1)' "$O/mint_rot6.out" 2>/dev/null || echo 1)
rc "rotate without --grace: a grace of 86400 s (one day)" 0
runin ver6d "$T6D" ctl verify ci-bot
rc "rotate without --grace: the old token still works (jobs in flight)" 0
run rot6h ctl token rotate --help
out_has "token rotate --help: --grace, its meaning and default" 'default: 86400, one day'

# ================================================================ expiry
mint t12 "$U" --description "short" --max-age-seconds 600
T12=$TOK; P12=${T12:0:12}
runin ver25 "$T12" ctl verify ci-bot
rc "short-lived token accepted before expiry" 0
sim_ctl POST "/_sim/tokens/$(python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$P12")/expire" >/dev/null
run sync15 ctl sync
runin ver26 "$T12" ctl verify ci-bot
rc "expired token refused" 1
out_has "verify: expired" '^denied: expired: '
run tlist8 ctl --json token list "$U"
jcheck "token list: expired state" "[t['state'] for t in d if t['token_prefix']=='$P12'] == ['expired']"
# Whether the API keeps listing expired tokens is unknown: if it drops
# them, the sync removes the token and it stays refused.
sim_ctl POST /_sim/modes '{"expired_tokens": "unlisted"}' > /dev/null
run sync15u ctl sync
rc "sync with expired tokens unlisted" 0
runin ver26u "$T12" ctl verify ci-bot
rc "expired token, no longer listed: still refused" 1
out_has "no longer listed: refused as removed" '^denied: revoked: '
run tlist8u ctl --json token list "$U"
jcheck "token list: the unlisted expired token: state revoked (as verify says), revoked_by api" "[(t['state'], t['revoked'], t['revoked_by']) for t in d if t['token_prefix']=='$P12'] == [('revoked', True, 'api')]"
# inspect: the same words, and every id form token revoke takes.
run insp1 ctl inspect "$P12"
rc "inspect PREFIX of a token deleted at the API" 0
out_has "inspect: state revoked, as verify says" '^state: +revoked$'
out_has "inspect: revoked true" '^revoked: +true$'
out_has "inspect: revoked_by api" '^revoked_by: +api$'
run insp2 ctl inspect "$ORG_ID/$U/$P12"
rc "inspect ORG_ID/USER_ID/PREFIX (the Terraform import id)" 0
out_has "inspect ORG_ID/USER_ID/PREFIX: the token" "^token_prefix: +$(rx "$P12")$"
run insp3 ctl inspect "$U" "$P12"
rc "inspect USER_ID PREFIX" 0
out_has "inspect USER_ID PREFIX: the token" "^token_prefix: +$(rx "$P12")$"
run insp4 ctl inspect "$U2" "$P12"
rc "inspect with another user's id: refused" 65
run insp5 ctl inspect "other-org/$U/$P12"
rc "inspect with another organization: refused" 64
sim_ctl POST /_sim/modes '{"expired_tokens": "listed"}' > /dev/null
run sync15l ctl sync
runin ver26l "$T12" ctl verify ci-bot
rc "listed again: refused" 1
out_has "listed again: refused as expired or no longer enrolled" '^denied: (expired|not-enrolled): '

# ================================================================ user delete
mint t9 "$U2" --description "doomed"
T9=$TOK
run sync14 ctl sync
run udel ctl user delete "$U2"
rc "user delete" 0
out_has "user delete message" "^Application user $U2 deleted\\.$"
runin ver23 "$T9" ctl verify ops-bot
rc "user delete: its tokens are refused at once" 1
run ulist3 ctl user list
if grep -q ops-bot "$O/ulist3.out"; then bad "deleted user still listed"; else ok "deleted user gone from the API"; fi
run udel2 ctl user delete u-no-such-user
rc "user delete of an unknown user" 66
run ucreate5 ctl --json user create short-lived
run udel3 ctl --json user delete "$(jget "$O/ucreate5.out" "d['user_id']")"
rc "user delete --json" 0
jcheck "user delete --json" "d['deleted'] is True and 'user_id' in d"

# token create when the API fails: nothing printed, and no retry of the
# POST (a retry could mint a duplicate token).
sim_state; n0=$(python3 -c 'import json,sys; print(sum(len(u["tokens"]) for u in json.load(open(sys.argv[1]))["users"]))' "$W/state.json")
sim_ctl POST /_sim/faults '{"kind":"status","status":503,"method":"POST","path":"access-tokens"}' >/dev/null
mint fail503 "$U" --description "never"
sim_ctl DELETE /_sim/faults >/dev/null
rc "token create with the API failing (503)" 75
[ -s "$O/mint_fail503.out" ] && bad "token create printed something on failure" || ok "token create failure: nothing on stdout"
sim_state; n1=$(python3 -c 'import json,sys; print(sum(len(u["tokens"]) for u in json.load(open(sys.argv[1]))["users"]))' "$W/state.json")
[ "$n0" = "$n1" ] && ok "token create failure: no token minted" || bad "token create failure: $n0 -> $n1 tokens"

# ================================================================ credentials and permissions
printf 'not-the-admin-token-%s\n' "$RANDOM" > "$W/bad-token"; chmod 600 "$W/bad-token"
BADC=$(conf badtok api_token_file="$W/bad-token")
run perm1 "$AB/aivenctl" -c "$BADC" sync
rc "sync with a bad admin token (401)" 77
err_has "401: message" '401'
run perm2 env AIVEN_AUTH_TOKEN=bogus-token-value "$AB/aivenctl" -c "$W/aivenauth.conf" user list
rc "AIVEN_AUTH_TOKEN bad (401)" 77

run ucreate3 ctl --json user create plain-bot
U3=$(jget "$O/ucreate3.out" "d['user_id']")
mint t10 "$U3" --description "not an admin"
( umask 077; head -n 1 "$O/mint_t10.out" > "$W/plain-token" )
PLAINC=$(conf plain api_token_file="$W/plain-token")
run perm3 "$AB/aivenctl" -c "$PLAINC" sync
rc "sync with a non-admin token (403)" 77
err_has "403: says permission" '[Pp]ermission'
run perm4 "$AB/aivenctl" -c "$PLAINC" user create nope
rc "user create with a non-admin token (403)" 77
run perm4b "$AB/aivenctl" -c "$PLAINC" token create "$U3"
rc "token create with a non-admin token (403)" 77
err_has "token create 403: says permission" '[Pp]ermission'

( umask 022; cp "$W/api-token" "$W/open-token"; chmod 0644 "$W/open-token" )
OPENC=$(conf open api_token_file="$W/open-token")
run perm5 "$AB/aivenctl" -c "$OPENC" sync
if [ "$RC" = 77 ] || [ "$RC" = 78 ]; then ok "world-readable api-token file refused (exit $RC)"; else bad "world-readable api-token file (exit $RC)"; fi
err_has "world-readable api-token: chmod hint" 'chmod'

NOTOK=$(conf notok api_token_file="$W/does-not-exist")
run perm6 env -u AIVEN_AUTH_TOKEN "$AB/aivenctl" -c "$NOTOK" sync
rc "no admin token at all" 78

# ================================================================ config errors
BADK=$(conf badkey)
printf 'no_such_key = 1\n' >> "$BADK"
LINE=$(grep -c '' "$BADK")
run conf1 "$AB/aivenctl" -c "$BADK" status
rc "config with an unknown key" 78
err_has "config error names file:line" "$BADK:$LINE"
run conf2 "$AB/aivenctl" -c "$W/no-such.conf" status
rc "missing -c config file" 78
# The permission tests above left a failed attempt: status would say
# sync-failing (75).  A good sync first.
ctl sync >/dev/null 2>&1
run conf3 env AIVENAUTH_CONFIG="$W/aivenauth.conf" "$AB/aivenctl" status
rc "AIVENAUTH_CONFIG is used without -c" 0

# ================================================================ faults on sync: nothing changes
FC=$(conf faults timeout=2)
run fsync "$AB/aivenctl" -c "$FC" sync
# The writer's environment, the published snapshot and the state record.
cache_sum() { cat "$W/cache/writer/data.mdb" "$W/cache/snapshot.mdb" "$W/cache/state" | md5sum; }
fault_case() {  # fault_case NAME JSON WANT_EXIT
	local n=$1 f=$2 want=$3 g0 g1
	cache_sum > "$W/before.sum"
	g0=$(generation "$FC")
	sim_ctl POST /_sim/faults "$f" >/dev/null
	run "fault_$n" "$AB/aivenctl" -c "$FC" sync
	sim_ctl DELETE /_sim/faults >/dev/null
	rc "sync fault $n" "$want"
	if cache_sum | cmp -s "$W/before.sum" -; then ok "fault $n: cache (writer, snapshot, state) byte-for-byte unchanged"
	else bad "fault $n: cache changed"; fi
	g1=$(generation "$FC")
	[ "$g0" = "$g1" ] && ok "fault $n: generation unchanged ($g1)" || bad "fault $n: generation $g0 -> $g1"
	grep -q '^aivenctl: ' "$O/fault_$n.err" && ok "fault $n: error message" || bad "fault $n: no message"
}
fault_case status500 '{"kind":"status","status":500}' 75
fault_case status502 '{"kind":"status","status":502}' 75
fault_case status503 '{"kind":"status","status":503}' 75
fault_case ratelimit '{"kind":"rate_limit"}' 75
fault_case ratelimit_ra '{"kind":"rate_limit","retry_after":1}' 75
fault_case invalid_json '{"kind":"invalid_json"}' 76
fault_case truncated '{"kind":"truncated"}' 75
fault_case oversized '{"kind":"oversized"}' 76
fault_case wrong_ctype '{"kind":"wrong_content_type"}' 76
fault_case reset '{"kind":"reset"}' 75
fault_case stall '{"kind":"stall","ms":8000}' 75
fault_case latency '{"kind":"latency","ms":3000}' 75
# A fault on one user's token list only (the parallel part of the fetch).
fault_case tokens503 '{"kind":"status","status":503,"path":"access-tokens"}' 75
run fsync2 "$AB/aivenctl" -c "$FC" sync
rc "sync works again after the faults" 0

# ================================================================ token create limits
# The API's limits (its spec): description required, at most 1000
# characters, "" accepted; max_age_seconds an integer 600..315360000;
# ip_allowlist and scopes at most 100 entries each.  aivenctl refuses
# beyond them without calling the API (exit 65); what only the API judges
# comes back in the API's 400 shape, its message shown.
U5=$(ctl --json user create limits-bot | python3 -c 'import json,sys; print(json.load(sys.stdin)["user_id"])')
posts() { sim_ctl GET /_sim/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"].get("POST /v1/organization/{organization_id}/application-users/{user_id}/access-tokens", 0))'; }
# limit NAME WANT-RC DESC ARGS...: token create for limits-bot
limit() {
	local n=$1 want=$2 d=$3 p0; shift 3
	p0=$(posts)
	mint "lim_$n" "$U5" "$@"
	rc "token create: $d" "$want"
	if [ "$want" = 65 ]; then
		[ "$(posts)" = "$p0" ] && ok "token create: $d: nothing sent to the API" ||
		    bad "token create: $d: the API was called"
		[ -s "$O/mint_lim_$n.out" ] && bad "token create: $d: printed something" || true
	fi
}
limit ma599 65 "max_age_seconds 599 refused" --description x --max-age-seconds 599
err_has "max_age_seconds 599: says the range" 'max_age_seconds must be between 600 and 315360000'
limit ma600 0 "max_age_seconds 600 accepted" --description x --max-age-seconds 600
limit mamax 0 "max_age_seconds 315360000 accepted" --description x --max-age-seconds 315360000
limit mabig 65 "max_age_seconds 315360001 refused" --description x --max-age-seconds 315360001
limit mafrac 64 "max_age_seconds 3600.5 (not an integer) refused" --description x --max-age-seconds 3600.5
limit d1001 65 "description of 1001 characters refused" --description "$(python3 -c 'print("x" * 1001)')"
err_has "description 1001: says the limit" 'description is longer than 1000 characters'
limit d1000 0 "description of 1000 characters (2000 bytes of UTF-8) accepted" --description "$(python3 -c 'print("\u00e9" * 1000)')"
limit dempty 0 "empty description accepted" --description ""
api GET "/v1/organization/$ORG_ID/application-users/$U5/access-tokens" > "$O/lim_api.json"
[ "$(jget "$O/lim_api.json" "sorted(t['description'] for t in d['tokens']).count('')")" = 1 ] &&
    ok "the empty description reached the API as \"\" (not replaced by a default)" ||
    bad "descriptions at the API: $(jget "$O/lim_api.json" "[t['description'][:20] for t in d['tokens']]")"
many() { local f=$1 v=$2 k=$3 i; for i in $(seq "$k"); do printf '%s\n%s\n' "$f" "$(printf "$v" "$i")"; done; }
mapfile -t S100 < <(many --scope 'scope:%d' 100)
mapfile -t S101 < <(many --scope 'scope:%d' 101)
mapfile -t I100 < <(many --ip-allowlist '127.0.%d.0/24' 100)
mapfile -t I101 < <(many --ip-allowlist '127.0.%d.0/24' 101)
limit s100 0 "100 scopes accepted" --description s "${S100[@]}"
limit s101 65 "101 scopes refused" --description s "${S101[@]}"
err_has "101 scopes: says the limit" 'scopes: at most 100 entries allowed, 101 given'
limit i100 0 "100 ip_allowlist entries accepted" --description i "${I100[@]}"
limit i101 65 "101 ip_allowlist entries refused" --description i "${I101[@]}"
err_has "101 ip_allowlist entries: says the limit" 'ip_allowlist: at most 100 entries allowed, 101 given'
p0=$(posts)
mint lim_badip "$U5" --description b --ip-allowlist banana
rc "token create: an address only the API judges (banana): the API's 400" 65
[ "$(posts)" = "$((p0 + 1))" ] && ok "the API was asked once (a create is never retried)" || bad "POSTs: $p0 -> $(posts)"
err_has "the API's 400 message is shown" 'HTTP 400: Invalid IP address or network: banana'
err_has "and what it means" 'Aiven API rejected the request'

# ================================================================ documentation examples
# Each EXAMPLES entry of docs/aivenctl.8 is run here.
U=$(ctl --json user create example-bot |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["user_id"])')
ctl sync > "$O/ex0.out" 2>"$O/ex0.err"
TOKEN=$(ctl token create "$U" --description "example" \
        --max-age-seconds 86400 2>"$O/ex1c.err")
printf '%s\n' "$TOKEN" >> "$SECRETS"
[ -n "$TOKEN" ] && ok "man example: TOKEN=\$(aivenctl token create ...)" || bad "man example: token create"
printf '%s\n' "$TOKEN" | ctl verify example-bot > "$O/ex1.out" 2>"$O/ex1.err" && ok "man example: verify" || bad "man example: verify"
ctl --json status > "$O/ex2.out" 2>"$O/ex2.err"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["stale"] is False else 1)' "$O/ex2.out" && \
	ok "man example: status --json" || bad "man example: status --json"
[ -f "$TOP/docs/aivenctl.8" ] && man --warnings -l "$TOP/docs/aivenctl.8" >/dev/null 2>"$O/man.err" </dev/null
if [ -f "$TOP/docs/aivenctl.8" ] && ! [ -s "$O/man.err" ]; then ok "aivenctl.8: man --warnings clean"
else bad "aivenctl.8: $(head -c 300 "$O/man.err" 2>/dev/null)"; fi

# ================================================================ no secret ever printed
leaks=0
while IFS= read -r s; do
	[ -n "$s" ] || continue
	for f in "$O"/*; do
		case ${f##*/} in mint_*.out) continue ;; esac
		if grep -qF -- "$s" "$f"; then leaks=$((leaks + 1)); echo "  secret ${s:0:12}... in ${f##*/}"; fi
	done
	# Even a token's body without its prefix.
	for f in "$O"/*; do
		case ${f##*/} in mint_*.out) continue ;; esac
		if grep -qF -- "${s:12:40}" "$f"; then leaks=$((leaks + 1)); echo "  secret part ${s:0:12}... in ${f##*/}"; fi
	done
done < "$SECRETS"
n=$(grep -c '' "$SECRETS")
[ "$leaks" = 0 ] && ok "no full token or admin token in any output ($n secrets, $(ls "$O" | wc -l) files)" || bad "$leaks secret leaks"

finish
