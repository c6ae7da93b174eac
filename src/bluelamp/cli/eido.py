"""`bluelamp eido`: incidents as NENA EIDO documents, out to another force and in from one."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from bluelamp.access import queries as access_queries
from bluelamp.command import eido
from bluelamp.errors import FieldProblem, InvalidInput

app = typer.Typer(
    help="EIDO exchange: incidents as NENA Emergency Incident Data Objects (JSON) for other forces.",
    no_args_is_help=True,
)

ForceOption = Annotated[
    str | None, typer.Option("--force", help="Force id (default: the only force, when there is one)")
]


def _force(session, force: str | None) -> str:
    if force:
        return force
    forces = access_queries.list_forces(session)
    if len(forces) == 1:
        return forces[0].id
    raise InvalidInput("say which force with --force (there are several)")


@app.command("export")
def export(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="Incident reference, e.g. SP-20261128-0042")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the document to this file (default: print it)")
    ] = None,
    sender: Annotated[str | None, typer.Option(help="Agency identifier to send as (default: FORCE.police.uk)")] = None,
    force: ForceOption = None,
) -> None:
    """Export an incident as an EIDO document (callers included; audited and logged on the incident)."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        force_id = _force(session, force)
        document = eido.export_incident(
            session, cli.actor(force_id), reference, cli.clock, sender=sender or eido.sender_for(force_id)
        )
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text, encoding="utf-8")
    cli.console.print(f"wrote the EIDO document of {reference.strip().upper()} to {out}", highlight=False)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="The EIDO document (JSON); - reads standard input")],
    force: ForceOption = None,
) -> None:
    """Open an incident from an EIDO document another force sent (a transferred call)."""
    cli = ctx.obj
    document = _read(file)
    with cli.ready_database().unit_of_work() as session:
        force_id = _force(session, force)
        intake = eido.import_document(
            session, cli.actor(force_id), document, cli.clock, schema_directory=cli.settings.eido_schema_dir
        )
        incident = intake.incident
        if intake.created:
            cli.console.print(
                f"opened {incident.reference} ({incident.opening_category}, grade {incident.grade}) "
                f"from {incident.external_id}; a re-assessment task is open",
                highlight=False,
            )
        else:
            cli.console.print(f"already imported as {incident.reference}: nothing changed", highlight=False)
        for warning in intake.warnings:
            cli.console.print(f"warning: {warning}", highlight=False)


def _read(file: str) -> dict:
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(
            f"cannot read {file}: {exc.strerror}", problems=[FieldProblem("FILE", "unreadable")]
        ) from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"{file} is not JSON: {exc}", problems=[FieldProblem("FILE", "not JSON")]) from None
    if not isinstance(document, dict):
        raise InvalidInput(f"{file} is not an EIDO document (a JSON object)", code="eido.invalid")
    return document
