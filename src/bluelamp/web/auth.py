"""Who is calling: the session cookie or a bearer token, resolved once per request
into a ``Caller``; route dependencies that demand an action; CSRF on every unsafe
cookie-authenticated request.

Every route declares its access with exactly one of ``allow(action)``,
``signed_in`` or ``public`` (tests/test_route_access.py fails for a route without).

The sign-in form itself has no session yet, so it is protected by a double-submit
token instead: a short-lived cookie and a hidden field that must match.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from fastapi import Request, Response, WebSocket
from starlette.concurrency import run_in_threadpool

from bluelamp.access import account, audit, changes, service, sessions
from bluelamp.access.audit import Audit, AuditTrail, Outcome
from bluelamp.access.model import User, WebSession
from bluelamp.access.policy import Action, Actor
from bluelamp.errors import BluelampError, Denied, Unauthenticated

SESSION_COOKIE = "bl_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# A program states why it needs personal data in this header, once per request.
REASON_HEADER = "x-bluelamp-reason"
# The sign-in form's double-submit token (login CSRF), readable only by /sign-in.
SIGNIN_CSRF_COOKIE = "bl_csrf_pre"
SIGNIN_PATH = "/sign-in"
SIGNIN_CSRF_MAX_AGE_SECONDS = 30 * 60


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


class TokenCache:
    """Bearer tokens' resolved callers, kept for a few seconds (``BLUELAMP_TOKEN_CACHE_SECONDS``)
    so that API calls (vehicle gateways, the officer app, dispatch screens polling) skip
    the token, user and role lookups and the hop into the thread pool.

    An entry is stale after its seconds, when the token expires, or when access changed
    anywhere (``access.changes``: revocation, disabling, roles, clearance). Keys are the
    tokens' SHA-256, never the tokens themselves."""

    MAX_ENTRIES = 10_000

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, tuple[float, int, Actor, User, datetime]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(presented: str) -> str:
        return hashlib.sha256(presented.encode()).hexdigest()

    def get(self, presented: str, now: datetime) -> tuple[Actor, User] | None:
        if self.seconds <= 0:
            return None
        key = self.key(presented)
        entry = self._entries.get(key)
        if entry is None:
            return None
        cached_at, epoch, actor, user, expires_at = entry
        if epoch != changes.epoch() or time.monotonic() - cached_at > self.seconds or now >= expires_at:
            self._entries.pop(key, None)
            return None
        return actor, user

    def put(self, presented: str, actor: Actor, user: User, expires_at: datetime, epoch: int) -> None:
        """Remember a resolution made at ``epoch`` (taken before the lookup began)."""
        if self.seconds <= 0 or epoch != changes.epoch():
            return
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[self.key(presented)] = (time.monotonic(), epoch, actor, user, expires_at)


def _token_cache(request: Request) -> TokenCache:
    state = request.app.state
    cache = getattr(state, "token_cache", None)
    if cache is None:
        cache = state.token_cache = TokenCache(state.settings.token_cache_seconds)
    return cache


def _cached_caller(request: Request) -> Caller | None:
    """The caller from the token cache, without touching the database; None on a miss."""
    authorization = request.headers.get("authorization", "")
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        return None
    clock = request.app.state.clock
    found = _token_cache(request).get(presented.strip(), clock.now())
    if found is None:
        return None
    actor, user = found
    actor = dataclasses.replace(
        actor, ip=client_ip(request), reason=account.stated_reason(request.headers.get(REASON_HEADER))
    )
    return Caller(actor=actor, user=user, web_session=None, trail=AuditTrail(actor, clock))


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _resolve(request: Request) -> Caller:
    """Look up the session or token (in a thread: it touches the database)."""
    app = request.app.state
    database, clock = app.database, app.clock
    policy = app.settings.session_policy()
    ip = client_ip(request)
    authorization = request.headers.get("authorization", "")
    stated = account.stated_reason(request.headers.get(REASON_HEADER))
    touch: dict[str, str] = {}
    epoch = changes.epoch()  # before the lookup: a change committed meanwhile makes it stale
    try:
        # A read: the write lock is taken only when "last seen" is due (at most once a
        # minute per session), so concurrent requests never queue behind each other.
        with database.read() as session:
            if authorization:
                scheme, _, presented = authorization.partition(" ")
                if scheme.lower() != "bearer" or not presented:
                    raise Unauthenticated("use 'Authorization: Bearer <token>'", code="access.token_invalid")
                user, token = sessions.authenticate_token(session, presented.strip(), clock)
                actor = service.actor_for_user(session, user, ip=ip, reason=stated, via="token")
                web_session = None
                cache_entry = (presented.strip(), token.expires_at)
                if sessions.token_touch_due(token, clock.now()):
                    touch["token_id"] = token.id
            else:
                web_session, user = sessions.resolve_session(
                    session, request.cookies.get(SESSION_COOKIE, ""), clock=clock, policy=policy
                )
                reason = stated or sessions.current_reason(web_session, clock, policy)
                actor = service.actor_for_user(session, user, ip=ip, session_id=web_session.id, reason=reason)
                if sessions.session_touch_due(web_session, clock.now()):
                    touch["session_id"] = web_session.id
            session.expunge_all()
        if authorization:
            _token_cache(request).put(cache_entry[0], actor, user, cache_entry[1], epoch)
        if touch:
            with database.unit_of_work() as session:
                sessions.touch(session, clock.now(), **touch)
    except Unauthenticated as exc:
        if authorization or request.cookies.get(SESSION_COOKIE):
            _audit_refusal(request, "auth", Outcome.FAILED, {"why": exc.code})
        raise
    return Caller(actor=actor, user=user, web_session=web_session, trail=AuditTrail(actor, clock))


