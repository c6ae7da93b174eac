"""Persons (nominals): the shared person-creation API and a person's names, identifiers,
warning markers and addresses; the audited read and the profile.

Decisions this module makes (issue 6):

- **A date of birth may be partial**: year, month and day are each known or not (a day
  needs its month). What is known must be possible (a real date, 1 to 12 for a month, at
  most 130 years ago) and not in the future.
- **Likely duplicates are shown before saving**: ``add_person`` asks search for likely
  matches and refuses with ``person.likely_duplicates`` (the matches in ``extra``) unless
  the caller confirms it is a new person (``confirm_new``).
- **An identifier is unique within a force** (PNC ID, driving licence, passport, NI and
  CRO numbers, normalised first). A clash answers ``person.identifier_taken`` naming the
  kind; it names the person who holds it only when the actor may see that person, so a
  record above the actor's clearance (or on an access list) is not revealed beyond the
  fact that the force holds the identifier, which the uniqueness rule itself cannot hide.
- **Names are written with their search keys** (``records.names``): every name (primary,
  alias, previous, nickname) is a ``records_person_name`` row with its normalised forms,
  phonetic keys and the date-of-birth year, plus search-only rows for each part of a
  double-barrelled family name.
- **Reading a person asks for a reason** and is audited; a disposed person (MoPI) answers
  like a missing one. Writes are audited without a reason (the change is the reason).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor, require_reason
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.command.queries import inserted
from bluelamp.errors import CATALOGUE, Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.records import names as name_keys
from bluelamp.records import queries
from bluelamp.records.model import (
    Event,
    IdentifierKind,
    Link,
    Location,
    MarkerKind,
    NameKind,
    Person,
    PersonAddress,
    PersonIdentifier,
    PersonName,
    RecordType,
    WarningMarker,
)
from bluelamp.records.pole import (
    LinkView,
    NewLocation,
    RecordRef,
    check_marking,
    default_review_date,
    force_of,
    format_dob,
    invalid,
    links_of,
    location_problems,
    new_location,
    normalise_postcode,
    readable_event_kinds,
    retention_problems,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    (
        "person.invalid_dob",
        InvalidInput,
        "The date of birth is impossible or in the future (year, month and day may each be left unknown).",
    ),
    (
        "person.identifier_taken",
        Conflict,
        "The force already holds that identifier (`kind`); `person_id` names its holder when you may see them.",
    ),
    (
        "person.likely_duplicates",
        Conflict,
        "The person looks like someone already recorded (`matches`); check them, then send `confirm_new` to save.",
    ),
    ("person.marker_ended", Conflict, "The warning marker has already ended."),
]:
    CATALOGUE.register(_code, _kind, _meaning)

GENDERS = ("female", "male", "other", "unknown")
ADDRESS_KINDS = ("home", "previous", "work", "care_of")
OTHER_NAME_KINDS = (NameKind.ALIAS.value, NameKind.PREVIOUS.value, NameKind.NICKNAME.value)
OLDEST_YEARS = 130  # nobody recorded was born longer ago than this

# Self-defined ethnicity: the 18+1 codes police record (the census categories, and NS for
# "not stated"); W4 (Roma) was added with the 2021 census.
SELF_DEFINED_ETHNICITY: dict[str, str] = {
    "A1": "Asian or Asian British: Indian",
    "A2": "Asian or Asian British: Pakistani",
    "A3": "Asian or Asian British: Bangladeshi",
    "A4": "Asian or Asian British: Chinese",
    "A9": "Asian or Asian British: any other Asian background",
    "B1": "Black or Black British: Caribbean",
    "B2": "Black or Black British: African",
    "B9": "Black or Black British: any other Black background",
    "M1": "Mixed: White and Black Caribbean",
    "M2": "Mixed: White and Black African",
    "M3": "Mixed: White and Asian",
    "M9": "Mixed: any other Mixed background",
    "O1": "Other ethnic group: Arab",
    "O9": "Other ethnic group: any other ethnic group",
    "W1": "White: English, Welsh, Scottish, Northern Irish or British",
    "W2": "White: Irish",
    "W3": "White: Gypsy or Irish Traveller",
    "W4": "White: Roma",
    "W9": "White: any other White background",
    "NS": "Not stated",
}
# The officer-defined (IC) codes: what the officer perceives, recorded beside self-definition.
OFFICER_ETHNICITY: dict[str, str] = {
    "IC1": "White: North European",
    "IC2": "White: South European",
    "IC3": "Black",
    "IC4": "Asian",
    "IC5": "Chinese, Japanese or other South East Asian",
    "IC6": "Arab or North African",
    "IC9": "Unknown",
}

# Identifier formats, after normalising (upper case, no spaces).
IDENTIFIER_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    IdentifierKind.PNC_ID: (re.compile(r"^[0-9]{2}/[0-9]{1,7}[A-Z]$"), "a PNC ID is like 99/123456A"),
    IdentifierKind.CRO_NUMBER: (re.compile(r"^[0-9]{1,6}/[0-9]{2}[A-Z]$"), "a CRO number is like 123456/99A"),
    IdentifierKind.DRIVING_LICENCE: (
        re.compile(r"^([A-Z9]{5}[0-9]{6}[A-Z9]{2}[0-9][A-Z0-9]{2}|[0-9]{8})$"),
        "a GB driving licence number has 16 characters (e.g. MORGA753116SM9IJ); Northern Ireland's 8 digits",
    ),
    IdentifierKind.PASSPORT: (re.compile(r"^[A-Z0-9]{6,9}$"), "a passport number has 6 to 9 letters and digits"),
    IdentifierKind.NI_NUMBER: (
        re.compile(r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$"),
        "a National Insurance number is like AB123456C",
    ),
}


# ---------------------------------------------------------------- commands and results


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


@dataclass
class TimelineEntry:
    """An event a person is linked to, and how."""

    event: Event
    role: str
    link: Link


@dataclass
class Profile:
    """Everything about a person, warning markers first (current, then past)."""

    person: Person
    current_markers: list[WarningMarker]
    past_markers: list[WarningMarker]
    names: list[PersonName]  # the primary name first; no search-only rows
    identifiers: list[PersonIdentifier]
    addresses: list[tuple[PersonAddress, Location]]
    links: list[LinkView]
    timeline: list[TimelineEntry]  # newest first

    @property
    def dob(self) -> str:
        return format_dob(self.person.dob_year, self.person.dob_month, self.person.dob_day)


# ---------------------------------------------------------------- checks


def dob_problems(year: int | None, month: int | None, day: int | None, today: date) -> list[FieldProblem]:
    """What is wrong with a full or partial date of birth (empty when it is possible)."""
    problems: list[FieldProblem] = []
    if year is not None and not today.year - OLDEST_YEARS <= year <= today.year:
        word = "in the future" if year > today.year else f"more than {OLDEST_YEARS} years ago"
        problems.append(FieldProblem("dob_year", f"{year} is {word}"))
    if month is not None and not 1 <= month <= 12:
        problems.append(FieldProblem("dob_month", "a month is 1 to 12"))
    if day is not None:
        if month is None:
            problems.append(FieldProblem("dob_day", "a day of birth needs its month"))
        elif 1 <= month <= 12:
            # Without a year, 29 February is possible.
            longest = calendar.monthrange(year if year is not None else 2000, month)[1]
            if not 1 <= day <= longest:
                problems.append(FieldProblem("dob_day", f"{calendar.month_name[month]} has {longest} days"))
    if problems or year is None:
        return problems
    if month is not None and (year, month) > (today.year, today.month):
        problems.append(FieldProblem("dob_month", "the date of birth is in the future"))
    elif month is not None and day is not None and date(year, month, day) > today:
        problems.append(FieldProblem("dob_day", "the date of birth is in the future"))
    return problems


_DOB_FORMS = (
    re.compile(r"^(?P<y>[0-9]{4})(-(?P<m>[0-9]{1,2})(-(?P<d>[0-9]{1,2}))?)?$"),  # 1985-03-12, 1985-03, 1985
    re.compile(r"^((?P<d>[0-9]{1,2})/)?(?P<m>[0-9]{1,2})/(?P<y>[0-9]{4})$"),  # 12/03/1985, 03/1985
)


def parse_dob(text: str | None) -> tuple[int | None, int | None, int | None]:
    """A typed date of birth, full or partial (1985-03-12, 1985-03, 1985, 12/03/1985,
    03/1985), as (year, month, day); blank is all unknown. Checked by ``dob_problems``."""
    value = (text or "").strip()
    if not value:
        return None, None, None
    for form in _DOB_FORMS:
        match = form.match(value)
        if match:
            parts = match.groupdict()
            return tuple(int(parts[k]) if parts.get(k) else None for k in ("y", "m", "d"))  # type: ignore[return-value]
    raise InvalidInput(
        f"{value!r} is not a date of birth: use 1985-03-12, 1985-03, 1985 or 12/03/1985",
        code="person.invalid_dob",
        problems=[FieldProblem("dob", "use 1985-03-12, 1985-03, 1985 or 12/03/1985")],
    )


def _name_problems(given: str, family: str, prefix: str = "") -> list[FieldProblem]:
    problems = []
    if not (given or "").strip() and not (family or "").strip():
        problems.append(FieldProblem(f"{prefix}family_name", "give a family name or a given name"))
    for name, value in (("given_names", given), ("family_name", family)):
        if len((value or "").strip()) > 200:
            problems.append(FieldProblem(f"{prefix}{name}", "at most 200 characters"))
    return problems


def _dates_problems(start: date | None, end: date | None, prefix: str) -> list[FieldProblem]:
    if start and end and end < start:
        return [FieldProblem(f"{prefix}to_date", "ends before it starts")]
    return []


def normalise_identifier(kind: str, value: str) -> str:
    """An identifier as stored and compared: upper case, spaces and dashes gone; a PNC ID's
    year as two digits and its number without leading zeros (2001/0012345X is 01/12345X)."""
    text = re.sub(r"[\s\-]+", "", value or "").upper()
    if kind == IdentifierKind.PNC_ID:
        match = re.fullmatch(r"([0-9]{2}|[0-9]{4})/0*([0-9]{1,7})([A-Z])", text)
        if match:
            return f"{match.group(1)[-2:]}/{match.group(2)}{match.group(3)}"
    return text


def identifier_problems(kind: str, value: str, prefix: str = "") -> list[FieldProblem]:
    if kind not in {k.value for k in IdentifierKind}:
        return [FieldProblem(f"{prefix}kind", f"use one of {', '.join(k.value for k in IdentifierKind)}")]
    pattern, hint = IDENTIFIER_FORMATS[kind]
    if not pattern.match(normalise_identifier(kind, value)):
        return [FieldProblem(f"{prefix}value", hint)]
    return []


def _marker_problems(marker: NewMarker, prefix: str) -> list[FieldProblem]:
    problems = []
    if marker.kind not in {k.value for k in MarkerKind}:
        problems.append(FieldProblem(f"{prefix}kind", f"use one of {', '.join(k.value for k in MarkerKind)}"))
    if not (marker.reason or "").strip():
        problems.append(FieldProblem(f"{prefix}reason", "say why the marker applies"))
    problems.extend(_dates_problems(marker.from_date, marker.to_date, prefix))
    return problems


def _description_problems(description: Any) -> list[FieldProblem]:
    if not isinstance(description, dict):
        return [FieldProblem("description", "a description is a set of named features (height, build, hair...)")]
    problems = []
    if len(description) > 40:
        problems.append(FieldProblem("description", "at most 40 features"))
    for key, value in description.items():
        if not isinstance(key, str) or not key.strip() or len(key) > 40:
            problems.append(FieldProblem("description", f"feature names are words of up to 40 characters: {key!r}"))
        elif value is not None and not isinstance(value, str | int | float):
            problems.append(FieldProblem(f"description.{key}", "a feature is text or a number"))
        elif isinstance(value, str) and len(value) > 500:
            problems.append(FieldProblem(f"description.{key}", "at most 500 characters"))
    return problems


def identity_problems(values: dict[str, Any], today: date) -> list[FieldProblem]:
    """Problems with a person's identity fields (any subset of NewPerson's)."""
    problems: list[FieldProblem] = []
    if "given_names" in values or "family_name" in values:
        problems += _name_problems(values.get("given_names", ""), values.get("family_name", ""))
    problems += dob_problems(values.get("dob_year"), values.get("dob_month"), values.get("dob_day"), today)
    gender = values.get("gender")
    if gender is not None and gender not in GENDERS:
        problems.append(FieldProblem("gender", f"use one of {', '.join(GENDERS)}"))
    code = values.get("self_defined_ethnicity")
    if code is not None and code not in SELF_DEFINED_ETHNICITY:
        problems.append(
            FieldProblem("self_defined_ethnicity", "use an 18+1 code (A1-A9, B1-B9, M1-M9, O1, O9, W1-W9, NS)")
        )
    code = values.get("officer_ethnicity")
    if code is not None and code not in OFFICER_ETHNICITY:
        problems.append(FieldProblem("officer_ethnicity", "use an IC code: IC1 to IC6, or IC9 for unknown"))
    if "description" in values:
        problems += _description_problems(values["description"] if values["description"] is not None else {})
    if values.get("birth_place") and len(values["birth_place"]) > 200:
        problems.append(FieldProblem("birth_place", "at most 200 characters"))
    problems += retention_problems(values.get("retention_group"))
    return problems


def _clean_code(value: str | None) -> str | None:
    return value.strip().upper() or None if isinstance(value, str) else value


def _clean_gender(value: str | None) -> str | None:
    return value.strip().lower() or None if isinstance(value, str) else value


# ---------------------------------------------------------------- writing names


def _name_rows(person: Person, kind: str, given: str, family: str, start=None, end=None) -> list[PersonName]:
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


def _shown(rows: list[PersonName]) -> list[PersonName]:
    return [r for r in rows if r.kind != name_keys.PART_KIND]


# ---------------------------------------------------------------- creating a person


IDENTIFIER_LABELS: dict[str, str] = {
    IdentifierKind.PNC_ID: "PNC ID",
    IdentifierKind.DRIVING_LICENCE: "driving licence number",
    IdentifierKind.PASSPORT: "passport number",
    IdentifierKind.NI_NUMBER: "National Insurance number",
    IdentifierKind.CRO_NUMBER: "CRO number",
}


def _identifier_conflict(session: Session, actor: Actor, force_id: str, kind: str, value: str) -> Conflict | None:
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


def _insert_identifiers(session: Session, actor: Actor, rows: list[PersonIdentifier]) -> None:
    """Write identifiers checked free; when another request took one meanwhile (the unique
    constraint refuses it), the same Conflict as the check's."""
    if not rows:
        return
    written, _ = inserted(session, lambda: session.add_all(rows))
    if written:
        return
    for row in rows:
        conflict = _identifier_conflict(session, actor, row.force_id, row.kind, row.value)
        if conflict is not None:
            raise conflict
    raise Conflict("the identifiers could not be saved; try again", code="person.identifier_taken", extra={})


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
        "gender": _clean_gender(command.gender),
        "self_defined_ethnicity": _clean_code(command.self_defined_ethnicity),
        "officer_ethnicity": _clean_code(command.officer_ethnicity),
        "description": command.description if command.description is not None else {},
        "retention_group": str(command.retention_group),
    }
    problems = identity_problems(values, today)
    for index, other in enumerate(command.names):
        prefix = f"names[{index}]."
        if other.kind not in OTHER_NAME_KINDS:
            problems.append(FieldProblem(f"{prefix}kind", f"use one of {', '.join(OTHER_NAME_KINDS)}"))
        problems += _name_problems(other.given_names, other.family_name, prefix)
        problems += _dates_problems(other.from_date, other.to_date, prefix)
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
        problems += _marker_problems(marker, f"markers[{index}].")
    locations: list[Location | None] = []
    for index, address in enumerate(command.addresses):
        prefix = f"addresses[{index}]."
        problems += _address_problems(address, prefix)
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
        conflict = _identifier_conflict(session, actor, force_id, kind, value)
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
    rows = _name_rows(person, NameKind.PRIMARY.value, person.given_names, person.family_name)
    for other in command.names:
        rows += _name_rows(person, other.kind, other.given_names, other.family_name, other.from_date, other.to_date)
    identifiers = [
        PersonIdentifier(force_id=force_id, person_id=person.id, kind=kind, value=value) for kind, value in sorted(seen)
    ]
    markers = [_marker_row(person, m, actor, clock, today) for m in command.markers]
    session.add_all(rows + markers)
    session.flush()
    _insert_identifiers(session, actor, identifiers)
    addresses = [
        _address_row(session, actor, person, address, location, clock)
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
                "names": len(_shown(rows)),
                "identifiers": sorted(i.kind for i in identifiers),
                "markers": sorted(m.kind for m in markers),
                "addresses": len(addresses),
                "confirmed_new": bool(command.confirm_new),
            },
        ),
        clock,
    )
    return PersonSaved(person, _shown(rows), identifiers, markers, addresses)


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


