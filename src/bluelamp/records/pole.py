"""The POLE model's objects, locations and events, the links between records, and what
persons and events share: markings, MoPI retention defaults, record references and labels.

Decisions this module makes (issue 6):

- **Every read of a record asks for a reason** and is audited: objects, locations and
  events carry personal data themselves (a vehicle's keeper, an address) or through
  their links, which the detail lists.
- **Event kinds with their own capability** (crimes, intelligence reports) are read
  only with that capability's permission: an intelligence report is simply absent for
  someone without ``intelligence.read`` (in details, profiles and link charts alike).
  They are created by their own services (records/crime.py, intelligence.py) through
  ``create_event``; the generic ``add_event`` refuses them.
- **An event's location is also a link** (``occurred_at``), so that the link chart and
  profiles find events through places without a second kind of edge.
- **Links join records of one force that the actor can see**; a record of another force
  (or above the actor's clearance) answers like a missing one. Roles are valid only
  between the kinds of record in ``LINK_ROLES``.
- **Unlinking deletes the link**; the audit log keeps what it was. A relationship that
  ended is a link with an end date (``to_date``).
- **Event references** read ``SP-CR-2026-000123``: the force's prefix, a two-letter
  kind code, the (local) year the event was recorded and a number per force, kind and year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.model import Force
from bluelamp.access.policy import Action, Actor, Marking, require_reason
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.command.queries import visible_incident
from bluelamp.errors import CATALOGUE, Conflict, Denied, FieldProblem, InvalidInput, NotFound
from bluelamp.records import queries
from bluelamp.records.model import (
    Event,
    EventKind,
    Link,
    LinkRole,
    Location,
    ObjectKind,
    Person,
    RecordObject,
    RecordType,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    (
        "record.marking_above_clearance",
        InvalidInput,
        "A record cannot be marked above the clearance of the person recording it.",
    ),
    ("record.unknown_type", NotFound, "Record types are person, object, location and event."),
    (
        "event.kind_has_own_route",
        InvalidInput,
        "Crimes and intelligence reports are recorded through their own routes (with their classification).",
    ),
    ("link.invalid_role", InvalidInput, "That role does not join those kinds of record; `allowed` lists the roles."),
    ("link.self", InvalidInput, "A record cannot be linked to itself."),
    ("link.cross_force", Conflict, "Both records of a link must belong to the same force."),
    ("link.exists", Conflict, "The same link (ends and role) is already open; `link_id` names it."),
]:
    CATALOGUE.register(_code, _kind, _meaning)


# ---------------------------------------------------------------- record references


class RecordRef(NamedTuple):
    """One end of a link: a record's type (person, object, location, event) and id."""

    type: str
    id: str


_TYPE_OF = {Person: RecordType.PERSON, RecordObject: RecordType.OBJECT, Location: RecordType.LOCATION}


def ref(record: Any) -> RecordRef:
    """The reference of a record row (or a (type, id) pair, returned as a RecordRef)."""
    if isinstance(record, tuple):
        return RecordRef(str(record[0]), str(record[1]))
    if isinstance(record, Event):
        return RecordRef(RecordType.EVENT.value, record.id)
    for model, kind in _TYPE_OF.items():
        if isinstance(record, model):
            return RecordRef(kind.value, record.id)
    raise TypeError(f"not a record: {record!r}")


def record_type(text: str) -> str:
    """A record type named in a URL or a command; NotFound for anything else."""
    value = (text or "").strip().lower()
    if value not in {t.value for t in RecordType}:
        raise NotFound(f"no record type {text!r}: use person, object, location or event", code="record.unknown_type")
    return value


# ---------------------------------------------------------------- event kinds and permissions

# Events of these kinds are read (and written) only with their capability's permission.
EVENT_READ: dict[str, Action] = {EventKind.CRIME: Action.CRIME_READ, EventKind.INTELLIGENCE: Action.INTELLIGENCE_READ}
EVENT_WRITE: dict[str, Action] = {
    EventKind.CRIME: Action.CRIME_RECORD,
    EventKind.INTELLIGENCE: Action.INTELLIGENCE_CREATE,
}
OWN_ROUTE = frozenset({EventKind.CRIME.value, EventKind.INTELLIGENCE.value})
EVENT_CODES: dict[str, str] = {
    EventKind.CRIME: "CR",
    EventKind.INCIDENT: "IN",
    EventKind.INTELLIGENCE: "IR",
    EventKind.STOP_SEARCH: "SS",
    EventKind.MISSING_PERSON: "MP",
    EventKind.CUSTODY: "CU",
}


