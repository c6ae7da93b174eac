"""The monthly publication: a force's street-level crimes, outcomes and stops and searches
of one month, built from its own records in data.police.uk's exact form, anonymised.

Decisions this module makes (issue 8, deliverable 3):

- **What is published**: crimes by the month they were *recorded* (local time), each with
  its data.police.uk category and its latest outcome (``Under investigation`` until it has
  one); an outcome row for each crime whose outcome was set in the month; every stop and
  search of the month; and anti-social behaviour: the force's closed command incidents
  whose category is of the NSIR anti-social behaviour family (not merged, and not closed
  as a false report, a duplicate, a transfer or with a crime recorded, which is published
  as the crime). Disposed records (MoPI) are no longer held and are not published.
- **No personal data**: no names, references, narratives, summaries, officers or times
  finer than the minute; nothing of a crime but its category, month, map point and outcome.
- **Crime ID** (``persistent_id``): HMAC-SHA256 under the platform's secret key of the
  force id and the crime's event id: 64 hex digits, the same for a crime in every month
  and every file, and not reversible without the key. (Changing ``BLUELAMP_SECRET_KEY``
  changes every Crime ID from the next publication on.)
- **Withheld categories** (the force's ``withheld_categories``) are left out entirely,
  with their outcomes; the report counts them.
- **Locations** are the nearest of the force's anonymous map points (points.py), built
  from its address base (location records with a point and an address); a record with no
  location is published without one (``crimes-no-location``). Points are kept from one
  publication to the next while their addresses are unchanged (same id, same place);
  points no published row stands on any more are removed.
- **The month is replaced whole**, in the caller's transaction: the force's rows of the
  month in the three tables and its months-loaded rows; a month imported from a
  data.police.uk archive is not overwritten (``opendata.month_imported``). Earlier
  published months' street rows take the latest outcome of their crimes, as
  data.police.uk's do.
- **Files**: ``OUT/YYYY-MM/YYYY-MM-<force>-street.csv``, ``-outcomes.csv`` and
  ``-stop-and-search.csv``, with the archive's exact headers (written by ``export``, as an
  export of the month is), written whole to a temporary name and then renamed, so a reader
  never sees half a file.
- Only a month that is over can be published.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import LONDON, Clock
from bluelamp.command.config import Family, command_settings
from bluelamp.errors import CATALOGUE, Conflict, InvalidInput, NotFound
from bluelamp.opendata import export, vocabulary
from bluelamp.opendata.config import opendata_settings
from bluelamp.opendata.model import FileKind, Month, Origin, Point, Stop, StreetCrime
from bluelamp.opendata.model import Outcome as OutcomeRow
from bluelamp.opendata.publication import points as map_points
from bluelamp.opendata.publication import queries, writes
from bluelamp.records import classification

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    ("opendata.month_not_over", InvalidInput, "Only a month that is over can be published."),
    (
        "opendata.month_imported",
        Conflict,
        "The force's month was imported from a data.police.uk archive; publishing would overwrite it.",
    ),
]:
    CATALOGUE.register(_code, _kind, _meaning)

ASB = "anti-social-behaviour"
UNDER_INVESTIGATION = "under-investigation"
# Incidents closed this way are not anti-social behaviour to publish: no ASB happened, it
# is counted elsewhere, or it is published as the crime recorded from it.
NOT_PUBLISHED_RESULTS = ("false_report", "duplicate", "transferred", "crime_recorded")

Progress = Callable[[str, int, int], None]


@dataclass
class PublishReport:
    """What a publication published, withheld and wrote."""

    force_id: str
    month: int
    published_name: str
    crimes: int = 0  # street rows that are crimes
    anti_social_behaviour: int = 0  # street rows that are anti-social behaviour
    outcomes: int = 0
    stops: int = 0
    no_location: dict[str, int] = field(default_factory=dict)  # file kind -> rows published without a location
    withheld: dict[str, int] = field(default_factory=dict)  # category -> crimes (and ASB) withheld
    withheld_outcomes: int = 0
    addresses: int = 0  # distinct addresses in the force's address base
    points: int = 0  # map points of the publication
    points_added: int = 0
    points_kept: int = 0
    points_removed: int = 0
    replaced: bool = False  # an earlier publication of the month was replaced
    earlier_outcomes_updated: int = 0
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def street_rows(self) -> int:
        return self.crimes + self.anti_social_behaviour


# ---------------------------------------------------------------- small rules


def persistent_id(secret_key: str, force_id: str, event_id: str) -> str:
    """A crime's public Crime ID: HMAC-SHA256 of force and event ids (64 lower-case hex)."""
    return hmac.new(secret_key.encode(), f"{force_id}:{event_id}".encode(), hashlib.sha256).hexdigest()


