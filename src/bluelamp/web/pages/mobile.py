"""Officer mobile app (/m): the shell, my work, one-tap status, the emergency button, location sharing.

The app is installable: ``/m/manifest.webmanifest`` names it and its icons, and
``/m/sw.js`` (a service worker for the scope ``/m``) keeps the last assignment and the
notebook readable offline; changes made offline wait in the phone's outbox
(static/mobile/queue.js, listed at ``/m/outbox``) and are sent in order when the
connection returns. The manifest, the service worker and the offline page hold no
personal data and are public (browsers fetch a manifest without cookies).

The work page is rendered here from ``mobile.work.service.my_work``; when the live feed
says the unit or its incident changed, the page fetches itself again and swaps the work
panel (so the copy the service worker keeps is always the latest)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from bluelamp.access.policy import Action
from bluelamp.clock import to_local
from bluelamp.command import service as command_service
from bluelamp.mobile.work import service as work
from bluelamp.records.model import MarkerKind
from bluelamp.tracking.model import UnitStatus, UnitType
from bluelamp.web.auth import Caller, allow, public, signed_in
from bluelamp.web.deps import Db, Now

router = APIRouter(include_in_schema=False)
NAV = []

Reader = Annotated[Caller, Depends(allow(Action.UNIT_READ))]
SignedIn = Annotated[Caller, Depends(signed_in)]

SCOPE = "/m"
STATIC = Path(__file__).resolve().parent.parent / "static" / "mobile"
# The app's colours in the manifest (the header's blue; the page background by day).
THEME_COLOUR = "#0b2a6f"
BACKGROUND_COLOUR = "#f3f2f1"

STATUS_LABELS = {
    UnitStatus.AVAILABLE: "Available",
    UnitStatus.ASSIGNED: "Assigned",
    UnitStatus.EN_ROUTE: "En route",
    UnitStatus.AT_SCENE: "At scene",
    UnitStatus.BUSY: "Busy",
    UnitStatus.TRANSPORTING: "Transporting",
    UnitStatus.AT_HOSPITAL: "At hospital",
    UnitStatus.REFRESHMENTS: "Refreshments",
    UnitStatus.OFF_DUTY: "Off duty",
    UnitStatus.EMERGENCY: "EMERGENCY",
}
THRIVE_LABELS = {
    "threat": "Threat",
    "harm": "Harm",
    "risk": "Risk",
    "investigation": "Investigation",
    "vulnerability": "Vulnerability",
    "engagement": "Engagement",
}


def _words(value: str) -> str:
    return value.replace("_", " ").capitalize()


def hhmm(moment: datetime | None) -> str:
    """A stored UTC time as the officer's wall-clock time of day ("14:32")."""
    return to_local(moment).strftime("%H:%M") if moment else ""


def day_time(moment: datetime | None) -> str:
    """A stored UTC time as the day and time ("08/01/2026 14:32")."""
    return to_local(moment).strftime("%d/%m/%Y %H:%M") if moment else ""


def _templates(request: Request):
    return request.app.state.templates


def _vocabulary(session, caller: Caller) -> dict[str, Any]:
    """Names of the force's categories and grades, for the incident card."""
    if not caller.actor.can(Action.INCIDENT_READ) or caller.actor.force_id is None:
        return {"categories": {}, "grades": {}}
    found = command_service.catalogue(session, caller.actor)
    return {
        "categories": {c.code: c.name for c in found.command.categories},
        "grades": {code: grade.name for code, grade in found.grades.items()},
    }


def work_context(request: Request, caller: Caller, db, clock) -> dict[str, Any]:
    settings = request.app.state.settings
    with db.unit_of_work() as session:
        found = work.my_work(session, caller.actor, clock)
        vocabulary = _vocabulary(session, caller)
    return {
        "me": caller,
        "work": found,
        **vocabulary,
        "status_labels": {s.value: label for s, label in STATUS_LABELS.items()},
        "unit_types": {t.value: _words(t.value) for t in UnitType},
        "marker_words": {m.value: _words(m.value) for m in MarkerKind},
        "thrive_labels": THRIVE_LABELS,
        "previous_months": work.PREVIOUS_INCIDENTS_MONTHS,
        "previous_radius_m": work.PREVIOUS_INCIDENTS_RADIUS_M,
        "position_seconds": settings.mobile_position_seconds,
        "retention_days": settings.position_retention_days,
        "can_share_position": caller.actor.can(Action.POSITION_REPORT),
        "can_update": caller.actor.can(Action.INCIDENT_UPDATE),
        "can_move": caller.actor.can(Action.UNIT_STATUS),
        "hhmm": hhmm,
        "day_time": day_time,
    }


@router.get("/m", response_class=HTMLResponse)
def my_work(request: Request, caller: Reader, db: Db, clock: Now):
    """My work: the unit, its status buttons and its current assignment (live)."""
    context = work_context(request, caller, db, clock)
    return _templates(request).TemplateResponse(request, "mobile/work.html", context)


@router.get("/m/outbox", response_class=HTMLResponse)
def outbox(request: Request, caller: SignedIn):
    """What the phone is waiting to send (kept in the phone: listed by queue.js)."""
    return _templates(request).TemplateResponse(request, "mobile/outbox.html", {"me": caller})


@router.get("/m/offline", response_class=HTMLResponse, dependencies=[Depends(public)])
def offline(request: Request):
    """What the service worker shows for a page it never kept, while offline."""
    return _templates(request).TemplateResponse(request, "mobile/offline.html", {})


@router.get("/m/manifest.webmanifest", dependencies=[Depends(public)])
def manifest(request: Request):
    """The web app manifest: installable, standalone, starting at /m."""
    icon = "/static/mobile/"
    body = {
        "name": "Bluelamp officer app",
        "short_name": "Bluelamp",
        "description": "Your unit's work, status, checks, notebook and crimes at the scene.",
        "id": SCOPE,
        "start_url": SCOPE,
        "scope": SCOPE,
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "lang": "en-GB",
        "categories": ["productivity", "utilities"],
        "icons": [
            {"src": f"{icon}icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
            {"src": f"{icon}icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": f"{icon}icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": f"{icon}icon-maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    }
    return Response(
        json.dumps(body, indent=1),
        media_type="application/manifest+json",
        headers={"Cache-Control": "no-cache"},
    )


@lru_cache(maxsize=1)
def _service_worker(static_dir: str) -> str:
    """sw.js with its version: a hash of the app's static files, so that a new release
    installs a new worker, which drops the old cache of static files."""
    folder = Path(static_dir)
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    source = (folder / "sw.js").read_text()
    return source.replace("__VERSION__", digest.hexdigest()[:12])


@router.get("/m/sw.js", dependencies=[Depends(public)])
def service_worker(request: Request):
    """The officer app's service worker, allowed to control ``/m`` (its script lives under
    it, and the header allows the scope without the trailing slash)."""
    settings = request.app.state.settings
    folder = Path(settings.static_dir) / "mobile" if settings.static_dir else STATIC
    return Response(
        _service_worker(str(folder)),
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": SCOPE, "Cache-Control": "no-cache"},
    )
