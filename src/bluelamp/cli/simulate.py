"""`bluelamp simulate`: a living force against a running Bluelamp, through its public API
and the OsmAnd ingest only (the engine is ``bluelamp.sim.simulator``)."""

from __future__ import annotations

import contextlib
import re
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from bluelamp.errors import CATALOGUE, Denied, InvalidInput, Unauthenticated, Unavailable

UNREACHABLE = CATALOGUE.register(
    "simulate.unreachable", Unavailable, "`bluelamp simulate` cannot reach the Bluelamp server at its URL."
)
TOKEN_REFUSED = CATALOGUE.register(
    "simulate.token_refused", Unauthenticated, "The Bluelamp server refused the simulator's token."
)
NOT_ALLOWED = CATALOGUE.register(
    "simulate.not_allowed",
    Denied,
    "The simulator's user lacks a role it needs (call_handler, dispatcher and response_officer), "
    "or its force has no units to simulate.",
)

SERVICE_USERNAME = "simulator"
SERVICE_ROLES = ("call_handler", "dispatcher", "response_officer")
TOKEN_NAME = "bluelamp simulate"


def register(app: typer.Typer) -> None:
    app.command("simulate")(simulate)


def parse_duration(text: str) -> float:
    """Seconds from ``90s``, ``10m``, ``2h``, ``1h30m`` or a plain number of seconds."""
    raw = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        return float(raw)
    parts = re.findall(r"(\d+(?:\.\d+)?)([hms])", raw)
    if not parts or "".join(n + u for n, u in parts) != raw:
        raise InvalidInput(f"--duration {text!r}: use e.g. 90s, 10m, 2h or 1h30m")
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in parts)


def parse_start(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"--start {text!r}: use an ISO time, e.g. 2026-11-27T18:00:00Z") from None
    if moment.tzinfo is None:
        from bluelamp.clock import LONDON

        moment = moment.replace(tzinfo=LONDON)
    return moment.astimezone(UTC)


def service_token(cli, force_id: str) -> tuple[str, str]:
    """(token, token id) for the simulator's own user in ``force_id``, made through the
    database this machine's settings point at: the user is created on first use (no
    password: it cannot sign in on a page), and the token lasts a day and is revoked when
    the run ends."""
    from bluelamp.access import service, sessions
    from bluelamp.errors import NotFound

    with cli.ready_database().unit_of_work() as session:
        actor = cli.actor(force_id)
        try:
            user = service.find_user(session, actor, SERVICE_USERNAME)
        except NotFound:
            user = service.add_user(
                session,
                actor,
                service.AddUser(
                    username=SERVICE_USERNAME,
                    display_name="Simulated force (bluelamp simulate)",
                    roles=SERVICE_ROLES,
                    force_id=force_id,
                ),
                cli.clock,
            )
        issued = sessions.issue_token(session, actor, user.id, TOKEN_NAME, 1, cli.clock)
        return issued.plaintext, issued.token.id


def revoke_service_token(cli, force_id: str, token_id: str) -> None:
    from bluelamp.access import sessions

    try:
        with cli.ready_database().unit_of_work() as session:
            sessions.revoke_token(session, cli.actor(force_id), token_id, cli.clock)
    except Exception as exc:  # noqa: BLE001 - the run is over; say so and carry on
        cli.console.print(f"could not revoke the simulator's token {token_id}: {exc}", markup=False)


