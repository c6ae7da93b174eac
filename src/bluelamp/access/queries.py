"""Read side of access: forces, users, the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from bluelamp.access.model import (
    ApiToken,
    AuditEntry,
    AuditHead,
    Force,
    NeedToKnow,
    Organisation,
    SignInAttempt,
    User,
    UserRole,
    WebSession,
)


def list_forces(session: Session) -> list[Force]:
    """Every force on the platform, by name."""
    return list(session.scalars(select(Force).order_by(Force.name)))


def audit_head(session: Session) -> AuditHead:
    return session.get(AuditHead, 1)


def audit_head_for_update(session: Session) -> AuditHead:
    """The head row, locked until the transaction ends so appends are serialised
    (PostgreSQL: SELECT ... FOR UPDATE; SQLite serialises writers itself)."""
    return session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()


def audit_entries_in_order(session: Session, *, batch: int = 5000, up_to: int | None = None) -> Iterator[AuditEntry]:
    """Every audit entry by sequence number (up to ``up_to``), read in batches (never all at once)."""
    last = 0
    while True:
        statement = select(AuditEntry).where(AuditEntry.seq > last)
        if up_to is not None:
            statement = statement.where(AuditEntry.seq <= up_to)
        rows = list(session.scalars(statement.order_by(AuditEntry.seq).limit(batch)))
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def search_audit(session: Session, query) -> list[AuditEntry]:
    """Entries matching a data protection officer's search, newest first, within the force."""
    statement = select(AuditEntry)
    if query.force_id is not None:
        statement = statement.where(AuditEntry.force_id == query.force_id)
    if query.actor:
        statement = statement.where(AuditEntry.actor == query.actor)
    if query.record_type:
        statement = statement.where(AuditEntry.record_type == query.record_type)
    if query.record_id:
        statement = statement.where(AuditEntry.record_id == query.record_id)
    if query.action:
        statement = statement.where(AuditEntry.action == query.action)
    if query.since:
        statement = statement.where(AuditEntry.at >= query.since)
    if query.until:
        statement = statement.where(AuditEntry.at < query.until)
    if query.before is not None:
        statement = statement.where(AuditEntry.seq < query.before)
    return list(session.scalars(statement.order_by(AuditEntry.seq.desc()).limit(query.limit)))


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username.strip().lower())).one_or_none()


def user_by_oidc_subject(session: Session, issuer: str, subject: str) -> User | None:
    """The user linked to an OpenID Connect provider's subject, if any."""
    return session.scalars(select(User).where(User.oidc_issuer == issuer, User.oidc_subject == subject)).one_or_none()


def force_users_by_email(session: Session, force_id: str, email: str) -> list[User]:
    """A force's own staff (not partner practitioners) with this email, compared case-insensitively."""
    return list(
        session.scalars(
            select(User)
            .where(User.force_id == force_id, func.lower(User.email) == email.strip().lower())
            .order_by(User.username)
        )
    )


def roles_of(session: Session, user_id: str) -> list[str]:
    return list(session.scalars(select(UserRole.role).where(UserRole.user_id == user_id).order_by(UserRole.role)))


def failed_signins_for_account(session: Session, username: str, since) -> int:
    return session.scalar(
        select(func.count()).where(
            SignInAttempt.username == username, SignInAttempt.at >= since, SignInAttempt.succeeded.is_(False)
        )
    )


def failed_signins_for_address(session: Session, ip: str, since) -> int:
    return session.scalar(
        select(func.count()).where(
            SignInAttempt.ip == ip, SignInAttempt.at >= since, SignInAttempt.succeeded.is_(False)
        )
    )


def live_sessions_of(session: Session, user_id: str) -> list[WebSession]:
    return list(session.scalars(select(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))))


def list_users(session: Session, force_id: str | None, *, include_disabled: bool = True) -> list[User]:
    """A force's users (staff and its partner organisations' practitioners); every user when force_id is None."""
    statement = select(User).order_by(User.username)
    if force_id is not None:
        partner_ids = select(Organisation.id).where(Organisation.force_id == force_id)
        statement = statement.where((User.force_id == force_id) | User.organisation_id.in_(partner_ids))
    if not include_disabled:
        statement = statement.where(User.disabled_at.is_(None))
    return list(session.scalars(statement))


def tokens_of(session: Session, user_id: str) -> list[ApiToken]:
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc()))
    )


def on_access_list(session: Session, record_table: str, record_id: str, user_id: str | None) -> bool:
    if user_id is None:
        return False
    return session.get(NeedToKnow, (record_table, record_id, user_id)) is not None


