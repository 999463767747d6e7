"""Prints bench/compare.sh's table of mednet / PyTorch ratios and writes its JSON.

usage: compare_table.py DEVICE THREADS EPOCHS OUT.json < rows (one JSON object per line)
"""
import json
import sys

rows = [json.loads(line) for line in sys.stdin if line.strip()]
device, threads, epochs, out = sys.argv[1:5]
print(f"{device}, {threads} threads, {epochs} epochs per model (steady state: the first epoch left out);"
      " ratio = mednet / PyTorch, above 1 is mednet faster")
cols = ["model", "px", "n", "train/s mednet", "PyTorch", "ratio", "epoch s mednet", "PyTorch", "speedup",
        "infer/s mednet", "PyTorch", "ratio", "RSS MB mednet", "PyTorch"]
widths = [28, 4, 5, 15, 9, 6, 15, 9, 7, 15, 9, 6, 14, 8]
print(" ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cols, widths))))
for r in rows:
    m, t = r["mednet"], r["pytorch"]
    r["train_ratio"] = m["train_samples_per_s"] / t["train_samples_per_s"]
    r["epoch_speedup"] = t["epoch_s"] / m["epoch_s"]
    r["infer_ratio"] = m["infer_samples_per_s"] / t["infer_samples_per_s"]
    st = r.get("setting", {})
    cells = [r["arm"], str(st.get("size", "?")), str(st.get("n_train", "?")), f"{m['train_samples_per_s']:.1f}", f"{t['train_samples_per_s']:.1f}", f"{r['train_ratio']:.2f}",
             f"{m['epoch_s']:.3f}", f"{t['epoch_s']:.3f}", f"{r['epoch_speedup']:.2f}",
             f"{m['infer_samples_per_s']:.0f}", f"{t['infer_samples_per_s']:.0f}", f"{r['infer_ratio']:.2f}",
             f"{m['peak_rss_mb']:.0f}", f"{t['peak_rss_mb']:.0f}"]
    print(" ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))))
print("whole runs (every epoch, the first included; mednet also writes its checkpoints each epoch and"
      " scores the best one on val and test at the end):")
print("model".ljust(28), *(c.rjust(w) for c, w in zip(
    ["run s mednet", "PyTorch", "speedup", "1st epoch s mednet", "PyTorch", "mednet outside epochs s"],
    [13, 9, 8, 19, 9, 24])))
for r in rows:
    m, t = r["mednet"], r["pytorch"]
    r["run_speedup"] = t["run_s"] / m["run_s"]
    print(r["arm"].ljust(28), *(c.rjust(w) for c, w in zip(
        [f"{m['run_s']:.2f}", f"{t['run_s']:.2f}", f"{r['run_speedup']:.2f}", f"{m['epoch_s_per_epoch'][0]:.3f}",
         f"{t['epoch_s_per_epoch'][0]:.3f}", f"{m.get('outside_epochs_s', float('nan')):.3f}"],
        [13, 9, 8, 19, 9, 24])))
with open(out, "w") as f:
    json.dump({"device": device, "threads": int(threads), "epochs": int(epochs), "rows": rows}, f, indent=1)
print("wrote", out)
