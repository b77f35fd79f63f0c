#!/usr/bin/env bash
# The main job: pidone as PID 1 of a fresh PID namespace runs the bad-parent example (the seed's
# stuck shutdown), gets SIGTERM after 2 s the way `docker stop` sends it, explains who waits on
# whom, and stops the tree within its grace period.
#
#   bash scripts/demo.sh [PIDONE OPTIONS...]      e.g. --grace 4 --log-format json
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -j 2 --quiet
pidone=target/x86_64-unknown-linux-gnu/release/pidone
python=$(command -v /usr/bin/python3 || command -v python3)
grace_args=("$@")
[ ${#grace_args[@]} -gt 0 ] || grace_args=(--grace 6)

echo "demo: running '$pidone ${grace_args[*]} -- python3 examples/bad-parent/parent.py' as PID 1 of a new PID namespace" >&2
start=$(date +%s.%N)
unshare --pid --fork --mount-proc --kill-child -- "$pidone" "${grace_args[@]}" -- "$python" examples/bad-parent/parent.py &
outer=$!
# The namespace's PID 1 is the only child of the unshare process; only it is ever signalled.
init=""
for _ in $(seq 1 500); do
  init=$(awk '{print $1}' "/proc/$outer/task/$outer/children" 2>/dev/null || true)
  [ -n "$init" ] && grep -qE '^NSpid:.*[[:space:]]1$' "/proc/$init/status" 2>/dev/null && break
  init=""; sleep 0.01
done
[ -n "$init" ] || { echo "demo: the PID namespace did not start" >&2; wait "$outer"; exit 1; }
sleep 2
echo "demo: sending SIGTERM to pidone (host pid $init), as docker stop would" >&2
kill -TERM "$init"
# A hard limit, in case anything goes wrong: SIGKILL to the namespace's PID 1 ends the namespace.
( sleep 30; grep -qE '^NSpid:.*[[:space:]]1$' "/proc/$init/status" 2>/dev/null && kill -KILL "$init" ) &
guard=$!
set +e
wait "$outer"; rc=$?
set -e
kill "$guard" 2>/dev/null || true
end=$(date +%s.%N)
printf 'demo: pidone exited %d after %.2f s (137 = the stuck parent was SIGKILLed at the end of the grace period)\n' \
  "$rc" "$(echo "$end - $start" | bc -l)" >&2
