"""Pages: the data protection officer's view of the audit log: search by user, record,
action and time; who viewed a record; whether the chain verifies.

Results are the DPO's own force's entries; every search is itself audited.
Times typed here are UK wall-clock times (Europe/London), as the pages show them.
"""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from bluelamp.access import audit, service
from bluelamp.access.audit import AuditQuery
from bluelamp.access.policy import Action
from bluelamp.clock import LONDON, parse_moment, to_local
from bluelamp.errors import InvalidInput
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now
from bluelamp.web.forms import by_field
from bluelamp.web.navigation import NavItem

router = APIRouter(include_in_schema=False)
NAV = [NavItem("Audit", "/audit", order=85, action=Action.AUDIT_READ)]

AuditReader = Annotated[Caller, Depends(allow(Action.AUDIT_READ))]
AuditVerifier = Annotated[Caller, Depends(allow(Action.AUDIT_VERIFY))]

PAGE_SIZE = 50


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    caller: AuditReader,
    db: Db,
    clock: Now,
    user: str = "",
    record_type: str = "",
    record_id: str = "",
    action: str = "",
    since: str = "",
    until: str = "",
    before: int | None = None,
):
    form = {"user": user, "record_type": record_type, "record_id": record_id, "action": action}
    form |= {"since": since, "until": until}
    context = {"me": caller, "form": form, "field_errors": {}, "rows": [], "older": None, "searched": False}
    try:
        query = AuditQuery(
            force_id=None,
            actor=user.strip() or None,
            record_type=record_type.strip() or None,
            record_id=record_id.strip() or None,
            action=action.strip() or None,
            since=parse_moment(since, "since", zone=LONDON),
            until=parse_moment(until, "until", zone=LONDON),
            limit=PAGE_SIZE,
            before=before,
        )
        with db.unit_of_work() as session:
            page = service.search_audit(session, caller.actor, query, clock)
    except InvalidInput as error:
        context["field_errors"] = by_field(error)
        return _render(request, "audit/index.html", context, status=422)
    context["rows"] = [(entry, json.loads(entry.detail or "{}")) for entry in page.entries]
    context["searched"] = True
    if page.next_before is not None:
        terms = {name: value for name, value in form.items() if value}
        context["older"] = "/audit?" + urlencode({**terms, "before": page.next_before})
    return _render(request, "audit/index.html", context)


@router.get("/audit/record", response_class=HTMLResponse)
def record_page(request: Request, caller: AuditReader, db: Db, clock: Now, record_type: str = "", record_id: str = ""):
    context = {"me": caller, "record_type": record_type, "record_id": record_id, "field_errors": {}, "viewers": None}
    if not record_type and not record_id:
        return _render(request, "audit/record.html", context)
    try:
        with db.unit_of_work() as session:
            context["viewers"] = service.who_viewed(session, caller.actor, record_type, record_id, clock)
    except InvalidInput as error:
        context["field_errors"] = by_field(error)
        return _render(request, "audit/record.html", context, status=422)
    return _render(request, "audit/record.html", context)


@router.get("/audit/verify", response_class=HTMLResponse)
def verify_page(request: Request, caller: AuditVerifier, db: Db, clock: Now):
    with db.read() as session:
        result = service.verify_audit(session, caller.actor)
        head = audit.checkpoint(session)
    context = {"me": caller, "result": result, "head": head, "checked_at": to_local(clock.now())}
    # htmx asks for the status alone (the button on /audit); a plain visit gets a whole page.
    name = "audit/_verify.html" if request.headers.get("hx-request") else "audit/verify.html"
    return _render(request, name, context)


def _render(request: Request, name: str, context: dict, *, status: int = 200):
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)
