"""(b) Unit recommendations with 10,000 units (issue 5): in process against a numpy
brute-force ETA scan measured in the same run, and over HTTP against the nearest-units
endpoint (the same index read without the recommendation's routing and reasons).

In process: ``recommend_for_point`` (the latest-position index's k-nearest with the
capability filter, 4× candidates, straight-line ETAs per unit type, ordering, reasons)
for incidents spread over Staffordshire; half need no capability, a third need a taser
(about 30% of units), the rest firearms (a few armed response vehicles and officers).
The baseline computes every unit's ETA with numpy and takes the five smallest.
Agreement: how often the five recommended are exactly the five fastest of all units
(the 4× candidate pool is an approximation; this measures it).
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from harness import PYTHON, Section, free_port, percentile, record, server_log, wait_for

from bluelamp.clock import Clock
from bluelamp.command.recommend import recommend_for_point
from bluelamp.command.routing import TYPICAL_SPEED_KMH, StraightLineRouter
from bluelamp.storage import Database
from bluelamp.tracking.index import UnitState, capability_mask
from bluelamp.tracking.runtime import Tracking

TITLE = "Command and control: unit recommendations"
RNG = random.Random(20261128)
LAT, LON = (52.42, 53.23), (-2.47, -1.58)  # Staffordshire, roughly
ROAD_FACTOR = 1.35
COUNT = 5
# A force's fleet, roughly: mostly response cars, some foot and specialist units.
FLEET = [
    ("response_car", 0.55),
    ("foot_patrol", 0.15),
    ("van", 0.08),
    ("roads_policing_car", 0.06),
    ("cycle_patrol", 0.05),
    ("unmarked_car", 0.05),
    ("dog_van", 0.03),
    ("motorcycle", 0.02),
    ("armed_response_vehicle", 0.01),
]
TYPE_CAPS = {"armed_response_vehicle": ["firearms"], "dog_van": ["dog"], "roads_policing_car": ["roads_policing"]}


def fleet(count: int) -> list[dict]:
    types, weights = zip(*FLEET, strict=True)
    units = []
    for n in range(count):
        unit_type = RNG.choices(types, weights)[0]
        caps = list(TYPE_CAPS.get(unit_type, []))
        if RNG.random() < 0.3:
            caps.append("taser")
        if RNG.random() < 0.003:
            caps.append("firearms")
        units.append(
            {
                "id": f"u{n:07d}",
                "type": unit_type,
                "caps": caps,
                "status": "available" if RNG.random() < 0.6 else "at_scene",
                "lat": RNG.uniform(*LAT),
                "lon": RNG.uniform(*LON),
            }
        )
    return units


def tracking_with(units: list[dict], folder: str) -> Tracking:
    """The tracking machinery with its index holding these units (no store reads)."""
    tracking = Tracking(
        Database.from_url(f"sqlite:///{folder}/unused.db"), Clock(), lambda e: None, background_writer=False
    )
    now = datetime.now(UTC)
    tracking.index.load(
        UnitState(
            u["id"],
            "staffordshire",
            f"U{n}",
            u["type"],
            u["status"],
            "OFFICIAL",
            capability_mask(u["caps"]),
            lat=u["lat"],
            lon=u["lon"],
            fix_at=now,
        )
        for n, u in enumerate(units)
    )
    return tracking


def arrays_of(units: list[dict]) -> dict[str, np.ndarray]:
    return {
        "lat": np.array([u["lat"] for u in units]),
        "lon": np.array([u["lon"] for u in units]),
        "available": np.array([u["status"] == "available" for u in units]),
        "speed": np.array([TYPICAL_SPEED_KMH[u["type"]] for u in units]),
        "mask": np.array([capability_mask(u["caps"]) for u in units], dtype=np.int64),
        "id": np.array([u["id"] for u in units]),
    }


def numpy_recommend(arrays: dict[str, np.ndarray], lat: float, lon: float, required: list[str]) -> list[str]:
    """Baseline: every unit's ETA (haversine × road factor ÷ its type's speed), the status
    and capability filters, then the five fastest."""
    la, lo = np.radians(arrays["lat"]), np.radians(arrays["lon"])
    p, q = math.radians(lat), math.radians(lon)
    a = np.sin((la - p) / 2) ** 2 + math.cos(p) * np.cos(la) * np.sin((lo - q) / 2) ** 2
    km = 2 * 6371.0088 * np.arcsin(np.sqrt(a))
    eta = km * ROAD_FACTOR / arrays["speed"] * 3600
    mask = capability_mask(required)
    eta[~(arrays["available"] & ((arrays["mask"] & mask) == mask))] = np.inf
    k = min(COUNT, int(np.isfinite(eta).sum()))
    if k == 0:
        return []
    fastest = np.argpartition(eta, k - 1)[:k] if k < len(eta) else np.arange(len(eta))
    fastest = fastest[np.isfinite(eta[fastest])]
    return list(arrays["id"][fastest[np.argsort(eta[fastest])]])


def queries(count: int) -> list[tuple[float, float, list[str]]]:
    found = []
    for n in range(count):
        required = [] if n % 6 < 3 else ["taser"] if n % 6 < 5 else ["firearms"]
        found.append((RNG.uniform(52.5, 53.1), RNG.uniform(-2.4, -1.7), required))
    return found


def bench_in_process(units: int, samples: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bluelamp-bench-recommend-") as folder:
        fleet_units = fleet(units)
        tracking = tracking_with(fleet_units, folder)
        arrays = arrays_of(fleet_units)
        router = StraightLineRouter(ROAD_FACTOR)
        points = queries(samples)
        for lat, lon, required in points[:50]:  # warm up
            recommend_for_point(tracking, router, "staffordshire", lat, lon, required, COUNT, ["OFFICIAL"])
        ours, baseline, agree = [], [], 0
        for lat, lon, required in points:
            start = time.perf_counter()
            found = recommend_for_point(
                tracking, router, "staffordshire", lat, lon, required, COUNT, ["OFFICIAL"], road_factor=ROAD_FACTOR
            )
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            brute = numpy_recommend(arrays, lat, lon, required)
            baseline.append(time.perf_counter() - start)
            if not found:
                raise RuntimeError(f"no recommendation for {lat}, {lon} needing {required}")
            agree += [r.unit_id for r in found] == brute
    return {
        "p50": percentile(ours, 50) * 1000,
        "p99": percentile(ours, 99) * 1000,
        "numpy_p50": percentile(baseline, 50) * 1000,
        "numpy_p99": percentile(baseline, 99) * 1000,
        "agreement": agree / len(points) * 100,
    }


# ---------------------------------------------------------------- over HTTP


def http_database(folder: str, units: int) -> tuple[str, Database, str]:
    """A demo database with ``units`` more units and one grade 1 incident needing a taser."""
    from bench_tracking import add_units, fresh_database

    from bluelamp.command.model import Incident

    url, database = fresh_database(folder, "recommend")
    add_units(database, units)
    now = datetime.now(UTC)
    with database.unit_of_work() as session:
        session.add(
            Incident(
                id="benchincident",
                force_id="staffordshire",
                marking="OFFICIAL",
                reference=f"SP-{now:%Y%m%d}-9999",
                source="999",
                opening_category="violence_in_progress",
                qualifiers=[],
                lat=52.9,
                lon=-2.0,
                area_kind="urban",
                grade="1",
                status="open",
                created_at=now,
                created_by="bench",
                target_minutes=15,
                target_at=now + timedelta(minutes=15),
                updated_at=now,
            )
        )
    return url, database, "benchincident"


def serve(url: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "BLUELAMP_DATABASE_URL": url, "BLUELAMP_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [PYTHON, "-m", "bluelamp", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=server_log(),
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/livez", process, timeout=120)
    return process, base


def wrk_authorised(url: str, token: str, seconds: int, connections: int) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, requests/s) of GETs to ``url`` with a bearer token."""
    import re

    script = Path(tempfile.mkdtemp()) / "auth.lua"
    script.write_text(f'wrk.headers["Authorization"] = "Bearer {token}"\n')
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered errors:\n{out}")

    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    return latency("50"), latency("99"), float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def bench_http(units: int, seconds: int) -> dict[str, tuple[float, float, float]]:
    from bench_tracking import token_for

    with tempfile.TemporaryDirectory(prefix="bluelamp-bench-recommend-http-") as folder:
        url, database, incident_id = http_database(folder, units)
        token = token_for(database, "dispatcher")
        process, base = serve(url)
        try:
            recommend_url = f"{base}/api/v1/incidents/{incident_id}/recommendations"
            nearest_url = f"{base}/api/v1/units/nearest?lat=52.9&lon=-2.0&k=5&capability=taser"
            wrk_authorised(recommend_url, token, 1, 4)  # warm up
            return {
                "nearest": wrk_authorised(nearest_url, token, seconds, 4),
                "recommend": wrk_authorised(recommend_url, token, seconds, 4),
            }
        finally:
            process.terminate()
            process.wait(timeout=30)
            database.dispose()