def readable_event_kinds(actor: Actor) -> list[str]:
    """The event kinds the actor may read (crimes need crime.read, intelligence intelligence.read)."""
    return [k.value for k in EventKind if actor.can(EVENT_READ.get(k, Action.PERSON_READ))]


# ---------------------------------------------------------------- MoPI retention defaults

# MoPI (APP Management of Police Information) retention groups and the default review
# date a new record gets. Kept here, in one place; records/mopi.py decides reviews.
#   group 1, certain public protection matters: retained until the person is 100
#            (for an event, or a person whose year of birth is unknown: reviewed every 10 years);
#   group 2, other sexual, violent or serious offences: reviewed after 10 years;
#   group 3, all other offences: reviewed after 6 years;
#   group 4, miscellaneous (e.g. undetected crime, no offence): reviewed after 6 years.
RETENTION_UNTIL_AGE: dict[str, int] = {"1": 100}
RETENTION_REVIEW_YEARS: dict[str, int] = {"1": 10, "2": 10, "3": 6, "4": 6}
RETENTION_GROUPS = tuple(RETENTION_REVIEW_YEARS)


def add_years(day: date, years: int) -> date:
    """The same day ``years`` later (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def default_review_date(
    group: str, today: date, dob_year: int | None = None, dob_month: int | None = None, dob_day: int | None = None
) -> date:
    """When a record of a retention group is first due for review (see the table above).
    For "until age 100" with a partial date of birth, the earliest possible 100th birthday."""
    until_age = RETENTION_UNTIL_AGE.get(group)
    if until_age is not None and dob_year is not None:
        return add_years(date(dob_year, dob_month or 1, dob_day or 1), until_age)
    return add_years(today, RETENTION_REVIEW_YEARS.get(group, 6))


def retention_problems(group: str | None) -> list[FieldProblem]:
    if group is None or str(group) in RETENTION_GROUPS:
        return []
    return [FieldProblem("retention_group", f"use a MoPI retention group: {', '.join(RETENTION_GROUPS)}")]


# ---------------------------------------------------------------- shared checks


def invalid(problems: list[FieldProblem], code: str = "input.invalid") -> InvalidInput:
    """One InvalidInput listing every problem."""
    return InvalidInput("; ".join(f"{p.field}: {p.message}" for p in problems), code=code, problems=problems)


def check_marking(actor: Actor, marking: str | None) -> str:
    """A record's marking: a known one, not above the recording person's clearance."""
    value = (marking or Marking.OFFICIAL.value).strip().upper()
    if value not in {m.value for m in Marking}:
        raise invalid([FieldProblem("marking", f"use one of {', '.join(m.value for m in Marking)}")])
    if not actor.clearance.covers(value):
        raise invalid(
            [FieldProblem("marking", f"your clearance ({actor.clearance}) does not cover {value}")],
            "record.marking_above_clearance",
        )
    return value


def force_of(actor: Actor) -> str:
    if actor.force_id is None:
        raise NotFound("no force: records belong to a force")
    return actor.force_id


def audit_record(
    session: Session, actor: Actor, action: str, rtype: str, record_id: str, clock: Clock, **detail
) -> None:
    audit.append(session, actor, Audit(action, record_type=rtype, record_id=record_id, detail=detail), clock)


def _text(value: str | None, limit: int, name: str, problems: list[FieldProblem]) -> str | None:
    if value is None:
        return None
    value = " ".join(str(value).split())
    if len(value) > limit:
        problems.append(FieldProblem(name, f"at most {limit} characters"))
    return value or None


# ---------------------------------------------------------------- normalising identifiers

POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
VRM = re.compile(r"^[A-Z0-9]{1,10}$")
VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")  # ISO 3779: 17 characters, never I, O or Q
UPRN = re.compile(r"^[0-9]{1,12}$")


def normalise_postcode(text: str) -> str | None:
    """A UK postcode as ``ST16 2DH`` (upper case, one space before the inward code), or
    None when it is not one. GIR 0AA (Girobank) is the one exception to the pattern."""
    compact = re.sub(r"\s+", "", text or "").upper()
    if compact == "GIR0AA":
        return "GIR 0AA"
    match = POSTCODE.match(compact)
    return f"{match.group(1)} {match.group(2)}" if match else None


def normalise_vrm(text: str) -> str:
    """A vehicle registration mark as searched: upper case, no spaces or dashes (``AB12CDE``)."""
    return re.sub(r"[\s\-]+", "", text or "").upper()


def normalise_phone(text: str) -> str:
    """A phone number as digits in national form: +44 7700 900123 and 0044... become 07700900123;
    other international numbers keep their 00 prefix and country code."""
    digits = re.sub(r"\D", "", text or "")
    stripped = (text or "").strip()
    if stripped.startswith("+"):
        digits = "00" + digits
    if digits.startswith("0044"):
        digits = "0" + digits[4:]
    return digits


def luhn_valid(digits: str) -> bool:
    """The Luhn check (IMEI check digit, ISO/IEC 7812)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        number = int(char)
        if index % 2 == 1:
            number *= 2
            if number > 9:
                number -= 9
        total += number
    return total % 10 == 0


