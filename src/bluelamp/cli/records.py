"""`bluelamp records`: persons, objects, locations, events and the links between them
from the shell. The same services as the API. Other records modules (search, dedupe,
review...) add their commands to this group (``app``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bluelamp.access import queries as access_queries
from bluelamp.errors import Conflict, InvalidInput
from bluelamp.records import graph as link_chart
from bluelamp.records import person_fields, person_parts, person_reads, persons, pole

app = typer.Typer(
    help="Records (RMS): persons, objects, locations, events, links; search, dedupe and reviews.",
    no_args_is_help=True,
)
person_app = typer.Typer(help="Persons: add, show.", no_args_is_help=True)
link_app = typer.Typer(help="Links between records: add, remove.", no_args_is_help=True)
location_app = typer.Typer(help="Locations: add.", no_args_is_help=True)
object_app = typer.Typer(help="Objects (vehicles, phones, property, weapons, documents): add.", no_args_is_help=True)
event_app = typer.Typer(
    help="Events (incidents, stop and search, missing persons, custody): add.", no_args_is_help=True
)
app.add_typer(person_app, name="person")
app.add_typer(link_app, name="link")
app.add_typer(location_app, name="location")
app.add_typer(object_app, name="object")
app.add_typer(event_app, name="event")

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


def _pairs(values: list[str] | None, option: str, separator: str = "=") -> list[tuple[str, str]]:
    pairs = []
    for value in values or []:
        left, found, right = value.partition(separator)
        if not found or not left.strip() or not right.strip():
            raise InvalidInput(f"{option} takes KIND{separator}VALUE, not {value!r}")
        pairs.append((left.strip().lower(), right.strip()))
    return pairs


def _name(text: str) -> tuple[str, str]:
    """ "Given Names Family" -> ("Given Names", "Family"); a comma splits "Family, Given"."""
    if "," in text:
        family, _, given = text.partition(",")
        return given.strip(), family.strip()
    words = text.split()
    return " ".join(words[:-1]), words[-1] if words else ""


def _ref(text: str) -> pole.RecordRef:
    kind, found, record_id = text.partition(":")
    if not found or not record_id.strip():
        raise InvalidInput(f"name a record as TYPE:ID (e.g. person:3f2a...), not {text!r}")
    return pole.RecordRef(pole.record_type(kind), record_id.strip())


@person_app.command("add")
def person_add(
    ctx: typer.Context,
    family: Annotated[str, typer.Option(help="Family name")],
    given: Annotated[str, typer.Option(help="Given names")] = "",
    dob: Annotated[str, typer.Option(help="Date of birth, full or partial: 1985-03-12, 1985-03 or 1985")] = "",
    gender: Annotated[str | None, typer.Option(help=", ".join(person_fields.GENDERS))] = None,
    ethnicity: Annotated[str | None, typer.Option(help="Self-defined 18+1 code, e.g. W1")] = None,
    officer_ethnicity: Annotated[str | None, typer.Option(help="Officer-defined IC code, e.g. IC1")] = None,
    birth_place: Annotated[str | None, typer.Option(help="Place of birth")] = None,
    alias: Annotated[list[str] | None, typer.Option(help='An alias (repeatable): "Given Family"')] = None,
    previous_name: Annotated[
        list[str] | None, typer.Option(help='A previous name (repeatable): "Given Family"')
    ] = None,
    identifier: Annotated[
        list[str] | None, typer.Option(help="KIND=VALUE (repeatable), e.g. pnc_id=99/123456A")
    ] = None,
    marker: Annotated[
        list[str] | None, typer.Option(help="KIND:REASON (repeatable), e.g. violent:assaulted staff")
    ] = None,
    marking: Annotated[str | None, typer.Option(help="OFFICIAL, OFFICIAL-SENSITIVE or SECRET")] = None,
    retention_group: Annotated[str, typer.Option(help="MoPI retention group 1-4")] = "3",
    confirm_new: Annotated[bool, typer.Option(help="Save even though likely matches exist (checked them)")] = False,
    force: ForceOption = None,
) -> None:
    """Record a person; likely duplicates are listed (and nothing saved) unless --confirm-new."""
    cli = ctx.obj
    year, month, day = person_fields.parse_dob(dob)
    names = tuple(person_parts.OtherName("alias", *_name(a)) for a in alias or []) + tuple(
        person_parts.OtherName("previous", *_name(p)) for p in previous_name or []
    )
    command = persons.NewPerson(
        given_names=given,
        family_name=family,
        dob_year=year,
        dob_month=month,
        dob_day=day,
        birth_place=birth_place,
        gender=gender,
        self_defined_ethnicity=ethnicity,
        officer_ethnicity=officer_ethnicity,
        names=names,
        identifiers=tuple(person_parts.NewIdentifier(k, v) for k, v in _pairs(identifier, "--identifier")),
        markers=tuple(person_parts.NewMarker(k, v) for k, v in _pairs(marker, "--marker", ":")),
        marking=marking,
        retention_group=retention_group,
        confirm_new=confirm_new,
    )
    try:
        with cli.ready_database().unit_of_work() as session:
            saved = persons.add_person(session, cli.actor(_force(session, force)), command, cli.clock)
            person = saved.person
            line = f"added person {person.id}: {pole.label(person)}, review {person.review_at:%Y-%m-%d}"
    except Conflict as exc:
        if exc.code != "person.likely_duplicates":
            raise
        table = Table("id", "name", "date of birth", "score")
        for match in exc.extra["matches"]:
            name = f"{(match['family_name'] or '').upper()}, {match['given_names']}"
            table.add_row(match["id"], name, match["dob"] or "", f"{match['score']:.2f}")
        cli.console.print(table)
        raise Conflict(f"{exc.detail} (run again with --confirm-new)", code=exc.code, extra=exc.extra) from None
    cli.console.print(line, highlight=False, markup=False)


@person_app.command("show")
def person_show(
    ctx: typer.Context,
    person_id: Annotated[str, typer.Argument(help="The person's id")],
    force: ForceOption = None,
) -> None:
    """A person's profile: warning markers first, identity, names, identifiers, addresses,
    links and the timeline of events (audited)."""
    cli = ctx.obj
    out = cli.console
    with cli.ready_database().unit_of_work() as session:
        profile = person_reads.person_profile(session, cli.actor(_force(session, force)), person_id, cli.clock)
        person = profile.person
        for m in profile.current_markers:
            out.print(
                f"WARNING {m.kind.upper()}: {m.reason} (since {m.from_date:%d/%m/%Y})", highlight=False, markup=False
            )
        out.print(pole.label(person), highlight=False, markup=False)
        details = [
            ("gender", person.gender),
            ("ethnicity", person.self_defined_ethnicity),
            ("officer ethnicity", person.officer_ethnicity),
            ("born in", person.birth_place),
            ("marking", person.marking),
            ("retention group", f"{person.retention_group}, review {person.review_at or '-'}"),
        ]
        for name, value in details:
            if value:
                out.print(f"{name}: {value}", highlight=False, markup=False)
        for n in profile.names[1:]:
            out.print(f"{n.kind}: {n.family_name.upper()}, {n.given_names}", highlight=False, markup=False)
        for i in profile.identifiers:
            out.print(f"{i.kind}: {i.value}", highlight=False, markup=False)
        for address, location in profile.addresses:
            dates = f" ({address.from_date or '?'} to {address.to_date or 'now'})" if address.from_date else ""
            out.print(f"address ({address.kind}): {pole.label(location)}{dates}", highlight=False, markup=False)
        for m in profile.past_markers:
            out.print(f"past marker {m.kind}: {m.reason} ({m.from_date} to {m.to_date})", highlight=False, markup=False)
        for view in profile.links:
            arrow = f"{view.link.role} ->" if view.outgoing else f"<- {view.link.role}"
            out.print(f"link {view.link.id}: {arrow} {view.other_label}", highlight=False, markup=False)
        for entry in profile.timeline:
            moment = entry.event.occurred_from or entry.event.reported_at
            out.print(f"{moment:%Y-%m-%d}  {entry.role}  {pole.label(entry.event)}", highlight=False, markup=False)


@link_app.command("add")
def link_add(
    ctx: typer.Context,
    from_record: Annotated[str, typer.Argument(help="TYPE:ID, e.g. person:3f2a...")],
    role: Annotated[str, typer.Argument(help="suspect, victim, witness, keeper, resides_at, associate_of...")],
    to_record: Annotated[str, typer.Argument(help="TYPE:ID, e.g. event:9c1b...")],
    from_date: Annotated[str | None, typer.Option(help="From (YYYY-MM-DD)")] = None,
    to_date: Annotated[str | None, typer.Option(help="To (YYYY-MM-DD)")] = None,
    note: Annotated[str | None, typer.Option(help="A note on the link")] = None,
    force: ForceOption = None,
) -> None:
    """Link two records of the force with a role."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        made = pole.link(
            session,
            cli.actor(_force(session, force)),
            _ref(from_record),
            role,
            _ref(to_record),
            cli.clock,
            from_date=_date(from_date, "--from-date"),
            to_date=_date(to_date, "--to-date"),
            note=note,
        )
    cli.console.print(f"linked {made.from_type}:{made.from_id} {made.role} {made.to_type}:{made.to_id} ({made.id})")


