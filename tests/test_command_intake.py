"""Intake in the service layer: a call becomes an incident with a reference, THRIVE,
grade and target; bad input is refused with nothing written; the same call twice is
one incident; a second caller joins an existing incident; duplicates are offered;
grade 3 books a slot."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bluelamp.access.model import AuditEntry
from bluelamp.clock import FixedClock, to_local
from bluelamp.command import duplicates, queries, service
from bluelamp.command.commands import CallerDetails
from bluelamp.command.model import Appointment, Assessment, Call, Incident, LogEntry, ReferenceCounter
from bluelamp.errors import Conflict, InvalidInput, NotFound
from tests.factories.access import ensure_force
from tests.factories.command import (
    LEEK_MOORS,
    MANCHESTER,
    MORNING,
    STAFFORD,
    THRIVE,
    configure_force,
    make_incident,
    new_call,
    person,
    staffordshire,
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MORNING)


@pytest.fixture
def handler():
    return person("call_handler", "handler")


def create(db, actor, clock, **changes):
    with db.unit_of_work() as session:
        return service.create_incident(session, actor, new_call(**changes), clock)


def count(db, model) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- a new incident


def test_a_call_becomes_an_incident_with_the_forces_reference_for_the_local_day(db, clock, handler):
    staffordshire(db)
    first = create(db, handler, clock)
    second = create(db, handler, clock)
    assert first.created and not first.attached
    assert first.incident.reference == "SP-20260108-0001"
    assert second.incident.reference == "SP-20260108-0002"
    clock.advance(timedelta(days=1))
    assert create(db, handler, clock).incident.reference == "SP-20260109-0001"


def test_the_reference_day_is_the_london_day_not_the_utc_day(db, handler):
    staffordshire(db)
    clock = FixedClock(datetime(2026, 6, 30, 23, 30, tzinfo=UTC))  # 00:30 on 1 July in BST
    assert create(db, handler, clock).incident.reference == "SP-20260701-0001"


def test_each_force_counts_its_own_references(db, clock, handler):
    staffordshire(db)
    ensure_force(db, "west-midlands", "West Midlands Police")
    create(db, handler, clock)
    other = create(db, person("call_handler", force_id="west-midlands"), clock, lat=52.48, lon=-1.9)
    assert other.incident.reference == "WMP-20260108-0001"


def test_a_new_incident_records_call_thrive_target_log_and_audit(db, clock, handler):
    staffordshire(db)
    intake = create(db, handler, clock, qualifiers=("alcohol", "violence"))
    incident = intake.incident
    with db.read() as session:
        call = session.get(Call, intake.call.id)
        assert (call.caller_name, call.caller_phone, call.callback_consent) == ("Sam Caller", "07700 900123", True)
        assessment = session.get(Assessment, incident.assessment_id)
        assert (assessment.grade, assessment.threat, assessment.engagement) == ("2", THRIVE.threat, THRIVE.engagement)
        kinds = [e.kind for e in queries.log_in_order(session, incident.id)]
        audited = session.scalars(select(AuditEntry.action).where(AuditEntry.record_id == incident.id)).all()
    assert incident.qualifiers == ["alcohol", "violence"]
    assert incident.status == "open" and incident.grade == "2" and incident.area_kind == "urban"
    assert incident.target_at == MORNING + timedelta(minutes=60)
    assert incident.reassess_at == MORNING + timedelta(minutes=45)
    assert kinds == ["created", "assessed", "target"]
    assert "incident.create" in audited
    assert [e.name for e in intake.events] == ["IncidentChanged"]
    assert intake.events[0].data["what"] == "created"


def test_urban_and_rural_targets_follow_the_location(db, clock, handler):
    staffordshire(db)
    town = create(db, handler, clock, category="robbery", grade="1").incident
    moors = create(db, handler, clock, category="robbery", grade="1", lat=LEEK_MOORS[0], lon=LEEK_MOORS[1]).incident
    assert (town.area_kind, town.target_minutes) == ("urban", 15)
    assert (moors.area_kind, moors.target_minutes) == ("rural", 20)
    assert moors.target_at == MORNING + timedelta(minutes=20)


def test_the_grade_defaults_from_the_category(db, clock, handler):
    staffordshire(db)
    incident = create(db, handler, clock, category="firearms_incident", grade=None).incident
    assert incident.grade == "1"


# ---------------------------------------------------------------- bad input: clear errors, nothing written


def refused(db, actor, clock, **changes) -> InvalidInput:
    before = (count(db, Incident), count(db, Call), count(db, LogEntry))
    with pytest.raises(InvalidInput) as caught:
        create(db, actor, clock, **changes)
    assert (count(db, Incident), count(db, Call), count(db, LogEntry)) == before, "a refused call wrote rows"
    return caught.value


def test_a_call_without_a_location_is_refused(db, clock, handler):
    staffordshire(db)
    error = refused(db, handler, clock, lat=None, lon=None)
    assert error.code == "incident.location_required"
    assert [p.field for p in error.problems] == ["location"]


def test_impossible_coordinates_are_refused(db, clock, handler):
    staffordshire(db)
    error = refused(db, handler, clock, lat=95.0, lon=float("nan"))
    assert {p.field for p in error.problems} == {"lat", "lon"}


def test_a_location_outside_the_force_area_needs_a_reason(db, clock, handler):
    staffordshire(db)
    error = refused(db, handler, clock, lat=MANCHESTER[0], lon=MANCHESTER[1])
    assert error.code == "incident.outside_area"
    assert error.problems[0].field == "outside_area_reason"
    intake = create(
        db, handler, clock, lat=MANCHESTER[0], lon=MANCHESTER[1], outside_area_reason="suspect fled over the border"
    )
    assert intake.incident.outside_area_reason == "suspect fled over the border"
    assert any("outside the force area" in w for w in intake.warnings)


def test_an_unknown_category_or_qualifier_is_refused(db, clock, handler):
    staffordshire(db)
    assert refused(db, handler, clock, category="alien_landing").code == "incident.unknown_category"
    error = refused(db, handler, clock, qualifiers=("sparkly",))
    assert error.problems[0].field == "qualifiers"


def test_a_category_without_a_default_grade_needs_one(db, clock, handler):
    staffordshire(db)
    error = refused(db, handler, clock, category="theft", grade=None)
    assert [p.field for p in error.problems] == ["grade"]
    assert refused(db, handler, clock, grade="5").problems[0].field == "grade"


@pytest.mark.parametrize("grade", ["1", "2", "3", "4"])
def test_every_grade_needs_all_of_thrive(db, clock, handler, grade):
    staffordshire(db)
    error = refused(db, handler, clock, grade=grade, thrive=replace(THRIVE, harm="  ", engagement=""))
    assert error.code == "incident.thrive_required"
    assert [p.field for p in error.problems] == ["thrive.harm", "thrive.engagement"]
    assert refused(db, handler, clock, grade=grade, thrive=None).code == "incident.thrive_required"


def test_an_unknown_source_is_refused(db, clock, handler):
    staffordshire(db)
    assert refused(db, handler, clock, source="carrier pigeon").problems[0].field == "source"


def test_several_problems_come_back_together(db, clock, handler):
    staffordshire(db)
    error = refused(db, handler, clock, lat=None, lon=None, category="nope", thrive=None)
    assert error.code == "input.invalid"
    assert {p.field for p in error.problems} == {"location", "category", "thrive"}


# ---------------------------------------------------------------- the same call twice


def test_the_same_call_submitted_twice_is_one_incident(db, clock, handler):
    staffordshire(db)
    first = create(db, handler, clock, idempotency_key="call-7731")
    again = create(db, handler, clock, idempotency_key="call-7731")
    assert again.created is False and again.attached is False
    assert (again.incident.id, again.call.id) == (first.incident.id, first.call.id)
    assert again.events == []
    assert (count(db, Incident), count(db, Call)) == (1, 1)


def test_a_concurrent_duplicate_submission_is_caught_by_the_unique_key(db, clock, handler, monkeypatch):
    """Two requests with one key: the second looked before the first committed. Its insert
    hits the unique constraint, and it answers with the first's incident instead."""
    staffordshire(db)
    first = create(db, handler, clock, idempotency_key="race-1")
    real = queries.call_by_idempotency_key
    missed = []

    def not_yet_committed(session, force_id, key):
        if not missed:
            missed.append(key)
            return None
        return real(session, force_id, key)

    monkeypatch.setattr(queries, "call_by_idempotency_key", not_yet_committed)
    again = create(db, handler, clock, idempotency_key="race-1")
    assert missed == ["race-1"]
    assert again.created is False and again.incident.id == first.incident.id
    assert (count(db, Incident), count(db, Call)) == (1, 1)
    monkeypatch.undo()
    assert create(db, handler, clock).incident.reference == "SP-20260108-0002", "the lost race used up a number"


