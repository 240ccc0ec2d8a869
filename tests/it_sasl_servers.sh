#!/bin/bash
# it_sasl_servers.sh - aivenauth-saslauthd behind real Cyrus SASL consumers,
# with full-length (372-character) tokens (../shared/docs/real-clients.md
# section 12):
#   * Postfix 3.7, its own config, queue and data directories in $W, SMTP
#     on 127.0.0.1 at a free port, smtpd_sasl_type = cyrus with
#     pwcheck_method: saslauthd -> SMTP AUTH PLAIN and LOGIN with swaks:
#     235 for the token, 535 for a wrong one and for a token revoked and
#     synced while everything runs;
#   * OpenLDAP slapd 2.5, its own config and mdb database in $W, on
#     ldap://127.0.0.1 at a free port; an entry with userPassword {SASL}
#     -> a simple bind (ldapwhoami -y FILE) with the token succeeds, a
#     wrong one gives 49 (invalid credentials).  Debian's slapd reads its
#     SASL config from /etc/ldap/sasl2/slapd.conf only: the one file
#     written outside $W, created only when absent and removed afterwards.
# Servers stopped by pid (postfix: `postfix -c DIR stop`, the documented
# way for its master).  swaks gets the token from the environment
# (SWAKS_OPT_auth_password), ldapwhoami from a 0600 file: no token in argv.
# Run as root: Postfix's master and slapd start as root.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_sasl.sh"

if [ "$(id -u)" != 0 ]; then skip "postfix/slapd: needs root"; finish; exit; fi

PF=""; PF_UP=false; MADE_SLAPD_CONF=false
servers_cleanup() {   # postfix through its master; our slapd.conf only
	$PF_UP && postfix -c "$PF" stop > /dev/null 2>&1
	$MADE_SLAPD_CONF && rm -f "$SLAPD_CONF"
	lib_cleanup
}
trap servers_cleanup EXIT
SLAPD_CONF=/etc/ldap/sasl2/slapd.conf

sasl_setup || { bad "set-up (simulator, users, tokens, sync)"; finish; exit; }
# The consumers run as postfix / openldap: the socket's directory and the
# socket must be reachable to them, as the sasl group makes them in
# production (here: mode 0666 on a socket in a 0755 directory of $W).
mkdir -m 0755 "$W/run"
SOCKDIR="$W/run"
start_sasld run/mux --socket-mode 0666 || { bad "responder did not start"; finish; exit; }
MUX="$SASLD_SOCK"

# ---------------------------------------------------------------- Postfix
if command -v postfix >/dev/null && command -v swaks >/dev/null; then
	PF="$W/postfix"; PORT=$(free_port)
	mkdir -p "$PF/sasl" "$W/pfq"
	install -d -o postfix "$W/pfdata"
	sed -e "s|^smtp  *inet .*|127.0.0.1:$PORT inet n - n - - smtpd|" \
	    /etc/postfix/master.cf > "$PF/master.cf"
	cat > "$PF/main.cf" <<EOC
compatibility_level = 3.6
queue_directory = $W/pfq
data_directory = $W/pfdata
myhostname = sasltest.localdomain
mydestination = localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
maillog_file = $W/postfix.log
maillog_file_prefixes = $W
smtpd_tls_security_level = none
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $PF/sasl
smtpd_sasl_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
alias_maps =
EOC
	cat > "$PF/sasl/smtpd.conf" <<EOC
pwcheck_method: saslauthd
saslauthd_path: $MUX
mech_list: PLAIN LOGIN
EOC
	if postfix -c "$PF" start > "$W/postfix-start.out" 2>&1 && wait_tcp "$PORT"; then
		PF_UP=true; ok "postfix started on 127.0.0.1:$PORT"
	else
		PF_UP=false; bad "postfix did not start: $(cat "$W/postfix-start.out")"
	fi
	smtp_auth() {   # MECH USER TOKENNAME -> the AUTH reply code
		SWAKS_OPT_auth_password="$(cat "$S/$3")" swaks --server "127.0.0.1:$PORT" \
		    --auth "$1" --auth-user "$2" --quit-after AUTH --timeout 120 \
		    --hide-send > "$W/swaks-$1-$2-$3.out" 2>&1
		# The AUTH reply: the last code that is not a greeting, EHLO,
		# challenge (334) or QUIT reply.
		sed -n 's/^<[-~*]* *\([0-9][0-9][0-9]\) .*/\1/p' "$W/swaks-$1-$2-$3.out" |
		    grep -vE '^(220|221|250|334)$' | tail -1
	}
	if $PF_UP; then
		for mech in PLAIN LOGIN; do
			c=$(smtp_auth $mech alice a_good)
			check "postfix SMTP AUTH $mech, a 372-character token: 235 (got $c)" test "$c" = 235
			c=$(smtp_auth $mech alice a_wrong)
			check "postfix SMTP AUTH $mech, a wrong secret: 535 (got $c)" test "$c" = 535
			c=$(smtp_auth $mech bob a_good)
			check "postfix SMTP AUTH $mech, alice's token as bob: 535 (got $c)" test "$c" = 535
		done
		c=$(smtp_auth PLAIN alice a_rev)
		check "postfix: a_rev accepted before its revocation: 235 (got $c)" test "$c" = 235
		ctl token revoke "$ALICE_ID" "$(head -1 "$S/a_rev.prefix")" > "$W/rev.out" 2>&1 &&
		    ctl sync > "$W/sync2.out" 2>&1 || bad "revoke + sync: $(cat "$W/rev.out" "$W/sync2.out")"
		c=$(smtp_auth PLAIN alice a_rev)
		check "postfix: a_rev after revoke + sync: 535 (got $c)" test "$c" = 535
		c=$(smtp_auth LOGIN alice a_good)
		check "postfix: a_good still 235 after that sync (got $c)" test "$c" = 235
		grep -q 'service=smtp login=alice realm=- .*decision=accepted' "$W/run/mux.log" &&
		    ok "the responder saw service smtp, realm empty, from Postfix" ||
		    bad "no smtp decision in the responder's log"
		postfix -c "$PF" stop > /dev/null 2>&1; PF_UP=false
	fi
