"""(c) Change to screen in the control room: how long from a call handler sending a new
call (the call-taking form, ``POST /control/call``) to every one of 50 control-room
screens connected to ``/ws/live`` having the incident in its queue (the frame carrying
its ``IncidentChanged`` event), against a bare WebSocket broadcast to 50 clients (the
minimal Starlette app of bench_live_feed.py) measured the same way in the same run.

The path timed is the whole change: the form parsed, the incident, its call, THRIVE
assessment, target and log written and committed with its audit entry, the event
published, the feed's frame built once for the 50 like screens and sent to each. Each
sample is spaced wider than the feed's interval (BLUELAMP_LIVE_FEED_INTERVAL_MS,
250 ms), so each change is the first after a quiet spell and goes out at once.

What a browser then does with the frame (a row drawn, a marker placed) is not counted:
it is a few DOM operations in control.js, well under a millisecond.
"""

from __future__ import annotations

import asyncio
import gc
import http.client
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from harness import PYTHON, Section, demo_server, free_port, percentile, record, server_log, wait_for

HERE = Path(__file__).resolve().parent
TITLE = "Control room: new incident to 50 WebSocket screens"
SCREENS = 50
GAP_SECONDS = 0.3
THRIVE = {
    "threat": "man threatening staff with a bottle",
    "harm": "serious injury possible",
    "risk": "high: ongoing",
    "investigation": "CCTV in the shop",
    "vulnerability": "lone shop worker",
    "engagement": "caller staying on the line",
}


def marker(n: int) -> str:
    """What identifies sample n in a frame: the new incident's latitude as the feed's JSON
    spells it (each sample's incident is a few metres north of the last)."""
    return f'"lat":{round(52.70 + n * 0.00011, 6)!r},'


def latitude(n: int) -> float:
    return round(52.70 + n * 0.00011, 6)


# ---------------------------------------------------------------- the screens


async def measure(ws_url: str, trigger, samples: int, skip_snapshot: bool) -> tuple[list[float], list[float], int]:
    """Connect the screens, fire ``samples`` changes; returns every screen's latency (ms),
    each trigger's own round trip (ms), and how many deliveries never came."""
    from websockets.asyncio.client import connect

    sockets = [await connect(ws_url, max_size=None, ping_interval=None) for _ in range(SCREENS)]
    if skip_snapshot:
        await asyncio.gather(*(ws.recv() for ws in sockets))
    gc.collect()
    gc.freeze()  # keep this process's own full collections out of the figures
    latencies: list[float] = []
    round_trips: list[float] = []
    missing = 0
    for n in range(samples):
        token = marker(n)
        arrived = [asyncio.create_task(wait_for_token(ws, token)) for ws in sockets]
        started = time.perf_counter()
        await asyncio.to_thread(trigger, n)
        round_trips.append((time.perf_counter() - started) * 1000)
        done, pending = await asyncio.wait(arrived, timeout=5)
        for task in pending:
            task.cancel()
        missing += len(pending)
        latencies += [(task.result() - started) * 1000 for task in done]
        await asyncio.sleep(GAP_SECONDS)
    for ws in sockets:
        await ws.close()
    return latencies, round_trips, missing


async def wait_for_token(ws, token: str) -> float:
    while True:
        message = await ws.recv()
        if token in message:
            return time.perf_counter()


# ---------------------------------------------------------------- the baseline