def visible(actor, model):
    """The SQL condition for records of ``model`` (a Marked table) that ``actor`` may see:
    same force, marking within clearance, and on the access list when need-to-know.
    Apply it in the WHERE clause, before LIMIT and before counting."""
    from bluelamp.access.policy import markings_up_to

    on_list = exists().where(
        NeedToKnow.record_table == model.__tablename__,
        NeedToKnow.record_id == model.id,
        NeedToKnow.user_id == (actor.user_id or ""),
    )
    force_condition = model.force_id == actor.force_id if actor.force_id is not None else false()
    if actor.user_id is None and actor.via != "session" and actor.clearance == "SECRET":
        on_list = true()  # the platform itself (CLI, jobs) is on every list
    return and_(
        force_condition, model.marking.in_(markings_up_to(actor.clearance)), or_(model.need_to_know.is_(False), on_list)
    )


def audit_entry(session: Session, seq: int) -> AuditEntry | None:
    """One audit entry by sequence number (None when there is none)."""
    return session.get(AuditEntry, seq)


@dataclass(frozen=True)
class RecordViewer:
    """One user's accesses to one record, as the audit log has them."""

    actor_user_id: str | None
    actor: str
    first_at: datetime
    last_at: datetime
    count: int
    refused: int
    actions: list[str]


def record_viewers(session: Session, force_id: str | None, record_type: str, record_id: str) -> list[RecordViewer]:
    """Every user with an audit entry on a record (within a force; all forces when force_id is None),
    most recent first: first and last access, how many, how many were refused, and which actions."""
    on_record = [AuditEntry.record_type == record_type, AuditEntry.record_id == record_id]
    if force_id is not None:
        on_record.append(AuditEntry.force_id == force_id)
    grouped = session.execute(
        select(
            AuditEntry.actor_user_id,
            AuditEntry.actor,
            func.min(AuditEntry.at),
            func.max(AuditEntry.at),
            func.count(),
            func.sum(case((AuditEntry.outcome == "ok", 0), else_=1)),
        )
        .where(*on_record)
        .group_by(AuditEntry.actor_user_id, AuditEntry.actor)
        .order_by(func.max(AuditEntry.at).desc())
    ).all()
    actions: dict[tuple[str | None, str], list[str]] = {}
    for user_id, actor, action in session.execute(
        select(AuditEntry.actor_user_id, AuditEntry.actor, AuditEntry.action)
        .where(*on_record)
        .distinct()
        .order_by(AuditEntry.action)
    ):
        actions.setdefault((user_id, actor), []).append(action)
    return [
        RecordViewer(user_id, actor, first, last, count, int(refused or 0), actions.get((user_id, actor), []))
        for user_id, actor, first, last, count, refused in grouped
    ]


@dataclass(frozen=True)
class UserRow:
    """A user with their roles and home, for lists."""

    user: User
    roles: list[str]
    home_force_id: str | None
    organisation_name: str | None


def users_with_roles(
    session: Session,
    force_id: str | None,
    *,
    text: str | None = None,
    role: str | None = None,
    disabled: bool | None = None,
    limit: int = 500,
) -> list[UserRow]:
    """A force's users (staff and its partner organisations' practitioners; every user when force_id
    is None) with their roles, by username: two queries whatever the number of users."""
    statement = (
        select(User, Organisation.name, Organisation.force_id)
        .outerjoin(Organisation, User.organisation_id == Organisation.id)
        .order_by(User.username)
        .limit(limit)
    )
    if force_id is not None:
        statement = statement.where(or_(User.force_id == force_id, Organisation.force_id == force_id))
    if text:
        statement = statement.where(
            or_(User.username.icontains(text, autoescape=True), User.display_name.icontains(text, autoescape=True))
        )
    if role:
        statement = statement.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if disabled is not None:
        statement = statement.where(User.disabled_at.is_not(None) if disabled else User.disabled_at.is_(None))
    rows = session.execute(statement).all()
    roles: dict[str, list[str]] = {}
    if rows:
        ids = [user.id for user, _, _ in rows]
        for user_id, value in session.execute(
            select(UserRole.user_id, UserRole.role).where(UserRole.user_id.in_(ids)).order_by(UserRole.role)
        ):
            roles.setdefault(user_id, []).append(value)
    return [
        UserRow(user, roles.get(user.id, []), user.force_id or organisation_force, organisation_name)
        for user, organisation_name, organisation_force in rows
    ]


def list_organisations(session: Session, force_id: str | None) -> list[Organisation]:
    """A force's partner organisations (every one when force_id is None), by name."""
    statement = select(Organisation).order_by(Organisation.name)
    if force_id is not None:
        statement = statement.where(Organisation.force_id == force_id)
    return list(session.scalars(statement))
