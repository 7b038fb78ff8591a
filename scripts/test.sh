#!/usr/bin/env bash
# The test command (README.md): installs what the tests need on a fresh Debian machine, then runs
# every test of the workspace. Tests that read ../shared/data say they are skipped when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  # Packages the integration tests use; installed only when missing.
  for p in ${MINETRACE_TEST_PACKAGES:-tcpreplay iproute2 softflowd}; do
    dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
  done
  if [ ${#need_pkgs[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  fi
fi

if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
  cargo test --workspace --doc
else
  cargo test --workspace --no-fail-fast "$@"
fi
