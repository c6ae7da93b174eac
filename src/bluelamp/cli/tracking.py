"""`bluelamp station|unit|officer|device|tracking`: the resources a force deploys."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer
from rich.table import Table

from bluelamp.access import queries as access_queries
from bluelamp.errors import InvalidInput
from bluelamp.tracking import queries, service, writes

ForceOption = Annotated[
    str | None, typer.Option("--force", help="Force id (default: the only force, when there is one)")
]

stations = typer.Typer(help="Police stations (units' homes).", no_args_is_help=True)
units = typer.Typer(help="Units: vehicles and foot patrols with call signs.", no_args_is_help=True)
officers = typer.Typer(help="Officers: collar numbers, ranks and skills.", no_args_is_help=True)
devices = typer.Typer(help="Trackers: phones, vehicle trackers and radios that report positions.", no_args_is_help=True)
tracking = typer.Typer(help="Housekeeping of positions and trails.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(stations, name="station")
    app.add_typer(units, name="unit")
    app.add_typer(officers, name="officer")
    app.add_typer(devices, name="device")
    app.add_typer(tracking, name="tracking")


def _force(cli, session, force: str | None) -> str:
    if force:
        return force
    forces = access_queries.list_forces(session)
    if len(forces) == 1:
        return forces[0].id
    raise InvalidInput("say which force with --force (there are several)")


@stations.command("add")
def station_add(
    ctx: typer.Context,
    code: str,
    name: str,
    lat: Annotated[float, typer.Option(help="Latitude (WGS84)")],
    lon: Annotated[float, typer.Option(help="Longitude (WGS84)")],
    address: Annotated[str | None, typer.Option(help="Street address")] = None,
    force: ForceOption = None,
) -> None:
    """Register a police station."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        force_id = _force(cli, session, force)
        station = service.add_station(
            session, cli.actor(force_id), service.AddStation(code, name, lat, lon, address), cli.clock
        )
        cli.console.print(f"added station {station.code} ({station.name})")


@units.command("add")
def unit_add(
    ctx: typer.Context,
    call_sign: Annotated[str, typer.Argument(help="Call sign, e.g. SF21")],
    unit_type: Annotated[str, typer.Option("--type", help="response_car, armed_response_vehicle, dog_van, ...")],
    station: Annotated[str | None, typer.Option(help="Home station code")] = None,
    capability: Annotated[list[str] | None, typer.Option(help="Extra capability (repeatable)")] = None,
    status: Annotated[str, typer.Option(help="Starting status")] = "off_duty",
    marking: Annotated[str, typer.Option(help="Security marking")] = "OFFICIAL",
    force: ForceOption = None,
) -> None:
    """Register a unit."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        force_id = _force(cli, session, force)
        unit = service.add_unit(
            session,
            cli.actor(force_id),
            service.AddUnit(call_sign, unit_type, station, tuple(capability or ()), status, marking),
            cli.clock,
        )
        cli.console.print(f"added unit {unit.call_sign} ({unit.unit_type}, {unit.status})")


@units.command("list")
def unit_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="Only this status")] = None,
    force: ForceOption = None,
) -> None:
    """List a force's units with status and last position."""
    cli = ctx.obj
    with cli.ready_database().read() as session:
        force_id = _force(cli, session, force)
        found = queries.list_units(session, cli.actor(force_id), status=status)
        table = Table("call sign", "type", "status", "last fix (UTC)", "position")
        for unit in found:
            position = f"{unit.last_lat:.5f}, {unit.last_lon:.5f}" if unit.last_lat is not None else ""
            fix = unit.last_fix_at.strftime("%Y-%m-%d %H:%M:%S") if unit.last_fix_at else ""
            table.add_row(unit.call_sign, unit.unit_type, unit.status, fix, position)
    cli.console.print(table if found else "no units")


@officers.command("add")
def officer_add(
    ctx: typer.Context,
    collar_number: str,
    name: str,
    rank: Annotated[str, typer.Option(help="Rank, e.g. PC, PS, Insp")] = "PC",
    skill: Annotated[list[str] | None, typer.Option(help="Skill (repeatable): taser, firearms, ...")] = None,
    station: Annotated[str | None, typer.Option(help="Station code")] = None,
    force: ForceOption = None,
) -> None:
    """Register an officer."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        force_id = _force(cli, session, force)
        officer = service.add_officer(
            session,
            cli.actor(force_id),
            service.AddOfficer(collar_number, name, rank, tuple(skill or ()), station),
            cli.clock,
        )
        cli.console.print(f"added officer {officer.collar_number} {officer.name}")


@devices.command("add")
def device_add(
    ctx: typer.Context,
    device_id: Annotated[str, typer.Option("--id", help="The tracker's own id (Traccar Client: device identifier)")],
    unit: Annotated[str | None, typer.Option(help="Call sign of the unit it tracks")] = None,
    officer: Annotated[str | None, typer.Option(help="Collar number of the officer it tracks")] = None,
    kind: Annotated[str, typer.Option(help="phone, vehicle_tracker or radio")] = "phone",
    secret: Annotated[str | None, typer.Option(help="Shared secret the device sends as `key`")] = None,
    force: ForceOption = None,
) -> None:
    """Register a tracker for a unit or an officer."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        force_id = _force(cli, session, force)
        device = service.add_device(
            session, cli.actor(force_id), service.AddDevice(device_id, kind, unit, officer, secret), cli.clock
        )
        cli.console.print(f"added device {device.id} for {'unit ' + unit.upper() if unit else 'officer ' + officer}")


@tracking.command("purge")
def purge(ctx: typer.Context) -> None:
    """Delete trail positions older than BLUELAMP_POSITION_RETENTION_DAYS."""
    cli = ctx.obj
    database = cli.ready_database()
    cutoff = cli.clock.now() - timedelta(days=cli.settings.position_retention_days)
    removed = writes.delete_positions_before(database, cutoff)
    cli.console.print(f"deleted {removed} positions from before {cutoff:%Y-%m-%d %H:%M} UTC")
