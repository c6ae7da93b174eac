"""Shared machinery for benchmarks: timing, percentiles, a real server, wrk, and
recording figures into docs/benchmarks.md.

Every benchmark measures its path and a baseline in the same run, on the same
machine, and records both with the ratio. Nothing here asserts a timing.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = REPO / "docs" / "benchmarks.md"
PYTHON = sys.executable


@dataclass
class Figure:
    """One measured number, with the goal it is held against (if any)."""

    name: str
    value: float
    unit: str
    goal: str = ""
    met: bool | None = None


@dataclass
class Section:
    """A benchmark's results, written as one section of docs/benchmarks.md."""

    title: str
    command: str
    notes: str = ""
    figures: list[Figure] = field(default_factory=list)

    def add(self, name: str, value: float, unit: str, goal: str = "", met: bool | None = None) -> Figure:
        figure = Figure(name, value, unit, goal, met)
        self.figures.append(figure)
        print(f"  {name}: {value:,.3f} {unit}" + (f"  (goal {goal}: {'met' if met else 'NOT met'})" if goal else ""))
        return figure


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}, {platform.system()}"


def record(section: Section) -> None:
    """Replace (or add) this section in docs/benchmarks.md."""
    BENCHMARKS_MD.parent.mkdir(exist_ok=True)
    text = BENCHMARKS_MD.read_text() if BENCHMARKS_MD.exists() else HEADER
    lines = [
        f"## {section.title}",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}",
        f"- command: `{section.command}`",
    ]
    if section.notes:
        lines.append(f"- notes: {section.notes}")
    lines += ["", "| measure | value | goal | met |", "|---|---|---|---|"]
    for f in section.figures:
        met = "" if f.met is None else ("yes" if f.met else "**no**")
        lines.append(f"| {f.name} | {f.value:,.3f} {f.unit} | {f.goal} | {met} |")
    block = "\n".join(lines) + "\n"
    pattern = re.compile(rf"^## {re.escape(section.title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: block + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + block
    BENCHMARKS_MD.write_text(text)


HEADER = """# Benchmarks

Figures written by `make bench` (`bench/run.py`). Each benchmark measures a Bluelamp path and a
baseline in the same run on the same machine, so the ratio means something even on a busy
machine. The test suite never asserts timings; goals are checked here.
"""


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * pct / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def timed(fn, repeat: int) -> list[float]:
    """Seconds per call, for ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def demo_server(workers: int = 1, database_url: str | None = None):
    """A real `bluelamp serve` on a fresh demo database, on loopback; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="bluelamp-bench-") as tmp:
        url = database_url or f"sqlite:///{tmp}/bench.db"
        env = {**os.environ, "BLUELAMP_DATABASE_URL": url, "BLUELAMP_LOG_LEVEL": "warning"}
        subprocess.run([PYTHON, "-m", "bluelamp", "demo", "--no-serve"], env=env, check=True, capture_output=True)
        port = free_port()
        log = server_log()
        server = subprocess.Popen(
            [PYTHON, "-m", "bluelamp", "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        server.log = log
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(base + "/livez", server)
            yield base
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


def server_log():
    """Where a bench server writes its log: a file, never a pipe (nothing reads a pipe while
    the bench runs, and a server whose pipe fills blocks for good inside its logging)."""
    return tempfile.TemporaryFile(prefix="bluelamp-bench-server-")


def wait_for(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {_tail(getattr(process, 'log', None))}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url}")


def _tail(log) -> str:
    if log is None:
        return "(no log)"
    log.seek(0)
    return log.read().decode(errors="replace")[-500:]


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def wrk(url: str, *, seconds: int = 5, connections: int = 32, threads: int = 2) -> WrkResult:
    """Load ``url`` with wrk (Debian's package) and parse its latency distribution."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk, or run `make bench`)")
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = 0
    for pattern in (
        r"Non-2xx or 3xx responses:\s+(\d+)",
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
    ):
        match = re.search(pattern, out)
        if match:
            errors += sum(int(g) for g in match.groups())
    return WrkResult(rps, latency("50"), latency("99"), errors)
