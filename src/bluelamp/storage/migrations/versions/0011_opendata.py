"""opendata: the public street crimes, outcomes and stops and searches, their anonymous
map points and the months loaded; neighbourhoods with events and priorities; and the
stop-and-search record that the monthly publication draws on

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 22:34:11.314362
"""

import sqlalchemy as sa
from alembic import op

import bluelamp.storage.base
from bluelamp.storage.base import JSONType

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opendata_month",
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("loaded_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["force_id"], ["access_force.id"], name=op.f("fk_opendata_month_force_id_access_force")
        ),
        sa.PrimaryKeyConstraint("force_id", "month", "kind", name=op.f("pk_opendata_month")),
    )
    op.create_table(
        "opendata_neighbourhood",
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("url_force", sa.String(length=300), nullable=True),
        sa.Column("population", sa.String(length=20), nullable=False),
        sa.Column("centre_lat", sa.Float(), nullable=False),
        sa.Column("centre_lon", sa.Float(), nullable=False),
        sa.Column("contact_details", JSONType, nullable=False),
        sa.Column("links", JSONType, nullable=False),
        sa.Column("locations", JSONType, nullable=False),
        sa.Column("people", JSONType, nullable=False),
        sa.Column("boundary", JSONType, nullable=False),
        sa.Column("updated_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["force_id"], ["access_force.id"], name=op.f("fk_opendata_neighbourhood_force_id_access_force")
        ),
        sa.PrimaryKeyConstraint("force_id", "id", name=op.f("pk_opendata_neighbourhood")),
    )
    op.create_table(
        "opendata_neighbourhood_event",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("neighbourhood_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("start_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("end_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("contact_details", JSONType, nullable=False),
        sa.ForeignKeyConstraint(
            ["force_id"], ["access_force.id"], name=op.f("fk_opendata_neighbourhood_event_force_id_access_force")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_neighbourhood_event")),
    )
    with op.batch_alter_table("opendata_neighbourhood_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_opendata_neighbourhood_event_nbhd", ["force_id", "neighbourhood_id", "start_at"], unique=False
        )

    op.create_table(
        "opendata_neighbourhood_priority",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("neighbourhood_id", sa.String(length=64), nullable=False),
        sa.Column("issue", sa.Text(), nullable=False),
        sa.Column("issue_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("action_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["force_id"], ["access_force.id"], name=op.f("fk_opendata_neighbourhood_priority_force_id_access_force")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_neighbourhood_priority")),
    )
    with op.batch_alter_table("opendata_neighbourhood_priority", schema=None) as batch_op:
        batch_op.create_index("ix_opendata_neighbourhood_priority_nbhd", ["force_id", "neighbourhood_id"], unique=False)

    op.create_table(
        "opendata_outcome",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("persistent_id", sa.String(length=64), nullable=False),
        sa.Column("category_code", sa.String(length=60), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("street_name", sa.String(length=200), nullable=False),
        sa.Column("lsoa_code", sa.String(length=12), nullable=False),
        sa.Column("lsoa_name", sa.String(length=100), nullable=False),
        sa.Column("reported_by", sa.String(length=100), nullable=False),
        sa.Column("falls_within", sa.String(length=100), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["force_id"], ["access_force.id"], name=op.f("fk_opendata_outcome_force_id_access_force")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_outcome")),
    )
    with op.batch_alter_table("opendata_outcome", schema=None) as batch_op:
        batch_op.create_index("ix_opendata_outcome_force_month", ["force_id", "month"], unique=False)
        batch_op.create_index("ix_opendata_outcome_month_lat", ["month", "lat"], unique=False)
        batch_op.create_index("ix_opendata_outcome_persistent", ["persistent_id"], unique=False)

    op.create_table(
        "opendata_point",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("street_name", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("households", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["force_id"], ["access_force.id"], name=op.f("fk_opendata_point_force_id_access_force")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_point")),
    )
    with op.batch_alter_table("opendata_point", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_opendata_point_force_id"), ["force_id"], unique=False)
        batch_op.create_index("ix_opendata_point_lat", ["lat", "lon"], unique=False)

    op.create_table(
        "opendata_stop",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=25), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("involved_person", sa.Boolean(), nullable=False),
        sa.Column("operation", sa.Boolean(), nullable=True),
        sa.Column("operation_name", sa.String(length=200), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("street_name", sa.String(length=200), nullable=False),
        sa.Column("gender", sa.String(length=20), nullable=True),
        sa.Column("age_range", sa.String(length=20), nullable=True),
        sa.Column("self_defined_ethnicity", sa.String(length=120), nullable=True),
        sa.Column("officer_defined_ethnicity", sa.String(length=40), nullable=True),
        sa.Column("legislation", sa.String(length=120), nullable=True),
        sa.Column("object_of_search", sa.String(length=120), nullable=True),
        sa.Column("outcome", sa.String(length=120), nullable=False),
        sa.Column("outcome_id", sa.String(length=60), nullable=True),
        sa.Column("outcome_linked", sa.Boolean(), nullable=True),
        sa.Column("removal_of_outer_clothing", sa.Boolean(), nullable=True),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["force_id"], ["access_force.id"], name=op.f("fk_opendata_stop_force_id_access_force")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_stop")),
    )
    with op.batch_alter_table("opendata_stop", schema=None) as batch_op:
        batch_op.create_index("ix_opendata_stop_force_month", ["force_id", "month"], unique=False)
        batch_op.create_index("ix_opendata_stop_month_lat", ["month", "lat"], unique=False)

    op.create_table(
        "opendata_street",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("persistent_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("street_name", sa.String(length=200), nullable=False),
        sa.Column("lsoa_code", sa.String(length=12), nullable=False),
        sa.Column("lsoa_name", sa.String(length=100), nullable=False),
        sa.Column("outcome_category", sa.String(length=100), nullable=True),
        sa.Column("outcome_month", sa.Integer(), nullable=True),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("reported_by", sa.String(length=100), nullable=False),
        sa.Column("falls_within", sa.String(length=100), nullable=False),
        sa.Column("location_type", sa.String(length=8), nullable=True),
        sa.Column("location_subtype", sa.String(length=40), nullable=False),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["force_id"], ["access_force.id"], name=op.f("fk_opendata_street_force_id_access_force")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_street")),
    )
    with op.batch_alter_table("opendata_street", schema=None) as batch_op:
        batch_op.create_index("ix_opendata_street_force_month", ["force_id", "month"], unique=False)
        batch_op.create_index("ix_opendata_street_month_lat", ["month", "lat"], unique=False)
        batch_op.create_index(
            "ix_opendata_street_persistent",
            ["persistent_id"],
            unique=False,
            sqlite_where=sa.text("persistent_id != ''"),
            postgresql_where=sa.text("persistent_id != ''"),
        )

    op.create_table(
        "records_stop_search",
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("operation_name", sa.String(length=200), nullable=True),
        sa.Column("gender", sa.String(length=20), nullable=True),
        sa.Column("age_range", sa.String(length=20), nullable=True),
        sa.Column("self_defined_ethnicity", sa.String(length=120), nullable=True),
        sa.Column("officer_defined_ethnicity", sa.String(length=40), nullable=True),
        sa.Column("legislation", sa.String(length=120), nullable=False),
        sa.Column("object_of_search", sa.String(length=120), nullable=False),
        sa.Column("outcome", sa.String(length=60), nullable=False),
        sa.Column("outcome_linked", sa.Boolean(), nullable=True),
        sa.Column("removal_of_outer_clothing", sa.Boolean(), nullable=True),
        sa.Column("officer", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["records_event.id"], name=op.f("fk_records_stop_search_event_id_records_event")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_records_stop_search")),
    )
    with op.batch_alter_table("records_stop_search", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_records_stop_search_force_id"), ["force_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("records_stop_search", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_records_stop_search_force_id"))

    op.drop_table("records_stop_search")
    with op.batch_alter_table("opendata_street", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_opendata_street_persistent",
            sqlite_where=sa.text("persistent_id != ''"),
            postgresql_where=sa.text("persistent_id != ''"),
        )
        batch_op.drop_index("ix_opendata_street_month_lat")
        batch_op.drop_index("ix_opendata_street_force_month")

    op.drop_table("opendata_street")
    with op.batch_alter_table("opendata_stop", schema=None) as batch_op:
        batch_op.drop_index("ix_opendata_stop_month_lat")
        batch_op.drop_index("ix_opendata_stop_force_month")

    op.drop_table("opendata_stop")
    with op.batch_alter_table("opendata_point", schema=None) as batch_op:
        batch_op.drop_index("ix_opendata_point_lat")
        batch_op.drop_index(batch_op.f("ix_opendata_point_force_id"))

    op.drop_table("opendata_point")
    with op.batch_alter_table("opendata_outcome", schema=None) as batch_op:
        batch_op.drop_index("ix_opendata_outcome_persistent")
        batch_op.drop_index("ix_opendata_outcome_month_lat")
        batch_op.drop_index("ix_opendata_outcome_force_month")

    op.drop_table("opendata_outcome")
    with op.batch_alter_table("opendata_neighbourhood_priority", schema=None) as batch_op:
        batch_op.drop_index("ix_opendata_neighbourhood_priority_nbhd")

    op.drop_table("opendata_neighbourhood_priority")
    with op.batch_alter_table("opendata_neighbourhood_event", schema=None) as batch_op:
        batch_op.drop_index("ix_opendata_neighbourhood_event_nbhd")

    op.drop_table("opendata_neighbourhood_event")
    op.drop_table("opendata_neighbourhood")
    op.drop_table("opendata_month")