else
	skip "postfix: postfix or swaks missing"
fi

# ---------------------------------------------------------------- slapd
if command -v slapd >/dev/null && command -v ldapwhoami >/dev/null && command -v slapadd >/dev/null; then
	if [ -e "$SLAPD_CONF" ]; then
		skip "slapd: $SLAPD_CONF exists already; not touching it"
	else
		mkdir -p /etc/ldap/sasl2
		MADE_SLAPD_CONF=true
		printf 'pwcheck_method: saslauthd\nsaslauthd_path: %s\n' "$MUX" > "$SLAPD_CONF"
		LP=$(free_port); L="$W/ldap"; mkdir -p "$L/db"
		mods=/usr/lib/ldap
		cat > "$L/slapd.conf" <<EOC
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $L/slapd.pid
modulepath $mods
moduleload back_mdb
database mdb
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
directory $L/db
EOC
		cat > "$L/init.ldif" <<EOC
dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
o: example
dc: example

dn: uid=alice,dc=example,dc=com
objectClass: inetOrgPerson
uid: alice
cn: alice
sn: alice
userPassword: {SASL}alice

dn: uid=mail,dc=example,dc=com
objectClass: inetOrgPerson
uid: mail
cn: mail
sn: mail
userPassword: {SASL}alice@example.com
EOC
		if slapadd -f "$L/slapd.conf" -l "$L/init.ldif" > "$W/slapadd.out" 2>&1; then
			slapd -f "$L/slapd.conf" -h "ldap://127.0.0.1:$LP/" -d 0 > "$W/slapd.log" 2>&1 &
			SL_PID=$!; PIDS+=("$SL_PID")
			if wait_tcp "$LP"; then
				ok "slapd started on 127.0.0.1:$LP"
				bind() {   # DN TOKENNAME -> ldapwhoami's exit code
					ldapwhoami -x -H "ldap://127.0.0.1:$LP/" -D "$1" -y "$S/$2" \
					    > "$W/whoami-$2.out" 2>&1
					echo $?
				}
				rc=$(bind uid=alice,dc=example,dc=com a_good)
				check "slapd {SASL} simple bind with a 372-character token: success (rc $rc: $(head -1 "$W/whoami-a_good.out"))" test "$rc" = 0
				rc=$(bind uid=alice,dc=example,dc=com a_wrong)
				check "slapd {SASL} bind with a wrong secret: 49 invalid credentials (rc $rc)" test "$rc" = 49
				rc=$(bind uid=alice,dc=example,dc=com b_good)
				check "slapd {SASL} bind with bob's token: 49 (rc $rc)" test "$rc" = 49
				rc=$(bind uid=mail,dc=example,dc=com a_good)
				check "slapd {SASL}alice@example.com under the default realm=rejoin: 49 (rc $rc)" test "$rc" = 49
				grep -q 'service=ldap login=alice realm=example.com ' "$W/run/mux.log" &&
				    ok "the responder saw service ldap and realm example.com from slapd" ||
				    bad "no ldap decision with realm example.com in the log"
			else
				bad "slapd did not start: $(tail -5 "$W/slapd.log")"
			fi
			stop_pid "$SL_PID"
		else
			bad "slapadd: $(cat "$W/slapadd.out")"
		fi
		rm -f "$SLAPD_CONF"; MADE_SLAPD_CONF=false
		check "$SLAPD_CONF removed again" test ! -e "$SLAPD_CONF"
	fi
else
	skip "slapd: slapd, slapadd or ldapwhoami missing"
fi

stop_sasld
leak_check
finish
