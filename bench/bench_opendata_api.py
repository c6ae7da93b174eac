"""The open-data API under load (issue 8): `crimes-street` for a one-mile point in one month
of a large force (West Yorkshire's real July 2017, 28,537 crimes; July 2016 loaded beside it),
through wrk with the point varied per request by a Lua script, against the trivial /livez of
the same app in the same run, with 1 and with 2 workers; and a 10,000-crime polygon query's
p95 over HTTP, with the database path (used for months too large to keep in memory) in
process for contrast."""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from harness import PYTHON, Section, WrkResult, free_port, percentile, record, server_log, wait_for, wrk

from bluelamp.access.policy import Actor
from bluelamp.clock import Clock
from bluelamp.opendata import importer, queries
from bluelamp.opendata.model import FileKind
from bluelamp.storage import Database, migrate

TITLE = "Open data: crimes-street and a 10,000-crime polygon"
MONTH = 201707
RNG = random.Random(20261128)


def load(folder: str) -> tuple[str, Database]:
    url = f"sqlite:///{folder}/opendata.db"
    database = Database.from_url(url)
    migrate.upgrade(database)
    importer.import_paths(
        database,
        Actor.system(None, "bench"),
        [
            importer.DATA / "2016-07-west-yorkshire-street.csv.gz",
            importer.DATA / "2017-07-west-yorkshire-street.csv.gz",
        ],
        Clock(),
    )
    return url, database


def sample_points(database: Database, count: int) -> list[tuple[float, float]]:
    """Points where the month's crimes are (so weighted as people and crime are: the places
    people look up), jittered by up to about 200 m."""
    with database.read() as session:
        rows = queries.located_month(session, MONTH)
    chosen = RNG.sample(rows, count)
    return [
        (round(r.lat + RNG.uniform(-0.002, 0.002), 6), round(r.lon + RNG.uniform(-0.003, 0.003), 6)) for r in chosen
    ]


def square_holding(database: Database, target: int) -> tuple[str, int]:
    """A square around Leeds holding as close to ``target`` crimes as a search finds (not over)."""
    lat, lon = 53.7997, -1.5492
    low, high, best = 0.001, 0.5, ("", 0)
    with database.read() as session:
        for _ in range(30):
            half = (low + high) / 2
            south, north, west, east = lat - half, lat + half, lon - half * 1.7, lon + half * 1.7
            poly = f"{south},{west}:{north},{west}:{north},{east}:{south},{east}"
            found = len(queries.street_crimes(session, MONTH, queries.parse_poly(poly)))
            if found <= target:
                low, best = half, max(best, (poly, found), key=lambda b: b[1])
            else:
                high = half
            if found == target:
                break
    return best


