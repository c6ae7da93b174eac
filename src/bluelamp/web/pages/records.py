"""Records pages: a person's profile (warning markers first), an object, a location, an
event, and a record's link chart with its GraphML and CSV exports.

Every page reads through the records services, which ask for the reason stated for the
session (none stated: the browser is sent to /account/reason and back, web/errors.py)
and audit the read. A record of another force, above the user's clearance or on an
access list without them answers exactly like a missing one (the 404 page), and the
refusal is logged as the API logs it.

The link chart is drawn in the browser (static/records/chart.js: SVG, no library) from
the graph the server writes into a ``data-graph`` attribute (the CSP allows no inline
script); the same graph is listed in tables below it, which read without script. The
exports are page routes (not the API's) so that a browser without a stated reason is
asked for one rather than handed problem JSON.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from bluelamp.access.audit import Audit, Outcome, audited, refused_if_missing
from bluelamp.access.policy import Action, Actor
from bluelamp.clock import Clock, to_local
from bluelamp.command import service as incidents
from bluelamp.errors import NotFound
from bluelamp.records import graph as link_chart
from bluelamp.records import person_fields, person_reads, pole
from bluelamp.records.duplicates import merge
from bluelamp.records.model import EventKind, ObjectKind
from bluelamp.storage import Database
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter(include_in_schema=False)
NAV = []  # profiles are reached from search, links and the chart


# /records/persons/new (record_search.py) is a page, not a person: app.py includes that
# module before this one, so its fixed paths are matched before the ids below.

Reader = Annotated[Caller, Depends(allow(Action.PERSON_READ))]

# ---------------------------------------------------------------- words for codes

PLURAL = {"person": "persons", "object": "objects", "location": "locations", "event": "events"}
TYPE_LABELS = {"person": "Person", "object": "Object", "location": "Location", "event": "Event"}

# Warning markers with the two-letter signal officers know from the PNC (wanted and
# missing have no PNC signal: they are reports there; WN and MS here).
MARKERS: dict[str, tuple[str, str]] = {
    "violent": ("VI", "Violent"),
    "weapons": ("WE", "Weapons"),
    "firearms": ("FI", "Firearms"),
    "drugs": ("DR", "Drugs"),
    "self_harm": ("SH", "Self-harm"),
    "suicidal": ("SU", "Suicidal"),
    "mental_health": ("MH", "Mental health"),
    "escape_risk": ("ES", "Escape risk"),
    "ailment": ("AT", "Ailment"),
    "contagion": ("CO", "Contagion"),
    "alleges": ("AG", "Alleges"),
    "wanted": ("WN", "Wanted"),
    "missing": ("MS", "Missing"),
}
EVENT_KINDS = {
    EventKind.CRIME: "Crime",
    EventKind.INCIDENT: "Incident",
    EventKind.INTELLIGENCE: "Intelligence report",
    EventKind.STOP_SEARCH: "Stop and search",
    EventKind.MISSING_PERSON: "Missing person report",
    EventKind.CUSTODY: "Custody episode",
}
OBJECT_KINDS = {
    ObjectKind.VEHICLE: "Vehicle",
    ObjectKind.PHONE: "Phone",
    ObjectKind.PROPERTY: "Property",
    ObjectKind.WEAPON: "Weapon",
    ObjectKind.DOCUMENT: "Document",
}
IDENTIFIERS = {
    "pnc_id": "PNC ID",
    "driving_licence": "Driving licence",
    "passport": "Passport",
    "ni_number": "National Insurance number",
    "cro_number": "CRO number",
}
NAME_KINDS = {"primary": "Name", "alias": "Alias", "previous": "Previous name", "nickname": "Nickname"}
ADDRESS_KINDS = {"home": "Home", "previous": "Previous", "work": "Work", "care_of": "Care of"}
GENDERS = {"female": "Female", "male": "Male", "other": "Other", "unknown": "Not known"}
# A link's role as read from each end: (from the ``from`` record, from the ``to`` record).
ROLES: dict[str, tuple[str, str]] = {
    "suspect": ("Suspect in", "Suspect"),
    "victim": ("Victim in", "Victim"),
    "witness": ("Witness to", "Witness"),
    "reported_by": ("Reported", "Reported by"),
    "subject_of": ("Subject of", "Subject"),
    "owner": ("Owner of", "Owner"),
    "keeper": ("Keeper of", "Keeper"),
    "driver": ("Driver of", "Driver"),
    "resides_at": ("Resides at", "Resident"),
    "associate_of": ("Associate of", "Associate of"),
    "seen_at": ("Seen at", "Seen here"),
    "occurred_at": ("Occurred at", "Happened here"),
    "works_at": ("Works at", "Works here"),
    "care_of": ("Care of", "Care of address for"),
}
# MoPI retention groups (records/pole.py holds the review periods).
RETENTION = {
    "1": "Group 1: certain public protection matters (kept until age 100; reviewed every 10 years)",
    "2": "Group 2: other sexual, violent or serious offences (reviewed every 10 years)",
    "3": "Group 3: all other offences (reviewed every 6 years)",
    "4": "Group 4: miscellaneous (reviewed every 6 years)",
}


def words(value: str | None) -> str:
    """A code as words: ``stop_search`` → ``Stop search``."""
    return (value or "").replace("_", " ").capitalize()


def role_words(role: str, outgoing: bool) -> str:
    """A link's role read from one end (``suspect`` from the person: "Suspect in")."""
    pair = ROLES.get(role)
    return (pair[0] if outgoing else pair[1]) if pair else words(role)


