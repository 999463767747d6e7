#!/usr/bin/env python3
"""A study folder's outcome without its timings, to compare two studies of the same command:
report.md with every timing column blanked and timing phrases masked, then each metrics.json (by path
under the folder) without the keys that hold seconds or latencies, and with "verified earlier" (the MD5
ledger of the machine knew the data file) read as "verified". The folder's own path reads OUT.
Usage: study_outcome.py STUDY_DIR"""
import json
import os
import re
import sys

TIMING_HEADER = re.compile(r"second|s / epoch|s/epoch|\bms\b|latency|\btime\b|minutes", re.I)
TIMING_KEY = re.compile(r"second|latency|_ms$|^ms_|time", re.I)
TIMING_PHRASES = [
    (re.compile(r"batch-1 latency [^ ]+x fp32's"), "batch-1 latency Tx fp32's"),
    (re.compile(r"\b\d+(\.\d+)? ?(s|ms|min)\b(?! ?/)"), "T"),
]


def report(path, root):
    out, header_cols = [], None
    for line in open(path, encoding="utf-8").read().replace(root, "OUT").splitlines():
        if line.startswith("|"):
            cells = line.strip().strip("|").split("|")
            if header_cols is None:
                header_cols = [i for i, c in enumerate(cells) if TIMING_HEADER.search(c)]
            elif not set(line) <= set("|-: "):
                cells = ["T" if i in header_cols else c for i, c in enumerate(cells)]
            line = "|" + "|".join(cells) + "|"
        else:
            header_cols = None
            for pattern, repl in TIMING_PHRASES:
                line = pattern.sub(repl, line)
        out.append(line)
    return out


def without_timings(j):
    if isinstance(j, dict):
        # "verified earlier" says the machine's MD5 ledger knew the file: its state, not the run's outcome
        return {k: ("verified" if k == "md5" and v == "verified earlier" else without_timings(v))
                for k, v in j.items() if not TIMING_KEY.search(k)}
    if isinstance(j, list):
        return [without_timings(v) for v in j]
    return j


def main():
    root = os.path.abspath(sys.argv[1])
    print("\n".join(report(os.path.join(root, "report.md"), root)))
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        if "metrics.json" in filenames:
            path = os.path.join(dirpath, "metrics.json")
            with open(path, encoding="utf-8") as f:
                m = without_timings(json.load(f))
            text = json.dumps(m, indent=1, sort_keys=True).replace(root, "OUT")
            print("=== " + os.path.relpath(path, root) + "\n" + text)


if __name__ == "__main__":
    main()
