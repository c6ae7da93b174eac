"""`bluelamp incident`: record, list, show, annotate and close incidents from the shell
(scripts, a control room without its screens). The same services as the API."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bluelamp.access import queries as access_queries
from bluelamp.clock import to_local
from bluelamp.command import service
from bluelamp.command.commands import CallerDetails, NewIncident, Thrive
from bluelamp.command.model import ACTIVE_STATUSES
from bluelamp.errors import InvalidInput, NotFound

app = typer.Typer(help="Incidents: record a call, the queue, one incident's log, notes, closing.", no_args_is_help=True)

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


def _find(session, actor, reference: str, clock):
    """An incident by reference (SP-20261128-0042) or by id."""
    try:
        return service.get_incident_by_reference(session, actor, reference, clock)
    except NotFound:
        return service.get_incident(session, actor, reference.strip(), clock)


def _when(moment) -> str:
    return to_local(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


@app.command("create")
def create(
    ctx: typer.Context,
    category: Annotated[str, typer.Option(help="Opening category code, e.g. assault (see the categories API)")],
    lat: Annotated[float, typer.Option(help="Latitude (WGS84)")],
    lon: Annotated[float, typer.Option(help="Longitude (WGS84)")],
    threat: Annotated[str, typer.Option(help="THRIVE: threat")],
    harm: Annotated[str, typer.Option(help="THRIVE: harm")],
    risk: Annotated[str, typer.Option(help="THRIVE: risk")],
    investigation: Annotated[str, typer.Option(help="THRIVE: investigation")],
    vulnerability: Annotated[str, typer.Option(help="THRIVE: vulnerability")],
    engagement: Annotated[str, typer.Option(help="THRIVE: engagement")],
    grade: Annotated[str | None, typer.Option(help="1-4 (default: the category's default grade)")] = None,
    source: Annotated[str, typer.Option(help="999, 101, online, officer, alarm or transfer")] = "101",
    address: Annotated[str, typer.Option(help="Free-text address")] = "",
    description: Annotated[str, typer.Option(help="What the caller said")] = "",
    qualifier: Annotated[list[str] | None, typer.Option(help="Qualifier (repeatable): domestic, firearms, ...")] = None,
    caller_name: Annotated[str | None, typer.Option(help="Caller's name")] = None,
    phone: Annotated[str | None, typer.Option(help="Caller's phone number")] = None,
    callback_consent: Annotated[bool, typer.Option(help="The caller agrees to be called back")] = False,
    outside_area_reason: Annotated[str | None, typer.Option(help="Why a location outside the area is ours")] = None,
    idempotency_key: Annotated[str | None, typer.Option(help="Run twice with the same key: one incident")] = None,
    force: ForceOption = None,
) -> None:
    """Record a call as a new incident (THRIVE in six parts; grade 3 books the earliest slot)."""
    cli = ctx.obj
    command = NewIncident(
        source=source,
        category=category,
        lat=lat,
        lon=lon,
        address=address,
        description=description,
        qualifiers=tuple(qualifier or ()),
        grade=grade,
        thrive=Thrive(threat, harm, risk, investigation, vulnerability, engagement),
        caller=CallerDetails(caller_name, phone, callback_consent),
        outside_area_reason=outside_area_reason,
        idempotency_key=idempotency_key,
    )
    with cli.ready_database().unit_of_work() as session:
        intake = service.create_incident(session, cli.actor(_force(session, force)), command, cli.clock)
        incident = intake.incident
        verb = "created" if intake.created else "already received as"
        line = f"{verb} {incident.reference} (grade {incident.grade}, {incident.status})"
        if incident.target_at:
            line += f", attend by {_when(incident.target_at)}"
        if intake.appointment is not None:
            line += f", appointment {_when(intake.appointment.starts_at)}"
    cli.console.print(line, highlight=False)
    for warning in intake.warnings:
        cli.console.print(f"warning: {warning}", highlight=False)


@app.command("list")
def list_incidents(
    ctx: typer.Context,
    status: Annotated[list[str] | None, typer.Option(help="Only these statuses (default: the active ones)")] = None,
    limit: Annotated[int, typer.Option(help="At most this many")] = 200,
    force: ForceOption = None,
) -> None:
    """The queue: most urgent grade first, then the nearest target."""
    cli = ctx.obj
    with cli.ready_database().read() as session:
        found = service.queue(
            session, cli.actor(_force(session, force)), statuses=status or ACTIVE_STATUSES, limit=limit
        )
        table = Table("reference", "grade", "status", "category", "created", "target", "address")
        for incident in found:
            target = _when(incident.target_at) + (" BREACHED" if incident.breached_at else "")
            table.add_row(
                incident.reference,
                incident.grade,
                incident.status,
                incident.opening_category,
                _when(incident.created_at),
                target,
                incident.address,
            )
    cli.console.print(table if found else "no incidents")


@app.command("show")
def show(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="Incident reference, e.g. SP-20261128-0042 (or its id)")],
    force: ForceOption = None,
) -> None:
    """One incident: its details, callers, tasks and its log in order (audited)."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        actor = cli.actor(_force(session, force))
        detail = service.incident_detail(session, actor, _find(session, actor, reference, cli.clock).id, cli.clock)
        incident = detail.incident
        out = cli.console
        out.print(f"{incident.reference}  grade {incident.grade}  {incident.status}", highlight=False)
        out.print(f"category: {incident.opening_category}  qualifiers: {', '.join(incident.qualifiers) or '-'}")
        if incident.description:
            out.print(f"description: {incident.description}", highlight=False, markup=False)
        out.print(f"where: {incident.address or '-'} ({incident.lat:.5f}, {incident.lon:.5f}, {incident.area_kind})")
        out.print(f"created: {_when(incident.created_at)} by {incident.created_by}", highlight=False)
        if incident.target_at:
            breach = f"  breached: {incident.breach_cause}" if incident.breached_at else ""
            out.print(f"target: {_when(incident.target_at)}{breach}", highlight=False)
        if incident.closed_at:
            out.print(f"closed: {incident.closing_category}, {incident.result}: {incident.summary}", highlight=False)
        for call in detail.calls:
            out.print(
                f"call: {_when(call.received_at)} {call.source} {call.caller_name or ''} {call.caller_phone or ''}"
            )
        for task in detail.tasks:
            state = f"closed: {task.outcome}" if task.closed_at else "OPEN"
            out.print(f"task: {task.kind} ({state}) {task.reason}", highlight=False)
        for entry in detail.log:
            out.print(f"{_when(entry.at)}  {entry.by}  {entry.kind}: {entry.text}", highlight=False, markup=False)


@app.command("note")
def note(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="Incident reference (or id)")],
    text: Annotated[str, typer.Argument(help="The update to add to the log")],
    force: ForceOption = None,
) -> None:
    """Add a free-text update to an incident's log."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        actor = cli.actor(_force(session, force))
        incident = _find(session, actor, reference, cli.clock)
        service.add_note(session, actor, incident.id, text, cli.clock)
    cli.console.print(f"noted on {incident.reference}", highlight=False)


@app.command("close")
def close(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="Incident reference (or id)")],
    category: Annotated[str, typer.Option("--category", help="Closing category code (may differ from opening)")],
    result: Annotated[str, typer.Option(help=f"One of {', '.join(service.RESULTS)}")],
    summary: Annotated[str, typer.Option(help="What happened")],
    crime_reference: Annotated[str | None, typer.Option(help="The crime record, for crime_recorded")] = None,
    force: ForceOption = None,
) -> None:
    """Close an incident (refused while units are assigned or call-backs are open)."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        actor = cli.actor(_force(session, force))
        incident = _find(session, actor, reference, cli.clock)
        service.close_incident(
            session, actor, incident.id, category, result, summary, cli.clock, crime_reference=crime_reference
        )
    cli.console.print(f"closed {incident.reference}", highlight=False)
