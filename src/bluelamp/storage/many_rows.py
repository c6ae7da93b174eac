"""Many rows a statement on SQLite: ``INSERT ... VALUES (...), (...), ...`` (or any SQL
built for a number of rows), run as a few statements of fixed sizes that are compiled once
each, instead of ``executemany``'s one step a row.

Fewer steps are quicker, and each statement runs without the GIL for long enough that
another thread (request parsing, an import's CSV parsing) gets real work done meanwhile;
``executemany`` gives the GIL back after every row and then waits up to a switch interval
to get it back. Used by the tracking trail writer and the open-data import."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import chain

_variable_limit: list[int] = []  # SQLite's bound-parameter limit, read once


def rows_per_statement(dbapi_connection: object, columns: int, wanted: int) -> int:
    """``wanted``, or fewer if the SQLite library allows fewer bound parameters than
    ``wanted`` rows of ``columns`` need (999 before SQLite 3.32, 32,766 since, unless built
    otherwise)."""
    if not _variable_limit:
        try:
            limit = dbapi_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)  # type: ignore[attr-defined]
        except (AttributeError, sqlite3.Error):
            limit = 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999
        _variable_limit.append(limit)
    return max(1, min(wanted, _variable_limit[0] // columns))


def statement_sizes(count: int, largest: int) -> list[int]:
    """``count`` rows as statement sizes: as many of ``largest`` as fit, then powers of two
    (so that few distinct statements are ever compiled)."""
    sizes = [largest] * (count // largest)
    rest = count % largest
    bit = 1 << rest.bit_length()
    while rest:
        bit >>= 1
        if rest & bit:
            sizes.append(bit)
            rest ^= bit
    return sizes


@lru_cache(maxsize=256)
def insert_sql(table: str, columns: tuple[str, ...], rows: int) -> str:
    """``INSERT INTO table (columns) VALUES (?, ...), ...`` for ``rows`` rows (qmark style)."""
    marks = "(" + ", ".join("?" for _ in columns) + ")"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ", ".join([marks] * rows)


def run(
    execute: Callable[[str, tuple], object], sql_for: Callable[[int], str], rows: Sequence[tuple], per: int
) -> None:
    """Run ``sql_for(size)`` over ``rows`` in statements of at most ``per`` rows, with
    ``execute(sql, flat parameters)`` (a sqlite3 connection's ``execute``, or a SQLAlchemy
    connection's ``exec_driver_sql``)."""
    start = 0
    for size in statement_sizes(len(rows), per):
        execute(sql_for(size), tuple(chain.from_iterable(rows[start : start + size])))
        start += size