def kind_words(record_type: str, kind: str) -> str:
    """A record's kind as words (Vehicle, Crime, Person...)."""
    if record_type == "event":
        return EVENT_KINDS.get(kind, words(kind))
    if record_type == "object":
        return OBJECT_KINDS.get(kind, words(kind))
    return TYPE_LABELS.get(record_type, words(record_type))


def record_url(record_type: str, record_id: str) -> str:
    """The page of a record (persons, objects, locations and events)."""
    return f"/records/{PLURAL[record_type]}/{quote(record_id, safe='')}"


def age_words(year: int | None, month: int | None, day: int | None, today: date) -> str:
    """The age a full or partial date of birth gives today: "40", or "39 or 40" when the
    birthday this year cannot be placed; empty when the year is unknown."""
    if year is None:
        return ""
    age = today.year - year
    if month is None or (day is None and month == today.month):
        # Whether this year's birthday has passed cannot be told.
        return f"{age - 1} or {age}" if age > 0 else "0"
    had_birthday = (today.month, today.day) >= (month, day or 1)
    return str(age if had_birthday else age - 1)


def _current(start: date | None, end: date | None, today: date) -> bool:
    """True when a dated row (address, link, name) applies today."""
    return (start is None or start <= today) and (end is None or end > today)


def _missing(record_type: str, record_id: str, action: str | None = None) -> Audit:
    """The refusal logged when a record is missing or not the caller's to see (as the API logs it)."""
    return Audit(
        action or f"{record_type}.read",
        Outcome.DENIED,
        record_type,
        record_id[:64],
        {"why": "not found in the caller's force"},
    )


# Personal data is not kept in the browser's cache (a shared terminal's back button).
NO_STORE = {"Cache-Control": "no-store"}


def _render(request: Request, name: str, context: dict[str, Any], *, status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status, headers=NO_STORE)


def _common(caller: Caller, today: date) -> dict[str, Any]:
    """What every records page's template uses to name things."""
    return {
        "me": caller,
        "today": today,
        "markers": MARKERS,
        "event_kinds": EVENT_KINDS,
        "object_kinds": OBJECT_KINDS,
        "identifiers": IDENTIFIERS,
        "name_kinds": NAME_KINDS,
        "address_kinds": ADDRESS_KINDS,
        "genders": GENDERS,
        "retention": RETENTION,
        "role_words": role_words,
        "kind_words": kind_words,
        "record_url": record_url,
        "words": words,
        "label": pole.label,
        "current": lambda start, end: _current(start, end, today),
    }


def _links_and_events(session, actor: Actor, views: list[pole.LinkView]):
    """A record's links to persons, objects and locations, and its linked events (newest first)."""
    others = [v for v in views if v.other.type != "event"]
    others.sort(key=lambda v: (v.other.type != "person", v.other.type, v.link.role, v.other_label))
    return others, pole.linked_events(session, actor, views)


# ---------------------------------------------------------------- a person's profile


