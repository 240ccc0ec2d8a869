#!/usr/bin/env python3
"""saslproto.py - a client of the saslauthd socket protocol for
tests/it_saslauthd.sh: requests as libsasl2 sends them, and the hostile
ones libsasl2 never sends.  Prints PASS:/FAIL: lines; the script counts them.

Secrets come from files (never argv): a password argument "@FILE" is read
from FILE.  Every socket wait has a bound (BOUND seconds) so that a hang
is a failure, not a stuck test; no assertion depends on how fast anything
is, only on whether an answer comes at all.

usage: saslproto.py SOCKET CHECK ARGS...
"""
import os
import random
import socket
import struct
import sys
import threading

BOUND = float(os.environ.get("SASLPROTO_BOUND", "120"))   # a hang bound, not a speed assertion


def secret(arg):
    if arg.startswith("@"):
        with open(arg[1:], "rb") as f:
            return f.read().rstrip(b"\n")
    return arg.encode()


def encode(*fields):
    out = b""
    for f in fields:
        out += struct.pack(">H", len(f)) + f
    return out


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(BOUND)
    s.connect(path)
    return s


def read_answer(s):
    """The counted answer, or None at EOF before one."""
    buf = b""
    while len(buf) < 2:
        try:
            chunk = s.recv(2 - len(buf))
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        buf += chunk
    n = struct.unpack(">H", buf)[0]
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return body.decode("ascii", "replace")


def ask(path, login, password, service=b"smtp", realm=b""):
    s = connect(path)
    try:
        s.sendall(encode(login, password, service, realm))
        return read_answer(s)
    finally:
        s.close()


def closed_after(s):
    """True when the server closes s (EOF) - waited for, bounded."""
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


results = []


def check(cond, msg):
    print(("PASS: " if cond else "FAIL: ") + msg, flush=True)


