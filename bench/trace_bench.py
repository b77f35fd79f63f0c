#!/usr/bin/env python3
"""Benchmark of `pidone trace syscalls -p`, run by bench/trace_bench.sh (see there).

Overhead: a loop of N getppid() calls pinned to one CPU, timed inside the loop program
(bench/trace_getppid.c), untraced, under `pidone trace syscalls -p`, under bpftrace counting
the same tracepoint per syscall id for that pid, and under `strace -c -f`. The loop starts
only once the tracer is attached (it waits for a byte on a pipe). Ratios are per call:
(traced ns/call) / (untraced ns/call). strace runs N/100 calls: at ~500x it would take
minutes otherwise; the ratio is per call, so it compares.

Attach time: from exec of the tracer to the moment it is attached. pidone: its readiness
line on stderr. bpftrace (which has no such line; "Attaching 1 probe..." is printed before
it attaches): the first event, printed from the same probe on a process already making
getppid calls back to back, so the first hit comes well under a microsecond after the attach.
"""
import os
import signal
import statistics
import subprocess
import sys
import time

PIDONE, PROG, N, CPU, RUNS = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
TIMEOUT = 600


def loop(n, tracer=None):
    """Run the loop of n calls; tracer(pid) starts a tracer and returns a stop function."""
    r, w = os.pipe()
    p = subprocess.Popen(["taskset", "-c", CPU, PROG, str(n), str(r)], pass_fds=(r,),
                         stdout=subprocess.PIPE, text=True)
    os.close(r)
    stop = tracer(p.pid) if tracer else None
    os.write(w, b"g")
    os.close(w)
    out, _ = p.communicate(timeout=TIMEOUT)
    report = stop() if stop else ""
    return int(out.strip()) / n, report


def pidone_tracer(pid):
    t = subprocess.Popen([PIDONE, "trace", "syscalls", "-p", str(pid), "--top", "3"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = t.stderr.readline()
    assert "pidone: trace: attached" in line, line

    def stop():
        t.send_signal(signal.SIGINT)
        out, _ = t.communicate(timeout=TIMEOUT)
        return out
    return stop


def bpftrace_tracer(pid):
    prog = "tracepoint:raw_syscalls:sys_enter /pid == %d/ { @[args->id] = count(); }" % pid
    t = subprocess.Popen(["bpftrace", "-e", prog], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    line = t.stdout.readline()
    assert "Attaching" in line, line
    time.sleep(3)  # "Attaching" comes before the attach: leave it ample time (not measured)

    def stop():
        t.send_signal(signal.SIGINT)
        out, _ = t.communicate(timeout=TIMEOUT)
        return out
    return stop


def strace_loop(n):
    out = subprocess.run(["strace", "-c", "-f", "-o", "/dev/null", "taskset", "-c", CPU, PROG, str(n)],
                         stdout=subprocess.PIPE, text=True, timeout=TIMEOUT, check=True).stdout
    return int(out.strip()) / n


def attach_pidone():
    idle = subprocess.Popen(["sleep", "60"])
    try:
        t0 = time.monotonic()
        t = subprocess.Popen([PIDONE, "trace", "syscalls", "-p", str(idle.pid)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        line = t.stderr.readline()
        ms = (time.monotonic() - t0) * 1000
        assert "attached" in line, line
        t.send_signal(signal.SIGINT)
        t.wait(timeout=30)
        return ms
    finally:
        idle.kill()
        idle.wait()


def attach_bpftrace():
    busy = subprocess.Popen(["taskset", "-c", CPU, PROG, "2000000000"], stdout=subprocess.DEVNULL)
    try:
        prog = 'tracepoint:raw_syscalls:sys_enter /pid == %d/ { printf("hit\\n"); exit(); }' % busy.pid
        t0 = time.monotonic()
        t = subprocess.Popen(["bpftrace", "-e", prog], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        for line in t.stdout:
            if line.startswith("hit"):
                break
        ms = (time.monotonic() - t0) * 1000
        t.wait(timeout=30)
        return ms
    finally:
        busy.kill()
        busy.wait()


runs = {"untraced": [], "pidone": [], "bpftrace": []}
reports = []
# Interleaved, so that a noisy neighbour slows every mode alike; the best of each is kept
# (on a shared machine noise only ever adds time).
for _ in range(RUNS):
    runs["untraced"].append(loop(N)[0])
    ns, report = loop(N, pidone_tracer)
    runs["pidone"].append(ns)
    reports.append(report)
    runs["bpftrace"].append(loop(N, bpftrace_tracer)[0])
for report in reports:
    getppid = [l for l in report.splitlines() if l.strip().endswith("getppid")]
    assert getppid and int(getppid[0].split()[0]) >= N, "pidone counted: " + report
base, pid_ns, bpf_ns = (min(runs[k]) for k in ("untraced", "pidone", "bpftrace"))
n_strace = max(N // 100, 1000)
st_ns = strace_loop(n_strace)
def spaced(f):
    time.sleep(0.2)  # let the previous tracer's teardown finish
    return f()


pa_all = [spaced(attach_pidone) for _ in range(15)]
ba_all = [spaced(attach_bpftrace) for _ in range(7)]
pa, ba = statistics.median(pa_all), statistics.median(ba_all)

fmt = lambda vs: " ".join("%.1f" % v for v in vs)
print(f"# {N} getppid calls on CPU {CPU}, {RUNS} interleaved runs each, ns per call (best first):")
for k in runs:
    print(f"#   {k:<9} {min(runs[k]):7.1f}   runs: {fmt(runs[k])}")
print(f"#   strace    {st_ns:7.1f}   ({n_strace} calls)")
print(f"# pidone counted: {getppid[0].strip()}")
print(f"# attach ms, pidone: {fmt(pa_all)}")
print(f"# attach ms, bpftrace: {fmt(ba_all)}")
print(f"# attach ms, best: pidone {min(pa_all):.1f}, bpftrace {min(ba_all):.1f}")
print(f"untraced_ns_per_call={base:.1f}")
print(f"trace_overhead_ratio={pid_ns / base:.2f}")
print(f"bpftrace_overhead_ratio={bpf_ns / base:.2f}")
print(f"strace_overhead_ratio={st_ns / base:.0f}")
print(f"trace_attach_ms={pa:.1f}")
print(f"bpftrace_attach_ms={ba:.1f}")
print(f"attach_speedup={ba / pa:.1f}")
