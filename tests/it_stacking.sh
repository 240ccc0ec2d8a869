#!/bin/bash
# it_stacking.sh - the README's sshd lines, run through real Linux-PAM
# (pamtester under pam_wrapper): a token is decided by pam_aiven and that
# decision is final; a password that is not token-shaped falls through to
# the next module (here pam_permit / pam_deny standing in for
# common-auth); the account line ignores logins pam_aiven did not make.
source "$(dirname "$0")/lib.sh"
SEC=/usr/lib/x86_64-linux-gnu/security
if ! command -v pamtester >/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/libpam_wrapper.so ]; then
	skip "stacking: pamtester or pam_wrapper missing"; finish; exit
fi
start_sim || { bad "simulator"; finish; exit 1; }
ctl sync >/dev/null && ctl user create stacker >/dev/null || bad "setup"
uid=$(ctl --json user list | python3 -c 'import json,sys; print([u["user_id"] for u in json.load(sys.stdin) if u["name"]=="stacker"][0])')
( umask 077; ctl token create "$uid" > "$W/tok" 2>/dev/null ) || bad "token create"
ctl sync >/dev/null || bad "sync"
python3 -c 'import sys; t=open(sys.argv[1]).read().strip(); print(t[:200] + ("A" if t[200] != "A" else "B") + t[201:])' "$W/tok" > "$W/wrong"

A="$AB/pam_aiven.so config=$W/aivenauth.conf"
mkdir -p "$W/pam.d"
for next in permit deny; do
	cat > "$W/pam.d/sshd-$next" <<EOT
auth     [success=done ignore=ignore authinfo_unavail=ignore default=die] $A non_token=ignore
auth     required  $SEC/pam_$next.so
account  [success=ok ignore=ignore default=bad] $A
account  required  $SEC/pam_permit.so
EOT
done
printf 'auth required %s/pam_deny.so\naccount required %s/pam_deny.so\n' $SEC $SEC > "$W/pam.d/other"
pt() {  # pt SERVICE INPUT-FILE -> pamtester output
	PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$W/pam.d" LD_PRELOAD=libpam_wrapper.so \
	    pamtester "$1" stacker authenticate acct_mgmt < "$2" 2>&1
}
echo 'an-ordinary-password' > "$W/pw"
r=$(pt sshd-deny "$W/tok"); [[ $r == *"account management done"* ]] &&
    ok "token accepted by pam_aiven, done (next module pam_deny never reached)" || bad "good token: $r"
r=$(pt sshd-permit "$W/wrong"); [[ $r == *"Authentication failure"* ]] &&
    ok "wrong token: pam_aiven's refusal is final (pam_permit after it not reached)" || bad "wrong token: $r"
r=$(pt sshd-permit "$W/pw"); [[ $r == *"account management done"* ]] &&
    ok "not token-shaped: falls through to the next auth module (pam_permit accepts)" || bad "password/permit: $r"
r=$(pt sshd-deny "$W/pw"); [[ $r == *"Authentication failure"* ]] &&
    ok "not token-shaped: the next module decides (pam_deny refuses)" || bad "password/deny: $r"
ctl token revoke "$uid" "$(head -c 12 "$W/tok")" >/dev/null 2>&1
r=$(pt sshd-permit "$W/tok"); [[ $r == *"Authentication failure"* ]] &&
    ok "revoked token refused, not passed on to the next module" || bad "revoked: $r"
finish
