"""The data.police.uk force and neighbourhood endpoints, as its clients read them: a contract
test per endpoint (shape, field types, 404s), upcoming-only events, locate-neighbourhood
inside, outside and malformed, and the demo force's neighbourhoods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bluelamp.clock import FixedClock
from bluelamp.opendata.neighbourhoods import service
from bluelamp.opendata.neighbourhoods.service import EventIn, ForceProfile, NeighbourhoodIn, PriorityIn
from tests.factories.access import ensure_force
from tests.factories.tracking import force_actor

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # British Summer Time: UK local is UTC+1
# Two squares side by side near Stafford: west and east of -2.10.
WEST = [[52.78, -2.15], [52.78, -2.10], [52.83, -2.10], [52.83, -2.15], [52.78, -2.15]]
EAST = [[52.78, -2.10], [52.78, -2.05], [52.83, -2.05], [52.83, -2.10], [52.78, -2.10]]


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"opendata_rate_burst": 10_000})


def neighbourhood(nid: str, name: str, ring: list, **fields) -> NeighbourhoodIn:
    return NeighbourhoodIn(id=nid, name=name, boundary=ring, **fields)


def seed(db, clock, force_id: str = "staffordshire") -> None:
    """Two neighbourhoods of the force: Stafford West (everything filled in) and Stafford East."""
    ensure_force(db, force_id)
    actor = force_actor(force_id)
    with db.unit_of_work() as session:
        service.set_neighbourhood(
            session,
            actor,
            neighbourhood(
                "west",
                "Stafford West",
                WEST,
                centre=(52.805, -2.125),
                population=12345,
                description="Town & country <b>beat</b>",
                url_force="https://force.example/west",
                contact_details={"email": "west@force.example", "telephone": "101"},
                links=[{"url": "https://council.example", "title": "The council"}],
                locations=[
                    {"name": "Stafford police station", "type": "station", "latitude": 52.806, "longitude": -2.117},
                    {"name": "Library surgery", "type": "surgery", "address": "Market Street"},
                ],
                people=[
                    {"name": "Alex Doe", "rank": "Sergeant", "bio": "Fictional."},
                    {"name": "Sam Roe", "rank": "PCSO", "contact_details": {"email": "sam@force.example"}},
                ],
            ),
            clock,
        )
        service.set_neighbourhood(session, actor, neighbourhood("east", "Stafford East", EAST), clock)


def get(client, path: str, status: int = 200):
    response = client.get(path)
    assert response.status_code == status, response.text
    return response.json()


def assert_not_found(client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404, path
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "not_found"


# ---------------------------------------------------------------- forces


def test_forces_lists_every_force_on_the_platform_as_id_and_name(client, db):
    ensure_force(db, "staffordshire", "Staffordshire Police")
    ensure_force(db, "west-midlands", "West Midlands Police")
    assert get(client, "/api/forces") == [
        {"id": "staffordshire", "name": "Staffordshire Police"},
        {"id": "west-midlands", "name": "West Midlands Police"},
    ]


def test_a_force_shows_its_public_profile_with_engagement_methods(client, db, clock):
    ensure_force(db, "staffordshire", "Staffordshire Police")
    with db.unit_of_work() as session:
        service.set_force_profile(
            session,
            force_actor(),
            ForceProfile(
                url="https://force.example",
                telephone="101",
                description="Keeping Staffordshire safe.\n\nCall 999 in an emergency.",
                engagement_methods=[{"title": "Facebook", "url": "https://facebook.example/f", "type": "facebook"}],
            ),
            clock,
        )
    body = get(client, "/api/forces/staffordshire")
    assert body == {
        "id": "staffordshire",
        "name": "Staffordshire Police",
        "url": "https://force.example",
        "telephone": "101",
        "description": "<p>Keeping Staffordshire safe.</p><p>Call 999 in an emergency.</p>",
        "engagement_methods": [
            {"title": "Facebook", "url": "https://facebook.example/f", "description": None, "type": "facebook"}
        ],
    }


def test_a_force_without_a_profile_answers_nulls_and_no_engagement_methods(client, db):
    ensure_force(db, "staffordshire", "Staffordshire Police")
    body = get(client, "/api/forces/staffordshire")
    assert body["url"] is None and body["telephone"] is None and body["description"] is None
    assert body["engagement_methods"] == []
    assert get(client, "/api/forces/staffordshire/people") == []


def test_force_people_are_its_senior_officers(client, db, clock):
    ensure_force(db)
    with db.unit_of_work() as session:
        service.set_force_profile(
            session,
            force_actor(),
            ForceProfile(people=[{"name": "Helen Marsh", "rank": "Chief Constable", "contact_details": {"x": "@cc"}}]),
            clock,
        )
    assert get(client, "/api/forces/staffordshire/people") == [
        {"name": "Helen Marsh", "rank": "Chief Constable", "bio": None, "contact_details": {"x": "@cc"}}
    ]


def test_an_unknown_force_is_not_found_as_problem_details(client, db, clock):
    seed(db, clock)
    for path in ["/api/forces/atlantis", "/api/forces/atlantis/people", "/api/atlantis/neighbourhoods"]:
        assert_not_found(client, path)
    for tail in ["", "/boundary", "/people", "/events", "/priorities"]:
        assert_not_found(client, f"/api/atlantis/west{tail}")


# ---------------------------------------------------------------- neighbourhoods


def test_neighbourhoods_lists_id_and_name_by_name(client, db, clock):
    seed(db, clock)
    assert get(client, "/api/staffordshire/neighbourhoods") == [
        {"id": "east", "name": "Stafford East"},
        {"id": "west", "name": "Stafford West"},
    ]
    ensure_force(db, "west-midlands")
    assert get(client, "/api/west-midlands/neighbourhoods") == []


def test_a_neighbourhood_has_every_field_with_data_police_uk_types(client, db, clock):
    seed(db, clock)
    body = get(client, "/api/staffordshire/west")
    assert body == {
        "id": "west",
        "name": "Stafford West",
        "url_force": "https://force.example/west",
        "contact_details": {"email": "west@force.example", "telephone": "101"},
        "centre": {"latitude": "52.805000", "longitude": "-2.125000"},
        "population": "12345",
        "description": "<p>Town &amp; country &lt;b&gt;beat&lt;/b&gt;</p>",
        "links": [{"url": "https://council.example", "description": None, "title": "The council"}],
        "locations": [
            {
                "name": "Stafford police station",
                "type": "station",
                "description": None,
                "address": None,
                "postcode": None,
                "latitude": "52.806000",
                "longitude": "-2.117000",
            },
            {
                "name": "Library surgery",
                "type": "surgery",
                "description": None,
                "address": "Market Street",
                "postcode": None,
                "latitude": None,
                "longitude": None,
            },
        ],
    }


def test_a_neighbourhood_without_description_or_centre_leaves_out_the_one_and_computes_the_other(client, db, clock):
    seed(db, clock)
    body = get(client, "/api/staffordshire/east")
    assert "description" not in body
    assert body["population"] == "0"
    assert body["centre"] == {"latitude": "52.805000", "longitude": "-2.075000"}  # the square's centre
    assert body["contact_details"] == {} and body["links"] == [] and body["locations"] == []


def test_a_boundary_is_string_vertices_with_the_first_repeated_last(client, db, clock):
    seed(db, clock)
    body = get(client, "/api/staffordshire/west/boundary")
    assert all(set(v) == {"latitude", "longitude"} for v in body)
    assert all(isinstance(v["latitude"], str) and isinstance(v["longitude"], str) for v in body)
    assert body[0] == body[-1]
    assert [[float(v["latitude"]), float(v["longitude"])] for v in body] == WEST


def test_a_neighbourhood_team_is_name_rank_bio_and_contact_details(client, db, clock):
    seed(db, clock)
    assert get(client, "/api/staffordshire/west/people") == [
        {"name": "Alex Doe", "rank": "Sergeant", "bio": "Fictional.", "contact_details": {}},
        {"name": "Sam Roe", "rank": "PCSO", "bio": None, "contact_details": {"email": "sam@force.example"}},
    ]
    assert get(client, "/api/staffordshire/east/people") == []


def test_events_are_upcoming_only_soonest_first_in_uk_local_time(client, db, clock):
    seed(db, clock)
    with db.unit_of_work() as session:
        for title, start, end in [
            ("Last week", NOW - timedelta(days=7), NOW - timedelta(days=7, hours=-1)),
            ("Under way", NOW - timedelta(minutes=30), NOW + timedelta(minutes=30)),
            ("Next month", NOW + timedelta(days=30), None),
            ("Tomorrow", NOW + timedelta(days=1), NOW + timedelta(days=1, hours=2)),
            ("Began an hour ago, no end", NOW - timedelta(hours=1), None),
        ]:
            service.add_event(
                session,
                force_actor(),
                "west",
                EventIn(title=title, description="Bring a <friend>", address="Town hall", start=start, end=end),
                clock,
            )
    body = get(client, "/api/staffordshire/west/events")
    assert [e["title"] for e in body] == ["Under way", "Tomorrow", "Next month"]
    tomorrow = body[1]
    assert tomorrow == {
        "title": "Tomorrow",
        "type": "meeting",
        "description": "<p>Bring a &lt;friend&gt;</p>",
        "address": "Town hall",
        "start_date": "2026-06-11T13:00:00",  # 12:00 UTC is 13:00 BST
        "end_date": "2026-06-11T15:00:00",
        "contact_details": {},
    }
    assert body[2]["end_date"] is None
    assert get(client, "/api/staffordshire/east/events") == []


def test_priorities_have_hyphenated_date_keys_and_a_null_action_when_none(client, db, clock):
    seed(db, clock)
    with db.unit_of_work() as session:
        service.add_priority(
            session,
            force_actor(),
            "west",
            PriorityIn(issue="Speeding on Lichfield Road", issue_date=datetime(2026, 1, 15, 9, 0)),
            clock,
        )
        service.add_priority(
            session,
            force_actor(),
            "west",
            PriorityIn(
                issue="Shoplifting",
                issue_date=datetime(2026, 3, 1),
                action="Patrols with shop staff",
                action_date=datetime(2026, 4, 2, 10, 30),
            ),
            clock,
        )
    assert get(client, "/api/staffordshire/west/priorities") == [
        {
            "issue": "<p>Shoplifting</p>",
            "issue-date": "2026-03-01T00:00:00",
            "action": "<p>Patrols with shop staff</p>",
            "action-date": "2026-04-02T10:30:00",  # BST by then: given and shown as local time
        },
        {
            "issue": "<p>Speeding on Lichfield Road</p>",
            "issue-date": "2026-01-15T09:00:00",
            "action": None,
            "action-date": None,
        },
    ]


def test_an_unknown_neighbourhood_is_not_found(client, db, clock):
    seed(db, clock)
    ensure_force(db, "west-midlands")
    for tail in ["", "/boundary", "/people", "/events", "/priorities"]:
        assert_not_found(client, f"/api/staffordshire/nowhere{tail}")
        assert_not_found(client, f"/api/west-midlands/west{tail}")  # another force's neighbourhood


def test_the_catch_all_paths_leave_reserved_first_segments_to_their_own_routes(client, db, clock):
    seed(db, clock)
    # The signed-in management API is registered after the public catch-all: still reached.
    assert client.get("/api/v1/neighbourhoods").status_code == 401
    for path in ["/api/crimes-street-dates/neighbourhoods", "/api/stops-force/west", "/api/v1/west/boundary"]:
        response = client.get(path)
        assert "no neighbourhood" not in response.text and "no force" not in response.text, path


# ---------------------------------------------------------------- locate-neighbourhood


def test_locate_finds_the_force_and_neighbourhood_covering_a_point(client, db, clock):
    seed(db, clock)
    assert get(client, "/api/locate-neighbourhood?q=52.806,-2.117") == {
        "force": "staffordshire",
        "neighbourhood": "west",
    }
    assert get(client, "/api/locate-neighbourhood?q=52.79,-2.06") == {"force": "staffordshire", "neighbourhood": "east"}


def test_locate_outside_every_neighbourhood_is_not_found(client, db, clock):
    seed(db, clock)
    assert_not_found(client, "/api/locate-neighbourhood?q=51.5074,-0.1278")


def test_locate_with_a_missing_or_malformed_point_is_a_bad_request(client, db, clock):
    seed(db, clock)
    for params in [
        None,
        {"q": ""},
        {"q": "52.806"},
        {"q": "52.806,-2.117,3"},
        {"q": "north,west"},
        {"q": "95,-2.1"},
        {"q": "52.8,nan"},
    ]:
        response = client.get("/api/locate-neighbourhood", params=params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "input.bad_request"


def test_locate_sees_a_neighbourhood_added_changed_or_removed_at_once(client, db, clock):
    seed(db, clock)
    point = "/api/locate-neighbourhood?q=52.806,-2.117"
    assert get(client, point)["neighbourhood"] == "west"
    centre = [[52.80, -2.13], [52.80, -2.11], [52.81, -2.11], [52.81, -2.13], [52.80, -2.13]]
    with db.unit_of_work() as session:  # same clock reading: the stamp still moves
        service.set_neighbourhood(session, force_actor(), neighbourhood("centre", "Stafford Centre", centre), clock)
    assert get(client, point)["neighbourhood"] == "centre"  # the smaller, more specific area
    moved = [[52.70, -2.13], [52.70, -2.11], [52.71, -2.11], [52.71, -2.13], [52.70, -2.13]]
    with db.unit_of_work() as session:
        service.set_neighbourhood(session, force_actor(), neighbourhood("centre", "Stafford Centre", moved), clock)
    assert get(client, point)["neighbourhood"] == "west"
    assert get(client, "/api/locate-neighbourhood?q=52.705,-2.12")["neighbourhood"] == "centre"
    with db.unit_of_work() as session:
        service.remove_neighbourhood(session, force_actor(), "west", clock)
    assert_not_found(client, point)


# ---------------------------------------------------------------- the demo force


def test_the_demo_force_has_a_neighbourhood_per_town_each_locating_its_own_centre(client, db, clock):
    from bluelamp.access.service import add_force
    from bluelamp.sim.demo import STAFFORDSHIRE
    from bluelamp.sim.demo_neighbourhoods import TOWNS, seed_neighbourhoods

    with db.unit_of_work() as session:
        add_force(session, force_actor(), STAFFORDSHIRE, clock)
        assert seed_neighbourhoods(session, force_actor(), clock) == len(TOWNS)
    listed = get(client, "/api/staffordshire/neighbourhoods")
    assert sorted(n["id"] for n in listed) == sorted(t[0] for t in TOWNS)
    for nid, _, lat, lon, _ in TOWNS:
        assert get(client, f"/api/locate-neighbourhood?q={lat},{lon}") == {
            "force": "staffordshire",
            "neighbourhood": nid,
        }
        assert len(get(client, f"/api/staffordshire/{nid}/events")) == 2  # the past one is hidden
        assert len(get(client, f"/api/staffordshire/{nid}/priorities")) == 3
        team = get(client, f"/api/staffordshire/{nid}/people")
        assert [p["rank"] for p in team] == ["Sergeant", "PC", "PCSO", "PCSO"]
    profile = get(client, "/api/forces/staffordshire")
    assert profile["telephone"] == "101" and profile["engagement_methods"]
    with db.unit_of_work() as session:  # run again: kept as it is
        assert seed_neighbourhoods(session, force_actor(), clock) == 0
