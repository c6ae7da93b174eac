"""Pages: sign-in through the force's OpenID Connect provider (Entra ID or similar).

``/sign-in/oidc`` sends the browser to the provider with an authorization request
(code flow, PKCE S256, state, nonce) and keeps what must come back in a signed,
HttpOnly cookie that lasts ten minutes. ``/sign-in/oidc/callback`` checks the answer,
lets ``access.oidc`` decide who the person is, and sets the same session cookie as a
password sign-in. A failure is shown on the error page in plain words, and audited.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bluelamp.access.oidc import OidcClient, PendingSignIn, record_oidc_failure, sign_in_with_oidc
from bluelamp.errors import BluelampError, NotFound, Unauthenticated
from bluelamp.web import errors as web_errors
from bluelamp.web.auth import SESSION_COOKIE, client_ip, public, safe_next, set_session_cookie
from bluelamp.web.deps import Db, Now

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False, dependencies=[Depends(public)])
NAV: list = []

PENDING_COOKIE = "bl_oidc"
PENDING_PATH = "/sign-in/oidc"
PENDING_MAX_AGE_SECONDS = 600  # time allowed at the provider's sign-in page


@router.get("/sign-in/oidc")
def start_oidc_sign_in(request: Request, next: str = "/"):
    settings = request.app.state.settings
    try:
        url, pending = _client(request).begin(_redirect_uri(request), safe_next(next))
    except BluelampError as exc:
        return _failure(request, exc)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        _serializer(request).dumps(pending.as_dict()),
        max_age=PENDING_MAX_AGE_SECONDS,
        path=PENDING_PATH,
        httponly=True,
        samesite="lax",  # the provider sends the browser back with a top-level GET, which Lax allows
        secure=settings.session_cookie_secure,
    )
    return response


@router.get("/sign-in/oidc/callback", name="oidc_callback")
def finish_oidc_sign_in(request: Request, db: Db, clock: Now):
    settings = request.app.state.settings
    ip = client_ip(request)
    try:
        client = _client(request)
        pending = _pending(request)
        identity = client.finish(pending, dict(request.query_params), now=clock.now())
    except BluelampError as exc:
        if settings.oidc_enabled:
            with db.unit_of_work() as session:
                record_oidc_failure(session, exc, config=settings.oidc_config(), ip=ip, clock=clock)
        return _failure(request, exc)
    with db.unit_of_work() as session:
        result = sign_in_with_oidc(
            session,
            identity,
            config=settings.oidc_config(),
            ip=ip,
            user_agent=request.headers.get("user-agent"),
            previous_token=request.cookies.get(SESSION_COOKIE),
            clock=clock,
            policy=settings.session_policy(),
        )
    if result.error is not None:
        return _failure(request, result.error)
    response = RedirectResponse(safe_next(pending.next), status_code=303)
    set_session_cookie(response, request, result.token)
    _forget_pending(response, request)
    return response


def _client(request: Request) -> OidcClient:
    """The app's relying party, made on first use (it caches the provider's metadata and keys)."""
    settings = request.app.state.settings
    if not settings.oidc_enabled:
        raise NotFound(
            "sign-in through an OpenID Connect provider is not set up on this server",
            code="access.oidc_not_configured",
        )
    client = getattr(request.app.state, "oidc_client", None)
    if client is None:
        client = request.app.state.oidc_client = OidcClient(settings.oidc_config())
    return client


def _redirect_uri(request: Request) -> str:
    return request.app.state.settings.oidc_redirect_url or str(request.url_for("oidc_callback"))


def _serializer(request: Request) -> URLSafeTimedSerializer:
    secret = request.app.state.settings.secret_key.get_secret_value()
    return URLSafeTimedSerializer(secret, salt="bluelamp.oidc.pending")


def _pending(request: Request) -> PendingSignIn:
    cookie = request.cookies.get(PENDING_COOKIE)
    if not cookie:
        raise Unauthenticated(
            "this sign-in was not started here, or took longer than ten minutes; start again from the sign-in page",
            code="access.oidc_failed",
        )
    try:
        data = _serializer(request).loads(cookie, max_age=PENDING_MAX_AGE_SECONDS)
    except BadSignature:  # also SignatureExpired
        raise Unauthenticated(
            "the sign-in request expired or was tampered with; start again from the sign-in page",
            code="access.oidc_failed",
        ) from None
    return PendingSignIn.from_dict(data)


def _forget_pending(response: Response, request: Request) -> None:
    settings = request.app.state.settings
    response.delete_cookie(
        PENDING_COOKIE, path=PENDING_PATH, httponly=True, samesite="lax", secure=settings.session_cookie_secure
    )


def _failure(request: Request, error: BluelampError) -> Response:
    """The error page (or problem JSON) for a failed sign-in, never the sign-in redirect
    that other Unauthenticated errors get: the person needs to read why."""
    if web_errors.status_for(error) >= 500:
        log.warning("OpenID Connect sign-in failed: %s: %s", error.code, error.detail)
    response = web_errors.problem(
        request,
        status=web_errors.status_for(error),
        code=error.code,
        title="Sign-in did not complete",
        detail=error.detail,
    )
    _forget_pending(response, request)
    return response
