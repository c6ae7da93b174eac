"""Factories that write real command-and-control rows: a force's command settings,
incidents through the intake service, and units sent to an incident (assignment rows
written directly: test set-up for the rules, which must not depend on dispatch)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime

from bluelamp.access.model import Force
from bluelamp.access.policy import Actor, Marking, Role
from bluelamp.clock import Clock, FixedClock
from bluelamp.command import service
from bluelamp.command.commands import CallerDetails, NewIncident, Thrive
from bluelamp.command.model import Assignment, Incident, IncidentStatus
from bluelamp.storage import Database
from tests.factories.access import ensure_force
from tests.factories.tracking import make_unit

_numbers = itertools.count(1)

# A winter Thursday morning (GMT), so that local time and UTC agree unless a test says otherwise.
MORNING = datetime(2026, 1, 8, 9, 0, tzinfo=UTC)
STAFFORD = (52.806, -2.117)  # in the force area and in the urban area below
LEEK_MOORS = (53.17, -1.95)  # in the force area, rural
MANCHESTER = (53.48, -2.24)  # outside the force area

THRIVE = Thrive(
    threat="man with a bottle threatening door staff",
    harm="risk of serious injury",
    risk="high: ongoing",
    investigation="CCTV at the bar",
    vulnerability="none known",
    engagement="caller staying on the line",
)

# Staffordshire, roughly, and Stafford town as its urban area (GeoJSON is lon, lat).
FORCE_AREA = {
    "name": "Staffordshire",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[-2.5, 52.4], [-1.6, 52.4], [-1.6, 53.3], [-2.5, 53.3], [-2.5, 52.4]]],
    },
}
STAFFORD_TOWN = {
    "name": "Stafford",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[-2.16, 52.78], [-2.08, 52.78], [-2.08, 52.83], [-2.16, 52.83], [-2.16, 52.78]]],
    },
}


def configure_force(db: Database, force_id: str = "staffordshire", **command) -> None:
    """Set a force's command settings (areas, windows, appointments...) on its row."""
    ensure_force(db, force_id)
    with db.unit_of_work() as session:
        force = session.get(Force, force_id)
        settings = dict(force.settings or {})
        settings["command"] = {**settings.get("command", {}), **command}
        force.settings = settings


def staffordshire(db: Database, **command) -> None:
    """Staffordshire with its force area and Stafford as the urban area."""
    configure_force(db, "staffordshire", force_area=FORCE_AREA, urban_areas=[STAFFORD_TOWN], **command)


def person(role: str = "call_handler", name: str | None = None, force_id: str = "staffordshire", **kwargs) -> Actor:
    """Someone in the control room with one role (roles: access.policy.Role)."""
    name = name or f"{role.replace('_', '-')}-{next(_numbers)}"
    return Actor(
        user_id=f"u-{name}",
        username=name,
        force_id=force_id,
        roles=frozenset({Role(role)}),
        clearance=Marking(kwargs.pop("clearance", "OFFICIAL")),
        **kwargs,
    )


def new_call(**changes) -> NewIncident:
    """A 999 call about an assault in Stafford, graded 2, with THRIVE and a caller who left a number."""
    call = NewIncident(
        source="999",
        category="assault",
        lat=STAFFORD[0],
        lon=STAFFORD[1],
        address="Market Square, Stafford",
        description="fight outside the bar",
        grade="2",
        thrive=THRIVE,
        caller=CallerDetails("Sam Caller", "07700 900123", True),
    )
    return replace(call, **changes)


def make_incident(
    db: Database, clock: Clock | None = None, actor: Actor | None = None, force_id: str = "staffordshire", **changes
) -> Incident:
    """An incident through the intake service (reference, assessment, target, log)."""
    ensure_force(db, force_id)
    with db.unit_of_work() as session:
        intake = service.create_incident(
            session, actor or person("call_handler", force_id=force_id), new_call(**changes), clock or Clock()
        )
        return intake.incident


def send_unit(
    db: Database,
    incident: Incident,
    clock: FixedClock | Clock,
    *,
    unit=None,
    acknowledged: bool = False,
    arrived: bool = False,
) -> Assignment:
    """A unit assigned to the incident (and, if asked, en route or arrived), as dispatch leaves it."""
    unit = unit or make_unit(db, force_id=incident.force_id)
    now = clock.now()
    with db.unit_of_work() as session:
        row = session.get(Incident, incident.id)
        assignment = Assignment(
            id=f"asg{next(_numbers):029d}",
            force_id=row.force_id,
            incident_id=row.id,
            unit_id=unit.id,
            assigned_at=now,
            assigned_by="dispatcher",
            acknowledged_at=now if acknowledged or arrived else None,
            arrived_at=now if arrived else None,
        )
        session.add(assignment)
        row.status = (IncidentStatus.AT_SCENE if arrived else IncidentStatus.DISPATCHED).value
        if acknowledged or arrived:
            row.first_en_route_at = row.first_en_route_at or now
        if arrived:
            row.first_arrived_at = row.first_arrived_at or now
    return assignment


def release(db: Database, assignment: Assignment, clock: Clock, reason: str = "diverted") -> None:
    with db.unit_of_work() as session:
        row = session.get(Assignment, assignment.id)
        row.released_at = clock.now()
        row.released_by = "dispatcher"
        row.release_reason = reason


def make_task(db: Database, force_id: str = "staffordshire") -> str:
    """An open call-back task (attendance delayed) on a new incident; its id."""
    incident = make_incident(db, force_id=force_id)
    with db.unit_of_work() as session:
        changed = service.change_attendance(
            session, person("dispatcher", force_id=force_id), incident.id, "delay", "no units", Clock()
        )
        return changed.tasks[0].id


def make_downgrade_request(db: Database, force_id: str = "staffordshire") -> str:
    """A pending request to downgrade a new grade 2 incident to 3; its id."""
    incident = make_incident(db, force_id=force_id)
    with db.unit_of_work() as session:
        changed = service.assess(
            session, person("call_handler", force_id=force_id), incident.id, "3", THRIVE, "can wait", Clock()
        )
        return changed.downgrade.id
