"""`bluelamp opendata export`: a force's month of public data, or the part of it in an
area, as CSV (the archive's columns) or GeoJSON; registered on the `opendata` group."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bluelamp.cli.opendata import app as opendata_app
from bluelamp.errors import InvalidInput
from bluelamp.opendata import export, queries
from bluelamp.opendata.vocabulary import month_text


@opendata_app.command("export")
def export_(
    ctx: typer.Context,
    kind: Annotated[str, typer.Option("--kind", help="street (crimes), outcomes or stops (stop and search)")],
    force: Annotated[str, typer.Option("--force", help="Force id, e.g. west-yorkshire")],
    out: Annotated[str, typer.Option("--out", help="File to write, or - for standard output")],
    month: Annotated[
        str | None, typer.Option("--month", help="Month YYYY-MM (default: the latest loaded of that kind)")
    ] = None,
    lat: Annotated[float | None, typer.Option("--lat", help="Latitude of a point: the rows within a mile")] = None,
    lng: Annotated[float | None, typer.Option("--lng", help="Longitude of that point")] = None,
    poly: Annotated[
        str | None, typer.Option("--poly", help="An area instead: lat,lng:lat,lng:... (as the API's poly)")
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="Street crime of one category only, e.g. burglary")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv (the archive's columns) or geojson")] = "csv",
) -> None:
    """Export a force's month of public data (or the rows in an area) as CSV or GeoJSON."""
    cli = ctx.obj
    if poly is not None and (lat is not None or lng is not None):
        raise InvalidInput("give --lat and --lng, or --poly, not both", code="input.invalid")
    area: queries.Area | None = None
    if poly is not None:
        area = queries.parse_poly(poly)
    elif lat is not None or lng is not None:
        if lat is None or lng is None:
            raise InvalidInput("give both --lat and --lng", code="input.invalid")
        area = queries.Circle(lat, lng)
    with cli.ready_database().read() as session:
        exported = export.export_query(session, kind, force, month=month, area=area, category=category, fmt=fmt.lower())
    if out == "-":
        sys.stdout.buffer.write(exported.body)
        sys.stdout.flush()
        return
    Path(out).write_bytes(exported.body)
    where = "" if area is None else (" in the area" if poly else " within a mile")
    month_shown = month_text(exported.month) if exported.month else "no month loaded"
    cli.console.print(
        f"wrote {exported.count:,} {kind} rows of {force}, {month_shown}{where}, to {out} ({fmt.lower()})",
        highlight=False,
        soft_wrap=True,
    )
