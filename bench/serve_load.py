"""A bounded load test of `mednet serve` on loopback (see serve_load.sh). Phases, one server:
  1. faults and memory: C clients, N requests, a share of them damaged or hostile (truncated PNGs, random
     bytes, .npy files with lying headers, bodies over --max-upload, multipart forms missing their end,
     slow senders), the rest real pictures and volumes; every answer's status checked against its kind,
     hung requests (no answer within 30 s) counted, the server's resident memory after its first 100, 1000
     and 10,000 requests;
  2. latency: one client, one real RetinaMNIST test picture at a time, without a map and with Grad-CAM
     (p50 / p99 of the round trip);
  3. throughput: C clients sending valid pictures on kept-alive connections (requests per second).
Prints one line per figure and a JSON summary; exits 1 when a check fails (a crash, a hung request, a bad
request not answered 4xx, a valid one not answered 200)."""
import argparse
import http.client
import json
import os
import random
import socket
import statistics
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "scripts"))
from serve_support import Server, multipart, test_files, train_runs  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("bin")
ap.add_argument("--work", default="/tmp/mednet_serve_load")
ap.add_argument("--run2d", help="a RetinaMNIST run (default: a 1-epoch run of the study's 2D CNN)")
ap.add_argument("--run3d", help="an AdrenalMNIST3D run (default: a 1-epoch run of the study's 3D CNN)")
ap.add_argument("--clients", type=int, default=8)
ap.add_argument("--requests", type=int, default=10000)
ap.add_argument("--throughput-requests", type=int, default=3000)
ap.add_argument("--bad", type=float, default=0.2)
ap.add_argument("--workers", type=int, default=0)
args = ap.parse_args()
root = os.environ.get("MEDMNIST_ROOT") or sys.exit("set MEDMNIST_ROOT")
os.makedirs(args.work, exist_ok=True)
runs = train_runs(args.bin, os.path.join(args.work, "runs"), root, trust=True)
if args.run2d:
    runs["retina"] = args.run2d
if args.run3d:
    runs["adrenal"] = args.run3d
pngs, npys = test_files(root, args.work, count=20)
pictures = [open(p, "rb").read() for p in pngs]
volumes = [open(p, "rb").read() for p in npys]
extra = ["--max-upload", "1"] + (["--workers", str(args.workers)] if args.workers else [])
server = Server(args.bin, runs, *extra)
port = server.port
rss = {"at start": server.rss_kb()}
print("server: " + server.lines[-1].strip())


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))] * 1000 if v else float("nan")


sent = [0]  # requests sent to the server so far, all phases


def count_request():
    sent[0] += 1
    for mark in (100, 1000, 10000):
        if sent[0] == mark:
            rss["after %d" % mark] = server.rss_kb()


def timed_post(conn, path, body, headers=None):
    count_request()
    t0 = time.perf_counter()
    conn.request("POST", path, body=body, headers=headers or {})
    r = conn.getresponse()
    r.read()
    return r.status, time.perf_counter() - t0


# Clients.
def run_clients(total, pick):
    """pick(i) -> (kind, sender); sender(conn) -> status or None (no answer). Returns per-request rows."""
    rows, lock, counter = [], threading.Lock(), iter(range(total))

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            kind, send = pick(i)
            t0 = time.perf_counter()
            try:
                status = send(conn)
            except (socket.timeout, TimeoutError):
                status = "hung"
            except (ConnectionError, http.client.HTTPException, OSError):
                status = "closed"
            if status in ("closed", "hung") or status >= 400:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                rows.append((kind, status, time.perf_counter() - t0))
                count_request()
        conn.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return rows, time.perf_counter() - t0


def post(path, body, headers=None):
    def send(conn):
        conn.request("POST", path, body=body, headers=headers or {})
        r = conn.getresponse()
        r.read()
        return r.status
    return send


# 1. Faults and memory (first, so that the first 100 requests already hold every kind).
def raw(payload_parts, pause=0.0):
    """A request written by hand on its own socket, in parts with pauses; the status of the reply."""
    def send(_conn):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        try:
            for part in payload_parts:
                s.sendall(part)
                if pause:
                    time.sleep(pause)
            reply = b""
            while b"\r\n" not in reply:
                chunk = s.recv(4096)
                if not chunk:
                    return "closed"
                reply += chunk
            return int(reply.split(b" ", 2)[1])
        finally:
            s.close()
    return send


