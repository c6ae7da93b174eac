"""The dedupe job's input: a force's live persons (not merged away, not disposed), every
name they are known by and their open addresses, streamed from the database in batches
(plain tuples, never a million ORM objects) into an in-process DuckDB database and joined
there into ``dedupe_input``, one row per name.

Decisions this module makes (issue 6):

- **One input row per name, not per person.** Aliases, previous names and the search-only
  rows for the parts of a double-barrelled family name (``names.PART_KIND``) are rows of
  their own, carrying their person's date of birth and postcode; blocking never pairs two
  rows of one person, and a pair of persons scores as its best pair of names. So "Smith"
  meets "Smith-Jones" through the SMITH part and a maiden name held as a previous name
  meets the record made under it, with no comparison written for either.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bluelamp.access.policy import Actor
from bluelamp.records import names
from bluelamp.records.duplicates import queries
from bluelamp.records.duplicates.progress import Progress, quiet

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


BATCH = 50_000  # rows read from the database per batch


RAW_TABLES = {
    "raw_persons": "person_id VARCHAR, dob_year INTEGER, dob_month INTEGER, dob_day INTEGER, gender VARCHAR",
    "raw_names": "name_id BIGINT, person_id VARCHAR, kind VARCHAR, given_norm VARCHAR, family_norm VARCHAR, "
    "given_key VARCHAR, family_key VARCHAR",
    "raw_addresses": "person_id VARCHAR, postcode VARCHAR, kind VARCHAR, from_date DATE",
}


INPUT_SQL = """
CREATE OR REPLACE TABLE dedupe_input AS
WITH home AS (
    SELECT person_id, postcode FROM (
        SELECT person_id, postcode,
               row_number() OVER (PARTITION BY person_id ORDER BY (kind = 'home') DESC, from_date DESC NULLS LAST)
                   AS n
        FROM raw_addresses WHERE postcode IS NOT NULL AND postcode <> ''
    ) WHERE n = 1
),
named AS (
    SELECT n.name_id, n.person_id, n.kind, n.given_norm, n.family_norm, n.given_key, n.family_key,
           split_part(n.given_norm, ' ', 1) AS first_given
    FROM raw_names n
)
SELECT
    n.name_id AS unique_id,
    n.person_id,
    n.kind,
    nullif(n.first_given, '') AS given,
    nullif(trim(substr(n.given_norm, length(n.first_given) + 2)), '') AS middle,
    nullif(n.family_norm, '') AS family,
    nullif(n.given_key, '') AS given_key,
    nullif(n.family_key, '') AS family_key,
    nick.equivalents AS given_nicks,
    nullif(left(n.first_given, 1), '') AS given_initial,
    nullif(left(n.family_norm, 1), '') AS family_initial,
    p.dob_year, p.dob_month, p.dob_day,
    CASE WHEN p.dob_year IS NOT NULL AND p.dob_month IS NOT NULL AND p.dob_day IS NOT NULL
         THEN printf('%04d-%02d-%02d', p.dob_year, p.dob_month, p.dob_day) END AS dob,
    nullif(lower(p.gender), '') AS gender,
    h.postcode,
    CASE WHEN length(h.postcode) >= 5 THEN left(h.postcode, length(h.postcode) - 2) END AS postcode_sector,
    CASE WHEN length(h.postcode) >= 5 THEN left(h.postcode, length(h.postcode) - 3) END AS postcode_district
FROM named n
JOIN raw_persons p ON p.person_id = n.person_id
LEFT JOIN home h ON h.person_id = n.person_id
LEFT JOIN nicknames nick ON nick.name = n.first_given
"""


def new_connection():
    """An in-process DuckDB database for one job, using every core."""
    import duckdb

    connection = duckdb.connect(":memory:")
    connection.execute(f"SET threads = {os.cpu_count() or 1}")
    connection.execute("SET preserve_insertion_order = false")
    return connection


def create_tables(connection) -> None:
    """The raw tables rows are streamed into, and the nickname table."""
    import pyarrow as pa

    for name, columns in RAW_TABLES.items():
        connection.execute(f"CREATE OR REPLACE TABLE {name} ({columns})")
    table = names.nickname_table()
    nick = pa.table(
        {"name": list(table), "equivalents": ["|" + "|".join(sorted(v)) + "|" for v in table.values()]},
        schema=pa.schema([("name", pa.string()), ("equivalents", pa.string())]),
    )
    connection.register("nicknames_arrow", nick)
    connection.execute("CREATE OR REPLACE TABLE nicknames AS SELECT * FROM nicknames_arrow")
    connection.unregister("nicknames_arrow")


def append_rows(connection, table: str, rows: Sequence[Sequence[Any]]) -> int:
    """Append one batch of tuples to a raw table (columnar, through Arrow)."""
    import pyarrow as pa

    if not rows:
        return 0
    columns = [c.split() for c in RAW_TABLES[table].split(", ")]
    arrow = pa.table({name: list(values) for (name, _), values in zip(columns, zip(*rows, strict=True), strict=True)})
    connection.register("batch_arrow", arrow)
    casts = ", ".join(f"CAST({name} AS {kind})" for name, kind in columns)  # SQLite hands dates over as text
    connection.execute(f"INSERT INTO {table} SELECT {casts} FROM batch_arrow")
    connection.unregister("batch_arrow")
    return len(rows)


def build_input(connection) -> tuple[int, int]:
    """Join the raw tables into ``dedupe_input`` (one row per name); (persons, name rows)."""
    connection.execute(INPUT_SQL)
    return tuple(connection.execute("SELECT count(DISTINCT person_id), count(*) FROM dedupe_input").fetchall()[0])


def extract(session: Session, actor: Actor, connection, *, batch: int = BATCH, progress: Progress = quiet) -> None:
    """Stream the actor's force's live persons, their names and open addresses into DuckDB."""
    create_tables(connection)
    force_id = actor.force_id
    done = 0
    for rows in queries.dedupe_persons(session, actor, batch=batch):
        done += append_rows(connection, "raw_persons", rows)
        progress("reading persons", done, None)
    done = 0
    for rows in queries.dedupe_names(session, force_id, batch=batch):
        done += append_rows(connection, "raw_names", rows)
        progress("reading names", done, None)
    done = 0
    for rows in queries.dedupe_addresses(session, force_id, batch=batch):
        done += append_rows(connection, "raw_addresses", rows)
        progress("reading addresses", done, None)
