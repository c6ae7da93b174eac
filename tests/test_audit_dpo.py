"""The data protection officer's audit log: search by user, record, action and time within
their own force, newest first and paginated; who viewed a record; the chain's status.
Searching the log is itself audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from bluelamp.access import audit, service, sessions
from bluelamp.access.audit import Audit, Outcome
from bluelamp.clock import Clock
from tests.conftest import BACKEND
from tests.factories.access import bearer, make_user
from tests.test_web import assert_problem

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)  # 10:00 British Summer Time


class SteppingClock(Clock):
    """Each reading one minute after the last, from T0, so entries have distinct known times."""

    def __init__(self) -> None:
        self.current = T0

    def now(self) -> datetime:
        self.current += timedelta(minutes=1)
        return self.current


@pytest.fixture
def api(app):
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def force(db):
    """Two Staffordshire officers viewing person records, and a West Yorkshire one viewing the same id."""
    officers = {
        "jones": make_user(db, "response_officer", username="pc-jones"),
        "patel": make_user(db, "investigator", username="dc-patel"),
        "yorks": make_user(db, "investigator", username="dc-yorks", force_id="west-yorkshire"),
    }
    clock = SteppingClock()
    with db.unit_of_work() as session:

        def view(who, person, outcome=Outcome.OK):
            actor = service.actor_for_user(session, officers[who], ip="10.0.0.7", reason="incident SP-1")
            audit.append(session, actor, Audit("person.read", outcome, "person", person), clock)

        view("jones", "p-1")  # 09:01
        view("patel", "p-1")  # 09:02
        view("jones", "p-2")  # 09:03
        view("jones", "p-1")  # 09:04
        view("yorks", "p-1")  # 09:05, another force: not in Staffordshire's log
        view("patel", "p-1", Outcome.DENIED)  # 09:06
    return officers


@pytest.fixture
def dpo(db):
    return bearer(db, make_user(db, "data_protection_officer", username="dpo-clarke"))


def audit_searches(db) -> list[dict]:
    with db.read() as session:
        rows = session.scalars(text("SELECT detail FROM access_audit WHERE action = 'audit.search' ORDER BY seq"))
        return [json.loads(detail) for detail in rows]


def test_a_dpo_finds_the_entries_of_a_user_newest_first_within_their_force(db, api, force, dpo):
    response = api.get("/api/v1/audit", params={"user": "pc-jones", "action": "person.read"}, headers=dpo)
    assert response.status_code == 200
    entries = response.json()["entries"]
    assert [(e["actor"], e["record_id"]) for e in entries] == [
        ("pc-jones", "p-1"),
        ("pc-jones", "p-2"),
        ("pc-jones", "p-1"),
    ]
    assert entries[0]["reason"] == "incident SP-1" and entries[0]["ip"] == "10.0.0.7"
    assert entries[0]["seq"] > entries[1]["seq"] > entries[2]["seq"]
    other_force = api.get("/api/v1/audit", params={"user": "dc-yorks"}, headers=dpo).json()["entries"]
    assert other_force == []


def test_a_dpo_searches_by_record_and_time_range(db, api, force, dpo):
    params = {"record_type": "person", "record_id": "p-1", "since": "2026-07-01T09:02:00Z", "until": "2026-07-01T09:05"}
    entries = api.get("/api/v1/audit", params=params, headers=dpo).json()["entries"]
    assert [(e["actor"], e["at"][11:16]) for e in entries] == [("pc-jones", "09:04"), ("dc-patel", "09:02")]
    bad = api.get("/api/v1/audit", params={"since": "yesterday"}, headers=dpo)
    assert assert_problem(bad, 422, "input.invalid")["errors"][0]["field"] == "since"
    backwards = api.get("/api/v1/audit", params={"since": "2026-07-02", "until": "2026-07-01"}, headers=dpo)
    assert assert_problem(backwards, 422, "input.invalid")["errors"][0]["field"] == "until"


def test_results_are_paginated_without_gaps_or_repeats(db, api, force, dpo):
    params = {"action": "person.read"}
    first = api.get("/api/v1/audit", params={**params, "limit": 2}, headers=dpo).json()
    assert len(first["entries"]) == 2 and first["next_before"] == first["entries"][-1]["seq"]
    second = api.get("/api/v1/audit", params={**params, "limit": 2, "before": first["next_before"]}, headers=dpo).json()
    third = api.get("/api/v1/audit", params={**params, "limit": 2, "before": second["next_before"]}, headers=dpo).json()
    assert third["next_before"] is None
    seen = [e["seq"] for page in (first, second, third) for e in page["entries"]]
    everything = [e["seq"] for e in api.get("/api/v1/audit", params=params, headers=dpo).json()["entries"]]
    assert seen == everything and len(everything) == 5


def test_every_search_of_the_log_is_itself_audited_with_its_terms(db, api, force, dpo):
    api.get("/api/v1/audit", params={"user": "pc-jones", "record_type": "person", "record_id": "p-1"}, headers=dpo)
    api.get("/api/v1/audit/viewers", params={"record_type": "person", "record_id": "p-2"}, headers=dpo)
    first, second = audit_searches(db)[-2:]
    assert first["user"] == "pc-jones" and first["record_type"] == "person" and first["record_id"] == "p-1"
    assert first["force"] == "staffordshire"
    assert second == {"who_viewed": True, "record_type": "person", "record_id": "p-2"}


def test_who_viewed_a_record_lists_each_user_with_first_and_last_access_and_counts(db, api, force, dpo):
    response = api.get("/api/v1/audit/viewers", params={"record_type": "person", "record_id": "p-1"}, headers=dpo)
    assert response.status_code == 200
    viewers = {v["actor"]: v for v in response.json()}
    assert set(viewers) == {"pc-jones", "dc-patel"}  # not dc-yorks of West Yorkshire
    jones, patel = viewers["pc-jones"], viewers["dc-patel"]
    assert (jones["count"], jones["first_at"][11:16], jones["last_at"][11:16], jones["refused"]) == (
        2,
        "09:01",
        "09:04",
        0,
    )
    assert (patel["count"], patel["first_at"][11:16], patel["last_at"][11:16], patel["refused"]) == (
        2,
        "09:02",
        "09:06",
        1,
    )
    assert jones["actions"] == ["person.read"]
    assert [v["actor"] for v in response.json()] == ["dc-patel", "pc-jones"]  # most recent first
    nobody = api.get("/api/v1/audit/viewers", params={"record_type": "person", "record_id": "p-9"}, headers=dpo)
    assert nobody.json() == []


def test_audit_verify_reports_an_intact_chain_and_the_first_edited_entry(db, api, dpo):
    make_user(db, "dispatcher")
    response = api.get("/api/v1/audit/verify", headers=dpo)
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True and body["checked"] == body["head_seq"] > 0 and body["problem"] is None
    with db.unit_of_work() as session:
        if BACKEND == "postgresql":
            session.execute(text("ALTER TABLE access_audit DISABLE TRIGGER USER"))
        else:
            session.execute(text("DROP TRIGGER IF EXISTS access_audit_no_update"))
        session.execute(text("UPDATE access_audit SET actor = 'someone-else' WHERE seq = :s"), {"s": body["head_seq"]})
    broken = api.get("/api/v1/audit/verify", headers=dpo).json()
    assert broken["ok"] is False and broken["first_bad_seq"] == body["head_seq"]
    assert "was edited" in broken["problem"]


def test_a_platform_admin_verifies_the_chain_but_cannot_read_the_log(db, api):
    platform = bearer(db, make_user(db, "platform_admin", force_id=None))
    assert api.get("/api/v1/audit/verify", headers=platform).json()["ok"] is True
    assert_problem(api.get("/api/v1/audit", headers=platform), 403, "access.denied")


# ---------------------------------------------------------------- the page


@pytest.fixture
def dpo_browser(db, app):
    """A signed-in DPO's browser (session made directly; the sign-in page is tested elsewhere)."""
    user = make_user(db, "data_protection_officer", username="dpo-page")
    with db.unit_of_work() as session:
        token, _ = sessions.start_session(
            session, user, ip="testclient", user_agent="test", clock=Clock(), policy=sessions.SessionPolicy()
        )
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        client.cookies.set("bl_session", token)
        client.headers["Accept"] = "text/html"
        yield client


