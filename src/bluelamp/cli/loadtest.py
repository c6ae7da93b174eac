"""`bluelamp loadtest`: replay a surge against a running server through HTTP and
WebSockets and report latency percentiles, errors and throughput (the engine is
``bluelamp.sim.loadtest``)."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # the engine (and httpx) load only when the command runs
    from bluelamp.sim import loadtest as engine

SURGE_ONLY = ("--factor", "--start-hour", "--dispatchers", "--poll")
LIVE_ONLY = ("--devices", "--senders")


def loadtest(
    ctx: typer.Context,
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            help="surge: the record day at --factor times its pace (call handlers and dispatchers); "
            "live: --clients screens on /ws/live while positions stream in; url: GET --url from --clients clients "
            "(default: url when --url is given, else surge)",
        ),
    ] = None,
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="The running server (default http://127.0.0.1:BLUELAMP_PORT)")
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="An API token to act with (`bluelamp token issue USER --name NAME`)")
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Instead of --token: issue a one-day token for this user in this machine's database "
            "(BLUELAMP_DATABASE_URL, the server's), revoked when the run ends; e.g. --as dispatcher on the demo",
        ),
    ] = None,
    clients: Annotated[
        int | None,
        typer.Option(
            "--clients", min=1, help="Call handlers (surge, 20), screens (live, 100) or concurrent clients (url, 20)"
        ),
    ] = None,
    duration: Annotated[float, typer.Option("--duration", min=0.1, help="Seconds to run")] = 30.0,
    factor: Annotated[
        float | None, typer.Option("--factor", min=0.01, help="surge: times the record day's pace (default 50)")
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            min=0.01,
            help="live: fixes a second (default: each unit every 5 s); url: requests a second "
            "(default: as fast as the clients go)",
        ),
    ] = None,
    start_hour: Annotated[
        int | None, typer.Option("--start-hour", min=0, max=23, help="surge: the hour of the day to start at (17)")
    ] = None,
    dispatchers: Annotated[
        int | None, typer.Option("--dispatchers", min=0, help="surge: dispatchers polling the queue (4)")
    ] = None,
    poll: Annotated[
        float | None, typer.Option("--poll", min=0.1, help="surge: seconds between a dispatcher's polls (2)")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="url: the path (e.g. /api/v1/units) or full URL to GET")
    ] = None,
    devices: Annotated[
        str | None,
        typer.Option("--devices", help="live: tracker ids, comma-separated (default demo-<CALLSIGN> per unit)"),
    ] = None,
    senders: Annotated[int | None, typer.Option("--senders", min=1, help="live: trackers sending at once (8)")] = None,
    seed: Annotated[int, typer.Option("--seed", help="The run's random seed (calls, moves)")] = 1,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON (for benchmarks)")] = False,
) -> None:
    """Load a running server with many clients: latency percentiles, errors by code, throughput.

    Scenarios: surge (the record day sped up), live (screens on /ws/live while positions
    stream in) and url (GET one URL). See docs/demo.md, "Load testing"."""
    from bluelamp.sim import loadtest as engine

    cli = ctx.obj
    scenario = scenario or ("url" if url else "surge")
    if scenario not in engine.SCENARIOS:
        raise typer.BadParameter(f"choose {', '.join(engine.SCENARIOS)}", param_hint="--scenario")
    given = {
        "--factor": factor,
        "--start-hour": start_hour,
        "--dispatchers": dispatchers,
        "--poll": poll,
        "--devices": devices,
        "--senders": senders,
        "--url": url,
    }
    applies = {"surge": SURGE_ONLY, "live": LIVE_ONLY, "url": ("--url",)}[scenario]
    stray = [name for name, value in given.items() if value is not None and name not in applies]
    if stray:
        raise typer.BadParameter(f"{stray[0]} does not apply to the {scenario} scenario", param_hint="--scenario")
    if rate is not None and scenario == "surge":
        raise typer.BadParameter("the surge's pace is --factor (times the record day)", param_hint="--rate")
    if token and as_user:
        raise typer.BadParameter("give --token or --as, not both", param_hint="--as")
    if scenario != "url" and not (token or as_user):
        raise typer.BadParameter(
            f"the {scenario} scenario acts as a user: pass --token TOKEN, or --as USERNAME on the server's machine",
            param_hint="--token",
        )
    options = engine.Options(
        base_url=base_url or f"http://127.0.0.1:{cli.settings.port}",
        token=token,
        clients=clients,
        duration=duration,
        factor=factor or 50.0,
        start_hour=engine.BUSIEST_HOUR if start_hour is None else start_hour,
        dispatchers=4 if dispatchers is None else dispatchers,
        poll_seconds=poll or 2.0,
        rate=rate,
        url=url,
        devices=[d.strip() for d in devices.split(",") if d.strip()] if devices else None,
        senders=senders or 8,
        seed=seed,
    )
    with _token_for(cli, as_user) as made:
        options.token = options.token or made
        report = _run(scenario, options, Console(stderr=True))
    if json_out:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        _print(cli.console, report)
    ok = sum(op["ok"] for name, op in report.operations.items() if name not in engine.NOT_REQUESTS)
    if report.requests and not ok:
        kind, count = report.errors.most_common(1)[0]
        typer.echo(
            f"error: every request failed ({kind} × {count}): check the server, --base-url and the token", err=True
        )
        raise typer.Exit(1)


@contextmanager
def _token_for(cli, username: str | None):
    """A one-day API token for ``username`` from this machine's database, revoked afterwards."""
    if not username:
        yield None
        return
    from bluelamp.access import sessions
    from bluelamp.cli.users import find_user

    database = cli.ready_database()
    with database.unit_of_work() as session:
        actor, user = find_user(cli, session, username)
        issued = sessions.issue_token(session, actor, user.id, "bluelamp loadtest", 1, cli.clock)
        token_id = issued.token.id
    try:
        yield issued.plaintext
    finally:
        with database.unit_of_work() as session:
            sessions.revoke_token(session, actor, token_id, cli.clock)