async def current_caller(request: Request) -> Caller:
    """The caller, resolved at most once per request."""
    caller = getattr(request.state, "caller", None)
    if caller is None:
        caller = _cached_caller(request) or await run_in_threadpool(_resolve, request)
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


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """Give the browser its session: HttpOnly, SameSite=Lax, Secure (per settings), whole site."""
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_hours * 3600,  # never outlives the session's absolute limit
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    """Tell the browser to forget its session cookie (sign-out)."""
    settings = request.app.state.settings
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.session_cookie_secure
    )


def new_signin_csrf() -> str:
    """A fresh double-submit token for the sign-in form (its hidden field and ``set_signin_csrf``)."""
    return secrets.token_urlsafe(32)


def set_signin_csrf(response: Response, request: Request, token: str) -> None:
    """The sign-in form's token as a cookie: HttpOnly, SameSite=Strict, sent only to /sign-in."""
    response.set_cookie(
        SIGNIN_CSRF_COOKIE,
        token,
        max_age=SIGNIN_CSRF_MAX_AGE_SECONDS,
        path=SIGNIN_PATH,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.session_cookie_secure,
    )


def clear_signin_csrf(response: Response, request: Request) -> None:
    """Tell the browser to forget the sign-in form's token once it has been used."""
    response.delete_cookie(
        SIGNIN_CSRF_COOKIE,
        path=SIGNIN_PATH,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.session_cookie_secure,
    )


def check_signin_csrf(request: Request, presented: str) -> None:
    """Refuse (Denied access.csrf, audited) a sign-in whose hidden token does not match its cookie."""
    expected = request.cookies.get(SIGNIN_CSRF_COOKIE, "")
    if not expected or not presented or not secrets.compare_digest(presented, expected):
        _audit_refusal(request, "csrf", Outcome.DENIED, {"path": request.url.path})
        raise Denied("the sign-in form expired or did not come from this site; try again", code="access.csrf")


def safe_next(target: str | None, default: str = "/") -> str:
    """Where to go after signing in or stating a reason: a path on this site only, never
    another site (``//host``, ``https://host``, backslashes) and never back to sign-in or out."""
    target = (target or "").strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith((SIGNIN_PATH, "/sign-out")):
        return default
    return target


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


# ---------------------------------------------------------------- WebSockets


class _HandshakeCredentials:
    """What ``_resolve`` reads of a request, taken from a WebSocket handshake, with a
    ``?token=`` presented as a bearer token (browsers' WebSocket API cannot set headers)."""

    def __init__(self, websocket: WebSocket) -> None:
        self.app = websocket.app
        self.client = websocket.client
        self.cookies = websocket.cookies
        self.url = websocket.url
        self.headers = {name.lower(): value for name, value in websocket.headers.items()}
        token = websocket.query_params.get("token")
        if token and "authorization" not in self.headers:
            self.headers["authorization"] = f"Bearer {token}"


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == websocket.headers.get("host")


async def websocket_caller(websocket: WebSocket, action: Action) -> Caller:
    """The caller of a WebSocket that needs ``action``, from the session cookie, an
    ``Authorization: Bearer`` header or ``?token=``. A cookie only counts from a page of
    this site (the Origin must match: a WebSocket has no CSRF token). Raises
    Unauthenticated or Denied, audited as ``allow`` does for requests."""
    credentials = _HandshakeCredentials(websocket)
    caller = await run_in_threadpool(_resolve, credentials)
    path = {"path": websocket.url.path}
    if caller.web_session is not None and not _same_origin(websocket):
        await run_in_threadpool(_audit_refusal, credentials, "csrf", Outcome.DENIED, path, caller.actor)
        raise Denied(
            "a live feed opened with your session must come from a page of this site", code="access.cross_site"
        )
    if not caller.actor.can(action):
        await run_in_threadpool(_audit_refusal, credentials, str(action), Outcome.DENIED, path, caller.actor)
        raise Denied(f"your roles do not allow {action}")
    return caller
