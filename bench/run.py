#!/usr/bin/env python3
"""pidone benchmarks against tini, dumb-init and catatonit, side by side in one run.

    python3 bench/run.py            # full run (a few minutes) -> docs/BENCHMARKS.md + docs/benchmarks.svg
    python3 bench/run.py --quick    # fewer iterations -> bench/results/BENCHMARKS-quick.md
    python3 bench/run.py --smoke    # seconds; checks the harness works (bench/smoke.sh)

Every init runs as PID 1 of a fresh PID namespace (with its own /proc), cloned by the C driver
bench/src/nsbench.c, which measures it from outside by its host pid. Must run as root. Only the
standard library is used; the chart is an SVG written by this script.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import json
import math
import os
import platform
import random
import shutil
import tempfile
import subprocess
import sys
import xml.sax.saxutils as sx
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEERS = ["tini", "dumb-init", "catatonit"]
DEFAULT_PIDONE = ROOT / "target/x86_64-unknown-linux-gnu/release/pidone"


@dataclass
class Init:
    name: str
    path: str
    args: list[str]  # between the binary and the command
    package: str = ""  # Debian package, for versions and error messages
    error: str = ""  # set when the init cannot run the benchmarks
    orig: str = ""  # the installed path when `path` is a fresh copy (see fresh_copies)

    def argv(self, cmd: list[str]) -> list[str]:
        return [self.path, *self.args, *cmd]


def fresh_copies(inits: list[Init]) -> str:
    """Copy every init binary into one new directory, so that all of them sit in the page cache
    the same way (written at the same moment) when they are measured. The same bytes in two files
    of different ages started ~70 µs apart (bench/ab/README.md): a file's page-cache state decides
    how much each page fault maps. Basenames are kept (pidone picks its personality from argv[0]).
    Returns the directory, removed by the caller."""
    top = tempfile.mkdtemp(prefix="pidone-bench-")
    for i in inits:
        d = Path(top) / i.name
        d.mkdir()
        dst = d / Path(i.path).name
        shutil.copy2(os.path.realpath(i.path), dst)
        i.orig, i.path = i.path, str(dst)
    return top


def known_inits(pidone: Path) -> dict[str, Init]:
    return {
        # tini is PID 1 of the namespace, so no -s; the static build, as the brief asks for sizes
        "tini": Init("tini", "/usr/bin/tini-static", ["--"], "tini"),
        # dumb-init's default: setsid, signals go to the child's process group
        "dumb-init": Init("dumb-init", "/usr/bin/dumb-init", [], "dumb-init"),
        "catatonit": Init("catatonit", "/usr/bin/catatonit", ["--"], "catatonit"),
        "pidone": Init("pidone", str(pidone), ["--"]),
    }


def mini_inits(build: Path) -> dict[str, Init]:
    """bench/src/miniinit.c in its three waiting styles: not peers, a yardstick for what the
    waiting primitive alone costs (--with-mini)."""
    m = str(build / "miniinit")
    return {f"mini-{s}": Init(f"mini-{s}", m, [s, "--"]) for s in ("sigwait", "sfd", "sfdpoll")}


@dataclass
class Plan:
    startup_runs: int
    startup_batch: int
    signal_n: int
    signal_batch: int
    signal_gap_us: int
    stop_runs: int
    stop_batch: int
    reap_orphans: int
    reap_repeats: int
    reap_cap: int
    idle_secs: float
    idle_instances: int


PLANS = {
    "full": Plan(400, 40, 1000, 50, 500, 100, 20, 20000, 5, 5000, 10.0, 3),
    "quick": Plan(100, 25, 300, 50, 500, 30, 10, 5000, 2, 5000, 3.0, 1),
    "smoke": Plan(6, 3, 30, 15, 200, 2, 2, 300, 1, 2000, 0.5, 1),
}


# ---------------------------------------------------------------- statistics


def pct(xs: list[float], p: float) -> float:
    """Percentile with linear interpolation (p in 0..100)."""
    s = sorted(xs)
    if not s:
        return math.nan
    k = (len(s) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


@dataclass
class Stat:
    median: float
    p10: float
    p90: float
    n: int
    p99: float = math.nan

    @staticmethod
    def of(xs: list[float]) -> "Stat":
        return Stat(pct(xs, 50), pct(xs, 10), pct(xs, 90), len(xs), pct(xs, 99))


# ---------------------------------------------------------------- running


class Runner:
    def __init__(self, build: Path, log: Path, verbose: bool):
        self.nsbench = str(build / "nsbench")
        self.child = str(build / "bench-child")
        self.log = open(log, "w")
        self.verbose = verbose

    def ns(self, args: list[str], cmd: list[str], timeout: float, cpu: int | None = None) -> dict[str, list[str]]:
        """Run nsbench (pinned with everything it starts to one CPU if cpu is given), return its
        key=value lines as key -> [values]."""
        full = [self.nsbench, *args, "--", *cmd]
        self.log.write(("" if cpu is None else f"[cpu {cpu}] ") + "$ " + " ".join(full) + "\n")
        self.log.flush()
        pin = None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))
        p = subprocess.run(full, capture_output=True, text=True, timeout=timeout, preexec_fn=pin)
        self.log.write(p.stderr)
        out: dict[str, list[str]] = {}
        for line in p.stdout.splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out.setdefault(k, []).append(v)
        if p.returncode != 0:
            raise RuntimeError(f"nsbench {args[0]} failed ({p.returncode}): {p.stderr.strip()[-400:]}")
        return out


def say(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def build_helpers(build: Path) -> None:
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        sys.exit("bench: gcc not found: apt-get install gcc libc6-dev (see .ci/apt/bench.txt)")
    build.mkdir(parents=True, exist_ok=True)
    for src, out, extra in (("nsbench.c", "nsbench", []), ("child.c", "bench-child", []), ("miniinit.c", "miniinit", ["-static"])):
        subprocess.run(
            [cc, "-O2", "-Wall", "-Wextra", "-Werror", *extra, "-o", str(build / out), str(BENCH / "src" / src)],
            check=True,
        )


def build_pidone(path: Path) -> None:
    if path.exists():
        return
    say(f"{path} missing: cargo build --release -j 1 -p pidone")
    subprocess.run(["cargo", "build", "--release", "-j", "1", "-p", "pidone"], cwd=ROOT, check=True)


def sanity(r: Runner, init: Init) -> None:
    if not os.access(init.path, os.X_OK):
        pkg = f" (apt-get install {init.package})" if init.package else ""
        init.error = f"{init.path} not found{pkg}"
        return
    try:
        r.ns(["startup", "1"], init.argv(["/bin/true"]), 30)
        r.ns(["stop", "1"], init.argv([r.child, "stop"]), 60)
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        init.error = str(e)


@dataclass
class Results:
    samples: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # metric -> init -> xs
    values: dict[str, dict[str, float]] = field(default_factory=dict)  # metric -> init -> value
    notes: dict[str, dict[str, str]] = field(default_factory=dict)  # metric -> init -> note
    errors: dict[str, dict[str, str]] = field(default_factory=dict)

    def add(self, metric: str, init: str, xs: list[float]) -> None:
        self.samples.setdefault(metric, {}).setdefault(init, []).extend(xs)

    def set(self, metric: str, init: str, v: float) -> None:
        self.values.setdefault(metric, {})[init] = v

    def fail(self, metric: str, init: str, e: Exception) -> None:
        say(f"{metric} {init}: {e}")
        self.errors.setdefault(metric, {})[init] = str(e)[-300:]


def run_all(r: Runner, inits: list[Init], plan: Plan, res: Results) -> None:
    def cmd_for(init: Init | None, cmd: list[str]) -> list[str]:
        return cmd if init is None else init.argv(cmd)

    # "bare": the command itself is PID 1 of the namespace, no init
    everyone: list[tuple[str, Init | None]] = [("bare", None)] + [(i.name, i) for i in inits]

    # startup: INIT -- /bin/true vs /bin/true alone, interleaved in batches
    say(f"startup: {plan.startup_runs} runs each of {', '.join(n for n, _ in everyone)}")
    for _ in range(max(1, plan.startup_runs // plan.startup_batch)):
        order = everyone[:]
        random.shuffle(order)
        for name, init in order:
            try:
                out = r.ns(["startup", str(plan.startup_batch)], cmd_for(init, ["/bin/true"]), 120)
                res.add("startup", name, [int(x) / 1e6 for x in out["sample"]])
            except (RuntimeError, subprocess.TimeoutExpired, KeyError) as e:
                res.fail("startup", name, e)

    # signal forwarding: kill(init, SIGUSR1) -> child's handler; bare = kill(child) directly.
    # Many short-lived instances, interleaved: where the scheduler puts one instance (same CPU
    # as the driver or not) moves its latency more than the init does.
    batch = min(plan.signal_batch, plan.signal_n)
    cpu = max(os.sched_getaffinity(0))
    say(f"signal forwarding: {plan.signal_n} signals each, {batch} per instance, free and pinned to CPU {cpu}")
    for _ in range(max(1, plan.signal_n // batch)):
        for metric, pin in (("signal", None), ("signal_pinned", cpu)):
            order = everyone[:]
            random.shuffle(order)
            for name, init in order:
                try:
                    out = r.ns(
                        ["signal", str(batch), str(plan.signal_gap_us)],
                        cmd_for(init, [r.child, "sigrecv"]),
                        120,
                        cpu=pin,
                    )
                    res.add(metric, name, [int(x) / 1e3 for x in out["sample"]])
                    lost = int(out["lost"][0])
                    if lost:
                        notes = res.notes.setdefault(metric, {})
                        notes[name] = f"{int(notes.get(name, '0 lost').split()[0]) + lost} lost"
                except (RuntimeError, subprocess.TimeoutExpired, KeyError) as e:
                    res.fail(metric, name, e)

    # stop: kill(init, SIGTERM) -> init reaped; the child exits at once
    say(f"stop: {plan.stop_runs} stops each")
    for _ in range(max(1, plan.stop_runs // plan.stop_batch)):
        order = everyone[:]
        random.shuffle(order)
        for name, init in order:
            try:
                out = r.ns(["stop", str(plan.stop_batch)], cmd_for(init, [r.child, "stop"]), 300)
                res.add("stop", name, [int(x) / 1e6 for x in out["sample"]])
            except (RuntimeError, subprocess.TimeoutExpired, KeyError) as e:
                res.fail("stop", name, e)

    # zombie reaping: N double-forked orphans, one run at a time (it is the heavy step)
    n, cap = plan.reap_orphans, plan.reap_cap
    say(f"reaping: {n} orphans x {plan.reap_repeats} runs each")
    for _ in range(plan.reap_repeats):
        order = inits[:]
        random.shuffle(order)
        for init in order:
            try:
                out = r.ns(
                    ["reap", str(n), str(cap)], init.argv([r.child, "orphans", str(n), str(cap)]), 400
                )
                res.add("reap_wall", init.name, [int(out["wall_ns"][0]) / 1e6])
                res.add("reap_peak", init.name, [int(out["peak"][0])])
                res.add("reap_cpu", init.name, [int(out["cpu_ns"][0]) / 1e6])
                res.add("reap_ticks", init.name, [int(out["cpu_ticks"][0]) * 10.0])
                res.add("reap_throttle", init.name, [int(out["throttle_waits"][0]) + int(out["eagain"][0])])
                res.notes.setdefault("reap_peak", {})["source"] = out["peak_source"][0]
            except (RuntimeError, subprocess.TimeoutExpired, KeyError) as e:
                res.fail("reap", init.name, e)

    # footprint and idle: all inits idle at once (they do not compete: they should sleep)
    say(f"idle: {plan.idle_instances} instance(s) of each for {plan.idle_secs} s, concurrently")
    jobs = [(i, k) for i in inits for k in range(plan.idle_instances)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(jobs)) as ex:
        futs = {
            ex.submit(r.ns, ["idle", str(plan.idle_secs)], i.argv([r.child, "idle"]), plan.idle_secs + 60): i
            for i, _ in jobs
        }
        for f in concurrent.futures.as_completed(futs):
            init = futs[f]
            try:
                out = f.result()
                scale = 10.0 / plan.idle_secs
                res.add("rss", init.name, [int(out["rss_kb"][0])])
                res.add("rss_anon", init.name, [int(out["rss_anon_kb"][0])])
                res.add("threads", init.name, [int(out["threads"][0])])
                res.add("fds", init.name, [int(out["fds"][0])])
                res.add("wakeups", init.name, [int(out["wakeups"][0]) * scale])
                res.add("idle_cpu", init.name, [int(out["cpu_ns"][0]) / 1e3 * scale])
                res.notes.setdefault("wchan", {})[init.name] = out["wchan"][0]
            except (RuntimeError, subprocess.TimeoutExpired, KeyError) as e:
                res.fail("idle", init.name, e)

    for i in inits:
        size, note = disk_size(i.path)
        res.set("size", i.name, size / 1024)
        res.notes.setdefault("size", {})[i.name] = note


def disk_size(path: str) -> tuple[int, str]:
    """Bytes the init needs on disk: the file, plus the shared libraries it loads (what a
    `FROM scratch` image would have to ship). Returns (bytes, note)."""
    own = os.stat(path).st_size
    p = subprocess.run(["ldd", path], capture_output=True, text=True)
    libs = set()
    for line in p.stdout.splitlines():
        for tok in line.split():
            if tok.startswith("/"):
                libs.add(os.path.realpath(tok))
    if not libs:
        return own, "static"
    extra = sum(os.stat(lib).st_size for lib in libs)
    names = ", ".join(sorted(os.path.basename(x) for x in libs))
    return own + extra, f"dynamic: {own / 1024:.1f} KiB + {names}"


def remove_stale_cgroups() -> None:
    """nsbench removes its pids cgroup itself; this removes those of an nsbench that was killed."""
    base = Path("/sys/fs/cgroup/pids")
    for d in base.glob("pidone-bench.*"):
        pid = d.name.rsplit(".", 1)[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            try:
                d.rmdir()
            except OSError:
                pass


def run_extras(plan_name: str, pidone: Path, log) -> list[tuple[str, str, str]]:
    """bench/ps_* and bench/trace_* (written by other helpers): key=value lines from each entry
    point. Of files sharing a stem (trace_bench.sh + trace_bench.py), only the .sh runs: the
    other is its helper. No arguments; PIDONE=<binary> (and BENCH_QUICK=1 in a quick run) in
    the environment."""
    rows: list[tuple[str, str, str]] = []
    by_stem: dict[str, Path] = {}
    for p in sorted(list(BENCH.glob("ps_*")) + list(BENCH.glob("trace_*"))):
        if p.is_dir() or p.suffix in (".c", ".h", ".md", ".txt", ".json"):
            continue
        rank = {".sh": 0, ".py": 1}.get(p.suffix, 2)
        if rank == 2 and not os.access(p, os.X_OK):
            continue
        old = by_stem.get(p.stem)
        if old is None or rank < {".sh": 0, ".py": 1}.get(old.suffix, 2):
            by_stem[p.stem] = p
    for p in sorted(by_stem.values()):
        cmd = ["bash", str(p)] if p.suffix == ".sh" else [sys.executable, str(p)] if p.suffix == ".py" else [str(p)]
        say(f"extra: {' '.join(cmd)}")
        env = dict(os.environ, PIDONE=str(pidone), PIDONE_BIN=str(pidone))
        if plan_name != "full":
            env["BENCH_QUICK"] = "1"
        try:
            out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
            log.write(f"$ {' '.join(cmd)}\n{out.stdout}{out.stderr}")
            kv = [ln.split("=", 1) for ln in out.stdout.splitlines() if "=" in ln and " " not in ln.split("=")[0]]
            rows += [(p.name, k.strip(), v.strip()) for k, v in kv]
            if out.returncode != 0:
                why = (out.stderr.strip().splitlines() or ["no stderr"])[-1][:200]
                rows.append((p.name, "exit_status", f"{out.returncode}: {why}"))
        except subprocess.TimeoutExpired:
            rows.append((p.name, "error", "timed out after 300 s"))
    return rows


# ---------------------------------------------------------------- report

# id, title, unit, source, how the value of one init is summarised
ROWS = [
    ("startup", "Startup: `INIT -- /bin/true`, clone → reaped", "ms", "samples"),
    ("startup_overhead", "Startup overhead over bare `/bin/true`", "ms", "derived"),
    ("size", "Size on disk (static binary, or binary + its shared libraries)", "KiB", "value"),
    ("rss", "Idle RSS (VmRSS)", "kB", "samples"),
    ("rss_anon", "Idle anonymous RSS (RssAnon)", "kB", "samples"),
    ("threads", "Threads", "", "samples"),
    ("fds", "Open fds (incl. stdin/stdout/stderr)", "", "samples"),
    ("wakeups", "Idle wake-ups per 10 s (voluntary ctx switches)", "", "samples"),
    ("idle_cpu", "Idle CPU per 10 s", "µs", "samples"),
    ("reap_wall", "Reaping {orphans} orphans: wall time", "ms", "samples"),
    ("reap_peak", "Reaping {orphans} orphans: peak pending", "", "samples"),
    ("reap_cpu", "Reaping {orphans} orphans: init's CPU time", "ms", "samples"),
    ("signal", "Signal forwarding: kill → child's handler, median", "µs", "samples"),
    ("signal_p99", "Signal forwarding, p99", "µs", "p99"),
    ("signal_pinned", "Signal forwarding, all on one CPU, median", "µs", "samples"),
    ("stop", "Stop: SIGTERM → init reaped", "ms", "samples"),
]


CHART_LABEL = {
    "startup": "Startup INIT -- /bin/true",
    "startup_overhead": "Startup overhead over bare",
    "size": "Size on disk (incl. shared libs)",
    "rss": "Idle RSS",
    "rss_anon": "Idle anonymous RSS",
    "fds": "Open fds",
    "wakeups": "Idle wake-ups per 10 s",
    "idle_cpu": "Idle CPU per 10 s",
    "reap_wall": "Reaping: wall time",
    "reap_peak": "Reaping: peak pending orphans",
    "reap_cpu": "Reaping: init's CPU time",
    "signal": "Signal forwarding, median",
    "signal_p99": "Signal forwarding, p99",
    "signal_pinned": "Signal forwarding, one CPU",
    "stop": "Stop: SIGTERM → exited",
}


def summarise(res: Results, names: list[str]) -> dict[str, dict[str, Stat]]:
    table: dict[str, dict[str, Stat]] = {}
    for rid, _, _, kind in ROWS:
        row: dict[str, Stat] = {}
        for n in ["bare", *names]:
            if kind == "samples" and n in res.samples.get(rid, {}):
                row[n] = Stat.of(res.samples[rid][n])
            elif kind == "value" and n in res.values.get(rid, {}):
                v = res.values[rid][n]
                row[n] = Stat(v, v, v, 1)
            elif kind == "p99" and n in res.samples.get("signal", {}):  # the p99 of the free-running row
                s = Stat.of(res.samples["signal"][n])
                row[n] = Stat(s.p99, math.nan, math.nan, s.n)
            elif kind == "derived" and n != "bare" and n in res.samples.get("startup", {}):
                if "bare" in res.samples["startup"]:
                    b = Stat.of(res.samples["startup"]["bare"]).median
                    xs = [x - b for x in res.samples["startup"][n]]
                    row[n] = Stat.of(xs)
        table[rid] = row
    return table


def ratio_ci(xs: list[float], ys: list[float], reps: int = 400) -> tuple[float, float] | None:
    """95% bootstrap interval of median(xs) / median(ys), or None when it cannot be had."""
    if len(xs) < 5 or len(ys) < 5:
        return None
    rng = random.Random(12345)
    rs = []
    for _ in range(reps):
        a = pct(rng.choices(xs, k=len(xs)), 50)
        b = pct(rng.choices(ys, k=len(ys)), 50)
        if b <= 0:
            return None
        rs.append(a / b)
    return pct(rs, 2.5), pct(rs, 97.5)


def ratio(v: float, best: float) -> float:
    if best == 0:
        return 1.0 if v == 0 else math.inf
    return v / best


def best_peer(row: dict[str, Stat]) -> tuple[str, float] | None:
    peers = [(n, row[n].median) for n in PEERS if n in row]
    return min(peers, key=lambda t: t[1]) if peers else None


def fmt(v: float) -> str:
    if math.isnan(v):
        return "–"
    if math.isinf(v):
        return "∞"
    a = abs(v)
    if a == 0:
        return "0"
    if v == int(v):
        return f"{int(v):,}"
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def fmt_ratio(r: float) -> str:
    return "∞" if math.isinf(r) else f"{r:.2f}"


COLORS = {"bare": "#9e9e9e", "tini": "#1f77b4", "dumb-init": "#ff7f0e", "catatonit": "#2ca02c", "pidone": "#d62728"}


def svg_chart(table: dict[str, dict[str, Stat]], names: list[str], title: str) -> str:
    """Horizontal bars: each init's median as a ratio to the best peer (1.0 = best peer), with
    p10–p90 whiskers. Bars are clipped at 3×."""
    clip = 3.0
    left, width, bar, gap = 330, 520, 11, 14
    rows = [(rid, t, u) for rid, t, u, _ in ROWS if best_peer(table.get(rid, {}))]
    h = 60 + sum(len([n for n in names if n in table[rid]]) * bar + gap for rid, _, _ in rows) + 40
    x = lambda r: left + width * min(r, clip) / clip  # noqa: E731
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 130}" height="{h}" '
        'font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="20" font-size="14" font-weight="bold">{sx.escape(title)}</text>',
        '<text x="10" y="38" fill="#555">median as a ratio to the best of tini, dumb-init, catatonit '
        "(lower is better; whiskers p10–p90; clipped at 3×)</text>",
    ]
    y = 55
    for k, n in enumerate(names):
        out.append(f'<rect x="{left + k * 110}" y="{y - 10}" width="10" height="10" fill="{COLORS.get(n, "#555")}"/>')
        out.append(f'<text x="{left + 14 + k * 110}" y="{y - 1}">{sx.escape(n)}</text>')
    y += 12
    top = y
    for rid, t, u in rows:
        row = table[rid]
        best = best_peer(row)[1]  # type: ignore[index]
        present = [n for n in names if n in row]
        label = CHART_LABEL.get(rid, t.replace("`", "")) + (f" [{u}]" if u else "")
        out.append(f'<text x="{left - 6}" y="{y + len(present) * bar / 2 + 4}" text-anchor="end">{sx.escape(label)}</text>')
        for n in present:
            s = row[n]
            r = ratio(s.median, best)
            out.append(
                f'<rect x="{left}" y="{y + 1}" width="{max(x(r) - left, 1):.1f}" height="{bar - 2}" '
                f'fill="{COLORS.get(n, "#555")}"><title>{n}: {fmt(s.median)} {u}</title></rect>'
            )
            if s.n > 1 and best > 0 and not math.isnan(s.p10) and s.p10 != s.p90:
                lo, hi = x(ratio(s.p10, best)), x(ratio(s.p90, best))
                out.append(f'<line x1="{lo:.1f}" x2="{hi:.1f}" y1="{y + bar / 2}" y2="{y + bar / 2}" stroke="black"/>')
            txt = f"{fmt_ratio(r)}× ({fmt(s.median)})"
            tx = x(r) if s.n <= 1 or best <= 0 or math.isnan(s.p90) else max(x(r), x(ratio(s.p90, best)))
            out.append(f'<text x="{tx + 4:.1f}" y="{y + bar - 2}" font-size="9">{sx.escape(txt)}</text>')
            y += bar
        y += gap
    for r in (0.5, 1.0, 1.5, 2.0, 2.5, 3.0):
        dash = "" if r == 1.0 else ' stroke-dasharray="2,3"'
        color = "black" if r == 1.0 else "#bbb"
        out.append(f'<line x1="{x(r):.1f}" x2="{x(r):.1f}" y1="{top}" y2="{y}" stroke="{color}"{dash}/>')
        out.append(f'<text x="{x(r):.1f}" y="{y + 12}" text-anchor="middle">{r}×</text>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{y}" stroke="black"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def sh(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine() -> list[tuple[str, str]]:
    model = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = next((ln.split()[1] for ln in open("/proc/meminfo") if ln.startswith("MemTotal")), "0")
    osr = next((ln.split("=", 1)[1].strip().strip('"') for ln in open("/etc/os-release") if ln.startswith("PRETTY_NAME")), "?")
    return [
        ("CPU", f"{model}, {os.cpu_count()} CPUs"),
        ("Memory", f"{int(mem) / 1024 / 1024:.0f} GiB"),
        ("Kernel", platform.release()),
        ("OS", osr),
        ("Load average at start", " ".join(f"{x:.2f}" for x in os.getloadavg())),
    ]


def versions(inits: list[Init]) -> list[tuple[str, str]]:
    out = []
    for i in inits:
        if i.package:
            v = sh(["dpkg-query", "-W", "-f=${Version}", i.package]) or "?"
            out.append((i.name, f"{i.path} (Debian {i.package} {v})"))
        elif i.name.startswith("mini-"):
            out.append((i.name, f"bench/src/miniinit.c `{' '.join(i.args[:1])}` (yardstick, not a peer)"))
        else:
            ver = sh([i.path, "--version"]).splitlines()
            commit = sh(["git", "-C", str(ROOT), "describe", "--always", "--dirty"])
            # The checkout's HEAD can be a benchmark-only commit: also name the last commit that
            # changed what the binary is built from, which is the code actually measured.
            src = sh(["git", "-C", str(ROOT), "log", "-1", "--format=%h", "--", "crates", "Cargo.toml", "Cargo.lock", ".cargo"])
            src = "" if src == "?" else src
            same = src and commit.startswith(src)
            where = f"git {commit}" if same or not src else f"git {commit}; pidone sources as of {src}"
            out.append((i.name, f"{i.path} ({ver[0] if ver else '?'}, {where})"))
    return out


def load_explanations() -> dict[str, str]:
    p = BENCH / "explanations.json"
    return json.loads(p.read_text()) if p.exists() else {}


def markdown(
    table: dict[str, dict[str, Stat]],
    res: Results,
    inits: list[Init],
    plan_name: str,
    plan: Plan,
    svg_name: str,
    extras: list[tuple[str, str, str]],
    env: dict,
) -> str:
    names = [i.name for i in inits if not i.error]
    cand = "pidone"
    L: list[str] = []
    w = L.append
    w("# Benchmarks: pidone vs tini, dumb-init and catatonit\n")
    w(
        f"Generated by `python3 bench/run.py{'' if plan_name == 'full' else ' --' + plan_name}` on "
        f"{env['date']} ({env['took']:.0f} s). Every number below comes from that one run: every init "
        "ran side by side on the same machine, interleaved in batches in random order, as PID 1 of a "
        "fresh PID namespace with its own /proc (as in a container). Ratios are to the **best of the "
        "three peers** on that row (1.00 = as good as the best peer; lower is better everywhere).\n"
    )
    w("## Reproduce\n")
    w("```sh\nsudo bash scripts/setup.sh                 # Debian packages of .ci/apt/*.txt (tini, dumb-init, catatonit, gcc)")
    w("cargo build --release -j 1 -p pidone      # the harness builds it too when it is missing")
    w("sudo python3 bench/run.py                  # full run, a few minutes; --quick for a short one\n```\n")
    w(
        "Options: `--inits tini,dumb-init,catatonit,pidone` (which inits), `--pidone PATH`, "
        "`--init NAME=PATH[,ARG...]` (any other init, e.g. `--init tini-dyn=/usr/bin/tini,--`), "
        "`--with-mini` (adds bench/src/miniinit.c in three waiting styles as a yardstick), "
        "`--no-fresh-copies` (measure the installed binaries, not copies made at the start), "
        "`--render JSON` (rewrite this page from a run's raw results, e.g. after editing "
        "bench/explanations.json). Raw samples of this run: [benchmarks.json](benchmarks.json); of "
        "every run: `bench/results/*.json`, with the driver's commands and the inits' stderr in "
        "`bench/results/*.log`. A smoke test of the harness (a few seconds): `sudo bash bench/smoke.sh`.\n"
    )
    w("## Machine\n")
    w("| | |\n|---|---|")
    for k, v in env["machine"]:
        w(f"| {k} | {v} |")
    for k, v in env["versions"]:
        w(f"| {k} | {v} |")
    w(
        f"| Iterations | startup {plan.startup_runs}, signals {plan.signal_n}, stops {plan.stop_runs}, "
        f"reaping {plan.reap_repeats}×{plan.reap_orphans:,} orphans, idle {plan.idle_instances}×{plan.idle_secs:g} s |\n"
    )
    failed = [i for i in inits if i.error]
    if failed:
        w("**Inits that could not be measured:**\n")
        for i in failed:
            w(f"- {i.name}: `{i.error.strip()[:300]}`")
        w("")
    w("## Summary\n")
    w(f"![ratio to the best peer per row]({svg_name})\n")
    has_cand = cand in names
    head = "| Row | best peer | " + (f"{cand} | ratio |" if has_cand else "") + " verdict |"
    w(head)
    w("|---|---|" + ("---|---|" if has_cand else "") + "---|")
    lost: list[str] = []
    for rid, title, unit, _ in ROWS:
        row = table.get(rid, {})
        bp = best_peer(row)
        if not bp:
            continue
        u = f" {unit}" if unit else ""
        cells = f"| {title} | {bp[0]} {fmt(bp[1])}{u} |"
        if has_cand and cand in row:
            r = ratio(row[cand].median, bp[1])
            ok = r <= 1.0 + 1e-9
            ci = None
            if rid in res.samples and cand in res.samples[rid] and bp[0] in res.samples[rid]:
                ci = ratio_ci(res.samples[rid][cand], res.samples[rid][bp[0]])
            if not ok:
                lost.append(rid)
            if ok:
                verdict = "✅ as good or better"
            elif ci and ci[0] <= 1.0:
                verdict = f"⚠️ worse, within noise (95% CI {ci[0]:.2f}–{ci[1]:.2f})"
            else:
                verdict = "❌ worse" + (f" (95% CI {ci[0]:.2f}–{ci[1]:.2f})" if ci else "")
            cells += f" {fmt(row[cand].median)}{u} | {fmt_ratio(r)} | {verdict} |"
        elif has_cand:
            cells += " – | – | not measured |"
        else:
            cells += " pidone not measured |"
        w(cells)
    w("")
    if has_cand:
        w(
            "95% CI: bootstrap interval (400 resamples) of the ratio of pidone's median to the best "
            "peer's; \"within noise\" means that interval includes 1.00.\n"
        )
        w("## Rows where pidone is not the best\n")
        if not lost:
            w("None: pidone is at least as good as the best peer on every row of this run.\n")
        expl = load_explanations()
        if lost and "_about" in expl:
            w(f"_{expl['_about']}_\n")
        for rid in lost:
            title = next(t for r, t, _, _ in ROWS if r == rid)
            w(f"- **{title}**: {expl.get(rid, 'no explanation recorded yet (bench/explanations.json).')}")
        w("")
    w("## Detailed results\n")
    w("Median, p10–p90 (the spread over all samples), n samples, and the ratio of the median to the best peer's.\n")
    for rid, title, unit, kind in ROWS:
        row = table.get(rid, {})
        if not row:
            continue
        bp = best_peer(row)
        u = f" [{unit}]" if unit else ""
        w(f"### {title}{u}\n")
        extra = " p99 |" if rid in ("signal", "signal_pinned") else ""
        w(f"| init | median | p10 – p90 |{extra} n | ratio to best peer |")
        w("|---|---|---|" + ("---|" if extra else "") + "---|---|")
        for n in ["bare", *names]:
            if n not in row:
                continue
            s = row[n]
            r = fmt_ratio(ratio(s.median, bp[1])) if bp and n != "bare" else "–"
            spread = f"{fmt(s.p10)} – {fmt(s.p90)}" if s.n > 1 and not math.isnan(s.p10) else "–"
            note = res.notes.get(rid, {}).get(n, "")
            p99 = f" {fmt(s.p99)} |" if extra else ""
            w(f"| {n}{' (' + note + ')' if note else ''} | {fmt(s.median)} | {spread} |{p99} {s.n} | {r} |")
        for n, e in res.errors.get(rid, {}).items():
            w(f"| {n} | failed: `{e.strip()[:160]}` | | | |")
        w("")
    for m in ("reap", "idle"):
        for n, e in res.errors.get(m, {}).items():
            w(f"- {m} failed for {n}: `{e.strip()[:300]}`")
    if "wchan" in res.notes:
        w("Where each idle init sleeps (`/proc/PID/wchan`): " + ", ".join(f"{n}: `{v}`" for n, v in sorted(res.notes["wchan"].items())) + ".\n")
    w("## What is measured, and how\n")
    w(METHOD.format(plan=plan, peak_source=res.notes.get("reap_peak", {}).get("source", "?")))
    w("## Reference numbers from the issue (medians, 2 vCPUs, another machine and another generator)\n")
    w(reference_table(table))
    w("## Tool benchmarks (bench/ps_*, bench/trace_*)\n")
    if extras:
        w("| script | key | value |\n|---|---|---|")
        for s, k, v in extras:
            cell = v.replace("|", "\\|")
            w(f"| {s} | {k} | {cell} |")
        w("")
    else:
        w("No bench/ps_* or bench/trace_* scripts were present in this run.\n")
    w(
        "Contract: in a full run (or with `--extras`) every entry point `bench/ps_*` or "
        "`bench/trace_*` runs (`.sh` with bash, `.py` with python3, anything else if executable; "
        "of `X.sh` and `X.py` only `X.sh`, the other being its helper; `.c` files are sources) "
        "from the repository root, without arguments, with `PIDONE=<the pidone binary>` (and "
        "`BENCH_QUICK=1` in a quick run) in its environment, within 300 s; each `key=value` line "
        "of its stdout is a row above, and a non-zero exit status is recorded as one, with the "
        "last line of its stderr.\n"
    )
    return "\n".join(L) + "\n"


METHOD = """\
The driver `bench/src/nsbench.c` clones every init with `CLONE_NEWPID | CLONE_NEWNS` (the child
calls `setsid()` as runc does for a container's process, makes its mounts private and mounts a
fresh /proc, then execs the init), so the init is PID 1 of its own namespace, exactly as in a
container; it reads the init's /proc entries by host pid from
outside. The command each init runs is `bench/src/child.c` (`bench-child`), or `/bin/true`.
Every time is CLOCK_MONOTONIC, which all namespaces share. "bare" is the command itself as PID 1.
Unless `--no-fresh-copies` is given, every init binary is first copied into one new directory and
the copies are measured: a binary's page-cache state moves its startup by ~70 µs (the same bytes in
two files of different ages, bench/ab/README.md), and copies made at the same moment sit in the
page cache alike. (dumb-init's glibc stays the system's shared one.)

