"""The page of `mednet serve` in a real browser: Debian's chromium, headless, driven over the DevTools
protocol on a pipe (no network, nothing downloaded). The page loads the model list, a real RetinaMNIST
test picture and a real AdrenalMNIST3D test volume are given to its own file input and sent with its own
button, and the test reads what the page drew: the label, the probability bars, the set and the flag,
the conversion, the picture with the map (pixels painted), for the volume three planes whose sliders
redraw them and an opacity slider that fades the map. No script error or console error on the way; a
screenshot of the volume's result is kept in WORK_DIR, and of the picture's in SCREENSHOT when given.
Usage: serve_browser_test.py MEDNET_BIN WORK_DIR [SCREENSHOT]   (needs MEDMNIST_ROOT)"""
import base64
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_support import Server, fail, test_files, train_runs  # noqa: E402


class Chromium:
    """Chromium with --remote-debugging-pipe: commands on its fd 3, replies and events on its fd 4."""

    def __init__(self, profile):
        exe = shutil.which("chromium") or fail("chromium is not installed (scripts/install-deps.sh --test)")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()

        def fds():  # copies first, so that neither end overwrites the other on its way to 3 and 4
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--remote-debugging-pipe", "--user-data-dir=" + profile,
             "--window-size=1100,1400", "about:blank"],
            pass_fds=(3, 4, to_child_r, from_child_w), preexec_fn=fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.next_id, self.buffer, self.events, self.session = 0, b"", [], None

    def send(self, method, params=None, session=True, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.read()
            if m.get("id") == self.next_id:
                if "error" in m:
                    fail("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)
        fail("no reply to %s within %d s" % (method, timeout))

    def read(self):
        while b"\0" not in self.buffer:
            chunk = os.read(self.from_child, 1 << 16)
            if not chunk:
                fail("chromium closed the pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def js(self, expression):
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            fail("script %s: %s" % (expression[:60], r["exceptionDetails"]))
        return r["result"].get("value")

    def wait_for(self, expression, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = self.js(expression)
            if v:
                return v
            time.sleep(0.1)
        fail("the page never got to: %s (state %s, error %s)" % (
            expression, self.js("document.body.dataset.state"), self.js("document.getElementById('error').textContent")))

    def errors(self):
        bad = []
        for e in self.events:
            if e.get("method") == "Runtime.exceptionThrown":
                bad.append(json.dumps(e["params"]["exceptionDetails"])[:300])
            if e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"):
                bad.append(json.dumps(e["params"]["args"])[:300])
            if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error":
                entry = e["params"]["entry"]
                if "favicon" not in entry.get("url", ""):
                    bad.append(entry["text"][:300])
        return bad

    def close(self):
        self.proc.kill()
        self.proc.wait()


bin_path, work = sys.argv[1], sys.argv[2]
shot = sys.argv[3] if len(sys.argv) > 3 else ""
root = os.environ.get("MEDMNIST_ROOT") or fail("set MEDMNIST_ROOT")
os.makedirs(work, exist_ok=True)
runs = train_runs(bin_path, os.path.join(work, "runs"), root)
pngs, npys = test_files(root, work, count=1)
server = Server(bin_path, runs)
browser = Chromium(os.path.join(work, "profile"))
try:
    target = browser.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
    browser.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True},
                                   session=False)["sessionId"]
    for domain in ("Page", "Runtime", "Log", "DOM"):
        browser.send(domain + ".enable")
    t0 = time.time()
    browser.send("Page.navigate", {"url": "http://127.0.0.1:%d/" % server.port})
    browser.wait_for("document.body && document.body.dataset.state === 'ready'")
    print("ok: the page loaded its %s models in %.2f s" % (browser.js("document.body.dataset.models"), time.time() - t0))
    remote = browser.js("[...document.querySelectorAll('script[src],link[href],img[src]')].map(e => e.src || e.href)")
    if remote:
        fail("the page loads resources: %s" % remote)

    def upload(model, path):
        browser.js("document.getElementById('model').value = %s; document.getElementById('model').dispatchEvent("
                   "new Event('change')); document.getElementById('map').value = 'gradcam'; 1" % json.dumps(model))
        doc = browser.send("DOM.getDocument")["root"]["nodeId"]
        node = browser.send("DOM.querySelector", {"nodeId": doc, "selector": "#file"})["nodeId"]
        browser.send("DOM.setFileInputFiles", {"files": [os.path.abspath(path)], "nodeId": node})
        browser.js("document.body.dataset.state = 'sent'; document.getElementById('go').click(); 1")
        browser.wait_for("['done', 'error'].includes(document.body.dataset.state)")
        if browser.js("document.body.dataset.state") != "done":
            fail("%s: the page shows the error %s" % (path, browser.js("document.getElementById('error').textContent")))
        return browser.js("""(() => {
          const painted = [...document.querySelectorAll('#views canvas')].map(c => {
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0; for (let i = 0; i < d.length; i += 4) n += (d[i] + d[i + 1] + d[i + 2]) > 30;
            return n / (c.width * c.height); });
          return {label: document.getElementById('label').textContent, set: document.getElementById('set').textContent,
                  flag: document.getElementById('flag').textContent, conversion: document.getElementById('conversion').textContent,
                  bars: document.querySelectorAll('#bars .bar').length, top: document.querySelectorAll('#bars .bar.top').length,
                  planes: document.body.dataset.planes, painted: painted,
                  captions: [...document.querySelectorAll('#views .view div')].map(d => d.textContent)}; })()""")

    r = upload("retina", pngs[0])
    print("ok: picture: %s | %s | %s | %s" % (r["label"], r["set"], r["flag"], r["conversion"]))
    if not r["label"].startswith("Predicted: ") or r["bars"] != 5 or r["top"] != 1 or len(r["painted"]) != 2:
        fail("the picture's result: %s" % r)
    if "prediction set:" not in r["set"] or "training data" not in r["flag"] or "Conversion applied: none" not in r["conversion"]:
        fail("the set, the flag or the conversion is missing: %s" % r)
    if min(r["painted"]) < 0.2:
        fail("the picture with its map is mostly blank (painted share %s)" % r["painted"])
    if shot:
        with open(shot, "wb") as f:
            f.write(base64.b64decode(browser.send("Page.captureScreenshot", {"format": "png"})["data"]))

    v = upload("adrenal", npys[0])
    print("ok: volume: %s | %s | %s | planes %s, painted %s" % (v["label"], v["set"], v["flag"], v["planes"],
                                                                   ["%.2f" % p for p in v["painted"]]))
    if v["planes"] != "3" or v["bars"] != 2 or len(v["painted"]) != 3 or min(v["painted"]) < 0.05:
        fail("the volume's result: %s" % v)
    trusted = os.path.exists(os.path.join(runs["adrenal"], "calibration.json"))
    if ("No prediction set" in v["set"]) == trusted or ("No out-of-distribution check" in v["flag"]) == trusted:
        fail("the volume's run %s trust files, the page says: %s / %s" % ("has" if trusted else "has no", v["set"],
                                                                          v["flag"]))
    if not all("(map peak)" in c for c in v["captions"]):
        fail("the planes do not open at the map's peak: %s" % v["captions"])
    shot_path = os.path.join(work, "serve_page.png")
    with open(shot_path, "wb") as f:
        f.write(base64.b64decode(browser.send("Page.captureScreenshot", {"format": "png"})["data"]))
    moved = browser.js("""(() => { const s = document.querySelector('input.slice[data-plane=axial]');
        s.value = s.value === '0' ? '1' : '0'; s.dispatchEvent(new Event('input'));
        return document.querySelector('#views .view div').textContent; })()""")
    if moved == v["captions"][0] or "axial slice" not in moved:
        fail("the axial slider did not redraw: %s -> %s" % (v["captions"][0], moved))
    print("ok: the axial slider redraws (%s)" % moved)
    faded = browser.js("""(() => { const o = document.getElementById('opacity'); o.value = 0; o.dispatchEvent(new Event('input'));
        const c = document.querySelector('#views canvas'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let gray = 0; for (let i = 0; i < d.length; i += 4) gray += d[i] === d[i + 1] && d[i + 1] === d[i + 2];
        o.value = 45; o.dispatchEvent(new Event('input')); return gray / (d.length / 4); })()""")
    if faded < 0.99:
        fail("at opacity 0 the plane is not the gray volume alone (%.3f gray)" % faded)
    errors = browser.errors()
    if errors:
        fail("errors in the page: %s" % errors)
finally:
    browser.close()
if server.stop() != 0:
    fail("the server did not exit 0")
print("PASS")
