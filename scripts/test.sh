#!/usr/bin/env bash
# The test command (README.md): installs what the tests need on a fresh Debian machine, then runs
# every test of the workspace. Tests that read ../shared/data say they are skipped when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  # Packages the integration tests use; installed only when missing.
  for p in ${MINETRACE_TEST_PACKAGES:-tcpreplay iproute2 softflowd nats-server chromium chromium-driver fonts-wqy-microhei}; do
    dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
  done
  if [ ${#need_pkgs[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
  fi
fi

# PostgreSQL for the storage and API tests (they run on SQLite always, and on PostgreSQL when
# MINETRACE_TEST_POSTGRES is set). CI sets MINETRACE_REQUIRE_POSTGRES=1 so a failed start fails.
if [ -z "${MINETRACE_TEST_POSTGRES:-}" ]; then
  if pg_env="$(scripts/ci-postgres.sh)"; then
    eval "$pg_env"
  elif [ "${MINETRACE_REQUIRE_POSTGRES:-0}" = 1 ]; then
    echo "PostgreSQL could not be started" >&2
    exit 1
  else
    echo "note: PostgreSQL unavailable; PostgreSQL storage tests are skipped" >&2
  fi
fi

if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
  cargo test --workspace --doc
else
  cargo test --workspace --no-fail-fast "$@"
fi
