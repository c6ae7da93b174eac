"""Checks from the field (issue 7, item 3): what an officer on the street asks of records and
of command and control, and what they must see before they act.

- **Person**: a family name (two letters or more; a given name, nickname or initial helps)
  with a full or partial date of birth, or a record id (the person's id or a PNC ID) →
  the identity matches, best first (``records.search``), each with its wanted and missing
  flags and its warning markers first, then the events the person was linked to in the
  last ``months`` months. A match opens a compact card (``person_card``), not the staff
  profile page.
- **Vehicle**: a VRM, full or partial → each vehicle with the persons linked to it as
  keeper, owner or driver (with their flags and markers) and the events it is linked to.
- **Location**: an address or postcode, or the phone's position → the places recorded
  there, the flags and markers of the persons living there, and the command-and-control
  incidents at or near it in the last ``months`` months.

Rules this module keeps:

- **Every check states its own reason** (DOMAIN.md: a lookup of a person asks for a reason):
  a quick pick (``PURPOSES``) with a few words ("other" needs them), or, from a program, the
  reason it states in the ``X-Bluelamp-Reason`` header. A reason stated earlier for the
  browser session (the staff pages' prompt) does not count: a check for a stop in the street
  is not covered by an investigation's reason of an hour ago. The reason is stated for that
  one request (the searches below read and audit it as the actor's reason). A check without
  one is refused with ``access.reason_required``, its ``purposes`` listing the quick picks,
  so that the phone can show the prompt and send the check again.
- **Too little to search on is refused next to its field** (``check.too_little``): one
  letter of a name, only wildcards, a date of birth without a name, a postcode district.
  A check that finds nothing is not an error: it answers with no matches.
- **Markings and need to know**: everything is read through the access policy in SQL. A
  person, vehicle, place, event or incident of another force, above the officer's
  clearance, or need-to-know without them on its access list, is absent, exactly like one
  that does not exist (a record id of such a person finds no match).
- **Audited**: besides the searches' and reads' own entries (``person.search``,
  ``vehicle.search``, ``person.read``), each check writes one ``check.person``,
  ``check.vehicle`` or ``check.location`` entry with its criteria, the reason and the ids
  of what it showed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.command import queries as command_queries
from bluelamp.command.service import settings_of
from bluelamp.errors import CATALOGUE, Denied, FieldProblem, InvalidInput
from bluelamp.records import person_fields, person_reads, pole, search
from bluelamp.records import queries as records_queries
from bluelamp.records.model import EventKind, IdentifierKind, LinkRole, MarkerKind, ObjectKind
from bluelamp.records.names import normalise
from bluelamp.tracking.index import haversine_km

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.command.model import Incident
    from bluelamp.records.model import Event, Link, Location, Person, WarningMarker

for _code, _kind, _meaning in [
    (
        "check.too_little",
        InvalidInput,
        "Too little to check on: a family name of two letters or more (with a date of birth), a record id, "
        "a VRM of two characters or more, a street or a full postcode, or a position; never only wildcards.",
    ),
    (
        "check.reason_incomplete",
        InvalidInput,
        "The check's reason is not one of the quick picks (`purposes`), or 'other' was chosen without saying why.",
    ),
]:
    CATALOGUE.register(_code, _kind, _meaning)

RECENT_MONTHS = 12  # events and incidents of the last months shown by default
MONTHS_MOST = 60
MATCHES = 10  # identity matches a person check shows by default
MATCHES_MOST = 20
VEHICLES = 5  # vehicles a (partial) VRM shows
EVENTS_SHOWN = 10  # events shown per person or vehicle (the rest are counted)
RADIUS_M = 75  # around a position or a recorded place: GPS on a phone is good to tens of metres
RADIUS_MOST = 500
PLACES = 10  # recorded places a location check shows
INCIDENTS = 20  # previous incidents a location check shows
METRES_PER_DEGREE = 111_320.0
WILDCARDS = "*?%_"

# The quick picks of a check's reason (code -> the words the audit log keeps).
PURPOSES: dict[str, str] = {
    "street_stop": "Stop in the street",
    "vehicle_stop": "Vehicle stop",
    "incident": "Attending an incident",
    "safeguarding": "Safeguarding",
    "other": "Other",
}
REASON_DETAIL_MOST = 200

MARKER_LABELS: dict[str, str] = {
    MarkerKind.FIREARMS: "Firearms",
    MarkerKind.WEAPONS: "Weapons",
    MarkerKind.VIOLENT: "Violent",
    MarkerKind.ESCAPE_RISK: "Escape risk",
    MarkerKind.SUICIDAL: "Suicidal",
    MarkerKind.SELF_HARM: "Self-harm",
    MarkerKind.MENTAL_HEALTH: "Mental health",
    MarkerKind.DRUGS: "Drugs",
    MarkerKind.CONTAGION: "Contagion",
    MarkerKind.AILMENT: "Ailment",
    MarkerKind.ALLEGES: "Alleges",
    MarkerKind.WANTED: "Wanted",
    MarkerKind.MISSING: "Missing",
}
# The order officers read markers in: danger to them first (the dict's order above).
SEVERITY = {kind: rank for rank, kind in enumerate(MARKER_LABELS)}
# Markers shown as flags (at the very top, in words), not in the list of warning markers.
FLAG_KINDS = (MarkerKind.WANTED.value, MarkerKind.MISSING.value)
EVENT_KIND_LABELS: dict[str, str] = {
    EventKind.CRIME: "Crime",
    EventKind.INCIDENT: "Incident",
    EventKind.INTELLIGENCE: "Intelligence",
    EventKind.STOP_SEARCH: "Stop and search",
    EventKind.MISSING_PERSON: "Missing person",
    EventKind.CUSTODY: "Custody",
}
VEHICLE_ROLES = (LinkRole.KEEPER.value, LinkRole.OWNER.value, LinkRole.DRIVER.value)
_POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})\b")
_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?( ?[0-9])?$")


# ---------------------------------------------------------------- what a check shows


@dataclass(frozen=True)
class Flag:
    """Wanted or missing, in words, at the very top of a person: from a marker, or from a
    missing person report not yet closed."""

    kind: str  # wanted | missing
    detail: str
    since: date | None = None
    reference: str | None = None  # the missing person report's

    @property
    def label(self) -> str:
        return self.kind.upper()


@dataclass(frozen=True)
class MarkerView:
    """A warning marker in force today."""

    kind: str
    reason: str
    since: date

    @property
    def label(self) -> str:
        return MARKER_LABELS.get(self.kind, self.kind.replace("_", " ").capitalize())


@dataclass(frozen=True)
class EventLine:
    """An event a person or vehicle is linked to, and how."""

    event_id: str
    kind: str
    reference: str
    summary: str
    when: datetime
    role: str

    @property
    def kind_label(self) -> str:
        return EVENT_KIND_LABELS.get(self.kind, self.kind)


@dataclass
class About:
    """What officers must see of a person on any check: flags, markers, recent events."""

    flags: list[Flag] = field(default_factory=list)
    markers: list[MarkerView] = field(default_factory=list)
    events: list[EventLine] = field(default_factory=list)
    events_more: int = 0

    @property
    def warns(self) -> bool:
        return bool(self.flags or self.markers)


@dataclass
class PersonMatch:
    """One identity match: flags and markers first, then who, then recent events."""

    person_id: str
    family_name: str
    given_names: str
    dob: str
    gender: str | None
    score: float | None  # None when found by record id
    found_by: str  # "" when by the primary name; else e.g. "alias Jason Smith"
    about: About


@dataclass
class PersonCheck:
    reason: str
    criteria: dict[str, Any]
    months: int
    matches: list[PersonMatch]
    truncated: bool = False  # a vague name: not every candidate was scored


@dataclass
class LinkedPerson:
    """A person linked to a vehicle (keeper, owner, driver), with their flags and markers."""

    person_id: str
    role: str
    current: bool
    family_name: str
    given_names: str
    dob: str
    about: About


@dataclass
class VehicleMatch:
    object_id: str
    vrm: str
    make: str | None
    model: str | None
    colour: str | None
    people: list[LinkedPerson]
    events: list[EventLine]
    events_more: int = 0


@dataclass
class VehicleCheck:
    reason: str
    criteria: dict[str, Any]
    vehicles: list[VehicleMatch]


@dataclass
class Resident:
    person_id: str
    family_name: str
    given_names: str
    dob: str
    how: str  # home, work, care_of, resides_at
    about: About


@dataclass
class Place:
    """A recorded place the check found, with the persons living there who carry a flag or
    a marker (``others`` counts those who carry none)."""

    location_id: str
    label: str
    lat: float | None
    lon: float | None
    distance_m: float | None
    residents: list[Resident]
    others: int = 0


@dataclass(frozen=True)
class PastIncident:
    incident_id: str
    reference: str
    created_at: datetime
    category: str
    grade: str
    status: str
    address: str
    description: str
    distance_m: float | None  # None when found by its address alone


@dataclass
class LocationCheck:
    reason: str
    criteria: dict[str, Any]
    months: int
    radius_m: int
    centre: tuple[float, float] | None
    places: list[Place]
    incidents: list[PastIncident]
    incidents_shown: bool = True  # False: the officer may not read incidents
    incidents_more: bool = False


@dataclass
class PersonCard:
    """A compact card of one person for the phone: flags and markers first, then identity,
    description, other names, identifiers, where they live, who and what they are linked
    to, and their recent events."""

    person_id: str
    family_name: str
    given_names: str
    dob: str
    gender: str | None
    birth_place: str | None
    description: list[tuple[str, str]]
    other_names: list[tuple[str, str]]  # (kind, name)
    identifiers: list[tuple[str, str]]  # (kind, value)
    addresses: list[tuple[str, str]]  # (kind, label)
    associates: list[tuple[str, str, str]]  # (role, label, person id)
    vehicles: list[tuple[str, str]]  # (role, label)
    about: About
    months: int


# ---------------------------------------------------------------- the reason and the input


@dataclass(frozen=True)
class CheckReason:
    """Why a check is made: a quick pick of ``PURPOSES`` and words ("other" needs them), or
    the reason a program stated for the request (the ``X-Bluelamp-Reason`` header)."""

    purpose: str = ""
    detail: str = ""
    stated: str | None = None


@dataclass(frozen=True)
class _Problem:
    problem: FieldProblem
    code: str


def _too_little(name: str, message: str) -> _Problem:
    return _Problem(FieldProblem(name, message), "check.too_little")


def reason_text(reason: CheckReason) -> tuple[str | None, list[_Problem]]:
    """The reason as the audit log keeps it ("Check, stop in the street: outside the Potteries
    Centre"; "Check: <words>" for other), the program's own when it stated one, or None when
    none was given; and what is wrong with it."""
    purpose = (reason.purpose or "").strip()
    detail = " ".join((reason.detail or "").split())[:REASON_DETAIL_MOST]
    if purpose:
        if purpose not in PURPOSES:
            return None, [
                _Problem(FieldProblem("purpose", "choose why you are making this check"), "check.reason_incomplete")
            ]
        if purpose == "other" and len(detail) < 3:
            problem = FieldProblem("reason_detail", "say in a few words why you are making this check")
            return None, [_Problem(problem, "check.reason_incomplete")]
        label = PURPOSES[purpose]
        if purpose == "other":
            return f"Check: {detail}", []
        return (f"Check, {label.lower()}: {detail}" if detail else f"Check, {label.lower()}"), []
    if len(detail) >= 3:
        return f"Check: {detail}", []
    if reason.stated:
        return reason.stated, []
    return None, []


def _go(problems: list[_Problem], reason: CheckReason) -> str:
    """The check's reason, once the input is good and a reason given; otherwise the refusal:
    every problem at once (a missing reason among them when the input is wrong too), or
    ``access.reason_required`` with the quick picks when only the reason is missing."""
    text, reason_problems = reason_text(reason)
    if problems or reason_problems:
        if text is None and not reason_problems:
            reason_problems = [
                _Problem(FieldProblem("purpose", "choose why you are making this check"), "access.reason_required")
            ]
        every = problems + reason_problems
        code = every[0].code if every[0].code != "access.reason_required" else "check.reason_incomplete"
        found = [p.problem for p in every]
        raise InvalidInput("; ".join(f"{p.field}: {p.message}" for p in found), code=code, problems=found)
    if text is None:
        raise Denied(
            "say why you are making this check: choose a reason",
            code="access.reason_required",
            extra={"purposes": [{"code": code, "label": label} for code, label in PURPOSES.items()]},
        )
    return text


def _months_problems(months: int) -> list[_Problem]:
    if not 1 <= months <= MONTHS_MOST:
        return [_Problem(FieldProblem("months", f"from 1 to {MONTHS_MOST} months"), "input.invalid")]
    return []


def _months_ago(now: datetime, months: int) -> datetime:
    """The same moment ``months`` calendar months earlier (the 31st becomes the month's last day)."""
    month = now.month - months
    year = now.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for day in (now.day, 30, 29, 28):
        try:
            return now.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("every month has a 28th")


def _letters(text: str) -> int:
    return len(normalise(re.sub(r"[*?%_]", "", text or "")).replace(" ", ""))


def _only_wildcards(text: str) -> bool:
    raw = (text or "").strip()
    return bool(raw) and any(c in WILDCARDS for c in raw) and not _letters(raw) and not re.search(r"[0-9]", raw)


# ---------------------------------------------------------------- flags, markers, events of persons


def _dob(row: Any) -> str:
    return pole.format_dob(row.dob_year, row.dob_month, row.dob_day) or ""


def _when(event: Event) -> datetime:
    return event.occurred_from or event.reported_at


def _line(link: Link, event: Event) -> EventLine:
    return EventLine(event.id, event.kind, event.reference, event.summary, _when(event), link.role)


def _marker_views(rows: list[WarningMarker]) -> tuple[list[Flag], list[MarkerView]]:
    flags, markers = [], []
    for row in rows:
        if row.kind in FLAG_KINDS:
            flags.append(Flag(row.kind, row.reason, row.from_date))
        else:
            markers.append(MarkerView(row.kind, row.reason, row.from_date))
    markers.sort(key=lambda m: (SEVERITY.get(m.kind, len(SEVERITY)), m.since))
    return flags, markers


def _still_missing(link: Link, event: Event) -> Flag | None:
    """A missing person report not yet closed (no end), about this person."""
    if event.kind == EventKind.MISSING_PERSON and event.occurred_to is None and link.role == LinkRole.SUBJECT_OF:
        return Flag("missing", event.summary, to_local(_when(event)).date(), event.reference)
    return None


def _about(session: Session, actor: Actor, person_ids: list[str], now: datetime, since: datetime) -> dict[str, About]:
    """Flags, markers and recent events of several persons, in three queries."""
    found = {pid: About() for pid in person_ids}
    if not person_ids:
        return found
    today = to_local(now).date()
    by_person: dict[str, list[WarningMarker]] = {pid: [] for pid in person_ids}
    for row in records_queries.current_markers_of(session, person_ids, today):
        by_person[row.person_id].append(row)
    for pid, rows in by_person.items():
        found[pid].flags, found[pid].markers = _marker_views(rows)
    linked = records_queries.events_linked_from(
        session,
        actor,
        "person",
        person_ids,
        pole.readable_event_kinds(actor),
        since=since,
        open_kind=EventKind.MISSING_PERSON.value,
        open_role=LinkRole.SUBJECT_OF.value,
        limit=min(100 * len(person_ids), 2000),
    )
    for link, event in linked:
        about = found[link.from_id]
        flag = _still_missing(link, event)
        if flag is not None and all(f.reference != flag.reference for f in about.flags):
            about.flags.append(flag)
        if _when(event) >= since:
            if len(about.events) < EVENTS_SHOWN:
                about.events.append(_line(link, event))
            else:
                about.events_more += 1
    for about in found.values():
        about.flags.sort(key=lambda f: (f.kind != "wanted", f.since or date.min))
    return found


# ---------------------------------------------------------------- person


@dataclass(frozen=True)
class PersonCheckQuery:
    """A person check: a family name (and given names) or ``name`` as one text ("Jason
    Smyth", "Smyth, Jason"), with a date of birth full or partial (1991-04-12, 04/1991,
    1991); or a ``record_id`` (the person's id, or a PNC ID such as 09/123456A)."""

    family_name: str = ""
    given_names: str = ""
    name: str = ""
    dob: str = ""
    record_id: str = ""
    months: int = RECENT_MONTHS
    limit: int = MATCHES

    def criteria(self) -> dict[str, Any]:
        given = {k: v for k, v in self.__dict__.items() if k not in ("months", "limit") and (v or "").strip()}
        return given | {"months": self.months}


def _split_name(text: str) -> tuple[str, str]:
    if "," in text:
        family, _, given = text.partition(",")
        return given.strip(), family.strip()
    words = text.split()
    return (" ".join(words[:-1]), words[-1]) if words else ("", "")


def _person_input(query: PersonCheckQuery, today: date) -> tuple[str, str, tuple, list[_Problem]]:
    """(given names, family name, (year, month, day), problems) of a name check."""
    problems: list[_Problem] = []
    given, family, name_field = query.given_names or "", query.family_name or "", "family_name"
    if not (given.strip() or family.strip()) and (query.name or "").strip():
        given, family = _split_name(query.name)
        name_field = "name"
    dob = (None, None, None)
    if (query.dob or "").strip():
        try:
            dob = person_fields.parse_dob(query.dob)
        except InvalidInput as error:
            problems.append(_Problem(FieldProblem("dob", error.problems[0].message), "person.invalid_dob"))
        else:
            for problem in person_fields.dob_problems(*dob, today):
                problems.append(_Problem(FieldProblem("dob", problem.message), "person.invalid_dob"))
    if not family.strip() and not given.strip():
        if any(dob):
            message = "give the family name as well as the date of birth"
        else:
            message = "give a family name and a date of birth, or a record id"
        problems.insert(0, _too_little(name_field, message))
    elif _only_wildcards(family) or (not family.strip() and _only_wildcards(given)):
        problems.insert(0, _too_little(name_field, "only wildcards would find everyone: give at least two letters"))
    elif _letters(family) < 2:
        message = "give the family name too" if not family.strip() else "give at least two letters of the family name"
        problems.insert(0, _too_little(name_field, message))
    if _letters(given) == 0 and given.strip() and not _only_wildcards(given):
        problems.append(_too_little("given_names", "a given name is letters"))
    return given.replace("*", "").strip(), family.strip(), dob, problems


def _person_by_record_id(session: Session, actor: Actor, record_id: str) -> Person | None:
    """The person a record id names, if the actor may see them: a PNC ID's holder, or the
    person of that id (a merged person's survivor)."""
    text = record_id.strip()
    pnc = person_fields.normalise_identifier(IdentifierKind.PNC_ID, text)
    if person_fields.IDENTIFIER_FORMATS[IdentifierKind.PNC_ID][0].match(pnc):
        holder = records_queries.identifier_holder(session, actor.force_id, IdentifierKind.PNC_ID.value, pnc)
        text = holder.person_id if holder is not None else ""
    person = records_queries.visible_person(session, actor, text) if text else None
    for _ in range(5):  # a merged person reads as their survivor (merges may chain)
        if person is None or person.merged_into_id is None:
            break
        person = records_queries.visible_person(session, actor, person.merged_into_id)
    return person


def check_person(
    session: Session, actor: Actor, query: PersonCheckQuery, reason: CheckReason, clock: Clock
) -> PersonCheck:
    """Identity matches for a name and date of birth (best first), or the person a record id
    names, each with flags, warning markers and recent events, among persons the actor may
    see. Refuses too little to search on and a check without a reason; audited."""
    require(actor, Action.PERSON_SEARCH)
    require(actor, Action.PERSON_READ)
    pole.force_of(actor)
    now = clock.now()
    today = to_local(now).date()
    by_id = bool((query.record_id or "").strip())
    problems = _months_problems(query.months)
    if not 1 <= query.limit <= MATCHES_MOST:
        problems.append(_Problem(FieldProblem("limit", f"from 1 to {MATCHES_MOST} matches"), "input.invalid"))
    if by_id:
        if len(query.record_id.strip()) < 3:
            problems.insert(0, _too_little("record_id", "give the whole record id or PNC ID"))
    else:
        given, family, dob, more = _person_input(query, today)
        problems = more + problems
    stated = _go(problems, reason)
    checked = replace(actor, reason=stated)
    since = _months_ago(now, query.months)
    truncated = False
    if by_id:
        person = _person_by_record_id(session, checked, query.record_id)
        found = [person] if person is not None else []
        hits = [(p.id, p.family_name, p.given_names, _dob(p), p.gender, None, "") for p in found]
    else:
        person_query = search.PersonQuery(
            given_names=given, family_name=family, dob_year=dob[0], dob_month=dob[1], dob_day=dob[2]
        )
        results = search.find_persons(session, checked, person_query, clock, limit=query.limit)
        truncated = results.truncated
        hits = [
            (h.person_id, h.family_name, h.given_names, h.dob, h.gender, h.score, _found_by(h)) for h in results.hits
        ]
    about = _about(session, checked, [h[0] for h in hits], now, since)
    matches = [PersonMatch(*hit, about=about[hit[0]]) for hit in hits]
    criteria = query.criteria()
    detail = {
        "criteria": criteria,
        "found": len(matches),
        "persons": [m.person_id for m in matches],
        "with_flags": sum(1 for m in matches if m.about.flags),
        "with_markers": sum(1 for m in matches if m.about.markers),
    }
    record = {"record_type": "person", "record_id": matches[0].person_id} if by_id and matches else {}
    audit.append(session, checked, Audit("check.person", detail=detail, reason=stated, **record), clock)
    return PersonCheck(stated, criteria, query.months, matches, truncated)


def _found_by(hit: search.PersonHit) -> str:
    if hit.matched_kind == "primary":
        return ""
    kind = {"alias": "alias", "previous": "previous name", "nickname": "nickname"}.get(hit.matched_kind, "part")
    name = " ".join(p for p in (hit.matched_given.title(), hit.matched_family.title()) if p)
    return f"{kind} {name}" if kind != "part" else f"part of the family name ({name})"


# ---------------------------------------------------------------- the person card


def person_card(
    session: Session, actor: Actor, person_id: str, reason: CheckReason, clock: Clock, *, months: int = RECENT_MONTHS
) -> PersonCard:
    """The compact card of a person a check found (``person_reads.person_profile``: a person the
    actor may not see answers like a missing one; audited as ``person.read``). Asks for the
    check's reason first."""
    require(actor, Action.PERSON_READ)
    stated = _go(_months_problems(months), reason)
    checked = replace(actor, reason=stated)
    now = clock.now()
    today = to_local(now).date()
    since = _months_ago(now, months)
    profile = person_reads.person_profile(session, checked, person_id, clock)
    person = profile.person
    about = About()
    about.flags, about.markers = _marker_views(profile.current_markers)
    for entry in profile.timeline:
        flag = _still_missing(entry.link, entry.event)
        if flag is not None:
            about.flags.append(flag)
        if _when(entry.event) >= since:
            if len(about.events) < EVENTS_SHOWN:
                about.events.append(_line(entry.link, entry.event))
            else:
                about.events_more += 1
    about.flags.sort(key=lambda f: (f.kind != "wanted", f.since or date.min))
    described = [
        (name.replace("_cm", " (cm)").replace("_", " ").capitalize(), str(value))
        for name, value in (person.description or {}).items()
        if value not in (None, "")
    ]
    other_names = [
        (n.kind, " ".join(p for p in (n.given_names, n.family_name) if p)) for n in profile.names if n.kind != "primary"
    ]
    addresses = [
        (row.kind, pole.label(location))
        for row, location in profile.addresses
        if row.kind != "previous" and (row.to_date is None or row.to_date > today)
    ]
    associates, vehicles = [], []
    for view in profile.links:
        if view.link.to_date is not None and view.link.to_date <= today:
            continue
        if view.other.type == "person":
            associates.append((view.link.role, view.other_label, view.other.id))
        elif view.other.type == "object" and view.other_kind == ObjectKind.VEHICLE:
            vehicles.append((view.link.role, view.other_label))
        elif (
            view.other.type == "location"
            and view.link.role == LinkRole.RESIDES_AT
            and all(label != view.other_label for _, label in addresses)
        ):
            addresses.append((LinkRole.RESIDES_AT.value, view.other_label))
    return PersonCard(
        person_id=person.id,
        family_name=person.family_name,
        given_names=person.given_names,
        dob=_dob(person),
        gender=person.gender,
        birth_place=person.birth_place,
        description=described,
        other_names=other_names,
        identifiers=[(i.kind, i.value) for i in profile.identifiers],
        addresses=addresses,
        associates=associates,
        vehicles=vehicles,
        about=about,
        months=months,
    )


# ---------------------------------------------------------------- vehicle


@dataclass(frozen=True)
class VehicleCheckQuery:
    """A vehicle check: a VRM, full or partial (``*`` any characters, ``?`` one)."""

    vrm: str = ""
    months: int = RECENT_MONTHS  # for the linked persons' recent events (their flags need them)
    limit: int = VEHICLES


def _vehicle_problems(query: VehicleCheckQuery) -> list[_Problem]:
    cleaned = re.sub(r"[^A-Z0-9*?]", "", (query.vrm or "").upper())
    characters = len(re.sub(r"[*?]", "", cleaned))
    if not cleaned:
        return [_too_little("vrm", "give the registration (VRM)")]
    if not characters:
        return [_too_little("vrm", "only wildcards would find every vehicle: give at least two letters or digits")]
    if characters < 2:
        return [_too_little("vrm", "give at least two letters or digits of the registration")]
    return []


def check_vehicle(
    session: Session, actor: Actor, query: VehicleCheckQuery, reason: CheckReason, clock: Clock
) -> VehicleCheck:
    """Vehicles by VRM, each with the persons linked as keeper, owner or driver (current
    first, with their flags and markers) and the events the vehicle is linked to (newest
    first), among records the actor may see. Refuses too little and a missing reason; audited."""
    require(actor, Action.PERSON_SEARCH)
    require(actor, Action.PERSON_READ)
    force_id = pole.force_of(actor)
    problems = _vehicle_problems(query) + _months_problems(query.months)
    if not 1 <= query.limit <= MATCHES_MOST:
        problems.append(_Problem(FieldProblem("limit", f"from 1 to {MATCHES_MOST} vehicles"), "input.invalid"))
    stated = _go(problems, reason)
    checked = replace(actor, reason=stated)
    now = clock.now()
    today = to_local(now).date()
    found = search.search_vehicles(session, checked, query.vrm, clock, limit=query.limit)
    ids = [v.id for v in found]
    links = [
        link
        for link in records_queries.links_touching(session, force_id, [("object", i) for i in ids])
        if link.from_type == "person" and link.role in VEHICLE_ROLES and link.to_type == "object"
    ]
    seen = records_queries.visible_ids(session, checked, "person", {link.from_id for link in links}, [])
    about = _about(session, checked, list(seen), now, _months_ago(now, query.months))
    people: dict[str, list[LinkedPerson]] = {i: [] for i in ids}
    for link in links:
        person = seen.get(link.from_id)
        if person is None:
            continue
        current = (link.to_date is None or link.to_date > today) and (link.from_date is None or link.from_date <= today)
        row = LinkedPerson(
            person.id, link.role, current, person.family_name, person.given_names, _dob(person), about[person.id]
        )
        people[link.to_id].append(row)
    events: dict[str, list[EventLine]] = {i: [] for i in ids}
    more: dict[str, int] = {i: 0 for i in ids}
    for link, event in records_queries.events_linked_from(
        session, checked, "object", ids, pole.readable_event_kinds(checked), limit=50 * max(len(ids), 1)
    ):
        if len(events[link.from_id]) < EVENTS_SHOWN:
            events[link.from_id].append(_line(link, event))
        else:
            more[link.from_id] += 1
    vehicles = []
    for vehicle in found:
        listed = sorted(people[vehicle.id], key=lambda p: (not p.current, VEHICLE_ROLES.index(p.role), p.family_name))
        vehicles.append(
            VehicleMatch(
                vehicle.id,
                vehicle.vrm or "",
                vehicle.make,
                vehicle.model,
                vehicle.colour,
                listed,
                events[vehicle.id],
                more[vehicle.id],
            )
        )
    criteria = {"vrm": query.vrm, "months": query.months}
    detail = {
        "criteria": criteria,
        "found": len(vehicles),
        "vehicles": ids,
        "persons": sorted({p.person_id for v in vehicles for p in v.people}),
    }
    record = {"record_type": "object", "record_id": ids[0]} if len(ids) == 1 else {}
    audit.append(session, checked, Audit("check.vehicle", detail=detail, reason=stated, **record), clock)
    return VehicleCheck(stated, criteria, vehicles)


# ---------------------------------------------------------------- location


@dataclass(frozen=True)
class LocationCheckQuery:
    """A location check: an address or postcode ("14 Wellesley Street, ST1 4NS", "ST1 4NS",
    "Wellesley Street"), or the phone's position (``lat``/``lon``, WGS84), with the radius
    around it and around recorded places."""

    address: str = ""
    lat: float | None = None
    lon: float | None = None
    radius_m: int = RADIUS_M
    months: int = RECENT_MONTHS

    def criteria(self) -> dict[str, Any]:
        where: dict[str, Any] = {"address": self.address.strip()} if (self.address or "").strip() else {}
        if self.lat is not None and self.lon is not None and not where:
            where = {"lat": round(self.lat, 5), "lon": round(self.lon, 5)}
        return where | {"radius_m": self.radius_m, "months": self.months}


@dataclass(frozen=True)
class _Where:
    postcode: str | None  # normalised, no space
    words: str  # the rest of the address
    position: tuple[float, float] | None


def _location_input(query: LocationCheckQuery) -> tuple[_Where | None, list[_Problem]]:
    problems: list[_Problem] = []
    text = " ".join((query.address or "").split())
    position = None
    if query.lat is not None or query.lon is not None:
        if query.lat is None or query.lon is None:
            problems.append(
                _Problem(FieldProblem("position", "a position needs both latitude and longitude"), "input.invalid")
            )
        elif not (-90 <= query.lat <= 90 and -180 <= query.lon <= 180) or math.isnan(query.lat + query.lon):
            problems.append(
                _Problem(FieldProblem("position", "latitude -90 to 90, longitude -180 to 180"), "input.invalid")
            )
        else:
            position = (query.lat, query.lon)
    if not 10 <= query.radius_m <= RADIUS_MOST:
        problems.append(_Problem(FieldProblem("radius_m", f"from 10 to {RADIUS_MOST} metres"), "input.invalid"))
    problems += _months_problems(query.months)
    postcode, words = None, ""
    if text:
        upper = text.upper()
        match = _POSTCODE.search(upper)
        if match:
            postcode = match.group(1) + match.group(2)
            words = (upper[: match.start()] + " " + upper[match.end() :]).strip(" ,")
        else:
            words = text
        words = " ".join(words.replace(",", " ").split())
        if postcode is None:
            if _only_wildcards(text):
                problems.insert(0, _too_little("address", "only wildcards would find everywhere: give the street"))
            elif _DISTRICT.match(upper):
                problems.insert(0, _too_little("address", "give the full postcode (like ST1 4NS) or the street"))
            elif _letters(words) < 4:
                problems.insert(0, _too_little("address", "give the street (and number), or the full postcode"))
    elif position is None and not any(p.problem.field == "position" for p in problems):
        problems.insert(0, _too_little("address", "give an address or postcode, or use your position"))
    if problems:
        return None, problems
    if text:
        position = None  # an address typed wins over the phone's position
    return _Where(postcode, re.sub(r"[*?%_]", "", words).strip(), position), []


def _box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    dlat = radius_m / METRES_PER_DEGREE
    dlon = radius_m / (METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def _metres(a: tuple[float, float], lat: float | None, lon: float | None) -> float | None:
    if lat is None or lon is None:
        return None
    return round(haversine_km(a[0], a[1], lat, lon) * 1000, 1)


def _places(session: Session, actor: Actor, where: _Where, radius_m: int) -> list[tuple[Location, float | None]]:
    """The recorded places a check is about, nearest (or best spelt) first."""
    if where.postcode:
        found = records_queries.visible_locations_at_postcode(session, actor, where.postcode, PLACES * 5)
        wanted = normalise(where.words)
        if wanted:
            narrowed = [loc for loc in found if wanted in normalise(f"{loc.line1} {loc.line2}")]
            found = narrowed or found
        return [(loc, None) for loc in found[:PLACES]]
    if where.words:
        found = records_queries.visible_locations_by_address(session, actor, where.words, PLACES)
        return [(loc, None) for loc in found]
    if where.position is None:
        return []
    near = []
    box = _box(*where.position, radius_m)
    for loc in records_queries.visible_locations_in_box(session, actor, *box, limit=500):
        distance = _metres(where.position, loc.lat, loc.lon)
        if distance is not None and distance <= radius_m:
            near.append((loc, distance))
    near.sort(key=lambda pair: (pair[1], pair[0].id))
    return near[:PLACES]


def _incidents(
    session: Session, actor: Actor, where: _Where, places: list[Location], radius_m: int, since: datetime
) -> tuple[list[PastIncident], bool, tuple[float, float] | None]:
    centres = [where.position] if where.position else []
    centres += [(p.lat, p.lon) for p in places if p.lat is not None and p.lon is not None and not where.position]
    terms = []
    if where.postcode:
        terms += [where.postcode, f"{where.postcode[:-3]} {where.postcode[-3:]}"]
    elif where.words and not centres:
        terms.append(where.words)
    rows = command_queries.incidents_at_place(
        session, actor, [_box(lat, lon, radius_m) for lat, lon in centres], terms, since, INCIDENTS * 5
    )
    command = settings_of(session, actor.force_id)[2]
    shown: list[PastIncident] = []
    for incident in rows:
        distances = [d for d in (_metres(c, incident.lat, incident.lon) for c in centres) if d is not None]
        distance = min(distances) if distances else None
        by_address = any(term.lower() in (incident.address or "").lower() for term in terms)
        if not by_address and (distance is None or distance > radius_m):
            continue
        shown.append(_past(incident, command, distance if distance is not None and distance <= radius_m else None))
    centre = centres[0] if len(centres) == 1 else None
    return shown[:INCIDENTS], len(shown) > INCIDENTS, centre


def _past(incident: Incident, command, distance: float | None) -> PastIncident:
    category = command.category(incident.closing_category or incident.opening_category)
    return PastIncident(
        incident_id=incident.id,
        reference=incident.reference,
        created_at=incident.created_at,
        category=category.name if category else (incident.closing_category or incident.opening_category),
        grade=incident.grade,
        status=incident.status,
        address=incident.address or "",
        description=(incident.description or "")[:160],
        distance_m=distance,
    )


def check_location(
    session: Session, actor: Actor, query: LocationCheckQuery, reason: CheckReason, clock: Clock
) -> LocationCheck:
    """At an address, a postcode or the phone's position: the places recorded there, the
    flags and markers of the persons living there (the others counted, not named), and the
    incidents at or near it in the last ``months`` months (when the actor may read
    incidents), among records the actor may see. Refuses too little and a missing reason; audited."""
    require(actor, Action.PERSON_SEARCH)
    require(actor, Action.PERSON_READ)
    pole.force_of(actor)
    where, problems = _location_input(query)
    stated = _go(problems, reason)
    checked = replace(actor, reason=stated)
    now = clock.now()
    today = to_local(now).date()
    since = _months_ago(now, query.months)
    located = _places(session, checked, where, query.radius_m)
    ids = [loc.id for loc, _ in located]
    living = records_queries.current_residents(session, checked, ids, today)
    about = _about(session, checked, sorted({person.id for _, _, person in living}), now, since)
    residents: dict[str, dict[str, Resident]] = {i: {} for i in ids}
    for location_id, how, person in living:
        if person.id not in residents[location_id]:
            residents[location_id][person.id] = Resident(
                person.id, person.family_name, person.given_names, _dob(person), how, about[person.id]
            )
    places = []
    for loc, distance in located:
        here = list(residents[loc.id].values())
        warned = [r for r in here if r.about.warns]
        warned.sort(
            key=lambda r: (not r.about.flags, min((SEVERITY.get(m.kind, 99) for m in r.about.markers), default=99))
        )
        places.append(Place(loc.id, pole.label(loc), loc.lat, loc.lon, distance, warned, len(here) - len(warned)))
    incidents: list[PastIncident] = []
    more, centre, readable = False, where.position, checked.can(Action.INCIDENT_READ)
    if readable:
        incidents, more, found_centre = _incidents(
            session, checked, where, [loc for loc, _ in located], query.radius_m, since
        )
        centre = centre or found_centre
    criteria = query.criteria()
    shown_persons = sorted({r.person_id for p in places for r in p.residents})
    detail = {
        "criteria": criteria,
        "places": ids,
        "persons": shown_persons,
        "residents": sum(len(p.residents) + p.others for p in places),
        "incidents": len(incidents),
    }
    record = {"record_type": "location", "record_id": ids[0]} if len(ids) == 1 else {}
    audit.append(session, checked, Audit("check.location", detail=detail, reason=stated, **record), clock)
    return LocationCheck(stated, criteria, query.months, query.radius_m, centre, places, incidents, readable, more)


def months_before(now: datetime, months: int) -> datetime:
    """``months`` calendar months before ``now`` (for pages that say since when)."""
    return _months_ago(now, months)
