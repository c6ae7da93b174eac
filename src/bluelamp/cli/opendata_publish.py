"""`bluelamp opendata publish`: publish a force's month of street-level crime, outcomes and
stops and searches, anonymised, in data.police.uk's form. Registered on the `opendata` group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bluelamp.cli.opendata import app as opendata_app
from bluelamp.errors import InvalidInput
from bluelamp.opendata import vocabulary
from bluelamp.opendata.publication import publish as publication


@opendata_app.command("publish")
def publish_command(
    ctx: typer.Context,
    force: Annotated[str, typer.Option("--force", help="The force's id (its data.police.uk id)")],
    month: Annotated[str, typer.Option("--month", help="The month to publish, YYYY-MM (one that is over)")],
    out: Annotated[
        Path, typer.Option("--out", help="Folder the CSVs go under, as OUT/YYYY-MM/YYYY-MM-FORCE-street.csv ...")
    ] = Path("."),
) -> None:
    """Publish a force's month from its own records: street-level crimes and anti-social
    behaviour, outcomes, and stops and searches, at anonymous map points, with no personal
    data and the force's withheld categories left out. Loads the month into the open-data
    API (replacing an earlier publication of it) and writes the archive's three CSVs."""
    cli = ctx.obj
    try:
        wanted = vocabulary.parse_month(month)
    except ValueError:
        raise InvalidInput(f"--month takes YYYY-MM (e.g. 2026-03), not {month!r}") from None
    database = cli.ready_database()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=cli.console,
        transient=True,
        disable=not cli.console.is_terminal,
    ) as bar:
        task = bar.add_task("publishing", total=5)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        with database.unit_of_work() as session:
            report = publication.publish(
                session,
                cli.actor(force),
                force,
                wanted,
                out,
                cli.clock,
                secret_key=cli.settings.secret_key.get_secret_value(),
                progress=progress,
            )

    def say(text: str) -> None:
        cli.console.print(text, highlight=False, soft_wrap=True)

    month_text = vocabulary.month_text(report.month)
    located = {kind: n for kind, n in report.no_location.items() if n}
    say(
        f"published {report.force_id} {month_text} as {report.published_name!r}"
        + (" (replacing the earlier publication)" if report.replaced else "")
    )
    say(
        f"  street: {report.crimes:,} crimes and {report.anti_social_behaviour:,} anti-social behaviour; "
        f"outcomes: {report.outcomes:,}; stops and searches: {report.stops:,}"
    )
    if located:
        say("  without a location: " + ", ".join(f"{kind} {n:,}" for kind, n in located.items()))
    withheld = publication.withheld_summary(report)
    say(
        f"  withheld: {withheld}"
        + (f" (and {report.withheld_outcomes:,} outcomes)" if report.withheld_outcomes else "")
    )
    say(
        f"  map points: {report.points:,} from {report.addresses:,} addresses "
        f"({report.points_kept:,} kept, {report.points_added:,} new, {report.points_removed:,} removed)"
    )
    if report.earlier_outcomes_updated:
        say(f"  earlier months' crimes given their new outcome: {report.earlier_outcomes_updated:,}")
    for note in report.notes:
        say(f"  note: {note}")
    for path in report.files:
        say(f"  wrote {path}")
