"""Alembic environment: uses the engine Bluelamp hands over; batch mode on SQLite."""

from alembic import context

from bluelamp.storage.base import metadata
from bluelamp.storage.migrate import load_models

load_models()
config = context.config
engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
