"""Officer mobile app: person, vehicle and location checks (/m/checks).

One page with three kinds of check. The form asks what to check and why (a quick pick of
reasons, with words for "other"); it is posted with htmx, and the answer swaps the check
area in place: the form again with what was typed (and any message next to its field) and
the results rendered from the same service result the API returns (``mobile.checks``).
Without JavaScript the same forms post and answer whole pages.

A check without a reason comes back with the reason prompt (the quick picks marked as the
problem), never a redirect to the staff pages' reason page: nothing typed is lost. A match
opens a compact person card in place (posted with the check's reason: reading a person is
stated and audited too). The page itself (``GET /m/checks``) holds no personal data, so
the service worker may keep it for offline use; the answers are POSTs and ``no-store``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from bluelamp.access.policy import Action
from bluelamp.clock import Clock, to_local
from bluelamp.errors import Denied, FieldProblem, InvalidInput, NotFound
from bluelamp.mobile import checks
from bluelamp.storage import Database
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now
from bluelamp.web.forms import by_field

router = APIRouter(include_in_schema=False)
NAV = []

Checker = Annotated[Caller, Depends(allow(Action.PERSON_SEARCH))]
Reader = Annotated[Caller, Depends(allow(Action.PERSON_READ))]
Text = Annotated[str, Form()]

KINDS = [("person", "Person"), ("vehicle", "Vehicle"), ("location", "Location")]
FIELDS = {
    "person": ("family_name", "given_names", "dob", "record_id", "months"),
    "vehicle": ("vrm",),
    "location": ("address", "lat", "lon", "radius_m", "months"),
}
REASON_FIELDS = ("purpose", "reason_detail")
MONTHS_CHOICES = [(3, "3 months"), (6, "6 months"), (12, "12 months"), (24, "2 years")]
RADIUS_CHOICES = [(50, "50 m"), (75, "75 m"), (150, "150 m"), (300, "300 m")]
ROLE_LABELS = {
    "keeper": "Keeper",
    "owner": "Owner",
    "driver": "Driver",
    "home": "Home",
    "work": "Work",
    "care_of": "Care of",
    "resides_at": "Lives here",
    "associate_of": "Associate",
    "suspect": "Suspect",
    "victim": "Victim",
    "witness": "Witness",
    "reported_by": "Reported it",
    "subject_of": "Subject",
    "seen_at": "Seen",
}
IDENTIFIER_LABELS = {
    "pnc_id": "PNC ID",
    "cro_number": "CRO number",
    "driving_licence": "Driving licence",
    "passport": "Passport",
    "ni_number": "NI number",
}
STATUS_LABELS = {
    "open": "Open",
    "dispatched": "Dispatched",
    "at_scene": "At scene",
    "scheduled": "Scheduled",
    "resolved": "Resolved",
    "closed": "Closed",
}
GENDERS = {"female": "female", "male": "male", "other": "other", "unknown": "gender unknown"}
REASON_PROMPT = "Choose why you are making this check."


def _templates(request: Request):
    return request.app.state.templates


def _is_htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


def _blank() -> dict[str, str]:
    form = {name: "" for names in FIELDS.values() for name in names}
    form |= {"purpose": "", "reason_detail": "", "months": str(checks.RECENT_MONTHS), "radius_m": str(checks.RADIUS_M)}
    return form


def _number(text: str, name: str, problems: list[FieldProblem], kind=int):
    text = (text or "").strip()
    try:
        return kind(text)
    except ValueError:
        problems.append(FieldProblem(name, "give a number"))
        return None


def _tab_links(form: dict[str, str]) -> dict[str, str]:
    """Each kind's address, keeping the reason chosen (a stop often checks a person and a vehicle)."""
    kept = {name: form[name] for name in REASON_FIELDS if form.get(name)}
    return {kind: "/m/checks?" + urlencode({"kind": kind} | kept) for kind, _ in KINDS}


def _context(caller: Caller, kind: str, form: dict[str, str], **more) -> dict[str, Any]:
    return {
        "me": caller,
        "kind": kind,
        "kinds": KINDS,
        "form": form,
        "field_errors": {},
        "result": None,
        "purposes": checks.PURPOSES,
        "months_choices": MONTHS_CHOICES,
        "radius_choices": RADIUS_CHOICES,
        "roles": ROLE_LABELS,
        "identifiers": IDENTIFIER_LABELS,
        "statuses": STATUS_LABELS,
        "genders": GENDERS,
        "tab_links": _tab_links(form),
        "since": None,
        **more,
    }


def _render(request: Request, context: dict[str, Any], *, status: int = 200) -> Response:
    headers = {"Cache-Control": "no-store"} if context.get("result") is not None else None
    if _is_htmx(request):
        # htmx swaps only a successful answer in: the messages next to the fields come as 200.
        return _templates(request).TemplateResponse(request, "mobile_checks/_area.html", context, headers=headers)
    return _templates(request).TemplateResponse(
        request, "mobile_checks/page.html", context, status_code=status, headers=headers
    )


@router.get("/m/checks", response_class=HTMLResponse)
def checks_page(
    request: Request, caller: Checker, kind: str = "person", purpose: str = "", reason_detail: str = ""
) -> Response:
    """The check form: person, vehicle or location, and why (no personal data: cacheable)."""
    kind = kind if kind in FIELDS else "person"
    form = _blank() | {"purpose": purpose[:40], "reason_detail": reason_detail[:200]}
    return _render(request, _context(caller, kind, form))


def _reason(form: dict[str, str]) -> checks.CheckReason:
    return checks.CheckReason(purpose=form["purpose"], detail=form["reason_detail"])


