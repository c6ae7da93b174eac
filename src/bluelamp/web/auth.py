"""Who is calling: the session cookie or a bearer token, resolved once per request
into a ``Caller``; route dependencies that demand an action; CSRF on every unsafe
cookie-authenticated request.

Every route declares its access with exactly one of ``allow(action)``,
``signed_in`` or ``public`` (tests/test_route_access.py fails for a route without).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from bluelamp.access import audit, service, sessions
from bluelamp.access.audit import Audit, AuditTrail, Outcome
from bluelamp.access.model import User, WebSession
from bluelamp.access.policy import Action, Actor
from bluelamp.errors import BluelampError, Denied, Unauthenticated

SESSION_COOKIE = "bl_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Caller:
    """The signed-in user of this request, as the services see them."""

    actor: Actor
    user: User
    web_session: WebSession | None
    trail: AuditTrail = field(repr=False, default=None)

    @property
    def display_name(self) -> str:
        return self.user.display_name

    @property
    def csrf_token(self) -> str | None:
        return self.web_session.csrf_token if self.web_session else None


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _resolve(request: Request) -> Caller:
    """Look up the session or token (in a thread: it touches the database)."""
    app = request.app.state
    database, clock = app.database, app.clock
    policy = app.settings.session_policy()
    ip = client_ip(request)
    authorization = request.headers.get("authorization", "")
    try:
        with database.unit_of_work() as session:
            if authorization:
                scheme, _, presented = authorization.partition(" ")
                if scheme.lower() != "bearer" or not presented:
                    raise Unauthenticated("use 'Authorization: Bearer <token>'", code="access.token_invalid")
                user, token = sessions.authenticate_token(session, presented.strip(), clock)
                actor = service.actor_for_user(session, user, ip=ip, via="token")
                web_session = None
            else:
                web_session, user = sessions.resolve_session(
                    session, request.cookies.get(SESSION_COOKIE, ""), clock=clock, policy=policy
                )
                reason = sessions.current_reason(web_session, clock, policy)
                actor = service.actor_for_user(session, user, ip=ip, session_id=web_session.id, reason=reason)
            session.expunge_all()
    except Unauthenticated as exc:
        if authorization or request.cookies.get(SESSION_COOKIE):
            _audit_refusal(request, "auth", Outcome.FAILED, {"why": exc.code})
        raise
    return Caller(actor=actor, user=user, web_session=web_session, trail=AuditTrail(actor, clock))


async def current_caller(request: Request) -> Caller:
    """The caller, resolved at most once per request."""
    caller = getattr(request.state, "caller", None)
    if caller is None:
        caller = await run_in_threadpool(_resolve, request)
        request.state.caller = caller
        request.state.user = caller
    return caller


async def optional_caller(request: Request) -> Caller | None:
    """The caller when signed in; None otherwise (for public pages that greet users)."""
    if not request.cookies.get(SESSION_COOKIE) and not request.headers.get("authorization"):
        return None
    try:
        return await current_caller(request)
    except BluelampError:
        return None


async def _check_csrf(request: Request, caller: Caller) -> None:
    if request.method not in UNSAFE_METHODS or caller.web_session is None:
        return  # bearer-token calls carry no cookie, so cannot be forged cross-site
    presented = request.headers.get(CSRF_HEADER)
    if presented is None and "form" in request.headers.get("content-type", ""):
        presented = (await request.form()).get(CSRF_FIELD)
    if not presented or not secrets.compare_digest(str(presented), caller.web_session.csrf_token):
        await run_in_threadpool(
            _audit_refusal, request, "csrf", Outcome.DENIED, {"path": request.url.path}, caller.actor
        )
        raise Denied("the form's security token is missing or wrong; reload the page and try again", code="access.csrf")


def _audit_refusal(request: Request, action: str, outcome: str, detail: dict, actor: Actor | None = None) -> None:
    app = request.app.state
    who = actor or Actor(user_id=None, username="(unknown)", force_id=None, ip=client_ip(request), via="web")
    with app.database.unit_of_work() as session:
        audit.append(session, who, Audit(action, outcome, detail=detail), app.clock)


def allow(action: Action):
    """Dependency: the caller must be signed in and hold a role granting ``action``."""

    async def dependency(request: Request) -> Caller:
        caller = await current_caller(request)
        await _check_csrf(request, caller)
        if not caller.actor.can(action):
            await run_in_threadpool(
                _audit_refusal, request, str(action), Outcome.DENIED, {"path": request.url.path}, caller.actor
            )
            raise Denied(f"your roles do not allow {action}")
        return caller

    dependency.bluelamp_access = f"allow:{action}"
    return dependency


async def signed_in(request: Request) -> Caller:
    """Dependency: any signed-in user (their own account pages)."""
    caller = await current_caller(request)
    await _check_csrf(request, caller)
    return caller


signed_in.bluelamp_access = "signed_in"


async def public(request: Request) -> None:
    """Dependency: the route is deliberately open to everyone (sign-in page, open data, health)."""


public.bluelamp_access = "public"