# ---------------------------------------------------------------- another caller about the same incident


def test_a_second_caller_is_attached_as_their_own_call(db, clock, handler):
    staffordshire(db)
    incident = create(db, handler, clock).incident
    clock.advance(timedelta(minutes=3))
    joined = create(
        db,
        handler,
        clock,
        attach_to=incident.id,
        category="",
        grade=None,
        thrive=None,
        description="two men fighting",
        caller=CallerDetails("Alex Witness", "07700 900456"),
        idempotency_key="call-2",
    )
    assert joined.attached and joined.created and joined.incident.id == incident.id
    with db.read() as session:
        calls = queries.calls_of(session, [incident.id])
        kinds = [e.kind for e in queries.log_in_order(session, incident.id)]
    assert [c.caller_name for c in calls] == ["Sam Caller", "Alex Witness"]
    assert kinds[-1] == "call_attached"
    assert count(db, Incident) == 1
    replayed = create(db, handler, clock, attach_to=incident.id, idempotency_key="call-2")
    assert replayed.created is False and replayed.attached is True and replayed.call.id == joined.call.id


def test_a_call_cannot_join_a_closed_or_another_forces_incident(db, clock, handler):
    staffordshire(db)
    incident = create(db, handler, clock).incident
    with db.unit_of_work() as session:
        service.close_incident(
            session, person("dispatcher"), incident.id, "assault", "advice_given", "words of advice", clock
        )
    with pytest.raises(Conflict) as caught:
        create(db, handler, clock, attach_to=incident.id)
    assert caught.value.code == "incident.inactive"
    ensure_force(db, "west-midlands")
    with pytest.raises(NotFound):
        create(db, person("call_handler", force_id="west-midlands"), clock, attach_to=incident.id)


