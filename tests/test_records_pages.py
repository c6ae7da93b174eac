"""The records pages as an investigator's browser uses them: a person's profile shows the
warning markers before anything else, then identity, addresses (current first), links
and the timeline; a merged record leads to its golden nominal; objects, locations and
events show their links; the link chart lists the associations and downloads as
GraphML and CSV. Reading asks for the reason first and is audited; another force's
record answers exactly like a missing one. (The drawing itself is tested in a real
browser: tests/browser/test_records_profile.py.)"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bluelamp.access.model import AuditEntry
from bluelamp.clock import Clock
from bluelamp.records import person_parts
from bluelamp.records.duplicates import merge
from tests.factories.access import csrf_from, make_user
from tests.factories.command import make_incident, staffordshire
from tests.factories.records import make_link, make_location, make_object, make_person, officer
from tests.factories.records_pages import make_profiled_person
from tests.test_admin_pages import browser_as

REASON = {"purpose": "Investigating a crime", "detail": "SP-CR-2026-000123"}


def state_reason(client) -> None:
    """State why I am looking, through the reason form, as a browser does."""
    page = client.get("/account/reason")
    answer = client.post(
        "/account/reason", data={"csrf_token": csrf_from(page.text), **REASON, "next": "/"}, follow_redirects=False
    )
    assert answer.status_code == 303


def signed_in(app, db, role: str = "investigator", *, reason: bool = True, force_id: str = "staffordshire"):
    client = browser_as(app, db, make_user(db, role, force_id=force_id))
    client.__enter__()
    if reason:
        state_reason(client)
    return client


@pytest.fixture
def investigator(app, db):
    client = signed_in(app, db)
    yield client
    client.__exit__(None, None, None)


@pytest.fixture
def profiled(db):
    staffordshire(db)
    incident = make_incident(db)
    return make_profiled_person(db, incident_id=incident.id), incident


def text_of(html: str) -> str:
    """The page's visible words, roughly: tags out, whitespace folded."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def audit_entries(db, action: str, record_id: str | None = None) -> list[AuditEntry]:
    with db.read() as session:
        statement = select(AuditEntry).where(AuditEntry.action == action)
        if record_id is not None:
            statement = statement.where(AuditEntry.record_id == record_id)
        return list(session.scalars(statement.order_by(AuditEntry.seq)))


# ---------------------------------------------------------------- the person profile


def test_the_profile_shows_warning_markers_before_identity_then_addresses_links_and_timeline(investigator, profiled):
    made, _ = profiled
    page = investigator.get(f"/records/persons/{made.person.id}")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"  # personal data stays off the disk cache
    html = page.text
    # Markers come first: before the identity, the addresses, the links and the timeline.
    order = [
        html.index(marker)
        for marker in (
            'data-testid="markers"',
            'data-testid="identity"',
            'data-testid="addresses"',
            'data-testid="links"',
            'data-testid="timeline"',
        )
    ]
    assert order == sorted(order)
    start = html.index('data-testid="current-markers"')
    current = html[start : html.index("</ul>", start)]
    assert 'data-kind="violent" data-state="current"' in current
    assert 'data-kind="weapons" data-state="current"' in current
    assert "assaulted door staff with a glass" in text_of(current)
    assert "drugs" not in current  # expired: listed apart, not as a current warning
    assert 'data-kind="drugs" data-state="expired"' in html
    assert 'data-kind="escape_risk" data-state="upcoming"' in html

    words = text_of(html)
    assert "O'NEILL, Dean (04/07/1990)" in words
    assert "Wolverhampton" in words and "W1 · White: English" in words and "IC1 · White: North European" in words
    assert "Alias NEILL, Deano" in words
    assert f"PNC ID {made.pnc_id}" in words
    assert "scar above left eye" in words
    # Addresses: the current one first, the past one after it.
    rows = re.findall(r'data-testid="address-row" data-state="(\w+)"', html)
    assert rows == ["current", "past"]
    assert html.index("14 Corporation Street") < html.index("2 Mill Bank")
    # Links: the associate and the vehicle, each leading to its page.
    assert f'href="/records/persons/{made.associate.id}"' in html
    assert f'href="/records/objects/{made.vehicle.id}"' in html
    assert "Keeper of" in words and "Associate of" in words
    # Timeline: newest first, each event leading to its page.
    timeline = re.findall(r'data-testid="timeline-item" data-event-id="(\w+)"', html)
    assert timeline == [made.stop.id, made.crime.id, made.incident_event.id]
    assert "Suspect in" in words
    # MoPI and the chart.
    assert "Group 3: all other offences" in words
    assert made.person.review_at.strftime("%d/%m/%Y") in words
    assert f'href="/records/persons/{made.person.id}/chart"' in html
    assert f'href="/records/persons/{made.person.id}/chart.graphml"' in html


