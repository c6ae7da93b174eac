"""Use cases of access: forces, partner organisations, users, roles and clearances."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bluelamp.access import audit, changes, queries
from bluelamp.access.audit import Audit, AuditQuery, VerifyResult
from bluelamp.access.model import (
    ApiToken,
    AuditEntry,
    Force,
    ForceSettings,
    Organisation,
    OrganisationKind,
    User,
    UserRole,
)
from bluelamp.access.passwords import generate_password, hash_password, password_problems
from bluelamp.access.paths import RESERVED_FORCE_IDS
from bluelamp.access.policy import Action, Actor, Marking, Role
from bluelamp.access.sessions import end_all_sessions
from bluelamp.clock import Clock
from bluelamp.errors import ConfigError, Conflict, Denied, FieldProblem, InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

FORCE_ID = re.compile(r"^[a-z][a-z0-9-]{1,62}$")


@dataclass(frozen=True)
class AddForce:
    """Command: register a police force on the platform."""

    id: str
    name: str
    reference_prefix: str | None = None
    url: str | None = None
    telephone: str | None = None
    description: str | None = None


def add_force(session: Session, actor: Actor, command: AddForce, clock: Clock) -> Force:
    """Register a force; its id is the data.police.uk id and cannot change later."""
    require(actor, Action.FORCE_MANAGE)
    if not FORCE_ID.match(command.id):
        raise InvalidInput(
            f"force id {command.id!r} must be lower-case letters, digits and hyphens, "
            "as data.police.uk ids are (e.g. staffordshire)",
            code="force.invalid_id",
        )
    if command.id in RESERVED_FORCE_IDS:
        raise InvalidInput(
            f"force id {command.id!r} is a word the open-data API's paths use (/api/{command.id}/...); choose another",
            code="force.invalid_id",
        )
    name = command.name.strip()
    if not name:
        raise InvalidInput("a force needs a name", code="input.invalid")
    if session.get(Force, command.id) is not None:
        raise Conflict(f"force {command.id!r} already exists", code="force.exists")
    prefix = (command.reference_prefix or _prefix_from_name(name)).upper()
    if not re.fullmatch(r"[A-Z]{1,8}", prefix):
        raise InvalidInput(f"reference prefix {prefix!r} must be 1 to 8 letters", code="input.invalid")
    force = Force(
        id=command.id,
        name=name,
        reference_prefix=prefix,
        url=command.url,
        telephone=command.telephone,
        description=command.description,
        settings=ForceSettings().model_dump(mode="json"),
        created_at=clock.now(),
    )
    session.add(force)
    session.flush()
    audit.append(session, actor, Audit("force.create", record_type="force", record_id=force.id), clock)
    return force


def get_force(session: Session, force_id: str) -> Force:
    force = session.get(Force, force_id)
    if force is None:
        raise NotFound(f"no force {force_id!r}")
    return force


def force_settings(force: Force) -> ForceSettings:
    """The force's configuration, with defaults for anything not set."""
    return ForceSettings.model_validate(force.settings or {})


def _prefix_from_name(name: str) -> str:
    # "Staffordshire Police" -> "SP"; "West Yorkshire Police" -> "WYP"
    letters = "".join(word[0] for word in re.findall(r"[A-Za-z]+", name) if word.lower() not in {"of", "and", "the"})
    return (letters or "F")[:8]


# ---------------------------------------------------------------- users


USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,118}$")


@dataclass(frozen=True)
class AddUser:
    """Command: create a user of a force, of a partner organisation, or a platform admin."""

    username: str
    display_name: str
    roles: tuple[str, ...]
    force_id: str | None = None
    organisation_id: str | None = None
    clearance: str = Marking.OFFICIAL.value
    email: str | None = None
    password: str | None = None
    must_change_password: bool = False


