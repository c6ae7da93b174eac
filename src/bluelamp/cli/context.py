"""What every command needs: settings built once, a database, a console."""

from __future__ import annotations

import getpass
from functools import cached_property

from pydantic import ValidationError
from rich.console import Console

from bluelamp.access.policy import Actor
from bluelamp.clock import Clock
from bluelamp.errors import ConfigError
from bluelamp.settings import Settings
from bluelamp.storage import Database, parse_database_url


class CliContext:
    """Lazily builds settings and the database for a command."""

    def __init__(self) -> None:
        self.console = Console()
        self.clock = Clock()

    @cached_property
    def settings(self) -> Settings:
        try:
            return Settings()
        except ValidationError as exc:
            first = exc.errors()[0]
            name = "BLUELAMP_" + "_".join(str(p) for p in first["loc"]).upper()
            raise ConfigError(f"{name}: {first['msg']}", code="config.invalid") from None

    @cached_property
    def database(self) -> Database:
        parse_database_url(self.settings.database_url)
        return Database.from_url(self.settings.database_url, busy_timeout_ms=self.settings.sqlite_busy_timeout_ms)

    def actor(self, force_id: str | None = None) -> Actor:
        """The platform acting for whoever runs the command (recorded in the audit log)."""
        return Actor.system(force_id, f"cli:{getpass.getuser()}", via="cli")

    def ready_database(self) -> Database:
        """The database, checked reachable and at the newest schema."""
        from bluelamp.storage import migrate

        database = self.database
        database.require_existing()
        database.check()
        if migrate.current(database) != migrate.head():
            raise ConfigError(
                f"the database schema is at {migrate.current(database) or 'nothing'}, not {migrate.head()}: "
                "run `bluelamp db upgrade`",
                code="config.schema_outdated",
            )
        return database