@router.get("/records/persons/{person_id}", response_class=HTMLResponse)
def person_page(request: Request, caller: Reader, db: Db, clock: Now, person_id: str):
    """A person's profile: warning markers first, then identity, addresses, links and the
    timeline of events; MoPI retention; a merged record leads to its golden nominal."""
    actor = caller.actor
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing("person", person_id)):
        profile = person_reads.person_profile(session, actor, person_id, clock)
        merges = merge.history(session, actor, profile.person.id)
    today = to_local(clock.now()).date()
    person = profile.person
    addresses = sorted(profile.addresses, key=lambda pair: not _current(pair[0].from_date, pair[0].to_date, today))
    links = [v for v in profile.links if v.other.type != "event"]
    links.sort(key=lambda v: (not _current(v.link.from_date, v.link.to_date, today), v.other.type, v.other_label))
    primary = next((n for n in profile.names if n.kind == "primary"), None)
    context = _common(caller, today) | {
        "p": profile,
        "person": person,
        "title": pole.label(person),
        "primary": primary,
        "other_names": [n for n in profile.names if n is not primary],
        "age": age_words(person.dob_year, person.dob_month, person.dob_day, today),
        "addresses": addresses,
        "links": links,
        "merges": merges,
        "upcoming_markers": [m for m in profile.past_markers if m.from_date > today],
        "expired_markers": [m for m in profile.past_markers if m.from_date <= today],
        "self_defined": person_fields.SELF_DEFINED_ETHNICITY,
        "officer_defined": person_fields.OFFICER_ETHNICITY,
        "chart_url": record_url("person", person.id) + "/chart",
    }
    return _render(request, "records/person.html", context)


# ---------------------------------------------------------------- objects, locations and events


@router.get("/records/objects/{object_id}", response_class=HTMLResponse)
def object_page(request: Request, caller: Reader, db: Db, clock: Now, object_id: str):
    """A vehicle, phone, item of property, weapon or document, with its links and events."""
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing("object", object_id)):
        detail = pole.get_object(session, caller.actor, object_id, clock)
        links, events = _links_and_events(session, caller.actor, detail.links)
    today = to_local(clock.now()).date()
    thing = detail.record
    context = _common(caller, today) | {
        "thing": thing,
        "title": pole.label(thing),
        "links": links,
        "events": events,
        "chart_url": record_url("object", thing.id) + "/chart",
    }
    return _render(request, "records/object.html", context)


@router.get("/records/locations/{location_id}", response_class=HTMLResponse)
def location_page(request: Request, caller: Reader, db: Db, clock: Now, location_id: str):
    """An address or place on a small map, the people with an address there, its links and
    the events that happened there."""
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing("location", location_id)):
        detail = pole.get_location(session, caller.actor, location_id, clock)
        links, events = _links_and_events(session, caller.actor, detail.links)
        residents = pole.residents(session, caller.actor, detail.record.id)
    today = to_local(clock.now()).date()
    place = detail.record
    context = _common(caller, today) | {
        "place": place,
        "title": pole.label(place),
        "links": links,
        "events": events,
        "residents": sorted(residents, key=lambda pair: not _current(pair[0].from_date, pair[0].to_date, today)),
        "chart_url": record_url("location", place.id) + "/chart",
    }
    return _render(request, "records/location.html", context)


def _incident(session, actor: Actor, incident_id: str | None, clock: Clock):
    """The command-and-control incident an event came from, when the actor may open it."""
    if not incident_id or not actor.can(Action.INCIDENT_READ):
        return None
    try:
        return incidents.get_incident(session, actor, incident_id, clock)
    except NotFound:
        return None


@router.get("/records/events/{event_id}", response_class=HTMLResponse)
def event_page(request: Request, caller: Reader, db: Db, clock: Now, event_id: str):
    """Something that happened: its kind, when, where, narrative and linked records; a crime
    leads to its crime record, an intelligence report to the report, an incident to the
    control room."""
    actor = caller.actor
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing("event", event_id)):
        detail = pole.get_event(session, actor, event_id, clock)
        event = detail.record
        incident = _incident(session, actor, event.incident_id, clock)
    today = to_local(clock.now()).date()
    place = next((v for v in detail.links if v.other.type == "location" and v.other.id == event.location_id), None)
    own_page = {
        EventKind.CRIME.value: (f"/records/crimes/{quote(event.id, safe='')}", "Open the crime record"),
        EventKind.INTELLIGENCE.value: (
            f"/records/intelligence/{quote(event.id, safe='')}",
            "Open the intelligence report",
        ),
    }.get(event.kind)
    links = sorted(detail.links, key=lambda v: (v.other.type != "person", v.link.role, v.other_label))
    context = _common(caller, today) | {
        "event": event,
        "title": f"{event.reference} · {EVENT_KINDS.get(event.kind, words(event.kind))}",
        "links": links,
        "place": place,
        "own_page": own_page,
        "incident": incident,
        "chart_url": record_url("event", event.id) + "/chart",
    }
    return _render(request, "records/event.html", context)