def main():
    path, what, args = sys.argv[1], sys.argv[2], sys.argv[3:]

    if what == "ask":                 # LOGIN @TOKENFILE SERVICE REALM EXPECT
        login, pw, service, realm, expect = args
        a = ask(path, login.encode(), secret(pw), service.encode(),
                realm.encode())
        print(a if a is not None else "(closed)")
        sys.exit(0 if a is not None and a.startswith(expect) else 1)

    if what == "hostile":             # LOGIN @GOODTOKEN
        login, good = args[0].encode(), secret(args[1])
        # A field over its cap, answered from the length word alone.
        s = connect(path)
        s.sendall(struct.pack(">H", 5) + login[:5].ljust(5, b"x") +
                  struct.pack(">H", 60000))
        a = read_answer(s)
        check(a is not None and a.startswith("NO"),
              "oversized password field (60000): answered %r without "
              "its bytes" % a)
        s.close()
        s = connect(path)
        s.sendall(struct.pack(">H", 0xffff))
        a = read_answer(s)
        check(a is not None and a.startswith("NO"),
              "oversized login field (65535): answered %r" % a)
        s.close()
        # Truncated: half a request, then the client goes away.
        for cut in (1, 3, 9, 50):
            s = connect(path)
            s.sendall(encode(login, good, b"smtp", b"")[:cut])
            s.close()
        check(ask(path, login, good) == "OK Success.",
              "truncated requests (client gone) leave it serving")
        # Bytes after the request: not libsasl2.
        s = connect(path)
        s.sendall(encode(login, good, b"smtp", b"") + b"\0\0")
        a = read_answer(s)
        check(a is not None and a.startswith("NO"),
              "a good token followed by extra bytes: %r" % a)
        s.close()
        # NUL inside the login: "alice\0x" must not be alice.
        a = ask(path, login + b"\0x", good)
        check(a is not None and a.startswith("NO"),
              "NUL inside the login: %r" % a)
        # Random bytes, many connections.
        rnd = random.Random(1234)
        for i in range(300):
            s = connect(path)
            data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 600)))
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                while s.recv(4096):
                    pass
            except OSError:
                pass
            s.close()
        check(ask(path, login, good) == "OK Success.",
              "300 connections of random bytes: still serving, still right")
        return

    if what == "idle":                # N @GOODTOKEN LOGIN BADLOGIN
        n, good, login, other = int(args[0]), secret(args[1]), \
            args[2].encode(), args[3].encode()
        idle = [connect(path) for _ in range(n)]
        # A slow-loris: a request one byte at a time, never finished.
        loris = connect(path)
        req = encode(login, good, b"smtp", b"")
        loris.sendall(req[:len(req) // 2])
        half = [connect(path) for _ in range(10)]
        for h in half:
            h.sendall(req[:7])
        good_answers = sum(ask(path, login, good) == "OK Success."
                           for _ in range(50))
        bad_answers = sum((ask(path, other, good) or "").startswith("NO")
                          for _ in range(50))
        check(good_answers == 50 and bad_answers == 50,
              "with %d idle connections, a slow-loris and 10 half requests "
              "open: 50/50 good tokens accepted (%d), 50/50 wrong users "
              "refused (%d)" % (n, good_answers, bad_answers))
        for s in idle + half + [loris]:
            s.close()
        return

    if what == "concurrent":          # THREADS PER @GOOD LOGIN @OTHERTOKEN
        threads, per, good, login, other = int(args[0]), int(args[1]), \
            secret(args[2]), args[3].encode(), secret(args[4])
        wrong = []
        lock = threading.Lock()

        def worker(k):
            for i in range(per):
                tok, expect = (good, "OK") if (i + k) % 2 == 0 else \
                    (other, "NO")
                a = ask(path, login, tok)
                if a is None or not a.startswith(expect):
                    with lock:
                        wrong.append((k, i, a))
        ts = [threading.Thread(target=worker, args=(k,))
              for k in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check(not wrong, "%d concurrent clients x %d requests, good and "
              "another user's token interleaved: every answer right "
              "(wrong: %s)" % (threads, per, wrong[:3]))
        return

    if what == "evict":               # CAP @GOOD LOGIN
        cap, good, login = int(args[0]), secret(args[1]), args[2].encode()
        idle = [connect(path) for _ in range(cap)]
        a = ask(path, login, good)
        check(a == "OK Success.", "with all %d connection slots held by "
              "idle clients a new client is answered: %r" % (cap, a))
        check(closed_after(idle[0]), "... and the oldest idle client was "
              "dropped to make room")
        for s in idle:
            s.close()
        return

    if what == "flood":               # N: N malformed requests, each answered
        n, answered = int(args[0]), 0
        for i in range(n):
            s = connect(path)
            # Alternately a field over its cap and bytes after a request.
            s.sendall(struct.pack(">H", 0xffff) if i % 2 else
                      encode(b"a", b"b", b"smtp", b"") + b"\0")
            a = read_answer(s)
            answered += a is not None and a.startswith("NO")
            s.close()
        check(answered == n, "%d malformed requests: %d answered NO" %
              (n, answered))
        return

    if what == "emfile":              # PID IDLE ATTEMPTS @GOOD LOGIN [EXPECT [LIMIT]]
        # The responder runs out of descriptors: IDLE connections held,
        # then (LIMIT) its RLIMIT_NOFILE lowered under it -- to N, or to
        # "lowest", its lowest free descriptor number (every number below
        # is taken) -- so accept() fails with EMFILE.  Each of ATTEMPTS
        # new clients must still get an answer: EXPECT "NO" (nothing to
        # evict: NO or closed, never OK) or "OK" (an idle connection is
        # evicted for it: a good client is served).  A client left in the
        # backlog would wait for ever, as libsasl2 does.  The loop must
        # not spin on the readable listener: its CPU time over the
        # attempts is bounded (a count, not a speed: a spinning loop
        # burns CPU for every second it waits).  The limit is put back at
        # the end.
        pid, n_idle, attempts = int(args[0]), int(args[1]), int(args[2])
        good, login = secret(args[3]), args[4].encode()
        expect = args[5] if len(args) > 5 else "NO"
        limit = args[6] if len(args) > 6 else "-"
        req = encode(login, good, b"smtp", b"")

        def cpu_ticks():
            with open("/proc/%d/stat" % pid) as f:
                st = f.read().rsplit(")", 1)[1].split()
            return int(st[11]) + int(st[12])   # utime + stime

        def open_fds():
            return sorted(int(n) for n in os.listdir("/proc/%d/fd" % pid))
        base = len(open_fds())
        idle = [connect(path) for _ in range(n_idle)]
        # Every idle client accepted before the limit moves (bounded).
        for i in range(1200):
            if len(open_fds()) >= base + n_idle:
                break
            threading.Event().wait(0.05)
        check(len(open_fds()) >= base + n_idle, "control: the responder "
              "holds the %d idle connections (%d descriptors open)" %
              (n_idle, len(open_fds())))
        old = None
        if limit != "-":
            import resource
            if limit == "lowest":
                fds, n = set(open_fds()), 0
                while n in fds:
                    n += 1
            else:
                n = int(limit)
            old = resource.prlimit(pid, resource.RLIMIT_NOFILE)
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (n, old[1]))
            fds = set(open_fds())
            check(all(k in fds for k in range(n)), "control: RLIMIT_NOFILE "
                  "lowered to %d under the running responder, every "
                  "descriptor number below it in use (%d open)" %
                  (n, len(fds)))
        before = cpu_ticks()
        answered, waited = 0, None
        for i in range(attempts):
            s = connect(path)
            s.settimeout(10)
            try:
                s.sendall(req)
                a = read_answer(s)
                ok_ = a is not None and a.startswith("OK")
                if expect == "NO" and ok_:
                    waited = "attempt %d answered OK with every " \
                        "descriptor in use?" % i
                    break
                if expect == "OK" and not ok_:
                    waited = "attempt %d of a good client answered %r " \
                        "while idle connections could be evicted" % (i, a)
                    break
                answered += 1
            except OSError as e:   # a reset is an answer; a timeout is not
                if isinstance(e, socket.timeout):
                    waited = "attempt %d: no answer in 10 s (left in " \
                        "the backlog)" % i
                    s.close()
                    break
                if expect == "OK":
                    waited = "attempt %d of a good client: %s" % (i, e)
                    s.close()
                    break
                answered += 1
            s.close()
        spent = cpu_ticks() - before
        hz = os.sysconf("SC_CLK_TCK")
        check(waited is None and answered == attempts,
              "out of descriptors (%d idle connections): %d/%d new clients "
              "answered at once (%s), none left waiting%s" %
              (n_idle, answered, attempts, "OK: an idle one evicted" if
               expect == "OK" else "NO or closed",
               ": " + waited if waited else ""))
        check(spent <= hz, "... and the loop did not spin: %d ticks of CPU "
              "for %d attempts (bound %d, one second)" % (spent, attempts, hz))
        if old is not None:
            resource.prlimit(pid, resource.RLIMIT_NOFILE, old)
        for s in idle:
            s.close()
        # The idle clients gone (the responder sees each EOF in its own
        # time: asked again until then, bounded), a good request is
        # answered as before.
        a = None
        for i in range(600):
            a = ask(path, login, good)
            if a == "OK Success.":
                break
            threading.Event().wait(0.1)
        check(a == "OK Success.", "the idle connections closed, a good "
              "request is answered: %r" % a)
        return

    if what == "deadline":
        s = connect(path)
        s.sendall(b"\x00\x05al")
        check(closed_after(s), "a client that never finishes its request "
              "is dropped at the deadline")
        s.close()
        return

    print("unknown check " + what, file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:     # a check that cannot finish is a failure
        print("FAIL: %s %s: %s: %s" % (sys.argv[2], " ".join(
            a for a in sys.argv[3:] if not a.startswith("@")),
            type(e).__name__, e), flush=True)
        sys.exit(1)