def add_user(session: Session, actor: Actor, command: AddUser, clock: Clock) -> User:
    """Create a user; force admins create users only in their own force."""
    require(actor, Action.USER_MANAGE)
    username = command.username.strip().lower()
    problems = []
    if not USERNAME.match(username):
        problems.append(FieldProblem("username", "use 2-120 lower-case letters, digits, dots, hyphens, @ or _"))
    if not command.display_name.strip():
        problems.append(FieldProblem("display_name", "a user needs a name"))
    roles = _parse_roles(command.roles, problems)
    clearance = _parse_clearance(command.clearance, problems)
    if command.force_id and command.organisation_id:
        problems.append(FieldProblem("organisation_id", "a user belongs to a force or to an organisation, not both"))
    is_platform_admin = Role.PLATFORM_ADMIN in roles
    if not command.force_id and not command.organisation_id and not is_platform_admin:
        problems.append(
            FieldProblem("force_id", "a user belongs to a force or an organisation (or is a platform admin)")
        )
    if command.organisation_id and set(roles) - {Role.PARTNER_PRACTITIONER}:
        problems.append(FieldProblem("roles", "partner organisation users hold only partner_practitioner"))
    if command.password is not None:
        problems.extend(password_problems(command.password))
    if problems:
        raise InvalidInput("; ".join(f"{p.field}: {p.message}" for p in problems), problems=problems)
    home_force = command.force_id
    if command.organisation_id:
        organisation = session.get(Organisation, command.organisation_id)
        if organisation is None:
            raise InvalidInput(
                f"no organisation {command.organisation_id!r}",
                problems=[FieldProblem("organisation_id", "no such organisation")],
            )
        home_force = organisation.force_id
    if home_force is not None:
        _require_same_force_or_platform(actor, home_force)
        if session.get(Force, home_force) is None:
            raise InvalidInput(f"no force {home_force!r}", problems=[FieldProblem("force_id", "no such force")])
    if is_platform_admin and not actor_is_platform_admin(actor):
        raise Denied("only a platform admin can create a platform admin")
    if queries.user_by_username(session, username) is not None:
        raise Conflict(f"user {username!r} already exists", code="user.exists")
    now = clock.now()
    user = User(
        id=clock.new_id(),
        username=username,
        display_name=command.display_name.strip(),
        email=command.email,
        force_id=command.force_id,
        organisation_id=command.organisation_id,
        is_platform_admin=is_platform_admin,
        clearance=clearance,
        password_hash=hash_password(command.password) if command.password else None,
        password_changed_at=now if command.password else None,
        must_change_password=command.must_change_password,
        created_at=now,
    )
    session.add(user)
    session.add_all(UserRole(user_id=user.id, role=role.value) for role in roles)
    session.flush()
    audit.append(
        session,
        actor,
        Audit(
            "user.create",
            record_type="user",
            record_id=user.id,
            detail={"username": username, "roles": sorted(r.value for r in roles), "clearance": clearance},
        ),
        clock,
    )
    return user


def get_user(session: Session, actor: Actor, user_id: str) -> User:
    """A user the actor may manage or read: their own force's (or any, for a platform admin)."""
    user = session.get(User, user_id)
    if user is None or not _may_see_user(session, actor, user):
        raise NotFound(f"no user {user_id!r}")
    return user


def set_roles(session: Session, actor: Actor, user_id: str, roles: tuple[str, ...], clock: Clock) -> User:
    require(actor, Action.USER_MANAGE)
    user = get_user(session, actor, user_id)
    problems: list[FieldProblem] = []
    parsed = _parse_roles(roles, problems)
    if user.organisation_id and set(parsed) - {Role.PARTNER_PRACTITIONER}:
        problems.append(FieldProblem("roles", "partner organisation users hold only partner_practitioner"))
    if Role.PLATFORM_ADMIN in parsed and not actor_is_platform_admin(actor):
        problems.append(FieldProblem("roles", "only a platform admin can grant platform_admin"))
    if problems:
        raise InvalidInput("; ".join(p.message for p in problems), problems=problems)
    before = sorted(queries.roles_of(session, user.id))
    changes.changed(session)
    session.query(UserRole).filter(UserRole.user_id == user.id).delete()
    session.add_all(UserRole(user_id=user.id, role=role.value) for role in parsed)
    user.is_platform_admin = Role.PLATFORM_ADMIN in parsed
    audit.append(
        session,
        actor,
        Audit(
            "user.roles",
            record_type="user",
            record_id=user.id,
            detail={"before": before, "after": sorted(r.value for r in parsed)},
        ),
        clock,
    )
    session.flush()
    return user


def set_clearance(session: Session, actor: Actor, user_id: str, clearance: str, clock: Clock) -> User:
    require(actor, Action.USER_MANAGE)
    user = get_user(session, actor, user_id)
    problems: list[FieldProblem] = []
    value = _parse_clearance(clearance, problems)
    if problems:
        raise InvalidInput(problems[0].message, problems=problems)
    before, user.clearance = user.clearance, value
    changes.changed(session)
    audit.append(
        session,
        actor,
        Audit("user.clearance", record_type="user", record_id=user.id, detail={"before": before, "after": value}),
        clock,
    )
    return user


