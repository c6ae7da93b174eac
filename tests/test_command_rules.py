"""The rules of issue 5 item 2, in the service layer, on a fixed clock: the target clock
starts at creation; a re-assessment prompt when a grade 1 or 2 incident nears its target
with no unit en route; a downgrade needs a reason and a supervisor's approval; any change
to attendance opens a call-back task that must be closed; a breach is recorded with its
cause; grade 3 books an appointment slot. And closing: what must be true first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bluelamp.clock import FixedClock, to_local
from bluelamp.command import queries, service
from bluelamp.command.commands import CallerDetails
from bluelamp.command.model import Appointment, Assessment, DowngradeRequest, Incident, Task
from bluelamp.errors import Conflict, Denied, InvalidInput, NotFound
from tests.factories.command import (
    MORNING,
    THRIVE,
    make_incident,
    new_call,
    person,
    release,
    send_unit,
    staffordshire,
)
from tests.factories.tracking import make_unit

CALM = THRIVE.__class__(
    threat="none now", harm="low", risk="low", investigation="none", vulnerability="none", engagement="by phone"
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MORNING)


@pytest.fixture
def handler():
    return person("call_handler", "handler")


@pytest.fixture
def supervisor():
    return person("supervisor", "sergeant")


@pytest.fixture(autouse=True)
def force(db):
    staffordshire(db)


def sweep(db, clock):
    with db.unit_of_work() as session:
        return service.sweep(session, clock)


def reload(db, incident) -> Incident:
    with db.read() as session:
        return session.get(Incident, incident.id)


def tasks_of(db, incident, kind=None) -> list[Task]:
    with db.read() as session:
        return [t for t in queries.tasks_of(session, [incident.id]) if kind is None or t.kind == kind]


def log_kinds(db, incident) -> list[str]:
    with db.read() as session:
        return [e.kind for e in queries.log_in_order(session, incident.id)]


def do(db, fn, *args, **kwargs):
    with db.unit_of_work() as session:
        return fn(session, *args, **kwargs)


# ---------------------------------------------------------------- the target clock starts at creation


def test_an_upgrade_recomputes_the_target_from_creation_not_from_the_reassessment(db, clock, handler):
    incident = make_incident(db, clock, handler, grade="2")
    clock.advance(timedelta(minutes=10))
    changed = do(db, service.assess, handler, incident.id, "1", THRIVE, "weapon now mentioned", clock)
    assert changed.incident.grade == "1"
    assert changed.incident.target_at == MORNING + timedelta(minutes=15)
    assert changed.incident.reassess_at == MORNING + timedelta(minutes=10)
    with db.read() as session:
        grades = [a.grade for a in queries.assessments_of(session, incident.id)]
    assert grades == ["2", "1"]
    assert log_kinds(db, incident)[-2:] == ["assessed", "target"]


def test_a_target_across_the_clocks_going_back_counts_real_minutes(db, handler):
    """25 October 2026: 02:00 BST becomes 01:00 GMT. A grade 2 call at 01:30 BST has until
    01:30 GMT, sixty real minutes later, though the wall clock reads the same time."""
    clock = FixedClock(datetime(2026, 10, 25, 0, 30, tzinfo=UTC))
    incident = make_incident(db, clock, handler, grade="2")
    assert incident.reference.startswith("SP-20261025-")
    assert incident.target_at - incident.created_at == timedelta(minutes=60)
    assert to_local(incident.target_at).strftime("%H:%M %Z") == "01:30 GMT"
    assert to_local(incident.created_at).strftime("%H:%M %Z") == "01:30 BST"
    clock.advance(timedelta(minutes=59, seconds=59))
    sweep(db, clock)
    assert reload(db, incident).breached_at is None
    clock.advance(timedelta(seconds=1))
    sweep(db, clock)
    assert reload(db, incident).breached_at == incident.created_at + timedelta(minutes=60)


# ---------------------------------------------------------------- re-assessment prompts


def test_a_grade_1_with_no_unit_en_route_prompts_a_reassessment_near_its_target(db, clock, handler):
    incident = make_incident(db, clock, handler, category="robbery", grade="1")  # 15 min, prompt 5 min before
    clock.advance(timedelta(minutes=9, seconds=59))
    assert sweep(db, clock) == []
    clock.advance(timedelta(seconds=1))
    events = sweep(db, clock)
    assert [e.data["what"] for e in events] == ["reassessment_due"]
    prompts = tasks_of(db, incident, "reassessment")
    assert len(prompts) == 1 and prompts[0].due_at == incident.target_at and prompts[0].closed_at is None
    assert "reassessment_due" in log_kinds(db, incident)
    clock.advance(timedelta(minutes=1))
    sweep(db, clock)
    assert len(tasks_of(db, incident, "reassessment")) == 1, "one prompt per target, not one per sweep"


def test_no_reassessment_prompt_while_a_unit_is_en_route(db, clock, handler):
    incident = make_incident(db, clock, handler, category="robbery", grade="1")
    send_unit(db, incident, clock, acknowledged=True)
    clock.advance(timedelta(minutes=11))
    sweep(db, clock)
    assert tasks_of(db, incident, "reassessment") == []


def test_a_unit_assigned_but_not_en_route_still_prompts(db, clock, handler):
    incident = make_incident(db, clock, handler, category="robbery", grade="1")
    send_unit(db, incident, clock)
    clock.advance(timedelta(minutes=11))
    sweep(db, clock)
    assert len(tasks_of(db, incident, "reassessment")) == 1


def test_grades_3_and_4_are_not_prompted(db, clock, handler):
    scheduled = make_incident(db, clock, handler, category="theft", grade="3")
    by_phone = make_incident(db, clock, handler, category="theft", grade="4")
    clock.advance(timedelta(hours=47, minutes=59))
    sweep(db, clock)
    assert tasks_of(db, scheduled, "reassessment") == [] and tasks_of(db, by_phone) == []


def test_a_new_grade_means_a_new_target_and_a_new_prompt(db, clock, handler):
    incident = make_incident(db, clock, handler, grade="2")  # 60 min, prompt at 45
    clock.advance(timedelta(minutes=46))
    sweep(db, clock)
    do(db, service.assess, handler, incident.id, "2", THRIVE, "still no unit, grade kept", clock)
    sweep(db, clock)
    assert len(tasks_of(db, incident, "reassessment")) == 1, "the same target is not prompted twice"


# ---------------------------------------------------------------- downgrades


def test_a_downgrade_without_a_reason_is_refused(db, clock, handler):
    incident = make_incident(db, clock, handler, grade="1", category="robbery")
    with pytest.raises(InvalidInput) as caught:
        do(db, service.assess, handler, incident.id, "2", CALM, "  ", clock)
    assert caught.value.code == "downgrade.reason_required"
    assert reload(db, incident).grade == "1"


def test_a_downgrade_waits_for_a_supervisor_who_is_not_the_requester(db, clock, handler, supervisor):
    incident = make_incident(db, clock, handler, grade="1", category="robbery")
    clock.advance(timedelta(minutes=5))
    asked = do(db, service.assess, handler, incident.id, "2", CALM, "offender left; victim safe at home", clock)
    assert asked.incident.grade == "1", "the grade waits for the decision"
    assert asked.downgrade.to_grade == "2" and [t.kind for t in asked.tasks] == ["downgrade_approval"]
    with pytest.raises(Conflict) as caught:
        do(db, service.assess, handler, incident.id, "3", CALM, "again", clock)
    assert caught.value.code == "downgrade.pending"
    with pytest.raises(Denied):
        do(db, service.decide_downgrade, handler, asked.downgrade.id, True, None, clock)
    self_approving = person("supervisor", handler.username)
    with pytest.raises(Conflict) as caught:
        do(db, service.decide_downgrade, self_approving, asked.downgrade.id, True, None, clock)
    assert caught.value.code == "downgrade.self_approval"
    with pytest.raises(Conflict) as caught:
        do(db, service.close_task, handler, asked.tasks[0].id, "done", clock)
    assert caught.value.code == "task.needs_decision"

    clock.advance(timedelta(minutes=2))
    decided = do(db, service.decide_downgrade, supervisor, asked.downgrade.id, True, "agreed", clock)
    incident = reload(db, incident)
    assert incident.grade == "2"
    assert incident.target_at == MORNING + timedelta(minutes=60), "still from creation"
    with db.read() as session:
        request = session.get(DowngradeRequest, asked.downgrade.id)
        current = session.get(Assessment, incident.assessment_id)
    assert (request.approved, request.decided_by) == (True, "sergeant")
    assert (current.grade, current.threat, current.reason) == ("2", CALM.threat, "offender left; victim safe at home")
    assert [t.kind for t in decided.tasks] == ["call_back"], "attendance changed: the caller is told"
    approval = tasks_of(db, incident, "downgrade_approval")[0]
    assert approval.closed_at is not None and "approved by sergeant" in approval.outcome
    with pytest.raises(Conflict) as caught:
        do(db, service.decide_downgrade, person("supervisor"), asked.downgrade.id, False, None, clock)
    assert caught.value.code == "downgrade.decided"


def test_a_refused_downgrade_keeps_the_grade(db, clock, handler, supervisor):
    incident = make_incident(db, clock, handler, grade="2")
    asked = do(db, service.assess, handler, incident.id, "4", CALM, "caller says sorted", clock)
    decided = do(db, service.decide_downgrade, supervisor, asked.downgrade.id, False, "attend: repeat victim", clock)
    assert reload(db, incident).grade == "2" and decided.tasks == []
    assert tasks_of(db, incident, "downgrade_approval")[0].closed_at is not None


def test_a_downgrade_to_grade_3_books_a_slot_and_tells_the_caller(db, clock, handler, supervisor):
    incident = make_incident(db, clock, handler, grade="2")
    asked = do(db, service.assess, handler, incident.id, "3", CALM, "no ongoing risk; caller happy to wait", clock)
    decided = do(db, service.decide_downgrade, supervisor, asked.downgrade.id, True, None, clock)
    incident = reload(db, incident)
    assert incident.status == "scheduled" and decided.appointment is not None
    assert decided.appointment.ends_at <= incident.target_at == MORNING + timedelta(hours=48)
    assert [t.kind for t in decided.tasks] == ["call_back"]


# ---------------------------------------------------------------- attendance changes and call-backs


def test_every_attendance_change_opens_call_backs_that_must_be_closed(db, clock, handler):
    incident = make_incident(db, clock, handler)
    do(
        db,
        service.create_incident,
        handler,
        new_call(attach_to=incident.id, caller=CallerDetails("Second Caller", "07700 900999")),
        clock,
    )
    changed = do(db, service.change_attendance, handler, incident.id, "delay", "no units free: football match", clock)
    assert len(changed.tasks) == 2, "one call-back per caller who left a number"
    assert {t.call_id for t in changed.tasks} == {c.id for c in _calls(db, incident)}
    with pytest.raises(InvalidInput):
        do(db, service.close_task, handler, changed.tasks[0].id, "", clock)
    do(db, service.close_task, handler, changed.tasks[0].id, "caller told: about an hour", clock)
    with pytest.raises(Conflict) as caught:
        do(db, service.close_task, handler, changed.tasks[0].id, "again", clock)
    assert caught.value.code == "task.closed"
    with db.read() as session:
        assert [t.id for t in service.open_tasks(session, handler, kind="call_back")] == [changed.tasks[1].id]


def _calls(db, incident):
    with db.read() as session:
        return queries.calls_of(session, [incident.id])


def test_a_caller_without_a_number_still_gets_a_task_to_record_how_they_were_told(db, clock, handler):
    incident = make_incident(db, clock, handler, caller=CallerDetails(None, None))
    changed = do(db, service.change_attendance, handler, incident.id, "cancel", "caller no longer needs us", clock)
    assert len(changed.tasks) == 1 and changed.tasks[0].call_id is None


def test_an_attendance_change_needs_a_known_change_and_a_reason(db, clock, handler):
    incident = make_incident(db, clock, handler)
    with pytest.raises(InvalidInput) as caught:
        do(db, service.change_attendance, handler, incident.id, "postpone", "", clock)
    assert {p.field for p in caught.value.problems} == {"change", "reason"}


def test_a_unit_diverted_away_requeues_the_incident_with_call_backs(db, clock, handler):
    incident = make_incident(db, clock, handler, category="robbery", grade="1")
    assignment = send_unit(db, incident, clock, acknowledged=True)
    clock.advance(timedelta(minutes=11))
    release(db, assignment, clock, "diverted to a grade 1 RTC")
    with db.unit_of_work() as session:
        row = session.get(Incident, incident.id)
        events = service.reevaluate(session, person("dispatcher"), row, clock, "SF1 diverted to a grade 1 RTC")
    incident = reload(db, incident)
    assert incident.status == "open" and [e.data["what"] for e in events] == ["requeued"]
    kinds = log_kinds(db, incident)
    assert kinds.index("requeued") < len(kinds) - 1 and "target" in kinds[kinds.index("requeued") :]
    assert [t.kind for t in tasks_of(db, incident) if t.closed_at is None] == ["call_back", "reassessment"]


# ---------------------------------------------------------------- breaches


@pytest.mark.parametrize(
    ("setup", "cause"),
    [
        ("nothing", "no unit assigned"),
        ("assigned", "unit assigned but not en route"),
        ("en_route", "unit en route, not yet arrived"),
        ("downgrade", "downgrade pending; no unit assigned"),
    ],
)
def test_a_missed_target_is_recorded_with_its_cause(db, clock, handler, setup, cause):
    incident = make_incident(db, clock, handler, category="robbery", grade="1")
    if setup in ("assigned", "en_route"):
        send_unit(db, incident, clock, acknowledged=setup == "en_route")
    if setup == "downgrade":
        do(db, service.assess, handler, incident.id, "2", CALM, "victim safe now", clock)
    clock.advance(timedelta(minutes=16))
    events = sweep(db, clock)
    incident = reload(db, incident)
    assert incident.breached_at == MORNING + timedelta(minutes=15)
    assert incident.breach_cause == cause
    assert "breach" in [e.data["what"] for e in events]
    assert "breach" in log_kinds(db, incident)
    sweep(db, clock)
    assert log_kinds(db, incident).count("breach") == 1


def test_no_breach_when_a_unit_arrived_in_time(db, clock, handler):
    incident = make_incident(db, clock, handler, category="robbery", grade="1")
    clock.advance(timedelta(minutes=12))
    send_unit(db, incident, clock, arrived=True)
    clock.advance(timedelta(minutes=10))
    sweep(db, clock)
    assert reload(db, incident).breached_at is None


def test_a_supervisor_amends_a_breach_cause_and_the_log_keeps_both(db, clock, handler, supervisor):
    incident = make_incident(db, clock, handler, category="robbery", grade="1")
    with pytest.raises(Conflict) as caught:
        do(db, service.record_breach_cause, supervisor, incident.id, "too early", clock)
    assert caught.value.code == "incident.not_breached"
    clock.advance(timedelta(minutes=20))
    sweep(db, clock)
    with pytest.raises(Denied):
        do(db, service.record_breach_cause, handler, incident.id, "mine", clock)
    do(db, service.record_breach_cause, supervisor, incident.id, "all units at a firearms incident", clock)
    assert reload(db, incident).breach_cause == "all units at a firearms incident"
    with db.read() as session:
        last = queries.log_in_order(session, incident.id)[-1]
    assert last.data == {"cause": "all units at a firearms incident", "previous": "no unit assigned"}


# ---------------------------------------------------------------- grade 3 appointments


def test_slots_are_in_local_opening_hours_within_the_target_and_not_full(db, handler):
    clock = FixedClock(datetime(2026, 3, 28, 9, 0, tzinfo=UTC))  # Saturday; clocks go forward on Sunday
    staffordshire(db, appointments={"slot_minutes": 120, "per_slot": 1, "first_hour": 8, "last_hour": 20})
    incident = make_incident(db, clock, handler, category="theft", grade="3")
    with db.read() as session:
        slots = service.appointment_slots(session, handler, incident.id, clock)
    local = [to_local(s.starts_at).strftime("%a %H:%M") for s in slots]
    # 09:00 GMT now; the earliest slot two hours on; 12:00 is taken by this incident itself
    assert local[:4] == ["Sat 14:00", "Sat 16:00", "Sat 18:00", "Sun 08:00"]
    assert to_local(slots[0].starts_at).utcoffset() == timedelta(0)
    assert to_local(slots[3].starts_at).utcoffset() == timedelta(hours=1), "Sunday's 08:00 is BST"
    # the target is Monday 09:00 UTC (10:00 BST): the last slot ends exactly then
    assert local[-1] == "Mon 08:00" and slots[-1].ends_at == incident.target_at
    assert all(to_local(s.starts_at).hour >= 8 and to_local(s.ends_at).hour <= 20 for s in slots)


def test_moving_an_appointment_cancels_the_old_one_and_calls_the_caller_back(db, clock, handler):
    incident = make_incident(db, clock, handler, category="theft", grade="3")
    with db.read() as session:
        first = session.get(Incident, incident.id).appointment_id
        slots = service.appointment_slots(session, handler, incident.id, clock)
    moved = do(db, service.book_appointment, handler, incident.id, slots[3].starts_at, clock)
    assert moved.appointment.starts_at == slots[3].starts_at
    assert [t.kind for t in moved.tasks] == ["call_back"]
    with db.read() as session:
        assert session.get(Appointment, first).cancelled_at is not None
        assert session.get(Incident, incident.id).appointment_id == moved.appointment.id


def test_booking_refuses_a_time_that_is_not_a_free_slot(db, clock, handler):
    staffordshire(db, appointments={"per_slot": 1})
    one = make_incident(db, clock, handler, category="theft", grade="3")
    other = make_incident(db, clock, handler, category="theft", grade="3")
    with db.read() as session:
        taken = session.get(Appointment, session.get(Incident, one.id).appointment_id).starts_at
    with pytest.raises(Conflict) as caught:
        do(db, service.book_appointment, handler, other.id, taken, clock)
    assert caught.value.code == "appointment.full"
    with pytest.raises(InvalidInput) as caught:
        do(db, service.book_appointment, handler, other.id, taken + timedelta(days=5), clock)
    assert caught.value.code == "appointment.not_a_slot"
    urgent = make_incident(db, clock, handler, grade="2")
    with pytest.raises(Conflict) as caught:
        do(db, service.book_appointment, handler, urgent.id, taken, clock)
    assert caught.value.code == "appointment.grade"


def test_an_upgrade_from_grade_3_cancels_the_appointment_and_calls_back(db, clock, handler):
    incident = make_incident(db, clock, handler, category="theft", grade="3")
    changed = do(db, service.assess, handler, incident.id, "2", THRIVE, "offender returned", clock)
    incident = reload(db, incident)
    assert incident.status == "open" and incident.appointment_id is None
    assert [t.kind for t in changed.tasks] == ["call_back"]


# ---------------------------------------------------------------- statuses and closing


def test_an_illegal_status_change_lists_the_allowed_ones(db, clock, handler):
    incident = make_incident(db, clock, handler, grade="4")
    do(db, service.change_status, handler, incident.id, "resolved", "advice by phone", clock)
    do(db, service.close_incident, person("dispatcher"), incident.id, "theft", "advice_given", "advised", clock)
    with pytest.raises(Conflict) as caught:
        do(db, service.change_status, handler, incident.id, "resolved", None, clock)
    assert caught.value.code == "incident.illegal_status"
    assert caught.value.extra == {"allowed": ["open"], "current": "closed"}
    with pytest.raises(Conflict) as caught:
        do(db, service.close_incident, person("dispatcher"), incident.id, "theft", "resolved", "again", clock)
    assert caught.value.code == "incident.illegal_status"


def test_closing_needs_category_result_and_summary_and_a_crime_reference_for_a_crime(db, clock, handler):
    dispatcher = person("dispatcher")
    incident = make_incident(db, clock, handler)
    with pytest.raises(InvalidInput) as caught:
        do(db, service.close_incident, dispatcher, incident.id, "nope", "shrugged", " ", clock)
    assert {p.field for p in caught.value.problems} == {"closing_category", "result", "summary"}
    with pytest.raises(InvalidInput) as caught:
        do(db, service.close_incident, dispatcher, incident.id, "assault", "crime_recorded", "arrest made", clock)
    assert [p.field for p in caught.value.problems] == ["crime_reference"]
    closed = do(
        db,
        service.close_incident,
        dispatcher,
        incident.id,
        "public_order",
        "crime_recorded",
        "one arrested for s.4 POA",
        clock,
        crime_reference="CR/12345/26",
    )
    incident = closed.incident
    assert (incident.status, incident.opening_category, incident.closing_category) == (
        "closed",
        "assault",
        "public_order",
    )
    assert (incident.result, incident.crime_reference, incident.closed_by) == (
        "crime_recorded",
        "CR/12345/26",
        dispatcher.username,
    )


def test_closing_is_refused_while_units_are_assigned_listing_them(db, clock, handler):
    incident = make_incident(db, clock, handler)
    unit = make_unit(db, "SF99")
    send_unit(db, incident, clock, unit=unit, arrived=True)
    with pytest.raises(Conflict) as caught:
        do(db, service.close_incident, person("dispatcher"), incident.id, "assault", "resolved", "sorted", clock)
    assert caught.value.code == "incident.units_assigned"
    assert caught.value.extra == {"units": ["SF99"]}


def test_closing_is_refused_while_call_backs_are_open(db, clock, handler):
    incident = make_incident(db, clock, handler)
    changed = do(db, service.change_attendance, handler, incident.id, "cancel", "caller sorted it", clock)
    with pytest.raises(Conflict) as caught:
        do(db, service.close_incident, person("dispatcher"), incident.id, "assault", "resolved", "sorted", clock)
    assert caught.value.code == "incident.open_call_backs"
    assert caught.value.extra == {"tasks": [changed.tasks[0].id]}
    do(db, service.close_task, handler, changed.tasks[0].id, "caller agreed", clock)
    do(db, service.close_incident, person("dispatcher"), incident.id, "assault", "resolved", "sorted", clock)


def test_a_closed_incident_reopens_with_a_reason_and_the_log_keeps_its_closing(db, clock, handler):
    dispatcher = person("dispatcher")
    incident = make_incident(db, clock, handler)
    do(db, service.close_incident, dispatcher, incident.id, "assault", "no_trace", "area searched", clock)
    with pytest.raises(InvalidInput):
        do(db, service.reopen, dispatcher, incident.id, "", clock)
    do(db, service.reopen, dispatcher, incident.id, "suspect back at the bar", clock)
    incident = reload(db, incident)
    assert (incident.status, incident.result, incident.closed_at) == ("open", None, None)
    with db.read() as session:
        reopened = queries.last_log_entry(session, incident.id, "reopened")
    assert reopened.data["closed"]["summary"] == "area searched"


def test_another_forces_incident_is_not_found_for_every_rule(db, clock, handler, supervisor):
    incident = make_incident(db, clock, handler)
    outsider = person("supervisor", force_id="west-midlands")
    for call in (
        lambda s: service.assess(s, outsider, incident.id, "1", THRIVE, None, clock),
        lambda s: service.change_attendance(s, outsider, incident.id, "delay", "x", clock),
        lambda s: service.close_incident(s, outsider, incident.id, "assault", "resolved", "x", clock),
        lambda s: service.add_note(s, outsider, incident.id, "x", clock),
        lambda s: service.incident_detail(s, outsider, incident.id, clock),
    ):
        with pytest.raises(NotFound), db.unit_of_work() as session:
            call(session)
    with db.read() as session:
        assert session.scalars(select(Task)).all() == []


# ---------------------------------------------------------------- the rules on a timer


def test_the_runtime_runs_the_sweep_and_publishes_what_it_found(db, clock, handler):
    import asyncio
    import threading

    from bluelamp.command.runtime import CommandRuntime

    incident = make_incident(db, clock, handler, category="robbery", grade="1")
    clock.advance(timedelta(minutes=16))
    heard = []

    async def run_until_heard():
        runtime = CommandRuntime(db, clock, heard.append, sweep_seconds=0)
        await runtime.start()
        for _ in range(1000):
            if heard:
                break
            await asyncio.sleep(0.01)
        await runtime.stop()

    # In a thread of its own: a browser test earlier in the session may leave an event
    # loop running in this one (Playwright's sync API).
    worker = threading.Thread(target=asyncio.run, args=(run_until_heard(),))
    worker.start()
    worker.join(timeout=60)
    assert {(e.data["incident_id"], e.data["what"]) for e in heard} == {
        (incident.id, "reassessment_due"),
        (incident.id, "breach"),
    }
    assert reload(db, incident).breach_cause == "no unit assigned"
