"""access: users, roles, sessions, tokens, audit

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 14:05:39.074604
"""

import sqlalchemy as sa
from alembic import op

import bluelamp.storage.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_audit",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False),
        sa.Column("at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.String(length=32), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("record_type", sa.String(length=64), nullable=True),
        sa.Column("record_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_access_audit")),
    )
    with op.batch_alter_table("access_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_audit_action"), ["action"], unique=False)
        batch_op.create_index("ix_access_audit_actor_at", ["actor_user_id", "at"], unique=False)
        batch_op.create_index("ix_access_audit_force_at", ["force_id", "at"], unique=False)
        batch_op.create_index("ix_access_audit_record", ["record_type", "record_id"], unique=False)

    op.create_table(
        "access_audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_audit_head")),
    )
    op.create_table(
        "access_signin_attempt",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=120), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_signin_attempt")),
    )
    with op.batch_alter_table("access_signin_attempt", schema=None) as batch_op:
        batch_op.create_index("ix_access_signin_attempt_ip_at", ["ip", "at"], unique=False)
        batch_op.create_index("ix_access_signin_attempt_username_at", ["username", "at"], unique=False)

    op.create_table(
        "access_organisation",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("force_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["force_id"], ["access_force.id"], name=op.f("fk_access_organisation_force_id_access_force")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_organisation")),
    )
    with op.batch_alter_table("access_organisation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_organisation_force_id"), ["force_id"], unique=False)

    op.create_table(
        "access_user",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("username", sa.String(length=120), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("force_id", sa.String(length=64), nullable=True),
        sa.Column("organisation_id", sa.String(length=64), nullable=True),
        sa.Column("is_platform_admin", sa.Boolean(), nullable=False),
        sa.Column("clearance", sa.String(length=24), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("password_changed_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("oidc_issuer", sa.String(length=300), nullable=True),
        sa.Column("oidc_subject", sa.String(length=255), nullable=True),
        sa.Column("disabled_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "NOT (force_id IS NOT NULL AND organisation_id IS NOT NULL)", name=op.f("ck_access_user_one_home")
        ),
        sa.ForeignKeyConstraint(["force_id"], ["access_force.id"], name=op.f("fk_access_user_force_id_access_force")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["access_organisation.id"],
            name=op.f("fk_access_user_organisation_id_access_organisation"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_user")),
        sa.UniqueConstraint("username", name=op.f("uq_access_user_username")),
    )
    with op.batch_alter_table("access_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_user_force_id"), ["force_id"], unique=False)
        batch_op.create_index("ix_access_user_oidc", ["oidc_issuer", "oidc_subject"], unique=True)
        batch_op.create_index(batch_op.f("ix_access_user_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "access_api_token",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["access_user.id"], name=op.f("fk_access_api_token_user_id_access_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_api_token")),
    )
    with op.batch_alter_table("access_api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "access_need_to_know",
        sa.Column("record_table", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("granted_by", sa.String(length=120), nullable=True),
        sa.Column("granted_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["access_user.id"], name=op.f("fk_access_need_to_know_user_id_access_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("record_table", "record_id", "user_id", name=op.f("pk_access_need_to_know")),
    )
    op.create_table(
        "access_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("reason", sa.String(length=300), nullable=True),
        sa.Column("reason_set_at", bluelamp.storage.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["access_user.id"], name=op.f("fk_access_session_user_id_access_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_session")),
    )
    with op.batch_alter_table("access_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_session_user_id"), ["user_id"], unique=False)

    op.create_table(
        "access_user_role",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["access_user.id"], name=op.f("fk_access_user_role_user_id_access_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_access_user_role")),
    )
    op.execute("INSERT INTO access_audit_head (id, seq, hash) VALUES (1, 0, '%s')" % ("0" * 64))
    _protect_audit_log()


# The application never updates or deletes an audit entry; the database refuses too.
# (Someone with direct write access can drop these triggers: `bluelamp audit verify`
# is what detects tampering.)
def _protect_audit_log() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION access_audit_refuse_change() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER access_audit_append_only BEFORE UPDATE OR DELETE ON access_audit "
            "FOR EACH ROW EXECUTE FUNCTION access_audit_refuse_change()"
        )
        op.execute(
            "CREATE TRIGGER access_audit_no_truncate BEFORE TRUNCATE ON access_audit "
            "FOR EACH STATEMENT EXECUTE FUNCTION access_audit_refuse_change()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER access_audit_no_{event.lower()} BEFORE {event} ON access_audit "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS access_audit_append_only ON access_audit")
        op.execute("DROP TRIGGER IF EXISTS access_audit_no_truncate ON access_audit")
        op.execute("DROP FUNCTION IF EXISTS access_audit_refuse_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS access_audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS access_audit_no_delete")
    op.drop_table("access_user_role")
    with op.batch_alter_table("access_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_session_user_id"))

    op.drop_table("access_session")
    op.drop_table("access_need_to_know")
    with op.batch_alter_table("access_api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_api_token_user_id"))

    op.drop_table("access_api_token")
    with op.batch_alter_table("access_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_user_organisation_id"))
        batch_op.drop_index("ix_access_user_oidc")
        batch_op.drop_index(batch_op.f("ix_access_user_force_id"))

    op.drop_table("access_user")
    with op.batch_alter_table("access_organisation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_organisation_force_id"))

    op.drop_table("access_organisation")
    with op.batch_alter_table("access_signin_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_access_signin_attempt_username_at")
        batch_op.drop_index("ix_access_signin_attempt_ip_at")

    op.drop_table("access_signin_attempt")
    op.drop_table("access_audit_head")
    with op.batch_alter_table("access_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_access_audit_record")
        batch_op.drop_index("ix_access_audit_force_at")
        batch_op.drop_index("ix_access_audit_actor_at")
        batch_op.drop_index(batch_op.f("ix_access_audit_action"))

    op.drop_table("access_audit")
