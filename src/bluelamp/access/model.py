"""Access tables: forces (tenants), organisations, users and roles, sessions, API
tokens, sign-in attempts, need-to-know lists, and the audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField
from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from bluelamp.access.policy import Marking
from bluelamp.storage.base import Base, JSONType, UTCDateTime


class Force(Base):
    """A police force. Its id is the data.police.uk force id (``staffordshire``)."""

    __tablename__ = "access_force"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    reference_prefix: Mapped[str] = mapped_column(String(8))
    url: Mapped[str | None] = mapped_column(String(300))
    telephone: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GradeTarget(BaseModel):
    """Attendance target for one grade, in minutes (None: no attendance)."""

    name: str
    urban_minutes: int | None = PydField(ge=1)
    rural_minutes: int | None = PydField(ge=1)


def _default_grades() -> dict[str, GradeTarget]:
    # DOMAIN.md "Grades": defaults, configurable per force.
    return {
        "1": GradeTarget(name="Immediate", urban_minutes=15, rural_minutes=20),
        "2": GradeTarget(name="Priority", urban_minutes=60, rural_minutes=60),
        "3": GradeTarget(name="Scheduled", urban_minutes=48 * 60, rural_minutes=48 * 60),
        "4": GradeTarget(name="Resolution without deployment", urban_minutes=None, rural_minutes=None),
    }


class ForceSettings(BaseModel):
    """Per-force configuration, stored as JSON on the force row."""

    model_config = ConfigDict(extra="forbid")

    grades: dict[str, GradeTarget] = PydField(default_factory=_default_grades)
    victim_first_update_working_days: int = PydField(5, ge=1)
    victim_enhanced_update_working_days: int = PydField(1, ge=1)
    # Command and control's configuration (categories, qualifiers, areas, windows);
    # validated by bluelamp.command.config.CommandSettings.
    command: dict[str, Any] = PydField(default_factory=dict)
    # Open data: the force's public profile and publication rules; validated by
    # bluelamp.opendata.config.OpenDataSettings.
    opendata: dict[str, Any] = PydField(default_factory=dict)


class OrganisationKind(StrEnum):
    """The kinds of partner organisation a force works with."""

    COUNCIL = "council"
    SOCIAL_CARE = "social_care"
    HEALTH = "health"
    EDUCATION = "education"
    PROBATION = "probation"
    OTHER_FORCE = "other_force"


class Organisation(Base):
    """A partner organisation (council, social care, health, education, probation, another force)."""

    __tablename__ = "access_organisation"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class User(Base):
    """A person who signs in: a force's staff, a partner practitioner, or a platform admin."""

    __tablename__ = "access_user"
    __table_args__ = (
        CheckConstraint("NOT (force_id IS NOT NULL AND organisation_id IS NOT NULL)", name="one_home"),
        Index("ix_access_user_oidc", "oidc_issuer", "oidc_subject", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(120), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    force_id: Mapped[str | None] = mapped_column(ForeignKey("access_force.id"), index=True)
    organisation_id: Mapped[str | None] = mapped_column(ForeignKey("access_organisation.id"), index=True)
    is_platform_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    clearance: Mapped[str] = mapped_column(String(24), default=Marking.OFFICIAL.value)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    oidc_issuer: Mapped[str | None] = mapped_column(String(300))
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UserRole(Base):
    """One role held by one user."""

    __tablename__ = "access_user_role"

    user_id: Mapped[str] = mapped_column(ForeignKey("access_user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class WebSession(Base):
    """A signed-in browser session. Only a hash of the cookie's token is stored."""

    __tablename__ = "access_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[str] = mapped_column(ForeignKey("access_user.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(String(300))
    reason_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for programs. Only a hash of its secret is stored; shown once."""

    __tablename__ = "access_api_token"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # the public part, "bl_<id>_<secret>"
    user_id: Mapped[str] = mapped_column(ForeignKey("access_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInAttempt(Base):
    """One sign-in attempt, for throttling by account and by address."""

    __tablename__ = "access_signin_attempt"
    __table_args__ = (
        Index("ix_access_signin_attempt_username_at", "username", "at"),
        Index("ix_access_signin_attempt_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    username: Mapped[str] = mapped_column(String(120))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)


class NeedToKnow(Base):
    """A user on the access list of a need-to-know record."""

    __tablename__ = "access_need_to_know"

    record_table: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("access_user.id", ondelete="CASCADE"), primary_key=True)
    granted_by: Mapped[str | None] = mapped_column(String(120))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Marked:
    """Columns every record holding personal or operational data carries: its force,
    its security marking, and whether only users on its access list may see it."""

    @declared_attr
    def force_id(cls) -> Mapped[str]:
        return mapped_column(ForeignKey("access_force.id"), index=True)

    marking: Mapped[str] = mapped_column(String(24), default=Marking.OFFICIAL.value)
    need_to_know: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEntry(Base):
    """One entry of the append-only, hash-chained audit log. Never updated or deleted."""

    __tablename__ = "access_audit"
    __table_args__ = (
        Index("ix_access_audit_record", "record_type", "record_id"),
        Index("ix_access_audit_actor_at", "actor_user_id", "at"),
        Index("ix_access_audit_force_at", "force_id", "at"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_user_id: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120))
    force_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    record_type: Mapped[str | None] = mapped_column(String(64))
    record_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The newest entry of the audit chain (one row): serialises appends and lets
    verification notice entries cut off the end."""

    __tablename__ = "access_audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    hash: Mapped[str] = mapped_column(String(64))