@link_app.command("remove")
def link_remove(
    ctx: typer.Context,
    link_id: Annotated[str, typer.Argument(help="The link's id")],
    reason: Annotated[str | None, typer.Option(help="Why (kept in the audit log)")] = None,
    force: ForceOption = None,
) -> None:
    """Remove a link made in error (the audit log keeps what it was)."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        pole.unlink(session, cli.actor(_force(session, force)), link_id, cli.clock, reason=reason)
    cli.console.print(f"removed link {link_id}")


def _date(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


@location_app.command("add")
def location_add(
    ctx: typer.Context,
    line1: Annotated[str, typer.Option(help="First address line")] = "",
    line2: Annotated[str, typer.Option(help="Second address line")] = "",
    town: Annotated[str, typer.Option(help="Town")] = "",
    postcode: Annotated[str, typer.Option(help="UK postcode")] = "",
    lat: Annotated[float | None, typer.Option(help="Latitude (WGS84)")] = None,
    lon: Annotated[float | None, typer.Option(help="Longitude (WGS84)")] = None,
    uprn: Annotated[str | None, typer.Option(help="Unique Property Reference Number")] = None,
    force: ForceOption = None,
) -> None:
    """Record an address or place."""
    cli = ctx.obj
    command = pole.NewLocation(line1=line1, line2=line2, town=town, postcode=postcode, lat=lat, lon=lon, uprn=uprn)
    with cli.ready_database().unit_of_work() as session:
        location = pole.add_location(session, cli.actor(_force(session, force)), command, cli.clock)
    cli.console.print(f"added location {location.id}: {pole.label(location)}", highlight=False, markup=False)


@object_app.command("add")
def object_add(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="vehicle, phone, property, weapon or document")],
    vrm: Annotated[str | None, typer.Option(help="Vehicle registration mark")] = None,
    make: Annotated[str | None, typer.Option(help="Vehicle make")] = None,
    model: Annotated[str | None, typer.Option(help="Vehicle model")] = None,
    colour: Annotated[str | None, typer.Option(help="Colour")] = None,
    vin: Annotated[str | None, typer.Option(help="Vehicle identification number (17 characters)")] = None,
    phone: Annotated[str | None, typer.Option(help="Phone number")] = None,
    imei: Annotated[str | None, typer.Option(help="IMEI (15 digits)")] = None,
    description: Annotated[str | None, typer.Option(help="What it is")] = None,
    serial_number: Annotated[str | None, typer.Option(help="Serial number")] = None,
    force: ForceOption = None,
) -> None:
    """Record a vehicle, phone, item of property, weapon or document."""
    cli = ctx.obj
    command = pole.NewObject(
        kind=kind,
        vrm=vrm,
        make=make,
        model=model,
        colour=colour,
        vin=vin,
        phone_number=phone,
        imei=imei,
        description=description,
        serial_number=serial_number,
    )
    with cli.ready_database().unit_of_work() as session:
        record = pole.add_object(session, cli.actor(_force(session, force)), command, cli.clock)
    cli.console.print(f"added {record.kind} {record.id}: {pole.label(record)}", highlight=False, markup=False)


@event_app.command("add")
def event_add(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="incident, stop_search, missing_person or custody")],
    summary: Annotated[str, typer.Option(help="What happened, in a line")],
    narrative: Annotated[str, typer.Option(help="The full account")] = "",
    location_id: Annotated[str | None, typer.Option(help="Where (a location id)")] = None,
    incident_id: Annotated[str | None, typer.Option(help="The command-and-control incident (its id)")] = None,
    force: ForceOption = None,
) -> None:
    """Record an event (crimes and intelligence reports have their own commands)."""
    cli = ctx.obj
    command = pole.NewEvent(
        kind=kind, summary=summary, narrative=narrative, location_id=location_id, incident_id=incident_id
    )
    with cli.ready_database().unit_of_work() as session:
        event = pole.add_event(session, cli.actor(_force(session, force)), command, cli.clock)
    cli.console.print(f"added {event.reference} ({event.id})", highlight=False, markup=False)


@app.command("graph")
def graph(
    ctx: typer.Context,
    record: Annotated[str, typer.Argument(help="TYPE:ID, e.g. person:3f2a...")],
    format: Annotated[str, typer.Option("--format", help="graphml or csv")] = "graphml",
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write to this file (default: print)")] = None,
    depth: Annotated[int, typer.Option(help="1 or 2 links deep")] = link_chart.MAX_DEPTH,
    force: ForceOption = None,
) -> None:
    """Export a record's link chart (associations to depth 2) as GraphML or CSV (audited)."""
    cli = ctx.obj
    if format not in ("graphml", "csv"):
        raise InvalidInput(f"--format is graphml or csv, not {format!r}")
    target = _ref(record)
    with cli.ready_database().unit_of_work() as session:
        found = link_chart.associations(
            session,
            cli.actor(_force(session, force)),
            target.type,
            target.id,
            clock=cli.clock,
            depth=depth,
            export=format,
        )
    text = link_chart.to_graphml(found) if format == "graphml" else link_chart.to_csv(found)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        note = " (truncated)" if found.truncated else ""
        cli.console.print(f"wrote {len(found.nodes)} records and {len(found.edges)} links to {output}{note}")
    else:
        print(text, end="")
