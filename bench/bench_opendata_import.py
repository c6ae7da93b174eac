"""Open-data import benchmark (issue 8, deliverable 6): `bluelamp opendata import` of one
large force's month and of a year of archives (about 6 million rows) into a fresh SQLite
file, end to end (reading the files, parsing, map points, inserting, one transaction per
force and month), against two loaders of the same rows into the same table in the same run:

- **baseline**: a raw batched ``executemany`` of the same rows, already parsed (read back
  from the imported database, so exactly the tuples the import wrote), into
  ``opendata_street`` of another fresh database, in batches of ``importer.BATCH`` and one
  transaction per force and month, as the import commits, with the same SQLite page cache
  the import sets (``writes.IMPORT_CACHE_KIB``);
- **naive**: one row per transaction through the ORM (``unit_of_work`` + ``session.add``),
  on a sample, for contrast.

The data is made from the two real West Yorkshire months shipped with Bluelamp: the large
month is three copies of them (about the Metropolitan Police's 90,000 rows a month) with new
persistent ids; the year is 12 monthly archive zips (``YYYY-MM.zip`` holding
``YYYY-MM/YYYY-MM-<force>-street.csv``, as data.police.uk publishes them) of 18 forces with
a real month's rows each, again with new persistent ids, the month and the force's name.
Building the files is set-up and not measured.

`python bench/run.py opendata_import --quick` makes the year 2 forces (about 680,000 rows)."""

from __future__ import annotations

import csv
import gzip
import io
import os
import random
import statistics
import tempfile
import time
import zipfile
from pathlib import Path

from harness import Section

from bluelamp.access import service as access_service
from bluelamp.access.policy import Actor
from bluelamp.clock import Clock
from bluelamp.opendata import importer, vocabulary, writes
from bluelamp.opendata.model import StreetCrime
from bluelamp.storage import Database, migrate

SYSTEM = Actor.system(None, "bench")
RNG = random.Random(20261128)
TEMPLATES = importer.SHIPPED[:2]  # the two West Yorkshire street months
YEAR = [202301 + n for n in range(12)]
GOAL_RATE = 100_000
GOAL_SHARE = 0.5


# ---------------------------------------------------------------- set-up (not measured)


def template_rows() -> list[list[list[str]]]:
    months = []
    for path in TEMPLATES:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            months.append(list(csv.reader(handle))[1:])
    return months


def month_csv(rows: list[list[str]], month: int, force_name: str) -> str:
    """A month's street CSV from template rows: new persistent ids, this month, this force."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(vocabulary.STREET_COLUMNS)
    month_s = vocabulary.month_text(month)
    token = RNG.randbytes
    for row in rows:
        pid = token(32).hex() if row[0] else ""
        writer.writerow([pid, month_s, force_name, force_name, *row[4:]])
    return out.getvalue()


def large_month(folder: Path, templates) -> Path:
    rows = templates[0] + templates[1] + templates[0]
    path = folder / "2024-01-west-yorkshire-street.csv.gz"
    path.write_bytes(gzip.compress(month_csv(rows, 202401, "West Yorkshire Police").encode(), compresslevel=6))
    return path


def year_archives(folder: Path, templates, forces: list[str]) -> list[Path]:
    paths = []
    for n, month in enumerate(YEAR):
        month_s = vocabulary.month_text(month)
        path = folder / f"{month_s}.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            for k, force_id in enumerate(forces):
                body = month_csv(templates[(n + k) % 2], month, vocabulary.FORCES[force_id])
                archive.writestr(f"{month_s}/{month_s}-{force_id}-street.csv", body)
        paths.append(path)
    return paths


def fresh(folder: Path, name: str, forces: list[str] = ()) -> Database:
    database = Database.from_url(f"sqlite:///{folder}/{name}.db")
    migrate.upgrade(database)
    with database.unit_of_work() as session:
        for force_id in forces:
            access_service.add_force(
                session, SYSTEM, access_service.AddForce(force_id, vocabulary.FORCES[force_id]), Clock()
            )
    return database


def read_back(database: Database, force_id: str, month: int) -> list[tuple]:
    """The rows the import wrote for a force's month, as the tuples it inserted."""
    raw = database.engine.raw_connection()
    try:
        cursor = raw.driver_connection.execute(
            f"SELECT {', '.join(writes.STREET_COLUMNS)} FROM opendata_street WHERE force_id = ? AND month = ? "
            "ORDER BY id",
            (force_id, month),
        )
        return cursor.fetchall()
    finally:
        raw.close()


# ---------------------------------------------------------------- the measured loaders


def import_files(database: Database, paths: list[Path]) -> tuple[int, float]:
    started = time.perf_counter()
    report = importer.import_paths(database, SYSTEM, paths, Clock())
    seconds = time.perf_counter() - started
    assert not report.refused and report.rejected == 0, report.refused
    return report.rows, seconds