# ---------------------------------------------------------------- locations


@dataclass(frozen=True)
class NewLocation:
    """Command: record an address or a place."""

    line1: str = ""
    line2: str = ""
    town: str = ""
    postcode: str = ""
    lat: float | None = None
    lon: float | None = None
    uprn: str | None = None
    description: str | None = None
    marking: str | None = None


def location_problems(command: NewLocation) -> tuple[list[FieldProblem], str | None]:
    """Problems with a new location, and its normalised postcode."""
    problems: list[FieldProblem] = []
    postcode = None
    if command.postcode and command.postcode.strip():
        postcode = normalise_postcode(command.postcode)
        if postcode is None:
            problems.append(
                FieldProblem("postcode", f"{command.postcode.strip()!r} is not a UK postcode (e.g. ST16 2DH)")
            )
    for name, limit in (("line1", 200), ("line2", 200), ("town", 100)):
        _text(getattr(command, name), limit, name, problems)
    if (command.lat is None) != (command.lon is None):
        problems.append(FieldProblem("lat" if command.lat is None else "lon", "give both latitude and longitude"))
    if command.lat is not None and not -90 <= command.lat <= 90:
        problems.append(FieldProblem("lat", "latitude must be from -90 to 90"))
    if command.lon is not None and not -180 <= command.lon <= 180:
        problems.append(FieldProblem("lon", "longitude must be from -180 to 180"))
    if command.uprn is not None and str(command.uprn).strip() and not UPRN.match(str(command.uprn).strip()):
        problems.append(FieldProblem("uprn", "a UPRN is up to 12 digits"))
    if not (command.line1 or "").strip() and postcode is None and command.lat is None and not problems:
        problems.append(FieldProblem("line1", "give an address line, a postcode or a point"))
    return problems, postcode


def new_location(session: Session, actor: Actor, command: NewLocation, clock: Clock) -> Location:
    """Write a location (checks and audit included; the caller has checked the permission)."""
    force_id = force_of(actor)
    problems, postcode = location_problems(command)
    if problems:
        raise invalid(problems)
    now = clock.now()
    location = Location(
        id=clock.new_id(),
        force_id=force_id,
        marking=check_marking(actor, command.marking),
        need_to_know=False,
        line1=" ".join((command.line1 or "").split()),
        line2=" ".join((command.line2 or "").split()),
        town=" ".join((command.town or "").split()),
        postcode=postcode or "",
        postcode_norm=(postcode or "").replace(" ", ""),
        lat=command.lat,
        lon=command.lon,
        uprn=(str(command.uprn).strip() or None) if command.uprn is not None else None,
        description=(command.description or "").strip() or None,
        created_at=now,
        created_by=actor.username,
    )
    session.add(location)
    session.flush()
    audit_record(session, actor, "location.create", "location", location.id, clock, postcode=location.postcode)
    return location


def add_location(session: Session, actor: Actor, command: NewLocation, clock: Clock) -> Location:
    """Record an address or place: address lines, a UK postcode (validated, normalised),
    an optional point and UPRN."""
    require(actor, Action.PERSON_WRITE)
    return new_location(session, actor, command, clock)


# ---------------------------------------------------------------- objects


@dataclass(frozen=True)
class NewObject:
    """Command: record a vehicle, phone, item of property, weapon or document."""

    kind: str
    vrm: str | None = None
    make: str | None = None
    model: str | None = None
    colour: str | None = None
    vin: str | None = None
    phone_number: str | None = None
    imei: str | None = None
    description: str | None = None
    serial_number: str | None = None
    marking: str | None = None


