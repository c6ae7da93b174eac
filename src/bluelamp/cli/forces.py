"""`bluelamp force`: the forces (tenants) on the platform."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bluelamp.access import queries as access_queries
from bluelamp.access.service import AddForce, add_force

app = typer.Typer(help="Add and list the police forces on this platform.", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    force_id: Annotated[str, typer.Argument(metavar="ID", help="data.police.uk force id, e.g. staffordshire")],
    name: Annotated[str, typer.Argument(help="Force name, e.g. 'Staffordshire Police'")],
    prefix: Annotated[str | None, typer.Option(help="Incident reference prefix (default: initials)")] = None,
    url: Annotated[str | None, typer.Option(help="The force's public website")] = None,
    telephone: Annotated[str | None, typer.Option(help="Non-emergency telephone number")] = None,
) -> None:
    """Register a police force."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        force = add_force(session, cli.actor(), AddForce(force_id, name, prefix, url, telephone), cli.clock)
        cli.console.print(f"added force {force.id} ({force.name}), reference prefix {force.reference_prefix}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the forces on this platform."""
    cli = ctx.obj
    with cli.ready_database().read() as session:
        forces = access_queries.list_forces(session)
        table = Table("id", "name", "prefix")
        for force in forces:
            table.add_row(force.id, force.name, force.reference_prefix)
    if forces:
        cli.console.print(table)
    else:
        cli.console.print("no forces yet: add one with `bluelamp force add ID NAME`")
