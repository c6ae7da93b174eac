"""The crime, intelligence and MoPI review pages as a signed-in officer's, supervisor's,
source handler's or data protection officer's browser uses them: a crime with its
classification, NCRS clock and victims' Victims' Code clocks (an overdue one flagged in
words), the NCRS list (late recordings, reports not recorded after 24 hours), the
record-a-crime form (messages next to the fields, nothing typed lost), the log and the
outcome; the overdue-updates list; an intelligence report whose source only a source
handler sees; the review queue's retain and dispose (a tombstone left); another force's
records answering like missing ones; the reason asked before personal data is shown."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bluelamp.access import sessions
from bluelamp.access.model import AuditEntry
from bluelamp.clock import FixedClock
from bluelamp.command import service as incidents
from bluelamp.records import crime, intelligence, mopi, queries, victims
from bluelamp.records.crimes import queries as crime_queries
from bluelamp.records.model import Crime, Person, Review, Tombstone, Victim
from tests.factories.access import csrf_from, ensure_force, make_user
from tests.factories.command import make_incident, person, staffordshire
from tests.factories.records import make_person, officer
from tests.test_records_crime import do
from tests.test_records_intelligence import REPORT

# A Tuesday in December (GMT): UK time and UTC agree.
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture(autouse=True)
def forces(db):
    staffordshire(db)
    ensure_force(db, "west-yorkshire")


_clocks = itertools.count(1)


def at(moment: datetime) -> FixedClock:
    """A clock standing at ``moment`` whose ids do not repeat the test clock's."""
    return FixedClock(moment, _counter=next(_clocks) * 1_000_000)


def browser(app, db, clock, role: str, *, username: str | None = None, reason: bool = True) -> TestClient:
    """A browser signed in as a new user with ``role`` who (unless told) has stated a reason."""
    user = make_user(db, role, username=username)
    with db.unit_of_work() as session:
        token, _ = sessions.start_session(
            session, user, ip="testclient", user_agent="test", clock=clock, policy=sessions.SessionPolicy()
        )
    client = TestClient(app, base_url="https://testserver", raise_server_exceptions=False)
    client.cookies.set("bl_session", token)
    client.headers["Accept"] = "text/html"
    client.user = user
    if reason:
        prompt = client.get("/account/reason")
        stated = client.post(
            "/account/reason",
            data={"csrf_token": csrf_from(prompt.text), "purpose": "Investigating a crime", "detail": "crime review"},
            follow_redirects=False,
        )
        assert stated.status_code == 303, stated.text[:500]
    return client


@pytest.fixture
def investigator(app, db, clock):
    with browser(app, db, clock, "investigator", username="dc-jones") as client:
        yield client


def post_form(client: TestClient, page_path: str, action: str, data: dict):
    """Open a page, then post one of its forms with the page's CSRF token, as a browser would."""
    token = csrf_from(client.get(page_path).text)
    return client.post(action, data={"csrf_token": token, **data}, follow_redirects=False)


