"""API: users, roles, clearances and API tokens for force admins; the audit log for data
protection officers (search, who viewed a record, chain verification).

Another force's user or token answers exactly like a missing one (404), and the
attempt is audited. Errors are problem details (web/errors.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from bluelamp.access import audit, service, sessions
from bluelamp.access.audit import Audit, AuditQuery, Outcome, audited, refused_if_missing
from bluelamp.access.model import AuditEntry, User
from bluelamp.access.policy import Action, Marking
from bluelamp.clock import parse_moment
from bluelamp.web.api import account as account_api
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter(prefix="/api/v1")

Reader = Annotated[Caller, Depends(allow(Action.USER_READ))]
Manager = Annotated[Caller, Depends(allow(Action.USER_MANAGE))]
TokenManager = Annotated[Caller, Depends(allow(Action.TOKEN_MANAGE))]
AuditReader = Annotated[Caller, Depends(allow(Action.AUDIT_READ))]
AuditVerifier = Annotated[Caller, Depends(allow(Action.AUDIT_VERIFY))]


# ---------------------------------------------------------------- models


class UserOut(BaseModel):
    """A user as admins see them (never a password hash)."""

    id: str
    username: str
    display_name: str
    email: str | None
    force_id: str | None = Field(description="The user's force; None for partner users and platform admins")
    organisation_id: str | None = Field(description="The partner organisation, for partner practitioners")
    roles: list[str]
    clearance: str
    is_platform_admin: bool
    disabled: bool
    disabled_at: datetime | None
    must_change_password: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User, roles: list[str]) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            force_id=user.force_id,
            organisation_id=user.organisation_id,
            roles=sorted(roles),
            clearance=user.clearance,
            is_platform_admin=user.is_platform_admin,
            disabled=user.disabled_at is not None,
            disabled_at=user.disabled_at,
            must_change_password=user.must_change_password,
            created_at=user.created_at,
        )


class UserIn(BaseModel):
    """A new user: of a force (force_id), of a partner organisation (organisation_id), or a platform admin."""

    username: str = Field(examples=["j.smith"])
    display_name: str = Field(examples=["PC Jo Smith"])
    roles: list[str] = Field(examples=[["response_officer"]])
    clearance: Marking = Marking.OFFICIAL
    force_id: str | None = Field(None, examples=["staffordshire"])
    organisation_id: str | None = None
    email: str | None = None


class UserCreated(BaseModel):
    """The new user and their initial password: shown in this response only."""

    user: UserOut
    initial_password: str = Field(description="Shown once; the user must change it at first sign-in")


class RolesIn(BaseModel):
    roles: list[str] = Field(examples=[["dispatcher", "supervisor"]])


class ClearanceIn(BaseModel):
    clearance: Marking


class PasswordReset(BaseModel):
    password: str = Field(description="Shown once; the user must change it at next sign-in")


class TokenIn(BaseModel):
    name: str = Field(examples=["ANPR bridge"])
    days: int = Field(90, ge=1, le=366)


class TokenOut(account_api.TokenOut):
    """An API token's public details (never its secret), with whose it is."""

    user_id: str


class TokenIssued(TokenOut):
    token: str = Field(description="The bearer token: shown in this response only, never stored")


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    actor_user_id: str | None
    force_id: str | None
    ip: str | None
    via: str
    action: str
    outcome: str
    record_type: str | None
    record_id: str | None
    reason: str | None
    detail: dict
    hash: str

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditEntryOut:
        return cls(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            actor_user_id=entry.actor_user_id,
            force_id=entry.force_id,
            ip=entry.ip,
            via=entry.via,
            action=entry.action,
            outcome=entry.outcome,
            record_type=entry.record_type,
            record_id=entry.record_id,
            reason=entry.reason,
            detail=json.loads(entry.detail or "{}"),
            hash=entry.hash,
        )


class AuditPageOut(BaseModel):
    entries: list[AuditEntryOut]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page; None at the end")


class ViewerOut(BaseModel):
    actor: str
    actor_user_id: str | None
    first_at: datetime
    last_at: datetime
    count: int
    refused: int
    actions: list[str]


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None
    problem: str | None
    head_seq: int
    head_hash: str


def _missing(record_type: str, record_id: str, action: str) -> Audit:
    return Audit(action, Outcome.DENIED, record_type, record_id[:64], {"why": "not found in the caller's force"})