def serve(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "BLUELAMP_DATABASE_URL": url,
        "BLUELAMP_LOG_LEVEL": "warning",
        # The benchmark is one client: the per-client rate limit would answer 429.
        "BLUELAMP_OPENDATA_RATE_PER_SECOND": "1000000",
        "BLUELAMP_OPENDATA_RATE_BURST": "1000000",
    }
    process = subprocess.Popen(
        [PYTHON, "-m", "bluelamp", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=server_log(),
    )
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/livez", process, timeout=120)
    return process, base


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def wrk_paths(base: str, paths: list[str], folder: str, *, seconds: int, connections: int = 32) -> WrkResult:
    """wrk with a Lua script that walks through ``paths`` (each thread on its own)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk, or run `make bench`)")
    script = Path(folder) / "points.lua"
    quoted = ",\n".join(f'  "{p}"' for p in paths)
    script.write_text(
        f"local paths = {{\n{quoted}\n}}\n"
        "local n = math.random(#paths)\n"
        "request = function()\n"
        "  n = n % #paths + 1\n"
        '  return wrk.format("GET", paths[n])\n'
        "end\n"
    )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), base],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = 0
    for pattern in (
        r"Non-2xx or 3xx responses:\s+(\d+)",
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
    ):
        match = re.search(pattern, out)
        if match:
            errors += sum(int(g) for g in match.groups())
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return WrkResult(rps, latency("50"), latency("99"), errors)


def post_times(base: str, poly: str, repeat: int) -> list[float]:
    body = urllib.parse.urlencode({"poly": poly, "date": "2017-07"}).encode()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        with urllib.request.urlopen(urllib.request.Request(base + "/api/crimes-street/all-crime", data=body)) as r:
            r.read()
        times.append(time.perf_counter() - start)
    return times


def run(quick: bool = False) -> Section:
    seconds = 3 if quick else 8
    load_average = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bluelamp-bench-opendata-") as folder:
        url, database = load(folder)
        points = sample_points(database, 200)
        paths = [f"/api/crimes-street/all-crime?lat={lat}&lng={lon}" for lat, lon in points]
        with database.read() as session:
            sizes = [len(queries.street_crimes(session, MONTH, queries.Circle(lat, lon))) for lat, lon in points]
            poly, in_poly = square_holding(database, 10_000)
            sql_times = []
            for _ in range(5 if quick else 15):
                start = time.perf_counter()
                queries.crimes_json(queries.street_crimes(session, MONTH, queries.parse_poly(poly), cap=10_000))
                sql_times.append(time.perf_counter() - start)
            found = queries.bounds(session, FileKind.STREET)
        database.dispose()
        assert found.latest == MONTH

        results: dict[int, tuple[WrkResult, WrkResult]] = {}
        poly_times: list[float] = []
        cold = 0.0
        for workers in (1, 2):
            process, base = serve(url, workers)
            try:
                if workers == 1:
                    start = time.perf_counter()
                    with urllib.request.urlopen(base + paths[0]) as r:
                        r.read()
                    cold = time.perf_counter() - start
                # Warm every worker's index of the month, then measure.
                wrk_paths(base, paths, folder, seconds=2)
                wrk(base + "/livez", seconds=1)
                trivial = wrk(base + "/livez", seconds=seconds)
                crimes = wrk_paths(base, paths, folder, seconds=seconds)
                results[workers] = (trivial, crimes)
                if workers == 1:
                    post_times(base, poly, 3)
                    poly_times = post_times(base, poly, 20 if quick else 60)
            finally:
                stop(process)

    section = Section(
        TITLE,
        command="make bench (bench/bench_opendata_api.py)",
        notes=(
            f"West Yorkshire's real July 2017 (28,537 street crimes; July 2016 loaded too) on SQLite; "
            f"wrk -t2 -c32 -d{seconds}s, a Lua script walking 200 points taken where the month's crimes are "
            f"(jittered ~200 m): {sum(sizes) / len(sizes):,.0f} crimes a point on average (max {max(sizes):,}, "
            f"about {sum(sizes) / len(sizes) * 0.39:,.0f} KB of JSON); baseline /livez of the same server in the "
            f"same run. Polygon: a square around Leeds holding {in_poly:,} crimes, POSTed one at a time. "
            f"Measured on a busy shared machine (load average {load_average:.1f} at the start): the ratios mean "
            "more than the absolute rates"
        ),
    )
    for workers, (trivial, crimes) in results.items():
        label = f"{workers} worker{'s' if workers > 1 else ''}"
        section.add(f"trivial /livez, {label} (baseline)", trivial.requests_per_second, "req/s")
        section.add(f"crimes-street one-mile point, {label}", crimes.requests_per_second, "req/s")
        section.add(f"crimes-street p99, {label}", crimes.p99_ms, "ms")
        ratio = crimes.requests_per_second / trivial.requests_per_second * 100
        section.add(f"crimes-street ÷ trivial, {label}", ratio, "%", goal="≥ 40%", met=ratio >= 40)
    section.add("first request for the month (builds the worker's index)", cold * 1000, "ms")
    p95 = percentile(poly_times, 95) * 1000
    section.add(f"{in_poly:,}-crime polygon over HTTP p50", percentile(poly_times, 50) * 1000, "ms")
    section.add(f"{in_poly:,}-crime polygon over HTTP p95", p95, "ms", goal="< 300 ms", met=p95 < 300)
    section.add(
        f"{in_poly:,}-crime polygon from the database, in process, p95 (the path for months not kept in memory)",
        percentile(sql_times, 95) * 1000,
        "ms",
    )
    errors = sum(t.errors + c.errors for t, c in results.values())
    section.add("errors", errors, "responses", goal="0", met=errors == 0)
    return section


if __name__ == "__main__":
    record(run())
