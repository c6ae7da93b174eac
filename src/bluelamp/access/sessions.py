"""Browser sessions, sign-in with throttling, the stated reason for a task, and API tokens.

Only hashes of session tokens and API token secrets are stored. Every sign-in and
every failure is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bluelamp.access import audit, changes, queries
from bluelamp.access.audit import Audit, Outcome
from bluelamp.access.model import ApiToken, SignInAttempt, User, WebSession
from bluelamp.access.passwords import hash_password, needs_rehash, password_problems, verify_password
from bluelamp.access.policy import Action, Actor
from bluelamp.clock import Clock
from bluelamp.errors import BluelampError, Denied, FieldProblem, InvalidInput, NotFound, RateLimited, Unauthenticated

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class SessionPolicy:
    """Limits for sessions and sign-in throttling (from Settings)."""

    idle_minutes: int = 30
    max_hours: int = 12
    window_seconds: int = 900
    max_failures_per_account: int = 5
    max_failures_per_address: int = 20
    reason_minutes: int = 60


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class SignInResult:
    """The outcome of a sign-in attempt. The attempt and its audit entry are written
    in the caller's transaction either way; on failure ``error`` says why."""

    user: User | None = None
    token: str | None = None
    web_session: WebSession | None = None
    error: BluelampError | None = None

    def raise_for_error(self) -> None:
        if self.error is not None:
            raise self.error


def sign_in(
    session: Session,
    username: str,
    password: str,
    *,
    ip: str,
    user_agent: str | None,
    clock: Clock,
    policy: SessionPolicy,
) -> SignInResult:
    """Check a username and password, throttled per account and per address; start a
    new session (a fresh token: a session id from before sign-in is never reused)."""
    username = username.strip().lower()[:120]
    now = clock.now()
    since = now - timedelta(seconds=policy.window_seconds)
    anonymous = Actor(user_id=None, username=username or "(blank)", force_id=None, ip=ip, via="web")

    def refuse(error: BluelampError, why: str, user: User | None = None) -> SignInResult:
        session.add(SignInAttempt(at=now, username=username, ip=ip, succeeded=False))
        actor = (
            anonymous
            if user is None
            else Actor(user_id=user.id, username=user.username, force_id=user.force_id, ip=ip, via="web")
        )
        audit.append(
            session, actor, Audit("signin", Outcome.FAILED, "user", user.id if user else None, {"why": why}), clock
        )
        return SignInResult(error=error)

    if queries.failed_signins_for_address(session, ip, since) >= policy.max_failures_per_address:
        return refuse(_throttled(policy), "too many failures from this address")
    if queries.failed_signins_for_account(session, username, since) >= policy.max_failures_per_account:
        return refuse(_throttled(policy), "too many failures for this account")
    user = queries.user_by_username(session, username)
    if not verify_password(user.password_hash if user else None, password):
        return refuse(
            Unauthenticated("wrong username or password", code="access.bad_credentials"),
            "wrong username or password",
            user,
        )
    if user.disabled_at is not None:
        return refuse(
            Unauthenticated("wrong username or password", code="access.bad_credentials"), "account disabled", user
        )
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.add(SignInAttempt(at=now, username=username, ip=ip, succeeded=True))
    token, web_session = start_session(session, user, ip=ip, user_agent=user_agent, clock=clock, policy=policy)
    audit.append(
        session,
        Actor(user_id=user.id, username=user.username, force_id=user.force_id, ip=ip, via="web"),
        Audit("signin", record_type="user", record_id=user.id),
        clock,
    )
    return SignInResult(user=user, token=token, web_session=web_session)


def _throttled(policy: SessionPolicy) -> RateLimited:
    return RateLimited(
        "too many failed sign-ins; wait a few minutes and try again",
        code="access.throttled",
        extra={"retry_after": policy.window_seconds},
    )


