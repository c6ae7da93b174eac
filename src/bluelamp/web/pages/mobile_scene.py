"""Officer mobile app: a crime recorded at the scene, photos and a witness statement (/m/crime).

One short form, phone first: the offence (common ones first, then search as you type),
what happened, where (the phone's position or an address), the victim (found, or new
with likely matches shown), the suspect (described, or a known person), photos, and a
witness statement signed with a finger. The form is sent through the phone's outbox
(BluelampQueue, with an Idempotency-Key) so nothing typed is lost offline; photos are
too large for the outbox and are sent once the crime is recorded, while online (the page
says so). What is typed is also kept on the phone as a draft until the crime is recorded.

The page starts from the incident the officer attends (their unit's assignment), or one
named with ``?incident=ID``; it prefills the place and suggests an offence from the
incident's category. Services: mobile/scene.py; API: web/api/scene.py."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from bluelamp.access.policy import Action
from bluelamp.command import service as incidents
from bluelamp.errors import NotFound
from bluelamp.mobile import scene
from bluelamp.records import classification
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now
from bluelamp.web.pages.crime_recording import SUGGESTED_OFFENCES

router = APIRouter(include_in_schema=False)
NAV = []

Recorder = Annotated[Caller, Depends(allow(Action.CRIME_RECORD))]

# The reason the page states when it searches persons for the victim, witness or suspect
# (sent as X-Bluelamp-Reason, kept in the audit log with each search).
SEARCH_REASON = "Recording a crime at the scene: finding the person involved"
SUSPECT_SEXES = ("male", "female", "not known")
SUSPECT_BUILDS = ("slim", "medium", "athletic", "stocky", "heavy")


def _offences_json() -> str:
    """The offence picker's list (common first) as JSON safe inside a <script> element."""
    items = [
        {"code": o.code, "description": o.description, "group": o.subgroup or o.group, "common": common}
        for o, common in scene.offence_choices()
    ]
    return json.dumps(items, ensure_ascii=False).replace("</", "<\\/")


def _start(session, caller: Caller, clock, incident_id: str) -> tuple[dict[str, Any] | None, str | None]:
    """The incident the crime comes from (named, else the one the officer attends) as the
    page shows it, and a message when the named one cannot be found."""
    actor = caller.actor
    if not actor.can(Action.INCIDENT_READ):
        return None, ("You may not read incidents: the crime is recorded directly." if incident_id else None)
    if incident_id:
        try:
            found = incidents.get_incident(session, actor, incident_id, clock)
        except NotFound:
            return None, f"There is no incident {incident_id[:64]!r} you may see: the crime is recorded directly."
    else:
        found = scene.attending_incident(session, actor, clock)
        if found is None:
            return None, None
        found = incidents.get_incident(session, actor, found.id, clock)
    names = {c.code: c.name for c in incidents.catalogue(session, actor).command.categories}
    category = found.closing_category or found.opening_category
    suggested = SUGGESTED_OFFENCES.get(category)
    offence = classification.offence(suggested) if suggested else None
    return {
        "id": found.id,
        "reference": found.reference,
        "category": names.get(category, category),
        "address": found.address,
        "description": found.description or "",
        "lat": found.lat,
        "lon": found.lon,
        "offence_code": offence.code if offence is not None and offence.recordable else "",
        "offence": offence.description if offence is not None and offence.recordable else "",
    }, None


@router.get("/m/crime", response_class=HTMLResponse)
def crime_at_scene(request: Request, caller: Recorder, db: Db, clock: Now, incident: str = ""):
    """The record-a-crime form, started from the incident attended (or ``?incident=ID``)."""
    with db.unit_of_work() as session:
        started, problem = _start(session, caller, clock, incident.strip())
    context = {
        "me": caller,
        "incident": started,
        "incident_problem": problem,
        "offences_json": _offences_json(),
        "declaration": scene.DECLARATION,
        "search_reason": SEARCH_REASON,
        "max_photo_mb": scene.MAX_PHOTO_BYTES // 1_048_576,
        "max_photo_bytes": scene.MAX_PHOTO_BYTES,
        "sexes": SUSPECT_SEXES,
        "builds": SUSPECT_BUILDS,
    }
    return request.app.state.templates.TemplateResponse(request, "mobile_scene/crime.html", context)