def _run(scenario: str, options: engine.Options, console: Console) -> engine.Report:
    """Run with a live display (on stderr, when it is a terminal)."""
    from bluelamp.sim import loadtest as engine

    if not console.is_terminal:
        return engine.run_sync(engine.run(scenario, options))
    with Live(console=console, auto_refresh=False, transient=True) as live:

        def tick(recorder: engine.Recorder) -> None:
            live.update(_progress(scenario, options, recorder), refresh=True)

        return engine.run_sync(engine.run(scenario, options, on_tick=tick))


def _ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _progress(scenario: str, options: engine.Options, recorder: engine.Recorder) -> Group:
    from bluelamp.sim import loadtest as engine

    elapsed = recorder.elapsed
    measures = [m for m in recorder.measures.values() if not m.name.startswith("setup")]
    sent = sum(m.count for m in measures if m.name not in engine.NOT_REQUESTS)
    failed = sum(m.failed for m in measures)
    what = {
        "surge": f"the record day from {options.start_hour:02d}:00 at {options.factor:g}×",
        "live": f"{options.clients_for('live')} screens on /ws/live",
        "url": f"GET {options.url}",
    }[scenario]
    heading = Text(
        f"{scenario}: {what} · {recorder.status} · {elapsed:,.1f} s of {options.duration:g} s · "
        f"{sent:,} requests · {failed:,} errors"
    )
    table = Table("operation", "count", "errors", "p50 ms", "p99 ms (recent)", box=None, pad_edge=False)
    for m in measures:
        recent = list(m.recent)
        table.add_row(
            m.name,
            f"{m.count:,}",
            f"{m.failed:,}",
            _ms(engine.percentile(recent, 50)),
            _ms(engine.percentile(recent, 99)),
        )
    bar = ProgressBar(total=options.duration, completed=min(elapsed, options.duration), width=60)
    return Group(heading, bar, table)


