"""What hangs off a person: names (with their search keys), identifiers, warning markers and
addresses. The commands that describe them, their checks and rows (written with a new
person by ``records/persons.py``), and adding them to a person later, or ending a marker.
Every change is audited (``person.update``) without a reason: the change is the reason.

Decisions this module makes (issue 6):

- **An identifier is unique within a force** (PNC ID, driving licence, passport, NI and
  CRO numbers, normalised first). A clash answers ``person.identifier_taken`` naming the
  kind; it names the person who holds it only when the actor may see that person, so a
  record above the actor's clearance (or on an access list) is not revealed beyond the
  fact that the force holds the identifier, which the uniqueness rule itself cannot hide.
- **Names are written with their search keys** (``records.names``): every name (primary,
  alias, previous, nickname) is a ``records_person_name`` row with its normalised forms,
  phonetic keys and the date-of-birth year, plus search-only rows for each part of a
  double-barrelled family name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.command.queries import inserted
from bluelamp.errors import CATALOGUE, Conflict, FieldProblem, NotFound
from bluelamp.records import names as name_keys
from bluelamp.records import queries
from bluelamp.records.model import (
    IdentifierKind,
    Location,
    MarkerKind,
    Person,
    PersonAddress,
    PersonIdentifier,
    PersonName,
    RecordType,
    WarningMarker,
)
from bluelamp.records.person_fields import (
    ADDRESS_KINDS,
    OTHER_NAME_KINDS,
    dates_problems,
    identifier_problems,
    name_problems,
    normalise_identifier,
)
from bluelamp.records.pole import NewLocation, force_of, invalid, location_problems, new_location

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    (
        "person.identifier_taken",
        Conflict,
        "The force already holds that identifier (`kind`); `person_id` names its holder when you may see them.",
    ),
    ("person.marker_ended", Conflict, "The warning marker has already ended."),
]:
    CATALOGUE.register(_code, _kind, _meaning)


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class OtherName:
    """An alias, previous name (e.g. a maiden name) or nickname, with the dates it was used."""

    kind: str
    given_names: str
    family_name: str
    from_date: date | None = None
    to_date: date | None = None


@dataclass(frozen=True)
class NewIdentifier:
    kind: str
    value: str


@dataclass(frozen=True)
class NewMarker:
    """A warning marker: its kind, why, and from when (default: today) to when (open)."""

    kind: str
    reason: str
    from_date: date | None = None
    to_date: date | None = None


@dataclass(frozen=True)
class NewAddress:
    """An address of a person: an existing location, or a new one, with its kind and dates."""

    location_id: str | None = None
    location: NewLocation | None = None
    kind: str = "home"
    from_date: date | None = None
    to_date: date | None = None


# ---------------------------------------------------------------- names


def name_rows(person: Person, kind: str, given: str, family: str, start=None, end=None) -> list[PersonName]:
    """A name's row with its search keys, and the search-only rows for the parts of a
    double-barrelled family name."""
    given, family = " ".join((given or "").split()), " ".join((family or "").split())
    rows = []
    for row_kind, keys in [(kind, name_keys.keys(given, family))] + [
        (name_keys.PART_KIND, k) for k in name_keys.part_keys(given, family)
    ]:
        rows.append(
            PersonName(
                force_id=person.force_id,
                person_id=person.id,
                kind=row_kind,
                given_names=given,
                family_name=family,
                given_norm=keys.given_norm,
                family_norm=keys.family_norm,
                given_key=keys.given_key,
                family_key=keys.family_key,
                dob_year=person.dob_year,
                from_date=start,
                to_date=end,
            )
        )
    return rows


def shown_names(rows: list[PersonName]) -> list[PersonName]:
    return [r for r in rows if r.kind != name_keys.PART_KIND]


def rebuild_name_parts(session: Session, person: Person) -> None:
    """The search-only rows for double-barrelled family names, recomputed from every name."""
    rows = queries.names_of(session, person.id)
    for row in rows:
        if row.kind == name_keys.PART_KIND:
            session.delete(row)
    session.flush()
    for row in shown_names(rows):
        parts = name_rows(person, row.kind, row.given_names, row.family_name, row.from_date, row.to_date)[1:]
        session.add_all(parts)
    session.flush()


# ---------------------------------------------------------------- identifiers


IDENTIFIER_LABELS: dict[str, str] = {
    IdentifierKind.PNC_ID: "PNC ID",
    IdentifierKind.DRIVING_LICENCE: "driving licence number",
    IdentifierKind.PASSPORT: "passport number",
    IdentifierKind.NI_NUMBER: "National Insurance number",
    IdentifierKind.CRO_NUMBER: "CRO number",
}


def identifier_conflict(session: Session, actor: Actor, force_id: str, kind: str, value: str) -> Conflict | None:
    """The clash with an identifier the force already holds, if any (see the module's decisions)."""
    holder = queries.identifier_holder(session, force_id, kind, value)
    if holder is None:
        return None
    extra: dict[str, Any] = {"kind": kind}
    if queries.visible_person(session, actor, holder.person_id) is not None:
        extra["person_id"] = holder.person_id
    return Conflict(
        f"the force already holds this {IDENTIFIER_LABELS.get(kind, kind)} on a person record",
        code="person.identifier_taken",
        problems=[FieldProblem("value", f"this {IDENTIFIER_LABELS.get(kind, kind)} is already recorded")],
        extra=extra,
    )


def insert_identifiers(session: Session, actor: Actor, rows: list[PersonIdentifier]) -> None:
    """Write identifiers checked free; when another request took one meanwhile (the unique
    constraint refuses it), the same Conflict as the check's."""
    if not rows:
        return
    written, _ = inserted(session, lambda: session.add_all(rows))
    if written:
        return
    for row in rows:
        conflict = identifier_conflict(session, actor, row.force_id, row.kind, row.value)
        if conflict is not None:
            raise conflict
    raise Conflict("the identifiers could not be saved; try again", code="person.identifier_taken", extra={})


# ---------------------------------------------------------------- warning markers and addresses


def marker_problems(marker: NewMarker, prefix: str) -> list[FieldProblem]:
    problems = []
    if marker.kind not in {k.value for k in MarkerKind}:
        problems.append(FieldProblem(f"{prefix}kind", f"use one of {', '.join(k.value for k in MarkerKind)}"))
    if not (marker.reason or "").strip():
        problems.append(FieldProblem(f"{prefix}reason", "say why the marker applies"))
    problems.extend(dates_problems(marker.from_date, marker.to_date, prefix))
    return problems


def marker_row(person: Person, marker: NewMarker, actor: Actor, clock: Clock, today: date) -> WarningMarker:
    return WarningMarker(
        id=clock.new_id(),
        force_id=person.force_id,
        person_id=person.id,
        kind=marker.kind,
        reason=marker.reason.strip(),
        from_date=marker.from_date or today,
        to_date=marker.to_date,
        created_at=clock.now(),
        created_by=actor.username,
    )


def address_problems(address: NewAddress, prefix: str) -> list[FieldProblem]:
    problems = []
    if address.kind not in ADDRESS_KINDS:
        problems.append(FieldProblem(f"{prefix}kind", f"use one of {', '.join(ADDRESS_KINDS)}"))
    if bool(address.location_id) == (address.location is not None):
        problems.append(FieldProblem(f"{prefix}location_id", "give an existing location or a new address (one)"))
    elif address.location is not None:
        found, _ = location_problems(address.location)
        problems += [FieldProblem(f"{prefix}location.{p.field}", p.message) for p in found]
    problems += dates_problems(address.from_date, address.to_date, prefix)
    return problems


def address_row(
    session: Session, actor: Actor, person: Person, address: NewAddress, location: Location | None, clock: Clock
) -> tuple[PersonAddress, Location]:
    if location is None:
        location = new_location(session, actor, address.location, clock)
    row = PersonAddress(
        force_id=person.force_id,
        person_id=person.id,
        location_id=location.id,
        kind=address.kind,
        from_date=address.from_date,
        to_date=address.to_date,
    )
    session.add(row)
    session.flush()
    return row, location


# ---------------------------------------------------------------- adding to a person


def writable_person(session: Session, actor: Actor, person_id: str) -> Person:
    require(actor, Action.PERSON_WRITE)
    force_of(actor)
    person = queries.visible_person(session, actor, person_id, for_update=True)
    if person is None:
        raise NotFound(f"no person {person_id!r}")
    return person


def audit_change(session: Session, actor: Actor, person: Person, clock: Clock, what: str, **detail) -> None:
    person.updated_at = clock.now()
    audit.append(
        session,
        actor,
        Audit(
            "person.update", record_type=RecordType.PERSON.value, record_id=person.id, detail={"what": what, **detail}
        ),
        clock,
    )


def add_alias(session: Session, actor: Actor, person_id: str, name: OtherName, clock: Clock) -> PersonName:
    """Add an alias, a previous name or a nickname (with the dates it was used), searchable at once."""
    person = writable_person(session, actor, person_id)
    problems = []
    if name.kind not in OTHER_NAME_KINDS:
        problems.append(FieldProblem("kind", f"use one of {', '.join(OTHER_NAME_KINDS)}"))
    problems += name_problems(name.given_names, name.family_name)
    problems += dates_problems(name.from_date, name.to_date, "")
    if problems:
        raise invalid(problems)
    rows = name_rows(person, name.kind, name.given_names, name.family_name, name.from_date, name.to_date)
    session.add_all(rows)
    session.flush()
    audit_change(session, actor, person, clock, "name", kind=name.kind)
    return rows[0]


def add_identifier(
    session: Session, actor: Actor, person_id: str, identifier: NewIdentifier, clock: Clock
) -> PersonIdentifier:
    """Add an identifier (normalised); unique within the force (``person.identifier_taken``)."""
    person = writable_person(session, actor, person_id)
    kind = (identifier.kind or "").strip().lower()
    problems = identifier_problems(kind, identifier.value)
    if problems:
        raise invalid(problems)
    value = normalise_identifier(kind, identifier.value)
    conflict = identifier_conflict(session, actor, person.force_id, kind, value)
    if conflict is not None:
        raise conflict
    row = PersonIdentifier(force_id=person.force_id, person_id=person.id, kind=kind, value=value)
    insert_identifiers(session, actor, [row])
    audit_change(session, actor, person, clock, "identifier", kind=kind)
    return row


def add_marker(session: Session, actor: Actor, person_id: str, marker: NewMarker, clock: Clock) -> WarningMarker:
    """Add a warning marker (kind, reason, from a date, to a date or open)."""
    person = writable_person(session, actor, person_id)
    problems = marker_problems(marker, "")
    if problems:
        raise invalid(problems)
    row = marker_row(person, marker, actor, clock, to_local(clock.now()).date())
    session.add(row)
    session.flush()
    audit_change(session, actor, person, clock, "marker", kind=row.kind, marker_id=row.id)
    return row


def end_marker(
    session: Session, actor: Actor, person_id: str, marker_id: str, clock: Clock, *, on: date | None = None
) -> WarningMarker:
    """End a warning marker (today, or on a given date not before it began)."""
    person = writable_person(session, actor, person_id)
    row = queries.marker(session, person.id, marker_id)
    if row is None:
        raise NotFound(f"no warning marker {marker_id!r}")
    today = to_local(clock.now()).date()
    if row.to_date is not None and row.to_date <= today:
        raise Conflict(f"the {row.kind} marker ended on {row.to_date:%d/%m/%Y}", code="person.marker_ended")
    end = on or today
    if end < row.from_date:
        raise invalid([FieldProblem("on", "a marker cannot end before it began")])
    row.to_date = end
    session.flush()
    audit_change(session, actor, person, clock, "marker_ended", kind=row.kind, marker_id=row.id)
    return row


def add_address(
    session: Session, actor: Actor, person_id: str, address: NewAddress, clock: Clock
) -> tuple[PersonAddress, Location]:
    """Add an address: an existing location the actor can see, or a new one; its kind and dates."""
    person = writable_person(session, actor, person_id)
    problems = address_problems(address, "")
    location = None
    if address.location_id and not problems:
        location = queries.visible_location(session, actor, address.location_id)
        if location is None:
            problems.append(FieldProblem("location_id", f"no location {address.location_id!r}"))
    if problems:
        raise invalid(problems)
    row, location = address_row(session, actor, person, address, location, clock)
    audit_change(session, actor, person, clock, "address", kind=row.kind, location_id=location.id)
    return row, location