def disable_user(session: Session, actor: Actor, user_id: str, clock: Clock) -> User:
    """Disable a user: they cannot sign in, their sessions end and their tokens stop working."""
    require(actor, Action.USER_MANAGE)
    user = get_user(session, actor, user_id)
    if user.disabled_at is None:
        user.disabled_at = clock.now()
        changes.changed(session)
        end_all_sessions(session, user.id, clock)
        audit.append(session, actor, Audit("user.disable", record_type="user", record_id=user.id), clock)
    return user


def enable_user(session: Session, actor: Actor, user_id: str, clock: Clock) -> User:
    require(actor, Action.USER_MANAGE)
    user = get_user(session, actor, user_id)
    if user.disabled_at is not None:
        user.disabled_at = None
        audit.append(session, actor, Audit("user.enable", record_type="user", record_id=user.id), clock)
    return user


def reset_password(session: Session, actor: Actor, user_id: str, clock: Clock) -> str:
    """Give a user a new random password they must change at next sign-in; returns it (shown once)."""
    require(actor, Action.USER_MANAGE)
    user = get_user(session, actor, user_id)
    password = generate_password()
    user.password_hash = hash_password(password)
    user.password_changed_at = clock.now()
    user.must_change_password = True
    end_all_sessions(session, user.id, clock)
    audit.append(session, actor, Audit("user.reset_password", record_type="user", record_id=user.id), clock)
    return password


@dataclass(frozen=True)
class NewUser:
    """A user just created, with the initial password shown once (never stored in plain)."""

    user: User
    password: str


def add_user_with_initial_password(session: Session, actor: Actor, command: AddUser, clock: Clock) -> NewUser:
    """Create a user with a generated password they must change at first sign-in."""
    password = generate_password()
    user = add_user(session, actor, replace(command, password=password, must_change_password=True), clock)
    return NewUser(user, password)


def find_user(session: Session, actor: Actor, username: str) -> User:
    """A user by username, answering NotFound alike for a missing user and one the actor may not see."""
    user = queries.user_by_username(session, username)
    if user is None or not _may_see_user(session, actor, user):
        raise NotFound(f"no user {username.strip().lower()!r}")
    return user


def home_force(session: Session, *, force_id: str | None = None, organisation_id: str | None = None) -> str | None:
    """The force a user (or a would-be user) belongs to: their own, or their partner organisation's."""
    if force_id is not None or organisation_id is None:
        return force_id
    organisation = session.get(Organisation, organisation_id)
    return organisation.force_id if organisation else None


def token_owner(session: Session, actor: Actor, token_id: str) -> User:
    """The user an API token acts as, answering NotFound alike for a missing token and another force's."""
    token = session.get(ApiToken, token_id)
    if token is not None:
        try:
            return get_user(session, actor, token.user_id)
        except NotFound:
            pass  # another force's token: answered below, like a missing one
    raise NotFound(f"no token {token_id!r}")


@dataclass(frozen=True)
class UserFilter:
    """What to narrow a list of users by (all optional)."""

    force_id: str | None = None  # platform admins only; everyone else sees their own force
    text: str | None = None  # part of the username or name
    role: str | None = None
    disabled: bool | None = None
    limit: int = 500


def list_users(session: Session, actor: Actor, wanted: UserFilter) -> list[queries.UserRow]:
    """The users the actor may see (their force's; any force's for a platform admin), with roles."""
    require(actor, Action.USER_READ)
    if actor_is_platform_admin(actor):
        force_id = wanted.force_id or None
    elif actor.force_id is None:
        return []
    else:
        force_id = actor.force_id
    problems: list[FieldProblem] = []
    if wanted.role:
        _parse_roles((wanted.role,), problems)
    if not 1 <= wanted.limit <= 1000:
        problems.append(FieldProblem("limit", "from 1 to 1000"))
    if problems:
        raise InvalidInput("; ".join(p.message for p in problems), problems=problems)
    return queries.users_with_roles(
        session,
        force_id,
        text=(wanted.text or "").strip().lower() or None,
        role=wanted.role or None,
        disabled=wanted.disabled,
        limit=wanted.limit,
    )


@dataclass(frozen=True)
class UserDetails:
    """One user as an admin page shows them. ``tokens`` is None for someone who may not manage tokens."""

    user: User
    roles: list[str]
    force: Force | None
    organisation: Organisation | None
    tokens: list[ApiToken] | None


def user_details(session: Session, actor: Actor, user_id: str) -> UserDetails:
    """A user of the actor's force (any force for a platform admin) with roles, home and API tokens."""
    require(actor, Action.USER_READ)
    user = get_user(session, actor, user_id)
    organisation = session.get(Organisation, user.organisation_id) if user.organisation_id else None
    home = user.force_id or (organisation.force_id if organisation else None)
    return UserDetails(
        user=user,
        roles=queries.roles_of(session, user.id),
        force=session.get(Force, home) if home else None,
        organisation=organisation,
        tokens=queries.tokens_of(session, user.id) if actor.can(Action.TOKEN_MANAGE) else None,
    )


