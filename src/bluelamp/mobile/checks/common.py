"""What every check shares: its limits, what it shows (the result types), its reason and
the checks on its input, and the flags, markers and events of the persons it finds."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bluelamp.access.policy import Actor
from bluelamp.clock import to_local
from bluelamp.errors import CATALOGUE, Denied, FieldProblem, InvalidInput
from bluelamp.records import pole
from bluelamp.records import queries as records_queries
from bluelamp.records.model import EventKind, LinkRole, MarkerKind
from bluelamp.records.names import normalise

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.records.model import Event, Link, WarningMarker


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
POSTCODE = re.compile(r"\b([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})\b")
DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?( ?[0-9])?$")


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
class Problem:
    problem: FieldProblem
    code: str


def too_little(name: str, message: str) -> Problem:
    return Problem(FieldProblem(name, message), "check.too_little")


def reason_text(reason: CheckReason) -> tuple[str | None, list[Problem]]:
    """The reason as the audit log keeps it ("Check, stop in the street: outside the Potteries
    Centre"; "Check: <words>" for other), the program's own when it stated one, or None when
    none was given; and what is wrong with it."""
    purpose = (reason.purpose or "").strip()
    detail = " ".join((reason.detail or "").split())[:REASON_DETAIL_MOST]
    if purpose:
        if purpose not in PURPOSES:
            return None, [
                Problem(FieldProblem("purpose", "choose why you are making this check"), "check.reason_incomplete")
            ]
        if purpose == "other" and len(detail) < 3:
            problem = FieldProblem("reason_detail", "say in a few words why you are making this check")
            return None, [Problem(problem, "check.reason_incomplete")]
        label = PURPOSES[purpose]
        if purpose == "other":
            return f"Check: {detail}", []
        return (f"Check, {label.lower()}: {detail}" if detail else f"Check, {label.lower()}"), []
    if len(detail) >= 3:
        return f"Check: {detail}", []
    if reason.stated:
        return reason.stated, []
    return None, []


def reason_or_refusal(problems: list[Problem], reason: CheckReason) -> str:
    """The check's reason, once the input is good and a reason given; otherwise the refusal:
    every problem at once (a missing reason among them when the input is wrong too), or
    ``access.reason_required`` with the quick picks when only the reason is missing."""
    text, reason_problems = reason_text(reason)
    if problems or reason_problems:
        if text is None and not reason_problems:
            reason_problems = [
                Problem(FieldProblem("purpose", "choose why you are making this check"), "access.reason_required")
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


def months_problems(months: int) -> list[Problem]:
    if not 1 <= months <= MONTHS_MOST:
        return [Problem(FieldProblem("months", f"from 1 to {MONTHS_MOST} months"), "input.invalid")]
    return []


def months_ago(now: datetime, months: int) -> datetime:
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


def letter_count(text: str) -> int:
    return len(normalise(re.sub(r"[*?%_]", "", text or "")).replace(" ", ""))


def only_wildcards(text: str) -> bool:
    raw = (text or "").strip()
    return bool(raw) and any(c in WILDCARDS for c in raw) and not letter_count(raw) and not re.search(r"[0-9]", raw)


# ---------------------------------------------------------------- flags, markers, events of persons


def dob_text(row: Any) -> str:
    return pole.format_dob(row.dob_year, row.dob_month, row.dob_day) or ""


def event_time(event: Event) -> datetime:
    return event.occurred_from or event.reported_at


def event_line(link: Link, event: Event) -> EventLine:
    return EventLine(event.id, event.kind, event.reference, event.summary, event_time(event), link.role)


def marker_views(rows: list[WarningMarker]) -> tuple[list[Flag], list[MarkerView]]:
    flags, markers = [], []
    for row in rows:
        if row.kind in FLAG_KINDS:
            flags.append(Flag(row.kind, row.reason, row.from_date))
        else:
            markers.append(MarkerView(row.kind, row.reason, row.from_date))
    markers.sort(key=lambda m: (SEVERITY.get(m.kind, len(SEVERITY)), m.since))
    return flags, markers


def still_missing(link: Link, event: Event) -> Flag | None:
    """A missing person report not yet closed (no end), about this person."""
    if event.kind == EventKind.MISSING_PERSON and event.occurred_to is None and link.role == LinkRole.SUBJECT_OF:
        return Flag("missing", event.summary, to_local(event_time(event)).date(), event.reference)
    return None


def about_persons(
    session: Session, actor: Actor, person_ids: list[str], now: datetime, since: datetime
) -> dict[str, About]:
    """Flags, markers and recent events of several persons, in three queries."""
    found = {pid: About() for pid in person_ids}
    if not person_ids:
        return found
    today = to_local(now).date()
    by_person: dict[str, list[WarningMarker]] = {pid: [] for pid in person_ids}
    for row in records_queries.current_markers_of(session, person_ids, today):
        by_person[row.person_id].append(row)
    for pid, rows in by_person.items():
        found[pid].flags, found[pid].markers = marker_views(rows)
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
        flag = still_missing(link, event)
        if flag is not None and all(f.reference != flag.reference for f in about.flags):
            about.flags.append(flag)
        if event_time(event) >= since:
            if len(about.events) < EVENTS_SHOWN:
                about.events.append(event_line(link, event))
            else:
                about.events_more += 1
    for about in found.values():
        about.flags.sort(key=lambda f: (f.kind != "wanted", f.since or date.min))
    return found


def months_before(now: datetime, months: int) -> datetime:
    """``months`` calendar months before ``now`` (for pages that say since when)."""
    return months_ago(now, months)
