"""`bluelamp opendata neighbourhoods ...`: load a force's neighbourhoods from a GeoJSON
file, and list them; registered on the `opendata` group."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bluelamp.cli.opendata import app as opendata_app
from bluelamp.errors import FieldProblem, InvalidInput
from bluelamp.opendata.neighbourhoods import service

app = typer.Typer(
    help="A force's neighbourhoods for the open-data API: boundaries, teams, events, priorities.",
    no_args_is_help=True,
)
opendata_app.add_typer(app, name="neighbourhoods")


@app.command("load")
def load(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(metavar="FILE", help="A GeoJSON FeatureCollection, one Polygon per neighbourhood")
    ],
    force: Annotated[str, typer.Option("--force", help="The force's id, e.g. staffordshire")],
    replace: Annotated[
        bool,
        typer.Option(
            "--replace/--keep-others",
            help="Remove the force's neighbourhoods that are not in the file (with their events and priorities)",
        ),
    ] = False,
) -> None:
    """Create or replace a force's neighbourhoods from a GeoJSON file (all or nothing).

    Each Feature's properties: id, name, population, description, url_force,
    contact_details, links, locations, people (the team), centre."""
    cli = ctx.obj
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise InvalidInput(
            f"cannot read {path}: {exc.strerror}", problems=[FieldProblem("FILE", "unreadable")]
        ) from None
    except ValueError as exc:
        raise InvalidInput(f"{path} is not JSON: {exc}", problems=[FieldProblem("FILE", "not JSON")]) from None
    try:
        with cli.ready_database().unit_of_work() as session:
            loaded = service.load_neighbourhoods(session, cli.actor(force), data, cli.clock, replace=replace)
    except InvalidInput as exc:
        for problem in exc.problems[:20]:
            cli.console.print(f"  {problem.field}: {problem.message}", markup=False)
        if len(exc.problems) > 20:
            cli.console.print(f"  ... and {len(exc.problems) - 20} more")
        raise
    cli.console.print(f"{force}: {len(loaded.set)} neighbourhoods set", markup=False)
    if loaded.removed:
        cli.console.print(f"removed {len(loaded.removed)}: {', '.join(loaded.removed)}", markup=False)
    if loaded.kept:
        cli.console.print(
            f"kept {len(loaded.kept)} not in the file (--replace removes them): {', '.join(loaded.kept)}", markup=False
        )


@app.command("list")
def list_(
    ctx: typer.Context,
    force: Annotated[str, typer.Option("--force", help="The force's id, e.g. staffordshire")],
) -> None:
    """List a force's neighbourhoods with their teams, upcoming events and priorities."""
    cli = ctx.obj
    with cli.ready_database().read() as session:
        rows = service.list_neighbourhoods(session, cli.actor(force), cli.clock)
    if not rows:
        cli.console.print(
            f"{force} has no neighbourhoods yet: load some with `bluelamp opendata neighbourhoods load`", markup=False
        )
        return
    table = Table("id", "name", "population", "team", "upcoming events", "priorities", "vertices")
    for row in rows:
        table.add_row(
            row.id,
            row.name,
            row.population,
            str(row.team),
            str(row.upcoming_events),
            str(row.priorities),
            str(row.vertices),
        )
    cli.console.print(table)
