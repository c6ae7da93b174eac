"""Command and control intake under Staffordshire's busiest day: 1,000 calls in 24 hours
on an hour-of-day curve, replayed at 50x through the HTTP API by 20 concurrent call
handlers, with some submissions sent twice (a double click, a retried request). Reports
create-incident latency, and checks that no incident was lost or duplicated.

A whole day at 50x takes 29 minutes, so the run replays the day's busiest hours at 50x
(6 hours; 1 with --quick), then the whole day compressed further (a surge) for headroom."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

from harness import PYTHON, Section, percentile
from sqlalchemy import func, select

from bluelamp.command.config import DEFAULT_CATEGORIES
from bluelamp.command.model import Incident
from bluelamp.sim import loadtest
from bluelamp.sim.demo import STATIONS
from bluelamp.storage import Database

CALLS_PER_DAY = 1000
CLIENTS = 20
RETRY_SHARE = 0.05
# Share of a day's calls in each hour (0-23), from the usual shape of police demand:
# quietest before dawn, busiest late afternoon to late evening.
HOURLY = [2.6, 2.0, 1.6, 1.2, 1.0, 1.0, 1.4, 2.2, 3.4, 4.2, 4.6, 4.9, 5.1, 5.2, 5.4, 5.8, 6.1, 6.3, 6.2, 6.0, 5.6, 5.0,
          4.2, 3.3]  # fmt: skip
MIX = [  # (category, source, share)
    ("concern_for_safety", "999", 12), ("violence_in_progress", "999", 6), ("assault", "101", 6),
    ("theft", "101", 8), ("shoplifting", "101", 5), ("burglary_dwelling", "999", 4), ("criminal_damage", "101", 5),
    ("domestic_abuse", "999", 8), ("asb_nuisance", "101", 10), ("asb_personal", "101", 3),
    ("rtc_damage_only", "101", 5), ("rtc_injury", "999", 2), ("missing_person", "999", 3),
    ("mental_health", "999", 5), ("suspicious_package", "999", 1), ("abandoned_call", "999", 6),
    ("alarm_activation", "alarm", 4), ("road_obstruction", "999", 3), ("fraud", "online", 4),
]  # fmt: skip
# The grade a handler gives where the category has no default (DEFAULT_CATEGORIES).
GRADE_FOR = {"fraud": "4", "asb_personal": "3", "theft": "3", "criminal_damage": "3", "domestic_abuse": "1"}
DEFAULT_GRADE = {c.code: c.default_grade for c in DEFAULT_CATEGORIES}


@dataclass
class Call:
    at_seconds: float  # seconds into the day
    body: dict
    key: str
    resend: bool


@dataclass
class Outcome:
    latencies_ms: list[float] = field(default_factory=list)
    incident_of_key: dict[str, str] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def busiest_day(seed: int = 20261128) -> list[Call]:
    rng = random.Random(seed)
    total = sum(HOURLY)
    calls: list[Call] = []
    categories = [(c, s) for c, s, share in MIX for _ in range(share)]
    for hour, share in enumerate(HOURLY):
        for _ in range(round(CALLS_PER_DAY * share / total)):
            category, source = rng.choice(categories)
            _, town, lat, lon, _ = rng.choice(STATIONS)
            key = f"bench-{len(calls):05d}"
            body = {
                "source": source,
                "category": category,
                "lat": round(lat + rng.uniform(-0.03, 0.03), 6),
                "lon": round(lon + rng.uniform(-0.045, 0.045), 6),
                "address": f"{rng.randint(1, 200)} High Street, {town}",
                "description": f"Caller reports {category.replace('_', ' ')}.",
                "grade": GRADE_FOR.get(category) or DEFAULT_GRADE.get(category) or "2",
                "thrive": {
                    "threat": "threat assessed from the caller's account",
                    "harm": "harm assessed",
                    "risk": "risk assessed",
                    "investigation": "investigation opportunities noted",
                    "vulnerability": "no vulnerability disclosed",
                    "engagement": "caller willing to engage",
                },
                "caller": {
                    "name": "Bench Caller",
                    "phone": f"07700 9{rng.randint(0, 99999):05d}",
                    "callback_consent": True,
                },
            }
            calls.append(Call(hour * 3600 + rng.uniform(0, 3600), body, key, rng.random() < RETRY_SHARE))
    calls.sort(key=lambda c: c.at_seconds)
    return calls


def busiest_window(calls: list[Call], hours: int) -> list[Call]:
    """The calls of the ``hours`` consecutive hours with the most calls."""
    best_start, best = 0, -1
    for start in range(0, 24 - hours + 1):
        count = sum(1 for c in calls if start * 3600 <= c.at_seconds < (start + hours) * 3600)
        if count > best:
            best_start, best = start, count
    return [c for c in calls if best_start * 3600 <= c.at_seconds < (best_start + hours) * 3600]


def replay(base: str, token: str, calls: list[Call], speed: float) -> tuple[Outcome, float]:
    """Send each call at its time ÷ speed from CLIENTS concurrent clients (the load harness's
    engine, bluelamp.sim.loadtest); returns the outcome and seconds taken."""
    return asyncio.run(_replay(base, token, calls, speed))


async def _replay(base: str, token: str, calls: list[Call], speed: float) -> tuple[Outcome, float]:
    outcome = Outcome()
    origin = calls[0].at_seconds if calls else 0
    start = time.perf_counter()
    # A new connection for each request, as the threads with urllib that this replaced.
    async with loadtest.Client(base, token, connections=CLIENTS, keep_alive=False) as http:

        async def handle(call: Call) -> None:
            for attempt in range(2 if call.resend else 1):
                answer = await http.request(
                    "create incident",
                    "POST",
                    "/api/v1/incidents",
                    json_body=call.body,
                    headers={"Idempotency-Key": call.key},
                )
                body = answer.json() if isinstance(answer.json(), dict) else {}
                if answer.status not in (200, 201):
                    outcome.errors.append(f"{answer.status or answer.error} {body.get('code')} {body.get('detail')}")
                    continue
                if attempt == 0:
                    outcome.latencies_ms.append(answer.ms)
                incident_id = body["incident"]["id"]
                seen = outcome.incident_of_key.setdefault(call.key, incident_id)
                if seen != incident_id:
                    outcome.conflicts.append(call.key)

        await loadtest.paced(calls, CLIENTS, lambda call: (call.at_seconds - origin) / speed, handle)
    return outcome, time.perf_counter() - start


def stage(section: Section, label: str, url: str, base: str, token: str, calls: list[Call], speed: float) -> None:
    database = Database.from_url(url)
    with database.read() as session:
        before = session.scalar(select(func.count()).select_from(Incident))
    outcome, seconds = replay(base, token, calls, speed)
    with database.read() as session:
        stored = session.scalar(select(func.count()).select_from(Incident)) - before
        keys = [c.key for c in calls]
        rows = session.execute(
            select(Incident.idempotency_key, func.count())
            .where(Incident.idempotency_key.in_(keys))
            .group_by(Incident.idempotency_key)
        ).all()
    database.dispose()
    duplicated = sum(1 for _, n in rows if n > 1)
    lost = len(calls) - len(rows)
    latencies = outcome.latencies_ms
    section.add(f"{label}: calls", len(calls), "calls")
    section.add(f"{label}: rate", len(calls) / seconds * 60, "calls/min")
    section.add(f"{label}: create-incident p50", percentile(latencies, 50), "ms")
    p95 = percentile(latencies, 95)
    section.add(f"{label}: create-incident p95", p95, "ms", goal="< 100 ms", met=p95 < 100)
    section.add(f"{label}: create-incident p99", percentile(latencies, 99), "ms")
    section.add(
        f"{label}: incidents lost or duplicated (incl. {sum(c.resend for c in calls)} sent twice)",
        lost + duplicated + len(outcome.conflicts) + (stored - len(calls)),
        "incidents",
        goal="0",
        met=lost == duplicated == len(outcome.conflicts) == 0 and stored == len(calls) and not outcome.errors,
    )
    if outcome.errors:
        section.add(f"{label}: refused requests ({outcome.errors[0][:80]})", len(outcome.errors), "requests")


def run(quick: bool = False) -> Section:
    from bench_tracking import serve, token_for

    hours = 1 if quick else 6
    surge = 2000 if quick else 1000
    section = Section(
        "Command and control: the busiest day through the intake API",
        command="make bench (bench/bench_command_intake.py)",
        notes=f"{CALLS_PER_DAY:,} calls in 24 h on an hour-of-day curve (Staffordshire's busiest day), the busiest "
        f"{hours} h replayed at 50x, then the whole day at {surge:,}x; {CLIENTS} concurrent clients, "
        f"{RETRY_SHARE:.0%} of calls sent twice with the same Idempotency-Key; SQLite, 1 worker, the demo force; "
        "clients: the load harness's engine (bluelamp.sim.loadtest: asyncio + httpx in one process, a new "
        "connection per request)",
    )
    calls = busiest_day()
    with tempfile.TemporaryDirectory(prefix="bluelamp-bench-intake-") as folder:
        url = f"sqlite:///{folder}/intake.db"
        env = {**os.environ, "BLUELAMP_DATABASE_URL": url, "BLUELAMP_LOG_LEVEL": "warning"}
        subprocess.run([PYTHON, "-m", "bluelamp", "demo", "--no-serve"], env=env, check=True, capture_output=True)
        database = Database.from_url(url)
        token = token_for(database, "call_handler")
        database.dispose()
        process, base = serve(url)
        try:
            peak = busiest_window(calls, hours)
            stage(section, f"busiest {hours} h at 50x", url, base, token, peak, 50)
            # The whole day again under new keys, as a surge.
            again = [Call(c.at_seconds, c.body, c.key.replace("bench-", "surge-"), c.resend) for c in calls]
            stage(section, f"whole day at {surge:,}x", url, base, token, again, surge)
        finally:
            process.terminate()
            process.wait(timeout=30)
    return section
