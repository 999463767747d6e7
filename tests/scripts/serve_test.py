"""`mednet serve` on real data, over loopback: the API answers what `mednet predict` prints for the same
file, maps for a picture and a volume, every kind of bad request with its status and a message naming
it, concurrent requests batched into shared forward passes with unchanged answers, the token, the
exposure rule, and SIGTERM answering the request in flight before exit 0 with no upload left on disk.
Usage: serve_test.py MEDNET_BIN WORK_DIR   (needs MEDMNIST_ROOT)"""
import base64
import csv
import glob
import io
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import Server, call, fail, multipart, test_files, train_runs  # noqa: E402

bin_path, work = sys.argv[1], sys.argv[2]
root = os.environ.get("MEDMNIST_ROOT") or fail("set MEDMNIST_ROOT")
os.makedirs(work, exist_ok=True)
runs = train_runs(bin_path, os.path.join(work, "runs"), root)
pngs, npys = test_files(root, work, count=3)
uploads_tmp = os.path.join(work, "tmp")
shutil.rmtree(uploads_tmp, ignore_errors=True)
os.makedirs(uploads_tmp)
env = dict(os.environ, TMPDIR=uploads_tmp)


def expect(status, answer, want, fragment, what):
    if status != want:
        fail("%s: status %d, expected %d (%s)" % (what, status, want, answer))
    if fragment and (not isinstance(answer, dict) or fragment not in answer.get("error", "")):
        fail("%s: the error does not say '%s': %s" % (what, fragment, answer))
    print("ok: %s -> %d %s" % (what, status, answer.get("error", "") if isinstance(answer, dict) else ""))


# The exposure rule: another address than loopback needs a token or --insecure (a usage error, exit 2).
r = subprocess.run([bin_path, "serve", "--run", runs["retina"], "--host", "0.0.0.0", "--port", "0"],
                   capture_output=True, text=True, timeout=60)
if r.returncode != 2 or "--token" not in r.stderr:
    fail("--host 0.0.0.0 without a token: exit %d, %s" % (r.returncode, r.stderr))
r = subprocess.run([bin_path, "serve", "--run", os.path.join(work, "nowhere")], capture_output=True, text=True)
if r.returncode == 0 or "nowhere" not in r.stderr:
    fail("a missing run folder: exit %d, %s" % (r.returncode, r.stderr))

# mednet predict's answers for the same files, the reference for the API's.
csv_path = os.path.join(work, "predict.csv")
r = subprocess.run([bin_path, "predict", "--run", runs["retina"], "--out", csv_path] + pngs, capture_output=True,
                   text=True)
if r.returncode != 0:
    fail("mednet predict: " + r.stdout + r.stderr)
rows = [row for row in csv.reader(l for l in open(csv_path) if not l.startswith("#"))]
header, rows = rows[0], rows[1:]
p_cols = [i for i, h in enumerate(header) if h.startswith("p_")]
set_col = header.index([h for h in header if h.startswith("set_")][0])

# An ensemble of two RetinaMNIST runs and a full-integer int8 RetinaMNIST model, served beside the runs
# (full integer: its answers do not depend on the batch, so its result file is the reference).
extra_runs = os.path.join(work, "runs")
second = os.path.join(extra_runs, "retina_seed2")
for cmd, done in (
        (["train", "--dataset", "retinamnist", "--model", "cnn", "--epochs", "1", "--seed", "2", "--root", root,
          "--out", second, "--threads", "2"], os.path.join(second, "best.pt")),
        (["ensemble", "--runs", runs["retina"], second, "--out", os.path.join(extra_runs, "ens"), "--root", root],
         os.path.join(extra_runs, "ens", "ensemble.json")),
        (["quantize", "--run", runs["retina"], "--mode", "static", "--out", os.path.join(extra_runs, "q8"), "--root",
          root], os.path.join(extra_runs, "q8", "model_int8.safetensors"))):
    if not os.path.exists(done):
        r = subprocess.run([bin_path] + cmd, capture_output=True, text=True)
        if r.returncode != 0:
            fail("mednet %s: %s" % (cmd[0], r.stdout[-500:] + r.stderr[-500:]))
served = dict(runs, ens=os.path.join(extra_runs, "ens"), q8=os.path.join(extra_runs, "q8"))
server = Server(bin_path, served, "--workers", "1", "--max-upload", "1", env=env)
port = server.port
# A port in use is an error naming it, not a second server sharing the port.
r = subprocess.run([bin_path, "serve", "--run", runs["retina"], "--port", str(port)], capture_output=True, text=True,
                   timeout=60)
if r.returncode != 2 or "--port %d" % port not in r.stderr:
    fail("a second server on port %d: exit %d, %s" % (port, r.returncode, r.stderr + r.stdout[-300:]))