def start_session(
    session: Session, user: User, *, ip: str | None, user_agent: str | None, clock: Clock, policy: SessionPolicy
) -> tuple[str, WebSession]:
    """A new session for a user; returns the cookie token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    web_session = WebSession(
        id=token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=policy.max_hours),
        ip=ip,
        user_agent=(user_agent or "")[:300],
    )
    session.add(web_session)
    session.flush()
    return token, web_session


def resolve_session(session: Session, token: str, *, clock: Clock, policy: SessionPolicy) -> tuple[WebSession, User]:
    """The live session and user behind a cookie token; Unauthenticated when it is
    unknown, ended, expired, idle too long, or the user is disabled."""
    web_session = session.get(WebSession, token_hash(token)) if token else None
    now = clock.now()
    if web_session is None or web_session.ended_at is not None:
        raise Unauthenticated("please sign in", code="access.unauthenticated")
    if now >= web_session.expires_at or now - web_session.last_seen_at > timedelta(minutes=policy.idle_minutes):
        raise Unauthenticated("your session has expired; please sign in again", code="access.session_expired")
    user = session.get(User, web_session.user_id)
    if user is None or user.disabled_at is not None:
        raise Unauthenticated("please sign in", code="access.unauthenticated")
    return web_session, user


def session_touch_due(web_session: WebSession, now) -> bool:
    """Whether to record that a session was used (at most once a minute: reads stay reads)."""
    return now - web_session.last_seen_at > timedelta(seconds=60)


def token_touch_due(token: ApiToken, now) -> bool:
    """Whether to record that a token was used (at most every five minutes)."""
    return token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5)


def touch(session: Session, now, *, session_id: str | None = None, token_id: str | None = None) -> None:
    """Record that a session or token was just used (written at most once a minute or five)."""
    if session_id is not None:
        found = session.get(WebSession, session_id)
        if found is not None and (found.last_seen_at is None or found.last_seen_at < now):
            found.last_seen_at = now
    if token_id is not None:
        found = session.get(ApiToken, token_id)
        if found is not None and (found.last_used_at is None or found.last_used_at < now):
            found.last_used_at = now


def end_session(session: Session, web_session: WebSession, actor: Actor, clock: Clock) -> None:
    """Sign out."""
    if web_session.ended_at is None:
        web_session.ended_at = clock.now()
        audit.append(session, actor, Audit("signout", record_type="user", record_id=web_session.user_id), clock)


def end_all_sessions(session: Session, user_id: str, clock: Clock, *, keep: str | None = None) -> int:
    """End every live session of a user (except ``keep``); returns how many."""
    ended = 0
    for web_session in queries.live_sessions_of(session, user_id):
        if web_session.id != keep:
            web_session.ended_at = clock.now()
            ended += 1
    return ended


def change_password(
    session: Session, actor: Actor, user: User, current: str, new: str, clock: Clock, *, keep_session: str | None = None
) -> None:
    """Change one's own password: the current one is required; other sessions end."""
    problems = []
    if not verify_password(user.password_hash, current):
        problems.append(FieldProblem("current_password", "that is not your current password"))
    problems.extend(password_problems(new, username=user.username))
    if current and new == current:
        problems.append(FieldProblem("new_password", "choose a password different from the current one"))
    if problems:
        raise InvalidInput("; ".join(p.message for p in problems), problems=problems)
    user.password_hash = hash_password(new)
    user.password_changed_at = clock.now()
    user.must_change_password = False
    end_all_sessions(session, user.id, clock, keep=keep_session)
    audit.append(session, actor, Audit("user.change_password", record_type="user", record_id=user.id), clock)


def state_reason(session: Session, web_session: WebSession, actor: Actor, reason: str, clock: Clock) -> None:
    """Record why the user is looking at personal data (once per task, not every click)."""
    reason = " ".join(reason.split())
    if len(reason) < 3:
        raise InvalidInput(
            "say why you need to look (e.g. the incident or crime reference)",
            problems=[FieldProblem("reason", "say why you need to look")],
        )
    web_session.reason = reason[:300]
    web_session.reason_set_at = clock.now()
    audit.append(session, actor, Audit("reason.state", detail={"reason": web_session.reason}, reason=reason), clock)