# ---------------------------------------------------------------- duplicates offered at intake


def find(db, actor, clock, category="assault", lat=STAFFORD[0], lon=STAFFORD[1], **kwargs):
    with db.read() as session:
        return duplicates.find_duplicates(session, actor, category, lat, lon, clock, **kwargs)


def test_duplicates_are_active_incidents_near_in_place_and_time_nearest_first(db, clock, handler):
    staffordshire(db)
    # assault: 400 m and 60 minutes
    far = create(db, handler, clock, lat=STAFFORD[0] + 0.0030).incident  # ~330 m north
    near = create(db, handler, clock, lat=STAFFORD[0] + 0.0010, category="violence_in_progress", grade="1").incident
    create(db, handler, clock, lat=STAFFORD[0] + 0.0060)  # ~670 m: outside the radius
    closed = create(db, handler, clock).incident
    with db.unit_of_work() as session:
        service.close_incident(session, person("dispatcher"), closed.id, "assault", "no_trace", "gone", clock)
    clock.advance(timedelta(minutes=20))
    found = find(db, handler, clock)
    assert [d.incident.id for d in found] == [near.id, far.id]
    assert 100 < found[0].distance_m < 125 and found[0].age_minutes == 20
    assert find(db, handler, clock, exclude_id=near.id)[0].incident.id == far.id
    clock.advance(timedelta(minutes=41))
    assert find(db, handler, clock) == [], "older than the category's window"


def test_the_new_calls_category_sets_the_window(db, clock, handler):
    staffordshire(db)
    create(db, handler, clock, category="missing_person", grade="2")
    clock.advance(timedelta(hours=5))
    assert find(db, handler, clock, category="assault") == []
    assert len(find(db, handler, clock, category="missing_person")) == 1  # 24 hours, 2 km
    assert find(db, handler, clock, category="fraud") == [], "fraud is never a duplicate by place"


