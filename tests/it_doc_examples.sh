#!/bin/bash
# it_doc_examples.sh - the examples in the documentation work as pasted:
#
#   * every configuration example (```ini blocks in README.md and docs/*.md,
#     the EXAMPLE section of aivenauth.conf(5), debian/examples/*) is loaded
#     by aivenctl's own config parser (`aivenctl -c FILE status`), so an
#     inline comment or a misspelt key in a doc fails here, not on a host;
#   * a Markdown block that looks like a config but is not marked ```ini
#     fails too (it would escape the check above);
#   * every PAM line of the README (auth/account lines naming pam_aiven.so)
#     is also in pam_aiven(8), so the two give the same advice.
source "$(dirname "$0")/lib.sh"
cd "$TOP" || exit 1

# Writes $W/ex/NNN.conf (one per example) and $W/ex/NNN.src (where it
# comes from); prints "FILE:LINE" for each config-like Markdown block that
# is not marked ini.
mkdir -p "$W/ex"
cat > "$W/extract.py" <<'PY'
import os, re, sys
out, files = sys.argv[1], sys.argv[2:]
KEYLINE = re.compile(r'^\s*(api_url|organization_id|api_token_file|cache_dir|'
                     r'max_stale|fleet|etcd_endpoints)\s*=')
n = 0

def emit(src, text):
    global n
    n += 1
    with open(os.path.join(out, '%03d.conf' % n), 'w') as f:
        f.write(text)
    with open(os.path.join(out, '%03d.src' % n), 'w') as f:
        f.write(src)

def roff(line):
    line = re.sub(r'\\f[BIRP]', '', line)
    return line.replace('\\-', '-').replace('\\(aq', "'").replace('\\e', '\\')

for path in files:
    lines = open(path).read().split('\n')
    if path.endswith('.md'):
        i = 0
        while i < len(lines):
            m = re.match(r'^```(\S*)', lines[i])
            if not m:
                i += 1
                continue
            j = i + 1
            while j < len(lines) and not lines[j].startswith('```'):
                j += 1
            body = lines[i + 1:j]
            if m.group(1) == 'ini':
                emit('%s:%d' % (path, i + 2), '\n'.join(body) + '\n')
            elif sum(1 for l in body if KEYLINE.match(l)) >= 2:
                print('%s:%d' % (path, i + 2))
            i = j + 1
    elif path.endswith('.5'):
        i = 0
        while i < len(lines) and not lines[i].startswith('.SH EXAMPLE'):
            i += 1
        while i < len(lines) and lines[i] != '.EX':
            i += 1
        j = i + 1
        while j < len(lines) and lines[j] != '.EE':
            j += 1
        if i < len(lines):
            emit('%s:%d' % (path, i + 2),
                 '\n'.join(roff(l) for l in lines[i + 1:j]) + '\n')
    else:
        emit(path, '\n'.join(lines))
PY
unmarked=$(python3 "$W/extract.py" "$W/ex" README.md docs/*.md docs/aivenauth.conf.5 \
    debian/examples/*) || bad "extracting the examples"
[ -z "$unmarked" ] && ok "every config-like Markdown block is marked as ini" ||
	bad "config examples not marked as ini (so not checked): $unmarked"
for want in README.md docs/FLEET.md docs/aivenauth.conf.5 debian/examples/aivenauth.conf; do
	grep -qh "^$want" "$W"/ex/*.src 2>/dev/null && ok "config example found in $want" ||
		bad "no config example found in $want (extraction broken?)"
done
n=0
for conf in "$W"/ex/*.conf; do
	[ -f "$conf" ] || continue
	n=$((n + 1))
	src=$(cat "${conf%.conf}.src")
	chmod 0644 "$conf"
	out=$("$AB/aivenctl" -c "$conf" status 2>&1); rc=$?
	if [ $rc = 78 ] || [[ $out == *"cannot load the configuration"* ]]; then
		bad "config example $src does not load: $(printf '%s' "$out" | head -3)"
	elif [[ $out == *"cache"* ]]; then
		ok "config example $src loads (aivenctl went on to the cache; rc $rc)"
	else
		bad "config example $src: rc $rc: $(printf '%s' "$out" | head -3)"
	fi
done
[ "$n" -ge 5 ] && ok "$n config examples loaded" || bad "only $n config examples found"

# The check catches what it is for: the README's old example.
printf 'cache_dir = /nonexistent\nmax_stale = 1h          # refuse cached decisions\n' > "$W/inline.conf"
chmod 0644 "$W/inline.conf"
out=$("$AB/aivenctl" -c "$W/inline.conf" status 2>&1); rc=$?
[ $rc = 78 ] && [[ $out == *'bad value for max_stale "1h          # refuse'* ]] &&
	ok "an inline comment is refused (rc 78): the check can fail" || bad "inline comment: rc $rc: $out"

# README's PAM lines, blanks squeezed, each in pam_aiven(8)'s examples.
pamlines() {  # FILE -> auth/account lines naming pam_aiven.so
	grep -E '^(auth|account)[[:space:]].*pam_aiven\.so' "$1" | tr -s ' \t' ' ' | sed 's/ *$//' | sort -u
}
pamlines README.md > "$W/readme.pam"
pamlines docs/pam_aiven.8 > "$W/man.pam"
[ -s "$W/readme.pam" ] && ok "$(wc -l < "$W/readme.pam") distinct PAM lines in README.md" ||
	bad "no PAM lines found in README.md"
missing=$(comm -23 "$W/readme.pam" "$W/man.pam")
[ -z "$missing" ] && ok "every README PAM line is in pam_aiven(8)" || bad "README PAM lines not in pam_aiven(8): $missing"
finish
