"""`bluelamp organisation`: the partner organisations a force works with."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from bluelamp.access import queries as access_queries
from bluelamp.access import service
from bluelamp.access.model import OrganisationKind

app = typer.Typer(
    help="Add and list partner organisations (councils, social care, health, education, probation).",
    no_args_is_help=True,
)


@app.command("add")
def add(
    ctx: typer.Context,
    organisation_id: Annotated[str, typer.Argument(metavar="ID", help="Id: lower-case letters, digits, hyphens")],
    name: Annotated[str, typer.Argument(help="Name, e.g. 'Stoke-on-Trent City Council'")],
    kind: Annotated[OrganisationKind, typer.Option("--kind", help="What kind of partner it is")],
    force: Annotated[str, typer.Option("--force", help="The force it works with")],
) -> None:
    """Register a partner organisation of a force."""
    cli = ctx.obj
    command = service.AddOrganisation(organisation_id, name, kind.value, force)
    with cli.ready_database().unit_of_work() as session:
        organisation = service.add_organisation(session, cli.actor(force), command, cli.clock)
    cli.console.print(
        f"added organisation {organisation.id} ({organisation.name}), {organisation.kind}, working with {force}",
        markup=False,
        highlight=False,
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    force: Annotated[str | None, typer.Option("--force", help="Only this force's partners")] = None,
) -> None:
    """List partner organisations."""
    cli = ctx.obj
    with cli.ready_database().read() as session:
        organisations = access_queries.list_organisations(session, force)
    if not organisations:
        cli.console.print("no partner organisations yet: add one with `bluelamp organisation add`")
        return
    table = Table("id", "name", "kind", "force")
    for organisation in organisations:
        table.add_row(
            *(Text(c) for c in (organisation.id, organisation.name, organisation.kind, organisation.force_id))
        )
    cli.console.print(table)
