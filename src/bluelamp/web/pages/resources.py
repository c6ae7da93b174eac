"""Pages: the live resources map and the units table of a force.

Both draw from the live feed (``/ws/live``): a snapshot on connecting, then changes,
without reloading. The units table is also rendered on the server, so it reads
without JavaScript. Labels, letters and shapes for each status live here, and reach
the scripts through a ``data-labels`` attribute (the CSP allows no inline script).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from bluelamp.access import service as access_service
from bluelamp.access.policy import Action
from bluelamp.errors import NotFound
from bluelamp.tracking import feed
from bluelamp.tracking.model import Capability, UnitStatus, UnitType
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db
from bluelamp.web.navigation import NavItem

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem("Resources", "/resources", order=20, action=Action.UNIT_READ),
    NavItem("Units", "/resources/units", order=21, action=Action.UNIT_READ),
]

Reader = Annotated[Caller, Depends(allow(Action.UNIT_READ))]

# Each status: its label, the letter its marker carries, and its marker's shape, so
# that status never rests on colour alone. Shapes: circle = can be sent, square =
# committed to an incident, diamond = not deployable, triangle = emergency.
S = UnitStatus
STATUS_DISPLAY: dict[UnitStatus, tuple[str, str, str]] = {
    S.AVAILABLE: ("Available", "A", "circle"),
    S.ASSIGNED: ("Assigned", "D", "square"),
    S.EN_ROUTE: ("En route", "E", "square"),
    S.AT_SCENE: ("At scene", "S", "square"),
    S.BUSY: ("Busy", "B", "square"),
    S.TRANSPORTING: ("Transporting", "T", "square"),
    S.AT_HOSPITAL: ("At hospital", "H", "square"),
    S.REFRESHMENTS: ("Refreshments", "R", "diamond"),
    S.OFF_DUTY: ("Off duty", "O", "diamond"),
    S.EMERGENCY: ("Emergency", "!", "triangle"),
}
FRESHNESS_LABELS = {"live": "Live", "stale": "Stale", "offline": "No signal"}


def _words(value: str) -> str:
    return value.replace("_", " ").capitalize()


def labels() -> dict[str, Any]:
    """Everything the scripts need to name things as the server does."""
    return {
        "status": {
            s.value: {"label": label, "letter": letter, "shape": shape}
            for s, (label, letter, shape) in STATUS_DISPLAY.items()
        },
        "unit_type": {t.value: _words(t.value) for t in UnitType},
        "capability": {c.value: _words(c.value) for c in Capability},
        "freshness": FRESHNESS_LABELS,
    }


def _force(db, caller: Caller):
    if caller.actor.force_id is None:
        return None
    with db.read() as session:
        try:
            return access_service.get_force(session, caller.actor.force_id)
        except NotFound:
            return None


def _context(request: Request, caller: Caller, db) -> dict[str, Any]:
    settings = request.app.state.settings
    return {
        "me": caller,
        "force": _force(db, caller),
        "labels": labels(),
        "statuses": [(s.value, *STATUS_DISPLAY[s]) for s in STATUS_DISPLAY],
        "capabilities": [(c.value, _words(c.value)) for c in Capability],
        "unit_types": {t.value: _words(t.value) for t in UnitType},
        "freshness_labels": FRESHNESS_LABELS,
        "tile_url": settings.tile_url,
        "stale_seconds": settings.position_stale_seconds,
        "offline_seconds": settings.position_offline_seconds,
    }


@router.get("/resources", response_class=HTMLResponse)
def resources_map(request: Request, caller: Reader, db: Db):
    """The live map: units by status, filters, a unit's details and last hour's trail."""
    context = _context(request, caller, db)
    return request.app.state.templates.TemplateResponse(request, "tracking/map.html", context)


@router.get("/resources/units", response_class=HTMLResponse)
def units_table(request: Request, caller: Reader, db: Db):
    """Every unit in a sortable table that follows the live feed."""
    context = _context(request, caller, db)
    context["units"] = feed.visible_units(caller.actor, request.app.state.tracking)
    return request.app.state.templates.TemplateResponse(request, "tracking/units.html", context)