def text_of(html: str) -> str:
    """What a person reads: the page's text without tags, spaces collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def part(html: str, testid: str, end: str) -> str:
    """The page from an element with ``data-testid`` up to the next ``end`` tag."""
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index(end, start)]


def record(db, clock, actor=None, **changes) -> crime.CrimeChanged:
    fields = {"source": "direct", "offence_code": "28E", "summary": "house burgled, laptop taken", **changes}
    return do(db, crime.record_crime, actor or officer(), crime.NewCrime(**fields), clock)


def victim(db, clock, crime_id, person_row, **kwargs) -> victims.VictimChanged:
    return do(db, victims.add_victim, officer(), crime_id, person_row.id, clock, **kwargs)


# ---------------------------------------------------------------- a crime's page


def test_the_crime_page_shows_classification_ncrs_clock_and_each_victims_clock_with_the_overdue_one_flagged(
    db, clock, investigator
):
    # Reported on Saturday 21 November: the first update was due within 5 working days,
    # by the end of Friday 27 November; on Tuesday 1 December it is one working day late.
    recorded = record(
        db, clock, summary="shed broken into, bike taken", offence_code="28E", reported_at=NOW - timedelta(days=10)
    )
    crime_id = recorded.event.id
    late = victim(db, clock, crime_id, make_person(db, given_names="Ann", family_name="Lowe"))
    kept = victim(
        db,
        clock,
        crime_id,
        make_person(db, given_names="Bert", family_name="Hale", dob_year=1942),
        enhanced=True,
        enhanced_reason="vulnerable: 84 and lives alone",
    )
    do(db, victims.record_update, officer(), kept.victim.id, "visit", "told of the CCTV enquiries", clock)

    page = investigator.get(f"/records/crimes/{crime_id}")
    assert page.status_code == 200
    html = page.text
    classification = text_of(part(html, "classification", "</dl>"))
    assert "28E Burglary Residential" in classification
    assert "Theft offences" in classification
    assert "Burglary (burglary)" in classification  # the data.police.uk category
    assert "Recorded late: 9 days after the 24 hours" in text_of(part(html, "ncrs-result", "</p>"))

    overdue = part(html, f"victim-{late.victim.id}", "</article>")
    assert re.search(rf'<article class="[^"]*victim-overdue[^"]*" id="victim-{late.victim.id}"', html)
    assert "LOWE, Ann" in text_of(overdue)
    assert "Overdue Update overdue by 1 working day: it was due by the end of Fri 27 Nov 2026." in text_of(overdue)
    assert f'href="/records/persons/{late.victim.person_id}"' in overdue
    assert "Standard" in text_of(part(overdue, "victim-service", "</dd>"))

    on_time = part(html, f"victim-{kept.victim.id}", "</article>")
    assert "HALE, Bert" in text_of(on_time)
    assert "Overdue" not in text_of(on_time)
    assert "Next update due by the end of" in text_of(on_time)
    assert "Enhanced: vulnerable: 84 and lives alone" in text_of(on_time)

    # The people linked to the crime are listed by role, linking to their profiles.
    people = part(html, "people", "</section>")
    assert f'href="/records/persons/{late.victim.person_id}"' in people
    assert "<script>" not in html


def test_opening_a_crime_without_a_stated_reason_asks_for_one_and_comes_back(app, db, clock):
    crime_id = record(db, clock).event.id
    with browser(app, db, clock, "investigator", reason=False) as client:
        asked = client.get(f"/records/crimes/{crime_id}", follow_redirects=False)
        assert asked.status_code == 303
        assert asked.headers["location"] == f"/account/reason?next=%2Frecords%2Fcrimes%2F{crime_id}"
        prompt = client.get(asked.headers["location"])
        back = client.post(
            "/account/reason",
            data={
                "csrf_token": csrf_from(prompt.text),
                "purpose": "Investigating a crime",
                "detail": "burglary enquiries",
                "next": f"/records/crimes/{crime_id}",
            },
            follow_redirects=False,
        )
        assert back.headers["location"] == f"/records/crimes/{crime_id}"
        assert client.get(back.headers["location"]).status_code == 200
    with db.read() as session:
        reads = session.scalars(select(AuditEntry).where(AuditEntry.action == "crime.read")).all()
    assert [r.reason for r in reads] == ["Investigating a crime: burglary enquiries"]


def test_another_forces_crime_answers_exactly_like_a_missing_one(db, clock, investigator):
    ensure_force(db, "west-yorkshire")
    theirs = record(db, clock, officer(force_id="west-yorkshire")).event.id
    hidden = investigator.get(f"/records/crimes/{theirs}")
    missing = investigator.get(f"/records/crimes/{'0' * len(theirs)}")
    assert hidden.status_code == missing.status_code == 404
    assert text_of(hidden.text) == text_of(missing.text)
    assert "No such crime" in hidden.text
    # Acting on it is refused alike, and nothing is written.
    for path in (f"/records/crimes/{theirs}", f"/records/crimes/{'0' * len(theirs)}"):
        refused = post_form(investigator, "/records/crimes", f"{path}/log", {"text": "looked at it"})
        assert refused.status_code == 404
    with db.read() as session:
        assert [e.kind for e in crime_queries.investigation_log(session, theirs)] == ["recorded"]


def test_the_log_and_the_outcome_forms_record_and_refuse_next_to_their_fields(db, clock, investigator):
    crime_id = record(db, clock, reported_at=NOW - timedelta(hours=2)).event.id
    path = f"/records/crimes/{crime_id}"
    added = post_form(investigator, path, f"{path}/log", {"text": "house-to-house done in Oak Road"})
    assert added.status_code == 303 and added.headers["location"] == f"{path}?done=note#log"
    page = investigator.get(added.headers["location"])
    assert "Added to the investigation log." in page.text
    assert "house-to-house done in Oak Road" in text_of(part(page.text, "investigation-log", "</table>"))

    # Outcome 1 (charged) deals with a suspect, and none is linked: refused, what was typed kept.
    refused = post_form(investigator, path, f"{path}/outcome", {"outcome": "1", "text": "charged with burglary"})
    assert refused.status_code == 409
    assert "needs a suspect linked" in text_of(part(refused.text, "outcome-form-error", "</p>"))
    assert '<option value="1" selected>' in refused.text
    assert "charged with burglary</textarea>" in refused.text
    empty = post_form(investigator, path, f"{path}/outcome", {"outcome": "18", "text": ""})
    assert empty.status_code == 422
    assert part(empty.text, "outcome-text-error", "</span>").endswith("Required.")

    closed = post_form(investigator, path, f"{path}/outcome", {"outcome": "18", "text": "no CCTV, no forensic leads"})
    assert closed.status_code == 303
    page = investigator.get(path)
    assert "Investigation complete – no suspect identified" in text_of(part(page.text, "outcome", "</p>"))
    assert text_of(part(page.text, "crime-status", "</span>")).endswith("Closed")


def test_every_change_form_of_a_crime_and_its_victims_records_and_comes_back_to_its_part(db, clock, investigator):
    crime_id = record(db, clock, offence_code="49", reported_at=NOW - timedelta(hours=2)).event.id
    person_row = make_person(db, given_names="Ann", family_name="Lowe")
    victim_id = victim(db, clock, crime_id, person_row).victim.id
    path = f"/records/crimes/{crime_id}"
    note = post_form(investigator, path, f"{path}/log", {"text": "the van was red"})
    with db.read() as session:
        entry = crime_queries.investigation_log(session, crime_id)[-1]

    unchosen = post_form(investigator, path, f"{path}/corrections", {"entry_id": "", "text": "blue"})
    assert unchosen.status_code == 422 and "blue</textarea>" in unchosen.text
    posted = {
        "corrections": ({"entry_id": str(entry.id), "text": "the van was blue"}, "correct#log"),
        "officer": ({"officer_in_charge": "dc-jones"}, "officer#summary"),
        "classification": ({"offence_code": "34B", "reason": "force was used"}, "classification#classification"),
        "outcome": ({"outcome": "18", "text": "no CCTV"}, "outcome#outcome"),
        "reopen": ({"reason": "a witness named a suspect"}, "reopen#outcome"),
        f"victims/{victim_id}/updates": (
            {"method": "phone", "text": "told of the arrest"},
            f"victim_update#victim-{victim_id}",
        ),
        f"victims/{victim_id}/enhanced": ({"enhanced": "yes", "reason": "vulnerable"}, f"enhanced#victim-{victim_id}"),
        f"victims/{victim_id}/opt-out": (
            {"opted_out": "yes", "reason": "wants no calls"},
            f"opt_out#victim-{victim_id}",
        ),
    }
    for action, (data, done) in posted.items():
        answer = post_form(investigator, path, f"{path}/{action}", data)
        assert (answer.status_code, answer.headers.get("location")) == (303, f"{path}?done={done}"), action

    assert note.status_code == 303
    with db.read() as session:
        saved = session.get(Crime, crime_id)
        kept = session.get(Victim, victim_id)
        log = [e.kind for e in crime_queries.investigation_log(session, crime_id)]
    assert (saved.officer_in_charge, saved.offence_code, saved.status) == ("dc-jones", "34B", "investigating")
    assert (kept.enhanced, kept.opted_out, kept.last_update_at is not None) == (True, True, True)
    assert {"correction", "victim_update"} <= set(log)


# ---------------------------------------------------------------- the NCRS list


def test_the_ncrs_list_shows_late_recordings_and_reports_unrecorded_after_24_hours_but_not_timely_ones(
    db, clock, investigator
):
    late = record(db, clock, summary="late one", reported_at=NOW - timedelta(hours=30)).event
    timely = record(db, clock, summary="timely one", reported_at=NOW - timedelta(hours=3)).event
    waiting = make_incident(db, at(NOW - timedelta(hours=27)), category="burglary_dwelling")
    recent = make_incident(db, at(NOW - timedelta(hours=5)), category="burglary_dwelling")
    recorded_from = make_incident(db, at(NOW - timedelta(hours=40)), category="theft")
    record(db, clock, officer(), source="incident", incident_id=recorded_from.id, offence_code="49")
    not_a_crime = make_incident(db, at(NOW - timedelta(hours=40)), category="concern_for_safety")
    fraud = make_incident(db, at(NOW - timedelta(hours=40)), category="fraud")

    page = investigator.get("/records/crimes/ncrs")
    assert page.status_code == 200
    late_rows = part(page.text, "late-table", "</table>")
    assert late.reference in late_rows and "Late by 6 h" in text_of(late_rows)
    assert timely.reference not in page.text
    unrecorded = part(page.text, "unrecorded-table", "</table>")
    assert waiting.reference in unrecorded
    assert "Not recorded: 3 h late" in text_of(part(unrecorded, f"unrecorded-{waiting.reference}", "</tr>"))
    assert f'href="/records/crimes/new?incident={waiting.id}"' in unrecorded
    for other in (recent, recorded_from, not_a_crime, fraud):
        assert other.reference not in unrecorded


def test_a_report_is_no_longer_unrecorded_once_its_crime_is_recorded_from_the_form(db, clock, investigator):
    waiting = make_incident(
        db, at(NOW - timedelta(hours=26)), category="burglary_dwelling", description="back door forced"
    )
    form = investigator.get(f"/records/crimes/new?incident={waiting.id}")
    assert form.status_code == 200
    assert f"From incident {waiting.reference}" in text_of(part(form.text, "from-incident", "</p>"))
    assert '<option value="28E" selected>' in form.text  # suggested from the category, to be checked
    assert "back door forced</textarea>" in form.text
    assert 'name="source" value="incident" class="source-choice" checked' in form.text
    sent = post_form(
        investigator,
        "/records/crimes/new",
        "/records/crimes/new",
        {
            "source": "incident",
            "incident": waiting.reference,
            "offence_code": "28E",
            "summary": "Burglary (dwelling): Market Square, Stafford",
            "narrative": "back door forced",
            "marking": "OFFICIAL",
        },
    )
    assert sent.status_code == 303
    crime_id = re.match(r"/records/crimes/(\w+)\?done=recorded", sent.headers["location"]).group(1)
    with db.read() as session:
        event, row = crime_queries.visible_crime(session, officer(), crime_id)
    assert (event.incident_id, row.reported_at, row.recorded_late) == (waiting.id, NOW - timedelta(hours=26), True)
    page = investigator.get("/records/crimes/ncrs")
    assert waiting.reference not in part(page.text, "unrecorded-table", "</table>")
    assert event.reference in part(page.text, "late-table", "</table>")


# ---------------------------------------------------------------- recording a crime


def test_the_record_a_crime_form_refuses_next_to_the_field_keeps_what_was_typed_and_then_records(
    db, clock, investigator
):
    typed = {
        "source": "direct",
        "offence_code": "9999",
        "summary": "bike taken from the rack at the station",
        "narrative": "D-lock cut; CCTV on platform 2",
        "reported_at": "2026-12-01T08:15",
        "officer_in_charge": "",
        "marking": "OFFICIAL",
    }
    refused = post_form(investigator, "/records/crimes/new", "/records/crimes/new", typed)
    assert refused.status_code == 422
    assert "9999" in text_of(part(refused.text, "offence_code-error", "</span>"))
    assert 'aria-describedby="offence_code-hint offence_code-error"' in refused.text
    assert 'value="bike taken from the rack at the station"' in refused.text
    assert "D-lock cut; CCTV on platform 2</textarea>" in refused.text
    assert 'value="2026-12-01T08:15"' in refused.text
    assert 'data-testid="error-summary"' in refused.text

    bad_time = post_form(
        investigator, "/records/crimes/new", "/records/crimes/new", {**typed, "reported_at": "this morning"}
    )
    assert bad_time.status_code == 422
    assert "Use a date or time like" in part(bad_time.text, "reported_at-error", "</span>")
    assert 'value="this morning"' in bad_time.text

    recorded = post_form(
        investigator,
        "/records/crimes/new",
        "/records/crimes/new",
        {**typed, "offence_code": "44", "officer_in_charge": "dc-jones"},
    )
    assert recorded.status_code == 303
    assert re.fullmatch(r"/records/crimes/\w+\?done=recorded", recorded.headers["location"])
    page = investigator.get(recorded.headers["location"])
    assert "Crime recorded." in page.text
    classification = text_of(part(page.text, "classification", "</dl>"))
    assert "44 Theft or unauthorised taking of a pedal cycle" in classification
    assert "Bicycle theft (bicycle-theft)" in classification
    assert "dc-jones" in text_of(part(page.text, "officer", "</dd>"))
    assert "Recorded within 24 hours (45 min after the report)" in text_of(part(page.text, "ncrs-result", "</p>"))


def test_only_those_who_record_crimes_get_the_form(app, db, clock):
    with browser(app, db, clock, "supervisor", reason=False) as supervisor:
        assert supervisor.get("/records/crimes").status_code == 200
        assert supervisor.get("/records/crimes/new").status_code == 403
        assert 'href="/records/crimes/new"' not in supervisor.get("/records/crimes").text


# ---------------------------------------------------------------- victims overdue


def test_the_overdue_list_shows_an_officer_their_own_by_default_and_a_supervisor_everyones(app, db, clock):
    with browser(app, db, clock, "investigator", username="dc-amber", reason=False) as amber:
        make_user(db, "investigator", username="dc-blue")
        mine = record(db, clock, officer_in_charge="dc-amber", reported_at=NOW - timedelta(days=10)).event
        theirs = record(db, clock, officer_in_charge="dc-blue", reported_at=NOW - timedelta(days=10)).event
        victim(db, clock, mine.id, make_person(db))
        victim(db, clock, theirs.id, make_person(db, given_names="Jo"))

        own = amber.get("/records/victims/overdue")
        assert own.status_code == 200
        assert "Crimes whose officer in charge is dc-amber (you)" in text_of(part(own.text, "overdue-scope", "</p>"))
        table = part(own.text, "overdue-dc-amber", "</table>")
        assert mine.reference in table and "Overdue by 1 working day" in text_of(table)
        assert theirs.reference not in own.text
        everyone = amber.get("/records/victims/overdue?everyone=1")
        assert mine.reference in everyone.text and theirs.reference in everyone.text
    with browser(app, db, clock, "supervisor", reason=False) as supervisor:
        page = supervisor.get("/records/victims/overdue")
        assert theirs.reference in part(page.text, "overdue-dc-blue", "</table>")
        assert mine.reference in part(page.text, "overdue-dc-amber", "</table>")


# ---------------------------------------------------------------- intelligence


def test_an_intelligence_report_hides_its_source_from_readers_and_shows_it_to_a_source_handler(app, db, clock):
    subject = make_person(db, given_names="Darren", family_name="Price")
    command = intelligence.NewIntelligence(**REPORT, subjects=(("person", subject.id),))
    report = do(db, intelligence.create_intelligence, officer("intelligence_analyst"), command, clock)
    path = f"/records/intelligence/{report.event.id}"
    with browser(app, db, clock, "investigator") as reader:
        page = reader.get(path)
        assert page.status_code == 200
        assert REPORT["sanitised_text"] in page.text
        grading = text_of(part(page.text, "grading-words", "</dl>"))
        assert "2 — untested: a new source" in grading
        assert "B — known indirectly to the source but corroborated" in grading
        assert "C — lawful sharing permitted with conditions" in grading
        assert REPORT["handling_conditions"] in text_of(part(page.text, "conditions", "</dd>"))
        assert "CHIS-0457" not in page.text and "Neighbour at number 14" not in page.text
        assert "shown only to source handlers" in text_of(part(page.text, "source-restricted", "</p>"))
        assert f'href="/records/persons/{subject.id}"' in part(page.text, "linked-records", "</ul>")
        assert reader.get(f"{path}/source").status_code == 403
    with browser(app, db, clock, "source_handler") as handler:
        page = handler.get(path)
        assert "CHIS-0457" not in page.text  # shown only when asked for, as its own audited read
        assert f'href="{path}/source"' in page.text
        # A source handler does not read persons: the subject is counted, not named.
        assert "PRICE" not in page.text
        assert "1 more linked record" in text_of(part(page.text, "withheld", "</p>"))
        shown = handler.get(f"{path}/source")
        assert shown.status_code == 200
        identity = text_of(part(shown.text, "source-identity", "</dl>"))
        assert "CHIS-0457" in identity and "Neighbour at number 14; sees buyers from her window." in identity
    with db.read() as session:
        reads = session.scalars(
            select(AuditEntry).where(AuditEntry.record_id == report.event.id, AuditEntry.action.like("intelligence.%"))
        ).all()
    assert [r.action for r in reads].count("intelligence.source_read") == 1


def test_the_submit_form_explains_the_grading_and_refuses_c_without_conditions_next_to_the_field(
    db, clock, investigator
):
    form = investigator.get("/records/intelligence/new")
    assert "a new source, or one whose reliability cannot yet be judged" in form.text
    assert "the source was told it, and something else confirms it" in form.text
    typed = {k: v for k, v in REPORT.items()} | {"handling_conditions": "", "marking": "OFFICIAL"}
    refused = post_form(investigator, "/records/intelligence/new", "/records/intelligence/new", typed)
    assert refused.status_code == 422
    assert "conditions written down" in part(refused.text, "handling_conditions-error", "</span>")
    assert REPORT["sanitised_text"] + "</textarea>" in refused.text
    assert 'name="intelligence_assessment" value="B" checked' in refused.text
    sent = post_form(
        investigator,
        "/records/intelligence/new",
        "/records/intelligence/new",
        typed | {"handling_code": "P", "source_reference": "", "source_details": ""},
    )
    assert sent.status_code == 303
    page = investigator.get(sent.headers["location"])
    assert "2B P" in text_of(part(page.text, "grading", "</span>"))
    assert "No source is recorded" in page.text


# ---------------------------------------------------------------- MoPI reviews


def due_for_review(db, clock, **changes) -> tuple[Person, Review]:
    person_row = make_person(db, **changes)
    with db.unit_of_work() as session:
        session.get(Person, person_row.id).review_at = date(2026, 11, 1)
        mopi.review_due(session, clock, force_id="staffordshire")
    with db.read() as session:
        return person_row, session.scalars(select(Review).where(Review.record_id == person_row.id)).one()


def test_the_review_queue_retains_with_a_reason_and_disposes_leaving_a_tombstone(app, db, clock):
    kept, kept_review = due_for_review(db, clock, given_names="Kay", family_name="Keeper")
    gone, gone_review = due_for_review(db, clock, given_names="Dee", family_name="Gone")
    with browser(app, db, clock, "data_protection_officer") as dpo:
        queue = dpo.get("/records/reviews")
        assert queue.status_code == 200
        row = text_of(part(queue.text, f"review-{kept_review.id}", "</tr>"))
        assert "KEEPER, Kay" in row and "Person" in row and "01/11/2026 Overdue" in row
        assert "3 · All other offences" in row

        path = f"/records/reviews/{kept_review.id}"
        kept_now = post_form(
            dpo,
            path,
            f"{path}/decision",
            {"decision": "retain", "reason": "linked to an open investigation", "next_review_on": "2028-12-01"},
        )
        assert kept_now.status_code == 303
        page = dpo.get(kept_now.headers["location"])
        decision = text_of(part(page.text, "decision", "</p>"))
        assert "Retained" in decision and "linked to an open investigation" in decision
        assert "Next review on 01/12/2028" in decision

        path = f"/records/reviews/{gone_review.id}"
        unconfirmed = post_form(
            dpo, path, f"{path}/decision", {"decision": "dispose", "reason": "no longer needed: no offence"}
        )
        assert unconfirmed.status_code == 422
        assert "cannot be undone" in part(unconfirmed.text, "confirm-error", "</span>")
        assert "no longer needed: no offence</textarea>" in unconfirmed.text
        disposed = post_form(
            dpo,
            path,
            f"{path}/decision",
            {"decision": "dispose", "reason": "no longer needed: no offence", "confirm": "yes"},
        )
        assert disposed.status_code == 303
        page = dpo.get(disposed.headers["location"])
        tombstone = text_of(part(page.text, "tombstone", "</section>"))
        assert f"Person {gone.id}" in tombstone and "no longer needed: no offence" in tombstone
        assert "GONE" not in page.text and "Dee" not in page.text

        queue = dpo.get("/records/reviews")
        assert f"review-{kept_review.id}" not in queue.text and f"review-{gone_review.id}" not in queue.text
        assert "Disposed" in text_of(part(queue.text, "decided", "</table>"))
    with db.read() as session:
        assert queries.visible_person(session, officer(), gone.id) is None
        assert session.scalars(select(Tombstone).where(Tombstone.record_id == gone.id)).one().reason == (
            "no longer needed: no offence"
        )
        assert session.get(Person, kept.id).review_at == date(2028, 12, 1)


def test_queueing_due_records_from_the_page(app, db, clock):
    person_row = make_person(db)
    with db.unit_of_work() as session:
        session.get(Person, person_row.id).review_at = date(2026, 11, 30)
    with browser(app, db, clock, "data_protection_officer", reason=False) as dpo:
        queued = post_form(dpo, "/records/reviews", "/records/reviews/due", {})
        assert queued.status_code == 303
        page = dpo.get(queued.headers["location"])
        assert "1 record added to the queue." in page.text
        assert "SMITH, John" in text_of(part(page.text, "review-queue", "</table>"))


# ---------------------------------------------------------------- the services the pages added


def close(db, incident, closing_category: str, result: str, crime_reference: str | None = None) -> None:
    with db.unit_of_work() as session:
        incidents.close_incident(
            session,
            person("dispatcher"),
            incident.id,
            closing_category,
            result,
            "dealt with",
            at(NOW - timedelta(hours=1)),
            crime_reference=crime_reference,
        )


def test_reports_closed_as_no_crime_or_naming_their_crime_are_not_unrecorded(db, clock):
    old = NOW - timedelta(hours=40)
    false_report = make_incident(db, at(old), category="theft")
    close(db, false_report, "theft", "false_report")
    not_a_crime_after_all = make_incident(db, at(old), category="theft")
    close(db, not_a_crime_after_all, "civil_dispute", "advice_given")
    named = record(db, clock, summary="recorded directly, named at closing").event
    closed_with_crime = make_incident(db, at(old), category="theft")
    close(db, closed_with_crime, "theft", "crime_recorded", crime_reference=named.reference)
    typo = make_incident(db, at(old), category="theft")
    close(db, typo, "theft", "crime_recorded", crime_reference="SP-CR-2026-999999")
    reclassified_as_crime = make_incident(db, at(old), category="concern_for_safety")
    close(db, reclassified_as_crime, "assault", "resolved")

    with db.read() as session:
        found = crime.unrecorded_reports(session, officer(), clock)
    assert {r.reference for r in found} == {typo.reference, reclassified_as_crime.reference}
    [assault] = [r for r in found if r.reference == reclassified_as_crime.reference]
    assert (assault.category, assault.category_name, assault.late_by) == ("assault", "Assault", timedelta(hours=16))


def test_a_victims_clock_counts_working_days_around_christmas():
    # Due by the end of Wednesday 23 December 2026; Christmas Day is a Friday and Boxing
    # Day's bank holiday falls on Monday 28 December.
    due = datetime(2026, 12, 24, 0, 0, tzinfo=UTC)
    waiting = Victim(next_update_due=due, opted_out=False)
    assert victims.update_clock(waiting, datetime(2026, 12, 23, 9, 0, tzinfo=UTC)) == victims.UpdateClock(
        victims.ClockState.DUE, due, 1
    )
    assert victims.update_clock(waiting, datetime(2026, 12, 29, 9, 0, tzinfo=UTC)) == victims.UpdateClock(
        victims.ClockState.OVERDUE, due, 1
    )
    assert victims.update_clock(waiting, datetime(2026, 12, 30, 9, 0, tzinfo=UTC)).working_days == 2
    stopped = Victim(next_update_due=None, opted_out=True)
    assert victims.update_clock(stopped, NOW).state == victims.ClockState.OPTED_OUT
    told = Victim(next_update_due=None, opted_out=False)
    assert victims.update_clock(told, NOW).state == victims.ClockState.NONE_DUE
