"""Intelligence graded 3x5x2: the grading's rules (handling code C needs written
conditions), the sanitised text everyone with intelligence.read sees, the source only the
source-handling role reads (audited apart), subjects linked, force and marking scoping,
and the API's problem details."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bluelamp.access.model import AuditEntry
from bluelamp.clock import FixedClock
from bluelamp.errors import Denied, InvalidInput, NotFound
from bluelamp.records import intelligence
from bluelamp.records.model import Intelligence, Link
from tests.factories.access import bearer, ensure_force, make_user
from tests.factories.records import make_person, officer
from tests.test_records_crime import assert_problem, do, wire

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
REPORT = {
    "summary": "drugs supplied from a flat on Eastgate Street",
    "sanitised_text": "Cannabis is being sold from the first-floor flat most evenings after 8 pm.",
    "source_evaluation": "2",
    "intelligence_assessment": "B",
    "handling_code": "C",
    "handling_conditions": "Not to be disclosed to the housing association without the SIO's approval.",
    "source_reference": "CHIS-0457",
    "source_details": "Neighbour at number 14; sees buyers from her window.",
}


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture(autouse=True)
def forces(db):
    ensure_force(db, "staffordshire")
    ensure_force(db, "west-yorkshire")


@pytest.fixture
def api(app):
    from fastapi.testclient import TestClient

    wire(app)
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


def submit(db, clock, actor=None, **changes) -> intelligence.IntelligenceView:
    command = intelligence.NewIntelligence(**{**REPORT, **changes})
    return do(db, intelligence.create_intelligence, actor or officer("intelligence_analyst"), command, clock)


def audit_actions(db, record_id) -> list[tuple[str, str, str | None]]:
    with db.read() as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.record_id == record_id).order_by(AuditEntry.seq))
        return [(a.action, a.actor, a.reason) for a in rows]


# ---------------------------------------------------------------- grading


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"source_evaluation": "4"}, "source_evaluation", "intelligence.invalid_grading"),
        ({"source_evaluation": ""}, "source_evaluation", "intelligence.invalid_grading"),
        ({"intelligence_assessment": "F"}, "intelligence_assessment", "intelligence.invalid_grading"),
        ({"handling_code": "X"}, "handling_code", "intelligence.invalid_grading"),
        ({"handling_conditions": "  "}, "handling_conditions", "intelligence.conditions_required"),
        ({"handling_code": "P"}, "handling_conditions", "intelligence.conditions_required"),
        ({"sanitised_text": ""}, "sanitised_text", "input.invalid"),
    ],
    ids=[
        "source-4",
        "source-missing",
        "assessment-F",
        "handling-X",
        "C-without-conditions",
        "P-with-conditions",
        "no-text",
    ],
)
def test_a_report_graded_outside_3x5x2_is_refused_and_nothing_is_written(db, clock, changes, field, code):
    with pytest.raises(InvalidInput) as caught:
        submit(db, clock, **changes)
    assert [p.field for p in caught.value.problems] == [field]
    assert caught.value.code == code
    with db.read() as session:
        assert session.scalars(select(Intelligence)).all() == []


def test_every_grading_problem_is_listed_at_once(db, clock):
    with pytest.raises(InvalidInput) as caught:
        submit(db, clock, source_evaluation="9", intelligence_assessment="z", handling_conditions="")
    assert {p.field for p in caught.value.problems} == {
        "source_evaluation",
        "intelligence_assessment",
        "handling_conditions",
    }


def test_a_graded_report_is_kept_with_its_source_apart(db, clock):
    view = submit(db, clock, intelligence_assessment="b", handling_code="c")
    assert view.grading == "2B C"
    assert view.has_source is True
    assert view.event.kind == "intelligence" and view.event.reference.startswith("SP-IR-2026-")
    assert not hasattr(view, "source_reference") and not hasattr(view, "source_details")
    with db.read() as session:
        row = session.get(Intelligence, view.event.id)
        assert (row.source_reference, row.handling_code) == ("CHIS-0457", "C")
    plain = submit(db, clock, handling_code="P", handling_conditions=None, source_reference=None, source_details=None)
    assert (plain.grading, plain.has_source, plain.handling_conditions) == ("2B P", False, None)


def test_the_persons_a_report_is_about_are_linked_as_subjects(db, clock):
    subject = make_person(db, given_names="Kyle", family_name="Mason")
    view = submit(db, clock, subjects=(("person", subject.id),))
    with db.read() as session:
        links = session.scalars(select(Link).where(Link.to_id == view.event.id, Link.role == "subject_of")).all()
        assert [(link.from_type, link.from_id) for link in links] == [("person", subject.id)]


# ---------------------------------------------------------------- who sees what


def test_everyone_with_intelligence_read_sees_grading_and_sanitised_text_only(db, clock):
    view = submit(db, clock)
    for role in ("investigator", "intelligence_analyst", "source_handler"):
        seen = do(db, intelligence.get_intelligence, officer(role), view.event.id, clock)
        assert seen.sanitised_text == REPORT["sanitised_text"] and seen.grading == "2B C"
        assert seen.handling_conditions == REPORT["handling_conditions"]
    with pytest.raises(Denied):
        do(db, intelligence.get_intelligence, officer("response_officer"), view.event.id, clock)


def test_only_the_source_handling_role_reads_the_source_and_each_read_is_audited_apart(db, clock):
    view = submit(db, clock)
    for role in ("investigator", "intelligence_analyst"):
        with pytest.raises(Denied):
            do(db, intelligence.read_source, officer(role), view.event.id, clock)
    handler = officer("source_handler", name="sh-taylor", reason="source welfare review")
    source = do(db, intelligence.read_source, handler, view.event.id, clock)
    assert (source.source_reference, source.source_details) == ("CHIS-0457", REPORT["source_details"])
    do(db, intelligence.get_intelligence, handler, view.event.id, clock)
    actions = [a for a in audit_actions(db, view.event.id) if a[1] == "sh-taylor"]
    assert actions == [
        ("intelligence.source_read", "sh-taylor", "source welfare review"),
        ("intelligence.read", "sh-taylor", "source welfare review"),
    ]


def test_reading_a_report_asks_for_a_reason(db, clock):
    view = submit(db, clock)
    with pytest.raises(Denied) as caught:
        do(db, intelligence.get_intelligence, officer(reason=None), view.event.id, clock)
    assert caught.value.code == "access.reason_required"


def test_reports_of_another_force_or_above_clearance_answer_like_missing_ones(db, clock):
    theirs = submit(db, clock, officer("intelligence_analyst", force_id="west-yorkshire"))
    secret = submit(db, clock, officer("intelligence_analyst", clearance="SECRET"), marking="SECRET")
    for hidden in (theirs.event.id, secret.event.id):
        with pytest.raises(NotFound) as caught:
            do(db, intelligence.get_intelligence, officer(), hidden, clock)
        assert caught.value.detail == f"no intelligence report {hidden!r}"
        with pytest.raises(NotFound):
            do(db, intelligence.read_source, officer("source_handler"), hidden, clock)
    with db.read() as session:
        listed = intelligence.list_intelligence(session, officer())
    assert listed == []


# ---------------------------------------------------------------- the API


def test_intelligence_over_http_never_shows_the_source_outside_the_source_role(api, db):
    analyst = bearer(db, make_user(db, "intelligence_analyst"))
    response = api.post("/api/v1/intelligence", json=REPORT, headers=analyst)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["grading"] == "2B C" and created["has_source"] is True
    assert "CHIS-0457" not in response.text and "number 14" not in response.text
    reason = {"X-Bluelamp-Reason": "briefing for the drugs warrant"}
    read = api.get(f"/api/v1/intelligence/{created['id']}", headers={**analyst, **reason})
    assert read.status_code == 200 and "CHIS-0457" not in read.text
    assert read.json()["intelligence_assessment_meaning"] == "known indirectly to the source but corroborated"
    assert_problem(api.get(f"/api/v1/intelligence/{created['id']}/source", headers=analyst), 403, "access.denied")
    handler = bearer(db, make_user(db, "source_handler"))
    source = api.get(f"/api/v1/intelligence/{created['id']}/source", headers={**handler, **reason})
    assert source.status_code == 200, source.text
    assert source.json()["source_reference"] == "CHIS-0457"
    listed = api.get("/api/v1/intelligence", headers=analyst).json()
    assert [r["grading"] for r in listed] == ["2B C"] and "sanitised_text" not in listed[0]


def test_a_c_report_without_conditions_is_a_problem_detail(api, db):
    analyst = bearer(db, make_user(db, "intelligence_analyst"))
    body = assert_problem(
        api.post("/api/v1/intelligence", json={**REPORT, "handling_conditions": None}, headers=analyst),
        422,
        "intelligence.conditions_required",
    )
    assert [e["field"] for e in body["errors"]] == ["handling_conditions"]
    body = assert_problem(
        api.post("/api/v1/intelligence", json={**REPORT, "source_evaluation": "5", "summary": ""}, headers=analyst),
        422,
        "intelligence.invalid_grading",
    )
    assert [e["field"] for e in body["errors"]] == ["source_evaluation"]


def make_report(db, force_id: str) -> str:
    """An intelligence report in a force (the permission matrix's record of another force)."""
    from bluelamp.clock import Clock

    ensure_force(db, force_id)
    return submit(db, Clock(), officer("intelligence_analyst", force_id=force_id)).event.id