def test_the_audit_page_searches_by_user_and_shows_the_entries(db, dpo_browser, force):
    page = dpo_browser.get("/audit", params={"user": "pc-jones", "action": "person.read"})
    assert page.status_code == 200
    assert page.text.count('<tr data-seq="') == 3
    assert "incident SP-1" in page.text and "10.0.0.7" in page.text
    assert 'value="pc-jones"' in page.text
    assert audit_searches(db)[-1]["user"] == "pc-jones"


def test_the_audit_page_reads_times_as_uk_time_and_shows_bad_ones_next_to_the_field(db, dpo_browser, force):
    # 10:02 to 10:05 British Summer Time is 09:02 to 09:05 UTC: pc-jones's views at 09:03 and 09:04 UTC.
    page = dpo_browser.get(
        "/audit", params={"since": "2026-07-01T10:02", "until": "2026-07-01T10:05", "user": "pc-jones"}
    )
    assert page.text.count('<tr data-seq="') == 2
    assert "2026-07-01 10:04" in page.text  # shown in UK time too
    bad = dpo_browser.get("/audit", params={"since": "soon"})
    assert bad.status_code == 422
    assert 'data-testid="since-error"' in bad.text and "2026-03-01" in bad.text


def test_the_who_viewed_page_lists_each_user_once(db, dpo_browser, force):
    page = dpo_browser.get("/audit/record", params={"record_type": "person", "record_id": "p-1"})
    assert page.status_code == 200
    assert page.text.count('<tr data-actor="') == 2
    assert 'data-actor="pc-jones"' in page.text and 'data-actor="dc-yorks"' not in page.text


def test_the_verify_button_shows_the_chain_status(db, dpo_browser):
    make_user(db, "dispatcher")
    fragment = dpo_browser.get("/audit/verify", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "The audit chain is intact" in fragment.text and "<html" not in fragment.text
    whole = dpo_browser.get("/audit/verify")
    assert "The audit chain is intact" in whole.text and "<html" in whole.text


def test_people_without_the_audit_role_are_refused_the_page(db, app):
    user = make_user(db, "force_admin")
    with db.unit_of_work() as session:
        token, _ = sessions.start_session(
            session, user, ip="testclient", user_agent="test", clock=Clock(), policy=sessions.SessionPolicy()
        )
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        client.cookies.set("bl_session", token)
        page = client.get("/audit", headers={"Accept": "text/html"})
        assert page.status_code == 403 and "Not allowed" in page.text
        assert "/audit" not in client.get("/", headers={"Accept": "text/html"}).text.split("<main")[0]
