"""Use cases of access: forces, partner organisations, users, roles and clearances."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bluelamp.access import audit, queries
from bluelamp.access.audit import Audit
from bluelamp.access.model import Force, ForceSettings, Organisation, OrganisationKind, User, UserRole
from bluelamp.access.passwords import generate_password, hash_password, password_problems
from bluelamp.access.policy import Action, Actor, Marking, Role
from bluelamp.access.sessions import end_all_sessions
from bluelamp.clock import Clock
from bluelamp.errors import Conflict, Denied, FieldProblem, InvalidInput, NotFound

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