status, health, _ = call(port, "GET", "/healthz")
if status != 200 or health.get("status") != "ok" or health.get("models") != 4:
    fail("/healthz: %d %s" % (status, health))
status, listing, _ = call(port, "GET", "/v1/models")
models = {m["name"]: m for m in listing["models"]}
if set(models) != {"retina", "adrenal", "ens", "q8"}:
    fail("/v1/models lists %s" % list(models))
m = models["retina"]
if m["dataset"] != "retinamnist" or m["input_shape"] != [3, 28, 28] or len(m["labels"]) != 5:
    fail("the retina model's description: %s" % m)
if not (m["calibration"] and m["prediction_sets"] and m["ood"]):
    fail("mednet trust's files are not reported for the retina model: %s" % m)
if models["adrenal"]["input_shape"] != [1, 28, 28, 28] or models["adrenal"]["calibration"]:
    fail("the adrenal model's description: %s" % models["adrenal"])
if "gradcam" not in listing["map_methods"] or len(listing["map_methods"]) != 13:
    fail("map methods: %s" % listing["map_methods"])
kinds = {n: (x["kind"], x["maps"]) for n, x in models.items()}
if kinds != {"retina": ("run", True), "adrenal": ("run", True), "ens": ("ensemble", True), "q8": ("int8", False)}:
    fail("kinds: %s" % kinds)

# The ensemble and the int8 model answer a test picture as their own test result file scored it.
for name in ("ens", "q8"):
    result = glob.glob(os.path.join(served[name], "retinamnist_test_*.csv"))[0]
    want = np.loadtxt(result, delimiter=",")[:, 1:]
    for i, p in enumerate(pngs):
        status, a, _ = call(port, "POST", "/v1/models/%s/predict" % name, open(p, "rb").read())
        got = [x["p"] for x in a["probabilities"]] if status == 200 else None
        if got is None or np.abs(np.array(got) - want[i]).max() > 2e-6:
            fail("%s, test picture %d: %s, its result file: %s" % (name, i, got or a, want[i]))
    print("ok: %s answers test pictures 0-%d as %s holds them" % (name, len(pngs) - 1, os.path.basename(result)))
status, a, _ = call(port, "POST", "/v1/models/ens/predict?map=gradcam", open(pngs[0], "rb").read())
if status != 200 or "members" not in a["map"].get("of", ""):
    fail("the ensemble's map: %d %s" % (status, a if status != 200 else a["map"].get("of")))
expect(*call(port, "POST", "/v1/models/q8/predict?map=gradcam", open(pngs[0], "rb").read())[:2], 400,
       "int8 model", "a map of an int8 model")

# The body as it is, and as a multipart form: the same answer as mednet predict, to 6 decimals.
single = {}
for i, p in enumerate(pngs):
    data = open(p, "rb").read()
    status, a, _ = call(port, "POST", "/v1/models/retina/predict?name=" + os.path.basename(p), data)
    body, headers = multipart("file", os.path.basename(p), data)
    status2, b, _ = call(port, "POST", "/v1/models/retina/predict", body, headers)
    if status != 200 or status2 != 200:
        fail("predict %s: %d %s / %d %s" % (p, status, a, status2, b))
    probs = [x["p"] for x in a["probabilities"]]
    want = [float(rows[i][c]) for c in p_cols]
    if max(abs(x - y) for x, y in zip(probs, want)) > 2e-6:
        fail("%s: the API's probabilities %s differ from mednet predict's %s" % (p, probs, want))
    if [x["p"] for x in b["probabilities"]] != probs:
        fail("%s: the multipart answer differs from the raw body's" % p)
    if a["label"] != rows[i][1] or " or ".join(a["set"]) != rows[i][set_col]:
        fail("%s: label %s set %s, mednet predict: %s %s" % (p, a["label"], a["set"], rows[i][1], rows[i][set_col]))
    if a["file"] != os.path.basename(p) or not a["calibrated"] or a["ood"] is None or "unlike" not in a["ood"]:
        fail("%s: the answer lacks the file name, calibration or the OOD flag: %s" % (p, a))
    single[p] = probs
print("ok: %d pictures answered as mednet predict answers them (raw body and multipart form)" % len(pngs))

# Maps: a picture (the overlay PNG) and a volume (three planes through the peak, values at 28^3).
data = open(pngs[0], "rb").read()
status, a, _ = call(port, "POST", "/v1/models/retina/predict?map=gradcam&image=1", data)
if status != 200 or a["map"]["method"] != "gradcam":
    fail("retina map: %d %s" % (status, a))
