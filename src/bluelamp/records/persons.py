"""Persons (nominals): the shared person-creation API (a person with their names,
identifiers, warning markers and addresses: ``records/person_parts.py``) and correcting a
person's identity. Their fields are checked by ``records/person_fields.py``; reading a
person is ``records/person_reads.py``.

Decisions this module makes (issue 6):

- **Likely duplicates are shown before saving**: ``add_person`` asks search for likely
  matches and refuses with ``person.likely_duplicates`` (the matches in ``extra``) unless
  the caller confirms it is a new person (``confirm_new``).
- **Writes are audited without a reason** (the change is the reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.errors import CATALOGUE, Conflict, FieldProblem
from bluelamp.records import queries
from bluelamp.records.model import (
    Location,
    NameKind,
    Person,
    PersonAddress,
    PersonIdentifier,
    PersonName,
    RecordType,
    WarningMarker,
)
from bluelamp.records.person_fields import (
    OTHER_NAME_KINDS,
    clean_code,
    clean_gender,
    dates_problems,
    identifier_problems,
    identity_problems,
    name_problems,
    normalise_identifier,
)
from bluelamp.records.person_parts import (
    NewAddress,
    NewIdentifier,
    NewMarker,
    OtherName,
    address_problems,
    address_row,
    audit_change,
    identifier_conflict,
    insert_identifiers,
    marker_problems,
    marker_row,
    name_rows,
    rebuild_name_parts,
    shown_names,
    writable_person,
)
from bluelamp.records.pole import check_marking, default_review_date, force_of, format_dob, invalid

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    (
        "person.likely_duplicates",
        Conflict,
        "The person looks like someone already recorded (`matches`); check them, then send `confirm_new` to save.",
    ),
]:
    CATALOGUE.register(_code, _kind, _meaning)


# ---------------------------------------------------------------- commands and results


@dataclass(frozen=True)
class NewPerson:
    """Command: record a person (a nominal)."""

    given_names: str
    family_name: str
    dob_year: int | None = None
    dob_month: int | None = None
    dob_day: int | None = None
    birth_place: str | None = None
    gender: str | None = None
    self_defined_ethnicity: str | None = None
    officer_ethnicity: str | None = None
    description: dict[str, Any] = field(default_factory=dict)
    names: tuple[OtherName, ...] = ()
    identifiers: tuple[NewIdentifier, ...] = ()
    markers: tuple[NewMarker, ...] = ()
    addresses: tuple[NewAddress, ...] = ()
    marking: str | None = None
    retention_group: str = "3"
    review_at: date | None = None  # default: from the retention group (records/pole.py)
    check_duplicates: bool = True
    confirm_new: bool = False  # the caller saw the likely matches and this is someone else


@dataclass
class PersonSaved:
    """A person as written, with what was written with them."""

    person: Person
    names: list[PersonName]
    identifiers: list[PersonIdentifier]
    markers: list[WarningMarker]
    addresses: list[tuple[PersonAddress, Location]]


# ---------------------------------------------------------------- creating a person


def _match_out(hit: Any) -> dict[str, Any]:
    """A likely match (``search.PersonHit``) as the page shows it before saving: id, name,
    date of birth, score and why it matched."""
    return {
        "id": hit.person_id,
        "given_names": hit.given_names,
        "family_name": hit.family_name,
        "dob": format_dob(hit.dob_year, hit.dob_month, hit.dob_day) or None,
        "score": round(float(hit.score), 3),
        "explanation": [{"feature": text, "points": points} for text, points in hit.explanation],
    }


def add_person(session: Session, actor: Actor, command: NewPerson, clock: Clock) -> PersonSaved:
    """Record a person with their names, identifiers, warning markers and addresses.
    Refuses a clash of identifiers (``person.identifier_taken``) and, unless the caller
    confirms a new person, likely duplicates (``person.likely_duplicates``, matches in ``extra``)."""
    require(actor, Action.PERSON_WRITE)
    force_id = force_of(actor)
    now = clock.now()
    today = to_local(now).date()
    values = {
        "given_names": command.given_names or "",
        "family_name": command.family_name or "",
        "dob_year": command.dob_year,
        "dob_month": command.dob_month,
        "dob_day": command.dob_day,
        "birth_place": command.birth_place,
        "gender": clean_gender(command.gender),
        "self_defined_ethnicity": clean_code(command.self_defined_ethnicity),
        "officer_ethnicity": clean_code(command.officer_ethnicity),
        "description": command.description if command.description is not None else {},
        "retention_group": str(command.retention_group),
    }
    problems = identity_problems(values, today)
    for index, other in enumerate(command.names):
        prefix = f"names[{index}]."
        if other.kind not in OTHER_NAME_KINDS:
            problems.append(FieldProblem(f"{prefix}kind", f"use one of {', '.join(OTHER_NAME_KINDS)}"))
        problems += name_problems(other.given_names, other.family_name, prefix)
        problems += dates_problems(other.from_date, other.to_date, prefix)
    seen: set[tuple[str, str]] = set()
    for index, identifier in enumerate(command.identifiers):
        prefix = f"identifiers[{index}]."
        found = identifier_problems(identifier.kind, identifier.value, prefix)
        problems += found
        key = (identifier.kind, normalise_identifier(identifier.kind, identifier.value))
        if not found and key in seen:
            problems.append(FieldProblem(f"{prefix}value", "the same identifier is given twice"))
        seen.add(key)
    for index, marker in enumerate(command.markers):
        problems += marker_problems(marker, f"markers[{index}].")
    locations: list[Location | None] = []
    for index, address in enumerate(command.addresses):
        prefix = f"addresses[{index}]."
        problems += address_problems(address, prefix)
        location = None
        if address.location_id:
            location = queries.visible_location(session, actor, address.location_id)
            if location is None:
                problems.append(FieldProblem(f"{prefix}location_id", f"no location {address.location_id!r}"))
        locations.append(location)
    if problems:
        dob_fields = {"dob_year", "dob_month", "dob_day"}
        only_dob = all(p.field in dob_fields for p in problems)
        raise invalid(problems, "person.invalid_dob" if only_dob else "input.invalid")
    marking = check_marking(actor, command.marking)
    for kind, value in seen:
        conflict = identifier_conflict(session, actor, force_id, kind, value)
        if conflict is not None:
            raise conflict
    if command.check_duplicates and not command.confirm_new:
        _refuse_likely_duplicates(session, actor, command, clock)

    person = Person(
        id=clock.new_id(),
        force_id=force_id,
        marking=marking,
        need_to_know=False,
        given_names=" ".join(values["given_names"].split()),
        family_name=" ".join(values["family_name"].split()),
        dob_year=command.dob_year,
        dob_month=command.dob_month,
        dob_day=command.dob_day,
        birth_place=(command.birth_place or "").strip() or None,
        gender=values["gender"],
        self_defined_ethnicity=values["self_defined_ethnicity"],
        officer_ethnicity=values["officer_ethnicity"],
        description=dict(values["description"]),
        retention_group=values["retention_group"],
        review_at=command.review_at
        or default_review_date(values["retention_group"], today, command.dob_year, command.dob_month, command.dob_day),
        created_at=now,
        created_by=actor.username,
        updated_at=now,
    )
    session.add(person)
    session.flush()
    rows = name_rows(person, NameKind.PRIMARY.value, person.given_names, person.family_name)
    for other in command.names:
        rows += name_rows(person, other.kind, other.given_names, other.family_name, other.from_date, other.to_date)
    identifiers = [
        PersonIdentifier(force_id=force_id, person_id=person.id, kind=kind, value=value) for kind, value in sorted(seen)
    ]
    markers = [marker_row(person, m, actor, clock, today) for m in command.markers]
    session.add_all(rows + markers)
    session.flush()
    insert_identifiers(session, actor, identifiers)
    addresses = [
        address_row(session, actor, person, address, location, clock)
        for address, location in zip(command.addresses, locations, strict=True)
    ]
    audit.append(
        session,
        actor,
        Audit(
            "person.create",
            record_type=RecordType.PERSON.value,
            record_id=person.id,
            detail={
                "names": len(shown_names(rows)),
                "identifiers": sorted(i.kind for i in identifiers),
                "markers": sorted(m.kind for m in markers),
                "addresses": len(addresses),
                "confirmed_new": bool(command.confirm_new),
            },
        ),
        clock,
    )
    return PersonSaved(person, shown_names(rows), identifiers, markers, addresses)


def _refuse_likely_duplicates(session: Session, actor: Actor, command: NewPerson, clock: Clock) -> None:
    # Imported here: search reads persons and may use this module's helpers.
    from bluelamp.records import search

    matches = search.likely_matches(
        session,
        actor,
        command.given_names or "",
        command.family_name or "",
        command.dob_year,
        command.dob_month,
        command.dob_day,
        limit=5,
        clock=clock,
    )
    if matches:
        found = [_match_out(m) for m in matches]
        raise Conflict(
            f"{len(found)} likely match{'es' if len(found) != 1 else ''} already recorded: check them, "
            "then confirm this is a new person to save",
            code="person.likely_duplicates",
            extra={"matches": found},
        )


# ---------------------------------------------------------------- correcting a person


UPDATABLE = (
    "given_names",
    "family_name",
    "dob_year",
    "dob_month",
    "dob_day",
    "birth_place",
    "gender",
    "self_defined_ethnicity",
    "officer_ethnicity",
    "description",
    "marking",
    "retention_group",
    "review_at",
)


def update_person(session: Session, actor: Actor, person_id: str, changes: dict[str, Any], clock: Clock) -> Person:
    """Correct a person's identity: any of ``UPDATABLE`` (a field given as None is cleared).
    The primary name's search keys follow a change of name; the date of birth is checked
    whole (a new day against the month already held)."""
    person = writable_person(session, actor, person_id)
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise invalid([FieldProblem(name, "cannot be changed here") for name in unknown])
    changes = dict(changes)
    for name in ("self_defined_ethnicity", "officer_ethnicity"):
        if name in changes:
            changes[name] = clean_code(changes[name])
    if "gender" in changes:
        changes["gender"] = clean_gender(changes["gender"])
    merged = {name: getattr(person, name) for name in UPDATABLE} | changes
    problems = identity_problems(merged, to_local(clock.now()).date())
    if problems:
        only_dob = all(p.field.startswith("dob_") for p in problems)
        raise invalid(problems, "person.invalid_dob" if only_dob else "input.invalid")
    if "marking" in changes:
        changes["marking"] = check_marking(actor, changes["marking"])
    if "retention_group" in changes:
        changes["retention_group"] = str(changes["retention_group"] or "3")
    if "description" in changes and changes["description"] is None:
        changes["description"] = {}
    regrouped = changes.get("retention_group", person.retention_group) != person.retention_group
    if ("review_at" in changes and changes["review_at"] is None) or (regrouped and "review_at" not in changes):
        # Every person has a review date (MoPI): a new group, or a cleared date, takes the group's default.
        changes["review_at"] = default_review_date(
            str(merged["retention_group"] or "3"),
            to_local(clock.now()).date(),
            merged["dob_year"],
            merged["dob_month"],
            merged["dob_day"],
        )
    for name in ("given_names", "family_name"):
        if name in changes:
            changes[name] = " ".join((changes[name] or "").split())
    changed = sorted(name for name, value in changes.items() if getattr(person, name) != value)
    for name in changed:
        setattr(person, name, changes[name])
    if {"given_names", "family_name"} & set(changed):
        fresh = name_rows(person, NameKind.PRIMARY.value, person.given_names, person.family_name)[0]
        primary = queries.primary_name(session, person.id)
        if primary is None:
            session.add(fresh)
        else:  # in place: a merge's record of moved rows keeps pointing at it
            for column in ("given_names", "family_name", "given_norm", "family_norm", "given_key", "family_key"):
                setattr(primary, column, getattr(fresh, column))
        session.flush()
        rebuild_name_parts(session, person)
    if "dob_year" in changed:
        for row in queries.names_of(session, person.id):
            row.dob_year = person.dob_year
    if changed:
        audit_change(session, actor, person, clock, "identity", fields=changed)
    session.flush()
    return person