- **Startup**: wall time from `clone()` to `waitpid()` returning for `INIT -- /bin/true` (the
  namespace teardown included), {plan.startup_runs} runs per init in batches of {plan.startup_batch},
  interleaved in random order with the other inits. The overhead row subtracts bare's median.
- **Footprint**: size on disk: the binary's `st_size` plus, for a dynamically linked one, the
  shared libraries `ldd` lists (what a `FROM scratch` image must ship; tini is measured as the
  static `tini-static`, Debian's dumb-init is linked against glibc);
  VmRSS, RssAnon, Threads from `/proc/PID/status` and the entries of `/proc/PID/fd`, read 0.5 s
  after the child (`bench-child idle`) reported ready.
- **Idle**: the increase of `voluntary_ctxt_switches` (every wake-up of a sleeping init is one)
  and of the time on CPU (`/proc/PID/schedstat`, ns) over {plan.idle_secs:g} s, scaled to 10 s, with
  {plan.idle_instances} instance(s) of every init idling at the same time.
- **Reaping**: `bench-child orphans N` forks N times; each child forks a grandchild and exits at
  once, the grandchild exits at once, so the init inherits N orphans (zombies, or about to be).
  Wall time runs from the generator's first fork until the namespace holds nothing but the init
  and the generator (every orphan reaped). Peak pending orphans: `{peak_source}` of a pids cgroup
  around the namespace, minus the init and the generator (so it counts up to 2 in-flight
  processes of the generator too). CPU: the init's own time on CPU (schedstat) between the
  first fork and the last reap, read while the init is still alive (the generator waits on stdin
  until the driver has read it). Bounded: never more than {plan.reap_cap} pending orphans (the
  generator waits above that) and a pids cgroup of {plan.reap_cap} + 256.
- **Signal forwarding**: `kill(init, SIGUSR1)` from the driver; the child's handler writes
  CLOCK_MONOTONIC to a pipe; latency = receive − send; {plan.signal_n} signals per init, one at a time,
  {plan.signal_gap_us} µs apart, in {plan.signal_n}/{plan.signal_batch} fresh namespaces interleaved
  with the other inits' (one instance's CPU placement moves its latency by more than the init
  does); median and p99. Bare: the same signal sent to the child directly.
  The "one CPU" row pins the driver, the init and the child to one CPU (affinity inherited
  through clone): no cross-CPU wake-up, so it shows the init's own path (its syscalls and
  context switches) without the placement noise of the free-running row.
