"""disposal: a disposed crime's investigation log, scene photos, witness statements and
their stored bytes can be deleted (MoPI disposal); nothing else may delete them, and no
one may change them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:12:41.118203
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The investigation log (0005), the photos and signed statements of a scene and their stored
# bytes (0009) were refused any UPDATE or DELETE. Disposing of a crime under MoPI
# (records/mopi.py) must remove them, so a DELETE is now allowed only once the row's event
# is disposed of (records_event.disposed_at set, in the same transaction before the deletes)
# and, for stored bytes, only once no photo or statement refers to them any more. UPDATE
# stays refused as before.
#
# (table, trigger name as in its migration, when a row may be deleted (SQL on OLD), message)
_DISPOSED = "EXISTS (SELECT 1 FROM records_event WHERE records_event.id = OLD.event_id AND disposed_at IS NOT NULL)"
_UNREFERENCED = (
    "NOT EXISTS (SELECT 1 FROM mobile_scene_photo WHERE mobile_scene_photo.blob_id = OLD.id) "
    "AND NOT EXISTS (SELECT 1 FROM mobile_scene_statement WHERE mobile_scene_statement.signature_blob_id = OLD.id)"
)
GUARDS = [
    (
        "records_investigation_log",
        "records_investigation_log",
        _DISPOSED,
        "the investigation log is append-only (entries are deleted only when the crime is disposed of)",
    ),
    (
        "mobile_scene_photo",
        "mobile_scene_photo_kept",
        _DISPOSED,
        "a photo taken at a scene cannot be changed (it is deleted only when its crime is disposed of)",
    ),
    (
        "mobile_scene_statement",
        "mobile_scene_statement_signed",
        _DISPOSED,
        "a signed witness statement cannot be changed (it is deleted only when its crime is disposed of)",
    ),
    (
        "mobile_scene_blob",
        "mobile_scene_blob_kept",
        _UNREFERENCED,
        "stored photo or signature bytes cannot be changed (they are deleted only after their photo or statement)",
    ),
]

# The PostgreSQL trigger each table had for UPDATE OR DELETE, and the function it runs.
_OLD_POSTGRESQL = {
    "records_investigation_log": (
        "records_investigation_log_append_only",
        "records_investigation_log_refuse_change",
    ),
    "mobile_scene_photo": ("mobile_scene_photo_kept", "mobile_scene_photo_kept_refuse"),
    "mobile_scene_statement": ("mobile_scene_statement_signed", "mobile_scene_statement_signed_refuse"),
    "mobile_scene_blob": ("mobile_scene_blob_kept", "mobile_scene_blob_kept_refuse"),
}
# The messages of the SQLite DELETE triggers they replace (0005, 0009).
_OLD_SQLITE_MESSAGES = {
    "records_investigation_log": "the investigation log is append-only",
    "mobile_scene_photo": "a photo taken at a scene cannot be changed",
    "mobile_scene_statement": "a signed witness statement cannot be changed",
    "mobile_scene_blob": "stored photo or signature bytes cannot be changed",
}


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    postgresql = _postgresql()
    for table, name, allowed, message in GUARDS:
        delete_guard = f"{name}_delete_guard"
        if postgresql:
            trigger, refuse = _OLD_POSTGRESQL[table]
            # The same refusal as before, for UPDATE only.
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
            op.execute(f"CREATE TRIGGER {trigger} BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {refuse}()")
            # (a trigger's WHEN cannot hold a subquery in PostgreSQL: the function decides)
            op.execute(
                f"""
                CREATE FUNCTION {delete_guard}() RETURNS trigger AS $$
                BEGIN
                    IF {allowed} THEN
                        RETURN OLD;
                    END IF;
                    RAISE EXCEPTION '{message}';
                END;
                $$ LANGUAGE plpgsql
                """
            )
            op.execute(
                f"CREATE TRIGGER {delete_guard} BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {delete_guard}()"
            )
        else:
            op.execute(f"DROP TRIGGER {name}_no_delete")
            op.execute(
                f"CREATE TRIGGER {delete_guard} BEFORE DELETE ON {table} FOR EACH ROW "
                f"WHEN NOT ({allowed}) BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )


def downgrade() -> None:
    postgresql = _postgresql()
    for table, name, _, _ in GUARDS:
        delete_guard = f"{name}_delete_guard"
        if postgresql:
            trigger, refuse = _OLD_POSTGRESQL[table]
            op.execute(f"DROP TRIGGER IF EXISTS {delete_guard} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {delete_guard}()")
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
            op.execute(
                f"CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {refuse}()"
            )
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {delete_guard}")
            op.execute(
                f"CREATE TRIGGER {name}_no_delete BEFORE DELETE ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{_OLD_SQLITE_MESSAGES[table]}'); END"
            )
