"""scene: crimes recorded at the scene on the officer's phone: photos and signatures as
stored (blobs with their SHA-256), photos linked to the crime, suspect descriptions and
signed witness statements; stored blobs, photos and statements protected against change
by the database

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 19:31:03.452334
"""

import sqlalchemy as sa
from alembic import op

import bluelamp.storage.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mobile_scene_blob",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["force_id"], ["access_force.id"], name=op.f("fk_mobile_scene_blob_force_id_access_force")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mobile_scene_blob")),
    )
    op.create_index(op.f("ix_mobile_scene_blob_force_id"), "mobile_scene_blob", ["force_id"], unique=False)

    op.create_table(
        "mobile_scene_photo",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("blob_id", sa.String(length=32), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("received_size", sa.Integer(), nullable=False),
        sa.Column("received_sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("location_source", sa.String(length=8), nullable=True),
        sa.Column("caption", sa.String(length=300), nullable=False),
        sa.Column("created_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["blob_id"], ["mobile_scene_blob.id"], name=op.f("fk_mobile_scene_photo_blob_id_mobile_scene_blob")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["records_event.id"], name=op.f("fk_mobile_scene_photo_event_id_records_event")
        ),
        sa.ForeignKeyConstraint(
            ["force_id"], ["access_force.id"], name=op.f("fk_mobile_scene_photo_force_id_access_force")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mobile_scene_photo")),
    )
    op.create_index("ix_mobile_scene_photo_event", "mobile_scene_photo", ["event_id", "created_at"], unique=False)

    op.create_table(
        "mobile_scene_statement",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("witness_id", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("declaration", sa.Text(), nullable=False),
        sa.Column("taken_by", sa.String(length=120), nullable=False),
        sa.Column("taken_by_name", sa.String(length=200), nullable=False),
        sa.Column("signed_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("signature_blob_id", sa.String(length=32), nullable=False),
        sa.Column("signature_sha256", sa.String(length=64), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["records_event.id"], name=op.f("fk_mobile_scene_statement_event_id_records_event")
        ),
        sa.ForeignKeyConstraint(
            ["force_id"], ["access_force.id"], name=op.f("fk_mobile_scene_statement_force_id_access_force")
        ),
        sa.ForeignKeyConstraint(
            ["signature_blob_id"],
            ["mobile_scene_blob.id"],
            name=op.f("fk_mobile_scene_statement_signature_blob_id_mobile_scene_blob"),
        ),
        sa.ForeignKeyConstraint(
            ["witness_id"], ["records_person.id"], name=op.f("fk_mobile_scene_statement_witness_id_records_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mobile_scene_statement")),
    )
    op.create_index(op.f("ix_mobile_scene_statement_event_id"), "mobile_scene_statement", ["event_id"], unique=False)
    op.create_index(
        op.f("ix_mobile_scene_statement_witness_id"), "mobile_scene_statement", ["witness_id"], unique=False
    )

    op.create_table(
        "mobile_scene_suspect",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.String(length=32), nullable=True),
        sa.Column("sex", sa.String(length=20), nullable=False),
        sa.Column("age_range", sa.String(length=40), nullable=False),
        sa.Column("height", sa.String(length=40), nullable=False),
        sa.Column("build", sa.String(length=40), nullable=False),
        sa.Column("clothing", sa.Text(), nullable=False),
        sa.Column("marks", sa.Text(), nullable=False),
        sa.Column("created_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["records_event.id"], name=op.f("fk_mobile_scene_suspect_event_id_records_event")
        ),
        sa.ForeignKeyConstraint(
            ["force_id"], ["access_force.id"], name=op.f("fk_mobile_scene_suspect_force_id_access_force")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["records_person.id"], name=op.f("fk_mobile_scene_suspect_person_id_records_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mobile_scene_suspect")),
    )
    op.create_index(op.f("ix_mobile_scene_suspect_event_id"), "mobile_scene_suspect", ["event_id"], unique=False)
    _protect()


# Evidence is never changed after it is stored: the stored bytes of a photo or signature,
# the photo's record (its hashes and location) and a signed witness statement. The
# database refuses UPDATE and DELETE on them, whoever asks (as the incident log, 0004).
GUARDS = [
    ("mobile_scene_blob", "mobile_scene_blob_kept", "stored photo or signature bytes cannot be changed"),
    ("mobile_scene_photo", "mobile_scene_photo_kept", "a photo taken at a scene cannot be changed"),
    ("mobile_scene_statement", "mobile_scene_statement_signed", "a signed witness statement cannot be changed"),
]


def _protect() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, name, message in GUARDS:
        if postgresql:
            op.execute(
                f"""
                CREATE FUNCTION {name}_refuse() RETURNS trigger AS $$
                BEGIN
                    RAISE EXCEPTION '{message}';
                END;
                $$ LANGUAGE plpgsql
                """
            )
            op.execute(
                f"CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {name}_refuse()"
            )
        else:
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {name}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )


def _unprotect() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, name, _ in GUARDS:
        if postgresql:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}_refuse()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {name}_no_delete")


def downgrade() -> None:
    _unprotect()
    op.drop_index(op.f("ix_mobile_scene_suspect_event_id"), table_name="mobile_scene_suspect")
    op.drop_table("mobile_scene_suspect")
    op.drop_index(op.f("ix_mobile_scene_statement_witness_id"), table_name="mobile_scene_statement")
    op.drop_index(op.f("ix_mobile_scene_statement_event_id"), table_name="mobile_scene_statement")
    op.drop_table("mobile_scene_statement")
    op.drop_index("ix_mobile_scene_photo_event", table_name="mobile_scene_photo")
    op.drop_table("mobile_scene_photo")
    op.drop_index(op.f("ix_mobile_scene_blob_force_id"), table_name="mobile_scene_blob")
    op.drop_table("mobile_scene_blob")
