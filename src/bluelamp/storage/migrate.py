"""Run Alembic migrations programmatically (``bluelamp db upgrade``, start-up, tests)."""

from __future__ import annotations

import importlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from bluelamp.storage.database import Database

MIGRATIONS = Path(__file__).parent / "migrations"

# Every capability's tables, so that Alembic autogenerate sees the whole schema.
MODEL_MODULES = [
    "bluelamp.access.model",
    "bluelamp.tracking.model",
    "bluelamp.command.model",
    "bluelamp.records.model",
    "bluelamp.idempotency.model",
    "bluelamp.notebook.model",
    "bluelamp.mobile.model",
    "bluelamp.opendata.model",
]


def load_models() -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = database.engine
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (the newest by default)."""
    command.upgrade(alembic_config(database), revision)


def current(database: Database) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str:
    """The newest revision this code knows."""
    script = ScriptDirectory.from_config(alembic_config_for_scripts())
    return script.get_current_head()


def alembic_config_for_scripts() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def is_empty(database: Database) -> bool:
    """True when the database holds no tables at all (a new SQLite file)."""
    with database.engine.connect() as connection:
        return not inspect(connection).get_table_names()
