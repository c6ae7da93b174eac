"""idempotency: the answers to requests that carried an Idempotency-Key, per user

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 19:30:00
"""

import sqlalchemy as sa
from alembic import op

from bluelamp.storage.base import JSONType, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotent_request",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=True),
        sa.Column("user_key", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["force_id"], ["access_force.id"], name="fk_idempotent_request_force_id_access_force"),
        sa.PrimaryKeyConstraint("id", name="pk_idempotent_request"),
        sa.UniqueConstraint("user_key", "key", name="uq_idempotent_request_user_key"),
    )
    op.create_index("ix_idempotent_request_created_at", "idempotent_request", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotent_request_created_at", table_name="idempotent_request")
    op.drop_table("idempotent_request")
