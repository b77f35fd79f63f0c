#!/usr/bin/env bash
# Everything CI checks, in order: set-up, formatting, lints, the whole test suite.
# Must run as root: the tests create PID namespaces and (for the e2e tests) containers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo fmt --all --check
cargo clippy --workspace --all-targets -j 2 -- -D warnings
bash crates/trace/bpf/check.sh   # the committed BPF objects match their sources
cargo build --release -j 2
bash bench/smoke.sh          # the benchmark harness runs against every init (a few seconds)
cargo test --workspace -j 2 -- --test-threads=2
