"""The run's timeline as a PNG (gnuplot, Debian's gnuplot-nox): completed operations per
second by outcome (ok / fail / unknown), and the latency of every ok operation, on the
run's time axis, with each fault shaded from its injection to its healing.

The data come from the files the run kept (the histories and the nemesis log), so the
plot can be redrawn later:  python3 -m chaos.plot RESULTS_DIR
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys

SHORT = {"partition-leader": "P-lead", "partition-minority": "P-min", "partition-majority": "P-maj",
         "partition-bridge": "P-bridge", "partition-oneway": "P-1way", "loss": "loss", "delay": "delay",
         "kill-follower": "kill-f", "kill-leader": "kill-L", "kill-all": "kill-all",
         "pause-leader": "pause-L", "pause-follower": "pause-f", "disk-full": "disk"}


def read_ops(history: str) -> list[tuple[float, str, float]]:
    """(completion time, outcome, latency in ms) of every completed operation."""
    out = []
    started: dict[int, float] = {}
    with open(history) as f:
        for line in f:
            if not line.strip():
                continue
            e = json.loads(line)
            if e.get("type") == "invoke":
                started[e["process"]] = e["time"]
            elif e.get("type") in ("ok", "fail", "info") and e["process"] in started:
                t0 = started.pop(e["process"])
                out.append((e["time"], e["type"], (e["time"] - t0) * 1000.0))
    return out


def fault_spans(nemesis_log: str) -> list[tuple[float, float, str]]:
    spans, open_steps = [], {}
    end = 0.0
    with open(nemesis_log) as f:
        for line in f:
            e = json.loads(line)
            end = max(end, e["time"])
            if e["event"] == "fault":
                open_steps.setdefault(e["step"], [e["time"], []])[1].append(SHORT.get(e["kind"], e["kind"]))
            elif e["event"] == "heal" and e["step"] in open_steps:
                start, kinds = open_steps.pop(e["step"])
                spans.append((start, e["time"], "+".join(kinds)))
    for start, kinds in open_steps.values():
        spans.append((start, end, "+".join(kinds)))
    return spans


def draw(results: str, title: str = "raft_ext chaos run") -> str | None:
    """Writes RESULTS/timeline.png; returns its path, or None (and why on stderr)."""
    if shutil.which("gnuplot") is None:
        print("plot: gnuplot is not installed (apt-get install gnuplot-nox): no plot", file=sys.stderr)
        return None
    ops = []
    for h in sorted(glob.glob(os.path.join(results, "history-*.jsonl"))):
        name = os.path.basename(h)[len("history-"):-len(".jsonl")]
        ops += [(t, kind, lat, name) for t, kind, lat in read_ops(h)]
    if not ops:
        print("plot: no operations to plot", file=sys.stderr)
        return None
    tmax = max(t for t, *_ in ops)
    buckets: dict[int, list[int]] = {}
    for t, kind, _, _ in ops:
        b = buckets.setdefault(int(t), [0, 0, 0])
        b[("ok", "fail", "info").index(kind)] += 1
    rate = os.path.join(results, "plot-rate.dat")
    with open(rate, "w") as f:
        for s in range(int(tmax) + 1):
            ok, fail, info = buckets.get(s, [0, 0, 0])
            f.write(f"{s + 0.5} {ok} {fail} {info}\n")
    lat = os.path.join(results, "plot-latency.dat")
    with open(lat, "w") as f:
        for t, kind, ms, name in ops:
            if kind == "ok":
                f.write(f"{t:.3f} {max(ms, 0.1):.3f} {name}\n")
    spans = fault_spans(os.path.join(results, "nemesis.jsonl")) if os.path.exists(
        os.path.join(results, "nemesis.jsonl")) else []
    objects = []
    for k, (a, b, label) in enumerate(spans, 1):
        for graph in ("rate", "lat"):
            objects.append((graph, f"set object {k} rect from {a:.2f}, graph 0 to {max(b, a + 0.3):.2f}, graph 1 "
                                   "fc rgb '#f4a6a6' fs transparent solid 0.35 noborder behind"))
        objects.append(("rate", f"set label {k} '{label}' at {a:.2f}, graph 0.98 rotate by 90 right "
                                "font ',7' tc rgb '#a02020'"))
    png = os.path.join(results, "timeline.png")
    width = max(1200, min(4000, int(tmax * 4)))
    script = [
        f"set terminal pngcairo size {width},800 font ',9'",
        f"set output '{png}'",
        "set termoption noenhanced",  # names like raft_ext are not subscripts
        f"set multiplot layout 2,1 title '{title}'",
        "set grid", f"set xrange [0:{tmax + 1:.0f}]", "set key outside top center horizontal",
        "set lmargin 12", "set rmargin 4",  # the same for both panels, so that their time axes line up
        "set ylabel 'operations completed / s'",
        *[o for g, o in objects if g == "rate"],
        f"plot '{rate}' using 1:2 with steps lw 1.5 lc rgb '#2a7a2a' title 'ok', "
        f"'' using 1:3 with steps lw 1.2 lc rgb '#d08000' title 'fail', "
        f"'' using 1:4 with steps lw 1.2 lc rgb '#c00000' title 'unknown (info)'",
        "unset object", "unset label",
        "set ylabel 'latency of ok operations (ms)'", "set logscale y", "set xlabel 'seconds since start'",
        *[o for g, o in objects if g == "lat"],
        f"plot '{lat}' using 1:(stringcolumn(3) eq 'list-append' ? $2 : 1/0) with points pt 7 ps 0.25 "
        "lc rgb '#1f5fbf' title 'list-append', "
        f"'' using 1:(stringcolumn(3) eq 'register' ? $2 : 1/0) with points pt 7 ps 0.25 lc rgb '#8a2be2' "
        "title 'register', "
        f"'' using 1:(stringcolumn(3) eq 'bank' ? $2 : 1/0) with points pt 7 ps 0.25 lc rgb '#228b22' title 'bank'",
        "unset multiplot",
    ]
    p = subprocess.run(["gnuplot"], input="\n".join(script) + "\n", capture_output=True, text=True, timeout=120)
    if p.returncode != 0 or not os.path.exists(png):
        print(f"plot: gnuplot failed: {p.stderr.strip()[:500]}", file=sys.stderr)
        return None
    return png


if __name__ == "__main__":
    print(draw(sys.argv[1]) or "no plot")
