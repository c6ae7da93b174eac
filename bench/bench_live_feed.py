"""(c) The live feed: how long from a fix reaching `/ingest/osmand` to every one of 200
connected WebSocket clients having the move, against a bare WebSocket broadcast to
200 clients (a minimal Starlette app on uvicorn that sends one message to each
client) measured in the same run.

Each sample sends one fix (or one broadcast trigger) over HTTP and times, from just
before the request, each client's receipt of the frame carrying it. Samples are spaced
wider than the feed's interval (BLUELAMP_LIVE_FEED_INTERVAL_MS, 250 ms), so each one is
the first change after a quiet spell and goes out at once; closer fixes would wait for
the interval and travel together, by design.
"""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from harness import PYTHON, Section, demo_server, free_port, percentile, record, server_log, wait_for

TITLE = "Live feed: fix received to 200 WebSocket clients"
CLIENTS = 200
GAP_SECONDS = 0.3
DEVICE = "bench-phone-1"


# ---------------------------------------------------------------- the baseline server


def baseline_app():
    """A bare broadcast: clients connect; GET /fire?m=TEXT sends TEXT to each of them."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocketDisconnect

    clients = set()

    async def feed(websocket):
        await websocket.accept()
        clients.add(websocket)
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            clients.discard(websocket)

    async def broadcast(message: str) -> None:
        for client in list(clients):
            await client.send_text(message)

    async def fire(request):
        asyncio.get_running_loop().create_task(broadcast(request.query_params["m"]))
        return PlainTextResponse("")

    async def livez(request):
        return PlainTextResponse("ok")

    return Starlette(routes=[WebSocketRoute("/ws", feed), Route("/fire", fire), Route("/livez", livez)])


def serve_baseline(port: int) -> None:
    import uvicorn

    app = baseline_app()
    gc.collect()
    gc.freeze()  # as `bluelamp serve` does after start-up, so that both servers are treated alike
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


# ---------------------------------------------------------------- the clients


async def measure(ws_url: str, trigger, samples: int, skip_first: bool) -> tuple[list[float], int]:
    """Connect the clients, fire ``samples`` triggers and return every client's latency (ms)
    and how many deliveries never came."""
    from websockets.asyncio.client import connect

    sockets = []
    for _ in range(CLIENTS):
        sockets.append(await connect(ws_url, max_size=None, ping_interval=None))
    if skip_first:
        await asyncio.gather(*(ws.recv() for ws in sockets))  # the snapshot
    gc.collect()
    gc.freeze()  # keep this process's own full collections out of the figures
    latencies: list[float] = []
    missing = 0
    for n in range(samples):
        token = trigger_token(n)
        arrived = [asyncio.create_task(wait_for_token(ws, token)) for ws in sockets]
        started = time.perf_counter()
        await asyncio.to_thread(trigger, n)
        done, pending = await asyncio.wait(arrived, timeout=5)
        for task in pending:
            task.cancel()
        missing += len(pending)
        latencies += [(task.result() - started) * 1000 for task in done]
        await asyncio.sleep(GAP_SECONDS)
    for ws in sockets:
        await ws.close()
    return latencies, missing


def trigger_token(n: int) -> str:
    return repr(round(52.7 + n * 0.0001, 6))  # also the fix's latitude, as the frame's JSON spells it


async def wait_for_token(ws, token: str) -> float:
    while True:
        message = await ws.recv()
        if token in message:
            return time.perf_counter()


def get(url: str) -> None:
    with urllib.request.urlopen(url, timeout=10) as response:
        response.read()


# ---------------------------------------------------------------- the two measurements


def run_baseline(samples: int) -> tuple[list[float], int]:
    port = free_port()
    server = subprocess.Popen(
        [PYTHON, __file__, "--baseline-server", str(port)], stdout=subprocess.DEVNULL, stderr=server_log()
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/livez", server)
        base = f"http://127.0.0.1:{port}"
        return asyncio.run(
            measure(f"ws://127.0.0.1:{port}/ws", lambda n: get(f"{base}/fire?m={trigger_token(n)}"), samples, False)
        )
    finally:
        server.terminate()
        server.wait(timeout=15)


def prepare_database(url: str) -> str:
    """The demo force with one unit and its phone, and a dispatcher's API token."""
    from bluelamp.access import sessions
    from bluelamp.access.policy import Actor
    from bluelamp.clock import Clock
    from bluelamp.sim.demo import seed_demo
    from bluelamp.storage import Database, migrate
    from bluelamp.tracking import service

    clock = Clock()
    database = Database.from_url(url)
    migrate.upgrade(database)
    actor = Actor.system("staffordshire", "bench")
    with database.unit_of_work() as session:
        seed_demo(session, clock)
        service.add_unit(session, actor, service.AddUnit("SF99", "response_car", status="available"), clock)
        service.add_device(session, actor, service.AddDevice(DEVICE, unit_call_sign="SF99"), clock)
    from bluelamp.access import queries

    with database.unit_of_work() as session:
        dispatcher = queries.user_by_username(session, "dispatcher")
        token = sessions.issue_token(session, actor, dispatcher.id, "bench", 1, clock).plaintext
    database.dispose()
    return token


