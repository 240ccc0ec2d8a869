# tests/lib_etcd.sh - a real etcd for the fleet integration scripts, and
# raw access to it.  Source after tests/lib.sh (uses $W, PIDS, stop_pid).
#
#   etcd_start [ARGS...]   start etcd on 127.0.0.1 (ports picked on the first
#                          call and kept, data in $W/etcd: a restart is the
#                          same node); sets ETCD_PID, EURL; waits until it
#                          answers (up to 10 s); 1 if it did not
#   etcd_stop              stop it (TERM, by pid)
#   etcd_free_port         a free TCP port on 127.0.0.1
#   ekv SUBCOMMAND ARGS... the JSON gateway from python3 ($W/etcdkv.py):
#       get KEY [REV]         the value on stdout; exit 1 if absent
#       keys PREFIX [REV]     the keys under PREFIX, one a line
#       count PREFIX          how many keys under PREFIX
#       put KEY VALUE         a plain put
#       lease KEY             the lease ID KEY is bound to (exit 1: none)
#       revoke LEASE          revoke a lease
#       rev                   the store's current revision
#       compact REV           compact (physical) up to REV
#       history PREFIX        a watch from revision 1 (or the last
#                             compaction, then a line "REV COMPACTED") over
#                             PREFIX: one line per event, "REV PUT|DELETE KEY
#                             [publisher_id]" (a heartbeat's id decoded)
#       hbpub PREFIX          the current heartbeat's publisher id and
#                             generation ("ID GEN")
#     with ETCD_AUTH_USER and ETCD_AUTH_PWFILE set, it authenticates first;
#     ETCD_URL overrides $EURL.
#   fwd_start NAME UPSTREAM_PORT [--hold PATH [--hold-after PATH]
#             [--hold-nth N] [--armed 1]]
#                          a TCP forwarder on 127.0.0.1 in front of etcd
#                          ($W/fwd.NAME/: port, log; FWD_PORT, FWD_PID).  It
#                          reads each HTTP request's head (logged as "req
#                          PATH"), so that it can hold the first (or Nth)
#                          request for --hold once armed (from the start
#                          with --armed 1, by a request for --hold-after, or
#                          by the file $W/fwd.NAME/arm): it writes $W/fwd.NAME/held,
#                          waits for $W/fwd.NAME/release, then passes the
#                          request on and logs "answered after release" when
#                          etcd has answered (its client may be dead by
#                          then).  While $W/fwd.NAME/drop exists it relays
#                          nothing (a partition: the connections stay open,
#                          nothing gets through).
#   wait_for SECONDS CMD...   poll CMD every 0.1 s until it succeeds
ETCD_PID=; EURL=; ETCD_CP=; ETCD_PP=

etcd_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