def object_problems(command: NewObject) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    kind = (command.kind or "").strip().lower()
    if kind not in {k.value for k in ObjectKind}:
        return [FieldProblem("kind", f"use one of {', '.join(k.value for k in ObjectKind)}")]
    if command.vrm and not VRM.match(normalise_vrm(command.vrm)):
        problems.append(FieldProblem("vrm", "a registration mark is 1 to 10 letters and digits (e.g. AB12 CDE)"))
    if command.vin and not VIN.match(re.sub(r"\s+", "", command.vin).upper()):
        problems.append(FieldProblem("vin", "a VIN is 17 letters and digits, never I, O or Q"))
    if command.phone_number:
        digits = normalise_phone(command.phone_number)
        if not 7 <= len(digits) <= 17 or re.search(r"[A-Za-z]", command.phone_number):
            problems.append(FieldProblem("phone_number", "a phone number has 7 to 15 digits (e.g. 07700 900123)"))
    if command.imei:
        imei = re.sub(r"[\s\-]", "", command.imei)
        if not re.fullmatch(r"[0-9]{15}", imei):
            problems.append(FieldProblem("imei", "an IMEI is 15 digits"))
        elif not luhn_valid(imei):
            problems.append(FieldProblem("imei", "the IMEI's check digit is wrong (Luhn): check it was copied right"))
    for name, limit in (("make", 60), ("model", 60), ("colour", 40), ("serial_number", 60)):
        _text(getattr(command, name), limit, name, problems)
    if kind == ObjectKind.VEHICLE and not (command.vrm or command.vin):
        problems.append(FieldProblem("vrm", "a vehicle needs a registration mark or a VIN"))
    elif kind == ObjectKind.PHONE and not (command.phone_number or command.imei):
        problems.append(FieldProblem("phone_number", "a phone needs a number or an IMEI"))
    elif (
        kind in (ObjectKind.PROPERTY, ObjectKind.WEAPON, ObjectKind.DOCUMENT)
        and not (command.description or "").strip()
    ):
        problems.append(FieldProblem("description", f"describe the {kind}"))
    return problems


def new_object(session: Session, actor: Actor, command: NewObject, clock: Clock) -> RecordObject:
    """Write an object (checks and audit included; the caller has checked the permission)."""
    force_id = force_of(actor)
    problems = object_problems(command)
    if problems:
        raise invalid(problems)
    problems = []
    vrm = normalise_vrm(command.vrm) if command.vrm else None
    phone = command.phone_number.strip() if command.phone_number else None
    now = clock.now()
    record = RecordObject(
        id=clock.new_id(),
        force_id=force_id,
        marking=check_marking(actor, command.marking),
        need_to_know=False,
        kind=command.kind.strip().lower(),
        vrm=" ".join(command.vrm.upper().split()) if command.vrm else None,
        vrm_norm=vrm,
        make=_text(command.make, 60, "make", problems),
        model=_text(command.model, 60, "model", problems),
        colour=_text(command.colour, 40, "colour", problems),
        vin=re.sub(r"\s+", "", command.vin).upper() if command.vin else None,
        phone_number=phone,
        phone_digits=normalise_phone(phone) if phone else None,
        imei=re.sub(r"[\s\-]", "", command.imei) if command.imei else None,
        description=(command.description or "").strip() or None,
        serial_number=_text(command.serial_number, 60, "serial_number", problems),
        created_at=now,
        created_by=actor.username,
    )
    session.add(record)
    session.flush()
    audit_record(session, actor, "object.create", "object", record.id, clock, kind=record.kind)
    return record


def add_object(session: Session, actor: Actor, command: NewObject, clock: Clock) -> RecordObject:
    """Record an object: a vehicle (VRM normalised, VIN checked), a phone (number as digits,
    IMEI with its Luhn check digit), property, a weapon or a document."""
    require(actor, Action.PERSON_WRITE)
    return new_object(session, actor, command, clock)


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class NewEvent:
    """Command: record something that happened."""

    kind: str
    summary: str
    narrative: str = ""
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    reported_at: datetime | None = None  # default: now
    location_id: str | None = None
    incident_id: str | None = None  # a command-and-control incident the actor can see
    marking: str | None = None
    retention_group: str = "3"
    review_at: date | None = None  # default: from the retention group


