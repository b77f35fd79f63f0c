#!/usr/bin/env bash
# Verify that the committed BPF objects (obj/*.bpf.o) are exactly what build.sh makes from
# the committed C sources: rebuild into a temporary directory and compare byte for byte.
# Exit 0 when they match, 1 with the differing files named otherwise.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Build from a copy in another directory, so a build path leaking into an object shows up.
cp "$here"/*.c "$here"/*.h "$here"/build.sh "$tmp"/
mkdir "$tmp/out"
bash "$tmp/build.sh" "$tmp/out"
want="$(cat "$here/obj/CLANG_VERSION")"
have="$(cat "$tmp/out/CLANG_VERSION")"
if [ "$want" != "$have" ]; then
  echo "check.sh: the committed objects were built with $want, this machine has $have;" \
       "objects are only byte-identical with the same clang major version" >&2
  exit 1
fi
status=0
for src in "$here"/*.bpf.c; do
  name="$(basename "${src%.c}").o"
  if [ ! -f "$here/obj/$name" ]; then
    echo "check.sh: obj/$name is missing: run bash crates/trace/bpf/build.sh" >&2; status=1
  elif ! cmp -s "$here/obj/$name" "$tmp/out/$name"; then
    echo "check.sh: obj/$name differs from its source: run bash crates/trace/bpf/build.sh and commit" >&2; status=1
  fi
done
for obj in "$here"/obj/*.bpf.o; do
  [ -f "$here/$(basename "${obj%.o}").c" ] || { echo "check.sh: $obj has no source" >&2; status=1; }
done
[ $status -eq 0 ] && echo "check.sh: BPF objects match their sources ($have)"
exit $status
