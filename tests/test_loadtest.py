"""`bluelamp loadtest`: short runs against a real server (the ``live_server`` fixture) report
what was sent and what came back: counts that match what the server stored, ordered
percentiles, refusals counted (not raised), and live frames received by the screens.

Each test works in a force of its own, so that its incidents and units stay out of the
demo force the browser tests share."""

from __future__ import annotations

import json
import secrets

import pytest
from sqlalchemy import func, select

from bluelamp.cli import main
from bluelamp.clock import Clock
from bluelamp.command.model import Incident
from bluelamp.sim import loadtest
from bluelamp.tracking import service as tracking
from tests.factories.access import issue_token, make_user
from tests.factories.tracking import force_actor, make_unit


def own_force(live_server, *roles: str) -> tuple[str, str]:
    """A new force with one user holding ``roles``: (force id, the user's API token)."""
    force_id = f"loadtest-{secrets.token_hex(4)}"
    user = make_user(live_server.database, *roles, force_id=force_id)
    return force_id, issue_token(live_server.database, user)


def ordered(op: dict) -> bool:
    return op["p50_ms"] <= op["p90_ms"] <= op["p99_ms"] <= op["max_ms"]


def test_a_short_surge_opens_every_call_due_and_reports_what_the_server_stored(live_server):
    force_id, token = own_force(live_server, "call_handler")
    options = loadtest.Options(
        live_server.url, token, clients=4, duration=2, factor=100, dispatchers=2, poll_seconds=0.5, seed=7
    )
    due = loadtest.day_window(loadtest.record_day(7), loadtest.BUSIEST_HOUR, 2 * 100)

    report = loadtest.run_sync(loadtest.run("surge", options))

    ops = report.operations
    assert len(due) > 5
    assert report.facts["calls_due"] == len(due)
    assert ops["open incident"]["count"] == ops["open incident"]["ok"] == len(due)
    assert ops["check duplicates"]["ok"] == len(due)
    assert ops["re-grade"]["ok"] == sum(1 for _, call in due if call.regrade)
    assert ops["poll queue"]["ok"] >= 2  # two dispatchers, each polls at once
    assert report.errors == {}
    assert all(ordered(op) for op in ops.values())
    with live_server.database.read() as session:
        stored = session.scalar(select(func.count()).select_from(Incident).where(Incident.force_id == force_id))
    assert stored == report.facts["incidents_opened"] == len(due)
    counted = sum(op["count"] for op in ops.values())
    assert report.requests == counted
    assert report.to_dict()["throughput_rps"] == pytest.approx(counted / report.elapsed_s)


def test_a_bad_token_is_counted_as_401s_and_the_command_says_so_in_one_line(live_server, capsys):
    code = main(
        ["loadtest", "--base-url", live_server.url, "--token", "not-a-token", "--duration", "1", "--factor", "200",
         "--clients", "2", "--dispatchers", "1", "--json"]
    )  # fmt: skip

    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 1
    assert report["requests"] == report["errors"] > 0
    assert report["errors_by_kind"] == {"401 access.token_invalid": report["requests"]}
    assert report["operations"]["open incident"]["ok"] == 0
    assert report["operations"]["open incident"]["p50_ms"] is None
    assert err.strip().splitlines() == [
        f"error: every request failed (401 access.token_invalid × {report['requests']}): "
        "check the server, --base-url and the token"
    ]


def test_screens_refused_by_the_live_feed_are_counted_not_raised(live_server):
    options = loadtest.Options(live_server.url, "not-a-token", clients=3, duration=0.3)

    report = loadtest.run_sync(loadtest.run("live", options))

    assert report.operations["screen connect"]["errors"] == {"401 access.token_invalid": 3}
    assert report.facts["screens_connected"] == 0
    assert report.facts["trackers"] == 0