def _event_problems(command: NewEvent, now: datetime) -> list[FieldProblem]:
    problems: list[FieldProblem] = []
    if command.kind not in {k.value for k in EventKind}:
        return [FieldProblem("kind", f"use one of {', '.join(k.value for k in EventKind)}")]
    summary = " ".join((command.summary or "").split())
    if not summary:
        problems.append(FieldProblem("summary", "say in a line what happened"))
    elif len(summary) > 300:
        problems.append(FieldProblem("summary", "at most 300 characters (put the rest in the narrative)"))
    for name in ("occurred_from", "occurred_to", "reported_at"):
        moment = getattr(command, name)
        if moment is not None and moment.tzinfo is None:
            problems.append(FieldProblem(name, "give a time with its offset (UTC or local)"))
        elif moment is not None and moment > now:
            problems.append(FieldProblem(name, "cannot be in the future"))
    start, end = command.occurred_from, command.occurred_to
    if start and end and start.tzinfo and end.tzinfo and end < start:
        problems.append(FieldProblem("occurred_to", "ends before it starts"))
    reported = command.reported_at
    if start and reported and start.tzinfo and reported.tzinfo and reported < start:
        problems.append(FieldProblem("reported_at", "reported before it happened"))
    problems.extend(retention_problems(command.retention_group))
    return problems


def create_event(session: Session, actor: Actor, command: NewEvent, clock: Clock) -> Event:
    """Write an event of any kind with its reference: the permission for its kind
    (crime.record, intelligence.create, otherwise person.write), its location (also
    linked ``occurred_at``) and command incident checked visible; audited. Crime and
    intelligence services call this for the event part of their records."""
    require(actor, EVENT_WRITE.get(command.kind, Action.PERSON_WRITE))
    force_id = force_of(actor)
    now = clock.now()
    problems = _event_problems(command, now)
    location = None
    if command.location_id:
        location = queries.visible_location(session, actor, command.location_id)
        if location is None:
            problems.append(FieldProblem("location_id", f"no location {command.location_id!r}"))
    if command.incident_id and visible_incident(session, actor, command.incident_id) is None:
        problems.append(FieldProblem("incident_id", f"no incident {command.incident_id!r}"))
    if problems:
        raise invalid(problems)
    marking = check_marking(actor, command.marking)
    force = session.get(Force, force_id)
    year = to_local(now).year
    number = queries.next_event_number(session, force_id, command.kind, year)
    event = Event(
        id=clock.new_id(),
        force_id=force_id,
        marking=marking,
        need_to_know=False,
        kind=command.kind,
        reference=f"{force.reference_prefix}-{EVENT_CODES[command.kind]}-{year}-{number:06d}",
        occurred_from=command.occurred_from,
        occurred_to=command.occurred_to,
        reported_at=command.reported_at or now,
        location_id=location.id if location else None,
        summary=" ".join(command.summary.split()),
        narrative=(command.narrative or "").strip(),
        incident_id=command.incident_id or None,
        retention_group=str(command.retention_group),
        review_at=command.review_at or default_review_date(str(command.retention_group), to_local(now).date()),
        created_at=now,
        created_by=actor.username,
        updated_at=now,
    )
    session.add(event)
    session.flush()
    audit_record(session, actor, "event.create", "event", event.id, clock, kind=event.kind, reference=event.reference)
    if location is not None:
        _write_link(session, actor, force_id, ref(event), LinkRole.OCCURRED_AT, ref(location), clock)
    return event


def add_event(session: Session, actor: Actor, command: NewEvent, clock: Clock) -> Event:
    """Record an incident, stop and search, missing person report or custody episode
    (crimes and intelligence reports have their own services)."""
    require(actor, Action.PERSON_WRITE)
    if command.kind in OWN_ROUTE:
        raise invalid(
            [FieldProblem("kind", f"record a {command.kind} through its own route")], "event.kind_has_own_route"
        )
    return create_event(session, actor, command, clock)


# ---------------------------------------------------------------- reading records


@dataclass
class LinkView:
    """A link as seen from one record: the role, the other end and its label."""

    link: Link
    outgoing: bool  # True: this record is the link's ``from`` end
    other: RecordRef
    other_label: str
    other_kind: str  # the other record's kind (vehicle, crime...) or its type


