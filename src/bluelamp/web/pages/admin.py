"""Pages: a force's users for force admins (and platform admins across forces): list,
create, roles, clearance, disable and enable, reset passwords, API tokens.

Another force's user answers exactly like a missing one (404), and the attempt is
audited. A new password or token is shown on one response only, never stored or
put in a redirect.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bluelamp.access import queries as access_queries
from bluelamp.access import service, sessions
from bluelamp.access.audit import Audit, Outcome, audited, refused_if_missing
from bluelamp.access.policy import ROLE_DESCRIPTIONS, Action, Marking, Role
from bluelamp.errors import Conflict, InvalidInput
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now
from bluelamp.web.errors import wants_html
from bluelamp.web.forms import by_field, whole_number
from bluelamp.web.navigation import NavItem

router = APIRouter(include_in_schema=False)
NAV = [NavItem("Admin", "/admin/users", order=80, action=Action.USER_READ)]

Reader = Annotated[Caller, Depends(allow(Action.USER_READ))]
Manager = Annotated[Caller, Depends(allow(Action.USER_MANAGE))]
TokenManager = Annotated[Caller, Depends(allow(Action.TOKEN_MANAGE))]
Field = Annotated[str, Form()]
Roles = Annotated[list[str], Form()]

NO_STORE = {"Cache-Control": "no-store"}
# The service names a user's home force_id or organisation_id; the form has one "home" choice.
HOME_FIELDS = {"force_id": "home", "organisation_id": "home", "display_name": "display_name"}
DONE = {
    "disabled": "The user was disabled: they cannot sign in, and their sessions and tokens stopped working.",
    "enabled": "The user was enabled again.",
    "roles": "The user's roles were changed.",
    "clearance": "The user's clearance was changed.",
    "revoked": "The token was revoked: programs using it can no longer sign in with it.",
}


def _templates(request: Request):
    return request.app.state.templates


def _missing(user_id: str, action: str) -> Audit:
    """The refusal kept when someone asks for a user that is missing or of another force."""
    return Audit(action, Outcome.DENIED, "user", user_id[:64], {"why": "no such user in the caller's force"})


# ---------------------------------------------------------------- the list


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request, caller: Reader, db: Db, q: str = "", role: str = "", status: str = "", force: str = ""
):
    wanted = service.UserFilter(
        force_id=force or None,
        text=q,
        role=role if role in Role.__members__.values() else None,
        disabled={"active": False, "disabled": True}.get(status),
    )
    with db.read() as session:
        rows = service.list_users(session, caller.actor, wanted)
        forces = access_queries.list_forces(session) if service.actor_is_platform_admin(caller.actor) else []
    context = {
        "me": caller,
        "rows": rows,
        "forces": forces,
        "roles": list(Role),
        "filters": {"q": q, "role": role, "status": status, "force": force},
        "limit": wanted.limit,
        "may_manage": caller.actor.can(Action.USER_MANAGE),
    }
    return _templates(request).TemplateResponse(request, "admin/users.html", context)


# ---------------------------------------------------------------- creating a user


@router.get("/admin/users/new", response_class=HTMLResponse)
def new_user_page(request: Request, caller: Manager, db: Db):
    return _new_user_form(request, caller, db, form={"clearance": Marking.OFFICIAL.value, "roles": []})


@router.post("/admin/users/new", response_class=HTMLResponse)
def create_user(
    request: Request,
    caller: Manager,
    db: Db,
    clock: Now,
    username: Field = "",
    display_name: Field = "",
    email: Field = "",
    clearance: Field = "",
    home: Field = "",
    roles: Roles = (),
):
    kind, _, home_id = home.partition(":")
    command = service.AddUser(
        username=username,
        display_name=display_name,
        roles=tuple(roles),
        force_id=home_id if kind == "force" else None,
        organisation_id=home_id if kind == "organisation" else None,
        clearance=clearance,
        email=email.strip() or None,
    )
    try:
        with db.unit_of_work() as session:
            created = service.add_user_with_initial_password(session, caller.actor, command, clock)
    except (InvalidInput, Conflict) as error:
        if not wants_html(request):
            raise
        messages = by_field(error, rename=HOME_FIELDS)
        if error.code == "user.exists":
            messages = {"username": "That username is taken: choose another."}
        form = {"username": username, "display_name": display_name, "email": email, "clearance": clearance}
        form |= {"home": home, "roles": list(roles)}
        return _new_user_form(request, caller, db, form=form, field_errors=messages, status=422)
    context = {"me": caller, "user": created.user, "password": created.password}
    return _templates(request).TemplateResponse(
        request, "admin/user_created.html", context, status_code=201, headers=NO_STORE
    )


def _new_user_form(
    request: Request,
    caller: Caller,
    db: Db,
    *,
    form: dict[str, Any],
    field_errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    with db.read() as session:
        choices = service.home_choices(session, caller.actor)
    platform = service.actor_is_platform_admin(caller.actor)
    context = {
        "me": caller,
        "form": form,
        "field_errors": field_errors or {},
        "choices": choices,
        "platform": platform,
        "roles": [r for r in Role if platform or r is not Role.PLATFORM_ADMIN],
        "descriptions": ROLE_DESCRIPTIONS,
        "markings": list(Marking),
    }
    return _templates(request).TemplateResponse(request, "admin/user_new.html", context, status_code=status)


# ---------------------------------------------------------------- one user


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def user_page(request: Request, caller: Reader, db: Db, user_id: str, done: str = ""):
    return _user_page(request, caller, db, user_id, notice=DONE.get(done))


@router.post("/admin/users/{user_id}/disable")
def disable_user(caller: Manager, db: Db, clock: Now, user_id: str):
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing(user_id, "user.disable")):
        service.disable_user(session, caller.actor, user_id, clock)
    return _back_to(user_id, "disabled")


@router.post("/admin/users/{user_id}/enable")
def enable_user(caller: Manager, db: Db, clock: Now, user_id: str):
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing(user_id, "user.enable")):
        service.enable_user(session, caller.actor, user_id, clock)
    return _back_to(user_id, "enabled")


@router.post("/admin/users/{user_id}/roles", response_class=HTMLResponse)
def set_roles(request: Request, caller: Manager, db: Db, clock: Now, user_id: str, roles: Roles = ()):
    try:
        with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing(user_id, "user.roles")):
            service.set_roles(session, caller.actor, user_id, tuple(roles), clock)
    except InvalidInput as error:
        if not wants_html(request):
            raise
        return _user_page(request, caller, db, user_id, field_errors=by_field(error), status=422)
    return _back_to(user_id, "roles")


@router.post("/admin/users/{user_id}/clearance", response_class=HTMLResponse)
def set_clearance(request: Request, caller: Manager, db: Db, clock: Now, user_id: str, clearance: Field = ""):
    try:
        with (
            audited(db, caller.trail) as session,
            refused_if_missing(caller.trail, _missing(user_id, "user.clearance")),
        ):
            service.set_clearance(session, caller.actor, user_id, clearance, clock)
    except InvalidInput as error:
        if not wants_html(request):
            raise
        return _user_page(request, caller, db, user_id, field_errors=by_field(error), status=422)
    return _back_to(user_id, "clearance")


@router.post("/admin/users/{user_id}/reset-password", response_class=HTMLResponse)
def reset_password(request: Request, caller: Manager, db: Db, clock: Now, user_id: str):
    missing = _missing(user_id, "user.reset_password")
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, missing):
        password = service.reset_password(session, caller.actor, user_id, clock)
    return _user_page(request, caller, db, user_id, new_password=password)


@router.post("/admin/users/{user_id}/tokens", response_class=HTMLResponse)
def issue_token(
    request: Request, caller: TokenManager, db: Db, clock: Now, user_id: str, name: Field = "", days: Field = "90"
):
    try:
        with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing(user_id, "token.issue")):
            issued = sessions.issue_token(session, caller.actor, user_id, name, whole_number(days), clock)
    except InvalidInput as error:
        if not wants_html(request):
            raise
        form = {"name": name, "days": days}
        return _user_page(request, caller, db, user_id, field_errors=by_field(error), token_form=form, status=422)
    return _user_page(request, caller, db, user_id, issued=issued)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(caller: TokenManager, db: Db, clock: Now, token_id: str):
    missing = Audit("token.revoke", Outcome.DENIED, "api_token", token_id[:64], {"why": "no such token"})
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, missing):
        token = sessions.revoke_token(session, caller.actor, token_id, clock)
    return _back_to(token.user_id, "revoked")


def _back_to(user_id: str, done: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/users/{quote(user_id, safe='')}?done={done}", status_code=303)


def _user_page(
    request: Request,
    caller: Caller,
    db: Db,
    user_id: str,
    *,
    notice: str | None = None,
    new_password: str | None = None,
    issued: sessions.IssuedToken | None = None,
    field_errors: dict[str, str] | None = None,
    token_form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing(user_id, "user.read")):
        details = service.user_details(session, caller.actor, user_id)
    actor = caller.actor
    platform = service.actor_is_platform_admin(actor)
    context = {
        "me": caller,
        "details": details,
        "user": details.user,
        "notice": notice,
        "new_password": new_password,
        "issued": issued,
        "field_errors": field_errors or {},
        "token_form": token_form or {"name": "", "days": "90"},
        "may_manage": actor.can(Action.USER_MANAGE),
        "may_manage_tokens": actor.can(Action.TOKEN_MANAGE),
        "is_self": actor.user_id == details.user.id,
        "roles": [
            r
            for r in Role
            if (platform or r is not Role.PLATFORM_ADMIN)
            and (not details.organisation or r is Role.PARTNER_PRACTITIONER)
        ],
        "descriptions": ROLE_DESCRIPTIONS,
        "markings": list(Marking),
        "now": request.app.state.clock.now(),
    }
    secret = new_password is not None or issued is not None
    return _templates(request).TemplateResponse(
        request, "admin/user.html", context, status_code=status, headers=NO_STORE if secret else None
    )