def test_duplicates_only_show_what_the_handler_may_see(db, clock, handler):
    staffordshire(db)
    configure_force(db, "west-midlands")
    create(db, person("call_handler", force_id="west-midlands"), clock)
    create(db, person("supervisor", clearance="SECRET"), clock, marking="SECRET")
    assert find(db, handler, clock) == []
    assert len(find(db, person("call_handler", clearance="SECRET"), clock)) == 1


def test_a_duplicate_check_needs_a_known_category_and_a_location(db, clock, handler):
    staffordshire(db)
    with pytest.raises(InvalidInput) as caught:
        find(db, handler, clock, category="nope")
    assert caught.value.code == "incident.unknown_category"
    with pytest.raises(InvalidInput) as caught:
        find(db, handler, clock, lat=None, lon=None)
    assert caught.value.code == "incident.location_required"


# ---------------------------------------------------------------- grade 3 books a slot


def test_a_grade_3_incident_books_the_earliest_free_slot_at_intake(db, clock, handler):
    staffordshire(db, appointments={"slot_minutes": 60, "per_slot": 1, "first_hour": 8, "last_hour": 20})
    first = create(db, handler, clock, category="theft", grade="3")
    second = create(db, handler, clock, category="theft", grade="3")
    assert first.incident.status == "scheduled" and first.appointment is not None
    # 09:00 now; the earliest slot starts two hours later, at 11:00 local.
    assert to_local(first.appointment.starts_at).strftime("%H:%M") == "11:00"
    assert to_local(second.appointment.starts_at).strftime("%H:%M") == "12:00", "the 11:00 slot is full"
    assert second.appointment.ends_at <= second.incident.target_at
    with db.read() as session:
        assert session.get(Incident, first.incident.id).appointment_id == first.appointment.id


def test_a_grade_3_call_can_book_the_slot_the_caller_chose(db, clock, handler):
    staffordshire(db)
    wanted = datetime(2026, 1, 9, 14, 0, tzinfo=UTC)
    with db.unit_of_work() as session:
        intake = service.create_incident(
            session, handler, new_call(category="theft", grade="3"), clock, appointment_at=wanted
        )
    assert intake.appointment.starts_at == wanted
    with pytest.raises(InvalidInput) as caught, db.unit_of_work() as session:
        service.create_incident(
            session, handler, new_call(category="theft", grade="3"), clock, appointment_at=wanted + timedelta(minutes=7)
        )
    assert caught.value.code == "appointment.not_a_slot"


def test_grade_3_with_no_free_slot_stays_open_and_says_so(db, clock, handler):
    staffordshire(db, appointments={"slot_minutes": 60, "per_slot": 1, "first_hour": 8, "last_hour": 9})
    clock.advance(timedelta(hours=1))  # 10:00: today's only slot has gone; tomorrow's and the next day's remain
    booked = [create(db, handler, clock, category="theft", grade="3") for _ in range(3)]
    assert [b.incident.status for b in booked] == ["scheduled", "scheduled", "open"]
    assert any("no free appointment slot" in w for w in booked[2].warnings)
    assert count(db, Appointment) == 2


# ---------------------------------------------------------------- markings


def test_an_incident_above_the_handlers_clearance_is_not_found(db, clock, handler):
    staffordshire(db)
    secret = make_incident(db, clock, person("supervisor", clearance="SECRET"), marking="SECRET")
    with db.unit_of_work() as session, pytest.raises(NotFound):
        service.get_incident(session, handler, secret.id, clock)
    with db.unit_of_work() as session:
        assert service.get_incident(session, person("dispatcher", clearance="SECRET"), secret.id, clock).id == secret.id


def test_nobody_creates_an_incident_marked_above_their_clearance(db, clock, handler):
    staffordshire(db)
    assert refused(db, handler, clock, marking="SECRET").problems[0].field == "marking"


def test_the_counter_row_holds_the_last_number_of_the_day(db, clock, handler):
    staffordshire(db)
    for _ in range(3):
        create(db, handler, clock)
    with db.read() as session:
        counter = session.get(ReferenceCounter, ("staffordshire", "20260108"))
    assert counter.last == 3
