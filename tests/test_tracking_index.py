"""The latest-position index answers exactly what a brute-force scan would, however
units move, change status or gain capabilities."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bluelamp.tracking.index import LatestIndex, UnitState, capability_mask, haversine_km

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CAPABILITIES = ["taser", "firearms", "dog", "first_aid"]
STATUSES = ["available", "refreshments", "at_scene", "off_duty", "en_route"]


def brute(index: LatestIndex, lat, lon, k, wanted, exclude=()):
    required = capability_mask(wanted)
    rows = [
        (haversine_km(lat, lon, s.lat, s.lon), s.unit_id)
        for s in index.units.values()
        if s.status in ("available", "refreshments")
        and s.lat is not None
        and s.capabilities & required == required
        and s.unit_id not in exclude
        and s.force_id == "f"
    ]
    return [unit_id for _, unit_id in sorted(rows)[:k]]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    count=st.integers(0, 400),
    k=st.integers(1, 8),
    wanted=st.lists(st.sampled_from(CAPABILITIES), max_size=2, unique=True),
)
def test_nearest_matches_brute_force_after_moves_and_status_changes(seed, count, k, wanted):
    rng = random.Random(seed)
    index = LatestIndex()
    for n in range(count):
        caps = [c for c in CAPABILITIES if rng.random() < 0.25]
        lat = rng.uniform(52.4, 53.2) if rng.random() < 0.95 else None
        index.put(
            UnitState(
                str(n),
                "f" if rng.random() < 0.9 else "other",
                f"U{n}",
                "response_car",
                rng.choice(STATUSES),
                "OFFICIAL",
                capability_mask(caps),
                lat=lat,
                lon=rng.uniform(-2.5, -1.6) if lat is not None else None,
                fix_at=T0,
            )
        )
    for n in range(count):
        if rng.random() < 0.3:
            index.move(str(n), rng.uniform(52.4, 53.2), rng.uniform(-2.5, -1.6), T0 + timedelta(minutes=1))
        if rng.random() < 0.2:
            index.set_status(str(n), rng.choice(STATUSES))
        if rng.random() < 0.1:
            index.set_capabilities(str(n), [c for c in CAPABILITIES if rng.random() < 0.5])
    lat, lon = rng.uniform(52.4, 53.2), rng.uniform(-2.5, -1.6)
    exclude = {str(n) for n in range(0, count, 7)}
    found = index.nearest("f", lat, lon, k, capabilities=wanted, exclude=exclude, max_km=500)
    assert [n.unit.unit_id for n in found] == brute(index, lat, lon, k, wanted, exclude)
    assert all(a.distance_km <= b.distance_km for a, b in zip(found, found[1:], strict=False))


def test_an_older_fix_never_overwrites_a_newer_position():
    index = LatestIndex()
    index.put(UnitState("1", "f", "SF1", "response_car", "available", "OFFICIAL", lat=53.0, lon=-2.0, fix_at=T0))
    assert not index.move("1", 52.0, -2.5, T0 - timedelta(seconds=1))
    assert index.units["1"].lat == 53.0
    assert index.move("1", 52.9, -2.1, T0 + timedelta(seconds=1))
    assert index.nearest("f", 52.9, -2.1, 1)[0].unit.lat == 52.9


def test_units_above_the_callers_clearance_are_not_offered():
    index = LatestIndex()
    index.put(UnitState("1", "f", "SF1", "unmarked_car", "available", "SECRET", lat=53.0, lon=-2.0, fix_at=T0))
    index.put(UnitState("2", "f", "SF2", "response_car", "available", "OFFICIAL", lat=53.5, lon=-2.0, fix_at=T0))
    found = index.nearest("f", 53.0, -2.0, 5, allowed_markings=["OFFICIAL"])
    assert [n.unit.unit_id for n in found] == ["2"]
