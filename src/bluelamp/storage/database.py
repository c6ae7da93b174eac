"""The engine factory and units of work."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bluelamp.errors import CATALOGUE, ConfigError, Unavailable

CATALOGUE.register(
    "storage.busy",
    Unavailable,
    "SQLite's write lock stayed taken for longer than the busy timeout (many writers at once): try again "
    "after Retry-After seconds; nothing of the request was kept.",
)

WRITE_OPTION = "bluelamp_write"


def parse_database_url(raw: str) -> URL:
    """Parse and check a database URL; a clear ConfigError when it is not usable."""
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigError(
            f"BLUELAMP_DATABASE_URL is not a database URL: {raw!r} "
            "(expected sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DB)",
            code="config.database_url",
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise ConfigError(f"unsupported SQLite driver {url.drivername!r}", code="config.database_url")
        return url
    if backend in ("postgresql", "postgres"):
        if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
            return url.set(drivername="postgresql+psycopg")
        raise ConfigError(
            f"unsupported PostgreSQL driver {url.drivername!r}; use postgresql:// (psycopg 3)",
            code="config.database_url",
        )
    raise ConfigError(
        f"BLUELAMP_DATABASE_URL names an unsupported database {backend!r}; use sqlite or postgresql",
        code="config.database_url",
    )


def make_engine(raw_url: str, *, busy_timeout_ms: int = 5000, **engine_args) -> Engine:
    """Create an engine: SQLite with WAL, foreign keys and a busy timeout; PostgreSQL through psycopg 3."""
    url = parse_database_url(raw_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000}, **engine_args)
        _configure_sqlite(engine, busy_timeout_ms, in_memory=url.database in (None, "", ":memory:"))
        return engine
    return create_engine(url, pool_pre_ping=True, **engine_args)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, *, in_memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin, so that
        # SAVEPOINTs and transactional DDL work (SQLAlchemy's pysqlite notes).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # A unit of work takes the write lock at once (BEGIN IMMEDIATE): a deferred
        # transaction that reads, then writes after another writer committed, would
        # fail with SQLITE_BUSY_SNAPSHOT instead of waiting its turn.
        immediate = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """An engine and the session factory every unit of work comes from."""

    def __init__(self, engine: Engine, session_factory: sessionmaker[Session] | None = None) -> None:
        self.engine = engine
        self.session_factory = session_factory or sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, raw_url: str, *, busy_timeout_ms: int = 5000) -> Database:
        return cls(make_engine(raw_url, busy_timeout_ms=busy_timeout_ms))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """A session whose changes commit together at the end, or roll back on any error."""
        session = self.session_factory()
        try:
            if self.engine.dialect.name == "sqlite":
                session.connection(execution_options={WRITE_OPTION: True})
            yield session
            session.commit()
            for callback in session.info.pop("after_commit", []):
                callback()
        except OperationalError as exc:
            session.rollback()
            if _busy(exc):
                # Another writer held SQLite's one write lock for longer than the busy timeout
                # (a surge far beyond one file's writes): a 503 to try again, not a 500.
                raise Unavailable(
                    "the database is busy with other changes: try again in a moment",
                    code="storage.busy",
                    extra={"retry_after": 1},
                ) from None
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed.

        Closing (not rolling back) ends the transaction without expiring what was
        loaded, so records stay usable for rendering after the block.
        """
        session = self.session_factory()
        try:
            yield session
        finally:
            session.close()

    def check(self) -> None:
        """Raise Unavailable unless the database answers a query."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except (OperationalError, DBAPIError) as exc:
            raise Unavailable(f"the database cannot be reached: {_first_line(exc)}") from None

    @property
    def sqlite_path(self) -> Path | None:
        """The database file, for a file-backed SQLite database; None otherwise."""
        url = self.engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database)
        return None

    def require_existing(self) -> None:
        """Raise ConfigError when a SQLite file does not exist yet (rather than create it)."""
        path = self.sqlite_path
        if path is not None and not path.exists():
            raise ConfigError(
                f"there is no database at {path}: run `bluelamp db upgrade` to create it",
                code="config.database_missing",
            )

    def check_writable(self) -> None:
        """Raise ConfigError unless the database can be written (a read-only SQLite file, say)."""
        path = self.sqlite_path
        if path is not None:
            target = path if path.exists() else path.parent.resolve()
            if not os.access(target, os.W_OK):
                raise ConfigError(
                    f"the database file {path} is not writable (check its permissions)",
                    code="config.database_readonly",
                )
            wal = path.with_name(path.name + "-wal")
            if path.exists() and not os.access(path.parent.resolve(), os.W_OK) and not wal.exists():
                raise ConfigError(
                    f"the folder of {path} is not writable; SQLite needs it for its journal",
                    code="config.database_readonly",
                )

    def dispose(self) -> None:
        self.engine.dispose()


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text_ = str(original).strip().splitlines()
    return text_[0] if text_ else type(original).__name__


def _busy(exc: OperationalError) -> bool:
    """Whether SQLite gave up waiting for its write lock ("database is locked")."""
    return isinstance(exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig)
