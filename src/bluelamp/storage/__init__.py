"""Storage: the engine factory, units of work, table metadata and migrations.

One storage layer for SQLite (the default, an embedded file) and PostgreSQL with
PostGIS. Capabilities declare tables on ``Base``; only storage code, ``model.py``
and ``queries.py`` modules import SQLAlchemy.
"""

from bluelamp.storage.base import Base, metadata
from bluelamp.storage.database import Database, make_engine, parse_database_url

__all__ = ["Base", "Database", "make_engine", "metadata", "parse_database_url"]
