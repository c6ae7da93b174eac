"""Geofences: valid polygons only; enter and leave events as units move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bluelamp.clock import FixedClock
from bluelamp.errors import InvalidInput
from bluelamp.events import EventBus
from bluelamp.tracking import geofences, queries, service
from bluelamp.tracking.ingest import parse_osmand
from bluelamp.tracking.runtime import Tracking
from tests.factories.tracking import force_actor, make_station, make_unit

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
SECTOR = {
    "type": "Polygon",
    "coordinates": [[[-2.20, 52.99], [-2.16, 52.99], [-2.16, 53.02], [-2.20, 53.02], [-2.20, 52.99]]],
}


@pytest.mark.parametrize(
    "geojson, message",
    [
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "Self-intersection"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [0, 0]]]}, "three distinct corners"),
        ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "not a LineString"),
        ({"type": "Polygon", "coordinates": [[[500, 0], [501, 1], [501, 0], [500, 0]]]}, "out of range"),
        ("{not json", "not a GeoJSON polygon"),
    ],
)
def test_invalid_polygons_are_refused_with_the_reason(geojson, message):
    with pytest.raises(InvalidInput) as caught:
        geofences.parse_polygon(geojson)
    assert caught.value.code == "geofence.invalid"
    assert message.lower() in caught.value.detail.lower()


def test_a_feature_wrapping_a_polygon_is_accepted():
    assert geofences.parse_polygon({"type": "Feature", "geometry": SECTOR, "properties": {}}).area > 0


def test_a_new_station_gets_a_station_geofence(db):
    make_station(db, "STOKE", 53.003, -2.180)
    with db.read() as session:
        found = queries.geofences(session, "staffordshire")
    assert [(g.name, g.kind) for g in found] == [("STOKE station station", "station")]
    shape = geofences.parse_polygon(found[0].geojson)
    assert shape.contains(geofences.Point(-2.180, 53.003))
    assert not shape.contains(geofences.Point(-2.180, 53.006))  # about 330 m north: outside 150 m


def test_units_crossing_a_sector_raise_enter_and_leave_events(db):
    clock = FixedClock(NOW)
    seen = []
    bus = EventBus()
    bus.subscribe(seen.append)
    make_unit(db, "SF40", status="available")
    with db.unit_of_work() as session:
        fence = geofences.add_geofence(
            session, force_actor(), geofences.AddGeofence("Hanley sector", "sector", SECTOR), clock
        )
        service.add_device(session, force_actor(), service.AddDevice("dev-40", unit_call_sign="SF40"), clock)
    tracking = Tracking(db, clock, bus.publish, background_writer=False)
    tracking.start()

    def fix(lat, lon, seconds):
        return parse_osmand(
            {
                "id": "dev-40",
                "lat": str(lat),
                "lon": str(lon),
                "timestamp": str(int((NOW + timedelta(seconds=seconds)).timestamp())),
            },
            NOW,
        )

    clock.advance(timedelta(seconds=60))
    tracking.ingest.ingest([fix(52.95, -2.18, 0)])  # outside
    tracking.ingest.ingest([fix(53.00, -2.18, 10)])  # inside
    tracking.ingest.ingest([fix(53.01, -2.18, 20)])  # still inside
    tracking.ingest.ingest([fix(53.05, -2.18, 30)])  # outside again
    crossings = [(e.data["name"], e.data["event"]) for e in seen if e.name == "GeofenceCrossed"]
    assert crossings == [("Hanley sector", "enter"), ("Hanley sector", "leave")]
    with db.read() as session:
        unit = queries.unit_by_call_sign(session, "staffordshire", "SF40")
        stored = queries.geofence_events(session, unit.id)
    assert [(e.geofence_id, e.event) for e in reversed(stored)] == [(fence.id, "enter"), (fence.id, "leave")]
