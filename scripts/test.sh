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
  for pidfile in "$work"/redis-*.pid; do [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; done
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

# Two Redis servers, one per pass: pub/sub channels are server-wide, and the passes run
# side by side.
redis_urls=("" "")
if command -v redis-server >/dev/null; then
  for n in 0 1; do
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
      --pidfile "$work/redis-$n.pid" --logfile "$work/redis-$n.log" >/dev/null
    redis_urls[$n]="redis://127.0.0.1:$redis_port/0"
  done
fi

run_pass() {  # name, then env assignments for pytest
  local name=$1; shift
  echo "test: === $name ==="
  env "$@" .venv/bin/pytest -p no:cacheprovider --durations=12 "${PYTEST_ARGS[@]}"
  local rc=$?
  if [ $rc -eq 5 ]; then echo "test: $name ran no tests: that is a failure" >&2; rc=1; fi
  return $rc
}

# Compiled once here, not in every Python process: with PYTHONDONTWRITEBYTECODE set (as
# on CI) each pass and each `bluelamp` child process the CLI tests start would compile
# the whole of src/ again.
.venv/bin/python -m compileall -q src tests >/dev/null || true

PYTEST_ARGS=("$@")
status=0
# The two passes run side by side (two cores; each pass is mostly one Python process),
# each into its own log, printed whole when it ends: the suite takes about half the time.
# BLUELAMP_TEST_SERIAL=1 runs them one after the other, printing as they go.
# (Side by side, the OIDC tests once failed now and then: their apps ran the trail
# writer's thread, whose first purge used the test's one connection at a random moment;
# a busy machine made it collide more often. tests/conftest.py now refuses such threads.)
if [ -n "${BLUELAMP_TEST_POSTGRES_URL:-}" ] && [ "${BLUELAMP_TEST_SERIAL:-}" != "1" ]; then
  run_pass "SQLite" BLUELAMP_TEST_BACKEND=sqlite BLUELAMP_TEST_REDIS_URL="${redis_urls[0]}" >"$work/sqlite.log" 2>&1 &
  sqlite_pid=$!
  run_pass "PostgreSQL+PostGIS" BLUELAMP_TEST_BACKEND=postgresql BLUELAMP_TEST_REDIS_URL="${redis_urls[1]}" >"$work/postgresql.log" 2>&1 &
  pg_pid=$!
  echo "test: SQLite and PostgreSQL+PostGIS passes running side by side (logs follow when each ends)"
  wait "$sqlite_pid" || status=1
  cat "$work/sqlite.log"
  wait "$pg_pid" || status=1
  cat "$work/postgresql.log"
else
  run_pass "SQLite" BLUELAMP_TEST_BACKEND=sqlite BLUELAMP_TEST_REDIS_URL="${redis_urls[0]}" || status=1
  if [ -n "${BLUELAMP_TEST_POSTGRES_URL:-}" ]; then
    run_pass "PostgreSQL+PostGIS" BLUELAMP_TEST_BACKEND=postgresql BLUELAMP_TEST_REDIS_URL="${redis_urls[1]}" || status=1
  else
    [ "${CI:-}" = "true" ] && status=1
  fi
fi
[ $status -eq 0 ] && echo "test: all passes green" || echo "test: FAILED" >&2
exit $status