def _run(
    request: Request, caller: Caller, db: Database, clock: Clock, kind: str, form: dict[str, str], work
) -> Response:
    """Run a check (``work(session, problems)``) and render the area: results, or the messages."""
    context = _context(caller, kind, form)
    problems: list[FieldProblem] = []
    try:
        with db.unit_of_work() as session:
            context["result"] = work(session, problems)
    except InvalidInput as error:
        context["field_errors"] = by_field(error, rename={"lat": "position", "lon": "position", "name": "family_name"})
        return _render(request, context, status=422)
    except Denied as error:
        if error.code != "access.reason_required":
            raise
        context["field_errors"] = {"purpose": REASON_PROMPT}
        return _render(request, context, status=403)
    months = getattr(context["result"], "months", None)
    if months:
        context["since"] = to_local(checks.months_before(clock.now(), months)).date()
    return _render(request, context)


def _form_problems(problems: list[FieldProblem]) -> None:
    if problems:
        raise InvalidInput("; ".join(p.message for p in problems), problems=problems)


@router.post("/m/checks/person", response_class=HTMLResponse)
def person_check(
    request: Request,
    caller: Checker,
    db: Db,
    clock: Now,
    family_name: Text = "",
    given_names: Text = "",
    dob: Text = "",
    record_id: Text = "",
    months: Text = "",
    purpose: Text = "",
    reason_detail: Text = "",
) -> Response:
    """A person check: identity matches with flags, markers and recent events."""
    form = _blank() | {
        "family_name": family_name[:200],
        "given_names": given_names[:200],
        "dob": dob[:20],
        "record_id": record_id[:64],
        "months": months or str(checks.RECENT_MONTHS),
        "purpose": purpose[:40],
        "reason_detail": reason_detail[:300],
    }

    def work(session, problems):
        number = _number(form["months"], "months", problems)
        _form_problems(problems)
        query = checks.PersonCheckQuery(
            family_name=form["family_name"],
            given_names=form["given_names"],
            dob=form["dob"],
            record_id=form["record_id"],
            months=number,
        )
        return checks.check_person(session, caller.actor, query, _reason(form), clock)

    return _run(request, caller, db, clock, "person", form, work)


@router.post("/m/checks/vehicle", response_class=HTMLResponse)
def vehicle_check(
    request: Request,
    caller: Checker,
    db: Db,
    clock: Now,
    vrm: Text = "",
    purpose: Text = "",
    reason_detail: Text = "",
) -> Response:
    """A vehicle check: the vehicle, its keeper, owner and drivers with their markers, its events."""
    form = _blank() | {"vrm": vrm[:20], "purpose": purpose[:40], "reason_detail": reason_detail[:300]}

    def work(session, problems):
        query = checks.VehicleCheckQuery(vrm=form["vrm"])
        return checks.check_vehicle(session, caller.actor, query, _reason(form), clock)

    return _run(request, caller, db, clock, "vehicle", form, work)


@router.post("/m/checks/location", response_class=HTMLResponse)
def location_check(
    request: Request,
    caller: Checker,
    db: Db,
    clock: Now,
    address: Text = "",
    lat: Text = "",
    lon: Text = "",
    radius_m: Text = "",
    months: Text = "",
    purpose: Text = "",
    reason_detail: Text = "",
) -> Response:
    """A location check: previous incidents near it and the markers of those living there."""
    form = _blank() | {
        "address": address[:200],
        "lat": lat[:20],
        "lon": lon[:20],
        "radius_m": radius_m or str(checks.RADIUS_M),
        "months": months or str(checks.RECENT_MONTHS),
        "purpose": purpose[:40],
        "reason_detail": reason_detail[:300],
    }

    def work(session, problems):
        position = {}
        if not form["address"].strip() and (form["lat"].strip() or form["lon"].strip()):
            position = {
                "lat": _number(form["lat"], "position", problems, float),
                "lon": _number(form["lon"], "position", problems, float),
            }
        radius = _number(form["radius_m"], "radius_m", problems)
        number = _number(form["months"], "months", problems)
        _form_problems(problems)
        query = checks.LocationCheckQuery(address=form["address"], radius_m=radius, months=number, **position)
        return checks.check_location(session, caller.actor, query, _reason(form), clock)

    return _run(request, caller, db, clock, "location", form, work)


@router.post("/m/checks/persons/{person_id}", response_class=HTMLResponse)
def person_card(
    request: Request,
    caller: Reader,
    db: Db,
    clock: Now,
    person_id: str,
    months: Text = "",
    purpose: Text = "",
    reason_detail: Text = "",
) -> Response:
    """The compact card of a person a check found, stated with the check's reason."""
    form = _blank() | {"purpose": purpose[:40], "reason_detail": reason_detail[:300]}
    context = _context(caller, "person", form, card=None, card_error=None)
    problems: list[FieldProblem] = []
    number = _number(months or str(checks.RECENT_MONTHS), "months", problems) or checks.RECENT_MONTHS
    status = 200
    try:
        with db.unit_of_work() as session:
            context["card"] = checks.person_card(session, caller.actor, person_id, _reason(form), clock, months=number)
        context["since"] = to_local(checks.months_before(clock.now(), number)).date()
    except NotFound:
        context["card_error"] = "No such person, or not one you may see."
        status = 404
    except (InvalidInput, Denied) as error:
        if isinstance(error, Denied) and error.code != "access.reason_required":
            raise
        context["card_error"] = "Say why you are checking first: choose a reason above and run the check again."
        status = 422
    headers = {"Cache-Control": "no-store"}
    if _is_htmx(request):
        return _templates(request).TemplateResponse(request, "mobile_checks/_card.html", context, headers=headers)
    return _templates(request).TemplateResponse(
        request, "mobile_checks/card_page.html", context, status_code=status, headers=headers
    )
