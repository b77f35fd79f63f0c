#!/usr/bin/env bash
# Overhead and attach time of `pidone trace syscalls -p`, against bpftrace and strace, in one
# run. A benchmark, not a test: run it by hand, as root, on a quiet machine.
#     bash bench/trace_bench.sh            # 10 million getppid() calls, pinned to CPU 1
#     TRACE_BENCH_N=1000000 TRACE_BENCH_CPU=0 TRACE_BENCH_RUNS=3 bash bench/trace_bench.sh
# Needs gcc, strace, bpftrace (Debian's; installed here for the benchmark only) and the
# release binary (built if missing). Prints machine-readable lines: trace_overhead_ratio=,
# bpftrace_overhead_ratio=, strace_overhead_ratio=, trace_attach_ms=, bpftrace_attach_ms=.
# Results are recorded in docs/tracing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${TRACE_BENCH_N:-10000000}"
CPU="${TRACE_BENCH_CPU:-1}"
RUNS="${TRACE_BENCH_RUNS:-3}"
PIDONE="${PIDONE:-target/x86_64-unknown-linux-gnu/release/pidone}"
[ "$(id -u)" = 0 ] || { echo "trace_bench: run as root (BPF)" >&2; exit 1; }
for tool in gcc strace bpftrace taskset python3; do
  command -v "$tool" >/dev/null || { echo "trace_bench: $tool is missing (apt-get install $tool)" >&2; exit 1; }
done
[ -x "$PIDONE" ] || cargo build --release -j 2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -o "$tmp/trace_getppid" bench/trace_getppid.c
echo "# $(uname -r), $(nproc) CPUs, $(bpftrace --version), $(strace -V | head -n1)"
python3 bench/trace_bench.py "$PIDONE" "$tmp/trace_getppid" "$N" "$CPU" "$RUNS"
