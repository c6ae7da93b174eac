"""Crime lists: the crimes the caller may see (by status, officer in charge, or their own),
and the NCRS list of crimes recorded late and reports still not recorded.

Every page calls the records services (records/crime.py), which check permissions and
scope by force and clearance in SQL.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bluelamp.access.policy import Action
from bluelamp.errors import InvalidInput
from bluelamp.records import classification, crime
from bluelamp.web.deps import Db, Now
from bluelamp.web.forms import by_field
from bluelamp.web.navigation import NavItem
from bluelamp.web.pages import crime_common as common
from bluelamp.web.pages.crime_common import CrimeReader

router = APIRouter(include_in_schema=False)
NAV = [NavItem("Crimes", "/records/crimes", order=32, action=Action.CRIME_READ)]


@router.get("/records/crimes", response_class=HTMLResponse)
def crimes_list(
    request: Request,
    caller: CrimeReader,
    db: Db,
    status: str = "",
    officer: str = "",
    mine: str = "",
):
    """Crimes the caller may see, newest recorded first: by status, officer in charge, or their own."""
    form = {"status": status, "officer": officer, "mine": bool(mine)}
    wanted = caller.actor.username if mine else officer
    field_errors: dict[str, str] = {}
    rows = []
    try:
        with db.read() as session:
            found = crime.list_crimes(
                session, caller.actor, officer=wanted or None, status=status or None, limit=common.LIST_LIMIT
            )
    except InvalidInput as error:
        field_errors, found = by_field(error), []
    for event, row in found:
        rows.append((event, row, classification.offence(row.offence_code), crime.late_by(row)))
    context = {
        "me": caller,
        "form": form,
        "field_errors": field_errors,
        "rows": rows,
        "limit": common.LIST_LIMIT,
        "statuses": [(s.value, label) for s, label in common.STATUS_LABELS.items()],
        **common.crime_tabs("crimes", caller),
    }
    return common.render(request, "crimes/list.html", context, status=422 if field_errors else 200)


@router.get("/records/crimes/ncrs", response_class=HTMLResponse)
def ncrs_list(request: Request, caller: CrimeReader, db: Db, clock: Now):
    """NCRS (record within 24 hours of the report): crimes recorded late, and crimes reported
    more than 24 hours ago that are still not recorded, with how late each is."""
    with db.read() as session:
        late = crime.list_crimes(session, caller.actor, late=True, limit=common.LIST_LIMIT)
        unrecorded = crime.unrecorded_reports(session, caller.actor, clock, limit=common.LIST_LIMIT)
    context = {
        "me": caller,
        "late": [(event, row, classification.offence(row.offence_code), crime.late_by(row)) for event, row in late],
        "unrecorded": unrecorded,
        "limit": common.LIST_LIMIT,
        "can_read_incidents": caller.actor.can(Action.INCIDENT_READ),
        **common.crime_tabs("ncrs", caller),
    }
    return common.render(request, "crimes/ncrs.html", context)
