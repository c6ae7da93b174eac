"""Alembic environment: uses the engine Bluelamp hands over; batch mode on SQLite."""

from alembic import context
from sqlalchemy import JSON

from bluelamp.storage.base import metadata
from bluelamp.storage.migrate import load_models

load_models()

# Tables that extensions own (PostGIS), never Bluelamp's to create or drop.
EXTENSION_TABLES = {"spatial_ref_sys"}
# Full-text search objects written by hand in migration 0006 (an FTS5 table and its shadow
# tables on SQLite, an expression index on PostgreSQL): not in the models, never to drop.
TEXT_SEARCH_PREFIXES = ("records_event_fts", "ix_records_event_text")


def include_name(name, type_, parent_names) -> bool:
    if name and name.startswith(TEXT_SEARCH_PREFIXES):
        return False
    return not (type_ == "table" and name in EXTENSION_TABLES)


def render_item(type_, obj, autogen_context):
    """Write Bluelamp's portable JSON type (JSONB on PostgreSQL) as itself in new migrations."""
    if type_ == "type" and isinstance(obj, JSON):
        autogen_context.imports.add("from bluelamp.storage.base import JSONType")
        return "JSONType"
    return False


config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
