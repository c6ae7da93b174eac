"""Test fixtures: real databases (SQLite always; PostgreSQL+PostGIS when
BLUELAMP_TEST_BACKEND=postgresql), migrations run once, each test rolled back.

Under CI=true any skipped test fails: a missing database or browser must never
pass quietly.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
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


@pytest.fixture
def db(migrated_database) -> Iterator[Database]:
    """The session database inside an outer transaction that is rolled back after the test.

    Code under test commits to SAVEPOINTs (join_transaction_mode="create_savepoint").
    """
    connection = migrated_database.engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield Database(migrated_database.engine, factory)
    outer.rollback()
    connection.close()


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


@pytest.fixture(scope="session")
def live_server(database_factory) -> Iterator[LiveServer]:
    """A server with the demo force seeded, shared by the browser tests."""
    from bluelamp.sim.demo import seed_demo

    url = database_factory.new_url("live")
    database = Database.from_url(url)
    migrate.upgrade(database)
    with database.unit_of_work() as session:
        seed_demo(session, Clock())
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