def current_reason(web_session: WebSession | None, clock: Clock, policy: SessionPolicy) -> str | None:
    """The reason stated for the current task, while it is fresh."""
    if web_session is None or not web_session.reason or web_session.reason_set_at is None:
        return None
    if clock.now() - web_session.reason_set_at > timedelta(minutes=policy.reason_minutes):
        return None
    return web_session.reason


# ---------------------------------------------------------------- API tokens

TOKEN_PREFIX = "bl_"


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: ``plaintext`` is shown once and never stored."""

    token: ApiToken
    plaintext: str


def issue_token(session: Session, actor: Actor, user_id: str, name: str, days: int, clock: Clock) -> IssuedToken:
    """Issue an API token for a user (oneself, or any user of the force for token managers)."""
    from bluelamp.access.service import get_user  # service imports this module

    if actor.user_id != user_id and not actor.can(Action.TOKEN_MANAGE):
        raise Denied("you may issue tokens only for yourself")
    if actor.user_id == user_id and not actor.can(Action.TOKEN_OWN):
        raise Denied("your roles do not allow API tokens")
    user = (
        get_user(session, actor, user_id)
        if actor.user_id != user_id or actor.user_id is None
        else session.get(User, user_id)
    )
    if user is None:
        raise NotFound(f"no user {user_id!r}")
    problems = []
    if not name.strip():
        problems.append(FieldProblem("name", "name the token after what will use it"))
    if not 1 <= days <= 366:
        problems.append(FieldProblem("days", "a token lasts from 1 to 366 days"))
    if problems:
        raise InvalidInput("; ".join(p.message for p in problems), problems=problems)
    public = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    token = ApiToken(
        id=public,
        user_id=user.id,
        name=name.strip()[:120],
        secret_hash=token_hash(secret),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    audit.append(
        session,
        actor,
        Audit("token.issue", record_type="api_token", record_id=public, detail={"user": user.username, "days": days}),
        clock,
    )
    return IssuedToken(token, f"{TOKEN_PREFIX}{public}_{secret}")


def revoke_token(session: Session, actor: Actor, token_id: str, clock: Clock) -> ApiToken:
    from bluelamp.access.service import get_user

    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id!r}")
    if token.user_id != actor.user_id:
        if not actor.can(Action.TOKEN_MANAGE):
            raise NotFound(f"no token {token_id!r}")
        try:
            get_user(session, actor, token.user_id)
        except NotFound:  # another force's token answers exactly like a missing one
            raise NotFound(f"no token {token_id!r}") from None
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        changes.changed(session)
        audit.append(session, actor, Audit("token.revoke", record_type="api_token", record_id=token.id), clock)
    return token


def authenticate_token(session: Session, presented: str, clock: Clock) -> tuple[User, ApiToken]:
    """The user behind a bearer token; Unauthenticated when it is malformed, unknown,
    wrong, expired or revoked, or its user is disabled."""
    public, secret = _split_token(presented)
    token = session.get(ApiToken, public) if public else None
    if token is None or not secrets.compare_digest(token.secret_hash, token_hash(secret)):
        raise Unauthenticated("the bearer token is not valid", code="access.token_invalid")
    now = clock.now()
    if token.revoked_at is not None:
        raise Unauthenticated("the bearer token was revoked", code="access.token_revoked")
    if now >= token.expires_at:
        raise Unauthenticated("the bearer token has expired", code="access.token_expired")
    user = session.get(User, token.user_id)
    if user is None or user.disabled_at is not None:
        raise Unauthenticated("the bearer token is not valid", code="access.token_invalid")
    return user, token


def _split_token(presented: str) -> tuple[str, str]:
    if not presented.startswith(TOKEN_PREFIX):
        return "", ""
    public, _, secret = presented[len(TOKEN_PREFIX) :].partition("_")
    return public, secret
