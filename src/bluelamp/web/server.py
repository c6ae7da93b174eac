"""Starting the web server: every start-up check that can fail does so before
anything is written, with a one-line error."""

from __future__ import annotations

import errno
import socket

import uvicorn

from bluelamp.errors import ConfigError
from bluelamp.settings import Settings
from bluelamp.storage import Database, migrate, parse_database_url


def check_port_free(host: str, port: int) -> None:
    """Raise ConfigError when host:port cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} on {host} is already in use; choose another with --port", code="config.port_in_use"
                ) from None
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}", code="config.listen") from None


def prepare(settings: Settings) -> Database:
    """Check the settings, the port and the database; migrate a new SQLite file."""
    url = parse_database_url(settings.database_url)
    check_port_free(settings.host, settings.port)
    database = Database.from_url(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    database.check_writable()
    database.check()
    if url.get_backend_name() == "sqlite" and migrate.is_empty(database):
        migrate.upgrade(database)
    revision = migrate.current(database)
    if revision != migrate.head():
        raise ConfigError(
            f"the database schema is at {revision or 'nothing'}, not {migrate.head()}: run `bluelamp db upgrade`",
            code="config.schema_outdated",
        )
    return database


def run(settings: Settings, database: Database) -> None:
    """Serve until interrupted."""
    if settings.workers > 1:
        database.dispose()
        uvicorn.run(
            "bluelamp.web.asgi:build",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=settings.workers,
            log_level=settings.log_level,
            proxy_headers=True,
        )
        return
    from bluelamp.web.app import create_app

    app = create_app(settings, database=database, freeze_at_start=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level, proxy_headers=True)
