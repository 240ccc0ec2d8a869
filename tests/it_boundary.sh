#!/bin/bash
# it_boundary.sh - the trust boundary in the build: what a service loads
# (pam_aiven.so) and the SASL responder (aivenauth-saslauthd) carry the
# library's foundation (base/) and reader (reader/) only, never the
# writer (writer/) nor fleet mode (fleet/).
# Run: AIVENAUTH_BUILD=$PWD/build AIVENAUTH_TOP=$PWD bash tests/it_boundary.sh
#
# A service may only read (docs/DESIGN.md, "Source tree"): code that can
# write the cache, publish a snapshot, sign for the fleet or talk to etcd
# has no business in sshd's, nginx's or PostgreSQL's address space.  The
# checks read the built objects, so they follow the tree, not a list:
#   1. no global symbol that an object of writer/ or fleet/ defines is in
#      pam_aiven.so's symbol table (the module is not stripped in the build);
#   2. pam_aiven.so imports none of LMDB's write calls and none of
#      libsodium's signing calls;
#   3. the same checks find all of these in libaivenauth.so.1, which does
#      carry the writer and the fleet: the checks can see what they look for.
. "$(dirname "$0")/lib.sh"

command -v nm >/dev/null || { skip "nm not installed (binutils)"; finish; exit; }
PAM=$AB/pam_aiven.so
SASLD=$AB/aivenauth-saslauthd
LIB=$AB/libaivenauth.so.1
[ -f "$PAM" ] && [ -f "$SASLD" ] && [ -f "$LIB" ] ||
    { bad "build incomplete: $PAM, $SASLD, $LIB"; finish; exit; }

# Global definitions of a room's objects (T/D/B/R: functions and data with
# external linkage; a static helper may share a name with another room's).
room_globals() {
	local o
	for o in "$AB"/obj/libaivenauth/"$1"/*.o; do
		nm --defined-only "$o" | awk '$2 ~ /^[TDBR]$/ { print $3 }'
	done | sort -u
}
symtab() { nm "$1" | awk 'NF == 3 { print $3 }' | sort -u; }

for room in writer fleet; do
	room_globals "$room" > "$W/$room.syms"
	n=$(wc -l < "$W/$room.syms")
	if [ "$n" -lt 5 ]; then
		bad "$room/: only $n global symbols found in $AB/obj/libaivenauth/$room"
		continue
	fi
	for bin in "$PAM" "$SASLD"; do
		symtab "$bin" > "$W/bin.syms"
		leaked=$(comm -12 "$W/$room.syms" "$W/bin.syms")
		if [ -z "$leaked" ]; then
			ok "${bin##*/} holds none of the $n global symbols of $room/"
		else
			bad "${bin##*/} holds $room/ code: $(echo "$leaked" | head -5 | tr '\n' ' ')"
		fi
	done
	symtab "$LIB" > "$W/lib.syms"
	in_lib=$(comm -12 "$W/$room.syms" "$W/lib.syms" | wc -l)
	[ "$in_lib" = "$n" ] && ok "control: libaivenauth.so.1 holds all $n of them" ||
	    bad "control: libaivenauth.so.1 holds $in_lib of $n $room/ symbols"
done

# What a reader must never be able to call, whatever the source says.
WRITES='^(mdb_put|mdb_del|mdb_cursor_put|mdb_cursor_del|mdb_drop|mdb_env_copy.*|mdb_env_sync|mdb_reader_check|crypto_sign.*)$'
imports() { nm -D --undefined-only "$1" | awk '{ print $2 }' | sed 's/@.*//'; }
for bin in "$PAM" "$SASLD"; do
	bad_imports=$(imports "$bin" | grep -E "$WRITES")
	[ -z "$bad_imports" ] && ok "${bin##*/} imports no LMDB write call and no signing call" ||
	    bad "${bin##*/} imports: $(echo "$bad_imports" | tr '\n' ' ')"
done
# The responder decides with the library's call, compiled in like the
# module's (a sanity check that the symbol test above looked at the
# right kind of binary).
nm "$SASLD" | grep -q ' T aivenauth_verify$' &&
    ok "aivenauth-saslauthd carries aivenauth_verify (reader/) itself" ||
    bad "aivenauth-saslauthd has no aivenauth_verify"
# Nothing that uses the admin credential: no sync, no token create or
# delete (writer/); the API call it can make is GET /v1/me with the
# presented token itself (online learning, reader/).
for f in aivenauth_sync aivenauth_api_token_create aivenauth_api_token_delete \
    aivenauth_api_users aivenauth_api_tokens; do
	nm "$SASLD" | grep -q " T $f\$" && bad "aivenauth-saslauthd carries $f"
done
nm "$SASLD" | grep -qE ' T (aivenauth_sync|aivenauth_api_token_(create|delete)|aivenauth_api_users|aivenauth_api_tokens)$' ||
    ok "aivenauth-saslauthd carries no call that uses the admin credential (sync, token create/delete, listings)"
lib_imports=$(imports "$LIB" | grep -cE "$WRITES")
[ "$lib_imports" -ge 5 ] && ok "control: libaivenauth.so.1 imports $lib_imports of them" ||
    bad "control: libaivenauth.so.1 imports only $lib_imports write/sign calls"

# The module still exports only the PAM entry points.
exported=$(nm -D --defined-only "$PAM" | awk '$2 == "T" { print $3 }' | sort | tr '\n' ' ')
[ "$exported" = "pam_sm_acct_mgmt pam_sm_authenticate pam_sm_setcred " ] &&
    ok "pam_aiven.so exports only pam_sm_*" || bad "pam_aiven.so exports: $exported"

finish