def _print(console: Console, report: engine.Report) -> None:
    plain = {"markup": False, "highlight": False}
    table = Table(
        box=box.SIMPLE_HEAD,
        caption="latencies in milliseconds",
        caption_justify="left",
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("operation", no_wrap=True)
    for heading in ("count", "errors", "per s", "p50", "p90", "p99", "max"):
        table.add_column(heading, justify="right", no_wrap=True)
    setup_first = sorted(report.operations.items(), key=lambda item: not item[0].startswith("setup"))
    for name, op in setup_first:
        table.add_row(
            name,
            f"{op['count']:,}",
            f"{op['count'] - op['ok']:,}",
            _ms(op["per_second"]),
            _ms(op["p50_ms"]),
            _ms(op["p90_ms"]),
            _ms(op["p99_ms"]),
            _ms(op["max_ms"]),
        )
    console.print(
        f"{report.scenario} against {report.base_url}: {report.requests:,} requests in {report.elapsed_s:,.1f} s "
        f"({report.requests / report.elapsed_s if report.elapsed_s else 0:,.1f}/s), "
        f"{sum(report.errors.values()):,} errors",
        **plain,
    )
    console.print(table)
    if report.errors:
        console.print("errors by kind: " + ", ".join(f"{k} × {n:,}" for k, n in report.errors.most_common()), **plain)
    for line in _story(report):
        console.print(line, soft_wrap=True, **plain)
    if report.behind_s > 0.05:
        console.print(f"behind schedule by up to {report.behind_s:,.2f} s (the server or this client lagged)", **plain)
    console.print(
        f"client CPU {report.client_cpu_percent:.0f}% of one core; load average {report.load_average[0]:.1f} "
        f"at the start on {os.cpu_count()} cores",
        **plain,
    )
    for note in report.notes:
        console.print(f"note: {note}", soft_wrap=True, **plain)


def _story(report: engine.Report) -> list[str]:
    """What the run did, in words, from the scenario's facts."""
    f = report.facts
    if report.scenario == "surge" and "calls_due" in f:
        return [
            f"the record day ({f['record_day_calls']:,} calls; an average day has {f['average_day_calls']:,}) "
            f"from {f['start_hour']:02d}:00 at {f['factor']:g}×: {f['day_minutes_replayed']:,.0f} minutes of the day, "
            f"{f['calls_due']:,} calls due ({f['calls_per_minute_due']:,.0f} a minute) for {f['call_handlers']} call "
            f"handlers; {f['dispatchers']} dispatchers polling the queue every {f['poll_seconds']:g} s; "
            f"{f.get('incidents_opened', 0):,} incidents opened"
        ]
    if report.scenario == "live" and "screens" in f:
        refused = "; ".join(f"{k} × {v}" for k, v in f.get("trackers_refused", {}).items()) or "none"
        return [
            f"{f['trackers']:,} trackers (refused: {refused}) sending {f['fixes_per_second']:,.1f} fixes a second "
            f"from {f['senders']} senders; {f.get('fixes_accepted', 0):,} fixes accepted",
            f"{f.get('screens_connected', 0):,} of {f['screens']:,} screens connected, "
            f"{f.get('frames_received', 0):,} frames received; deliveries {f.get('deliveries', 0):,} of "
            f"{f.get('deliveries_expected', 0):,} expected, {f.get('deliveries_superseded', 0):,} superseded "
            f"(merged into a later move), {f.get('deliveries_missed', 0):,} missed",
        ]
    if report.scenario == "url" and "url" in f:
        pace = f"{f['rate']:g} requests a second" if f.get("rate") else "back to back"
        return [f"GET {f['url']} from {report.clients} clients, {pace}"]
    return []
