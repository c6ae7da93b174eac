"""Test fixtures: real databases (SQLite always; PostgreSQL+PostGIS when
BLUELAMP_TEST_BACKEND=postgresql), migrations run once, each test rolled back.

Under CI=true any skipped test fails: a missing database or browser must never
pass quietly.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from bluelamp.clock import Clock
from bluelamp.settings import Settings
from bluelamp.storage import Database, migrate

BACKEND = os.environ.get("BLUELAMP_TEST_BACKEND", "sqlite")
POSTGRES_ADMIN_URL = os.environ.get("BLUELAMP_TEST_POSTGRES_URL", "")
CHROMIUM = os.environ.get("BLUELAMP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- what every app under test costs
#
# Two costs that have nothing to do with what the tests assert took about half of each pass.


def _share_route_building() -> None:
    """Each app FastAPI builds analyses every route it serves on its first request (its
    dependencies and bodies, a pydantic schema per parameter): about 0.3 s of CPU per app,
    and the suite builds an app for most tests. The result depends only on the route and
    how it is included, never on the app's state (handlers find the app through the
    request), so it is built once per process here and shared by every app of the same
    routes. The one thing it holds of an app is where it looks up ``dependency_overrides``:
    the tests use none, and an app given some before its first request builds its own."""
    try:
        from fastapi.datastructures import DefaultPlaceholder
        from fastapi.routing import _EffectiveRouteContext
    except ImportError:  # another FastAPI: every app builds its own, as before
        return
    build = getattr(_EffectiveRouteContext.from_api_route, "__func__", None)
    if build is None:
        return

    class Same:
        """Equal only to the same object (and keeps it alive, so its id is never reused)."""

        __slots__ = ("value",)

        def __init__(self, value) -> None:
            self.value = value

        def __hash__(self) -> int:
            return id(self.value)

        def __eq__(self, other) -> bool:
            return isinstance(other, Same) and other.value is self.value

    def frozen(value):
        if isinstance(value, DefaultPlaceholder):
            return ("default", frozen(value.value))
        if isinstance(value, list | tuple | set | frozenset):
            return (type(value).__name__, *(frozen(v) for v in value))
        if isinstance(value, dict):
            return ("dict", *sorted((repr(k), frozen(v)) for k, v in value.items()))
        try:
            hash(value)
        except TypeError:  # a router, say: the very same one
            return Same(value)
        return value

    built: dict = {}
    lock = threading.Lock()

    def from_api_route(cls, *, original_route, include_context):
        provider = include_context.dependency_overrides_provider
        try:
            if getattr(provider, "dependency_overrides", None):
                raise TypeError("an app with dependency overrides")
            key = (Same(original_route),) + tuple(
                frozen(getattr(include_context, f.name))
                for f in dataclasses.fields(include_context)
                if f.name != "dependency_overrides_provider"
            )
        except TypeError:
            return build(cls, original_route=original_route, include_context=include_context)
        with lock:
            if key not in built:
                built[key] = build(cls, original_route=original_route, include_context=include_context)
            return built[key]

    _EffectiveRouteContext.from_api_route = classmethod(from_api_route)


_share_route_building()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes():
    """Every user the tests make has a password, and an argon2id hash at RFC 9106's
    parameters (64 MiB, three passes, four lanes) takes about half a second on two cores,
    as does checking one: that was a third of the time of the sign-in, admin and
    permission tests. In this process passwords are hashed and checked with argon2id at
    argon2-cffi's CHEAPEST parameters ("only for testing"): the same code, the same
    checks. The child processes the CLI tests start use the real parameters, and
    tests/test_signin.py checks them (this fixture's value is the real hasher)."""
    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from bluelamp.access import passwords

    production = passwords._HASHER
    hasher = PasswordHasher.from_parameters(CHEAPEST)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "_HASHER", hasher)
        patch.setattr(passwords, "_DUMMY_HASH", hasher.hash("bluelamp-no-such-user"))
        yield production  # for the test of the real parameters


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
    if report.skipped and os.environ.get("CI") == "true" and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"


