"""Dispatch: assign, acknowledge, arrive and release, with the unit's status, the
incident's status and its log kept in step; diversions need a reason and re-queue the
incident left behind."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bluelamp.access.model import AuditEntry
from bluelamp.access.policy import Actor, Role
from bluelamp.clock import FixedClock
from bluelamp.command import dispatch
from bluelamp.command.model import Assignment, Incident, LogEntry, Task
from bluelamp.errors import Conflict, Denied, InvalidInput, NotFound
from bluelamp.tracking import service as tracking_service
from bluelamp.tracking.model import Unit
from bluelamp.tracking.runtime import apply_status
from tests.factories.access import make_user
from tests.factories.dispatch import NOON, crew_member, dispatcher, make_incident, place, tracking_for
from tests.factories.tracking import make_unit

DISPATCHER = dispatcher()


@pytest.fixture
def clock():
    return FixedClock(NOON + timedelta(minutes=1))


@pytest.fixture
def tracking(db, clock):
    return tracking_for(db, clock)


def run(db, tracking, step, *args, **kwargs):
    """One dispatch step in its own unit of work, applied to the index after commit as the routes do."""
    with db.unit_of_work() as session:
        result = step(session, *args, **kwargs)
    for changed in result.status_changes:
        apply_status(tracking, changed, lambda event: None)
    return result


def log_of(db, incident) -> list[tuple[str, str]]:
    with db.read() as session:
        entries = session.scalars(select(LogEntry).where(LogEntry.incident_id == incident.id).order_by(LogEntry.id))
        return [(e.kind, e.text) for e in entries]


def reload(db, model, key):
    with db.read() as session:
        return session.get(model, key)


def test_a_unit_goes_through_the_whole_lifecycle_and_the_incident_follows(db, tracking, clock):
    unit = make_unit(db, "SF21", lat=53.03, lon=-2.17)
    place(tracking, unit, 53.03, -2.17)
    incident = make_incident(db)

    sent = run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock, recommended_rank=1)
    assert sent.events[0].name == "IncidentChanged" and sent.events[0].data["what"] == "unit_assigned"
    assert [c.after for c in sent.status_changes] == ["assigned"]
    assert reload(db, Unit, unit.id).status == "assigned"
    assert reload(db, Unit, unit.id).current_incident_id == incident.id
    assert tracking.index.units[unit.id].status == "assigned"
    assert reload(db, Incident, incident.id).status == "dispatched"

    clock.advance(timedelta(minutes=1))
    run(db, tracking, dispatch.acknowledge, DISPATCHER, incident.id, unit.id, clock)
    assert reload(db, Unit, unit.id).status == "en_route"
    assert reload(db, Incident, incident.id).first_en_route_at == clock.now()

    clock.advance(timedelta(minutes=6))
    run(db, tracking, dispatch.arrive, DISPATCHER, incident.id, unit.id, clock)
    assert reload(db, Unit, unit.id).status == "at_scene"
    after_arrival = reload(db, Incident, incident.id)
    assert after_arrival.status == "at_scene" and after_arrival.first_arrived_at == clock.now()

    clock.advance(timedelta(minutes=40))
    released = run(db, tracking, dispatch.release, DISPATCHER, incident.id, unit.id, None, clock)
    assert reload(db, Unit, unit.id).status == "available"
    assert reload(db, Unit, unit.id).current_incident_id is None
    assert tracking.index.units[unit.id].status == "available"
    assignment = reload(db, Assignment, released.assignment.id)
    assert assignment.release_reason == "cleared from scene"
    assert assignment.acknowledged_at and assignment.arrived_at and assignment.released_at == clock.now()
    # Dealt with at the scene, nobody left there: it stays at scene awaiting closure.
    assert reload(db, Incident, incident.id).status == "at_scene"

    kinds = [kind for kind, _ in log_of(db, incident)]
    assert kinds == ["assigned", "status", "acknowledged", "arrived", "status", "released", "status"]
    assert log_of(db, incident)[-1] == ("status", "every unit has left the scene; awaiting closure")
    texts = dict(log_of(db, incident))
    assert texts["assigned"].startswith("SF21 assigned, the top recommendation, ETA about")
    assert texts["acknowledged"] == "SF21 acknowledged, en route (first unit en route)"
    assert texts["arrived"] == "SF21 at scene, first unit, 8 min after the call (target 60 min: met)"
    assert texts["released"] == "SF21 released: cleared from scene"


def test_every_step_is_audited(db, tracking, clock):
    unit = make_unit(db)
    incident = make_incident(db)
    run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock)
    run(db, tracking, dispatch.acknowledge, DISPATCHER, incident.id, unit.id, clock)
    run(db, tracking, dispatch.arrive, DISPATCHER, incident.id, unit.id, clock)
    run(db, tracking, dispatch.release, DISPATCHER, incident.id, unit.id, "done", clock)
    with db.read() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.record_id == incident.id).order_by(AuditEntry.seq)
        ).all()
    assert actions == ["incident.assign", "incident.acknowledge", "incident.arrive", "incident.release"]


def test_the_log_says_when_the_dispatcher_passed_over_the_top_recommendation(db, tracking, clock):
    unit = make_unit(db, "SF40")
    incident = make_incident(db)
    run(
        db,
        tracking,
        dispatch.assign,
        DISPATCHER,
        incident.id,
        unit.id,
        clock,
        recommended_rank=3,
        override_reason="crew knows the family",
        eta_seconds=420,
    )
    (kind, text), *_ = log_of(db, incident)
    assert text == "SF40 assigned, recommendation #3, over the top recommendation because: crew knows the family, " + (
        "ETA about 7 min"
    )
    with db.read() as session:
        entry = session.scalars(select(LogEntry).where(LogEntry.incident_id == incident.id)).first()
    assert entry.data["recommended"] is False and entry.data["eta_seconds"] == 420


def test_an_off_duty_unit_is_refused(db, tracking, clock):
    unit = make_unit(db, status="off_duty")
    incident = make_incident(db)
    with pytest.raises(Conflict) as refused:
        run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock)
    assert refused.value.code == "dispatch.off_duty"
    assert reload(db, Incident, incident.id).status == "open"
    assert log_of(db, incident) == []


def test_a_unit_in_emergency_is_refused(db, tracking, clock):
    unit = make_unit(db, status="emergency")
    incident = make_incident(db)
    with pytest.raises(Conflict) as refused:
        run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock)
    assert refused.value.code == "dispatch.unit_emergency"


def test_a_closed_incident_takes_no_units(db, tracking, clock):
    unit = make_unit(db)
    incident = make_incident(db, status="closed")
    with pytest.raises(Conflict) as refused:
        run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock)
    assert refused.value.code == "dispatch.incident_not_active"
    assert refused.value.extra["allowed"] == ["at_scene", "dispatched", "open", "scheduled"]


def test_the_same_unit_cannot_be_assigned_twice(db, tracking, clock):
    unit = make_unit(db)
    incident = make_incident(db)
    run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock)
    with pytest.raises(Conflict) as refused:
        run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock, divert_reason="again")
    assert refused.value.code == "dispatch.already_assigned"


def test_a_call_handler_cannot_dispatch(db, tracking, clock):
    unit = make_unit(db)
    incident = make_incident(db)
    handler = Actor(None, "handler", "staffordshire", frozenset({Role.CALL_HANDLER}))
    with pytest.raises(Denied):
        run(db, tracking, dispatch.assign, handler, incident.id, unit.id, clock)


def test_units_and_incidents_of_another_force_answer_like_missing_ones(db, tracking, clock):
    ours, theirs_unit = make_unit(db), make_unit(db, force_id="west-yorkshire")
    incident, theirs = make_incident(db), make_incident(db, force_id="west-yorkshire")
    with pytest.raises(NotFound):
        run(db, tracking, dispatch.assign, DISPATCHER, theirs.id, ours.id, clock)
    with pytest.raises(NotFound):
        run(db, tracking, dispatch.assign, DISPATCHER, incident.id, theirs_unit.id, clock)


def test_diverting_a_committed_unit_needs_a_reason(db, tracking, clock):
    unit = make_unit(db, "SF21")
    first, second = make_incident(db, grade="2"), make_incident(db, grade="1")
    run(db, tracking, dispatch.assign, DISPATCHER, first.id, unit.id, clock)
    run(db, tracking, dispatch.acknowledge, DISPATCHER, first.id, unit.id, clock)
    with pytest.raises(Conflict) as refused:
        run(db, tracking, dispatch.assign, DISPATCHER, second.id, unit.id, clock)
    assert refused.value.code == "dispatch.divert_reason_required"
    assert refused.value.extra["current_incident"] == first.reference
    assert refused.value.extra["needs"] == "divert_reason"
    assert reload(db, Unit, unit.id).current_incident_id == first.id


def test_a_diversion_is_logged_on_both_incidents_and_requeues_the_one_left(db, tracking, clock):
    unit = make_unit(db, "SF21")
    place(tracking, unit, 53.03, -2.17)
    first, second = make_incident(db, grade="2"), make_incident(db, grade="1")
    run(db, tracking, dispatch.assign, DISPATCHER, first.id, unit.id, clock)
    run(db, tracking, dispatch.acknowledge, DISPATCHER, first.id, unit.id, clock)
    clock.advance(timedelta(minutes=2))

    sent = run(db, tracking, dispatch.assign, DISPATCHER, second.id, unit.id, clock, divert_reason="grade 1 nearby")
    assert sent.diverted_from.id == first.id
    assert reload(db, Unit, unit.id).status == "assigned"
    assert reload(db, Unit, unit.id).current_incident_id == second.id
    assert tracking.index.units[unit.id].incident_id == second.id
    assert reload(db, Incident, second.id).status == "dispatched"

    with db.read() as session:
        old = session.scalars(select(Assignment).where(Assignment.incident_id == first.id)).one()
    assert old.release_reason == f"diverted to {second.reference}: grade 1 nearby"
    assert old.diverted_to_incident_id == second.id
    assert (
        "diverted",
        f"SF21 diverted to {second.reference}: grade 1 nearby",
    ) in log_of(db, first)
    assert ("diverted", f"SF21 diverted from {first.reference}: grade 1 nearby") in log_of(db, second)

    # Nobody is attending the first incident now: it is back on the queue, and the
    # caller is owed a call-back because attendance changed.
    left = reload(db, Incident, first.id)
    assert left.status == "open"
    assert any(kind == "requeued" for kind, _ in log_of(db, first))
    with db.read() as session:
        tasks = session.scalars(select(Task).where(Task.incident_id == first.id)).all()
    assert any(t.kind == "call_back" for t in tasks)
    whats = [e.data["what"] for e in sent.events if e.name == "IncidentChanged"]
    assert "unit_assigned" in whats and "unit_diverted" in whats


def test_a_diverted_unit_leaves_an_incident_still_attended_by_others_as_it_was(db, tracking, clock):
    first_unit, second_unit = make_unit(db), make_unit(db)
    first, second = make_incident(db), make_incident(db)
    for unit in (first_unit, second_unit):
        run(db, tracking, dispatch.assign, DISPATCHER, first.id, unit.id, clock)
    run(db, tracking, dispatch.assign, DISPATCHER, second.id, first_unit.id, clock, divert_reason="needed more")
    assert reload(db, Incident, first.id).status == "dispatched"
    assert not any(kind == "requeued" for kind, _ in log_of(db, first))


def test_withdrawing_a_unit_before_it_arrives_needs_a_reason_and_requeues(db, tracking, clock):
    unit = make_unit(db, "SF21")
    incident = make_incident(db)
    run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock)
    with pytest.raises(InvalidInput) as refused:
        run(db, tracking, dispatch.release, DISPATCHER, incident.id, unit.id, "  ", clock)
    assert refused.value.problems[0].field == "reason"
    run(db, tracking, dispatch.release, DISPATCHER, incident.id, unit.id, "vehicle breakdown", clock)
    assert reload(db, Unit, unit.id).status == "available"
    assert reload(db, Incident, incident.id).status == "open"
    assert any(kind == "requeued" and "SF21 released: vehicle breakdown" in text for kind, text in log_of(db, incident))
    with db.read() as session:
        tasks = session.scalars(select(Task).where(Task.incident_id == incident.id)).all()
    assert [t.kind for t in tasks] == ["call_back"]


def test_releasing_one_of_two_units_at_scene_keeps_the_incident_at_scene(db, tracking, clock):
    first, second = make_unit(db), make_unit(db)
    incident = make_incident(db)
    for unit in (first, second):
        run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock)
        run(db, tracking, dispatch.arrive, DISPATCHER, incident.id, unit.id, clock)
    run(db, tracking, dispatch.release, DISPATCHER, incident.id, first.id, None, clock)
    assert reload(db, Incident, incident.id).status == "at_scene"
    run(db, tracking, dispatch.release, DISPATCHER, incident.id, second.id, None, clock)
    assert reload(db, Incident, incident.id).status == "at_scene"
    assert log_of(db, incident)[-1] == ("status", "every unit has left the scene; awaiting closure")


def test_the_only_unit_at_scene_leaving_while_another_is_en_route_makes_it_dispatched_again(db, tracking, clock):
    there, coming = make_unit(db), make_unit(db)
    incident = make_incident(db)
    run(db, tracking, dispatch.assign, DISPATCHER, incident.id, there.id, clock)
    run(db, tracking, dispatch.arrive, DISPATCHER, incident.id, there.id, clock)
    run(db, tracking, dispatch.assign, DISPATCHER, incident.id, coming.id, clock)
    run(db, tracking, dispatch.release, DISPATCHER, incident.id, there.id, "called away", clock)
    assert reload(db, Incident, incident.id).status == "dispatched"


def test_steps_out_of_order_are_refused(db, tracking, clock):
    unit, other = make_unit(db), make_unit(db)
    incident = make_incident(db)
    with pytest.raises(Conflict) as refused:
        run(db, tracking, dispatch.acknowledge, DISPATCHER, incident.id, other.id, clock)
    assert refused.value.code == "dispatch.not_assigned"
    run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock)
    run(db, tracking, dispatch.acknowledge, DISPATCHER, incident.id, unit.id, clock)
    with pytest.raises(Conflict) as refused:
        run(db, tracking, dispatch.acknowledge, DISPATCHER, incident.id, unit.id, clock)
    assert refused.value.code == "dispatch.already_acknowledged"
    run(db, tracking, dispatch.arrive, DISPATCHER, incident.id, unit.id, clock)
    with pytest.raises(Conflict) as refused:
        run(db, tracking, dispatch.arrive, DISPATCHER, incident.id, unit.id, clock)
    assert refused.value.code == "dispatch.already_arrived"


def test_a_response_officer_moves_only_the_unit_they_crew(db, tracking, clock):
    theirs, someone_elses = make_unit(db, "SF31"), make_unit(db, "SF32")
    incident = make_incident(db)
    user = make_user(db, "response_officer")
    crew_member(db, theirs, user)
    officer = Actor(user.id, user.username, "staffordshire", frozenset({Role.RESPONSE_OFFICER}))
    for unit in (theirs, someone_elses):
        run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock)
    with pytest.raises(Denied):
        run(db, tracking, dispatch.assign, officer, incident.id, someone_elses.id, clock)
    with pytest.raises(Denied) as refused:
        run(db, tracking, dispatch.acknowledge, officer, incident.id, someone_elses.id, clock)
    assert refused.value.code == "dispatch.not_your_unit"
    run(db, tracking, dispatch.acknowledge, officer, incident.id, theirs.id, clock)
    run(db, tracking, dispatch.arrive, officer, incident.id, theirs.id, clock)
    assert reload(db, Unit, theirs.id).status == "at_scene"
    with db.read() as session:
        arrived = session.scalars(
            select(LogEntry).where(LogEntry.incident_id == incident.id, LogEntry.kind == "arrived")
        ).one()
    assert arrived.by == user.username


def test_a_unit_changing_its_own_status_keeps_the_incident_in_step(db, tracking, clock):
    unit = make_unit(db, "SF21")
    incident = make_incident(db)
    run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock)
    for status in ("en_route", "at_scene", "available"):
        with db.unit_of_work() as session:
            changed = tracking_service.change_status(session, DISPATCHER, unit.id, status, clock)
            followed = dispatch.follow_unit_status(session, DISPATCHER, changed, clock)
        assert followed is not None and followed.events
    with db.read() as session:
        assignment = session.scalars(select(Assignment).where(Assignment.unit_id == unit.id)).one()
    assert assignment.acknowledged_at and assignment.arrived_at and assignment.released_at
    assert reload(db, Incident, incident.id).status == "at_scene"
    kinds = [kind for kind, _ in log_of(db, incident)]
    assert kinds == ["assigned", "status", "acknowledged", "arrived", "status", "released", "status"]


def test_a_unit_making_itself_available_before_arriving_requeues_the_incident(db, tracking, clock):
    unit = make_unit(db, "SF21")
    incident = make_incident(db)
    run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock)
    with db.unit_of_work() as session:
        changed = tracking_service.change_status(session, DISPATCHER, unit.id, "available", clock)
        dispatch.follow_unit_status(session, DISPATCHER, changed, clock)
    assert reload(db, Incident, incident.id).status == "open"
    assert ("released", "SF21 released: SF21 made itself available") in log_of(db, incident)


def test_a_unit_without_an_assignment_changes_status_without_touching_incidents(db, tracking, clock):
    unit = make_unit(db)
    with db.unit_of_work() as session:
        changed = tracking_service.change_status(session, DISPATCHER, unit.id, "busy", clock)
        assert dispatch.follow_unit_status(session, DISPATCHER, changed, clock) is None


def test_diverting_from_an_incident_beyond_the_dispatchers_clearance_does_not_name_it(db, tracking, clock):
    unit = make_unit(db, "SF21")
    secret, incident = make_incident(db, marking="SECRET"), make_incident(db)
    run(db, tracking, dispatch.assign, dispatcher(clearance="SECRET"), secret.id, unit.id, clock)
    with pytest.raises(Conflict) as refused:
        run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock)
    assert refused.value.extra["current_incident"] is None
    assert secret.reference not in str(refused.value)
    run(db, tracking, dispatch.assign, DISPATCHER, incident.id, unit.id, clock, divert_reason="life at risk")
    assert ("diverted", "SF21 diverted from another incident: life at risk") in log_of(db, incident)
    assert reload(db, Incident, secret.id).status == "open"


def test_a_unit_that_cleared_itself_unnoticed_can_be_sent_again(db, tracking, clock):
    # The unit went available without the incident being told (e.g. before the status
    # endpoint followed assignments): sending it again closes the stale assignment.
    unit = make_unit(db, "SF21")
    first, second = make_incident(db), make_incident(db)
    run(db, tracking, dispatch.assign, DISPATCHER, first.id, unit.id, clock)
    with db.unit_of_work() as session:
        tracking_service.change_status(session, DISPATCHER, unit.id, "available", clock)
    run(db, tracking, dispatch.assign, DISPATCHER, first.id, unit.id, clock)
    assert ("released", "SF21 released: it was already available") in log_of(db, first)
    assert reload(db, Incident, first.id).status == "dispatched"
    with db.unit_of_work() as session:
        tracking_service.change_status(session, DISPATCHER, unit.id, "available", clock)
    run(db, tracking, dispatch.assign, DISPATCHER, second.id, unit.id, clock)
    assert reload(db, Incident, first.id).status == "open"
    assert reload(db, Incident, second.id).status == "dispatched"
    with db.read() as session:
        open_ones = session.scalars(
            select(Assignment).where(Assignment.unit_id == unit.id, Assignment.released_at.is_(None))
        ).all()
    assert [a.incident_id for a in open_ones] == [second.id]