# ---------------------------------------------------------------- users


@router.get("/users", response_model=list[UserOut], tags=["admin"], summary="List users")
def list_users(
    caller: Reader,
    db: Db,
    force_id: Annotated[str | None, Query(description="Platform admins: one force's users")] = None,
    q: Annotated[str | None, Query(description="Part of the username or name")] = None,
    role: str | None = None,
    disabled: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
):
    """The users of the caller's force and its partner organisations (every force's for a platform admin)."""
    wanted = service.UserFilter(force_id=force_id, text=q, role=role, disabled=disabled, limit=limit)
    with db.read() as session:
        rows = service.list_users(session, caller.actor, wanted)
        return [UserOut.of(row.user, row.roles) for row in rows]


@router.post("/users", response_model=UserCreated, status_code=201, tags=["admin"], summary="Create a user")
def create_user(caller: Manager, db: Db, clock: Now, body: UserIn):
    """Create a user with a generated initial password, returned once; they must change it at first sign-in."""
    command = service.AddUser(
        username=body.username,
        display_name=body.display_name,
        roles=tuple(body.roles),
        force_id=body.force_id,
        organisation_id=body.organisation_id,
        clearance=body.clearance.value,
        email=body.email,
    )
    with db.unit_of_work() as session:
        created = service.add_user_with_initial_password(session, caller.actor, command, clock)
        details = service.user_details(session, caller.actor, created.user.id)
        return UserCreated(user=UserOut.of(details.user, details.roles), initial_password=created.password)


@router.get("/users/{user_id}", response_model=UserOut, tags=["admin"], summary="One user")
def get_user(caller: Reader, db: Db, user_id: str):
    """A user of the caller's force; 404 for a missing user and for another force's alike."""
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing("user", user_id, "user.read")):
        details = service.user_details(session, caller.actor, user_id)
        return UserOut.of(details.user, details.roles)


@router.post("/users/{user_id}/disable", response_model=UserOut, tags=["admin"], summary="Disable a user")
def disable_user(caller: Manager, db: Db, clock: Now, user_id: str):
    """They cannot sign in; their sessions end and their API tokens stop working at once."""
    missing = _missing("user", user_id, "user.disable")
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, missing):
        service.disable_user(session, caller.actor, user_id, clock)
        details = service.user_details(session, caller.actor, user_id)
        return UserOut.of(details.user, details.roles)


@router.post("/users/{user_id}/enable", response_model=UserOut, tags=["admin"], summary="Enable a user")
def enable_user(caller: Manager, db: Db, clock: Now, user_id: str):
    """Enable a disabled user again."""
    missing = _missing("user", user_id, "user.enable")
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, missing):
        service.enable_user(session, caller.actor, user_id, clock)
        details = service.user_details(session, caller.actor, user_id)
        return UserOut.of(details.user, details.roles)


@router.put("/users/{user_id}/roles", response_model=UserOut, tags=["admin"], summary="Set a user's roles")
def set_roles(caller: Manager, db: Db, clock: Now, user_id: str, body: RolesIn):
    """Replace the user's roles with these."""
    with (
        audited(db, caller.trail) as session,
        refused_if_missing(caller.trail, _missing("user", user_id, "user.roles")),
    ):
        service.set_roles(session, caller.actor, user_id, tuple(body.roles), clock)
        details = service.user_details(session, caller.actor, user_id)
        return UserOut.of(details.user, details.roles)


@router.put("/users/{user_id}/clearance", response_model=UserOut, tags=["admin"], summary="Set a user's clearance")
def set_clearance(caller: Manager, db: Db, clock: Now, user_id: str, body: ClearanceIn):
    """Set the highest security marking the user may see."""
    missing = _missing("user", user_id, "user.clearance")
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, missing):
        service.set_clearance(session, caller.actor, user_id, body.clearance.value, clock)
        details = service.user_details(session, caller.actor, user_id)
        return UserOut.of(details.user, details.roles)


@router.post(
    "/users/{user_id}/password-reset", response_model=PasswordReset, tags=["admin"], summary="Reset a password"
)
def reset_password(caller: Manager, db: Db, clock: Now, user_id: str):
    """A new password, returned once; the user's sessions end and they must change it at next sign-in."""
    missing = _missing("user", user_id, "user.reset_password")
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, missing):
        return PasswordReset(password=service.reset_password(session, caller.actor, user_id, clock))


