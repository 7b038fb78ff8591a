#!/usr/bin/env bash
# Installs PostgreSQL from Debian's packages (when missing), starts a throwaway cluster on a
# loopback port as an unprivileged user, creates a database, and prints the export line:
#   eval "$(scripts/ci-postgres.sh)"   ->   MINETRACE_TEST_POSTGRES=postgres://...
# Env: PGPORT (default 55432), PGDIR (default /tmp/minetrace-pg).
set -euo pipefail
PORT="${PGPORT:-55432}"
DIR="${PGDIR:-/tmp/minetrace-pg}"
DB=minetrace_test
USER_NAME=minetrace

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
  else
    echo "postgresql is not installed and this is not root" >&2
    exit 1
  fi
fi
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

# initdb refuses to run as root: use the postgres system user (or nobody) when root.
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  if id postgres >/dev/null 2>&1; then OWNER=postgres; else OWNER=nobody; fi
  RUN_AS=(runuser -u "$OWNER" --)
else
  OWNER="$(id -un)"
fi

if ! "${RUN_AS[@]}" "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
  rm -rf "$DIR"
  mkdir -p "$DIR"
  chown "$OWNER" "$DIR" 2>/dev/null || true
  "${RUN_AS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres -A trust >/dev/null
  "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=on -c max_connections=200" start >/dev/null
fi
PSQL=("${RUN_AS[@]}" "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 -q)
"${PSQL[@]}" -tc "SELECT 1 FROM pg_roles WHERE rolname = '$USER_NAME'" | grep -q 1 \
  || "${PSQL[@]}" -c "CREATE ROLE $USER_NAME LOGIN PASSWORD 'minetrace'"
"${PSQL[@]}" -tc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 \
  || "${PSQL[@]}" -c "CREATE DATABASE $DB OWNER $USER_NAME"
echo "export MINETRACE_TEST_POSTGRES=postgres://$USER_NAME:minetrace@127.0.0.1:$PORT/$DB"
