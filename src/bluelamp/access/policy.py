"""The access policy: roles, actions, the permission table, security markings, and
the one decision (actor, action, record) -> allow/deny with a reason.

Services call ``authorize`` for single records and ``visible`` (in queries) to filter
lists in SQL, before LIMIT and before counting. A record the actor may not see
answers exactly like a missing one (``NotFound`` with the same message).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """What a user does; a user may hold several."""

    CALL_HANDLER = "call_handler"
    DISPATCHER = "dispatcher"
    RESPONSE_OFFICER = "response_officer"
    INVESTIGATOR = "investigator"
    INTELLIGENCE_ANALYST = "intelligence_analyst"
    SOURCE_HANDLER = "source_handler"
    SUPERVISOR = "supervisor"
    PARTNER_PRACTITIONER = "partner_practitioner"
    FORCE_ADMIN = "force_admin"
    DATA_PROTECTION_OFFICER = "data_protection_officer"
    PLATFORM_ADMIN = "platform_admin"
    TRACKING_GATEWAY = "tracking_gateway"


class Action(StrEnum):
    """Everything a user can be allowed to do. Names are ``<thing>.<verb>``."""

    # access
    FORCE_READ = "force.read"
    FORCE_MANAGE = "force.manage"
    USER_READ = "user.read"
    USER_MANAGE = "user.manage"
    TOKEN_OWN = "token.own"
    TOKEN_MANAGE = "token.manage"
    AUDIT_READ = "audit.read"
    AUDIT_VERIFY = "audit.verify"
    # tracking
    UNIT_READ = "unit.read"
    UNIT_MANAGE = "unit.manage"
    UNIT_STATUS = "unit.status"
    EMERGENCY_ACKNOWLEDGE = "emergency.acknowledge"
    POSITION_REPORT = "position.report"
    # command and control
    INCIDENT_READ = "incident.read"
    INCIDENT_CREATE = "incident.create"
    INCIDENT_UPDATE = "incident.update"
    INCIDENT_DISPATCH = "incident.dispatch"
    INCIDENT_APPROVE_DOWNGRADE = "incident.approve_downgrade"
    INCIDENT_CLOSE = "incident.close"
    # records
    PERSON_READ = "person.read"
    PERSON_SEARCH = "person.search"
    PERSON_WRITE = "person.write"
    PERSON_MERGE = "person.merge"
    CRIME_READ = "crime.read"
    CRIME_RECORD = "crime.record"
    INTELLIGENCE_READ = "intelligence.read"
    INTELLIGENCE_CREATE = "intelligence.create"
    INTELLIGENCE_SOURCE_READ = "intelligence.source_read"
    RECORD_REVIEW = "record.review"
    NOTEBOOK_WRITE = "notebook.write"
    STOP_SEARCH_RECORD = "stop_search.record"
    # open data
    OPENDATA_PUBLISH = "opendata.publish"
    OPENDATA_IMPORT = "opendata.import"
    NEIGHBOURHOOD_MANAGE = "neighbourhood.manage"


A = Action
_STAFF = {A.FORCE_READ, A.TOKEN_OWN}
_CONTROL_ROOM = _STAFF | {
    A.UNIT_READ,
    A.INCIDENT_READ,
    A.INCIDENT_CREATE,
    A.INCIDENT_UPDATE,
    A.PERSON_READ,
    A.PERSON_SEARCH,
}

# The one permission table (role -> actions). docs/permissions.md is rendered from it.
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.CALL_HANDLER: frozenset(_CONTROL_ROOM),
    Role.DISPATCHER: frozenset(
        _CONTROL_ROOM | {A.UNIT_STATUS, A.INCIDENT_DISPATCH, A.INCIDENT_CLOSE, A.EMERGENCY_ACKNOWLEDGE}
    ),
    Role.RESPONSE_OFFICER: frozenset(
        _STAFF
        | {A.UNIT_READ, A.UNIT_STATUS, A.INCIDENT_READ, A.INCIDENT_UPDATE, A.INCIDENT_CREATE, A.PERSON_READ}
        | {A.PERSON_SEARCH, A.PERSON_WRITE, A.CRIME_READ, A.CRIME_RECORD, A.NOTEBOOK_WRITE, A.POSITION_REPORT}
        | {A.STOP_SEARCH_RECORD}
    ),
    Role.INVESTIGATOR: frozenset(
        _STAFF
        | {A.INCIDENT_READ, A.PERSON_READ, A.PERSON_SEARCH, A.PERSON_WRITE, A.CRIME_READ, A.CRIME_RECORD}
        | {A.INTELLIGENCE_READ, A.INTELLIGENCE_CREATE}
    ),
    Role.INTELLIGENCE_ANALYST: frozenset(
        _STAFF
        | {A.INCIDENT_READ, A.PERSON_READ, A.PERSON_SEARCH, A.PERSON_MERGE, A.CRIME_READ}
        | {A.INTELLIGENCE_READ, A.INTELLIGENCE_CREATE, A.OPENDATA_PUBLISH}
    ),
    Role.SOURCE_HANDLER: frozenset(_STAFF | {A.INTELLIGENCE_READ, A.INTELLIGENCE_CREATE, A.INTELLIGENCE_SOURCE_READ}),
    Role.SUPERVISOR: frozenset(
        _CONTROL_ROOM
        | {A.UNIT_STATUS, A.INCIDENT_DISPATCH, A.INCIDENT_APPROVE_DOWNGRADE, A.INCIDENT_CLOSE}
        | {A.EMERGENCY_ACKNOWLEDGE, A.CRIME_READ, A.USER_READ, A.NEIGHBOURHOOD_MANAGE}
    ),
    Role.PARTNER_PRACTITIONER: frozenset({A.TOKEN_OWN}),
    Role.FORCE_ADMIN: frozenset(
        _STAFF
        | {A.USER_READ, A.USER_MANAGE, A.TOKEN_MANAGE, A.UNIT_READ, A.UNIT_MANAGE}
        | {A.OPENDATA_PUBLISH, A.NEIGHBOURHOOD_MANAGE}
    ),
    Role.DATA_PROTECTION_OFFICER: frozenset(
        _STAFF | {A.AUDIT_READ, A.AUDIT_VERIFY, A.USER_READ, A.RECORD_REVIEW, A.PERSON_READ, A.PERSON_SEARCH}
    ),
    Role.PLATFORM_ADMIN: frozenset(
        {A.FORCE_READ, A.FORCE_MANAGE, A.USER_READ, A.USER_MANAGE, A.TOKEN_OWN, A.TOKEN_MANAGE, A.AUDIT_VERIFY}
        | {A.OPENDATA_IMPORT}
    ),
    Role.TRACKING_GATEWAY: frozenset({A.TOKEN_OWN, A.POSITION_REPORT}),
}

ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.CALL_HANDLER: "answers 999/101 calls and online contact; creates and grades incidents",
    Role.DISPATCHER: "watches the queue and the live map; assigns units; acknowledges emergencies",
    Role.RESPONSE_OFFICER: "on patrol: tasks, status, checks, crimes at scene, pocket notebook",
    Role.INVESTIGATOR: "owns crimes; works person, object, location and event records",
    Role.INTELLIGENCE_ANALYST: "searches across records, link charts, merges duplicate persons",
    Role.SOURCE_HANDLER: "the only role that sees the identity of intelligence sources",
    Role.SUPERVISOR: "approves downgrades, reviews breaches, acknowledges emergencies",
    Role.PARTNER_PRACTITIONER: "partner organisation worker: sees only what a sharing agreement allows",
    Role.FORCE_ADMIN: "manages the force's users, roles, clearances, tokens and units",
    Role.DATA_PROTECTION_OFFICER: "searches the audit log, verifies it, runs retention reviews",
    Role.PLATFORM_ADMIN: "runs the platform for several forces: forces and their admins",
    Role.TRACKING_GATEWAY: "a vehicle-tracking gateway's service account: reports positions in batches",
}


class Marking(StrEnum):
    """Government Security Classifications as police records carry them."""

    OFFICIAL = "OFFICIAL"
    OFFICIAL_SENSITIVE = "OFFICIAL-SENSITIVE"
    SECRET = "SECRET"

    @property
    def rank(self) -> int:
        return _MARKING_RANK[self]

    def covers(self, marking: Marking | str) -> bool:
        """True when a clearance at this level may see a record with ``marking``."""
        return self.rank >= Marking(marking).rank


_MARKING_RANK = {Marking.OFFICIAL: 0, Marking.OFFICIAL_SENSITIVE: 1, Marking.SECRET: 2}


def markings_up_to(clearance: Marking | str) -> list[str]:
    """Every marking a clearance covers, for SQL ``IN`` filters."""
    level = Marking(clearance)
    return [m.value for m in Marking if level.covers(m)]


def actions_of(roles: frozenset[Role] | set[Role]) -> frozenset[Action]:
    allowed: set[Action] = set()
    for role in roles:
        allowed |= PERMISSIONS.get(Role(role), frozenset())
    return frozenset(allowed)


@dataclass(frozen=True)
class Actor:
    """Who is acting, from where, and why: built once per request or command."""

    user_id: str | None
    username: str
    force_id: str | None
    roles: frozenset[Role] = frozenset()
    clearance: Marking = Marking.OFFICIAL
    organisation_id: str | None = None
    ip: str | None = None
    session_id: str | None = None
    reason: str | None = None
    via: str = "session"
    actions: frozenset[Action] = field(default=frozenset())

    def __post_init__(self) -> None:
        if not self.actions:
            object.__setattr__(self, "actions", actions_of(self.roles))

    def can(self, action: Action) -> bool:
        return action in self.actions

    @classmethod
    def system(cls, force_id: str | None, name: str = "system", *, via: str = "cli") -> Actor:
        """The platform itself (CLI, seeding, scheduled jobs): every action, SECRET clearance."""
        return cls(
            user_id=None,
            username=name,
            force_id=force_id,
            roles=frozenset(Role),
            clearance=Marking.SECRET,
            via=via,
            actions=frozenset(Action),
        )


@dataclass(frozen=True)
class Decision:
    """The policy's answer, with the reason (for the audit log and for tests)."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def decide(
    actor: Actor,
    action: Action,
    *,
    force_id: str | None = None,
    marking: Marking | str | None = None,
    need_to_know: bool = False,
    on_access_list: bool = False,
) -> Decision:
    """The one rule: role grants the action; same force; cleared for the marking; on the
    access list when the record is need-to-know."""
    if not actor.can(action):
        return Decision(False, f"no role of {actor.username} grants {action}")
    if force_id is not None and actor.force_id != force_id:
        return Decision(False, "record belongs to another force")
    if marking is not None and not actor.clearance.covers(marking):
        return Decision(False, f"clearance {actor.clearance} does not cover {Marking(marking)}")
    if need_to_know and not on_access_list:
        return Decision(False, "record is need-to-know and the user is not on its access list")
    return Decision(True, "allowed")


def require_reason(actor: Actor) -> str:
    """The reason the actor stated for looking at personal data (DOMAIN.md: a lookup of
    a person asks for a reason); Denied with code access.reason_required when none."""
    from bluelamp.errors import Denied

    if actor.reason:
        return actor.reason
    if actor.user_id is None and actor.via != "session":
        return f"{actor.via}: {actor.username}"  # the platform itself (CLI, jobs)
    raise Denied("say why you need to look at personal data first", code="access.reason_required")
