"""Shared by the `mednet serve` tests and the load benchmark: short real-data runs, a server started on a
free port and stopped by SIGTERM, and HTTP calls with the standard library only."""
import http.client
import io
import json
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
from PIL import Image


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def train_runs(bin_path, out, root, trust=True):
    """A 1-epoch RetinaMNIST CNN (with mednet trust: calibration, sets, OOD) and a 1-epoch
    AdrenalMNIST3D CNN, on the real files."""
    runs = {}
    for name, dataset in (("retina", "retinamnist"), ("adrenal", "adrenalmnist3d")):
        d = os.path.join(out, name)
        if not os.path.exists(os.path.join(d, "best.pt")):
            cmd = [bin_path, "train", "--dataset", dataset, "--model", "cnn", "--epochs", "1", "--root", root,
                   "--out", d, "--threads", "2"]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                fail("training %s: %s" % (name, r.stdout[-500:] + r.stderr[-500:]))
            if trust and name == "retina":
                r = subprocess.run([bin_path, "trust", "--run", d, "--root", root, "--threads", "2"],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    fail("mednet trust: " + r.stdout[-500:] + r.stderr[-500:])
        runs[name] = d
    return runs


def test_files(root, out, count=1):
    """Real test-split samples: RetinaMNIST pictures as PNG, AdrenalMNIST3D volumes as .npy."""
    retina = np.load(os.path.join(root, "retinamnist.npz"))["test_images"]
    adrenal = np.load(os.path.join(root, "adrenalmnist3d.npz"))["test_images"]
    pngs, npys = [], []
    for i in range(count):
        p = os.path.join(out, "retina_test%d.png" % i)
        Image.fromarray(retina[i]).save(p)
        pngs.append(p)
        q = os.path.join(out, "adrenal_test%d.npy" % i)
        np.save(q, adrenal[i])
        npys.append(q)
    return pngs, npys


class Server:
    """mednet serve on 127.0.0.1 and a free port; stop() sends SIGTERM and returns the exit code."""

    def __init__(self, bin_path, runs, *extra, env=None):
        args = [bin_path, "serve", "--port", "0"]
        for name, d in runs.items():
            args += ["--run", "%s=%s" % (name, d)]
        self.proc = subprocess.Popen(args + list(extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=env)
        self.lines = []
        self.port = None
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.search(r"serving on http://[^:]+:(\d+)/", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            fail("the server did not start: " + "".join(self.lines) + self.proc.stdout.read())

    def stop(self, timeout=60):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rest, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("the server did not stop within %d s of SIGTERM" % timeout)
        self.lines.append(rest)
        return self.proc.returncode

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def call(port, method, path, body=None, headers=None, timeout=60, conn=None):
    """(status, parsed JSON or text, seconds)."""
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.perf_counter()
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    seconds = time.perf_counter() - t0
    if own:
        c.close()
    kind = r.getheader("Content-Type", "")
    return r.status, (json.loads(data) if "json" in kind else data.decode("utf-8", "replace")), seconds


def multipart(field, filename, content, boundary="mednetBoundary7d1"):
    body = io.BytesIO()
    body.write(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n" % (boundary, field, filename)).encode())
    body.write(content)
    body.write(("\r\n--%s--\r\n" % boundary).encode())
    return body.getvalue(), {"Content-Type": "multipart/form-data; boundary=" + boundary}
