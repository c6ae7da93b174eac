"""The incident log is append-only (the database refuses edits and deletes; a correction
is a new entry), and the record-keeping built on it: notes, the detail view, parent and
child incidents, and merging duplicates reversibly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bluelamp.clock import FixedClock
from bluelamp.command import queries, service
from bluelamp.command.commands import CallerDetails
from bluelamp.command.model import Incident, LogEntry
from bluelamp.errors import Conflict, InvalidInput, NotFound
from tests.factories.command import MORNING, make_incident, new_call, person, send_unit, staffordshire
from tests.factories.tracking import make_unit


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MORNING)


@pytest.fixture
def handler():
    return person("call_handler", "handler")


@pytest.fixture(autouse=True)
def force(db):
    staffordshire(db)


def do(db, fn, *args, **kwargs):
    with db.unit_of_work() as session:
        return fn(session, *args, **kwargs)


def entries(db, incident) -> list[LogEntry]:
    with db.read() as session:
        return queries.log_in_order(session, incident.id)


def reload(db, incident) -> Incident:
    with db.read() as session:
        return session.get(Incident, incident.id)


# ---------------------------------------------------------------- the log


def test_every_change_is_logged_with_who_and_when_in_order(db, clock, handler):
    incident = make_incident(db, clock, handler)
    clock.advance(timedelta(minutes=2))
    do(db, service.add_note, person("dispatcher", "disp"), incident.id, "caller rang back: fight over", clock)
    log = entries(db, incident)
    assert [e.kind for e in log] == ["created", "assessed", "target", "note"]
    assert [e.by for e in log] == ["handler", "handler", "handler", "disp"]
    assert log[-1].at == MORNING + timedelta(minutes=2) and log[-1].text == "caller rang back: fight over"
    assert reload(db, incident).updated_at == log[-1].at


def test_a_note_needs_text(db, clock, handler):
    incident = make_incident(db, clock, handler)
    with pytest.raises(InvalidInput):
        do(db, service.add_note, handler, incident.id, "   ", clock)


def test_a_correction_is_a_new_entry_and_the_original_stays(db, clock, handler):
    incident = make_incident(db, clock, handler)
    note = do(db, service.add_note, handler, incident.id, "suspect wearing a red coat", clock).entry
    clock.advance(timedelta(minutes=1))
    fixed = do(db, service.correct, handler, incident.id, note.id, "the coat was blue", clock).entry
    log = entries(db, incident)
    assert log[-2].id == note.id and log[-2].text == "suspect wearing a red coat"
    assert (log[-1].kind, log[-1].corrects_id) == ("correction", note.id)
    assert fixed.id == log[-1].id and "the coat was blue" in fixed.text


def test_a_correction_must_name_an_entry_of_the_same_incident(db, clock, handler):
    one = make_incident(db, clock, handler)
    other = make_incident(db, clock, handler)
    entry = entries(db, other)[0]
    with pytest.raises(NotFound):
        do(db, service.correct, handler, one.id, entry.id, "wrong incident", clock)


@pytest.mark.parametrize(
    "statement",
    ["UPDATE command_log SET text = 'rewritten' WHERE id = :id", "DELETE FROM command_log WHERE id = :id"],
    ids=["update", "delete"],
)
def test_the_database_refuses_to_edit_or_delete_a_log_entry(db, clock, handler, statement):
    incident = make_incident(db, clock, handler)
    first = entries(db, incident)[0]
    with pytest.raises(DBAPIError) as caught, db.unit_of_work() as session:
        session.execute(text(statement), {"id": first.id})
    assert "append-only" in str(caught.value)
    assert entries(db, incident)[0].text == first.text


# ---------------------------------------------------------------- the detail view


def test_the_detail_holds_calls_assessments_log_tasks_and_assignments_and_is_audited(db, clock, handler):
    from bluelamp.access.model import AuditEntry

    incident = make_incident(db, clock, handler)
    do(db, service.create_incident, handler, new_call(attach_to=incident.id, caller=CallerDetails("B", "0")), clock)
    send_unit(db, incident, clock, unit=make_unit(db, "SF7"))
    do(db, service.change_attendance, handler, incident.id, "delay", "unit diverted", clock)
    viewer = person("dispatcher", "viewer")
    detail = do(db, service.incident_detail, viewer, incident.id, clock)
    assert [c.caller_name for c in detail.calls] == ["Sam Caller", "B"]
    assert [a.grade for a in detail.assessments] == ["2"]
    assert [detail.call_signs[a.unit_id] for a in detail.assignments] == ["SF7"]
    assert {t.kind for t in detail.tasks} == {"call_back"}
    assert detail.log[0].kind == "created" and detail.log == sorted(detail.log, key=lambda e: e.id)
    with db.read() as session:
        reads = session.query(AuditEntry).filter_by(record_id=incident.id, action="incident.read").all()
    assert [r.actor for r in reads] == ["viewer"]


# ---------------------------------------------------------------- parent and child incidents


def test_incidents_link_as_parent_and_child_without_cycles(db, clock, handler):
    major = make_incident(db, clock, handler, description="stadium disorder")
    strand = make_incident(db, clock, handler, description="fight in car park B")
    sub = make_incident(db, clock, handler, description="injured steward")
    do(db, service.link, handler, major.id, strand.id, clock)
    do(db, service.link, handler, strand.id, sub.id, clock)
    assert reload(db, strand).parent_id == major.id
    detail = do(db, service.incident_detail, handler, major.id, clock)
    assert [c.id for c in detail.children] == [strand.id]
    with pytest.raises(Conflict) as caught:
        do(db, service.link, handler, sub.id, major.id, clock)
    assert caught.value.code == "incident.link_cycle"
    with pytest.raises(Conflict) as caught:
        do(db, service.link, handler, major.id, major.id, clock)
    assert caught.value.code == "incident.link_cycle"
    with pytest.raises(Conflict) as caught:
        do(db, service.link, handler, sub.id, strand.id, clock)
    assert caught.value.code == "incident.already_linked"
    do(db, service.unlink, handler, major.id, strand.id, clock)
    assert reload(db, strand).parent_id is None
    with pytest.raises(Conflict) as caught:
        do(db, service.unlink, handler, major.id, strand.id, clock)
    assert caught.value.code == "incident.not_linked"
    kinds = [e.kind for e in entries(db, strand)]
    assert kinds.count("linked") == 2 and kinds[-1] == "unlinked"


def test_incidents_of_another_force_cannot_be_linked(db, clock, handler):
    ours = make_incident(db, clock, handler)
    theirs = make_incident(db, clock, person("call_handler", force_id="west-midlands"), force_id="west-midlands")
    with pytest.raises(NotFound):
        do(db, service.link, handler, ours.id, theirs.id, clock)


# ---------------------------------------------------------------- merging duplicates


def test_a_duplicate_merges_into_the_survivor_and_unmerges_to_what_it_was(db, clock, handler):
    survivor = make_incident(db, clock, handler)
    duplicate = make_incident(db, clock, handler, caller=CallerDetails("Second Caller", "07700 900777"))
    with pytest.raises(InvalidInput):
        do(db, service.merge, handler, duplicate.id, survivor.id, "", clock)
    do(db, service.merge, handler, duplicate.id, survivor.id, "same fight, second caller", clock)
    merged = reload(db, duplicate)
    assert (merged.status, merged.merged_into_id) == ("merged", survivor.id)
    detail = do(db, service.incident_detail, handler, survivor.id, clock)
    assert [c.caller_name for c in detail.calls] == ["Sam Caller", "Second Caller"]
    assert [m.id for m in detail.merged] == [duplicate.id]
    with db.read() as session:
        assert duplicate.id not in [i.id for i in service.queue(session, handler)]
    # attendance changes on the survivor tell the merged duplicate's caller too
    changed = do(db, service.change_attendance, handler, survivor.id, "delay", "no units", clock)
    assert len(changed.tasks) == 2

    do(db, service.unmerge, handler, duplicate.id, "different fight after all", clock)
    restored = reload(db, duplicate)
    assert (restored.status, restored.merged_into_id) == ("open", None)
    assert [e.kind for e in entries(db, duplicate)][-4:] == ["status", "merged", "status", "unmerged"]
    with pytest.raises(Conflict) as caught:
        do(db, service.unmerge, handler, duplicate.id, "again", clock)
    assert caught.value.code == "incident.not_merged"


def test_a_resolved_duplicate_unmerges_to_resolved(db, clock, handler):
    survivor = make_incident(db, clock, handler)
    duplicate = make_incident(db, clock, handler, grade="4")
    do(db, service.change_status, handler, duplicate.id, "resolved", "advice given", clock)
    do(db, service.merge, handler, duplicate.id, survivor.id, "same", clock)
    do(db, service.unmerge, handler, duplicate.id, "not the same", clock)
    assert reload(db, duplicate).status == "resolved"
    with db.read() as session:
        unmerged = queries.last_log_entry(session, duplicate.id, "unmerged")
    assert unmerged.data["restored_status"] == "resolved"


def test_a_duplicate_with_units_assigned_is_not_merged(db, clock, handler):
    survivor = make_incident(db, clock, handler)
    duplicate = make_incident(db, clock, handler)
    send_unit(db, duplicate, clock, unit=make_unit(db, "SF12"), acknowledged=True)
    with pytest.raises(Conflict) as caught:
        do(db, service.merge, handler, duplicate.id, survivor.id, "same", clock)
    assert caught.value.code == "incident.units_assigned" and caught.value.extra == {"units": ["SF12"]}
    assert reload(db, duplicate).status == "dispatched"


def test_merging_into_a_closed_or_merged_incident_is_refused(db, clock, handler):
    closed = make_incident(db, clock, handler)
    do(db, service.close_incident, person("dispatcher"), closed.id, "assault", "no_trace", "gone", clock)
    duplicate = make_incident(db, clock, handler)
    with pytest.raises(Conflict) as caught:
        do(db, service.merge, handler, duplicate.id, closed.id, "same", clock)
    assert caught.value.code == "incident.inactive"
    survivor = make_incident(db, clock, handler)
    do(db, service.merge, handler, duplicate.id, survivor.id, "same", clock)
    third = make_incident(db, clock, handler)
    with pytest.raises(Conflict) as caught:
        do(db, service.merge, handler, third.id, duplicate.id, "same", clock)
    assert caught.value.code == "incident.inactive"
    with pytest.raises(Conflict) as caught:
        do(db, service.merge, handler, survivor.id, third.id, "same", clock)
    assert caught.value.code == "incident.has_merged"
