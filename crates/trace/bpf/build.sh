#!/usr/bin/env bash
# Rebuild the committed BPF objects from their C sources:
#     bash crates/trace/bpf/build.sh            # writes crates/trace/bpf/obj/*.bpf.o
#     bash crates/trace/bpf/build.sh OUTDIR     # writes OUTDIR/*.bpf.o (used by check.sh)
# Needs Debian's clang, llvm (llvm-strip) and libbpf-dev (bpf/bpf_helpers.h); see
# .ci/apt/trace.txt. The output is reproducible: no build path enters the object
# (-fdebug-prefix-map, and the DWARF is stripped; the BTF that CO-RE needs is kept).
# Objects are byte-identical only with the same clang major version, recorded in
# obj/CLANG_VERSION: check.sh compares that first.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/obj}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
command -v clang >/dev/null || { echo "build.sh: clang not found (apt-get install clang llvm libbpf-dev)" >&2; exit 1; }
command -v llvm-strip >/dev/null || { echo "build.sh: llvm-strip not found (apt-get install llvm)" >&2; exit 1; }
[ -f /usr/include/bpf/bpf_helpers.h ] || { echo "build.sh: bpf/bpf_helpers.h not found (apt-get install libbpf-dev)" >&2; exit 1; }
multiarch="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
cd "$here"
for src in *.bpf.c; do
  obj="$out/${src%.c}.o"
  clang -target bpf -O2 -g -Wall -Werror \
    -I"/usr/include/$multiarch" -I"$here" \
    -fdebug-prefix-map="$here"=. -fno-ident \
    -c "$src" -o "$obj"
  llvm-strip -g "$obj"
done
clang --version | head -n1 | sed -E 's/.*clang version ([0-9]+).*/clang \1/' > "$out/CLANG_VERSION"
