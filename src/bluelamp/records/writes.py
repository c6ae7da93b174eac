"""Bulk writes of persons at SQLAlchemy Core / driver level (the synthetic generator's
loader): one ``executemany`` per table per batch, never a statement per person."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from bluelamp.access.policy import Marking
from bluelamp.records import names
from bluelamp.records.model import Location, NameKind

if TYPE_CHECKING:
    from bluelamp.records.synthetic import SyntheticPerson

PERSON_COLUMNS = (
    "id",
    "force_id",
    "marking",
    "need_to_know",
    "retention_group",
    "review_at",
    "given_names",
    "family_name",
    "dob_year",
    "dob_month",
    "dob_day",
    "gender",
    "description",
    "created_at",
    "created_by",
    "updated_at",
)
NAME_COLUMNS = (
    "force_id",
    "person_id",
    "kind",
    "given_names",
    "family_name",
    "given_norm",
    "family_norm",
    "given_key",
    "family_key",
    "dob_year",
)
ADDRESS_COLUMNS = ("force_id", "person_id", "location_id", "kind")
LOCATION_COLUMNS = (
    "id",
    "force_id",
    "marking",
    "need_to_know",
    "line1",
    "line2",
    "town",
    "postcode",
    "postcode_norm",
    "created_at",
    "created_by",
)
REVIEW_AFTER_YEARS = 6  # MoPI group 3 ("all other") records: first review six years on


def _sqlite_time(moment: datetime) -> str:
    """A UTC time in the text form SQLAlchemy's SQLite DateTime stores and reads back."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(" ", "microseconds")


def _insert(connection, table: str, columns: tuple[str, ...], rows: list[tuple], casts: dict[str, str] | None = None):
    if not rows:
        return
    if connection.dialect.name == "sqlite":
        marks = ", ".join("?" for _ in columns)
    else:
        marks = ", ".join(f"CAST(%s AS {casts[c]})" if casts and c in casts else "%s" for c in columns)
    connection.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def _review_date(now: datetime) -> date:
    day = now.date()
    return day.replace(year=day.year + REVIEW_AFTER_YEARS, day=min(day.day, 28))


def location_ids(connection, force_id: str, postcodes_norm: list[str]) -> dict[str, str]:
    """Existing locations of a force by normalised postcode (the first found for each)."""
    found: dict[str, str] = {}
    for start in range(0, len(postcodes_norm), 500):
        chunk = postcodes_norm[start : start + 500]
        query = select(Location.postcode_norm, Location.id).where(
            Location.force_id == force_id, Location.postcode_norm.in_(chunk)
        )
        for postcode_norm, location_id in connection.execute(query):
            found.setdefault(postcode_norm, location_id)
    return found


def insert_locations(connection, rows: list[tuple], now: datetime, created_by: str) -> None:
    """New locations from (id, force_id, postcode, postcode_norm, town) tuples."""
    sqlite = connection.dialect.name == "sqlite"
    at = _sqlite_time(now) if sqlite else now
    marking = Marking.OFFICIAL.value
    full = [(i, f, marking, False, "", "", town, pc, norm, at, created_by) for i, f, pc, norm, town in rows]
    _insert(connection, "records_location", LOCATION_COLUMNS, full)


def insert_persons(
    connection,
    force_id: str,
    persons: list[SyntheticPerson],
    locations: dict[str, str],
    now: datetime,
    created_by: str,
) -> None:
    """Persons, their name rows with keys (and part rows for double-barrelled family names)
    and their home address rows."""
    sqlite = connection.dialect.name == "sqlite"
    at = _sqlite_time(now) if sqlite else now
    review = _review_date(now)
    review_at = review.isoformat() if sqlite else review
    marking = Marking.OFFICIAL.value
    description = json.dumps({})
    primary, part = NameKind.PRIMARY.value, names.PART_KIND
    keys, part_keys = names.keys, names.part_keys
    person_rows, name_rows, address_rows = [], [], []
    for p in persons:
        person_rows.append(
            (p.id, force_id, marking, False, "3", review_at, p.given_names, p.family_name)
            + (p.dob_year, p.dob_month, p.dob_day, p.gender, description, at, created_by, at)
        )
        k = keys(p.given_names, p.family_name)
        name_rows.append(
            (force_id, p.id, primary, p.given_names, p.family_name)
            + (k.given_norm, k.family_norm, k.given_key, k.family_key, p.dob_year)
        )
        if " " in k.family_norm:
            for pk in part_keys(p.given_names, p.family_name):
                name_rows.append(
                    (force_id, p.id, part, p.given_names, p.family_name)
                    + (pk.given_norm, pk.family_norm, pk.given_key, pk.family_key, p.dob_year)
                )
        location_id = locations.get("".join(p.postcode.split()).upper())
        if location_id is not None:
            address_rows.append((force_id, p.id, location_id, "home"))
    _insert(connection, "records_person", PERSON_COLUMNS, person_rows, casts={"description": "jsonb"})
    _insert(connection, "records_person_name", NAME_COLUMNS, name_rows)
    _insert(connection, "records_person_address", ADDRESS_COLUMNS, address_rows)