etcd_start() {
	local i
	[ -n "$ETCD_CP" ] || { ETCD_CP=$(etcd_free_port); ETCD_PP=$(etcd_free_port); }
	EURL=http://127.0.0.1:$ETCD_CP
	etcd --name t --data-dir "$W/etcd" --listen-client-urls "$EURL" --advertise-client-urls "$EURL" \
	    --listen-peer-urls "http://127.0.0.1:$ETCD_PP" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PP" \
	    --initial-cluster "t=http://127.0.0.1:$ETCD_PP" "$@" >>"$W/etcd.log" 2>&1 &
	ETCD_PID=$!; PIDS+=("$ETCD_PID")
	for i in $(seq 100); do
		curl -s -m 1 "$EURL/health" 2>/dev/null | grep -q '"health":"true"' && return 0
		kill -0 "$ETCD_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

etcd_stop() { stop_pid "$ETCD_PID"; ETCD_PID=; }

cat > "$W/etcdkv.py" <<'EOP'
import base64, json, os, struct, sys, urllib.request, urllib.error
url = os.environ.get("ETCD_URL") or os.environ["EURL"]
hdr = {"Content-Type": "application/json"}
def b64(b): return base64.b64encode(b).decode()
def ub(s): return base64.b64decode(s) if s else b""
def call(path, body, stream=False):
    req = urllib.request.Request(url + path, json.dumps(body).encode(), hdr)
    try:
        r = urllib.request.urlopen(req, timeout=10)
    except urllib.error.HTTPError as e:
        r = e
    if stream:
        return r
    d = json.loads(r.read() or b"{}")
    if "error" in d:
        sys.stderr.write("etcd %s: %s\n" % (path, d.get("error")))
        sys.exit(2)
    return d
if os.environ.get("ETCD_AUTH_USER"):
    pw = open(os.environ["ETCD_AUTH_PWFILE"]).read().strip()
    hdr["Authorization"] = call("/v3/auth/authenticate", {"name": os.environ["ETCD_AUTH_USER"], "password": pw})["token"]
def pend(p):
    return p[:-1] + bytes([p[-1] + 1])
def hb_pub(v):
    # "AVF1" u8 version u8 type u16 0 u64 gen u16 org_len org u32 body_len
    # body (i64 last_sync i64 published, u32 len + publisher id) sig[64]
    gen = struct.unpack_from("<Q", v, 8)[0]
    ol = struct.unpack_from("<H", v, 16)[0]
    o = 18 + ol + 4 + 16
    n = struct.unpack_from("<I", v, o)[0]
    return v[o + 4:o + 4 + n].decode(), gen
cmd, a = sys.argv[1], sys.argv[2:]
if cmd == "get":
    body = {"key": b64(a[0].encode())}
    if len(a) > 1: body["revision"] = a[1]
    kvs = call("/v3/kv/range", body).get("kvs", [])
    if not kvs: sys.exit(1)
    sys.stdout.buffer.write(ub(kvs[0].get("value")))
elif cmd in ("keys", "count"):
    p = a[0].encode()
    body = {"key": b64(p), "range_end": b64(pend(p)), "keys_only": True}
    if len(a) > 1: body["revision"] = a[1]
    if cmd == "count":
        body["count_only"] = True
        print(call("/v3/kv/range", body).get("count", "0"))
    else:
        for kv in call("/v3/kv/range", body).get("kvs", []):
            print(ub(kv["key"]).decode())
elif cmd == "put":
    call("/v3/kv/put", {"key": b64(a[0].encode()), "value": b64(a[1].encode())})
elif cmd == "lease":
    kvs = call("/v3/kv/range", {"key": b64(a[0].encode())}).get("kvs", [])
    if not kvs or not kvs[0].get("lease"): sys.exit(1)
    print(kvs[0]["lease"])
elif cmd == "revoke":
    call("/v3/lease/revoke", {"ID": a[0]})
elif cmd == "rev":
    print(call("/v3/kv/range", {"key": b64(b"\0")})["header"]["revision"])
elif cmd == "compact":
    call("/v3/kv/compaction", {"revision": a[0], "physical": True})
elif cmd == "hbpub":
    kvs = call("/v3/kv/range", {"key": b64((a[0] + "heartbeat").encode())}).get("kvs", [])
    if not kvs: sys.exit(1)
    print("%s %d" % hb_pub(ub(kvs[0]["value"])))
elif cmd == "history":
    p = a[0].encode()
    top = int(call("/v3/kv/range", {"key": b64(b"\0")})["header"]["revision"])
    start, last = 1, 0
    r = call("/v3/watch", {"create_request": {"key": b64(p), "range_end": b64(pend(p)), "start_revision": start}}, stream=True)
    while last < top:
        line = r.readline()
        if not line: break
        res = json.loads(line).get("result", {})
        if res.get("canceled") and int(res.get("compact_revision", 0)) > start:
            # history before a compaction is gone: from there on
            r.close(); start = int(res["compact_revision"])
            print("%d COMPACTED" % start)
            r = call("/v3/watch", {"create_request": {"key": b64(p), "range_end": b64(pend(p)), "start_revision": start}}, stream=True)
            continue
        if res.get("canceled"):
            sys.stderr.write("watch canceled: %s\n" % res); sys.exit(2)
        for ev in res.get("events", []):
            kv = ev["kv"]; k = ub(kv["key"]).decode(); rev = int(kv["mod_revision"])
            t = ev.get("type", "PUT")
            extra = ""
            if t == "PUT" and k.endswith("/heartbeat"):
                extra = " %s" % hb_pub(ub(kv.get("value")))[0]
            print("%d %s %s%s" % (rev, t, k, extra))
            last = max(last, rev)
    r.close()
else:
    sys.exit("ekv: unknown command " + cmd)
EOP
ekv() { EURL=$EURL python3 "$W/etcdkv.py" "$@"; }

cat > "$W/fwd.py" <<'EOP'
import os, socket, sys, threading, time
lport, upstream, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
opts = dict(zip(sys.argv[4::2], sys.argv[5::2]))
hold_after, hold = opts.get("--hold-after"), opts.get("--hold")
nth = int(opts.get("--hold-nth", "1"))
state = {"armed": opts.get("--armed") == "1", "done": False, "seen": 0}
lock = threading.Lock()
def dropped():
    return os.path.exists(os.path.join(d, "drop"))
def log(m):
    with open(os.path.join(d, "log"), "a") as f: f.write(m + "\n")
def wait_up():
    while dropped(): time.sleep(0.05)
def pump(src, dst, conn):   # upstream -> client, bytes as they come
    try:
        while True:
            b = src.recv(65536)
            if not b: break
            if conn.get("released") and not conn.get("answered"):
                conn["answered"] = True; log("answered after release")
            wait_up()
            dst.sendall(b)
    except OSError:
        pass
    for s in (src, dst):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
def client(c):
    try:
        u = socket.create_connection(("127.0.0.1", upstream))
    except OSError:
        c.close(); return
    conn = {}
    threading.Thread(target=pump, args=(u, c, conn), daemon=True).start()
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                b = c.recv(65536)
                if not b: raise EOFError
                buf += b
            head, buf = buf.split(b"\r\n\r\n", 1)
            lines = head.split(b"\r\n")
            path = lines[0].split(b" ")[1].decode()
            n = 0
            for l in lines[1:]:
                k, _, v = l.partition(b":")
                if k.strip().lower() == b"content-length": n = int(v.strip())
            with lock:
                log("req " + path)
                held = False
                if hold and not state["done"]:
                    if path == hold_after or os.path.exists(os.path.join(d, "arm")):
                        state["armed"] = True
                    if path == hold and state["armed"] and path != hold_after:
                        state["seen"] += 1
                        if state["seen"] == nth:
                            state["done"] = True; held = True
            if held:
                log("holding " + path)
                open(os.path.join(d, "held"), "w").close()
                while not os.path.exists(os.path.join(d, "release")): time.sleep(0.05)
                log("released " + path)
                conn["released"] = True
            wait_up()
            u.sendall(head + b"\r\n\r\n")
            while n > 0:
                if not buf:
                    buf = c.recv(65536)
                    if not buf: raise EOFError
                part, buf = buf[:n], buf[n:]
                wait_up()
                u.sendall(part); n -= len(part)
            # a released request is answered even if its client is gone
            for _ in range(200):
                if not held or conn.get("answered"): break
                time.sleep(0.05)
    except (EOFError, OSError, IndexError, ValueError):
        pass
    for s in (c, u):
        try: s.shutdown(socket.SHUT_RDWR)
        except OSError: pass
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", lport)); l.listen(64)
tmp = os.path.join(d, "port.tmp")
open(tmp, "w").write("%d\n" % l.getsockname()[1]); os.rename(tmp, os.path.join(d, "port"))
while True:
    c, _ = l.accept()
    threading.Thread(target=client, args=(c,), daemon=True).start()
EOP

fwd_start() {  # fwd_start NAME UPSTREAM_PORT [--hold PATH [--hold-after PATH] [--hold-nth N]]
	local n=$1 up=$2 i; shift 2
	mkdir -p "$W/fwd.$n"; rm -f "$W/fwd.$n/port" "$W/fwd.$n/held" "$W/fwd.$n/release"
	python3 "$W/fwd.py" "${FWD_LPORT:-0}" "$up" "$W/fwd.$n" "$@" 2>>"$W/fwd.$n/log" &
	FWD_PID=$!; PIDS+=("$FWD_PID")
	for i in $(seq 100); do [ -s "$W/fwd.$n/port" ] && break; sleep 0.05; done
	FWD_PORT=$(cat "$W/fwd.$n/port" 2>/dev/null)
	[ -n "$FWD_PORT" ]
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds (0) or
# the time is up (1).  A bound, not an assertion on timing.
wait_for() {
	local n=$(($1 * 10)) i; shift
	for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.1; done
	"$@"
}