def simulate(
    ctx: typer.Context,
    url: Annotated[str | None, typer.Option(help="Bluelamp's address (default http://127.0.0.1:BLUELAMP_PORT)")] = None,
    token: Annotated[
        str | None,
        typer.Option(
            help="An API token (bl_...) of a user with the call_handler, dispatcher and response_officer roles. "
            "Default: make one for the `simulator` user through this machine's database",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        str | None, typer.Option("--force", help="The force to simulate (default BLUELAMP_DEMO_FORCE_ID)")
    ] = None,
    seed: Annotated[int, typer.Option(help="Same seed, start and speed: same calls and decisions")] = 1,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second", min=0.1, max=3600)] = 10.0,
    start: Annotated[
        str | None, typer.Option(help="Simulated start time, ISO (default: now); sets the hour-of-week")
    ] = None,
    duration: Annotated[
        str | None, typer.Option(help="Stop after this much real time, e.g. 90s, 10m, 2h (default: Ctrl+C)")
    ] = None,
    auto_dispatch: Annotated[
        bool,
        typer.Option(
            "--auto-dispatch/--no-auto-dispatch",
            help="Assign the recommended units (or leave dispatching to the person at the screen)",
        ),
    ] = True,
    calls_per_year: Annotated[
        int, typer.Option(help="Calls a simulated year (Staffordshire: about 600,000)", min=1000)
    ] = 600_000,
    emergency_every: Annotated[
        float, typer.Option(help="Hours of simulated time between emergency button presses, on average (0: none)")
    ] = 8.0,
    router_url: Annotated[
        str | None, typer.Option(help="OSRM-compatible router for drives (default BLUELAMP_ROUTER_URL)")
    ] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the server to answer /livez", min=0)] = 0.0,
    plain: Annotated[
        bool, typer.Option("--plain", help="Print a summary line now and then instead of a live line")
    ] = False,
    every: Annotated[float, typer.Option(help="With --plain: seconds between summary lines", min=1)] = 30.0,
) -> None:
    """Simulate a living force against a running Bluelamp, through its API and OsmAnd ingest only.

    Calls arrive on the hour-of-week curve and are graded; with auto-dispatch the
    recommended units are sent; units patrol and drive, reporting positions through the
    OsmAnd ingest; some incidents become crimes with victims (docs/demo.md)."""
    from bluelamp.sim.sim_client import Api
    from bluelamp.sim.sim_world import SimConfig, SimFailed
    from bluelamp.sim.simulator import Simulator

    cli = ctx.obj
    settings = cli.settings
    force_id = force or settings.demo_force_id
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    base = (url or f"http://{host}:{settings.port}").rstrip("/")
    run_for = parse_duration(duration) if duration else None
    config = SimConfig(
        seed=seed,
        speed=speed,
        start=parse_start(start),
        auto_dispatch=auto_dispatch,
        calls_per_year=calls_per_year,
        emergency_every_hours=emergency_every,
        router_url=router_url if router_url is not None else (settings.router_url or None),
    )
    stop = threading.Event()
    with _stopped_by_signals(stop):
        probe = Api(base, token or "")
        alive = probe.wait_until_alive(wait, stop)
        probe.close()
        if stop.is_set():
            return
        if not alive:
            raise Unavailable(
                f"cannot reach Bluelamp at {base}: start it with `bluelamp serve` (or `make demo`), or give --url",
                code=UNREACHABLE,
            )
        token_id = None
        if token is None:
            token, token_id = service_token(cli, force_id)
        api = Api(base, token)
        simulator = Simulator(api, config)
        try:
            try:
                simulator.connect()
            except SimFailed as exc:
                text = str(exc)
                if "cannot reach" in text:
                    raise Unavailable(text, code=UNREACHABLE) from None
                if "refused the token" in text:
                    raise Unauthenticated(text, code=TOKEN_REFUSED) from None
                raise Denied(text, code=NOT_ALLOWED) from None
            who = f"as {simulator.username}" + (" (a token made for this run)" if token_id else "")
            cli.console.print(
                f"simulating {force_id} against {base} {who}: {len(simulator.units)} units, seed {seed}, "
                f"×{speed:g}, auto-dispatch {'on' if auto_dispatch else 'off'} (Ctrl+C to stop)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            duration_s = run_for * speed if run_for is not None else None
            _run(cli, simulator, duration_s, plain or not sys.stdout.isatty(), every, stop)
            cli.console.print(f"stopped: {simulator.summary()}", markup=False, highlight=False, soft_wrap=True)
        finally:
            api.close()
            if token_id is not None:
                revoke_service_token(cli, force_id, token_id)


@contextlib.contextmanager
def _stopped_by_signals(stop: threading.Event):
    """Ctrl+C (SIGINT) and a polite kill (SIGTERM) only set ``stop``: the run ends between
    two requests, prints its summary and revokes its token, however often they come.
    Outside the main thread (tests) signals cannot be caught: KeyboardInterrupt as usual."""
    previous = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):
            previous[number] = signal.signal(number, lambda *_: stop.set())
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _run(cli, simulator, duration_s: float | None, plain: bool, every: float, stop: threading.Event) -> None:
    """Run until the duration or ``stop``; a live line, or a plain line every ``every`` seconds."""
    from rich.live import Live
    from rich.text import Text

    from bluelamp.sim.sim_world import SimFailed

    last = [0.0]

    def show_plain(sim) -> None:
        if time.monotonic() - last[0] >= every:
            last[0] = time.monotonic()
            cli.console.print(sim.summary(), markup=False, highlight=False, soft_wrap=True)

    try:
        if plain:
            simulator.run(duration_s=duration_s, stop=stop, on_tick=show_plain)
        else:

            def line(sim) -> Text:  # one line, cut to the terminal's width
                return Text(sim.summary(), no_wrap=True, overflow="ellipsis")

            with Live(line(simulator), console=cli.console, refresh_per_second=4, transient=True) as live:
                simulator.run(duration_s=duration_s, stop=stop, on_tick=lambda sim: live.update(line(sim)))
    except KeyboardInterrupt:
        stop.set()
    except SimFailed as exc:
        if "token" in str(exc):
            raise Unauthenticated(str(exc), code=TOKEN_REFUSED) from None
        raise Unavailable(str(exc), code=UNREACHABLE) from None