- **Stop**: the child has a SIGTERM handler that `_exit(0)`s at once; `kill(init, SIGTERM)` →
  `waitpid()` of the init returns (namespace torn down). A fresh namespace per stop, 20 ms after
  the child reported ready.

The `setsid()` matters more than it looks: with the kernel's sched autogroup
(`/proc/sys/kernel/sched_autogroup_enabled` = 1 here) a session is a scheduling group. Without
it, the init and its child shared the driver's group, and dumb-init, whose child calls
`setsid()`, forwarded signals in 9–10 µs while every other init, and a 60-line C init, took
20–30 µs; with `MINIINIT_SETSID=1` (its child calls `setsid()` too) the C init took 10.5 µs.
With every init in a session of its own, as under runc, the gap narrows but does not vanish:
dumb-init's child is still alone in a scheduling group, the other inits' children share the
init's. The "one CPU" row is free of that effect.

Noise: the machine is shared (see the load average); the interleaving spreads that noise over all
inits alike, and p10–p90 shows how large it was.
"""

REFERENCE_ROWS = [
    # label, reference, [(metric, init)] of this run to show beside it, unit
    ("Startup", "tini 3.8 ms vs bare 2.5–2.9 ms", [("startup", "tini"), ("startup", "bare")], "ms"),
    ("Idle RSS", "catatonit 700 kB, tini 1272 kB (probably the dynamic tini)", [("rss", "catatonit"), ("rss", "tini")], "kB"),
    ("Idle wake-ups per 10 s", "tini 10 (a 1 s poll), dumb-init and catatonit 0",
     [("wakeups", "tini"), ("wakeups", "dumb-init"), ("wakeups", "catatonit")], ""),
    ("Reaping 20,000 orphans, init CPU", "dumb-init 261 ms, catatonit 348 ms, tini 540 ms",
     [("reap_cpu", "dumb-init"), ("reap_cpu", "catatonit"), ("reap_cpu", "tini")], "ms"),
    ("Signal forwarding", "~26 µs vs 15.6 µs direct",
     [("signal", "tini"), ("signal", "dumb-init"), ("signal", "catatonit"), ("signal", "bare")], "µs"),
    ("Stop", "~0.35 ms", [("stop", "tini"), ("stop", "dumb-init"), ("stop", "catatonit")], "ms"),
]


def reference_table(table: dict[str, dict[str, Stat]]) -> str:
    lines = ["| Row | reference (issue) | this run |", "|---|---|---|"]
    for label, ref, cells, unit in REFERENCE_ROWS:
        here = ", ".join(
            f"{n} {fmt(table[m][n].median)}{' ' + unit if unit else ''}" for m, n in cells if n in table.get(m, {})
        )
        lines.append(f"| {label} | {ref} | {here or '–'} |")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="fewer iterations (about a minute)")
    mode.add_argument("--smoke", action="store_true", help="a few iterations: does the harness work?")
    ap.add_argument("--inits", default=",".join(PEERS + ["pidone"]), help="comma-separated inits to run")
    ap.add_argument("--pidone", default=str(DEFAULT_PIDONE), help="the pidone binary")
    ap.add_argument("--init", action="append", default=[], metavar="NAME=PATH[,ARG...]", help="add or override an init")
    ap.add_argument("--no-build", action="store_true", help="do not build pidone when it is missing")
    ap.add_argument(
        "--no-fresh-copies",
        action="store_true",
        help="measure the installed binaries instead of copies made at the start of the run",
    )
    ap.add_argument(
        "--with-mini",
        action="store_true",
        help="also run bench/src/miniinit.c (sigwait, blocking signalfd, poll+signalfd): what the waiting style alone costs",
    )
    ap.add_argument("--out", help="markdown output (default: docs/BENCHMARKS.md for a full run)")
    ap.add_argument("--results", default=str(BENCH / "results"), help="directory for raw JSON and logs")
    ap.add_argument("--no-extras", action="store_true", help="skip bench/ps_* and bench/trace_* (run by default in a full run)")
    ap.add_argument("--extras", action="store_true", help="run bench/ps_* and bench/trace_* in a quick or smoke run too")
    ap.add_argument("--render", metavar="JSON", help="only rewrite the report from a results file of an earlier run")
    a = ap.parse_args()
    if a.render:
        return render(Path(a.render), a.out)

    if os.geteuid() != 0:
        sys.exit("bench: must run as root (it creates PID and mount namespaces)")
    plan_name = "smoke" if a.smoke else "quick" if a.quick else "full"
    plan = PLANS[plan_name]
    global ROWS
    ROWS = [(rid, t.replace("{orphans}", f"{plan.reap_orphans:,}"), u, k) for rid, t, u, k in ROWS]
    pidone = Path(a.pidone)
    inits_all = known_inits(pidone)
    build = ROOT / "target" / "bench"
    if a.with_mini:
        inits_all.update(mini_inits(build))
    for spec in a.init:
        name, _, rest = spec.partition("=")
        parts = rest.split(",")
        inits_all[name] = Init(name, parts[0], parts[1:])
    wanted = [n for n in a.inits.split(",") if n]
    if a.with_mini:
        wanted += [n for n in mini_inits(build) if n not in wanted]
    for n in wanted:
        if n not in inits_all:
            sys.exit(f"bench: unknown init {n!r} (known: {', '.join(inits_all)}; add one with --init)")
    inits = [inits_all[n] for n in wanted]

    results = Path(a.results)
    results.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    build_helpers(build)
    if "pidone" in wanted and not a.no_build and a.pidone == str(DEFAULT_PIDONE):
        try:
            build_pidone(pidone)
        except (subprocess.CalledProcessError, OSError) as e:
            say(f"could not build pidone: {e}")
    r = Runner(build, results / f"{plan_name}-{stamp}.log", verbose=False)
    t0 = dt.datetime.now(dt.timezone.utc)
    for i in inits:
        sanity(r, i)
        if i.error:
            say(f"{i.name} cannot be measured: {i.error}")
    ok = [i for i in inits if not i.error]
    if not ok:
        sys.exit("bench: no init can be measured")
    env = {"machine": machine(), "versions": versions(inits)}
    res = Results()
    copies = None if a.no_fresh_copies else fresh_copies(ok)
    try:
        run_all(r, ok, plan, res)
    finally:
        if copies:
            shutil.rmtree(copies, ignore_errors=True)
            for i in ok:
                i.path = i.orig or i.path
    env["fresh_copies"] = copies is not None
    remove_stale_cgroups()
    extras = run_extras(plan_name, pidone, r.log) if (plan_name == "full" or a.extras) and not a.no_extras else []
    env["took"] = (dt.datetime.now(dt.timezone.utc) - t0).total_seconds()
    env["date"] = t0.strftime("%Y-%m-%d %H:%M UTC")

    names = [i.name for i in ok]
    table = summarise(res, names)
    raw = {
        "plan": plan_name,
        "env": env,
        "inits": {i.name: {"path": i.path, "args": i.args, "error": i.error} for i in inits},
        "samples": res.samples,
        "values": res.values,
        "notes": res.notes,
        "errors": res.errors,
        "extras": extras,
        "summary": {rid: {n: vars(s) for n, s in row.items()} for rid, row in table.items()},
    }
    (results / f"{plan_name}-{stamp}.json").write_text(json.dumps(raw, indent=1, default=str))
    if plan_name == "full" and not a.out:
        (ROOT / "docs/benchmarks.json").write_text(json.dumps(raw, separators=(",", ":"), default=str) + "\n")
    write_report(a.out, results, plan_name, table, res, inits, extras, env)
    bad = sum(len(v) for v in res.errors.values())
    return 1 if bad else 0


def write_report(out_arg, results: Path, plan_name: str, table, res: Results, inits: list[Init], extras, env) -> None:
    plan = PLANS[plan_name]
    names = [i.name for i in inits if not i.error]
    out = Path(out_arg) if out_arg else (ROOT / "docs/BENCHMARKS.md" if plan_name == "full" else results / f"BENCHMARKS-{plan_name}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    svg = out.with_name("benchmarks.svg" if out.name == "BENCHMARKS.md" else out.stem + ".svg")
    svg.write_text(svg_chart(table, names, f"pidone benchmarks ({plan_name} run, {env['date']})"))
    out.write_text(markdown(table, res, inits, plan_name, plan, svg.name, extras, env))
    say(f"wrote {out} and {svg} ({env['took']:.0f} s)")


def render(path: Path, out_arg) -> int:
    """Rewrite the report of an earlier run (e.g. after editing bench/explanations.json)."""
    raw = json.loads(path.read_text())
    global ROWS
    plan = PLANS[raw["plan"]]
    ROWS = [(rid, t.replace("{orphans}", f"{plan.reap_orphans:,}"), u, k) for rid, t, u, k in ROWS]
    inits = [Init(n, i["path"], i["args"], error=i["error"]) for n, i in raw["inits"].items()]
    for i in inits:
        i.package = known_inits(DEFAULT_PIDONE).get(i.name, i).package
    res = Results(raw["samples"], raw["values"], raw["notes"], raw["errors"])
    env = raw["env"]
    env["machine"] = [tuple(x) for x in env["machine"]]
    env["versions"] = [tuple(x) for x in env["versions"]]
    table = summarise(res, [i.name for i in inits if not i.error])
    write_report(out_arg, path.parent, raw["plan"], table, res, inits, [tuple(x) for x in raw["extras"]], env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