def test_the_profile_escapes_what_was_recorded(investigator, db):
    person = make_person(
        db,
        given_names="<script>alert(1)</script>",
        family_name="Smith",
        markers=(person_parts.NewMarker("alleges", '<img src=x onerror="alert(2)">'),),
    )
    html = investigator.get(f"/records/persons/{person.id}").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html


def test_a_person_of_another_force_answers_like_a_missing_one_and_the_attempt_is_logged(app, db, investigator):
    theirs = make_person(db, force_id="west-midlands", given_names="Other", family_name="Force")
    hidden = investigator.get(f"/records/persons/{theirs.id}")
    missing = investigator.get("/records/persons/0000000000000000000000000000beef")
    assert hidden.status_code == missing.status_code == 404
    assert "Other" not in hidden.text and "FORCE" not in hidden.text
    same = text_of(hidden.text).replace(theirs.id, "ID")
    assert same == text_of(missing.text).replace("0000000000000000000000000000beef", "ID")
    refused = audit_entries(db, "person.read", theirs.id)
    assert [e.outcome for e in refused] == ["denied"]


def test_without_a_stated_reason_the_profile_asks_for_one_then_comes_back(app, db):
    person = make_person(db, given_names="Ann", family_name="Reason")
    client = signed_in(app, db, reason=False)
    try:
        asked = client.get(f"/records/persons/{person.id}", follow_redirects=False)
        assert asked.status_code == 303
        target = urlsplit(asked.headers["location"])
        assert target.path == "/account/reason"
        back = parse_qs(target.query)["next"][0]
        assert back == f"/records/persons/{person.id}"
        assert audit_entries(db, "person.read", person.id) == []
        form = client.get(asked.headers["location"])
        stated = client.post(
            "/account/reason",
            data={"csrf_token": csrf_from(form.text), **REASON, "next": back},
            follow_redirects=False,
        )
        assert stated.headers["location"] == back
        assert "REASON, Ann" in text_of(client.get(back).text)
    finally:
        client.__exit__(None, None, None)


def test_reading_a_profile_is_audited_with_the_reason(investigator, db):
    person = make_person(db, given_names="Audit", family_name="Trail")
    investigator.get(f"/records/persons/{person.id}")
    reads = audit_entries(db, "person.read", person.id)
    assert len(reads) == 1
    assert reads[0].outcome == "ok"
    assert reads[0].reason == "Investigating a crime: SP-CR-2026-000123"
    assert json.loads(reads[0].detail)["view"] == "profile"


def test_a_merged_record_says_so_and_leads_to_its_golden_nominal(investigator, db):
    survivor = make_person(db, given_names="John", family_name="Smith")
    duplicate = make_person(
        db,
        given_names="Jon",
        family_name="Smyth",
        markers=(person_parts.NewMarker("firearms", "owns a shotgun"),),
    )
    with db.unit_of_work() as session:
        merge.merge(session, officer("intelligence_analyst"), survivor.id, duplicate.id, "same PNC record", Clock())
    old = investigator.get(f"/records/persons/{duplicate.id}").text
    notice = old[old.index('data-testid="merged-notice"') :]
    assert old.index('data-testid="merged-notice"') < old.index('data-testid="markers"')
    assert f'href="/records/persons/{survivor.id}" data-testid="golden-link"' in notice
    assert "same PNC record" in text_of(notice)
    assert "its markers moved to the golden nominal" in text_of(old)
    golden = investigator.get(f"/records/persons/{survivor.id}").text
    assert 'data-kind="firearms" data-state="current"' in golden  # the marker moved with the merge
    merged_from = golden[golden.index('data-testid="merged-from"') :]
    assert f'href="/records/persons/{duplicate.id}"' in merged_from


# ---------------------------------------------------------------- objects, locations and events