def list_tokens(session: Session, actor: Actor, user_id: str) -> list[ApiToken]:
    """A user's API tokens, newest first: one's own, or any user's of the force for token managers."""
    if actor.user_id != user_id:
        require(actor, Action.TOKEN_MANAGE)
    get_user(session, actor, user_id)
    return queries.tokens_of(session, user_id)


@dataclass(frozen=True)
class HomeChoices:
    """Where a new user may belong, for the actor: forces and partner organisations."""

    forces: list[Force]
    organisations: list[Organisation]


def home_choices(session: Session, actor: Actor) -> HomeChoices:
    """The forces and partner organisations the actor may create users in."""
    require(actor, Action.USER_MANAGE)
    if actor_is_platform_admin(actor):
        return HomeChoices(queries.list_forces(session), queries.list_organisations(session, None))
    if actor.force_id is None:
        return HomeChoices([], [])
    force = session.get(Force, actor.force_id)
    return HomeChoices([force] if force else [], queries.list_organisations(session, actor.force_id))


def actor_for_user(
    session: Session,
    user: User,
    *,
    ip: str | None = None,
    session_id: str | None = None,
    reason: str | None = None,
    via: str = "session",
) -> Actor:
    """The Actor a signed-in user acts as."""
    force_id = user.force_id
    if force_id is None and user.organisation_id:
        organisation = session.get(Organisation, user.organisation_id)
        force_id = organisation.force_id if organisation else None
    return Actor(
        user_id=user.id,
        username=user.username,
        force_id=force_id,
        roles=frozenset(Role(r) for r in queries.roles_of(session, user.id) if r in Role.__members__.values()),
        clearance=Marking(user.clearance),
        organisation_id=user.organisation_id,
        ip=ip,
        session_id=session_id,
        reason=reason,
        via=via,
    )


def require(actor: Actor, action: Action) -> None:
    """Raise Denied unless one of the actor's roles grants the action."""
    if not actor.can(action):
        raise Denied(f"your roles do not allow {action}")


def actor_is_platform_admin(actor: Actor) -> bool:
    return Role.PLATFORM_ADMIN in actor.roles


def _require_same_force_or_platform(actor: Actor, force_id: str) -> None:
    if not actor_is_platform_admin(actor) and actor.force_id != force_id:
        raise NotFound(f"no force {force_id!r}")


def _may_see_user(session: Session, actor: Actor, user: User) -> bool:
    if actor_is_platform_admin(actor):
        return True
    home = user.force_id
    if home is None and user.organisation_id:
        organisation = session.get(Organisation, user.organisation_id)
        home = organisation.force_id if organisation else None
    return home is not None and home == actor.force_id and (actor.can(Action.USER_READ) or actor.user_id == user.id)


def _parse_roles(raw: tuple[str, ...], problems: list[FieldProblem]) -> list[Role]:
    roles = []
    for value in raw:
        try:
            roles.append(Role(value.strip()))
        except ValueError:
            problems.append(
                FieldProblem("roles", f"unknown role {value!r}; roles are {', '.join(r.value for r in Role)}")
            )
    if not raw:
        problems.append(FieldProblem("roles", "a user needs at least one role"))
    return sorted(set(roles))


def _parse_clearance(raw: str, problems: list[FieldProblem]) -> str:
    try:
        return Marking(raw.strip().upper()).value
    except ValueError:
        problems.append(FieldProblem("clearance", f"clearance must be one of {', '.join(m.value for m in Marking)}"))
        return Marking.OFFICIAL.value


# ---------------------------------------------------------------- organisations


@dataclass(frozen=True)
class AddOrganisation:
    """Command: register a partner organisation working with a force."""

    id: str
    name: str
    kind: str
    force_id: str


def add_organisation(session: Session, actor: Actor, command: AddOrganisation, clock: Clock) -> Organisation:
    require(actor, Action.USER_MANAGE)
    _require_same_force_or_platform(actor, command.force_id)
    if not FORCE_ID.match(command.id):
        raise InvalidInput(
            "an organisation id is lower-case letters, digits and hyphens",
            problems=[FieldProblem("id", "lower-case letters, digits and hyphens")],
        )
    try:
        kind = OrganisationKind(command.kind)
    except ValueError:
        raise InvalidInput(
            f"organisation kind must be one of {', '.join(k.value for k in OrganisationKind)}",
            problems=[FieldProblem("kind", "unknown kind")],
        ) from None
    if session.get(Organisation, command.id) is not None:
        raise Conflict(f"organisation {command.id!r} already exists", code="organisation.exists")
    get_force(session, command.force_id)
    organisation = Organisation(
        id=command.id, name=command.name.strip(), kind=kind.value, force_id=command.force_id, created_at=clock.now()
    )
    session.add(organisation)
    session.flush()
    audit.append(
        session, actor, Audit("organisation.create", record_type="organisation", record_id=organisation.id), clock
    )
    return organisation