def pytest_collection_modifyitems(config, items):
    """Tests for one backend are deselected (not skipped) on the other."""
    other = "sqlite_only" if BACKEND == "postgresql" else "postgres_only"
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker(other) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_report_header(config):
    return f"bluelamp backend: {BACKEND}"


# ---------------------------------------------------------------- databases


class DatabaseFactory:
    """Makes fresh, empty databases of the backend under test, and drops them after."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.created: list[str] = []

    def new_url(self, label: str = "db") -> str:
        if BACKEND == "postgresql":
            if not POSTGRES_ADMIN_URL:
                pytest.skip("BLUELAMP_TEST_POSTGRES_URL is not set; run `make test` to start PostgreSQL")
            name = f"bluelamp_test_{label}_{secrets.token_hex(4)}"
            admin = create_engine(
                make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
            )
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            self.created.append(name)
            return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        return f"sqlite:///{self.tmp / f'{label}-{secrets.token_hex(4)}.db'}"

    def copy_url(self, template_url: str, label: str = "copy") -> str:
        """A new database holding what the template holds (seeding once and copying is far
        quicker than seeding again). Nothing may be connected to the template: dispose of
        its engine first."""
        template = make_url(template_url)
        if BACKEND == "postgresql":
            name = f"bluelamp_test_{label}_{secrets.token_hex(4)}"
            admin = create_engine(
                make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
            )
            with admin.connect() as connection:
                # A command that ended may have left its pool's connections open.
                connection.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :d"),
                    {"d": template.database},
                )
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template.database}"'))
            admin.dispose()
            self.created.append(name)
            return make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        target = self.tmp / f"{label}-{secrets.token_hex(4)}.db"
        shutil.copyfile(template.database, target)
        wal = Path(f"{template.database}-wal")  # what a connection still open has not checkpointed
        if wal.exists():
            shutil.copyfile(wal, f"{target}-wal")
        return f"sqlite:///{target}"

    def drop_all(self) -> None:
        if BACKEND != "postgresql" or not self.created:
            return
        admin = create_engine(
            make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            for name in self.created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def migrated_database(database_factory) -> Iterator[Database]:
    """One database for the session, migrated once with Alembic (never create_all)."""
    database = Database.from_url(database_factory.new_url("suite"))
    migrate.upgrade(database)
    yield database
    database.dispose()


# Threads the app starts for its own background work: the trail writer, the relay's
# sender and listener (bluelamp-*), and asyncio.to_thread (the control room's sweep).
BACKGROUND_THREADS = ("bluelamp-",)


class SharedConnection(Database):
    """The test's database: every session on ONE connection, inside the test's outer
    transaction, each unit of work on a SAVEPOINT.

    Savepoints only nest: two threads using the connection at once release or roll back
    each other's savepoints ("no such savepoint", "nested transaction already
    deassociated"), at random moments, more often on a busy machine. The test and the
    requests it makes take turns (a request runs while the test waits for its answer);
    the app's background threads do not, so they are refused here, and the test fails
    naming the thread. An app under test runs with ``background_writer=False`` and
    without a relay unless a test wants the relay (and then gives it work that stays off
    the database)."""

    def __init__(self, engine, factory) -> None:
        super().__init__(engine, factory)
        self.refused: list[str] = []

    def _refuse_background_threads(self) -> None:
        name = threading.current_thread().name
        if name.startswith(BACKGROUND_THREADS):
            self.refused.append(name)
            raise RuntimeError(f"the app's background thread {name!r} used the test's shared connection")

    @contextmanager
    def unit_of_work(self):
        self._refuse_background_threads()
        with super().unit_of_work() as session:
            yield session

    @contextmanager
    def read(self):
        self._refuse_background_threads()
        with super().read() as session:
            yield session


@pytest.fixture
def db(migrated_database) -> Iterator[Database]:
    """The session database inside an outer transaction that is rolled back after the test.

    Code under test commits to SAVEPOINTs (join_transaction_mode="create_savepoint").
    """
    connection = migrated_database.engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    database = SharedConnection(migrated_database.engine, factory)
    yield database
    outer.rollback()
    connection.close()
    if database.refused:
        pytest.fail(
            f"background threads used the test's one connection: {sorted(set(database.refused))}; "
            "create the app with background_writer=False (see SharedConnection in tests/conftest.py)"
        )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(migrated_database) -> Settings:
    # The app under test shares the test's one connection (``db``) with every thread it
    # runs; the control room's background sweep would use it at random moments in the
    # middle of a request (tests/test_command_rules.py runs the sweep itself).
    return Settings(
        database_url=migrated_database.engine.url.render_as_string(hide_password=False),
        incident_sweep_seconds=24 * 3600,
    )


@pytest.fixture
def app(settings, db, clock):
    from bluelamp.web import create_app

    return create_app(settings, database=db, clock=clock, background_writer=False)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


# ---------------------------------------------------------------- live server and browser


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """A real Bluelamp server on loopback, in a thread, on its own migrated database."""

    def __init__(self, settings: Settings, database: Database) -> None:
        import uvicorn

        from bluelamp.web import create_app

        self.settings = settings
        self.database = database
        self.app = create_app(settings, database=database)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=settings.port, log_level="warning", ws="auto")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{settings.port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclasses.dataclass(frozen=True)
class Seeded:
    """A database seeded once per pass, to copy (``database_factory.copy_url``), never to
    use: ``url`` names it; ``report`` is what the seeding said (a SeedReport) and ``output``
    what the command printed, where a command seeded it."""

    url: str
    report: object = None
    output: str = ""


@pytest.fixture(scope="session")
def demo_force_template(database_factory) -> Seeded:
    """The demo force (``seed_demo``) on an empty migrated database. Seeding it took 5-15 s
    and four fixtures did it; they copy this instead."""
    from bluelamp.sim.demo import seed_demo

    url = database_factory.new_url("demo_force")
    database = Database.from_url(url)
    migrate.upgrade(database)
    with database.unit_of_work() as session:
        report = seed_demo(session, Clock())
    database.dispose()
    return Seeded(url, report)


@pytest.fixture
def demo_force(database_factory, demo_force_template) -> Iterator[Database]:
    """A database of the test's own holding the demo force as ``seed_demo`` left it."""
    database = Database.from_url(database_factory.copy_url(demo_force_template.url, "demo_force_copy"))
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def demo_command(database_factory) -> Seeded:
    """``bluelamp demo --no-serve`` on an empty database, run once per pass in this process
    (it seeds everything: the forces, their records, open data): what it printed, and the
    database it set up, to copy."""
    import contextlib
    import gc
    import io

    from bluelamp.cli import main

    url = database_factory.new_url("demo_command")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(printed):
        patch.setenv("BLUELAMP_DATABASE_URL", url)
        patch.setenv("COLUMNS", "250")
        status = main(["demo", "--no-serve"])
    assert status == 0, printed.getvalue()
    gc.collect()  # the command's engine and its connections, before the database is copied
    return Seeded(url, output=printed.getvalue())


@pytest.fixture(scope="session")
def live_server(database_factory, demo_force_template) -> Iterator[LiveServer]:
    """A server with the demo force seeded, shared by the browser tests."""
    url = database_factory.copy_url(demo_force_template.url, "live")
    database = Database.from_url(url)
    server = LiveServer(Settings(database_url=url, port=free_port()), database)
    server.start()
    yield server
    server.stop()
    database.dispose()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}; run `make test` to install it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class ConsoleLog:
    """What the page wrote to the browser console, and uncaught page errors."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []

    @property
    def errors(self) -> list[str]:
        return [text_ for kind, text_ in self.messages if kind in ("error", "pageerror")]


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB", timezone_id="Europe/London")
    page = context.new_page()
    console = ConsoleLog()
    page.on("console", lambda message: console.messages.append((message.type, message.text)))
    page.on("pageerror", lambda error: console.messages.append(("pageerror", str(error))))
    page.console_log = console
    yield page
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        artifacts = REPO / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / f"{request.node.name}.png"))
    context.close()
