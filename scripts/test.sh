#!/usr/bin/env bash
# The whole test suite: on SQLite, then again on a throwaway PostgreSQL+PostGIS
# cluster on loopback, with Redis for the live-feed tests. Stops what it starts,
# also on failure. Extra arguments go to pytest (e.g. scripts/test.sh -k audit).
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh || exit 1
scripts/system-deps.sh || exit 1

work=$(mktemp -d /tmp/bluelamp-test.XXXXXX)
pg_data="$work/pg"
cleanup() {
  if [ -f "$pg_data/postmaster.pid" ]; then as_pg "$pgbin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1; fi
  if [ -f "$work/redis.pid" ]; then kill "$(cat "$work/redis.pid")" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -n "$pgbin" ] && [ -x "$pgbin/initdb" ]; then
  pg_port=$(free_port)
  [ "$(id -u)" -eq 0 ] && chown postgres "$work"
  as_pg "$pgbin/initdb" -D "$pg_data" -U bluelamp --auth=trust -E UTF8 --locale=C.UTF-8 >"$work/initdb.log" 2>&1 \
    || { cat "$work/initdb.log"; exit 1; }
  as_pg "$pgbin/pg_ctl" -D "$pg_data" -l "$work/pg.log" -w start \
    -o "-c listen_addresses=127.0.0.1 -p $pg_port -k $work -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null \
    || { cat "$work/pg.log"; exit 1; }
  export BLUELAMP_TEST_POSTGRES_URL="postgresql://bluelamp@127.0.0.1:$pg_port/postgres"
  echo "test: PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port"
else
  echo "test: PostgreSQL not found; the PostgreSQL pass will fail under CI" >&2
fi

if command -v redis-server >/dev/null; then
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$work/redis.pid" --logfile "$work/redis.log" >/dev/null
  export BLUELAMP_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0"
fi

run_pass() {  # name, then env assignments for pytest
  local name=$1; shift
  echo "test: === $name ==="
  env "$@" .venv/bin/pytest -p no:cacheprovider "${PYTEST_ARGS[@]}"
  local rc=$?
  if [ $rc -eq 5 ]; then echo "test: $name ran no tests: that is a failure" >&2; rc=1; fi
  return $rc
}

PYTEST_ARGS=("$@")
status=0
run_pass "SQLite" BLUELAMP_TEST_BACKEND=sqlite || status=1
if [ -n "${BLUELAMP_TEST_POSTGRES_URL:-}" ]; then
  run_pass "PostgreSQL+PostGIS" BLUELAMP_TEST_BACKEND=postgresql || status=1
else
  [ "${CI:-}" = "true" ] && status=1
fi
[ $status -eq 0 ] && echo "test: all passes green" || echo "test: FAILED" >&2
exit $status
