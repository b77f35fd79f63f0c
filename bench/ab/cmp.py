#!/usr/bin/env python3
"""Interleaved A/B comparison of inits (or builds of one init) with bench/src/nsbench.c.

    python3 bench/ab/cmp.py [--mode startup|stop|signal] [--pin CPU] ROUNDS BATCH 'LABEL|ENV=V,...|CMD ARGS' ...

Each round runs every variant once, in a fresh random order, as `nsbench MODE BATCH -- CMD` under
`perf stat` (software events: task-clock, page-faults, context-switches of nsbench and everything it
starts). Prints per variant the median and quartiles of nsbench's samples (wall time) and the
per-sample CPU time, page faults and context switches; for --mode stop also the median of
nsbench's cpu_ns (CPU of the init and its child from SIGTERM to the end). Interleaving matters on a
shared machine: load moves all variants alike instead of whichever ran during a busy minute.

Needs root (nsbench clones PID namespaces), perf, and target/bench/nsbench (built by bench/run.py).
Every init runs as PID 1 of a namespace nsbench created; nothing else is ever signalled.
Examples: bench/ab/README.md.
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NSBENCH = ROOT / "target/bench/nsbench"


def parse_variant(spec: str):
    label, env_s, cmd = spec.split("|", 2)
    env = dict(os.environ)
    for kv in filter(None, env_s.split(",")):
        k, v = kv.split("=", 1)
        env[k] = v
    return label, env, cmd.split()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", default="startup", choices=["startup", "stop", "signal"])
    ap.add_argument("--pin", type=int, help="pin nsbench and everything it starts to this CPU")
    ap.add_argument("--gap-us", type=int, default=1000, help="signal mode: gap between signals")
    ap.add_argument("rounds", type=int)
    ap.add_argument("batch", type=int, help="samples per nsbench call")
    ap.add_argument("variants", nargs="+")
    a = ap.parse_args()
    if not NSBENCH.exists():
        print(f"{NSBENCH} missing: run `python3 bench/run.py --smoke` once to build it", file=sys.stderr)
        return 2
    vs = [parse_variant(s) for s in a.variants]
    res = {v[0]: {"wall": [], "cpu": 0.0, "faults": 0.0, "cs": 0.0, "n": 0, "stop_cpu": []} for v in vs}
    extra = [str(a.gap_us)] if a.mode == "signal" else []
    pin = (lambda: os.sched_setaffinity(0, {a.pin})) if a.pin is not None else None
    for _ in range(a.rounds):
        order = vs[:]
        random.shuffle(order)
        for label, env, cmd in order:
            with tempfile.NamedTemporaryFile(suffix=".csv") as f:
                argv = ["timeout", "300", "perf", "stat", "-x,", "-e", "task-clock,page-faults,context-switches",
                        "-o", f.name, str(NSBENCH), a.mode, str(a.batch)] + extra + ["--"] + cmd
                out = subprocess.run(argv, env=env, capture_output=True, text=True, preexec_fn=pin)
                if out.returncode != 0:
                    print(f"{label}: nsbench failed ({out.returncode}): {out.stderr.strip()[-300:]}", file=sys.stderr)
                    return 1
                d = res[label]
                for ln in out.stdout.split():
                    k, _, v = ln.partition("=")
                    if k == "sample":
                        d["wall"].append(int(v) / 1000)
                    elif k == "cpu_ns":
                        d["stop_cpu"].append(int(v) / 1000)
                for ln in open(f.name):
                    p = ln.strip().split(",")
                    if len(p) > 3 and p[0][:1].isdigit():
                        if p[2] == "task-clock":
                            d["cpu"] += float(p[0]) * 1000  # msec -> µs
                        elif p[2] == "page-faults":
                            d["faults"] += float(p[0])
                        elif p[2] == "context-switches":
                            d["cs"] += float(p[0])
                d["n"] += a.batch
    for label, d in res.items():
        w = sorted(d["wall"])
        q = lambda p: w[int(p * (len(w) - 1))]  # noqa: E731
        n = d["n"]
        line = (f"{label:30s} median {statistics.median(w):8.1f} µs  p25 {q(.25):8.1f}  p75 {q(.75):8.1f}  n {len(w):5d} | "
                f"per sample: cpu {d['cpu'] / n:6.0f} µs  faults {d['faults'] / n:6.1f}  cs {d['cs'] / n:4.2f}")
        if d["stop_cpu"]:
            line += f" | stop cpu_ns median {statistics.median(d['stop_cpu']):.0f} µs"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
