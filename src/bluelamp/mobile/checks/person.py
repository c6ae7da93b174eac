"""The person check (by name and date of birth, or a record id) and the compact person
card a match opens."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.errors import FieldProblem, InvalidInput
from bluelamp.mobile.checks.common import (
    EVENTS_SHOWN,
    MATCHES,
    MATCHES_MOST,
    RECENT_MONTHS,
    About,
    CheckReason,
    PersonCard,
    PersonCheck,
    PersonMatch,
    Problem,
    about_persons,
    dob_text,
    event_line,
    event_time,
    letter_count,
    marker_views,
    months_ago,
    months_problems,
    only_wildcards,
    reason_or_refusal,
    still_missing,
    too_little,
)
from bluelamp.records import person_fields, person_reads, pole, search
from bluelamp.records import queries as records_queries
from bluelamp.records.model import IdentifierKind, LinkRole, ObjectKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.records.model import Person


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


def _person_input(query: PersonCheckQuery, today: date) -> tuple[str, str, tuple, list[Problem]]:
    """(given names, family name, (year, month, day), problems) of a name check."""
    problems: list[Problem] = []
    given, family, name_field = query.given_names or "", query.family_name or "", "family_name"
    if not (given.strip() or family.strip()) and (query.name or "").strip():
        given, family = _split_name(query.name)
        name_field = "name"
    dob = (None, None, None)
    if (query.dob or "").strip():
        try:
            dob = person_fields.parse_dob(query.dob)
        except InvalidInput as error:
            problems.append(Problem(FieldProblem("dob", error.problems[0].message), "person.invalid_dob"))
        else:
            for problem in person_fields.dob_problems(*dob, today):
                problems.append(Problem(FieldProblem("dob", problem.message), "person.invalid_dob"))
    if not family.strip() and not given.strip():
        if any(dob):
            message = "give the family name as well as the date of birth"
        else:
            message = "give a family name and a date of birth, or a record id"
        problems.insert(0, too_little(name_field, message))
    elif only_wildcards(family) or (not family.strip() and only_wildcards(given)):
        problems.insert(0, too_little(name_field, "only wildcards would find everyone: give at least two letters"))
    elif letter_count(family) < 2:
        message = "give the family name too" if not family.strip() else "give at least two letters of the family name"
        problems.insert(0, too_little(name_field, message))
    if letter_count(given) == 0 and given.strip() and not only_wildcards(given):
        problems.append(too_little("given_names", "a given name is letters"))
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
    problems = months_problems(query.months)
    if not 1 <= query.limit <= MATCHES_MOST:
        problems.append(Problem(FieldProblem("limit", f"from 1 to {MATCHES_MOST} matches"), "input.invalid"))
    if by_id:
        if len(query.record_id.strip()) < 3:
            problems.insert(0, too_little("record_id", "give the whole record id or PNC ID"))
    else:
        given, family, dob, more = _person_input(query, today)
        problems = more + problems
    stated = reason_or_refusal(problems, reason)
    checked = replace(actor, reason=stated)
    since = months_ago(now, query.months)
    truncated = False
    if by_id:
        person = _person_by_record_id(session, checked, query.record_id)
        found = [person] if person is not None else []
        hits = [(p.id, p.family_name, p.given_names, dob_text(p), p.gender, None, "") for p in found]
    else:
        person_query = search.PersonQuery(
            given_names=given, family_name=family, dob_year=dob[0], dob_month=dob[1], dob_day=dob[2]
        )
        results = search.find_persons(session, checked, person_query, clock, limit=query.limit)
        truncated = results.truncated
        hits = [
            (h.person_id, h.family_name, h.given_names, h.dob, h.gender, h.score, _found_by(h)) for h in results.hits
        ]
    about = about_persons(session, checked, [h[0] for h in hits], now, since)
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
    stated = reason_or_refusal(months_problems(months), reason)
    checked = replace(actor, reason=stated)
    now = clock.now()
    today = to_local(now).date()
    since = months_ago(now, months)
    profile = person_reads.person_profile(session, checked, person_id, clock)
    person = profile.person
    about = About()
    about.flags, about.markers = marker_views(profile.current_markers)
    for entry in profile.timeline:
        flag = still_missing(entry.link, entry.event)
        if flag is not None:
            about.flags.append(flag)
        if event_time(entry.event) >= since:
            if len(about.events) < EVENTS_SHOWN:
                about.events.append(event_line(entry.link, entry.event))
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
        dob=dob_text(person),
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
