"""The signed-in user's own account: signing in through the form and out again, who
they are, changing their password, stating why they need personal data, and their own
API tokens.

These are self-service wrappers: the rules (throttling, password strength, token
lifetimes, audit) stay in ``sessions``; here a user can only ever reach their own
session, password and tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bluelamp.access import queries, sessions
from bluelamp.access.model import ApiToken, Force, Organisation, User, WebSession
from bluelamp.access.policy import Actor
from bluelamp.access.sessions import IssuedToken, SessionPolicy, SignInResult
from bluelamp.clock import Clock
from bluelamp.errors import FieldProblem, InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Why someone opens or searches personal data: the pick-list of the reason prompt.
# Free text (an incident or crime reference) is asked for as well, so that an auditor
# can tie each look-up to a piece of police work.
PURPOSES = (
    "Responding to an incident",
    "Investigating a crime",
    "Safeguarding concern",
    "Intelligence development",
    "Court/file preparation",
    "Supervision/audit",
)
REASON_MIN_LENGTH = 3
REASON_MAX_LENGTH = 300


def sign_in_through_form(
    session: Session,
    username: str,
    password: str,
    *,
    previous_token: str | None,
    ip: str,
    user_agent: str | None,
    clock: Clock,
    policy: SessionPolicy,
) -> SignInResult:
    """Sign in (``sessions.sign_in``: throttled, audited, always a fresh token) and end
    the session the browser held before, so that no token from before sign-in stays live."""
    result = sessions.sign_in(session, username, password, ip=ip, user_agent=user_agent, clock=clock, policy=policy)
    if result.error is None and previous_token:
        previous = session.get(WebSession, sessions.token_hash(previous_token))
        if previous is not None and previous.id != result.web_session.id:
            user = result.user
            actor = Actor(user_id=user.id, username=user.username, force_id=user.force_id, ip=ip, via="web")
            sessions.end_session(session, previous, actor, clock)
    return result


def sign_out(session: Session, actor: Actor, clock: Clock) -> None:
    """End the actor's current browser session (nothing to do for a bearer token)."""
    web_session = session.get(WebSession, actor.session_id) if actor.session_id else None
    if web_session is not None:
        sessions.end_session(session, web_session, actor, clock)


@dataclass(frozen=True)
class Overview:
    """Who the signed-in user is, and their API tokens (newest first)."""

    user: User
    roles: list[str]
    clearance: str
    force: Force | None
    organisation: Organisation | None
    tokens: list[ApiToken]


def overview(session: Session, actor: Actor) -> Overview:
    """The signed-in user's own account."""
    user = _me(session, actor)
    return Overview(
        user=user,
        roles=sorted(str(role) for role in actor.roles),
        clearance=str(actor.clearance),
        force=session.get(Force, actor.force_id) if actor.force_id else None,
        organisation=session.get(Organisation, user.organisation_id) if user.organisation_id else None,
        tokens=queries.tokens_of(session, user.id),
    )


def own_tokens(session: Session, actor: Actor) -> list[ApiToken]:
    """The signed-in user's API tokens, newest first (revoked and expired ones too)."""
    return queries.tokens_of(session, _me(session, actor).id)


def issue_own_token(session: Session, actor: Actor, name: str, days: int, clock: Clock) -> IssuedToken:
    """Issue an API token for oneself; its plaintext is in the result, shown once, never stored."""
    return sessions.issue_token(session, actor, _me(session, actor).id, name, days, clock)


def revoke_own_token(session: Session, actor: Actor, token_id: str, clock: Clock) -> ApiToken:
    """Revoke one of one's own tokens; anyone else's answers as missing."""
    token = session.get(ApiToken, token_id)
    if token is None or actor.user_id is None or token.user_id != actor.user_id:
        raise NotFound(f"no token {token_id!r}")
    return sessions.revoke_token(session, actor, token_id, clock)


def change_own_password(session: Session, actor: Actor, current: str, new: str, confirm: str, clock: Clock) -> None:
    """Change one's own password (the current one is required); every other session of
    the user ends, the current one goes on."""
    user = _me(session, actor)
    problems: list[FieldProblem] = []
    try:
        sessions.change_password(session, actor, user, current, new, clock, keep_session=actor.session_id)
    except InvalidInput as error:
        # password_problems names the field "password"; on this form it is the new one.
        problems = [
            FieldProblem("new_password" if p.field == "password" else p.field, p.message) for p in error.problems
        ]
    if new != confirm:
        problems.append(FieldProblem("confirm_password", "the two new passwords are not the same"))
    if problems:
        # Raising rolls back the unit of work, so a change is never kept with a bad confirmation.
        raise InvalidInput("; ".join(p.message for p in problems), problems=problems)


def state_own_reason(session: Session, actor: Actor, purpose: str, detail: str, clock: Clock) -> str:
    """Record why the user is about to look at personal data, for this browser session
    (until it goes stale); returns the reason as the audit log will carry it."""
    problems = []
    if purpose not in PURPOSES:
        problems.append(FieldProblem("purpose", "choose why you need to look"))
    detail = " ".join(detail.split())
    if len(detail) < REASON_MIN_LENGTH:
        problems.append(FieldProblem("detail", "give the incident or crime reference, or say briefly why"))
    if problems:
        raise InvalidInput("; ".join(p.message for p in problems), problems=problems)
    web_session = session.get(WebSession, actor.session_id) if actor.session_id else None
    if web_session is None:
        raise InvalidInput("only a browser session states a reason here; programs send the X-Bluelamp-Reason header")
    sessions.state_reason(session, web_session, actor, f"{purpose}: {detail}", clock)
    return web_session.reason


def stated_reason(raw: str | None) -> str | None:
    """A reason a program states for one request (tidied), or None when it gave none
    or too short a one."""
    reason = " ".join((raw or "").split())
    return reason[:REASON_MAX_LENGTH] if len(reason) >= REASON_MIN_LENGTH else None


def _me(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.user_id) if actor.user_id else None
    if user is None:
        raise NotFound("no such user")
    return user
