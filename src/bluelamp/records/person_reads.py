"""Reading persons: one person, a person's profile, and the details the search page shows
beside the persons a name search found. Every read asks for a reason and is audited.

Decisions this module makes (issue 6):

- **Reading a person asks for a reason** and is audited; a disposed person (MoPI) answers
  like a missing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor, require_reason
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.errors import FieldProblem, NotFound
from bluelamp.records import queries
from bluelamp.records.model import (
    Event,
    Link,
    Location,
    Person,
    PersonAddress,
    PersonIdentifier,
    PersonName,
    RecordType,
    WarningMarker,
)
from bluelamp.records.person_fields import GENDERS, clean_gender
from bluelamp.records.person_parts import shown_names
from bluelamp.records.pole import (
    LinkView,
    RecordRef,
    force_of,
    format_dob,
    invalid,
    links_of,
    normalise_postcode,
    readable_event_kinds,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


# ---------------------------------------------------------------- a person and their profile


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
        names=shown_names(queries.names_of(session, person.id)),
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
    wanted_gender = clean_gender(gender)
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
