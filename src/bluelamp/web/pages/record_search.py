"""Records pages: search (persons, vehicles, phones, free text), a new person with the likely
duplicates shown before saving, and the merge queue.

Search (``/records/search``) is a GET form, so every search is an address to bookmark or
send; htmx swaps the search area (the form with its messages, and the results) in place
and pushes that address. A person search is ranked by ``records.search`` and each person
found shows why (the explanation's features and their points) and their warning markers
in force; gender and postcode narrow what the name search found (``person_reads.found_details``).
Reading personal data asks for a reason: a missing one sends the browser to
/account/reason and back to the same search (web/errors.py; for an htmx search, here).

A new person (``/records/persons/new``) is checked first: ``persons.add_person`` refuses
likely duplicates and the page lists them with a choice, open one of them or create a new
person (the form is sent again with ``confirm_new``). Every refusal comes back with what
was typed and the message next to its field.

The merge queue (``/records/merges``) lists the dedupe job's candidates by match weight and
the recent merges; a candidate opens side by side (``merge.compare_candidate``) with the
fields that differ marked, the match explanation, and the two decisions: merge (choose the
surviving golden nominal, say why) or reject (say why). A merge is undone from the list of
recent merges, with a reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bluelamp.access import service as access_service
from bluelamp.access.policy import Action
from bluelamp.clock import Clock, to_local
from bluelamp.errors import BluelampError, Conflict, Denied, FieldProblem, InvalidInput, NotFound
from bluelamp.idempotency import service as idempotency
from bluelamp.records import person_fields, person_parts, person_reads, persons, pole, search
from bluelamp.records.duplicates import merge
from bluelamp.records.model import IdentifierKind, MarkerKind
from bluelamp.storage import Database
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now
from bluelamp.web.forms import by_field
from bluelamp.web.navigation import NavItem

router = APIRouter(include_in_schema=False)
NAV = [
    NavItem("Records", "/records/search", order=30, action=Action.PERSON_SEARCH),
    NavItem("Merge queue", "/records/merges", order=31, action=Action.PERSON_MERGE),
]

Searcher = Annotated[Caller, Depends(allow(Action.PERSON_SEARCH))]
Writer = Annotated[Caller, Depends(allow(Action.PERSON_WRITE))]
Merger = Annotated[Caller, Depends(allow(Action.PERSON_MERGE))]
Text = Annotated[str, Form()]

RESULTS = 50  # persons, vehicles, phones or events shown for one search
NARROWED_FROM = 200  # a name search narrowed by gender or postcode ranks this many first
TABS = [("persons", "Persons"), ("vehicles", "Vehicles"), ("phones", "Phones"), ("text", "Free text")]
TAB_FIELDS = {
    "persons": ("family_name", "given_names", "dob", "age_from", "age_to", "gender", "postcode"),
    "vehicles": ("vrm",),
    "phones": ("number",),
    "text": ("q",),
}
# The search services name what they refuse by their own fields; the form has one date of birth.
SEARCH_FIELDS = {"dob_year": "dob", "dob_month": "dob", "dob_day": "dob", "text": "q"}
GENDER_LABELS = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Unknown"}
MARKER_LABELS = {
    MarkerKind.VIOLENT: "Violent",
    MarkerKind.WEAPONS: "Weapons",
    MarkerKind.FIREARMS: "Firearms",
    MarkerKind.DRUGS: "Drugs",
    MarkerKind.SELF_HARM: "Self-harm",
    MarkerKind.SUICIDAL: "Suicidal",
    MarkerKind.MENTAL_HEALTH: "Mental health",
    MarkerKind.ESCAPE_RISK: "Escape risk",
    MarkerKind.AILMENT: "Ailment",
    MarkerKind.CONTAGION: "Contagion",
    MarkerKind.ALLEGES: "Alleges",
    MarkerKind.WANTED: "Wanted",
    MarkerKind.MISSING: "Missing",
}
NAME_KIND_LABELS = {"primary": "name", "alias": "alias", "previous": "previous name", "nickname": "nickname"}
EVENT_KIND_LABELS = {
    "crime": "Crime",
    "incident": "Incident",
    "intelligence": "Intelligence",
    "stop_search": "Stop and search",
    "missing_person": "Missing person",
    "custody": "Custody",
}
# The identifiers a new person's form asks for, one field each (named as the kind).
IDENTIFIER_FIELDS = [
    (IdentifierKind.PNC_ID.value, "PNC ID", "like 99/123456A"),
    (IdentifierKind.CRO_NUMBER.value, "CRO number", "like 123456/99A"),
    (IdentifierKind.DRIVING_LICENCE.value, "Driving licence", "16 characters (Northern Ireland: 8 digits)"),
    (IdentifierKind.PASSPORT.value, "Passport", "6 to 9 letters and digits"),
    (IdentifierKind.NI_NUMBER.value, "National Insurance number", "like AB123456C"),
]
IDENTIFIER_LABELS = {kind: label for kind, label, _ in IDENTIFIER_FIELDS}
PERSON_FIELDS = (
    "given_names",
    "family_name",
    "dob",
    "gender",
    "birth_place",
    "other_kind",
    "other_given",
    "other_family",
    "line1",
    "line2",
    "town",
    "postcode",
    "address_kind",
    "address_from",
    *(kind for kind, _, _ in IDENTIFIER_FIELDS),
)
# The person service names fields by the command's structure; the form is flat.
PERSON_RENAME = {
    "dob_year": "dob",
    "dob_month": "dob",
    "dob_day": "dob",
    "names[0].kind": "other_kind",
    "names[0].given_names": "other_given",
    "names[0].family_name": "other_family",
    "names[0].to_date": "other_family",
    "addresses[0].kind": "address_kind",
    "addresses[0].location.line1": "line1",
    "addresses[0].location.line2": "line2",
    "addresses[0].location.town": "town",
    "addresses[0].location.postcode": "postcode",
    "addresses[0].to_date": "address_from",
}
# The dedupe model's comparisons (records/duplicates/splink_model.py), as the explanation names them.
COMPARISON_LABELS = {
    "given": "Given name",
    "family": "Family name",
    "middle": "Middle names",
    "dob": "Date of birth",
    "postcode": "Postcode",
    "gender": "Gender",
}
QUEUE_PAGE = 50  # pairs listed at first; "show more" lists up to QUEUE_MOST
QUEUE_MOST = 1000
DONE = {
    "merged": "Merged. The merged record now reads as part of the survivor; undo it below if it was wrong.",
    "rejected": "Marked as not the same person: the pair will not be raised again.",
    "undone": "The merge was undone: both persons are separate records again, as they were.",
}


def _templates(request: Request):
    return request.app.state.templates


def _is_htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


def _force(db: Database, caller: Caller):
    if not caller.actor.force_id:
        return None
    with db.read() as session:
        try:
            return access_service.get_force(session, caller.actor.force_id)
        except NotFound:
            return None


def _status(error: BluelampError) -> int:
    return 404 if isinstance(error, NotFound) else 409 if isinstance(error, Conflict) else 422


def _ask_reason(request: Request) -> Response:
    """For an htmx search: the reason prompt, then back to this very search (the page the
    browser shows has not got the search's address yet)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return Response(status_code=204, headers={"HX-Redirect": f"/account/reason?next={quote(here, safe='')}"})


def _whole(text: str, name: str, problems: list[FieldProblem]) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 3:
        problems.append(FieldProblem(name, "give a whole number of years"))
        return None
    return int(text)


def marked(snippet: str) -> list[tuple[str, bool]]:
    """A search snippet's text in pieces, each marked or not (the service marks the words
    found ``[like this]``), for the template to escape and wrap in <mark>."""
    pieces: list[tuple[str, bool]] = []
    rest = snippet or ""
    while rest:
        start = rest.find("[")
        end = rest.find("]", start + 1) if start >= 0 else -1
        if start < 0 or end < 0:
            pieces.append((rest, False))
            break
        if start:
            pieces.append((rest[:start], False))
        pieces.append((rest[start + 1 : end], True))
        rest = rest[end + 1 :]
    return pieces


# ---------------------------------------------------------------- search


@dataclass
class Found:
    """One person in the results: the search's hit and their warning markers in force."""

    hit: search.PersonHit
    markers: list


def _search_persons(session, caller: Caller, form: dict[str, str], clock: Clock) -> dict[str, Any]:
    problems: list[FieldProblem] = []
    try:
        year, month, day = person_fields.parse_dob(form["dob"])
    except InvalidInput as error:
        problems += error.problems
        year = month = day = None
    age_from = _whole(form["age_from"], "age_from", problems)
    age_to = _whole(form["age_to"], "age_to", problems)
    if problems:
        raise InvalidInput("the search criteria are impossible", code="search.invalid_criteria", problems=problems)
    query = search.PersonQuery(
        given_names=form["given_names"],
        family_name=form["family_name"],
        dob_year=year,
        dob_month=month,
        dob_day=day,
        age_from=age_from,
        age_to=age_to,
    )
    narrowing = bool(form["gender"].strip() or form["postcode"].strip())
    found = search.find_persons(session, caller.actor, query, clock, limit=NARROWED_FROM if narrowing else RESULTS)
    details = person_reads.found_details(
        session,
        caller.actor,
        [h.person_id for h in found.hits],
        clock,
        gender=form["gender"] or None,
        postcode=form["postcode"] or None,
    )
    kept = set(details.kept)
    rows = [Found(h, details.markers.get(h.person_id, [])) for h in found.hits if h.person_id in kept][:RESULTS]
    return {"persons": rows, "truncated": found.truncated, "narrowed": narrowing}


def _search(session, caller: Caller, tab: str, form: dict[str, str], clock: Clock) -> dict[str, Any]:
    actor = caller.actor
    if tab == "persons":
        return _search_persons(session, caller, form, clock)
    if tab == "vehicles":
        return {"vehicles": search.search_vehicles(session, actor, form["vrm"], clock, limit=RESULTS)}
    if tab == "phones":
        return {"phones": search.search_phones(session, actor, form["number"], clock, limit=RESULTS)}
    hits = search.search_text(session, actor, form["q"], clock, limit=RESULTS)
    return {"events": [(h, marked(h.snippet)) for h in hits]}


@router.get("/records/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    caller: Searcher,
    db: Db,
    clock: Now,
    tab: str = "persons",
    family_name: str = "",
    given_names: str = "",
    dob: str = "",
    age_from: str = "",
    age_to: str = "",
    gender: str = "",
    postcode: str = "",
    vrm: str = "",
    number: str = "",
    q: str = "",
):
    """Search persons (by name, with a full or partial date of birth, an age range, gender
    and postcode), vehicles by VRM, phones by digits, and words in event narratives."""
    tab = tab if tab in TAB_FIELDS else "persons"
    form = {
        "family_name": family_name[:200],
        "given_names": given_names[:200],
        "dob": dob[:20],
        "age_from": age_from[:5],
        "age_to": age_to[:5],
        "gender": gender[:20],
        "postcode": postcode[:10],
        "vrm": vrm[:20],
        "number": number[:30],
        "q": q[:300],
    }
    searched = any(name in request.query_params for name in TAB_FIELDS[tab])
    context: dict[str, Any] = {
        "me": caller,
        "tab": tab,
        "tabs": TABS,
        "form": form,
        "field_errors": {},
        "searched": searched,
        "results": {},
        "genders": GENDER_LABELS,
        "marker_labels": MARKER_LABELS,
        "name_kinds": NAME_KIND_LABELS,
        "event_kinds": EVENT_KIND_LABELS,
        "can_write": caller.actor.can(Action.PERSON_WRITE),
        "tab_links": {name: _tab_link(name, form) for name, _ in TABS},
    }
    status = 200
    if searched:
        try:
            with db.unit_of_work() as session:
                context["results"] = _search(session, caller, tab, form, clock)
        except InvalidInput as error:
            context["field_errors"] = by_field(error, rename=SEARCH_FIELDS)
            status = 422
        except Denied as error:
            if error.code == "access.reason_required" and _is_htmx(request):
                return _ask_reason(request)
            raise
    if _is_htmx(request):
        # htmx swaps only a successful answer in: the messages next to the fields come as 200.
        return _templates(request).TemplateResponse(request, "record_search/_area.html", context)
    context["force"] = _force(db, caller)
    return _templates(request).TemplateResponse(request, "record_search/search.html", context, status_code=status)


def _tab_link(tab: str, form: dict[str, str]) -> str:
    """A tab's address, keeping what was typed in its fields (an empty tab opens empty)."""
    kept = {name: form[name] for name in TAB_FIELDS[tab] if form[name]}
    return "/records/search?" + urlencode({"tab": tab} | kept) if kept else f"/records/search?tab={tab}"


# ---------------------------------------------------------------- a new person


def _blank_person() -> dict[str, str]:
    form = {name: "" for name in PERSON_FIELDS}
    # A key made when the form is drawn: a double click or a resent form saves one person.
    form |= {"other_kind": "alias", "address_kind": "home", "form_key": uuid.uuid4().hex}
    return form


def _person_page(
    request: Request,
    caller: Caller,
    db: Database,
    form: dict[str, str],
    *,
    field_errors: dict[str, str] | None = None,
    matches: list[dict] | None = None,
    status: int = 200,
) -> Response:
    context = {
        "me": caller,
        "force": _force(db, caller),
        "form": form,
        "field_errors": field_errors or {},
        "matches": matches,
        "genders": GENDER_LABELS,
        "identifier_fields": IDENTIFIER_FIELDS,
        "person_fields": PERSON_FIELDS,
        "name_kinds": [(k, NAME_KIND_LABELS[k].capitalize()) for k in person_fields.OTHER_NAME_KINDS],
        "address_kinds": [(k, k.replace("_", " ").capitalize()) for k in person_fields.ADDRESS_KINDS],
    }
    return _templates(request).TemplateResponse(request, "record_search/person_new.html", context, status_code=status)


def _new_person(form: dict[str, str], confirm_new: bool) -> tuple[persons.NewPerson | None, list[FieldProblem]]:
    """The command the form asks for, or the problems of what cannot even be read."""
    problems: list[FieldProblem] = []
    try:
        year, month, day = person_fields.parse_dob(form["dob"])
    except InvalidInput as error:
        problems += error.problems
        year = month = day = None
    since = None
    if form["address_from"].strip():
        try:
            since = date.fromisoformat(form["address_from"].strip())
        except ValueError:
            problems.append(FieldProblem("address_from", "give a date like 2024-03-01"))
    if problems:
        return None, problems
    names = ()
    if form["other_given"].strip() or form["other_family"].strip():
        names = (person_parts.OtherName(form["other_kind"], form["other_given"], form["other_family"]),)
    identifiers = tuple(
        person_parts.NewIdentifier(kind, form[kind]) for kind, _, _ in IDENTIFIER_FIELDS if form[kind].strip()
    )
    addresses = ()
    if any(form[name].strip() for name in ("line1", "line2", "town", "postcode")):
        location = pole.NewLocation(
            line1=form["line1"], line2=form["line2"], town=form["town"], postcode=form["postcode"]
        )
        addresses = (person_parts.NewAddress(location=location, kind=form["address_kind"] or "home", from_date=since),)
    command = persons.NewPerson(
        given_names=form["given_names"],
        family_name=form["family_name"],
        dob_year=year,
        dob_month=month,
        dob_day=day,
        birth_place=form["birth_place"] or None,
        gender=form["gender"] or None,
        names=names,
        identifiers=identifiers,
        addresses=addresses,
        confirm_new=confirm_new,
    )
    return command, []


def _person_messages(error: BluelampError, command: persons.NewPerson) -> dict[str, str]:
    rename = dict(PERSON_RENAME)
    for index, identifier in enumerate(command.identifiers):
        rename[f"identifiers[{index}].value"] = identifier.kind
        rename[f"identifiers[{index}].kind"] = identifier.kind
    if error.code == "person.identifier_taken" and error.extra.get("kind"):
        rename["value"] = error.extra["kind"]  # the clash names its kind, not the row
    return by_field(error, rename=rename)


NEW_PERSON = "/records/persons/new"


@router.get("/records/persons/new", response_class=HTMLResponse)
def new_person_page(request: Request, caller: Writer, db: Db):
    """The form for a new person (checked for likely duplicates before it is saved)."""
    return _person_page(request, caller, db, _blank_person())


@router.post("/records/persons/new", response_class=HTMLResponse)
def create_person(
    request: Request,
    caller: Writer,
    db: Db,
    clock: Now,
    given_names: Text = "",
    family_name: Text = "",
    dob: Text = "",
    gender: Text = "",
    birth_place: Text = "",
    other_kind: Text = "alias",
    other_given: Text = "",
    other_family: Text = "",
    line1: Text = "",
    line2: Text = "",
    town: Text = "",
    postcode: Text = "",
    address_kind: Text = "home",
    address_from: Text = "",
    pnc_id: Text = "",
    cro_number: Text = "",
    driving_licence: Text = "",
    passport: Text = "",
    ni_number: Text = "",
    confirm_new: Text = "",
    form_key: Text = "",
):
    """Check the person for likely duplicates (listed, with the choice to open one or create
    a new person), then save them and open their profile. The same form sent twice (its
    ``form_key``) saves one person and opens it both times."""
    form = {
        "form_key": form_key.strip() or uuid.uuid4().hex,
        "given_names": given_names,
        "family_name": family_name,
        "dob": dob,
        "gender": gender,
        "birth_place": birth_place,
        "other_kind": other_kind,
        "other_given": other_given,
        "other_family": other_family,
        "line1": line1,
        "line2": line2,
        "town": town,
        "postcode": postcode,
        "address_kind": address_kind,
        "address_from": address_from,
        "pnc_id": pnc_id,
        "cro_number": cro_number,
        "driving_licence": driving_licence,
        "passport": passport,
        "ni_number": ni_number,
    }
    command, problems = _new_person(form, confirm_new == "yes")
    if command is None:
        error = InvalidInput("", problems=problems)
        return _person_page(request, caller, db, form, field_errors=by_field(error), status=422)
    try:
        with db.unit_of_work() as session:
            earlier = idempotency.earlier_answer(session, caller.actor, form_key.strip() or None, "POST", NEW_PERSON)
            if earlier is not None:
                return RedirectResponse(f"/records/persons/{earlier.body['person_id']}", status_code=303)
            saved = persons.add_person(session, caller.actor, command, clock)
            idempotency.keep_answer(
                session,
                caller.actor,
                form_key.strip() or None,
                "POST",
                NEW_PERSON,
                303,
                {"person_id": saved.person.id},
                clock,
            )
    except (InvalidInput, Conflict) as error:
        if error.code == "person.likely_duplicates":
            return _person_page(request, caller, db, form, matches=error.extra.get("matches", []))
        messages = _person_messages(error, command)
        return _person_page(request, caller, db, form, field_errors=messages, status=_status(error))
    return RedirectResponse(f"/records/persons/{saved.person.id}", status_code=303)


# ---------------------------------------------------------------- the merge queue


def _queue_page(
    request: Request,
    caller: Caller,
    db: Database,
    clock: Clock,
    *,
    notice: str | None = None,
    errors: dict[str, dict[str, str]] | None = None,
    forms: dict[str, str] | None = None,
    show: int = QUEUE_PAGE,
    status: int = 200,
) -> Response:
    show = max(1, min(show, QUEUE_MOST))
    with db.unit_of_work() as session:
        queue = merge.candidates(session, caller.actor, clock, limit=show)
        recent = merge.recent_merges(session, caller.actor, clock, limit=20)
    context = {
        "me": caller,
        "force": _force(db, caller),
        "queue": [(c, _strongest(c.candidate.explanation)) for c in queue],
        "more": min(show * 4, QUEUE_MOST) if len(queue) == show and show < QUEUE_MOST else None,
        "recent": recent,
        "notice": notice,
        "errors": errors or {},
        "forms": forms or {},
        "label": pole.label,
        "dob": _dob,
    }
    return _templates(request).TemplateResponse(request, "record_search/merges.html", context, status_code=status)


def _dob(person) -> str:
    return pole.format_dob(person.dob_year, person.dob_month, person.dob_day) or "unknown"


def _evidence(explanation: dict | None) -> list[tuple[str, str, float | None]]:
    """The match explanation's comparisons as (comparison, level, weight in bits), the
    heaviest evidence either way first."""
    found = []
    for name, entry in ((explanation or {}).get("comparisons") or {}).items():
        if isinstance(entry, dict):
            weight = entry.get("weight")
            if entry.get("frequency_adjustment") is not None and weight is not None:
                weight += entry["frequency_adjustment"]
            label = COMPARISON_LABELS.get(name, name.replace("_", " ").capitalize())
            found.append((label, str(entry.get("level") or "unknown"), weight))
    return sorted(found, key=lambda e: -abs(e[2] or 0))


def _strongest(explanation: dict | None) -> list[str]:
    """The levels of the three heaviest pieces of evidence for a pair, for the queue."""
    return [level for _, level, weight in _evidence(explanation) if (weight or 0) > 0][:3]


@router.get("/records/merges", response_class=HTMLResponse)
def merge_queue(request: Request, caller: Merger, db: Db, clock: Now, done: str = "", show: int = QUEUE_PAGE):
    """Likely duplicate pairs by match weight (the strongest first), and the recent merges (with undo)."""
    return _queue_page(request, caller, db, clock, notice=DONE.get(done), show=show)


@dataclass
class Row:
    """One line of the side-by-side comparison: a field and each person's value."""

    label: str
    left: list[str]
    right: list[str]

    @property
    def differs(self) -> bool:
        return sorted(self.left) != sorted(self.right)


def _values(side: merge.PersonSide, today: date) -> dict[str, list[str]]:
    person = side.person
    shown = [n for n in side.names if n.kind != "primary"]
    return {
        "Family name": [person.family_name or "—"],
        "Given names": [person.given_names or "—"],
        "Date of birth": [_dob(person)],
        "Gender": [GENDER_LABELS.get(person.gender or "", person.gender or "not recorded")],
        "Place of birth": [person.birth_place or "not recorded"],
        "Ethnicity (self-defined)": [person.self_defined_ethnicity or "not recorded"],
        "Ethnicity (officer)": [person.officer_ethnicity or "not recorded"],
        "Other names": [
            f"{' '.join(p for p in (n.given_names, n.family_name) if p)} ({NAME_KIND_LABELS.get(n.kind, n.kind)})"
            for n in shown
        ],
        "Identifiers": [f"{IDENTIFIER_LABELS.get(i.kind, i.kind)} {i.value}" for i in side.identifiers],
        "Warning markers": [
            MARKER_LABELS.get(m.kind, m.kind) + ("" if m.to_date is None or m.to_date > today else " (ended)")
            for m in side.markers
        ],
        "Addresses": [pole.label(location) for _, location in side.addresses],
        "Marking": [person.marking + (" (need to know)" if person.need_to_know else "")],
        "Recorded": [f"{to_local(person.created_at):%d/%m/%Y} by {person.created_by}"],
    }


def _compare_page(
    request: Request,
    caller: Caller,
    db: Database,
    clock: Clock,
    candidate_id: str,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    forms: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    with db.unit_of_work() as session:
        pair = merge.compare_candidate(session, caller.actor, candidate_id, clock)
    today = to_local(clock.now()).date()
    left, right = _values(pair.left, today), _values(pair.right, today)
    rows = [Row(label, left[label], right[label]) for label in left]
    evidence = _evidence(pair.candidate.explanation)
    context = {
        "me": caller,
        "force": _force(db, caller),
        "pair": pair,
        "rows": rows,
        "evidence": evidence,
        "prior": (pair.candidate.explanation or {}).get("prior_weight"),
        "errors": errors or {},
        "forms": forms or {},
        "label": pole.label,
        "marker_labels": MARKER_LABELS,
        "today": today,
    }
    return _templates(request).TemplateResponse(request, "record_search/compare.html", context, status_code=status)


@router.get("/records/merges/candidates/{candidate_id}", response_class=HTMLResponse)
def compare(request: Request, caller: Merger, db: Db, clock: Now, candidate_id: str):
    """A candidate pair side by side, with the match explanation, to merge or reject."""
    return _compare_page(request, caller, db, clock, candidate_id)


@router.post("/records/merges/candidates/{candidate_id}/merge", response_class=HTMLResponse)
def merge_pair(
    request: Request,
    caller: Merger,
    db: Db,
    clock: Now,
    candidate_id: str,
    survivor: Text = "",
    left_id: Text = "",
    right_id: Text = "",
    merge_reason: Text = "",
):
    """Merge the pair: the chosen survivor is the golden nominal, the other is merged into it."""
    forms = {"survivor": survivor, "merge_reason": merge_reason}
    if survivor not in {left_id, right_id} or not survivor:
        messages = {"survivor": "Choose the record to keep (the golden nominal)."}
        return _compare_page(
            request, caller, db, clock, candidate_id, errors={"merge": messages}, forms=forms, status=422
        )
    merged_id = right_id if survivor == left_id else left_id
    try:
        with db.unit_of_work() as session:
            merge.merge(session, caller.actor, survivor, merged_id, merge_reason, clock)
    except (InvalidInput, Conflict) as error:
        messages = by_field(error, rename={"reason": "merge_reason", "other_id": "survivor"})
        return _compare_page(
            request, caller, db, clock, candidate_id, errors={"merge": messages}, forms=forms, status=_status(error)
        )
    return RedirectResponse("/records/merges?done=merged#recent", status_code=303)


@router.post("/records/merges/candidates/{candidate_id}/reject", response_class=HTMLResponse)
def reject_pair(request: Request, caller: Merger, db: Db, clock: Now, candidate_id: str, reject_reason: Text = ""):
    """Not the same person: the pair is kept as rejected, so dedupe does not raise it again."""
    forms = {"reject_reason": reject_reason}
    if not reject_reason.strip():
        messages = {"reject_reason": "Say why they are not the same person (it is audited)."}
        return _compare_page(
            request, caller, db, clock, candidate_id, errors={"reject": messages}, forms=forms, status=422
        )
    try:
        with db.unit_of_work() as session:
            merge.reject_candidate(session, caller.actor, candidate_id, clock, reason=reject_reason)
    except (InvalidInput, Conflict) as error:
        messages = by_field(error, rename={"reason": "reject_reason"})
        return _compare_page(
            request, caller, db, clock, candidate_id, errors={"reject": messages}, forms=forms, status=_status(error)
        )
    return RedirectResponse("/records/merges?done=rejected", status_code=303)


@router.post("/records/merges/{merge_id}/undo", response_class=HTMLResponse)
def undo_merge(request: Request, caller: Merger, db: Db, clock: Now, merge_id: str, undo_reason: Text = ""):
    """Undo a merge: everything it moved goes back, and both persons are live again."""
    try:
        with db.unit_of_work() as session:
            merge.unmerge(session, caller.actor, merge_id, undo_reason, clock)
    except (InvalidInput, Conflict) as error:
        messages = by_field(error, rename={"reason": "undo_reason"})
        return _queue_page(
            request,
            caller,
            db,
            clock,
            errors={merge_id: messages},
            forms={merge_id: undo_reason},
            status=_status(error),
        )
    return RedirectResponse("/records/merges?done=undone#recent", status_code=303)