def run(quick: bool = False) -> Section:
    units = 10000
    samples = 500 if quick else 5000
    seconds = 2 if quick else 8
    section = Section(
        TITLE,
        command="make bench (bench/bench_command_recommend.py)",
        notes=f"{units:,} units (a force's mixed fleet, 60% available) over Staffordshire; top {COUNT} by "
        f"straight-line ETA from {COUNT * 4} index candidates; {samples:,} incidents in process (half needing no "
        "capability, a third a taser, the rest firearms) against a numpy ETA scan of every unit; over HTTP: "
        f"wrk -t1 -c4 -d{seconds}s with a dispatcher's token, SQLite, 1 worker, a grade 1 incident needing a taser, "
        "against the nearest-units endpoint (same index read, no routing or reasons)",
    )
    figures = bench_in_process(units, samples)
    section.add(f"recommendation in process, {units:,} units: p50", figures["p50"], "ms")
    section.add(
        f"recommendation in process, {units:,} units: p99",
        figures["p99"],
        "ms",
        goal="< 5 ms",
        met=figures["p99"] < 5,
    )
    section.add("numpy ETA scan of every unit: p50 (baseline)", figures["numpy_p50"], "ms")
    section.add("numpy ETA scan of every unit: p99 (baseline)", figures["numpy_p99"], "ms")
    section.add("speed-up over numpy (p99)", figures["numpy_p99"] / figures["p99"], "×")
    section.add("top 5 identical to the exhaustive ETA ranking", figures["agreement"], "% of incidents")
    try:
        http = bench_http(units, seconds)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
        print(f"  over HTTP: not measured ({error})")
        section.notes += f"; over HTTP not measured: {error}"
        return section
    p50, p99, rps = http["nearest"]
    section.add("nearest units over HTTP (baseline): p50", p50, "ms")
    section.add("nearest units over HTTP (baseline): p99", p99, "ms")
    p50, p99, rps_recommend = http["recommend"]
    section.add(f"recommendation over HTTP, {units:,} units: p50", p50, "ms")
    section.add(f"recommendation over HTTP, {units:,} units: p99", p99, "ms", goal="< 30 ms", met=p99 < 30)
    section.add("recommendation over HTTP", rps_recommend, "req/s")
    section.add("recommendation ÷ nearest (requests/s)", rps_recommend / rps * 100, "%")
    return section


if __name__ == "__main__":
    record(run())