def _address_problems(address: NewAddress, prefix: str) -> list[FieldProblem]:
    problems = []
    if address.kind not in ADDRESS_KINDS:
        problems.append(FieldProblem(f"{prefix}kind", f"use one of {', '.join(ADDRESS_KINDS)}"))
    if bool(address.location_id) == (address.location is not None):
        problems.append(FieldProblem(f"{prefix}location_id", "give an existing location or a new address (one)"))
    elif address.location is not None:
        found, _ = location_problems(address.location)
        problems += [FieldProblem(f"{prefix}location.{p.field}", p.message) for p in found]
    problems += _dates_problems(address.from_date, address.to_date, prefix)
    return problems


def _address_row(
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


def _marker_row(person: Person, marker: NewMarker, actor: Actor, clock: Clock, today: date) -> WarningMarker:
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


# ---------------------------------------------------------------- changing a person


def _writable(session: Session, actor: Actor, person_id: str) -> Person:
    require(actor, Action.PERSON_WRITE)
    force_of(actor)
    person = queries.visible_person(session, actor, person_id, for_update=True)
    if person is None:
        raise NotFound(f"no person {person_id!r}")
    return person


def _audit_change(session: Session, actor: Actor, person: Person, clock: Clock, what: str, **detail) -> None:
    person.updated_at = clock.now()
    audit.append(
        session,
        actor,
        Audit(
            "person.update", record_type=RecordType.PERSON.value, record_id=person.id, detail={"what": what, **detail}
        ),
        clock,
    )


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
    person = _writable(session, actor, person_id)
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise invalid([FieldProblem(name, "cannot be changed here") for name in unknown])
    changes = dict(changes)
    for name in ("self_defined_ethnicity", "officer_ethnicity"):
        if name in changes:
            changes[name] = _clean_code(changes[name])
    if "gender" in changes:
        changes["gender"] = _clean_gender(changes["gender"])
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
        fresh = _name_rows(person, NameKind.PRIMARY.value, person.given_names, person.family_name)[0]
        primary = queries.primary_name(session, person.id)
        if primary is None:
            session.add(fresh)
        else:  # in place: a merge's record of moved rows keeps pointing at it
            for column in ("given_names", "family_name", "given_norm", "family_norm", "given_key", "family_key"):
                setattr(primary, column, getattr(fresh, column))
        session.flush()
        _rebuild_parts(session, person)
    if "dob_year" in changed:
        for row in queries.names_of(session, person.id):
            row.dob_year = person.dob_year
    if changed:
        _audit_change(session, actor, person, clock, "identity", fields=changed)
    session.flush()
    return person


def _rebuild_parts(session: Session, person: Person) -> None:
    """The search-only rows for double-barrelled family names, recomputed from every name."""
    rows = queries.names_of(session, person.id)
    for row in rows:
        if row.kind == name_keys.PART_KIND:
            session.delete(row)
    session.flush()
    for row in _shown(rows):
        parts = _name_rows(person, row.kind, row.given_names, row.family_name, row.from_date, row.to_date)[1:]
        session.add_all(parts)
    session.flush()


def add_alias(session: Session, actor: Actor, person_id: str, name: OtherName, clock: Clock) -> PersonName:
    """Add an alias, a previous name or a nickname (with the dates it was used), searchable at once."""
    person = _writable(session, actor, person_id)
    problems = []
    if name.kind not in OTHER_NAME_KINDS:
        problems.append(FieldProblem("kind", f"use one of {', '.join(OTHER_NAME_KINDS)}"))
    problems += _name_problems(name.given_names, name.family_name)
    problems += _dates_problems(name.from_date, name.to_date, "")
    if problems:
        raise invalid(problems)
    rows = _name_rows(person, name.kind, name.given_names, name.family_name, name.from_date, name.to_date)
    session.add_all(rows)
    session.flush()
    _audit_change(session, actor, person, clock, "name", kind=name.kind)
    return rows[0]


def add_identifier(
    session: Session, actor: Actor, person_id: str, identifier: NewIdentifier, clock: Clock
) -> PersonIdentifier:
    """Add an identifier (normalised); unique within the force (``person.identifier_taken``)."""
    person = _writable(session, actor, person_id)
    kind = (identifier.kind or "").strip().lower()
    problems = identifier_problems(kind, identifier.value)
    if problems:
        raise invalid(problems)
    value = normalise_identifier(kind, identifier.value)
    conflict = _identifier_conflict(session, actor, person.force_id, kind, value)
    if conflict is not None:
        raise conflict
    row = PersonIdentifier(force_id=person.force_id, person_id=person.id, kind=kind, value=value)
    _insert_identifiers(session, actor, [row])
    _audit_change(session, actor, person, clock, "identifier", kind=kind)
    return row


def add_marker(session: Session, actor: Actor, person_id: str, marker: NewMarker, clock: Clock) -> WarningMarker:
    """Add a warning marker (kind, reason, from a date, to a date or open)."""
    person = _writable(session, actor, person_id)
    problems = _marker_problems(marker, "")
    if problems:
        raise invalid(problems)
    row = _marker_row(person, marker, actor, clock, to_local(clock.now()).date())
    session.add(row)
    session.flush()
    _audit_change(session, actor, person, clock, "marker", kind=row.kind, marker_id=row.id)
    return row


def end_marker(
    session: Session, actor: Actor, person_id: str, marker_id: str, clock: Clock, *, on: date | None = None
) -> WarningMarker:
    """End a warning marker (today, or on a given date not before it began)."""
    person = _writable(session, actor, person_id)
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
    _audit_change(session, actor, person, clock, "marker_ended", kind=row.kind, marker_id=row.id)
    return row


def add_address(
    session: Session, actor: Actor, person_id: str, address: NewAddress, clock: Clock
) -> tuple[PersonAddress, Location]:
    """Add an address: an existing location the actor can see, or a new one; its kind and dates."""
    person = _writable(session, actor, person_id)
    problems = _address_problems(address, "")
    location = None
    if address.location_id and not problems:
        location = queries.visible_location(session, actor, address.location_id)
        if location is None:
            problems.append(FieldProblem("location_id", f"no location {address.location_id!r}"))
    if problems:
        raise invalid(problems)
    row, location = _address_row(session, actor, person, address, location, clock)
    _audit_change(session, actor, person, clock, "address", kind=row.kind, location_id=location.id)
    return row, location


# ---------------------------------------------------------------- reading a person


def _readable(session: Session, actor: Actor, person_id: str) -> tuple[Person, str]:
    require(actor, Action.PERSON_READ)
    force_of(actor)
    person = queries.visible_person(session, actor, person_id)
    if person is None:
        raise NotFound(f"no person {person_id!r}")
    return person, require_reason(actor)


def _audit_read(session: Session, actor: Actor, person: Person, reason: str, view: str, clock: Clock) -> None:
    audit.append(
        session,
        actor,
        Audit("person.read", record_type="person", record_id=person.id, detail={"view": view}, reason=reason),
        clock,
    )


def get_person(session: Session, actor: Actor, person_id: str, clock: Clock) -> Person:
    """One person the actor may see (a disposed one, or one of another force, answers like
    a missing one); asks for a reason; audited."""
    person, reason = _readable(session, actor, person_id)
    _audit_read(session, actor, person, reason, "summary", clock)
    return person


def person_profile(session: Session, actor: Actor, person_id: str, clock: Clock) -> Profile:
    """A person's profile: current warning markers first, then identity, names,
    identifiers, addresses, links and a timeline of linked events (newest first).
    Only records the actor may see appear. Asks for a reason; audited."""
    person, reason = _readable(session, actor, person_id)
    today = to_local(clock.now()).date()
    markers = queries.markers_of(session, person.id)
    current = [m for m in markers if m.from_date <= today and (m.to_date is None or m.to_date > today)]
    this = RecordRef(RecordType.PERSON.value, person.id)
    timeline = [
        TimelineEntry(event, link.role, link)
        for link, event in queries.events_linked_to(session, actor, "person", person.id, readable_event_kinds(actor))
    ]
    timeline.sort(key=lambda t: (t.event.occurred_from or t.event.reported_at, t.event.reference), reverse=True)
    profile = Profile(
        person=person,
        current_markers=current,
        past_markers=[m for m in markers if m not in current],
        names=_shown(queries.names_of(session, person.id)),
        identifiers=queries.identifiers_of(session, person.id),
        addresses=queries.addresses_of(session, actor, person.id),
        links=links_of(session, actor, this),
        timeline=timeline,
    )
    _audit_read(session, actor, person, reason, "profile", clock)
    return profile


# ---------------------------------------------------------------- beside a search's results

_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")


@dataclass
class FoundDetails:
    """What the search page shows beside the persons a name search found."""

    kept: list[str]  # the persons of the gender and postcode asked for (all when none), in the order given
    markers: dict[str, list[WarningMarker]]  # the warning markers in force today of each kept person


def found_details(
    session: Session,
    actor: Actor,
    person_ids: list[str],
    clock: Clock,
    *,
    gender: str | None = None,
    postcode: str | None = None,
) -> FoundDetails:
    """For the persons a search found: those of the ``gender`` given and with an address (at
    any time) at the ``postcode`` given (a full one, "ST16 2DH", or its district, "ST16"),
    in the order given, each with their warning markers in force today: officers must see
    the markers on every check. Only persons and addresses the actor may see count. Asks for
    a reason; audited (``person.search_details``)."""
    require(actor, Action.PERSON_SEARCH)
    reason = require_reason(actor)
    force_of(actor)
    problems = []
    wanted_gender = _clean_gender(gender)
    if wanted_gender and wanted_gender not in GENDERS:
        problems.append(FieldProblem("gender", f"use one of {', '.join(GENDERS)}"))
    compact = re.sub(r"\s+", "", postcode or "").upper()
    full = outward = None
    if compact:
        full = normalise_postcode(compact)
        if full is None and _OUTWARD.match(compact):
            outward = compact
        elif full is None:
            problems.append(FieldProblem("postcode", "give a full postcode (ST16 2DH) or its first part (ST16)"))
    if problems:
        raise invalid(problems)
    ids = list(dict.fromkeys(person_ids))[:500]
    seen = queries.visible_ids(session, actor, "person", ids, [])
    kept = [pid for pid in ids if pid in seen]
    if wanted_gender:
        kept = [pid for pid in kept if seen[pid].gender == wanted_gender]
    if full or outward:
        at = queries.persons_with_postcode(
            session, actor, kept, (full or outward or "").replace(" ", ""), outward_only=outward is not None
        )
        kept = [pid for pid in kept if pid in at]
    markers: dict[str, list[WarningMarker]] = {pid: [] for pid in kept}
    for row in queries.current_markers_of(session, kept, to_local(clock.now()).date()):
        markers[row.person_id].append(row)
    criteria = {k: v for k, v in (("gender", wanted_gender), ("postcode", full or outward)) if v}
    audit.append(
        session,
        actor,
        Audit(
            "person.search_details",
            detail={
                "criteria": criteria,
                "of": len(ids),
                "kept": len(kept),
                "with_markers": sum(1 for found in markers.values() if found),
            },
            reason=reason,
        ),
        clock,
    )
    return FoundDetails(kept, markers)
