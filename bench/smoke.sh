#!/usr/bin/env bash
# Smoke test of the benchmark harness (a few seconds): every benchmark runs a handful of
# iterations against tini, dumb-init, catatonit and pidone; fails if any of them cannot be
# measured, if a benchmark step fails, or if the report or chart is incomplete.
# Needs root (PID namespaces) and the packages of .ci/apt/bench.txt. Does not touch docs/.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/smoke.sh: must run as root (it creates PID namespaces)" >&2; exit 1; }
for f in /usr/bin/tini-static /usr/bin/dumb-init /usr/bin/catatonit; do
  [ -x "$f" ] || { echo "bench/smoke.sh: $f missing: install the packages of .ci/apt/bench.txt (scripts/setup.sh)" >&2; exit 1; }
done
command -v gcc >/dev/null || { echo "bench/smoke.sh: gcc missing: install gcc libc6-dev (.ci/apt/bench.txt)" >&2; exit 1; }
pidone=target/x86_64-unknown-linux-gnu/release/pidone
[ -x "$pidone" ] || cargo build --release -j 2 -p pidone
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
rc=0
timeout 120 python3 bench/run.py --smoke --no-extras --results "$out" --out "$out/BENCHMARKS.md" || rc=$?
python3 - "$out" "$rc" <<'PY'
import json, sys, glob, xml.etree.ElementTree as ET
out, rc = sys.argv[1], int(sys.argv[2])
raw = json.load(open(glob.glob(f"{out}/smoke-*.json")[0]))
problems = []
for name, i in raw["inits"].items():
    if i["error"]:
        problems.append(f"{name} could not be measured: {i['error']}")
for metric, errs in raw["errors"].items():
    for name, e in errs.items():
        problems.append(f"{metric} failed for {name}: {e}")
want = ["startup", "signal", "signal_pinned", "stop", "reap_wall", "reap_peak", "reap_cpu", "rss", "threads", "fds", "wakeups"]
for m in want:
    for name in raw["inits"]:
        if not raw["samples"].get(m, {}).get(name):
            problems.append(f"no {m} samples for {name}")
for name in ["bare"]:
    for m in ["startup", "signal", "stop"]:
        if not raw["samples"].get(m, {}).get(name):
            problems.append(f"no {m} samples for {name}")
md = open(f"{out}/BENCHMARKS.md").read()
for s in ["## Summary", "| Stop: SIGTERM", "benchmarks.svg", "pidone |"]:
    if s not in md:
        problems.append(f"report lacks {s!r}")
ET.parse(f"{out}/benchmarks.svg")
if rc != 0 and not problems:
    problems.append(f"bench/run.py exited {rc}")
if problems:
    print("bench/smoke.sh: FAILED\n  " + "\n  ".join(problems), file=sys.stderr)
    sys.exit(1)
print("bench/smoke.sh: ok (%d inits, %d metrics)" % (len(raw["inits"]), len(raw["samples"])))
PY