png = Image.open(io.BytesIO(base64.b64decode(a["map"]["png"])))
if png.size[0] < 256 or a["map"]["shape"] != [28, 28] or a["image"]["shape"] != [3, 28, 28]:
    fail("retina map picture %s, map shape %s, image shape %s" % (png.size, a["map"]["shape"], a["image"]["shape"]))
image = np.frombuffer(base64.b64decode(a["image"]["values"]), np.uint8).reshape(3, 28, 28)
if not np.array_equal(image, np.asarray(Image.open(pngs[0])).transpose(2, 0, 1)):
    fail("the conformed picture in the answer is not the uploaded one")
body, headers = multipart("file", "scan.npy", open(npys[0], "rb").read())
status, v, _ = call(port, "POST", "/v1/models/adrenal/predict?map=gradcam&image=1", body, headers)
if status != 200 or v["map"]["shape"] != [28, 28, 28] or len(v["map"]["peak"]) != 3:
    fail("adrenal map: %d %s" % (status, {k: v[k] for k in v if k not in ("map", "image")}))
values = np.frombuffer(base64.b64decode(v["map"]["values"]), np.uint8).reshape(28, 28, 28)
if not v["map"]["zero"] and values.max() != 255:
    fail("the volume's map values do not reach 255 (max %d)" % values.max())
planes = Image.open(io.BytesIO(base64.b64decode(v["map"]["png"])))
if planes.size[0] < 3 * 256:
    fail("the three planes picture is %s" % (planes.size,))
if v["set"] is not None or v["ood"] is not None or v["calibrated"]:
    fail("the adrenal run has no trust files, yet the answer has a set or a flag: %s" % v)
print("ok: maps for a picture (%s) and a volume (peak %s, planes %s)" % (png.size, v["map"]["peak"], planes.size))

# Bad requests: each answered with its status and a message naming the problem.
truncated = data[:200]
expect(*call(port, "POST", "/v1/models/retina/predict?name=cut.png", truncated)[:2], 400, "cut.png", "a truncated PNG")
expect(*call(port, "POST", "/v1/models/retina/predict", b"hello")[:2], 400, "not a PNG, JPEG", "an unknown format")
expect(*call(port, "POST", "/v1/models/retina/predict", b"")[:2], 400, "empty", "an empty body")
expect(*call(port, "POST", "/v1/models/retina/predict?name=v.npy", open(npys[0], "rb").read())[:2], 400,
       "not a 2D input", "a volume for a 2D model")
expect(*call(port, "POST", "/v1/models/adrenal/predict?name=p.png", data)[:2], 400, "3D model",
       "a picture for a 3D model")
expect(*call(port, "POST", "/v1/models/nope/predict", data)[:2], 404, "no model named 'nope'", "an unknown model")
expect(*call(port, "POST", "/v1/models/retina/predict?map=foo", data)[:2], 400, "map=foo", "an unknown map method")
expect(*call(port, "GET", "/nothing")[:2], 404, "no such path", "an unknown path")
expect(*call(port, "POST", "/v1/models/retina/predict", b"\x89PNG\r\n\x1a\n" + bytes(2 * 1024 * 1024))[:2], 413,
       "--max-upload", "a body over --max-upload")
body, headers = multipart("other", "x.txt", b"abc")
body = body.replace(b'filename="x.txt"', b"")
expect(*call(port, "POST", "/v1/models/retina/predict", body, headers)[:2], 400, "no file", "a form without a file")
# A hostile name never reaches a path: the answer names the file without its folders or markup.
body, headers = multipart("file", "../../etc/<script>x.png", data)
status, a, _ = call(port, "POST", "/v1/models/retina/predict", body, headers)
if status != 200 or a["file"] != "scriptx.png":
    fail("a hostile file name: %d %s" % (status, a.get("file")))
# A multipart form cut short: the connection is answered 400 or closed, and the server goes on.
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall(b"POST /v1/models/retina/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
          b"boundary=XX\r\nContent-Length: 90\r\n\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; "
          b"filename=\"a.png\"\r\n\r\n\x89PNG")
s.shutdown(socket.SHUT_WR)
reply = s.recv(4096)
s.close()
if reply and not reply.startswith(b"HTTP/1.1 4"):
    fail("a truncated multipart form: %r" % reply[:100])
print("ok: a truncated multipart form -> %s" % (reply.split(b"\r\n")[0].decode() if reply else "closed"))

# Concurrent clients: every answer 200 and equal to the one-at-a-time answer; some passes shared.
results, errors = [], []


def client(k):
    try:
        for j in range(10):
            p = pngs[(k + j) % len(pngs)]
            status, a, _ = call(port, "POST", "/v1/models/retina/predict", open(p, "rb").read())
            results.append((p, status, a))
    except Exception as e:  # noqa: BLE001
        errors.append(repr(e))