def month_bounds(month: int) -> tuple[datetime, datetime]:
    """The month's first moment and the next month's, on the Europe/London clock, in UTC."""
    year, number = divmod(month, 100)
    after = (year + 1, 1) if number == 12 else (year, number + 1)
    start = datetime(year, number, 1, tzinfo=LONDON).astimezone(UTC)
    end = datetime(after[0], after[1], 1, tzinfo=LONDON).astimezone(UTC)
    return start, end


def month_of(moment: datetime) -> int:
    """The month (YYYYMM, Europe/London) a moment falls in."""
    local = moment.astimezone(LONDON) if moment.tzinfo else moment.replace(tzinfo=UTC).astimezone(LONDON)
    return local.year * 100 + local.month


def _outcome_name(code: str) -> str:
    return vocabulary.OUTCOME_CATEGORIES[code]


def published_outcome(outcome_code: str | None) -> str | None:
    """The data.police.uk outcome category (code) a Home Office outcome is published as."""
    found = classification.outcome(outcome_code) if outcome_code else None
    return found.police_uk if found is not None else None


def _stop_time(moment: datetime) -> str:
    """As the archives give it: UTC, to the minute, ``2016-11-01T14:40:00+00:00``."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%S+00:00")


# ---------------------------------------------------------------- the map points


@dataclass
class _Points:
    rows: list[Point]  # the publication's points, with their ids
    snapper: map_points.Snapper

    def at(self, places: list[tuple[float | None, float | None]]) -> list[Point | None]:
        return [None if i is None else self.rows[i] for i in self.snapper.nearest(places)]


def _map_points(
    session: Session,
    force_id: str,
    minimum: int,
    avoid: list[tuple[float, float]],
    report: PublishReport,
) -> _Points:
    """The force's points for this publication: existing rows kept where unchanged, new
    ones added (points no longer wanted are removed once the month's rows are replaced)."""
    addresses = [
        map_points.Address(
            key=map_points.address_key(row.line1, row.line2, row.postcode, row.uprn),
            street=map_points.street_of(row.line1, row.line2),
            town=row.town or (row.postcode.split(" ")[0] if row.postcode else ""),
            lat=row.lat,
            lon=row.lon,
        )
        for row in queries.addresses(session, force_id)
    ]
    report.addresses = len(map_points.distinct(addresses))
    wanted = map_points.build_points(addresses, minimum, avoid)
    existing = {
        (p.street_name, round(p.lat, 6), round(p.lon, 6)): p for p in queries.published_points(session, force_id)
    }
    rows, added = [], []
    for point in wanted:
        found = existing.pop((point.name, point.lat, point.lon), None)
        if found is None:
            found = Point(
                force_id=force_id,
                lat=point.lat,
                lon=point.lon,
                street_name=point.name,
                origin=Origin.PUBLISH.value,
                households=point.households,
            )
            added.append(found)
        else:
            found.households = point.households
        rows.append(found)
    writes.add_points(session, added)
    report.points, report.points_added, report.points_kept = len(rows), len(added), len(rows) - len(added)
    if not rows:
        report.notes.append(
            f"the address base holds {report.addresses} addresses, fewer than the minimum of {minimum} a map point "
            "must cover: every record is published without a location"
        )
    return _Points(rows, map_points.Snapper([(p.lat, p.lon) for p in rows]))


def _remove_unused_points(session: Session, force_id: str, kept: list[Point], report: PublishReport) -> None:
    wanted = {p.id for p in kept}
    in_use = queries.points_in_use(session, force_id)
    unused = [p.id for p in queries.published_points(session, force_id) if p.id not in wanted and p.id not in in_use]
    report.points_removed = writes.remove_points(session, unused)


# ---------------------------------------------------------------- building the rows


def _located(point: Point | None) -> dict[str, Any]:
    if point is None:
        return {"lat": None, "lon": None, "location_id": None, "street_name": ""}
    return {"lat": point.lat, "lon": point.lon, "location_id": point.id, "street_name": point.street_name}


def _street_rows(
    session: Session,
    force_id: str,
    month: int,
    secret_key: str,
    names: dict[str, str],
    withheld: set[str],
    points: _Points,
    asb_places: list[tuple[float, float]],
    report: PublishReport,
) -> list[dict[str, Any]]:
    start, end = month_bounds(month)
    crimes = queries.crimes_recorded(session, force_id, start, end)
    kept = []
    for crime in crimes:
        if crime.category in withheld:
            report.withheld[crime.category] = report.withheld.get(crime.category, 0) + 1
        else:
            kept.append(crime)
    common = {"force_id": force_id, "month": month, "origin": Origin.PUBLISH.value, "context": ""}
    common |= {"lsoa_code": "", "lsoa_name": "", "location_subtype": "", **names}
    rows = []
    for crime, point in zip(kept, points.at([(c.lat, c.lon) for c in kept]), strict=True):
        outcome = published_outcome(crime.outcome_code) if crime.outcome_at is not None else None
        rows.append(
            {
                **common,
                **_located(point),
                "persistent_id": persistent_id(secret_key, force_id, crime.event_id),
                "category": crime.category,
                "outcome_category": _outcome_name(outcome or UNDER_INVESTIGATION),
                "outcome_month": month_of(crime.outcome_at) if outcome else month,
                "location_type": "Force" if point is not None else None,
            }
        )
    report.crimes = len(rows)
    if ASB in withheld:
        if asb_places:
            report.withheld[ASB] = len(asb_places)
        asb_places = []
    for point in points.at(list(asb_places)):
        rows.append(
            {
                **common,
                **_located(point),
                "persistent_id": "",
                "category": ASB,
                "outcome_category": None,
                "outcome_month": None,
                "location_type": "Force" if point is not None else None,
            }
        )
    report.anti_social_behaviour = len(asb_places)
    report.no_location[FileKind.STREET.value] = sum(1 for r in rows if r["location_id"] is None)
    return rows


def _outcome_rows(
    session: Session,
    force_id: str,
    month: int,
    secret_key: str,
    names: dict[str, str],
    withheld: set[str],
    points: _Points,
    report: PublishReport,
) -> list[dict[str, Any]]:
    start, end = month_bounds(month)
    found = []
    for crime in queries.crimes_with_outcome(session, force_id, start, end):
        code = published_outcome(crime.outcome_code)
        if code is None:
            continue  # an outcome with no data.police.uk category (NFIB filed: fraud only)
        if crime.category in withheld:
            report.withheld_outcomes += 1
            continue
        found.append((crime, code))
    rows = []
    for (crime, code), point in zip(found, points.at([(c.lat, c.lon) for c, _ in found]), strict=True):
        rows.append(
            {
                "force_id": force_id,
                "month": month,
                "persistent_id": persistent_id(secret_key, force_id, crime.event_id),
                "category_code": code,
                "lsoa_code": "",
                "lsoa_name": "",
                "origin": Origin.PUBLISH.value,
                **names,
                **_located(point),
            }
        )
    report.outcomes = len(rows)
    report.no_location[FileKind.OUTCOMES.value] = sum(1 for r in rows if r["location_id"] is None)
    return rows


def _stop_rows(session: Session, force_id: str, month: int, points: _Points, report: PublishReport) -> list[dict]:
    start, end = month_bounds(month)
    found = queries.stops(session, force_id, start, end)
    rows = []
    for stop, point in zip(found, points.at([(s.lat, s.lon) for s in found]), strict=True):
        rows.append(
            {
                "force_id": force_id,
                "month": month,
                "at": _stop_time(stop.occurred_at),
                "type": stop.type,
                "involved_person": stop.type != "Vehicle search",
                "operation": stop.operation_name is not None,
                "operation_name": stop.operation_name,
                "gender": stop.gender,
                "age_range": stop.age_range,
                "self_defined_ethnicity": stop.self_defined_ethnicity,
                "officer_defined_ethnicity": stop.officer_defined_ethnicity,
                "legislation": stop.legislation,
                "object_of_search": stop.object_of_search,
                "outcome": stop.outcome or "",
                "outcome_id": vocabulary.STOP_OUTCOMES.get(stop.outcome),
                "outcome_linked": stop.outcome_linked,
                "removal_of_outer_clothing": stop.removal_of_outer_clothing,
                "origin": Origin.PUBLISH.value,
                **_located(point),
            }
        )
    report.stops = len(rows)
    report.no_location[FileKind.STOP_AND_SEARCH.value] = sum(1 for r in rows if r["location_id"] is None)
    return rows


# ---------------------------------------------------------------- the files


def _as_records(rows: list[dict[str, Any]]) -> list[SimpleNamespace]:
    """The month's rows as the export's CSV writers read them: by attribute, as the tables' rows."""
    return [SimpleNamespace(**row) for row in rows]


def file_names(force_id: str, month: int) -> dict[FileKind, str]:
    """The archive's names for a force's month: ``2024-01/2024-01-staffordshire-street.csv``..."""
    text = vocabulary.month_text(month)
    return {kind: f"{text}/{text}-{force_id}-{kind.value}.csv" for kind in FileKind}


def _write_files(out_dir: Path, contents: dict[str, bytes]) -> list[Path]:
    """Each file written whole under a temporary name, then renamed into place."""
    written = []
    for name, data in contents.items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.part")
        temporary.write_bytes(data)
        os.replace(temporary, path)
        written.append(path)
    return written


# ---------------------------------------------------------------- publishing


def _asb_categories(force_settings: dict[str, Any]) -> list[str]:
    return [c.code for c in command_settings(force_settings.get("command")).categories if c.family == Family.ASB]


def publish(
    session: Session,
    actor: Actor,
    force_id: str,
    month: int,
    out_dir: Path | str | None,
    clock: Clock,
    *,
    secret_key: str,
    progress: Progress | None = None,
) -> PublishReport:
    """Publish a force's month: build its street crimes (with anti-social behaviour),
    outcomes and stops and searches from its records, anonymised (see the module), load
    them into the open-data tables in place of any earlier publication of the month, and
    write the three archive CSVs under ``out_dir`` (none when it is None); audited."""
    require(actor, Action.OPENDATA_PUBLISH)
    step = progress or (lambda stage, done, total: None)
    force = queries.force(session, force_id)
    if force is None or (actor.force_id is not None and actor.force_id != force_id):
        raise NotFound(f"no force {force_id!r}")
    start, end = month_bounds(month)
    if end > clock.now():
        raise InvalidInput(
            f"{vocabulary.month_text(month)} is not over yet: a month is published once it has ended",
            code="opendata.month_not_over",
        )
    loaded = queries.months_loaded(session, force_id, month)
    imported = sorted(m.kind for m in loaded if m.origin != Origin.PUBLISH.value)
    if imported:
        raise Conflict(
            f"{force_id} {vocabulary.month_text(month)} was imported from data.police.uk ({', '.join(imported)}); "
            "publishing would overwrite it",
            code="opendata.month_imported",
            extra={"kinds": imported},
        )
    settings = opendata_settings((force.settings or {}).get("opendata"))
    published_name = settings.published_name or force.name
    names = {"reported_by": published_name, "falls_within": published_name}
    withheld = set(settings.withheld_categories)
    report = PublishReport(force_id, month, published_name, replaced=bool(loaded))
    unknown = sorted(withheld - set(classification.POLICE_UK_CATEGORIES))
    if unknown:
        report.notes.append(f"withheld_categories names {', '.join(unknown)}: not a data.police.uk category slug")

    step("reading the address base", 0, 5)
    asb_categories = _asb_categories(force.settings or {})
    asb_places = queries.asb_incidents(session, force_id, asb_categories, NOT_PUBLISHED_RESULTS, start, end)
    avoid = queries.located_places(session, force_id) + asb_places
    step("placing the map points", 1, 5)
    points = _map_points(session, force_id, settings.min_addresses_per_point, avoid, report)
    step("building the month's rows", 2, 5)
    street = _street_rows(session, force_id, month, secret_key, names, withheld, points, asb_places, report)
    outcomes = _outcome_rows(session, force_id, month, secret_key, names, withheld, points, report)
    stops = _stop_rows(session, force_id, month, points, report)

    step("loading the open-data tables", 3, 5)
    writes.clear_month(session, force_id, month)
    writes.insert_rows(session, StreetCrime, street)
    writes.insert_rows(session, OutcomeRow, outcomes)
    writes.insert_rows(session, Stop, stops)
    contents = {  # the archive's CSVs, written as an export of the month writes them
        FileKind.STREET: export.street_csv(_as_records(street)),
        FileKind.OUTCOMES: export.outcomes_csv(_as_records(outcomes)),
        FileKind.STOP_AND_SEARCH: export.stops_csv(_as_records(stops)),
    }
    counts = {FileKind.STREET: len(street), FileKind.OUTCOMES: len(outcomes), FileKind.STOP_AND_SEARCH: len(stops)}
    now = clock.now()
    for kind, data in contents.items():
        writes.add_month(
            session,
            Month(
                force_id=force_id,
                month=month,
                kind=kind.value,
                origin=Origin.PUBLISH.value,
                rows=counts[kind],
                rejected=0,
                source="publish",
                sha256=hashlib.sha256(data).hexdigest(),
                loaded_at=now,
                loaded_by=actor.username,
            ),
        )
    latest = {r["persistent_id"]: (_outcome_name(r["category_code"]), month) for r in outcomes}
    report.earlier_outcomes_updated = writes.update_last_outcomes(session, force_id, month, latest)
    _remove_unused_points(session, force_id, points.rows, report)
    if not asb_categories:
        report.notes.append("the force's command categories have no anti-social behaviour family: no ASB published")

    step("writing the files", 4, 5)
    if out_dir is not None:
        names_of = file_names(force_id, month)
        report.files = _write_files(Path(out_dir), {names_of[kind]: data for kind, data in contents.items()})
    audit.append(
        session,
        actor,
        Audit(
            "opendata.publish",
            detail={
                "force_id": force_id,
                "month": vocabulary.month_text(month),
                "crimes": report.crimes,
                "anti_social_behaviour": report.anti_social_behaviour,
                "outcomes": report.outcomes,
                "stops": report.stops,
                "withheld": dict(sorted(report.withheld.items())),
                "withheld_outcomes": report.withheld_outcomes,
                "points": report.points,
                "replaced": report.replaced,
                "files": [str(p) for p in report.files],
            },
        ),
        clock,
    )
    step("done", 5, 5)
    return report


def withheld_summary(report: PublishReport) -> str:
    """``violent-crime 3, drugs 1`` (most first), or ``none``."""
    counts = Counter(report.withheld)
    return ", ".join(f"{category} {n}" for category, n in counts.most_common()) or "none"