# ---------------------------------------------------------------- tokens


@router.get("/users/{user_id}/tokens", response_model=list[TokenOut], tags=["admin"], summary="A user's API tokens")
def list_tokens(caller: TokenManager, db: Db, user_id: str):
    """The user's API tokens, newest first (never their secrets)."""
    with (
        audited(db, caller.trail) as session,
        refused_if_missing(caller.trail, _missing("user", user_id, "token.read")),
    ):
        return [TokenOut.of(token) for token in service.list_tokens(session, caller.actor, user_id)]


@router.post(
    "/users/{user_id}/tokens", response_model=TokenIssued, status_code=201, tags=["admin"], summary="Issue a token"
)
def issue_token(caller: TokenManager, db: Db, clock: Now, user_id: str, body: TokenIn):
    """Issue an API token acting as the user; the token is in this response only."""
    with (
        audited(db, caller.trail) as session,
        refused_if_missing(caller.trail, _missing("user", user_id, "token.issue")),
    ):
        issued = sessions.issue_token(session, caller.actor, user_id, body.name, body.days, clock)
        return TokenIssued(**TokenOut.of(issued.token).model_dump(), token=issued.plaintext)


@router.delete("/tokens/{token_id}", response_model=TokenOut, tags=["admin"], summary="Revoke a token")
def revoke_token(caller: TokenManager, db: Db, clock: Now, token_id: str):
    """Revoke an API token: it stops working at once. The token stays listed, marked revoked."""
    missing = _missing("api_token", token_id, "token.revoke")
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, missing):
        return TokenOut.of(sessions.revoke_token(session, caller.actor, token_id, clock))


# ---------------------------------------------------------------- the audit log


@router.get("/audit", response_model=AuditPageOut, tags=["audit"], summary="Search the audit log")
def search_audit(
    caller: AuditReader,
    db: Db,
    clock: Now,
    user: Annotated[str | None, Query(description="Username of who acted")] = None,
    record_type: str | None = None,
    record_id: str | None = None,
    action: str | None = None,
    since: Annotated[str | None, Query(description="ISO 8601; UTC unless it has an offset")] = None,
    until: Annotated[str | None, Query(description="ISO 8601, exclusive")] = None,
    before: Annotated[int | None, Query(description="Only entries older than this seq (next page)")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_AUDIT_PAGE)] = 100,
):
    """Entries of the caller's force, newest first. The search is itself audited with its terms."""
    query = AuditQuery(
        force_id=None,
        actor=user,
        record_type=record_type,
        record_id=record_id,
        action=action,
        since=parse_moment(since, "since"),
        until=parse_moment(until, "until"),
        limit=limit,
        before=before,
    )
    with db.unit_of_work() as session:
        page = service.search_audit(session, caller.actor, query, clock)
        return AuditPageOut(entries=[AuditEntryOut.of(e) for e in page.entries], next_before=page.next_before)


@router.get("/audit/viewers", response_model=list[ViewerOut], tags=["audit"], summary="Who viewed a record")
def who_viewed(caller: AuditReader, db: Db, clock: Now, record_type: str, record_id: str):
    """Each user whose access to the record is in the log, with first and last access and how often."""
    with db.unit_of_work() as session:
        viewers = service.who_viewed(session, caller.actor, record_type, record_id, clock)
        return [
            ViewerOut(
                actor=v.actor,
                actor_user_id=v.actor_user_id,
                first_at=v.first_at,
                last_at=v.last_at,
                count=v.count,
                refused=v.refused,
                actions=v.actions,
            )
            for v in viewers
        ]


@router.get("/audit/verify", response_model=VerifyOut, tags=["audit"], summary="Verify the audit chain")
def verify_audit(
    caller: AuditVerifier,
    db: Db,
    expect: Annotated[str | None, Query(description="SEQ:HASH of a checkpoint the chain must still hold")] = None,
):
    """Walk the whole hash chain; ``ok`` false names the first entry edited, removed, reordered or cut off."""
    expected = audit.parse_checkpoint(expect) if expect else None
    with db.read() as session:
        result = service.verify_audit(session, caller.actor, expect=expected)
        head_seq, head_hash = audit.checkpoint(session)
    return VerifyOut(
        ok=result.ok,
        checked=result.checked,
        first_bad_seq=result.first_bad_seq,
        problem=result.problem,
        head_seq=head_seq,
        head_hash=head_hash,
    )
