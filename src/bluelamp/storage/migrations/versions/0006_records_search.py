"""records search: candidate look-up indexes on person names; full-text search over event
summaries and narratives (FTS5 on SQLite, a tsvector GIN index on PostgreSQL)

On SQLite, ``records_event_fts`` is an FTS5 table over ``records_event`` (external
content, keyed by the event's rowid) kept in step by three triggers. A later migration
that recreates ``records_event`` (batch mode) must create the triggers again and rebuild
the index (``INSERT INTO records_event_fts(records_event_fts) VALUES ('rebuild')``).
On PostgreSQL the expression index ``ix_records_event_text`` serves
``to_tsvector('english', summary || ' ' || narrative)`` (records.search uses the same expression).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 17:05:00
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The text search expression on PostgreSQL; records/lookup/queries.py builds the same one.
PG_TEXT = "to_tsvector('english', coalesce(summary, '') || ' ' || coalesce(narrative, ''))"

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE records_event_fts USING fts5("
    "summary, narrative, content='records_event', content_rowid='rowid', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER records_event_fts_insert AFTER INSERT ON records_event BEGIN "
    "INSERT INTO records_event_fts(rowid, summary, narrative) VALUES (new.rowid, new.summary, new.narrative); END",
    "CREATE TRIGGER records_event_fts_delete AFTER DELETE ON records_event BEGIN "
    "INSERT INTO records_event_fts(records_event_fts, rowid, summary, narrative) "
    "VALUES ('delete', old.rowid, old.summary, old.narrative); END",
    "CREATE TRIGGER records_event_fts_update AFTER UPDATE OF summary, narrative ON records_event BEGIN "
    "INSERT INTO records_event_fts(records_event_fts, rowid, summary, narrative) "
    "VALUES ('delete', old.rowid, old.summary, old.narrative); "
    "INSERT INTO records_event_fts(rowid, summary, narrative) VALUES (new.rowid, new.summary, new.narrative); END",
    "INSERT INTO records_event_fts(records_event_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    op.create_index(
        "ix_records_person_name_family_given",
        "records_person_name",
        ["force_id", "family_key", "given_key", "dob_year"],
        unique=False,
    )
    op.create_index(
        "ix_records_person_name_given_year", "records_person_name", ["force_id", "given_key", "dob_year"], unique=False
    )
    op.create_index(
        "ix_records_person_name_given_family",
        "records_person_name",
        ["force_id", "given_key", "family_norm"],
        unique=False,
    )
    op.create_index(
        "ix_records_person_name_year_keys",
        "records_person_name",
        ["force_id", "dob_year", "family_key", "given_key"],
        unique=False,
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute(f"CREATE INDEX ix_records_event_text ON records_event USING gin ({PG_TEXT})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS records_event_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS records_event_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_records_event_text")
    op.drop_index("ix_records_person_name_year_keys", table_name="records_person_name")
    op.drop_index("ix_records_person_name_given_family", table_name="records_person_name")
    op.drop_index("ix_records_person_name_given_year", table_name="records_person_name")
    op.drop_index("ix_records_person_name_family_given", table_name="records_person_name")