# ---------------------------------------------------------------- the link chart and its exports


def _node_out(node: link_chart.Node) -> dict[str, Any]:
    return {
        "key": node.key,
        "type": node.type,
        "kind": node.kind,
        "kind_label": kind_words(node.type, node.kind),
        "label": node.label,
        "depth": node.depth,
        "marking": node.marking,
        "url": record_url(node.type, node.id),
    }


def _edge_out(edge: link_chart.Edge) -> dict[str, Any]:
    return {
        "id": edge.id,
        "source": edge.source,
        "target": edge.target,
        "role": edge.role,
        "label": words(edge.role).lower(),
        "from_date": edge.from_date.isoformat() if edge.from_date else None,
        "to_date": edge.to_date.isoformat() if edge.to_date else None,
        "via": edge.via,
    }


def chart_page(request: Request, caller: Caller, db: Database, clock: Clock, record_type: str, record_id: str):
    """A record's associations to depth 2, drawn, listed and offered for download."""
    missing = _missing(record_type, record_id, "graph.read")
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, missing):
        graph = link_chart.associations(session, caller.actor, record_type, record_id, clock=clock)
    nodes = {n.key: n for n in graph.nodes}
    root = nodes[graph.root]
    base = record_url(root.type, root.id)
    data = {
        "root": graph.root,
        "truncated": graph.truncated,
        "nodes": [_node_out(n) for n in graph.nodes],
        "edges": [_edge_out(e) for e in graph.edges],
    }
    context = _common(caller, to_local(clock.now()).date()) | {
        "graph": graph,
        "data": data,
        "root": root,
        "nodes": nodes,
        "by_depth": [[n for n in graph.nodes if n.depth == level] for level in range(graph.depth + 1)],
        "title": root.label,
        "record_page": base,
        "graphml_url": base + "/chart.graphml",
        "csv_url": base + "/chart.csv",
        "max_nodes": link_chart.MAX_NODES,
    }
    return _render(request, "records/chart.html", context)


EXPORTS = {"graphml": "application/graphml+xml", "csv": "text/csv; charset=utf-8"}


def chart_export(caller: Caller, db: Database, clock: Clock, record_type: str, record_id: str, fmt: str) -> Response:
    """The link chart as a GraphML file or a CSV edge list (audited as an export)."""
    missing = _missing(record_type, record_id, "graph.export")
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, missing):
        graph = link_chart.associations(session, caller.actor, record_type, record_id, clock=clock, export=fmt)
    body = link_chart.to_graphml(graph) if fmt == "graphml" else link_chart.to_csv(graph)
    name = f"{record_type}-{graph.root.split(':', 1)[1]}-links.{fmt}"
    return Response(
        body,
        media_type=EXPORTS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"', **NO_STORE},
    )


def _chart_routes(record_type: str) -> None:
    """The chart page and its two downloads for one type of record (explicit paths, so that
    other pages under /records/ are never shadowed)."""
    base = f"/records/{PLURAL[record_type]}/{{record_id}}/chart"

    def page(request: Request, caller: Reader, db: Db, clock: Now, record_id: str):
        return chart_page(request, caller, db, clock, record_type, record_id)

    def graphml(caller: Reader, db: Db, clock: Now, record_id: str):
        return chart_export(caller, db, clock, record_type, record_id, "graphml")

    def csv(caller: Reader, db: Db, clock: Now, record_id: str):
        return chart_export(caller, db, clock, record_type, record_id, "csv")

    name = PLURAL[record_type]
    page.__doc__ = f"The link chart of a {record_type}: its associations to depth 2."
    router.add_api_route(base, page, methods=["GET"], response_class=HTMLResponse, name=f"{name}_chart")
    router.add_api_route(base + ".graphml", graphml, methods=["GET"], name=f"{name}_chart_graphml")
    router.add_api_route(base + ".csv", csv, methods=["GET"], name=f"{name}_chart_csv")


for _type in PLURAL:
    _chart_routes(_type)
