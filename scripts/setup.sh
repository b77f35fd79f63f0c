#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian 12 machine for building and testing pidone.
# Installs the Debian packages listed in .ci/apt/*.txt (one name per line, # comments) and
# makes sure the Rust toolchain can build the static binary.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(cat .ci/apt/*.txt | sed 's/#.*//' | awk 'NF {print $1}' | sort -u)
missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (rustup) first" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt >/dev/null 2>&1 || true