def run_bluelamp(samples: int) -> tuple[list[float], int]:
    with tempfile.TemporaryDirectory(prefix="bluelamp-bench-live-") as tmp:
        url = f"sqlite:///{tmp}/live.db"
        token = prepare_database(url)
        with demo_server(workers=1, database_url=url) as base:
            host = base.removeprefix("http://")

            def fix(n: int) -> None:
                params = {
                    "id": DEVICE,
                    "lat": trigger_token(n),
                    "lon": "-2.1",
                    "timestamp": datetime.now(UTC).isoformat(),
                }
                get(f"{base}/ingest/osmand?{urlencode(params)}")

            return asyncio.run(measure(f"ws://{host}/ws/live?token={token}", fix, samples, True))


def run(quick: bool = False) -> Section:
    samples = 30 if quick else 100
    section = Section(
        TITLE,
        command="make bench (bench/bench_live_feed.py)",
        notes=f"{CLIENTS} WebSocket clients (the `websockets` package, one process) on `bluelamp serve`, SQLite, "
        f"1 worker; {samples} fixes through /ingest/osmand {GAP_SECONDS * 1000:.0f} ms apart, each timed from "
        "the request to each client's receipt of its frame; baseline: a bare Starlette/uvicorn broadcast of one "
        "message to the same number of clients, measured the same way in the same run",
    )
    load = os.getloadavg()[0]
    base, base_missing = run_baseline(samples)
    live, live_missing = run_bluelamp(samples)
    section.notes += f"; load average at the start {load:.1f} (tails grow when other work shares the cores)"
    section.add("bare broadcast p50 (baseline)", percentile(base, 50), "ms")
    section.add("bare broadcast p90 (baseline)", percentile(base, 90), "ms")
    section.add("bare broadcast p99 (baseline)", percentile(base, 99), "ms")
    section.add("fix to client p50", percentile(live, 50), "ms")
    section.add("fix to client p90", percentile(live, 90), "ms")
    p99 = percentile(live, 99)
    section.add("fix to client p99", p99, "ms", goal="< 100 ms", met=p99 < 100)
    section.add("fix to client max", max(live) if live else float("nan"), "ms")
    section.add("fix to client p99 ÷ bare broadcast p99", p99 / percentile(base, 99), "×")
    section.add(
        "deliveries missed",
        live_missing + base_missing,
        "messages",
        goal="0",
        met=live_missing + base_missing == 0,
    )
    return section


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--baseline-server":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
        serve_baseline(int(sys.argv[2]))
    else:
        os.chdir(Path(__file__).resolve().parent)
        record(run(quick="--quick" in sys.argv))