def list_organisations(session: Session, actor: Actor) -> list[Organisation]:
    """The partner organisations of the actor's force (every one for a platform admin)."""
    require(actor, Action.USER_READ)
    return queries.list_organisations(session, None if actor_is_platform_admin(actor) else actor.force_id or "")


# ---------------------------------------------------------------- the audit log, for data protection officers

MAX_AUDIT_PAGE = 500


@dataclass(frozen=True)
class AuditPage:
    """One page of audit search results, newest first; ``next_before`` continues to older entries."""

    entries: list[AuditEntry]
    next_before: int | None


def search_audit(session: Session, actor: Actor, query: AuditQuery, clock: Clock) -> AuditPage:
    """Search the log within the actor's force (every force for a platform admin); the search is
    itself audited with its terms, since looking at who looked at what is a look too."""
    require(actor, Action.AUDIT_READ)
    problems: list[FieldProblem] = []
    if not 1 <= query.limit <= MAX_AUDIT_PAGE:
        problems.append(FieldProblem("limit", f"from 1 to {MAX_AUDIT_PAGE}"))
    if query.since and query.until and query.since >= query.until:
        problems.append(FieldProblem("until", "must be after the start of the range"))
    if query.record_id and not query.record_type:
        problems.append(FieldProblem("record_type", "say what kind of record the id is (e.g. user, person)"))
    if problems:
        raise InvalidInput("; ".join(f"{p.field}: {p.message}" for p in problems), problems=problems)
    scoped = replace(
        query,
        force_id=query.force_id if actor_is_platform_admin(actor) else _audit_force(actor),
        actor=(query.actor or "").strip().lower() or None,
        limit=query.limit + 1,
    )
    entries = queries.search_audit(session, scoped)
    terms = {
        name: value
        for name, value in {
            "user": scoped.actor,
            "record_type": query.record_type,
            "record_id": query.record_id,
            "action": query.action,
            "since": query.since,
            "until": query.until,
            "force": scoped.force_id,
            "before": query.before,
        }.items()
        if value
    }
    audit.append(session, actor, Audit("audit.search", detail=terms), clock)
    more = len(entries) > query.limit
    entries = entries[: query.limit]
    return AuditPage(entries, entries[-1].seq if more and entries else None)


def who_viewed(
    session: Session, actor: Actor, record_type: str, record_id: str, clock: Clock
) -> list[queries.RecordViewer]:
    """Each user whose access to a record is in the log (within the actor's force), with first and
    last access and how often; audited like any search of the log."""
    require(actor, Action.AUDIT_READ)
    record_type, record_id = record_type.strip(), record_id.strip()
    problems = []
    if not record_type:
        problems.append(FieldProblem("record_type", "say what kind of record (e.g. user, person)"))
    if not record_id:
        problems.append(FieldProblem("record_id", "give the record's id"))
    if problems:
        raise InvalidInput("; ".join(f"{p.field}: {p.message}" for p in problems), problems=problems)
    force_id = None if actor_is_platform_admin(actor) else _audit_force(actor)
    viewers = queries.record_viewers(session, force_id, record_type, record_id)
    audit.append(
        session,
        actor,
        Audit("audit.search", detail={"who_viewed": True, "record_type": record_type, "record_id": record_id}),
        clock,
    )
    return viewers


def verify_audit(
    session: Session,
    actor: Actor,
    *,
    expect: tuple[int, str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Check the whole chain (and that it still holds an earlier checkpoint unchanged)."""
    require(actor, Action.AUDIT_VERIFY)
    if expect is not None:
        broken = audit.check_checkpoint(session, *expect)
        if broken is not None:
            return broken
    return audit.verify(session, progress=progress)


def require_intact_audit(result: VerifyResult) -> int:
    """The number of entries checked; ConfigError (audit.broken) naming the first bad entry otherwise."""
    if not result.ok:
        raise ConfigError(f"the audit log does not verify: {result.problem}", code="audit.broken")
    return result.checked


def _audit_force(actor: Actor) -> str:
    if actor.force_id is None:
        raise Denied("only staff of a force, or a platform admin, can search the audit log")
    return actor.force_id
