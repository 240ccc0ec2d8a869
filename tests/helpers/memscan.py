#!/usr/bin/env python3
"""memscan.py PID PREFIXFILE TOKENFILE... - look for pieces of tokens in a
running process's memory (/proc/PID/mem; needs CAP_SYS_PTRACE for a
process that is not dumpable).  Every window of WINDOW bytes of a token
past its public prefix (the prefix is logged and stored by design) is a
"piece".  Prints one line per hit (token, offset in the token, mapping)
and "hits N"; exit 0 with no hit, 1 with hits, 2 if memory could not be
read at all.  Tokens come from files, never argv."""
import os
import sys

WINDOW = int(os.environ.get("MEMSCAN_WINDOW", "16"))


def main():
    pid = int(sys.argv[1])
    toks = []
    for path in sys.argv[2:]:
        t = open(path, "rb").read().strip()
        pre = open(path + ".prefix").read().strip().encode() \
            if os.path.exists(path + ".prefix") else b""
        start = len(pre) if t.startswith(pre) else 0
        toks.append((os.path.basename(path), t, start))
    pieces = {}
    for name, t, start in toks:
        for i in range(start, len(t) - WINDOW + 1, WINDOW // 2):
            pieces.setdefault(t[i:i + WINDOW], (name, i))
    hits, read_any = 0, False
    seen = set()
    with open("/proc/%d/maps" % pid) as maps, \
            open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            what = f[5] if len(f) > 5 else "[anon]"
            if f[1][0] != "r" or what in ("[vvar]", "[vsyscall]", "[vvar_vclock]"):
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except OSError:
                continue
            read_any = True
            for p, (name, off) in pieces.items():
                at = data.find(p)
                while at >= 0:
                    key = (name, lo + at - off)
                    if key not in seen:
                        seen.add(key)
                        hits += 1
                        print("hit: %s from offset %d at %#x in %s" %
                              (name, off, lo + at, what))
                    at = data.find(p, at + 1)
    print("hits %d" % hits)
    sys.exit(2 if not read_any else (1 if hits else 0))


if __name__ == "__main__":
    main()