threads = [threading.Thread(target=client, args=(k,)) for k in range(12)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if errors:
    fail("client errors: %s" % errors[:3])
batches = [a["batch"] for _, status, a in results if status == 200]
if len(batches) != 120:
    fail("%d of 120 concurrent requests answered 200" % len(batches))
worst = max(max(abs(x["p"] - y) for x, y in zip(a["probabilities"], single[p])) for p, _, a in results)
if worst > 1e-5:
    fail("answers in shared passes differ from single ones by %g" % worst)
if max(batches) < 2:
    fail("12 concurrent clients on 1 worker never shared a forward pass (batch sizes %s)" % sorted(set(batches)))
print("ok: 120 concurrent requests, batch sizes up to %d, largest difference to single answers %.2g"
      % (max(batches), worst))

# Nothing of the uploads stays on disk while serving.
left = [f for f in glob.glob(os.path.join(uploads_tmp, "mednet-serve.*", "*"))]
if left:
    fail("uploads left on disk: %s" % left)

# SIGTERM with a request in flight: the request is answered, then the server exits 0 and its folder goes.
slow = {}


def slow_request():
    body, headers = multipart("file", "scan.npy", open(npys[1], "rb").read())
    slow["r"] = call(port, "POST", "/v1/models/adrenal/predict?map=smoothgrad", body, headers, timeout=120)


t = threading.Thread(target=slow_request)
t.start()
time.sleep(0.5)
code = server.stop(timeout=120)
t.join()
if code != 0:
    fail("exit code %d after SIGTERM: %s" % (code, "".join(server.lines)[-500:]))
if slow.get("r", (0,))[0] != 200 or slow["r"][1]["map"]["method"] != "smoothgrad":
    fail("the request in flight at SIGTERM: %s" % (slow.get("r", ("none",))[:1],))
if "stopped: answered" not in "".join(server.lines):
    fail("no closing line: %s" % "".join(server.lines)[-300:])
if glob.glob(os.path.join(uploads_tmp, "mednet-serve.*")):
    fail("the upload folder is still there after exit")
print("ok: SIGTERM answered the request in flight (%.2f s), exit 0, no upload folder left" % slow["r"][2])

# A full queue and the time limit: 503 with a message saying which, and the server goes on.
server = Server(bin_path, {"adrenal": runs["adrenal"]}, "--workers", "1", "--queue", "1", "--time-limit", "1", env=env)
port = server.port
answers = []
body, headers = multipart("file", "scan.npy", open(npys[2], "rb").read())


def heavy():
    answers.append(call(port, "POST", "/v1/models/adrenal/predict?map=smoothgrad", body, headers, timeout=120))


threads = [threading.Thread(target=heavy) for _ in range(4)]
for t in threads:
    t.start()
    time.sleep(0.05)
for t in threads:
    t.join()
messages = sorted(a.get("error", "") for status, a, _ in answers if status == 503)
if len(messages) != 4 or not any("busy" in m for m in messages) or not any("time limit" in m for m in messages):
    fail("4 heavy requests on 1 worker with --queue 1 --time-limit 1: %s" % [(st, a.get("error")) for st, a, _ in answers])
# The server recovers: once the map it was making is done, a plain request is answered.
for attempt in range(60):
    status, a, _ = call(port, "POST", "/v1/models/adrenal/predict", body, headers)
    if status == 200:
        break
    time.sleep(0.5)
if status != 200:
    fail("after the 503s a plain request still gets %d %s" % (status, a))
if server.stop(timeout=120) != 0:
    fail("exit code after SIGTERM with given-up requests")
print("ok: a full queue and the time limit answer 503 (%s)" % "; ".join(sorted(set(m.split(":")[0] for m in messages))))

# A token: every API call needs it; the page and /healthz do not.
server = Server(bin_path, {"retina": runs["retina"]}, "--token", "s3cret", env=env)
port = server.port
expect(*call(port, "GET", "/v1/models")[:2], 401, "token", "no token")
expect(*call(port, "POST", "/v1/models/retina/predict", data, {"Authorization": "Bearer wrong"})[:2], 401, "token",
       "a wrong token")
status, a, _ = call(port, "POST", "/v1/models/retina/predict", data, {"Authorization": "Bearer s3cret"})
if status != 200:
    fail("the right token: %d %s" % (status, a))
if call(port, "GET", "/")[0] != 200 or call(port, "GET", "/healthz")[0] != 200:
    fail("the page or /healthz asks for the token")
if server.stop() != 0:
    fail("exit code after SIGTERM with a token")
print("PASS")