@dataclass
class RecordDetail:
    """One object, location or event with its links to records the actor may see."""

    record: Any
    links: list[LinkView] = field(default_factory=list)


def find_visible(session: Session, actor: Actor, record: RecordRef) -> Any:
    """The record if the actor may see it; NotFound (alike for missing and hidden) otherwise."""
    rtype = record_type(record.type)
    if rtype == RecordType.PERSON:
        found = queries.visible_person(session, actor, record.id)
    elif rtype == RecordType.OBJECT:
        found = queries.visible_object(session, actor, record.id)
    elif rtype == RecordType.LOCATION:
        found = queries.visible_location(session, actor, record.id)
    else:
        found = queries.visible_event(session, actor, record.id, readable_event_kinds(actor))
    if found is None:
        raise NotFound(f"no {rtype} {record.id!r}")
    return found


def label(record: Any) -> str:
    """A short human label for a record, for profiles, link lists and the link chart."""
    if isinstance(record, Person):
        name = ", ".join(p for p in (record.family_name.upper(), record.given_names) if p) or "(no name)"
        dob = format_dob(record.dob_year, record.dob_month, record.dob_day)
        return f"{name} ({dob})" if dob else name
    if isinstance(record, RecordObject):
        if record.kind == ObjectKind.VEHICLE:
            parts = [record.vrm or record.vin or "", record.colour or "", record.make or "", record.model or ""]
            return " ".join(p for p in parts if p) or "vehicle"
        if record.kind == ObjectKind.PHONE:
            return f"phone {record.phone_number or record.imei}"
        return f"{record.kind}: {(record.description or '')[:60]}"
    if isinstance(record, Location):
        parts = [record.line1, record.town, record.postcode]
        text = ", ".join(p for p in parts if p)
        return text or (f"{record.lat:.5f}, {record.lon:.5f}" if record.lat is not None else "location")
    if isinstance(record, Event):
        return f"{record.reference} {record.kind}: {record.summary[:60]}"
    return str(record)


def kind_of(record: Any) -> str:
    """An object's or event's kind, or the record's type."""
    if isinstance(record, RecordObject | Event):
        return record.kind
    return ref(record).type


def format_dob(year: int | None, month: int | None, day: int | None) -> str:
    """A full or partial date of birth as 12/03/1985, 03/1985, 1985, or ?? for unknown parts."""
    if year is None and month is None and day is None:
        return ""
    parts = [f"{day:02d}" if day else "??", f"{month:02d}" if month else "??", str(year) if year else "????"]
    while parts[0] == "??":  # 03/1985 or 1985 rather than ??/03/1985
        parts.pop(0)
    return "/".join(parts)


def links_of(session: Session, actor: Actor, record: RecordRef) -> list[LinkView]:
    """Every link of a record whose other end the actor may see (others are simply absent)."""
    force_id = force_of(actor)
    found = queries.links_touching(session, force_id, [tuple(record)])
    others: dict[str, set[str]] = {}
    for link in found:
        outgoing = (link.from_type, link.from_id) == tuple(record)
        other = RecordRef(link.to_type, link.to_id) if outgoing else RecordRef(link.from_type, link.from_id)
        others.setdefault(other.type, set()).add(other.id)
    kinds = readable_event_kinds(actor)
    seen = {t: queries.visible_ids(session, actor, t, ids, kinds) for t, ids in others.items()}
    views = []
    for link in found:
        outgoing = (link.from_type, link.from_id) == tuple(record)
        other = RecordRef(link.to_type, link.to_id) if outgoing else RecordRef(link.from_type, link.from_id)
        row = seen.get(other.type, {}).get(other.id)
        if row is not None:
            views.append(LinkView(link, outgoing, other, label(row), kind_of(row)))
    return views


def _read(session: Session, actor: Actor, rtype: str, record_id: str, clock: Clock) -> RecordDetail:
    require(actor, Action.PERSON_READ)
    record = find_visible(session, actor, RecordRef(rtype, record_id))
    reason = require_reason(actor)
    detail = RecordDetail(record, links_of(session, actor, RecordRef(rtype, record.id)))
    audit.append(session, actor, Audit(f"{rtype}.read", record_type=rtype, record_id=record.id, reason=reason), clock)
    return detail


def get_object(session: Session, actor: Actor, object_id: str, clock: Clock) -> RecordDetail:
    """One object with its links; asks for a reason; audited."""
    return _read(session, actor, RecordType.OBJECT, object_id, clock)


