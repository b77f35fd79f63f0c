#!/usr/bin/env python3
"""Benchmark: a full `pidone ps` snapshot vs procps `ps -eo pid,ppid,stat,wchan,cmd`.

    sudo python3 bench/ps_bench.py [--pidone PATH] [--procs N] [--runs R]

Starts N (default 10,000) sleeping processes as the children of PID 1 of a FRESH PID namespace
(`unshare --pid --fork --mount-proc`), under a cgroup pids limit (N + 200) so a bug cannot
turn into a fork bomb, times both tools R times (median) listing every process of the
machine, then kills the namespace by SIGKILL to its PID 1 (host pid) and removes the cgroup.
The last line is machine-readable: `ps_snapshot_ratio=<pidone median / ps median>`
(below 1.0: pidone is faster).

Needs root (cgroup, namespace), python3, util-linux (unshare), procps (ps).
"""
import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

# Runs as PID 1 inside the namespace: spawn N `sleep` processes (posix_spawn: vfork+exec, so
# the spawning is fast and each child is a small exec'd `sleep`), then report and wait.
INNER = r"""
import os, sys, signal
n = int(sys.argv[1])
sleep = "/bin/sleep" if os.path.exists("/bin/sleep") else "/usr/bin/sleep"
for i in range(n):
    os.posix_spawn(sleep, ["sleep", "3600"], os.environ)
print("ready", flush=True)
signal.pause()
"""


def pids_cgroup(limit):
    """Create a pids cgroup (v1 or v2) with pids.max = limit; return its directory."""
    name = f"pidone-ps-bench-{os.getpid()}"
    for root in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        if not os.path.isdir(root):
            continue
        if root != "/sys/fs/cgroup/pids":
            ctl = os.path.join(root, "cgroup.controllers")
            if not os.path.exists(ctl) or "pids" not in open(ctl).read().split():
                continue
            try:
                with open(os.path.join(root, "cgroup.subtree_control"), "w") as f:
                    f.write("+pids")
            except OSError:
                pass
        path = os.path.join(root, name)
        try:
            os.mkdir(path)
            with open(os.path.join(path, "pids.max"), "w") as f:
                f.write(str(limit))
            return root, path
        except OSError:
            try:
                os.rmdir(path)
            except OSError:
                pass
    sys.exit("ps_bench: no cgroup pids controller found (needed for the pids limit); run as root")


def ns_init(outer):
    """The host pid of the namespace's PID 1: the only child of the unshare process."""
    for _ in range(500):
        try:
            kids = open(f"/proc/{outer}/task/{outer}/children").read().split()
        except OSError:
            kids = []
        if kids:
            pid = int(kids[0])
            status = open(f"/proc/{pid}/status").read()
            nspid = [l for l in status.splitlines() if l.startswith("NSpid:")][0].split()[1:]
            if len(nspid) >= 2 and nspid[-1] == "1":
                return pid
        time.sleep(0.01)
    sys.exit("ps_bench: the namespace's PID 1 did not appear")


def timed(cmd, runs):
    times = []
    lines = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, timeout=120).stdout
        times.append(time.perf_counter() - t0)
        lines = out.count(b"\n")
    return statistics.median(times), times, lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pidone", default="target/x86_64-unknown-linux-gnu/release/pidone")
    ap.add_argument("--procs", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    for tool in ("unshare", "ps"):
        if not shutil.which(tool):
            sys.exit(f"ps_bench: `{tool}` not found (Debian: util-linux, procps)")
    if not os.access(a.pidone, os.X_OK):
        sys.exit(f"ps_bench: {a.pidone} not found: build it with `cargo build --release`")

    root, cg = pids_cgroup(a.procs + 200)
    # This script and everything it starts (the namespace included) count against the limit.
    with open(os.path.join(cg, "cgroup.procs"), "w") as f:
        f.write(str(os.getpid()))
    unshare = init = None
    try:
        unshare = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", "--",
             sys.executable, "-c", INNER, str(a.procs)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        init = ns_init(unshare.pid)
        line = unshare.stdout.readline().decode().strip()
        if line != "ready":
            sys.exit(f"ps_bench: the namespace did not start its processes ({line!r})")
        total = len([d for d in os.listdir("/proc") if d.isdigit()])
        print(f"processes on the machine: {total} ({a.procs} sleeping in the bench namespace)")
        ps_cmd = ["ps", "-eo", "pid,ppid,stat,wchan,cmd"]
        pd_cmd = [a.pidone, "ps"]
        # One warm-up each, so both read a warm dentry cache.
        timed(ps_cmd, 1)
        timed(pd_cmd, 1)
        ps_med, ps_all, ps_lines = timed(ps_cmd, a.runs)
        pd_med, pd_all, pd_lines = timed(pd_cmd, a.runs)
        fmt = lambda xs: " ".join(f"{x * 1000:.0f}" for x in xs)
        print(f"procps ps -eo pid,ppid,stat,wchan,cmd: median {ps_med * 1000:.0f} ms  runs(ms) {fmt(ps_all)}  lines {ps_lines}")
        print(f"pidone ps:                             median {pd_med * 1000:.0f} ms  runs(ms) {fmt(pd_all)}  lines {pd_lines}")
        # For reference: `pidone why` reads everything (threads, fds of every process) to find
        # pipe writers; this is its cost on the same machine.
        why_med, why_all, _ = timed([a.pidone, "why", str(init)], 3)
        print(f"pidone why (full snapshot with fds):   median {why_med * 1000:.0f} ms  runs(ms) {fmt(why_all)}")
        print(f"ps_snapshot_ratio={pd_med / ps_med:.2f}")
    finally:
        # Kill the namespace: SIGKILL to ITS PID 1 (re-checked), never anything else.
        if init is not None:
            try:
                st = open(f"/proc/{init}/status").read()
                if [l for l in st.splitlines() if l.startswith("NSpid:")][0].split()[-1] == "1":
                    os.kill(init, signal.SIGKILL)
            except (OSError, IndexError):
                pass
        if unshare is not None:
            try:
                unshare.wait(timeout=60)
            except subprocess.TimeoutExpired:
                unshare.kill()
                unshare.wait()
        # Leave the cgroup, wait for the killed processes to be gone from it, remove it.
        with open(os.path.join(root, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))
        for _ in range(600):
            try:
                os.rmdir(cg)
                break
            except OSError:
                time.sleep(0.05)


if __name__ == "__main__":
    main()