def request_bytes(body, content_type="application/octet-stream", length=None):
    head = ("POST /v1/models/retina/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % (content_type, len(body) if length is None else length))
    return head.encode() + body


rng = random.Random(20261207)
lying_npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + (
    "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 3), }".ljust(117) + "\n").encode() + bytes(64)
form, form_headers = multipart("file", "eye.png", pictures[0])
cut_form = form[: form.rindex(b"--mednetBoundary7d1--")]  # the closing boundary missing
slow_request = request_bytes(pictures[1])
slow_parts = [slow_request[i:i + 256] for i in range(0, len(slow_request), 256)]
bad_kinds = [
    ("truncated png", 400, post("/v1/models/retina/predict", pictures[2][:150])),
    ("random bytes", 400, post("/v1/models/retina/predict", bytes(rng.getrandbits(8) for _ in range(3000)))),
    ("lying npy", 400, post("/v1/models/retina/predict", lying_npy)),
    ("over limit", 413, post("/v1/models/retina/predict", b"\x89PNG\r\n\x1a\n" + bytes(1_200_000))),
    ("cut multipart", 400, raw([request_bytes(cut_form, form_headers["Content-Type"])])),
    ("slow sender", 200, raw(slow_parts, pause=0.05)),
]
expected = {"picture": 200, "volume": 200}
expected.update({k: s for k, s, _ in bad_kinds})


def pick(i):
    r = rng.random()
    if r < args.bad:
        kind, _, send = bad_kinds[i % len(bad_kinds)]
        return kind, send
    if r < args.bad + 0.1:
        return "volume", post("/v1/models/adrenal/predict", volumes[i % len(volumes)])
    return "picture", post("/v1/models/retina/predict", pictures[i % len(pictures)])


fault_rows, fault_seconds = run_clients(args.requests, pick)
rss["after the fault phase"] = server.rss_kb()
# 2. Latency, one client.
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
for _ in range(20):
    timed_post(conn, "/v1/models/retina/predict", pictures[0])  # warm-up
lat = {}
for name, path in (("no map", "/v1/models/retina/predict"), ("gradcam", "/v1/models/retina/predict?map=gradcam")):
    times = []
    for i in range(300):
        status, s = timed_post(conn, path, pictures[i % len(pictures)])
        assert status == 200, status
        times.append(s)
    lat[name] = times
    print("latency %-8s: p50 %.2f ms, p99 %.2f ms (300 requests, one client)" % (name, pct(times, 0.5), pct(times, 0.99)))
conn.close()


# 3. Throughput, C clients of valid pictures.
rows, seconds = run_clients(args.throughput_requests,
                               lambda i: ("picture", post("/v1/models/retina/predict", pictures[i % len(pictures)])))
ok = sum(1 for _, s, _ in rows if s == 200)
print("throughput: %d requests from %d clients in %.2f s = %.1f requests/s (%d answered 200), p50 %.2f ms, p99 %.2f ms"
      % (len(rows), args.clients, seconds, len(rows) / seconds, ok, pct([r[2] for r in rows], 0.5),
         pct([r[2] for r in rows], 0.99)))
throughput = {"requests": len(rows), "seconds": seconds, "per_second": len(rows) / seconds, "ok": ok}


rss["end"] = server.rss_kb()
alive = server.proc.poll() is None
by_kind = {}
for kind, status, _ in fault_rows:
    by_kind.setdefault(kind, {}).setdefault(str(status), 0)
    by_kind[kind][str(status)] += 1
wrong = {k: v for k, v in by_kind.items() if set(v) != {str(expected[k])}}
hung = sum(1 for _, s, _ in fault_rows if s == "hung")
print("faults: %d requests (%d%% damaged or hostile) from %d clients in %.2f s" % (
    len(fault_rows), round(100 * args.bad), args.clients, fault_seconds))
for kind, counts in sorted(by_kind.items()):
    print("  %-14s expected %d, got %s" % (kind, expected[kind], ", ".join("%s x%d" % kv for kv in sorted(counts.items()))))
rss_text = {"at start": "at start", "after the fault phase": "after the fault phase",
            "end": "after all %d requests" % sent[0]}
print("memory: resident " + ", ".join("%d kB %s" % (v, rss_text.get(k, k + " requests")) for k, v in rss.items()))
growth = (rss["after 10000"] - rss["after 100"]) / rss["after 100"] if "after 10000" in rss else float("nan")
print("memory growth from the server's first 100 requests to its first 10,000: %+.1f%%" % (100 * growth))
code = server.stop()
print("server alive through the load: %s; exit code after SIGTERM: %d; hung requests: %d" % (alive, code, hung))
summary = {"latency_ms": {k: {"p50": pct(v, 0.5), "p99": pct(v, 0.99)} for k, v in lat.items()},
           "throughput": throughput, "faults": by_kind, "rss_kb": rss, "requests": sent[0], "exit_code": code,
           "hung": hung}
print(json.dumps(summary))
failed = []
if not alive or code != 0:
    failed.append("the server crashed or did not exit 0")
if hung:
    failed.append("%d hung requests" % hung)
if wrong:
    failed.append("unexpected statuses: %s" % wrong)
if failed:
    print("FAIL: " + "; ".join(failed))
    sys.exit(1)
print("PASS")