def get_location(session: Session, actor: Actor, location_id: str, clock: Clock) -> RecordDetail:
    """One location with its links; asks for a reason; audited."""
    return _read(session, actor, RecordType.LOCATION, location_id, clock)


def get_event(session: Session, actor: Actor, event_id: str, clock: Clock) -> RecordDetail:
    """One event with its links (a crime needs crime.read, an intelligence report
    intelligence.read: without it the event answers like a missing one); asks for a reason; audited."""
    return _read(session, actor, RecordType.EVENT, event_id, clock)


# ---------------------------------------------------------------- links

PER, OBJ, LOC, EVT = RecordType.PERSON.value, RecordType.OBJECT.value, RecordType.LOCATION.value, RecordType.EVENT.value
R = LinkRole
# Which role may join which kinds of record (from -> to). An object end may be limited to
# some kinds of object (only vehicles have keepers and drivers).
LINK_ROLES: dict[str, frozenset[tuple[str, str]]] = {
    R.SUSPECT: frozenset({(PER, EVT)}),
    R.VICTIM: frozenset({(PER, EVT)}),
    R.WITNESS: frozenset({(PER, EVT)}),
    R.REPORTED_BY: frozenset({(PER, EVT)}),
    R.SUBJECT_OF: frozenset({(PER, EVT), (OBJ, EVT), (LOC, EVT)}),
    R.OWNER: frozenset({(PER, OBJ), (PER, LOC)}),
    R.KEEPER: frozenset({(PER, OBJ)}),
    R.DRIVER: frozenset({(PER, OBJ)}),
    R.RESIDES_AT: frozenset({(PER, LOC)}),
    R.ASSOCIATE_OF: frozenset({(PER, PER)}),
    R.SEEN_AT: frozenset({(PER, LOC), (OBJ, LOC), (PER, EVT), (OBJ, EVT)}),
    R.OCCURRED_AT: frozenset({(EVT, LOC)}),
}
VEHICLE_ONLY = frozenset({R.KEEPER.value, R.DRIVER.value})


def roles_between(from_type: str, to_type: str) -> list[str]:
    """The roles that may join a record of ``from_type`` to one of ``to_type``."""
    return [role.value for role, pairs in LINK_ROLES.items() if (from_type, to_type) in pairs]


def _write_link(
    session: Session,
    actor: Actor,
    force_id: str,
    start: RecordRef,
    role: str,
    end: RecordRef,
    clock: Clock,
    *,
    from_date: date | None = None,
    to_date: date | None = None,
    note: str | None = None,
) -> Link:
    row = Link(
        id=clock.new_id(),
        force_id=force_id,
        from_type=start.type,
        from_id=start.id,
        role=str(role),
        to_type=end.type,
        to_id=end.id,
        from_date=from_date,
        to_date=to_date,
        note=(note or "").strip() or None,
        created_at=clock.now(),
        created_by=actor.username,
    )
    session.add(row)
    session.flush()
    audit_record(
        session,
        actor,
        "link.create",
        start.type,
        start.id,
        clock,
        link_id=row.id,
        role=row.role,
        to_type=end.type,
        to_id=end.id,
    )
    return row