def test_screens_on_the_live_feed_receive_every_fix_streamed_through_the_ingest(live_server):
    force_id, token = own_force(live_server, "dispatcher")
    devices = []
    for n in range(3):
        unit = make_unit(live_server.database, f"LT{n}", force_id=force_id)
        live_server.app.state.tracking.refresh_unit(unit.id)  # made behind the server's back: tell it
        device = f"{force_id}-{unit.call_sign}"
        with live_server.database.unit_of_work() as session:
            tracking.add_device(
                session, force_actor(force_id), tracking.AddDevice(device, "vehicle_tracker", unit.call_sign), Clock()
            )
        devices.append(device)
    options = loadtest.Options(
        live_server.url, token, clients=3, duration=1.5, rate=8, devices=[*devices, "no-such-tracker"], senders=2
    )

    report = loadtest.run_sync(loadtest.run("live", options))

    facts = report.facts
    assert facts["trackers"] == 3
    assert facts["trackers_refused"] == {"400 device.unknown": 1}
    assert facts["screens_connected"] == 3
    assert facts["fixes_accepted"] == report.operations["send fix"]["ok"] == 12
    assert facts["deliveries_expected"] == 3 * 12
    # Each fix reached each screen, alone or merged into a later move of its unit.
    assert facts["deliveries"] + facts["deliveries_superseded"] == 3 * 12
    assert facts["deliveries_missed"] == 0
    assert facts["frames_received"] >= 3
    assert report.operations["frame delivery"]["ok"] == facts["deliveries"] > 0
    assert ordered(report.operations["frame delivery"])
    assert report.errors == {"400 device.unknown": 1}


def test_the_url_scenario_sends_the_requests_its_rate_asks_for(live_server):
    options = loadtest.Options(live_server.url, clients=3, duration=1, rate=20, url="/livez")

    report = loadtest.run_sync(loadtest.run("url", options))

    op = report.operations["GET /livez"]
    assert op["count"] == op["ok"] == 20
    assert ordered(op)


def test_the_record_day_is_about_twice_an_average_day_on_the_hour_curve_and_repeats_for_a_seed():
    day = loadtest.record_day(3)

    assert abs(len(day) - loadtest.RECORD_DAY_CALLS) <= 12  # rounding of each hour's share
    assert len(day) / loadtest.AVERAGE_DAY_CALLS == pytest.approx(2, abs=0.02)
    by_hour = [sum(1 for c in day if int(c.at // 3600) == h) for h in range(24)]
    assert by_hour.index(max(by_hour)) == loadtest.BUSIEST_HOUR
    assert by_hour[4] < by_hour[loadtest.BUSIEST_HOUR] / 4  # before dawn is quiet
    assert loadtest.record_day(3) == day
    # A window past midnight runs on into the next day.
    window = loadtest.day_window(day, 23, 2 * 3600)
    assert [offset for offset, _ in window] == sorted(offset for offset, _ in window)
    assert len(window) == by_hour[23] + by_hour[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "live", "--factor", "3", "--token", "t"], "--factor does not apply to the live scenario"),
        (["--scenario", "surge"], "the surge scenario acts as a user: pass --token TOKEN, or --as USERNAME"),
        (["--scenario", "url"], "the url scenario needs --url"),
        (["--url", "/livez", "--base-url", "localhost:1"], "the base URL must look like http://127.0.0.1:8000"),
    ],
)
def test_a_mistake_in_the_options_is_one_line_on_stderr(args, message, capsys):
    code = main(["loadtest", *args])

    err = capsys.readouterr().err.strip().splitlines()
    assert code in (1, 2)
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]


def test_a_server_that_is_not_there_is_one_line_not_a_traceback(capsys):
    from tests.conftest import free_port

    code = main(["loadtest", "--url", "/livez", "--base-url", f"http://127.0.0.1:{free_port()}", "--duration", "1"])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1 and err[0].startswith("error: cannot reach http://127.0.0.1:") and "running?" in err[0]