def raw_executemany(database: Database, months: list[list[tuple]]) -> float:
    """Seconds to insert each list of rows in one transaction, in batches, on the raw connection."""
    sql = writes.insert_sql("opendata_street", writes.STREET_COLUMNS, "sqlite")
    raw = database.engine.raw_connection()
    connection = raw.driver_connection
    connection.execute(f"PRAGMA cache_size = -{writes.IMPORT_CACHE_KIB}")  # as the import does
    total = 0.0
    try:
        for rows in months:
            started = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            for at in range(0, len(rows), importer.BATCH):
                connection.executemany(sql, rows[at : at + importer.BATCH])
            connection.execute("COMMIT")
            total += time.perf_counter() - started
    finally:
        raw.close()
    return total


def naive(database: Database, rows: list[tuple]) -> float:
    """Seconds to insert the rows one transaction each, through the ORM."""
    started = time.perf_counter()
    for row in rows:
        with database.unit_of_work() as session:
            session.add(StreetCrime(**dict(zip(writes.STREET_COLUMNS, row, strict=True))))
    return time.perf_counter() - started


# ---------------------------------------------------------------- the benchmark


def run(quick: bool = False) -> Section:
    forces = [f for f in vocabulary.FORCES if f not in ("btp", "west-yorkshire")][: 2 if quick else 18]
    repeats = 1 if quick else 5
    sample = 300 if quick else 2000
    section = Section(
        "Open data: archive import",
        command="make bench (bench/bench_opendata_import.py)" + (" --quick" if quick else ""),
        notes=(
            f"SQLite (WAL, synchronous=NORMAL), a fresh file per loader; large month: 3 copies of the real West "
            f"Yorkshire months; year: 12 monthly archive zips × {len(forces)} forces of real rows with new ids; "
            f"baseline: raw batched executemany of the same rows, one transaction per force-month, with the import's "
            f"{writes.IMPORT_CACHE_KIB // 1024} MiB page cache; naive: one row "
            f"a transaction through the ORM ({sample:,}-row sample); month figures the median of {repeats}; the "
            f"month keeps its indexes up to date, the year is a bulk load (indexes built at the end, "
            f"importer.BULK_ROWS); the import parses in a forked process beside the writer (opendata/forked.py); "
            f"load average at the start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        ),
    )
    templates = template_rows()
    with tempfile.TemporaryDirectory(prefix="bluelamp-bench-opendata-") as tmp:
        folder = Path(tmp)
        month_path = large_month(folder, templates)

        # One large force's month.
        ours, base, again = [], [], []
        for n in range(repeats):
            imported = fresh(folder, f"month-{n}")
            rows, seconds = import_files(imported, [month_path])
            ours.append(rows / seconds)
            _, seconds_again = import_files(imported, [month_path])  # a re-import: the month replaced whole
            again.append(rows / seconds_again)
            parsed = read_back(imported, "west-yorkshire", 202401)
            baseline = fresh(folder, f"month-base-{n}", ["west-yorkshire"])
            base.append(rows / raw_executemany(baseline, [parsed]))
            imported.dispose()
            baseline.dispose()
        month_rate, month_base = statistics.median(ours), statistics.median(base)
        section.add(f"large month ({rows:,} rows): import end to end", month_rate, "rows/s",
                    goal="≥ 100,000/s", met=month_rate >= GOAL_RATE)  # fmt: skip
        section.add("large month: raw executemany of the same rows (baseline)", month_base, "rows/s")
        section.add("large month: import ÷ baseline", month_rate / month_base * 100, "%",
                    goal="≥ 50%", met=month_rate / month_base >= GOAL_SHARE)  # fmt: skip
        section.add(
            "large month: re-import (the month replaced in one transaction)", statistics.median(again), "rows/s"
        )

        # Naive, on a sample of the month's rows.
        sample_rows = parsed[:sample]
        slow = fresh(folder, "naive", ["west-yorkshire"])
        naive_rate = len(sample_rows) / naive(slow, sample_rows)
        slow.dispose()
        section.add(f"naive: one row a transaction through the ORM ({sample:,} rows)", naive_rate, "rows/s")
        section.add("large month: import ÷ naive", month_rate / naive_rate, "×")

        # A year of archives.
        archives = year_archives(folder, templates, forces)
        year = fresh(folder, "year")
        year_rows, year_seconds = import_files(year, archives)
        year_rate = year_rows / year_seconds
        baseline = fresh(folder, "year-base", forces)
        base_seconds = 0.0
        for month in YEAR:
            base_seconds += raw_executemany(baseline, [read_back(year, force_id, month) for force_id in forces])
        year.dispose()
        baseline.dispose()
        # The baseline commits once per force-month, as the import does (raw_executemany: one per list).
        year_base = year_rows / base_seconds
        files = len(YEAR) * len(forces)
        section.add(f"year ({year_rows:,} rows, {files} force-months in 12 zips): import end to end", year_rate,
                    "rows/s", goal="≥ 100,000/s", met=year_rate >= GOAL_RATE)  # fmt: skip
        section.add("year: raw executemany of the same rows (baseline)", year_base, "rows/s")
        section.add("year: import ÷ baseline", year_rate / year_base * 100, "%",
                    goal="≥ 50%", met=year_rate / year_base >= GOAL_SHARE)  # fmt: skip
        section.add("year: import wall time", year_seconds, "s")
    return section