def test_the_object_page_shows_the_vehicle_its_keeper_and_events(investigator, profiled):
    made, _ = profiled
    page = investigator.get(f"/records/objects/{made.vehicle.id}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "KX19 ABC" in words and "Vauxhall" in words and "Corsa" in words and "Blue" in words
    keeper = re.search(r'data-testid="link-row" data-role="keeper".*?</tr>', page.text, re.S).group(0)
    assert "Keeper" in text_of(keeper) and "O'NEILL, Dean (04/07/1990)" in text_of(keeper)
    assert f'href="/records/persons/{made.person.id}"' in keeper
    assert f'href="/records/events/{made.stop.id}"' in page.text
    phone = make_object(investigator.app.state.database, "phone", phone_number="07700 900456", imei="490154203237518")
    words = text_of(investigator.get(f"/records/objects/{phone.id}").text)
    assert "07700 900456" in words and "490154203237518" in words


def test_the_location_page_shows_the_point_the_people_living_there_and_events_there(investigator, profiled):
    made, _ = profiled
    page = investigator.get(f"/records/locations/{made.scene.id}")
    assert page.status_code == 200
    html = page.text
    assert 'data-testid="location-map"' in html and 'data-lat="52.806"' in html
    assert "/static/vendor/leaflet/leaflet.js" in html and "/static/records/location-map.js" in html
    events = re.findall(r'data-testid="event-row" data-event-id="(\w+)"', html)
    assert events == [made.crime.id, made.incident_event.id]  # newest first
    home = investigator.get(f"/records/locations/{made.home.id}").text
    residents = home[home.index('data-testid="residents"') :]
    assert f'href="/records/persons/{made.person.id}"' in residents and "Current" in text_of(residents)


def test_a_location_without_a_point_has_no_map(investigator, db):
    place = make_location(db, line1="Unit 4, Trading Estate", lat=None, lon=None)
    html = investigator.get(f"/records/locations/{place.id}").text
    assert "Unit 4, Trading Estate" in text_of(html)
    assert 'data-testid="location-map"' not in html and "leaflet.js" not in html


def test_the_event_page_shows_what_happened_and_leads_to_the_crime_and_the_incident(investigator, profiled):
    made, incident = profiled
    page = investigator.get(f"/records/events/{made.incident_event.id}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert made.incident_event.reference in words and "Two men fighting; one had a glass." in words
    assert "2025-03-01 23:10" in words  # UK time (GMT in March)
    assert f'href="/control?incident={incident.id}"' in page.text and incident.reference in words
    assert f'href="/records/locations/{made.scene.id}"' in page.text
    crime = investigator.get(f"/records/events/{made.crime.id}").text
    assert f'href="/records/crimes/{made.crime.id}"' in crime
    assert f'href="/records/persons/{made.person.id}"' in crime and "Suspect" in text_of(crime)


def test_an_event_of_a_kind_the_user_may_not_read_answers_like_a_missing_one(app, db, profiled):
    made, _ = profiled
    client = signed_in(app, db, "data_protection_officer")  # person.read, but no crime.read
    try:
        assert client.get(f"/records/events/{made.crime.id}").status_code == 404
        profile = client.get(f"/records/persons/{made.person.id}").text
        assert made.crime.id not in profile and made.stop.id in profile
    finally:
        client.__exit__(None, None, None)


# ---------------------------------------------------------------- the link chart and its exports


def test_the_chart_page_carries_the_graph_and_lists_it(investigator, db, profiled):
    made, _ = profiled
    page = investigator.get(f"/records/persons/{made.person.id}/chart")
    assert page.status_code == 200
    raw = re.search(r"data-graph='([^']*)'", page.text).group(1)
    graph = json.loads(unescape(raw))
    keys = {n["key"] for n in graph["nodes"]}
    assert graph["root"] == f"person:{made.person.id}"
    assert {f"person:{made.associate.id}", f"object:{made.vehicle.id}", f"event:{made.crime.id}"} <= keys
    assert f"location:{made.scene.id}" in keys  # two links away, through the crime
    urls = {n["key"]: n["url"] for n in graph["nodes"]}
    assert urls[f"object:{made.vehicle.id}"] == f"/records/objects/{made.vehicle.id}"
    roles = {(e["source"], e["role"], e["target"]) for e in graph["edges"]}
    assert (f"person:{made.person.id}", "keeper", f"object:{made.vehicle.id}") in roles
    assert len(re.findall(r'data-testid="chart-link-row"', page.text)) == len(graph["edges"])
    assert "/static/records/chart.js" in page.text
    reads = audit_entries(db, "graph.read", made.person.id)
    assert len(reads) == 1 and reads[0].reason.startswith("Investigating a crime")


def test_charts_of_objects_locations_and_events_open_too(investigator, profiled):
    made, _ = profiled
    for path in (
        f"/records/objects/{made.vehicle.id}/chart",
        f"/records/locations/{made.scene.id}/chart",
        f"/records/events/{made.crime.id}/chart",
    ):
        page = investigator.get(path)
        assert page.status_code == 200, path
        assert f"person:{made.person.id}" in unescape(page.text)


def test_the_chart_downloads_as_graphml(investigator, db, profiled):
    made, _ = profiled
    answer = investigator.get(f"/records/persons/{made.person.id}/chart.graphml")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/graphml+xml"
    assert answer.headers["content-disposition"] == f'attachment; filename="person-{made.person.id}-links.graphml"'
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    root = ET.fromstring(answer.content)
    ids = {n.get("id") for n in root.findall(".//g:node", ns)}
    assert {f"person:{made.person.id}", f"object:{made.vehicle.id}", f"person:{made.associate.id}"} <= ids
    exports = audit_entries(db, "graph.export", made.person.id)
    assert len(exports) == 1 and json.loads(exports[0].detail)["format"] == "graphml"


def test_the_chart_downloads_as_csv(investigator, profiled):
    made, _ = profiled
    answer = investigator.get(f"/records/persons/{made.person.id}/chart.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"].endswith('-links.csv"')
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert {
        "source_id": made.person.id,
        "role": "keeper",
        "target_id": made.vehicle.id,
        "target_label": "KX19 ABC blue Vauxhall Corsa",
    }.items() <= next(r for r in rows if r["role"] == "keeper").items()


def test_a_chart_of_another_forces_person_answers_like_a_missing_one(investigator, db):
    theirs = make_person(db, force_id="west-midlands", given_names="Other", family_name="Force")
    assert investigator.get(f"/records/persons/{theirs.id}/chart").status_code == 404
    assert investigator.get(f"/records/persons/{theirs.id}/chart.csv").status_code == 404
    assert [e.outcome for e in audit_entries(db, "graph.export", theirs.id)] == ["denied"]


def test_a_download_without_a_stated_reason_asks_for_one(app, db):
    person = make_person(db, given_names="Ann", family_name="Export")
    other = make_person(db, given_names="Bob", family_name="Export")
    make_link(db, person, "associate_of", other)
    client = signed_in(app, db, reason=False)
    try:
        asked = client.get(f"/records/persons/{person.id}/chart.graphml", follow_redirects=False)
        assert asked.status_code == 303
        assert urlsplit(asked.headers["location"]).path == "/account/reason"
    finally:
        client.__exit__(None, None, None)


def test_people_without_person_read_cannot_open_profiles(app, db):
    person = make_person(db)
    client = signed_in(app, db, "force_admin", reason=False)
    try:
        assert client.get(f"/records/persons/{person.id}").status_code == 403
        assert client.get(f"/records/persons/{person.id}/chart.csv").status_code == 403
    finally:
        client.__exit__(None, None, None)


def test_page_names_under_persons_are_not_taken_for_a_person(app):
    """/records/persons/new is the new-person page, not a person called "new"."""
    from fastapi.routing import APIRoute, iter_route_contexts
    from starlette.routing import compile_path

    from bluelamp.web.pages import records as record_pages

    def first_match(path: str):
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if isinstance(route, APIRoute) and "GET" in route.methods and compile_path(context.path)[0].match(path):
                return route.endpoint
        return None

    assert first_match("/records/persons/new") is not record_pages.person_page
    assert first_match("/records/persons/3f2a9c0e") is record_pages.person_page


@pytest.mark.parametrize(
    ("dob", "age"),
    [
        ((1990, 7, 4), "36"),  # birthday passed this year
        ((1990, 12, 25), "35"),  # not yet
        ((1990, 10, None), "36"),  # born in a month already over
        ((1990, 11, None), "35 or 36"),  # born this month, day unknown
        ((1990, 12, None), "35"),
        ((1990, None, None), "35 or 36"),  # the year alone cannot place the birthday
        ((None, None, None), ""),
    ],
)
def test_the_age_a_partial_date_of_birth_gives(dob, age):
    from datetime import date

    from bluelamp.web.pages.records import age_words

    assert age_words(*dob, date(2026, 11, 28)) == age
