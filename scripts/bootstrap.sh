#!/usr/bin/env bash
# bootstrap.sh — install what a fresh Debian machine is missing, then `npm ci`.
#
# Idempotent and quiet when everything is present (a few dpkg/stat calls).
# Called first by `npm test`, `npm run selftests`, `npm run bench`, ...
# so that a fresh clone needs exactly the two commands in README.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages the project needs at run time and build time.
#   libunicorn2         the CPU emulator (through koffi)
#   clang-19 lld-19     the simulated kernel (aarch64) and BPF C programs (-target bpf)
#   llvm-19             llvm-objdump/llvm-readelf for dumps and tests
#   libbpf-dev          bpf_helpers.h, bpf_tracing.h, ... for the selftest programs
#   dwarves             pahole -J: BTF for the simulated kernel from DWARF
#   chromium            headless screenshot of the race timeline (one test)
PACKAGES=(libunicorn2 clang-19 lld-19 llvm-19 libbpf-dev dwarves chromium)

say() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  die "Node.js >= 20 is required (found $(node --version 2>/dev/null || echo none))"
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  while read -r pkg status; do
    [ "$status" = "installed" ] || missing+=("$pkg")
  done < <(for p in "${PACKAGES[@]}"; do
             s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
             echo "$p ${s:-absent}"
           done)
else
  die "dpkg-query not found: this bootstrap supports Debian/Ubuntu only; install ${PACKAGES[*]} by hand"
fi

if [ "${#missing[@]}" -gt 0 ]; then
  say "missing Debian packages: ${missing[*]}"
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: ${missing[*]}"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      SUDO=(sudo -n)
    else
      die "installing ${missing[*]} needs root; run as root or: sudo apt-get install ${missing[*]}"
    fi
  fi
  log=$(mktemp -t a64bpf-apt.XXXXXX)
  say "running apt-get update (log: $log)"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; die "apt-get update failed (full log: $log)"; }
  say "installing ${missing[*]} (this takes a minute or two)"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >>"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; die "apt-get install ${missing[*]} failed (full log: $log)"; }
  rm -f "$log"
fi

# npm ci when node_modules is absent or was installed from another lockfile.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.a64bpf-lock-sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund </dev/null >&2 || die "npm ci failed"
  echo "$lock_hash" > "$stamp"
fi
