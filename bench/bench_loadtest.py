"""The surge through the load harness: `bluelamp loadtest` (the real command, in its own
process, --json) replays Staffordshire's record day (3,300 calls, about twice an average
day: see bluelamp/sim/loadtest.py) against `bluelamp serve` on the demo force: 20 call
handlers check for duplicates, open and grade incidents and re-grade a quarter of them
while 4 dispatchers poll the queue every 2 s and open its top incident.

Two paces: the record day at 50x (its busiest stretch from 17:00), then at 200x for
headroom. Baseline, in the same run against the same server: the trivial endpoint
(/livez) loaded by the same harness with the same clients at the surge's request rate."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile

from harness import PYTHON, Section, demo_server, record

TITLE = "Load harness: the record day surge through the API"
HANDLERS = 20
DISPATCHERS = 4


def loadtest(database_url: str, base: str, *args: str) -> dict:
    """Run `bluelamp loadtest ... --json` and return its report."""
    env = {**os.environ, "BLUELAMP_DATABASE_URL": database_url, "BLUELAMP_LOG_LEVEL": "warning"}
    done = subprocess.run(
        [PYTHON, "-m", "bluelamp", "loadtest", "--base-url", base, "--json", *args],
        env=env,
        capture_output=True,
        text=True,
    )
    if not done.stdout.strip():
        raise RuntimeError(f"bluelamp loadtest failed: {done.stderr.strip()[-300:]}")
    return json.loads(done.stdout)


def surge(database_url: str, base: str, factor: int, seconds: int) -> dict:
    return loadtest(
        database_url,
        base,
        "--as",
        "call-handler",
        "--factor",
        str(factor),
        "--duration",
        str(seconds),
        "--clients",
        str(HANDLERS),
        "--dispatchers",
        str(DISPATCHERS),
    )


def add_surge(section: Section, label: str, report: dict) -> None:
    ops = report["operations"]
    facts = report["facts"]
    opened = ops["open incident"]
    section.add(f"{label}: calls", facts["calls_due"], "calls")
    section.add(f"{label}: calls a minute", facts["calls_per_minute_due"], "calls/min")
    section.add(f"{label}: requests a second (all kinds)", report["throughput_rps"], "req/s")
    section.add(f"{label}: open incident p50", opened["p50_ms"], "ms")
    section.add(f"{label}: open incident p90", opened["p90_ms"], "ms")
    section.add(f"{label}: open incident p99", opened["p99_ms"], "ms")
    section.add(f"{label}: open incident max", opened["max_ms"], "ms")
    section.add(f"{label}: check duplicates p99", ops["check duplicates"]["p99_ms"], "ms")
    if "re-grade" in ops:
        section.add(f"{label}: re-grade p99", ops["re-grade"]["p99_ms"], "ms")
    section.add(f"{label}: poll queue p50", ops["poll queue"]["p50_ms"], "ms")
    section.add(f"{label}: poll queue p99", ops["poll queue"]["p99_ms"], "ms")
    behind = report["behind_schedule_max_s"]
    section.add(f"{label}: furthest behind schedule", behind, "s", goal="< 1 s", met=behind < 1)
    errors = report["errors"]
    kinds = ", ".join(f"{k} × {n}" for k, n in report["errors_by_kind"].items())
    section.add(
        f"{label}: errors" + (f" ({kinds[:80]})" if kinds else ""), errors, "requests", goal="0", met=not errors
    )


def run(quick: bool = False) -> Section:
    seconds = 20 if quick else 60
    section = Section(
        TITLE,
        command="make bench (bench/bench_loadtest.py)",
        notes=f"`bluelamp loadtest` in its own process against `bluelamp serve` (SQLite, 1 worker) on the demo force; "
        f"the record day (3,300 calls on the hour-of-day curve) from 17:00 at 50x for {seconds} s, then at 200x for "
        f"{seconds // 2} s; {HANDLERS} call handlers (duplicate check, open with grade and THRIVE, a quarter "
        f"re-graded), {DISPATCHERS} dispatchers polling the queue every 2 s; baseline: GET /livez through the same "
        f"harness with {HANDLERS} clients at the 50x surge's request rate, same server, same run",
    )
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bluelamp-bench-loadtest-") as tmp:
        url = f"sqlite:///{tmp}/loadtest.db"
        with demo_server(workers=1, database_url=url) as base:
            at_50 = surge(url, base, 50, seconds)
            at_200 = surge(url, base, 200, seconds // 2)
            rate = max(1.0, at_50["throughput_rps"])
            baseline = loadtest(
                url, base, "--url", "/livez", "--rate", f"{rate:.2f}", "--clients", str(HANDLERS), "--duration", "10"
            )
    trivial = baseline["operations"]["GET /livez"]
    section.add("GET /livez at the same rate p50 (baseline)", trivial["p50_ms"], "ms")
    section.add("GET /livez at the same rate p99 (baseline)", trivial["p99_ms"], "ms")
    add_surge(section, "record day at 50x", at_50)
    section.add(
        "record day at 50x: open incident p99 ÷ /livez p99",
        at_50["operations"]["open incident"]["p99_ms"] / trivial["p99_ms"],
        "×",
    )
    add_surge(section, "record day at 200x", at_200)
    cpu = max(at_50["client_cpu_percent"], at_200["client_cpu_percent"])
    section.notes += (
        f"; load average at the start {load:.1f} on {os.cpu_count()} cores (tails grow when other work shares them); "
        f"the harness used at most {cpu:.0f}% of one core"
    )
    return section


if __name__ == "__main__":
    import sys
    from pathlib import Path

    os.chdir(Path(__file__).resolve().parent)
    record(run(quick="--quick" in sys.argv))