def link(
    session: Session,
    actor: Actor,
    from_record: RecordRef | tuple[str, str] | Any,
    role: str,
    to_record: RecordRef | tuple[str, str] | Any,
    clock: Clock,
    *,
    from_date: date | None = None,
    to_date: date | None = None,
    note: str | None = None,
) -> Link:
    """Link two records with a role and dates (person -suspect-> event). Both ends must be
    records of the actor's force that the actor can see (others answer like missing ones),
    the role must join their kinds, no record links to itself and the same open link is
    not made twice. Needs person.write, or the write permission of the event's kind."""
    if not (actor.can(Action.PERSON_WRITE) or any(actor.can(a) for a in EVENT_WRITE.values())):
        require(actor, Action.PERSON_WRITE)
    start, end = ref(from_record), ref(to_record)
    role_value = (role or "").strip().lower()
    problems: list[FieldProblem] = []
    for name, end_ref in (("from_type", start), ("to_type", end)):
        if end_ref.type not in {t.value for t in RecordType}:
            problems.append(FieldProblem(name, "use person, object, location or event"))
    if role_value not in {r.value for r in LinkRole}:
        problems.append(FieldProblem("role", f"use one of {', '.join(r.value for r in LinkRole)}"))
    if from_date and to_date and to_date < from_date:
        problems.append(FieldProblem("to_date", "ends before it starts"))
    if problems:
        raise invalid(problems)
    if start == end:
        raise invalid([FieldProblem("to_id", "a record cannot be linked to itself")], "link.self")
    allowed = roles_between(start.type, end.type)
    if role_value not in allowed:
        raise InvalidInput(
            f"{role_value} does not link a {start.type} to a {end.type}"
            + (f": use {', '.join(allowed)}" if allowed else ""),
            code="link.invalid_role",
            problems=[FieldProblem("role", f"not a role from a {start.type} to a {end.type}")],
            extra={"allowed": allowed},
        )
    first = find_visible(session, actor, start)
    second = find_visible(session, actor, end)
    if first.force_id != second.force_id or first.force_id != actor.force_id:
        raise Conflict("both records of a link must belong to the same force", code="link.cross_force")
    if role_value in VEHICLE_ONLY and getattr(second, "kind", None) != ObjectKind.VEHICLE:
        raise InvalidInput(
            f"only a vehicle has a {role_value}",
            code="link.invalid_role",
            problems=[FieldProblem("role", f"a {second.kind} has no {role_value}: use owner")],
            extra={"allowed": [r for r in allowed if r not in VEHICLE_ONLY]},
        )
    event = next((r for r in (first, second) if isinstance(r, Event)), None)
    if not actor.can(Action.PERSON_WRITE) and not (
        event is not None and actor.can(EVENT_WRITE.get(event.kind, Action.PERSON_WRITE))
    ):
        raise Denied(f"your roles do not allow {Action.PERSON_WRITE}")
    existing = queries.open_link(session, actor.force_id, start, role_value, end)
    if existing is not None:
        raise Conflict(
            f"{start.type} {start.id} is already linked as {role_value} to {end.type} {end.id}",
            code="link.exists",
            extra={"link_id": existing.id},
        )
    return _write_link(
        session, actor, actor.force_id, start, role_value, end, clock, from_date=from_date, to_date=to_date, note=note
    )


def unlink(session: Session, actor: Actor, link_id: str, clock: Clock, *, reason: str | None = None) -> Link:
    """Remove a link made in error (the audit log keeps what it was). Both ends must be
    visible to the actor; a link of another force answers like a missing one."""
    require(actor, Action.PERSON_WRITE)
    found = queries.link_by_id(session, force_of(actor), link_id)
    if found is None:
        raise NotFound(f"no link {link_id!r}")
    try:
        find_visible(session, actor, RecordRef(found.from_type, found.from_id))
        find_visible(session, actor, RecordRef(found.to_type, found.to_id))
    except NotFound:
        raise NotFound(f"no link {link_id!r}") from None
    audit_record(
        session,
        actor,
        "link.remove",
        found.from_type,
        found.from_id,
        clock,
        link_id=found.id,
        role=found.role,
        to_type=found.to_type,
        to_id=found.to_id,
        reason=reason,
    )
    session.delete(found)
    session.flush()
    return found


# ---------------------------------------------------------------- beside a record (web/pages/records.py)


def linked_events(session: Session, actor: Actor, views: list[LinkView]) -> list[tuple[LinkView, Event]]:
    """The events among a record's links (as ``links_of`` gives them) with their rows,
    newest first (by when they happened, else when they were reported). The caller has
    read the record (a reason asked, audited); only events the actor may read are linked."""
    ids = [v.other.id for v in views if v.other.type == EVT]
    rows = queries.visible_ids(session, actor, EVT, ids, readable_event_kinds(actor))
    found = [(v, rows[v.other.id]) for v in views if v.other.type == EVT and v.other.id in rows]
    found.sort(key=lambda pair: (pair[1].occurred_from or pair[1].reported_at, pair[1].reference), reverse=True)
    return found


def residents(session: Session, actor: Actor, location_id: str) -> list[tuple[Any, Person]]:
    """(address row, person) for everyone with an address at a location (home, previous,
    work, care of) whom the actor may see, current first. Needs person.read and the
    location visible; the caller has read the location (a reason asked, audited)."""
    require(actor, Action.PERSON_READ)
    find_visible(session, actor, RecordRef(LOC, location_id))
    return queries.addresses_at(session, actor, location_id)