def run_baseline(samples: int) -> tuple[list[float], list[float], int]:
    """bench_live_feed.py's bare Starlette broadcast, with 50 clients."""
    port = free_port()
    server = subprocess.Popen(
        [PYTHON, str(HERE / "bench_live_feed.py"), "--baseline-server", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=server_log(),
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/livez", server)

        def fire(n: int) -> None:
            with urllib.request.urlopen(f"{base}/fire?{urlencode({'m': marker(n)})}", timeout=10) as response:
                response.read()

        return asyncio.run(measure(f"ws://127.0.0.1:{port}/ws", fire, samples, False))
    finally:
        server.terminate()
        server.wait(timeout=15)


# ---------------------------------------------------------------- Bluelamp


def prepare_database(url: str) -> tuple[str, str]:
    """The demo force, and API tokens for its dispatcher (the screens) and call handler."""
    from bluelamp.access import queries, sessions
    from bluelamp.access.policy import Actor
    from bluelamp.clock import Clock
    from bluelamp.sim.demo import seed_demo
    from bluelamp.storage import Database, migrate

    clock = Clock()
    database = Database.from_url(url)
    migrate.upgrade(database)
    actor = Actor.system("staffordshire", "bench")
    with database.unit_of_work() as session:
        seed_demo(session, clock)
    with database.unit_of_work() as session:
        tokens = []
        for username in ("dispatcher", "call-handler"):
            user = queries.user_by_username(session, username)
            tokens.append(sessions.issue_token(session, actor, user.id, "bench", 1, clock).plaintext)
    database.dispose()
    return tokens[0], tokens[1]


def take_call(base: str, token: str, n: int) -> None:
    """One 999 call through the call-taking form, as the page posts it (a program
    authenticates with its token; the form's CSRF field is for browsers)."""
    form = {
        "idempotency_key": f"bench-{os.getpid()}-{n}",
        "source": "999",
        "category": "assault",
        "caller_name": "Bench Caller",
        "caller_phone": "07700 900123",
        "callback_consent": "yes",
        "address": "Market Street",
        "lat": str(latitude(n)),
        "lon": "-2.0",
        "description": "fight outside the shop",
        "grade": "2",
        **THRIVE,
    }
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(
            "POST",
            "/control/call",
            body=urlencode(form),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/x-www-form-urlencoded"},
        )
        response = connection.getresponse()
        response.read()
        if response.status != 303:  # anything else: the call was not taken
            raise RuntimeError(f"POST /control/call answered {response.status}")
    finally:
        connection.close()


def run_bluelamp(samples: int) -> tuple[list[float], list[float], int]:
    with tempfile.TemporaryDirectory(prefix="bluelamp-bench-screens-") as tmp:
        url = f"sqlite:///{tmp}/screens.db"
        screen_token, handler_token = prepare_database(url)
        with demo_server(workers=1, database_url=url) as base:
            host = base.removeprefix("http://")
            return asyncio.run(
                measure(
                    f"ws://{host}/ws/live?token={screen_token}",
                    lambda n: take_call(base, handler_token, n),
                    samples,
                    True,
                )
            )


def run(quick: bool = False) -> Section:
    samples = 30 if quick else 100
    section = Section(
        TITLE,
        command="make bench (bench/bench_command_screens.py)" + (" --quick" if quick else ""),
        notes=f"{SCREENS} control-room WebSocket clients (the `websockets` package, one process, a dispatcher's "
        f"token) on `bluelamp serve` with the demo force, SQLite, 1 worker; {samples} new 999 calls through the "
        f"call-taking form (POST /control/call) {GAP_SECONDS * 1000:.0f} ms apart, each timed from the request "
        "to each screen's receipt of the frame carrying the new incident; baseline: a bare Starlette/uvicorn "
        "broadcast of one message to the same number of clients, measured the same way in the same run",
    )
    load = os.getloadavg()[0]
    base, _, base_missing = run_baseline(samples)
    live, round_trips, live_missing = run_bluelamp(samples)
    section.notes += f"; load average at the start {load:.1f} (tails grow when other work shares the cores)"
    section.add("bare broadcast p50 (baseline)", percentile(base, 50), "ms")
    section.add("bare broadcast p99 (baseline)", percentile(base, 99), "ms")
    section.add("call taken (form request) p50", percentile(round_trips, 50), "ms")
    section.add("change to screen p50", percentile(live, 50), "ms")
    section.add("change to screen p90", percentile(live, 90), "ms")
    p99 = percentile(live, 99)
    section.add("change to screen p99", p99, "ms", goal="< 150 ms", met=p99 < 150)
    section.add("change to screen max", max(live) if live else float("nan"), "ms")
    section.add("change to screen p99 ÷ bare broadcast p99", p99 / percentile(base, 99), "×")
    missed = live_missing + base_missing
    section.add("deliveries missed", missed, "messages", goal="0", met=missed == 0)
    return section


if __name__ == "__main__":
    os.chdir(HERE)
    record(run(quick="--quick" in sys.argv))
