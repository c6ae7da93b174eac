"""The vehicle check: a full or partial VRM, with the persons linked as keeper, owner or
driver and the events the vehicle is linked to."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.errors import FieldProblem
from bluelamp.mobile.checks.common import (
    EVENTS_SHOWN,
    MATCHES_MOST,
    RECENT_MONTHS,
    VEHICLE_ROLES,
    VEHICLES,
    CheckReason,
    EventLine,
    LinkedPerson,
    Problem,
    VehicleCheck,
    VehicleMatch,
    about_persons,
    dob_text,
    event_line,
    months_ago,
    months_problems,
    reason_or_refusal,
    too_little,
)
from bluelamp.records import pole, search
from bluelamp.records import queries as records_queries

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


# ---------------------------------------------------------------- vehicle


@dataclass(frozen=True)
class VehicleCheckQuery:
    """A vehicle check: a VRM, full or partial (``*`` any characters, ``?`` one)."""

    vrm: str = ""
    months: int = RECENT_MONTHS  # for the linked persons' recent events (their flags need them)
    limit: int = VEHICLES


def _vehicle_problems(query: VehicleCheckQuery) -> list[Problem]:
    cleaned = re.sub(r"[^A-Z0-9*?]", "", (query.vrm or "").upper())
    characters = len(re.sub(r"[*?]", "", cleaned))
    if not cleaned:
        return [too_little("vrm", "give the registration (VRM)")]
    if not characters:
        return [too_little("vrm", "only wildcards would find every vehicle: give at least two letters or digits")]
    if characters < 2:
        return [too_little("vrm", "give at least two letters or digits of the registration")]
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
    problems = _vehicle_problems(query) + months_problems(query.months)
    if not 1 <= query.limit <= MATCHES_MOST:
        problems.append(Problem(FieldProblem("limit", f"from 1 to {MATCHES_MOST} vehicles"), "input.invalid"))
    stated = reason_or_refusal(problems, reason)
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
    about = about_persons(session, checked, list(seen), now, months_ago(now, query.months))
    people: dict[str, list[LinkedPerson]] = {i: [] for i in ids}
    for link in links:
        person = seen.get(link.from_id)
        if person is None:
            continue
        current = (link.to_date is None or link.to_date > today) and (link.from_date is None or link.from_date <= today)
        row = LinkedPerson(
            person.id, link.role, current, person.family_name, person.given_names, dob_text(person), about[person.id]
        )
        people[link.to_id].append(row)
    events: dict[str, list[EventLine]] = {i: [] for i in ids}
    more: dict[str, int] = {i: 0 for i in ids}
    for link, event in records_queries.events_linked_from(
        session, checked, "object", ids, pole.readable_event_kinds(checked), limit=50 * max(len(ids), 1)
    ):
        if len(events[link.from_id]) < EVENTS_SHOWN:
            events[link.from_id].append(event_line(link, event))
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
