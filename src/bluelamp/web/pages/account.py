"""Pages: signing in and out, and the signed-in user's own account (who am I, password,
the reason for looking at personal data, API tokens).

Forms answer people with the form again, the message next to the field; programs
posting the same forms get the error as problem JSON.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bluelamp.access import account
from bluelamp.access.policy import Action
from bluelamp.errors import BluelampError, InvalidInput
from bluelamp.web import auth
from bluelamp.web.auth import Caller, allow, public, safe_next, signed_in
from bluelamp.web.deps import Db, Now
from bluelamp.web.errors import status_for, wants_html
from bluelamp.web.navigation import NavItem

router = APIRouter(include_in_schema=False)
NAV: list[NavItem] = []

Me = Annotated[Caller, Depends(signed_in)]
TokenOwner = Annotated[Caller, Depends(allow(Action.TOKEN_OWN))]
FormText = Annotated[str, Form()]

NO_STORE = {"Cache-Control": "no-store"}
# What the sign-in form says, by error code, in place of the error's own wording.
SIGN_IN_MESSAGES = {
    "access.bad_credentials": "Wrong username or password.",
    "access.csrf": "The sign-in form had expired. Please sign in again.",
}


# ---------------------------------------------------------------- sign in and out


@router.get("/sign-in", response_class=HTMLResponse, dependencies=[Depends(public)])
def sign_in_page(request: Request, next: str = "", signed_out: bool = False):
    """The sign-in form."""
    notice = "You have signed out." if signed_out else None
    return _sign_in_form(request, next=safe_next(next), notice=notice)


@router.post("/sign-in", response_class=HTMLResponse, dependencies=[Depends(public)])
def sign_in(
    request: Request,
    db: Db,
    clock: Now,
    username: FormText = "",
    password: FormText = "",
    csrf_token: FormText = "",
    next: FormText = "",
):
    """Check the password; on success start a new session and go to ``next``."""
    target = safe_next(next)
    try:
        auth.check_signin_csrf(request, csrf_token)
    except BluelampError as error:
        return _sign_in_refused(request, error, username=username, next=target)
    with db.unit_of_work() as session:
        result = account.sign_in_through_form(
            session,
            username,
            password,
            previous_token=request.cookies.get(auth.SESSION_COOKIE),
            ip=auth.client_ip(request),
            user_agent=request.headers.get("user-agent"),
            clock=clock,
            policy=request.app.state.settings.session_policy(),
        )
    # The unit of work has committed: a failed attempt and its audit entry are kept.
    if result.error is not None:
        return _sign_in_refused(request, result.error, username=username, next=target)
    if result.user.must_change_password:
        target = f"/account/password?next={quote(target, safe='')}"
    response = RedirectResponse(target, status_code=303)
    auth.set_session_cookie(response, request, result.token)
    auth.clear_signin_csrf(response, request)
    return response


@router.post("/sign-out")
def sign_out(request: Request, caller: Me, db: Db, clock: Now):
    """End this session and forget its cookie."""
    with db.unit_of_work() as session:
        account.sign_out(session, caller.actor, clock)
    response = RedirectResponse("/sign-in?signed_out=1", status_code=303)
    auth.clear_session_cookie(response, request)
    return response


def _sign_in_form(
    request: Request,
    *,
    username: str = "",
    next: str = "/",
    status: int = 200,
    headers: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    form_error: str | None = None,
    notice: str | None = None,
) -> Response:
    """The sign-in form with a fresh double-submit token (cookie and hidden field)."""
    token = auth.new_signin_csrf()
    context: dict[str, Any] = {
        "csrf_token": token,
        "username": username,
        "next": next,
        "field_errors": field_errors or {},
        "form_error": form_error,
        "notice": notice,
    }
    response = request.app.state.templates.TemplateResponse(
        request, "account/sign_in.html", context, status_code=status, headers={**NO_STORE, **(headers or {})}
    )
    auth.set_signin_csrf(response, request, token)
    return response


def _sign_in_refused(request: Request, error: BluelampError, *, username: str, next: str) -> Response:
    """A refused sign-in: the form again with the message (people), or problem JSON (programs)."""
    if not wants_html(request):
        raise error
    headers = {"Retry-After": str(error.extra["retry_after"])} if "retry_after" in error.extra else {}
    message = SIGN_IN_MESSAGES.get(error.code, error.detail[:1].upper() + error.detail[1:])
    at_field = error.code == "access.bad_credentials"
    return _sign_in_form(
        request,
        username=username.strip()[:120],
        next=next,
        status=status_for(error),
        headers=headers,
        field_errors={"password": message} if at_field else None,
        form_error=None if at_field else message,
    )


# ---------------------------------------------------------------- the account page and tokens


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, caller: Me, db: Db, changed: str = "", revoked: str = ""):
    """Who am I, and my API tokens."""
    notice = None
    if changed == "password":
        notice = "Your password was changed. Your other sessions were signed out."
    elif revoked:
        notice = f"Token {revoked} was revoked: programs using it can no longer sign in with it."
    return _account(request, caller, db, notice=notice)


@router.post("/account/tokens", response_class=HTMLResponse)
def issue_token(request: Request, caller: TokenOwner, db: Db, clock: Now, name: FormText = "", days: FormText = "30"):
    """Issue myself a token and show it, this once."""
    try:
        with db.unit_of_work() as session:
            issued = account.issue_own_token(session, caller.actor, name, _whole_number(days), clock)
    except InvalidInput as error:
        if not wants_html(request):
            raise
        return _account(
            request, caller, db, status=422, field_errors=_by_field(error), form={"name": name, "days": days}
        )
    # The plaintext is on this one response and nowhere else (not stored, not in a redirect).
    return _account(request, caller, db, issued=issued)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, caller: Me, db: Db, clock: Now, token_id: str):
    """Revoke one of my tokens."""
    with db.unit_of_work() as session:
        token = account.revoke_own_token(session, caller.actor, token_id, clock)
    return RedirectResponse(f"/account?revoked={quote(token.id, safe='')}", status_code=303)


def _account(
    request: Request,
    caller: Caller,
    db: Db,
    *,
    status: int = 200,
    issued: account.IssuedToken | None = None,
    notice: str | None = None,
    field_errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    with db.read() as session:
        overview = account.overview(session, caller.actor)
    context = {
        "me": caller,
        "overview": overview,
        "force": overview.force,
        "issued": issued,
        "notice": notice,
        "field_errors": field_errors or {},
        "form": form or {"name": "", "days": "30"},
        "may_issue": caller.actor.can(Action.TOKEN_OWN),
        "now": request.app.state.clock.now(),
    }
    return request.app.state.templates.TemplateResponse(
        request, "account/index.html", context, status_code=status, headers=NO_STORE
    )


# ---------------------------------------------------------------- password


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, caller: Me, next: str = ""):
    """The change-password form."""
    return _password_form(request, caller, next=safe_next(next, default=""))


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    caller: Me,
    db: Db,
    clock: Now,
    current_password: FormText = "",
    new_password: FormText = "",
    confirm_password: FormText = "",
    next: FormText = "",
):
    """Change my password; my other sessions end."""
    target = safe_next(next, default="")
    try:
        with db.unit_of_work() as session:
            account.change_own_password(session, caller.actor, current_password, new_password, confirm_password, clock)
    except InvalidInput as error:
        if not wants_html(request):
            raise
        return _password_form(request, caller, next=target, status=422, field_errors=_by_field(error))
    return RedirectResponse(target or "/account?changed=password", status_code=303)


def _password_form(
    request: Request, caller: Caller, *, next: str, status: int = 200, field_errors: dict[str, str] | None = None
) -> Response:
    context = {
        "me": caller,
        "next": next,
        "must_change": caller.user.must_change_password,
        "field_errors": field_errors or {},
    }
    return request.app.state.templates.TemplateResponse(
        request, "account/password.html", context, status_code=status, headers=NO_STORE
    )


# ---------------------------------------------------------------- the reason for looking


@router.get("/account/reason", response_class=HTMLResponse)
def reason_page(request: Request, caller: Me, next: str = ""):
    """The "why are you looking" prompt."""
    return _reason_form(request, caller, next=safe_next(next))


@router.post("/account/reason", response_class=HTMLResponse)
def state_reason(
    request: Request, caller: Me, db: Db, clock: Now, purpose: FormText = "", detail: FormText = "", next: FormText = ""
):
    """Record why I am looking at personal data, then go back to ``next``."""
    target = safe_next(next)
    try:
        with db.unit_of_work() as session:
            account.state_own_reason(session, caller.actor, purpose, detail, clock)
    except InvalidInput as error:
        if not wants_html(request):
            raise
        return _reason_form(
            request,
            caller,
            next=target,
            status=422,
            field_errors=_by_field(error),
            form={"purpose": purpose, "detail": detail},
        )
    return RedirectResponse(target, status_code=303)


def _reason_form(
    request: Request,
    caller: Caller,
    *,
    next: str,
    status: int = 200,
    field_errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    context = {
        "me": caller,
        "next": next,
        "purposes": account.PURPOSES,
        "current": caller.actor.reason,
        "field_errors": field_errors or {},
        "form": form or {"purpose": "", "detail": ""},
    }
    return request.app.state.templates.TemplateResponse(request, "account/reason.html", context, status_code=status)


# ---------------------------------------------------------------- parsing


def _by_field(error: InvalidInput) -> dict[str, str]:
    """The first message for each field, to show next to it (one without a field: under ``form``)."""
    messages: dict[str, str] = {}
    for problem in error.problems:
        messages.setdefault(problem.field, problem.message[:1].upper() + problem.message[1:] + ".")
    if not error.problems:
        messages["form"] = error.detail[:1].upper() + error.detail[1:] + "."
    return messages


def _whole_number(text: str) -> int:
    """A number typed in a form; 0 (which the service refuses with its own message) when it is not one."""
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 6 else 0
