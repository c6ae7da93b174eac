"""`bluelamp opendata ...`: import data.police.uk archives, publish a force's month, export."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from bluelamp.errors import InvalidInput
from bluelamp.opendata import importer
from bluelamp.opendata.vocabulary import month_text, parse_month

app = typer.Typer(
    help="Open data: data.police.uk archives in and out, and the monthly publication.", no_args_is_help=True
)


@app.command("import")
def import_(
    ctx: typer.Context,
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            metavar="PATH...",
            help="Archive files: YYYY-MM-<force>-street.csv, -outcomes.csv, -stop-and-search.csv (or .csv.gz), "
            "or monthly archive zips (YYYY-MM/YYYY-MM-<force>-<kind>.csv inside).",
            show_default=False,
        ),
    ] = None,
    force: Annotated[
        list[str] | None,
        typer.Option("--force", help="Import only this force's files (repeatable), e.g. staffordshire"),
    ] = None,
    month: Annotated[
        list[str] | None, typer.Option("--month", help="Import only this month's files (repeatable), YYYY-MM")
    ] = None,
    shipped: Annotated[
        bool,
        typer.Option("--shipped", help="Import the real months shipped with Bluelamp (West Yorkshire, Staffordshire)"),
    ] = False,
    errors: Annotated[
        Path | None, typer.Option("--errors", help="Write every skipped row (file, line, reason) to this CSV file")
    ] = None,
    show: Annotated[int, typer.Option("--show", help="How many skipped rows to print")] = 10,
) -> None:
    """Import data.police.uk archive CSVs or zips; each force's month is replaced whole (re-import is safe)."""
    cli = ctx.obj
    chosen = list(paths or []) + (list(importer.SHIPPED) if shipped else [])
    if not chosen:
        raise InvalidInput("give the files or zips to import, or --shipped", code="opendata.nothing_to_import")
    months = []
    for text in month or []:
        try:
            months.append(parse_month(text))
        except ValueError as exc:
            raise InvalidInput(f"--month: {exc}", code="input.invalid") from None
    database = cli.ready_database()
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=cli.console,
        transient=True,
        disable=not cli.console.is_terminal,
    ) as bar:
        task = bar.add_task("checking", total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=what[-60:], completed=done, total=total)

        report = importer.import_paths(
            database, cli.actor(), chosen, cli.clock, forces=force, months=months, progress=progress
        )
    seconds = time.perf_counter() - started
    console = cli.console
    for result in report.files:
        again = f", replaced {result.replaced:,}" if result.replaced else ""
        bad = f", {result.rejected:,} rejected" if result.rejected else ""
        console.print(
            f"{month_text(result.month)} {result.force_id} {result.kind}: {result.rows:,} rows{bad}{again}"
            f"  ({result.source})",
            highlight=False,
            soft_wrap=True,
        )
    if report.forces_created:
        console.print(
            f"forces created: {', '.join(sorted(set(report.forces_created)))}", highlight=False, soft_wrap=True
        )
    shown = report.errors[: max(show, 0)]
    for error in shown:
        console.print(f"  skipped {error.source} line {error.line}: {error.reason}", highlight=False, soft_wrap=True)
    total_rejected = report.bad_rows
    if total_rejected > len(shown):
        more = total_rejected - len(shown)
        where = f"; all in {errors}" if errors else "; --errors FILE writes them all"
        console.print(f"  ... and {more:,} more skipped rows{where}", highlight=False, soft_wrap=True)
    if errors is not None:
        with errors.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["file", "line", "reason"])
            writer.writerows((e.source, e.line, e.reason) for e in report.errors)
    rate = report.rows / seconds if seconds > 0 else 0
    console.print(
        f"imported {report.rows:,} rows from {len(report.files)} file(s), {report.rejected:,} rejected, "
        f"in {seconds:.1f} s ({rate:,.0f} rows/s)",
        highlight=False,
        soft_wrap=True,
    )
    if report.refused:
        first = report.refused[0]
        more = f" (and {len(report.refused) - 1} more files refused)" if len(report.refused) > 1 else ""
        raise InvalidInput(f"{first.source}: refused, {first.reason}{more}", code="opendata.refused")
