"""Storage: the engine factory, migrations, units of work and time handling."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text

from bluelamp.access.model import Force
from bluelamp.access.policy import Actor
from bluelamp.access.service import AddForce, add_force
from bluelamp.clock import Clock
from bluelamp.errors import ConfigError, Unavailable
from bluelamp.storage import Database, migrate, parse_database_url
from tests.conftest import BACKEND

SYSTEM = Actor.system(None, "test")


def test_migrations_bring_the_schema_to_the_newest_revision(migrated_database):
    assert migrate.current(migrated_database) == migrate.head()
    tables = inspect(migrated_database.engine).get_table_names()
    assert "access_force" in tables
    assert "alembic_version" in tables


def test_constraints_follow_the_naming_convention(migrated_database):
    pk = inspect(migrated_database.engine).get_pk_constraint("access_force")
    if BACKEND == "postgresql":  # SQLite does not keep primary-key names
        assert pk["name"] == "pk_access_force"
    assert pk["constrained_columns"] == ["id"]


@pytest.mark.sqlite_only
def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path):
    database = Database.from_url(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_ms=1234)
    with database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 1234


@pytest.mark.sqlite_only
def test_a_writer_kept_waiting_past_the_busy_timeout_is_told_to_retry_and_nothing_is_kept(tmp_path):
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    holder, waiter = Database.from_url(url), Database.from_url(url, busy_timeout_ms=100)
    migrate.upgrade(holder)
    with holder.unit_of_work() as session:  # holds the one write lock while the other waits
        add_force(session, SYSTEM, AddForce("staffordshire", "Staffordshire Police"), Clock())
        with pytest.raises(Unavailable) as refused, waiter.unit_of_work() as other:
            add_force(other, SYSTEM, AddForce("west-yorkshire", "West Yorkshire Police"), Clock())
    assert refused.value.code == "storage.busy"
    assert refused.value.extra["retry_after"] == 1  # the API's 503 carries Retry-After: 1
    with waiter.read() as session:
        assert [f.id for f in session.query(Force).all()] == ["staffordshire"]
    holder.dispose()
    waiter.dispose()


@pytest.mark.postgres_only
def test_postgis_is_available_after_migration(migrated_database):
    with migrated_database.engine.connect() as connection:
        version = connection.execute(text("SELECT postgis_version()")).scalar()
        assert version.startswith("3")
        distance = connection.execute(
            text("SELECT ST_DistanceSphere(ST_MakePoint(-2.180, 53.003), ST_MakePoint(-2.117, 52.806))")
        ).scalar()
        assert 21_000 < distance < 23_000  # Stoke-on-Trent to Stafford, about 22 km


def test_a_unit_of_work_commits_together_or_not_at_all(db, clock):
    with pytest.raises(RuntimeError), db.unit_of_work() as session:
        add_force(session, SYSTEM, AddForce("west-midlands", "West Midlands Police"), clock)
        raise RuntimeError("something failed half way")
    with db.read() as session:
        assert session.get(Force, "west-midlands") is None
    with db.unit_of_work() as session:
        add_force(session, SYSTEM, AddForce("west-midlands", "West Midlands Police"), clock)
    with db.read() as session:
        assert session.get(Force, "west-midlands").name == "West Midlands Police"


def test_times_come_back_timezone_aware_utc(db, clock):
    bst = timezone(timedelta(hours=1))
    created = datetime(2026, 7, 1, 12, 30, tzinfo=bst)
    with db.unit_of_work() as session:
        force = add_force(session, SYSTEM, AddForce("cumbria", "Cumbria Constabulary"), clock)
        force.created_at = created
    with db.read() as session:
        stored = session.get(Force, "cumbria").created_at
    assert stored.tzinfo is not None
    assert stored == datetime(2026, 7, 1, 11, 30, tzinfo=UTC)


def test_naive_times_are_refused(db, clock):
    with pytest.raises(Exception, match="naive datetime"), db.unit_of_work() as session:
        force = add_force(session, SYSTEM, AddForce("durham", "Durham Constabulary"), clock)
        force.created_at = datetime(2026, 1, 1, 9, 0)


@pytest.mark.parametrize(
    "url",
    ["foo", "mysql://u@h/db", "postgresql+asyncpg://u@h/db", "sqlite+aiosqlite:///x.db"],
)
def test_unusable_database_urls_are_refused_clearly(url):
    with pytest.raises(ConfigError) as caught:
        parse_database_url(url)
    assert "\n" not in caught.value.detail


def test_postgresql_urls_use_psycopg_3():
    assert parse_database_url("postgresql://u:p@h:5432/db").drivername == "postgresql+psycopg"


def test_an_unreachable_database_is_reported_as_unavailable():
    from tests.conftest import free_port

    database = Database.from_url(f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    with pytest.raises(Unavailable, match="cannot be reached"):
        database.check()


def _include(name, type_, parent_names) -> bool:
    """Leave out what extensions own and the hand-written full-text search objects (0006)."""
    return name != "spatial_ref_sys" and not (name or "").startswith(("records_event_fts", "ix_records_event_text"))


def test_migrations_match_the_models(migrated_database):
    """A model change without its migration fails here (write one with autogenerate)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from bluelamp.storage import metadata

    migrate.load_models()
    with migrated_database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False, "include_name": _include})
        differences = compare_metadata(context, metadata)
    assert differences == []


@pytest.mark.parametrize("count", [0, 1, 999, 1000, 1001, 27_176])
def test_many_row_statements_cover_every_row_once_with_few_distinct_sizes(tmp_path, count):
    """The trail writer and the archive import insert through storage.many_rows: every row
    lands once, in statements of at most the size asked for."""
    from bluelamp.storage import many_rows

    connection = sqlite3.connect(tmp_path / "rows.db")
    connection.execute("CREATE TABLE t (a INTEGER, b TEXT)")
    sizes = many_rows.statement_sizes(count, 1000)
    assert sum(sizes) == count and max(sizes, default=0) <= 1000
    assert len(set(sizes)) <= 11  # 1,000 and powers of two: few statements ever compiled
    rows = [(n, f"row {n}") for n in range(count)]
    many_rows.run(connection.execute, lambda size: many_rows.insert_sql("t", ("a", "b"), size), rows, 1000)
    assert connection.execute("SELECT a, b FROM t ORDER BY a").fetchall() == rows
    connection.close()
