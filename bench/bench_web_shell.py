"""The web shell under load: a database-backed API read against the trivial liveness
endpoint of the same app, through a real HTTP load generator (wrk)."""

from __future__ import annotations

from harness import Section, demo_server, record, wrk

TITLE = "Web shell: request rate against the trivial endpoint"


def run(quick: bool = False) -> Section:
    seconds = 3 if quick else 8
    section = Section(
        TITLE,
        command="make bench (bench/bench_web_shell.py)",
        notes=f"wrk -t2 -c32 -d{seconds}s against `bluelamp serve` on SQLite, 1 worker; "
        "baseline /livez (no database), measured in the same run",
    )
    with demo_server(workers=1) as base:
        wrk(base + "/livez", seconds=1)  # warm up
        trivial = wrk(base + "/livez", seconds=seconds)
        health = wrk(base + "/healthz", seconds=seconds)
        forces = wrk(base + "/api/v1/forces", seconds=seconds)
    section.add("trivial /livez", trivial.requests_per_second, "req/s")
    section.add("trivial /livez p99", trivial.p99_ms, "ms")
    section.add("/healthz (database check)", health.requests_per_second, "req/s")
    section.add("/api/v1/forces (database read)", forces.requests_per_second, "req/s")
    section.add("/api/v1/forces p99", forces.p99_ms, "ms")
    ratio = forces.requests_per_second / trivial.requests_per_second
    section.add("/api/v1/forces ÷ trivial", ratio * 100, "%")
    section.add(
        "errors",
        trivial.errors + health.errors + forces.errors,
        "responses",
        goal="0",
        met=trivial.errors + health.errors + forces.errors == 0,
    )
    return section


if __name__ == "__main__":
    record(run())
