"""Managing a force's neighbourhoods: boundaries checked (two vertices, crossing, unclosed
refused), everything within the actor's own force and audited, the GeoJSON loader (all or
nothing, replace or keep), the signed-in management API and its permissions, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bluelamp.access.model import AuditEntry, Force
from bluelamp.access.policy import Actor, Role
from bluelamp.clock import FixedClock
from bluelamp.errors import Conflict, Denied, InvalidInput, NotFound
from bluelamp.opendata.neighbourhoods import geometry, queries, service
from bluelamp.opendata.neighbourhoods.service import EventIn, ForceProfile, NeighbourhoodIn, PriorityIn
from tests.factories.access import bearer, ensure_force, make_user
from tests.factories.tracking import force_actor
from tests.test_opendata_forces import EAST, NOW, WEST

SQUARE = [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]]


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"opendata_rate_burst": 10_000})


def feature(nid: str | None, name: str, ring: list, **properties) -> dict:
    """A GeoJSON Feature (positions [lon, lat]) for a [[lat, lon], ...] ring."""
    props = {"name": name, **properties}
    if nid is not None:
        props["id"] = nid
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[lon, lat] for lat, lon in ring]]},
        "properties": props,
    }


def collection(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def audit_actions(db) -> list[tuple[str, str | None, str | None]]:
    with db.read() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("neighbourhood.%")).order_by(AuditEntry.seq)
        )
        return [(e.action, e.record_id, e.force_id) for e in rows]


def set_one(db, clock, nid: str = "west", ring: list = WEST, force_id: str = "staffordshire"):
    ensure_force(db, force_id)
    with db.unit_of_work() as session:
        return service.set_neighbourhood(
            session, force_actor(force_id), NeighbourhoodIn(id=nid, name=nid.title(), boundary=ring), clock
        )


# ---------------------------------------------------------------- boundaries


@pytest.mark.parametrize(
    "ring, message",
    [
        ([[0, 0], [1, 1], [0, 0]], "three distinct vertices"),
        ([[0, 0], [1, 0], [1, 1], [0, 1]], "not closed"),
        ([[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]], "Self-intersection"),
        ([[0, 0], [1, 0], [2, 0], [0, 0]], "not a simple ring"),  # three vertices on one line
        ([[0, 0], [95, 0], [1, 1], [0, 0]], "out of range"),
        ([[0, 0], [1, 0], "1,1", [0, 0]], "not a [latitude, longitude] pair"),
        ("52.8,-2.1", "list of [latitude, longitude]"),
    ],
)
def test_bad_boundaries_are_refused_with_the_reason(ring, message):
    with pytest.raises(InvalidInput) as caught:
        geometry.boundary_polygon(ring)
    assert caught.value.code == "neighbourhood.invalid_boundary"
    assert message.lower() in caught.value.detail.lower()


@pytest.mark.parametrize(
    "geometry_, message",
    [
        ({"type": "MultiPolygon", "coordinates": []}, "not a MultiPolygon"),
        ({"type": "Point", "coordinates": [0, 0]}, "Polygon, not 'Point'"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 0]], [[1, 1], [2, 1], [2, 2], [1, 1]]]},
            "no holes",
        ),
        (None, "needs a GeoJSON Polygon"),
    ],
)
def test_a_geojson_boundary_is_one_polygon_ring(geometry_, message):
    with pytest.raises(InvalidInput) as caught:
        geometry.ring_from_geojson(geometry_)
    assert caught.value.code == "neighbourhood.invalid_boundary"
    assert message in caught.value.detail


def test_a_bad_boundary_is_refused_by_the_service_and_nothing_is_written(db, clock):
    ensure_force(db)
    with pytest.raises(InvalidInput), db.unit_of_work() as session:
        service.set_neighbourhood(
            session,
            force_actor(),
            NeighbourhoodIn(id="bow", name="Bow", boundary=[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]),
            clock,
        )
    with db.read() as session:
        assert queries.neighbourhood_ids(session, "staffordshire") == []


def test_ids_must_be_url_safe_and_not_an_api_path(db, clock):
    ensure_force(db)
    for bad in ["neighbourhoods", "has space", "a/b", ""]:
        with pytest.raises(InvalidInput) as caught, db.unit_of_work() as session:
            service.set_neighbourhood(session, force_actor(), {"id": bad, "name": "X", "boundary": SQUARE}, clock)
        assert caught.value.problems[0].field == "id"


# ---------------------------------------------------------------- the services


def test_setting_a_neighbourhood_again_replaces_it_and_keeps_its_events_and_priorities(db, clock):
    set_one(db, clock)
    with db.unit_of_work() as session:
        service.add_event(
            session, force_actor(), "west", EventIn(title="Surgery", start=NOW + timedelta(days=1)), clock
        )
        service.add_priority(session, force_actor(), "west", PriorityIn(issue="Speeding"), clock)
        service.set_neighbourhood(
            session, force_actor(), NeighbourhoodIn(id="west", name="Stafford West", boundary=EAST, population=9), clock
        )
    with db.read() as session:
        row = queries.neighbourhood(session, "staffordshire", "west", with_boundary=True)
        assert (row.name, row.population, row.boundary) == ("Stafford West", "9", EAST)
        assert len(queries.events(session, "staffordshire", "west")) == 1
        assert len(queries.priorities(session, "staffordshire", "west")) == 1
    assert [a[0] for a in audit_actions(db)] == [
        "neighbourhood.set",
        "neighbourhood.event_add",
        "neighbourhood.priority_add",
        "neighbourhood.set",
    ]


def test_every_change_is_audited_in_the_actors_force(db, clock):
    set_one(db, clock)
    with db.unit_of_work() as session:
        event = service.add_event(session, force_actor(), "west", EventIn(title="Surgery", start=NOW), clock)
        priority = service.add_priority(session, force_actor(), "west", PriorityIn(issue="Speeding"), clock)
        service.update_priority(session, force_actor(), priority.id, {"action": "Speed checks"}, clock)
        service.remove_event(session, force_actor(), event.id, clock)
        service.remove_priority(session, force_actor(), priority.id, clock)
        service.remove_neighbourhood(session, force_actor(), "west", clock)
        service.set_force_profile(session, force_actor(), ForceProfile(telephone="101"), clock)
    assert audit_actions(db) == [
        ("neighbourhood.set", "west", "staffordshire"),
        ("neighbourhood.event_add", event.id, "staffordshire"),
        ("neighbourhood.priority_add", priority.id, "staffordshire"),
        ("neighbourhood.priority_update", priority.id, "staffordshire"),
        ("neighbourhood.event_remove", event.id, "staffordshire"),
        ("neighbourhood.priority_remove", priority.id, "staffordshire"),
        ("neighbourhood.remove", "west", "staffordshire"),
    ]
    with db.read() as session:
        assert session.scalars(select(AuditEntry.action).where(AuditEntry.action == "force.profile_set")).all()


def test_another_forces_neighbourhoods_events_and_priorities_answer_like_missing_ones(db, clock):
    set_one(db, clock, "west", force_id="staffordshire")
    set_one(db, clock, "west", ring=EAST, force_id="west-midlands")  # the same id in another force
    with db.unit_of_work() as session:
        event = service.add_event(session, force_actor(), "west", EventIn(title="Surgery", start=NOW), clock)
        priority = service.add_priority(session, force_actor(), "west", PriorityIn(issue="Speeding"), clock)
    other = force_actor("west-midlands")
    for attempt in [
        lambda s: service.remove_event(s, other, event.id, clock),
        lambda s: service.update_priority(s, other, priority.id, {"action": "x"}, clock),
        lambda s: service.remove_priority(s, other, priority.id, clock),
        lambda s: service.add_event(s, force_actor("west-midlands"), "east", EventIn(title="x", start=NOW), clock),
    ]:
        with pytest.raises(NotFound), db.unit_of_work() as session:
            attempt(session)
    with db.unit_of_work() as session:  # its own "west" is its own
        service.remove_neighbourhood(session, other, "west", clock)
    with db.read() as session:
        assert queries.neighbourhood_ids(session, "staffordshire") == ["west"]
        assert len(queries.events(session, "staffordshire", "west")) == 1


def test_only_a_force_member_with_neighbourhood_manage_may_change_anything(db, clock):
    set_one(db, clock)
    officer = Actor(user_id="u1", username="pc", force_id="staffordshire", roles=frozenset({Role.RESPONSE_OFFICER}))
    platform = Actor(user_id="u2", username="ops", force_id=None, roles=frozenset({Role.PLATFORM_ADMIN}))
    supervisor = Actor(user_id="u3", username="sgt", force_id="staffordshire", roles=frozenset({Role.SUPERVISOR}))
    for actor in (officer, platform):
        with pytest.raises(Denied), db.unit_of_work() as session:
            service.set_force_profile(session, actor, ForceProfile(telephone="999"), clock)
        with pytest.raises(Denied), db.unit_of_work() as session:
            service.remove_neighbourhood(session, actor, "west", clock)
    with db.unit_of_work() as session:
        service.add_priority(session, supervisor, "west", PriorityIn(issue="Parking"), clock)


def test_the_profile_keeps_the_forces_publication_settings(db, clock):
    ensure_force(db)
    with db.unit_of_work() as session:
        force = session.get(Force, "staffordshire")
        force.settings = {**force.settings, "opendata": {"min_addresses_per_point": 12}}
    with db.unit_of_work() as session:
        service.set_force_profile(
            session,
            force_actor(),
            ForceProfile(
                url="https://force.example", engagement_methods=[{"title": "Web", "url": "https://force.example"}]
            ),
            clock,
        )
    with db.read() as session:
        stored = session.get(Force, "staffordshire").settings["opendata"]
    assert stored["min_addresses_per_point"] == 12
    assert stored["engagement_methods"][0]["title"] == "Web"


def test_text_is_served_escaped_as_paragraphs_and_read_back_as_the_same_text(db, clock):
    text = 'Meet us at "The Swan" & <bring> tea.\nSecond line.\n\nNew paragraph.'
    assert service.html_of(text) == (
        "<p>Meet us at &quot;The Swan&quot; &amp; &lt;bring&gt; tea.<br>Second line.</p><p>New paragraph.</p>"
    )
    assert service.text_of(service.html_of(text)) == text


def test_event_times_without_an_offset_are_uk_local_time_and_must_not_end_before_they_start(db, clock):
    set_one(db, clock)
    with db.unit_of_work() as session:
        event = service.add_event(
            session, force_actor(), "west", {"title": "Surgery", "start": "2026-07-01T19:00"}, clock
        )
        assert event.start_at == datetime(2026, 7, 1, 18, 0, tzinfo=UTC)  # BST
        with pytest.raises(InvalidInput) as caught:
            service.add_event(
                session,
                force_actor(),
                "west",
                {"title": "x", "start": "2026-07-01T19:00", "end": "2026-07-01T18:00"},
                clock,
            )
    assert caught.value.problems[0].field == "end"


def test_a_priority_update_changes_only_what_is_sent(db, clock):
    set_one(db, clock)
    with db.unit_of_work() as session:
        priority = service.add_priority(session, force_actor(), "west", PriorityIn(issue="Speeding"), clock)
        service.update_priority(session, force_actor(), priority.id, {"action": "Speed checks"}, clock)
        assert (priority.issue, priority.action, priority.action_at) == ("<p>Speeding</p>", "<p>Speed checks</p>", NOW)
        service.update_priority(session, force_actor(), priority.id, {"action": None}, clock)
        assert (priority.issue, priority.action, priority.action_at) == ("<p>Speeding</p>", None, None)


# ---------------------------------------------------------------- the GeoJSON loader


def test_a_feature_collection_sets_each_neighbourhood_with_its_properties(db, clock):
    ensure_force(db)
    data = collection(
        feature(
            "west",
            "Stafford West",
            WEST,
            population="12000",
            description="Town",
            contact_details={"email": "w@force.example"},
            team=[{"name": "Alex Doe", "rank": "Sergeant"}],
            centre={"latitude": "52.8", "longitude": "-2.12"},
            colour="red",  # a GIS property: ignored
        ),
        {**feature(None, "Stafford East", EAST), "id": "east"},  # the Feature's own id
    )
    with db.unit_of_work() as session:
        loaded = service.load_neighbourhoods(session, force_actor(), data, clock)
    assert loaded.set == ["west", "east"] and loaded.removed == []
    with db.read() as session:
        west = queries.neighbourhood(session, "staffordshire", "west", with_boundary=True)
        assert (west.population, west.description, west.boundary) == ("12000", "<p>Town</p>", WEST)
        assert (west.centre_lat, west.centre_lon) == (52.8, -2.12)
        assert west.people == [{"name": "Alex Doe", "rank": "Sergeant", "bio": None, "contact_details": {}}]
        assert service.neighbourhood_feature(session, force_actor(), "west")["properties"]["description"] == "Town"
    assert audit_actions(db)[-1] == ("neighbourhood.load", "staffordshire", "staffordshire")


def test_loading_with_replace_removes_the_others_and_their_events_and_without_keeps_them(db, clock):
    set_one(db, clock, "old", ring=SQUARE)
    with db.unit_of_work() as session:
        service.add_event(session, force_actor(), "old", EventIn(title="Surgery", start=NOW), clock)
        kept = service.load_neighbourhoods(session, force_actor(), collection(feature("west", "W", WEST)), clock)
    assert kept.kept == ["old"] and kept.removed == []
    with db.unit_of_work() as session:
        replaced = service.load_neighbourhoods(
            session, force_actor(), collection(feature("west", "W", WEST)), clock, replace=True
        )
    assert replaced.removed == ["old"]
    with db.read() as session:
        assert queries.neighbourhood_ids(session, "staffordshire") == ["west"]
        assert queries.events(session, "staffordshire", "old") == []


def test_a_file_with_a_bad_feature_loads_nothing_and_names_every_problem(db, clock):
    ensure_force(db)
    data = collection(
        feature("west", "W", WEST),
        feature("bad", "Two vertices", [[0, 0], [1, 1], [0, 0]]),
        feature("worse", "", EAST, population=-3),
    )
    with pytest.raises(InvalidInput) as caught, db.unit_of_work() as session:
        service.load_neighbourhoods(session, force_actor(), data, clock)
    fields = [p.field for p in caught.value.problems]
    assert fields == ["features[1].geometry", "features[2].properties.name", "features[2].properties.population"]
    with db.read() as session:
        assert queries.neighbourhood_ids(session, "staffordshire") == []


def test_a_file_naming_a_neighbourhood_twice_is_a_conflict(db, clock):
    ensure_force(db)
    with pytest.raises(Conflict) as caught, db.unit_of_work() as session:
        service.load_neighbourhoods(
            session, force_actor(), collection(feature("w", "W", WEST), feature("w", "W2", EAST)), clock
        )
    assert caught.value.code == "neighbourhood.duplicate_id" and caught.value.extra == {"ids": ["w"]}


def test_a_file_that_is_not_a_feature_collection_is_refused(db, clock):
    ensure_force(db)
    for data in [[], {"type": "Feature"}, {"type": "FeatureCollection", "features": []}]:
        with pytest.raises(InvalidInput), db.unit_of_work() as session:
            service.load_neighbourhoods(session, force_actor(), data, clock)


# ---------------------------------------------------------------- the management API


def test_the_management_api_needs_neighbourhood_manage_in_the_callers_force(client, db, clock):
    set_one(db, clock)
    officer = bearer(db, make_user(db, "response_officer"))
    supervisor = bearer(db, make_user(db, "supervisor"))
    elsewhere = bearer(db, make_user(db, "force_admin", force_id="west-midlands"))
    assert client.get("/api/v1/neighbourhoods").status_code == 401
    assert client.get("/api/v1/neighbourhoods", headers=officer).status_code == 403
    assert client.put("/api/v1/neighbourhoods/west", json=feature(None, "W", WEST), headers=officer).status_code == 403
    assert client.get("/api/v1/opendata/profile", headers=officer).status_code == 403
    listed = client.get("/api/v1/neighbourhoods", headers=supervisor)
    assert [n["id"] for n in listed.json()] == ["west"]
    assert client.get("/api/v1/neighbourhoods", headers=elsewhere).json() == []
    for method, path in [
        ("GET", "/api/v1/neighbourhoods/west"),
        ("DELETE", "/api/v1/neighbourhoods/west"),
        ("POST", "/api/v1/neighbourhoods/west/events"),
        ("GET", "/api/v1/neighbourhoods/west/priorities"),
    ]:
        body = {"title": "x", "start": "2026-07-01T19:00"} if method == "POST" else None
        response = client.request(method, path, json=body, headers=elsewhere)
        assert response.status_code == 404, (method, path)


def test_a_team_manages_its_neighbourhood_through_the_api_and_the_public_sees_it(client, db, clock):
    ensure_force(db)
    admin = bearer(db, make_user(db, "force_admin"))
    put = client.put(
        "/api/v1/neighbourhoods",
        json=collection(feature("west", "Stafford West", WEST), feature("east", "Stafford East", EAST)),
        headers=admin,
    )
    assert put.status_code == 200 and put.json() == {"set": ["west", "east"], "removed": []}
    one = client.put(
        "/api/v1/neighbourhoods/west", json=feature(None, "Stafford West", WEST, population=500), headers=admin
    )
    assert one.status_code == 200 and one.json()["properties"]["population"] == 500
    mismatch = client.put("/api/v1/neighbourhoods/west", json=feature("east", "E", EAST), headers=admin)
    assert mismatch.status_code == 422
    crossing = client.put(
        "/api/v1/neighbourhoods/bow", json=feature(None, "Bow", [[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]), headers=admin
    )
    assert crossing.status_code == 422 and crossing.json()["code"] == "neighbourhood.invalid_boundary"

    event = client.post(
        "/api/v1/neighbourhoods/west/events",
        json={"title": "Surgery", "start": "2026-07-01T19:00", "end": "2026-07-01T20:00", "address": "Library"},
        headers=admin,
    )
    assert event.status_code == 201 and event.json()["start"] == "2026-07-01T18:00:00Z"
    priority = client.post("/api/v1/neighbourhoods/west/priorities", json={"issue": "Speeding"}, headers=admin)
    assert priority.status_code == 201
    changed = client.patch(
        f"/api/v1/neighbourhoods/west/priorities/{priority.json()['id']}", json={"action": "Checks"}, headers=admin
    )
    assert changed.status_code == 200 and changed.json()["action"] == "Checks"
    assert client.get("/api/staffordshire/west/events").json()[0]["start_date"] == "2026-07-01T19:00:00"
    assert client.get("/api/staffordshire/west/priorities").json()[0]["action"] == "<p>Checks</p>"
    assert client.get("/api/staffordshire/west").json()["population"] == "500"

    wrong_place = client.delete(f"/api/v1/neighbourhoods/east/events/{event.json()['id']}", headers=admin)
    assert wrong_place.status_code == 404
    assert client.delete(f"/api/v1/neighbourhoods/west/events/{event.json()['id']}", headers=admin).status_code == 204
    assert client.get("/api/staffordshire/west/events").json() == []

    profile = client.put(
        "/api/v1/opendata/profile",
        json={
            "url": "https://force.example",
            "telephone": "101",
            "people": [{"name": "H M", "rank": "Chief Constable"}],
        },
        headers=admin,
    )
    assert profile.status_code == 200
    assert client.get("/api/forces/staffordshire").json()["url"] == "https://force.example"
    assert client.get("/api/forces/staffordshire/people").json()[0]["rank"] == "Chief Constable"

    assert client.delete("/api/v1/neighbourhoods/east", headers=admin).status_code == 204
    assert [n["id"] for n in client.get("/api/staffordshire/neighbourhoods").json()] == ["west"]


# ---------------------------------------------------------------- the command line


def test_the_cli_loads_a_geojson_file_and_lists_the_neighbourhoods(settings, monkeypatch, capsys, tmp_path):
    import bluelamp.cli.opendata_neighbourhoods  # noqa: F401  (registers the commands)
    from bluelamp.cli.main import main
    from tests.test_cli import fresh_migrated_url

    monkeypatch.setenv("BLUELAMP_DATABASE_URL", fresh_migrated_url(settings))
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["force", "add", "staffordshire", "Staffordshire Police"]) == 0
    path = tmp_path / "areas.geojson"
    path.write_text(
        json.dumps(collection(feature("west", "Stafford West", WEST), feature("east", "Stafford East", EAST)))
    )
    capsys.readouterr()
    assert main(["opendata", "neighbourhoods", "load", "--force", "staffordshire", str(path)]) == 0
    assert "2 neighbourhoods set" in capsys.readouterr().out
    assert main(["opendata", "neighbourhoods", "list", "--force", "staffordshire"]) == 0
    out = capsys.readouterr().out
    assert "Stafford West" in out and "Stafford East" in out

    path.write_text(json.dumps(collection(feature("west", "W", [[0, 0], [1, 1], [0, 0]]))))
    assert main(["opendata", "neighbourhoods", "load", "--force", "staffordshire", str(path)]) == 1
    captured = capsys.readouterr()
    assert "features[0].geometry" in captured.out and captured.err.startswith("error: ")
    assert main(["opendata", "neighbourhoods", "list", "--force", "atlantis"]) == 1
    assert "no force 'atlantis'" in capsys.readouterr().err


def test_links_the_public_apps_show_must_be_web_mail_or_phone_links(db, clock):
    set_one(db, clock)
    with pytest.raises(InvalidInput) as caught, db.unit_of_work() as session:
        service.set_force_profile(
            session, force_actor(), {"engagement_methods": [{"title": "X", "url": "javascript:alert(1)"}]}, clock
        )
    assert caught.value.problems[0].field == "engagement_methods"
    with pytest.raises(InvalidInput) as caught, db.unit_of_work() as session:
        service.set_neighbourhood(
            session,
            force_actor(),
            {"id": "west", "name": "W", "boundary": WEST, "links": [{"url": "data:text/html,<b>", "title": "x"}]},
            clock,
        )
    assert caught.value.problems[0].field == "links.0.url"
