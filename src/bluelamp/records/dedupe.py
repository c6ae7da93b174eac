"""Duplicate persons: the dedupe job. It reads a force's live persons (not merged away, not
disposed) with every name they are known by, their date of birth (full or partial) and
current postcode, scores likely pairs with Splink 5 and fills the merge-candidate queue
(``records_merge_candidate``) with each pair's match weight, probability and explanation.

Decisions this module makes (issue 6):

- **One input row per name, not per person.** Aliases, previous names and the search-only
  rows for the parts of a double-barrelled family name (``names.PART_KIND``) are rows of
  their own, carrying their person's date of birth and postcode; blocking never pairs two
  rows of one person, and a pair of persons scores as its best pair of names. So "Smith"
  meets "Smith-Jones" through the SMITH part and a maiden name held as a previous name
  meets the record made under it, with no comparison written for either.
- **Comparisons for what a plain setup (first name, surname, date of birth, postcode)
  misses**: given and family names each have levels for an exact match (adjusted for how
  common the name is), a nickname (``names.nicknames``: the given name is one the other's
  is commonly used for), the same phonetic key (``names.keys``: Smith/Smyth,
  Stephen/Steven) with or without alike spellings, one edit (Damerau-Levenshtein: a typo,
  two letters swapped, one left out) and Jaro-Winkler similarity; the given name also has
  the two names the wrong way round, exactly or with one of them spelt differently (in one
  comparison only: in both, a swap would count twice); a different family name counts for
  less between two women (maiden and married names). The date of birth has levels for the
  full date, a partial date that agrees as far as it goes (year only, year and month), day
  and month swapped, and two of three parts agreeing (a typo); postcode by full, sector and
  district; middle names and gender. Missing values are null levels: they neither help
  nor count against.
- **Blocking** (``BLOCKING_RULES``): pairs are compared only when they share the date of
  birth and a phonetic key, both initials (or both crossed) or the postcode; the postcode
  and a phonetic key or crossed initials; the year of birth, one phonetic key and the
  other initial (or crossed); both keys crossed; or both keys when either has no date of
  birth. At 1,000,000 generated persons that is 4.3 million pairs holding 97% of the true
  pairs (the plain setup's blocking on names, date of birth or postcode makes 41 million).
- **Training** is unsupervised: u by random sampling, m by expectation maximisation on
  three blocks made mostly of true pairs (same date of birth and postcode; same keys and
  postcode; same keys and date of birth), each estimating what it does not block on; the
  prior (the probability that two random rows match) by EM over every scored pair with m
  and u fixed, rather than by guessing the recall of a deterministic rule.
- **Explanation**: each candidate keeps, per comparison, the level reached (label and
  gamma) and its weight in bits, the frequency adjustment of an exact name match, the
  prior's weight (they add up to the match weight) and the two names that scored best.
- **Writing**: pairs at or above the threshold (``Settings.dedupe_threshold``) replace the
  force's open candidates (those whose persons the runner can see); pairs already decided
  (merged or rejected) are never raised again. The job is audited with its counts.
- **Backends**: DuckDB in process by default; Spark (``Settings.dedupe_backend=spark``)
  for national volumes, which needs ``pyspark`` installed and ``BLUELAMP_SPARK_MASTER``.
  Rows are always streamed from the database in batches (plain tuples, never a million
  ORM objects); the comparisons use SQL both engines run.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.errors import CATALOGUE, ConfigError, FieldProblem, InvalidInput, NotFound
from bluelamp.records import names, queries

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    (
        "config.dedupe_spark",
        ConfigError,
        "The spark dedupe backend needs pyspark installed and BLUELAMP_SPARK_MASTER set.",
    ),
]:
    CATALOGUE.register(_code, _kind, _meaning)

BACKENDS = ("duckdb", "spark")
BATCH = 50_000  # rows read from the database per batch
WRITE_BATCH = 20_000  # candidates written per executemany
U_PAIRS = 2_000_000  # pairs sampled at random to estimate u probabilities (about 2.5 µs each)
EM_PAIRS = 1_000_000  # at most this many blocked pairs in each EM training pass
SEED = 20261128
EVIDENCE_FLOOR = 5.0  # pairs whose comparisons give less than 2^5 to 1 for a match are not kept after scoring
GENDER_ERRORS = 0.01  # the share of true duplicates recorded with a different gender (a slip, or a change)

Progress = Callable[[str, int, int | None], None]


def _quiet(stage: str, done: int, total: int | None) -> None:
    """The default progress callback: say nothing."""


@dataclass
class DedupeRun:
    """What one dedupe job did."""

    force_id: str
    backend: str
    threshold: float
    persons: int = 0
    names: int = 0
    pairs: int = 0  # person pairs scored at or above the threshold
    written: int = 0  # candidates written (pairs not already decided)
    already_decided: int = 0  # pairs found again that were merged or rejected before
    replaced: int = 0  # open candidates of the previous run removed
    prior: float | None = None  # the estimated probability that two random name rows match
    seconds: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------- the model


def _nickname_of(nicks: str, name: str) -> str:
    """SQL: ``name`` is one of the names in ``nicks`` ("|BILL|WILL|WILLIAM|"): a text search,
    cheaper than a list on every one of millions of pairs, and the same in DuckDB and Spark."""
    return f"instr({nicks}, concat('|', {name}, '|')) > 0"


def _swapped_fuzzy_sql(dialect: str) -> str:
    """The two names the wrong way round, one of them the same and the other sounding the
    same, a nickname of it or similar (Jaro-Winkler 0.88)."""
    from splink.internals.dialects import SplinkDialect

    jw = SplinkDialect.from_string(dialect).jaro_winkler_function_name

    def close(a: str, b: str, a_key: str, b_key: str, a_nicks: str) -> str:
        return f"({a_key} = {b_key} OR {jw}({a}, {b}) >= 0.88 OR {_nickname_of(a_nicks, b)})"

    return (
        f"(given_l = family_r AND {close('family_l', 'given_r', 'family_key_l', 'given_key_r', 'given_nicks_r')}) "
        f"OR (family_l = given_r AND {close('given_l', 'family_r', 'given_key_l', 'family_key_r', 'given_nicks_l')})"
    )


# Levels that true duplicates rarely reach (a different date of birth, a middle name
# recorded differently...) start from a stated m: a small force's data may never show EM
# one, and an untrained level would take Splink's default. EM replaces it when it can.
def _name_comparison(column: str, key: str, label: str, dialect: str, *, nickname: bool):
    """Levels for one name column: exact, swapped with the other name, (nickname),
    phonetic key, one edit, Jaro-Winkler, anything else."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    levels = [
        cll.NullLevel(column),
        cll.ExactMatchLevel(column).configure(tf_adjustment_column=column, label_for_charts=f"{label}: same"),
    ]
    if column == "given":  # once only: in both comparisons a swap would count twice
        # So rare between different people that random sampling may not meet one: u starts
        # at "less than once in the sample" and sampling refines it when it does.
        rare = 0.5 / U_PAIRS
        levels += [
            cll.CustomLevel("given_l = family_r AND family_l = given_r").configure(
                label_for_charts="given and family names swapped", u_probability=rare
            ),
            cll.CustomLevel(_swapped_fuzzy_sql(dialect)).configure(
                label_for_charts="names swapped, one spelt differently", u_probability=rare
            ),
        ]
    if nickname:
        levels.append(
            cll.CustomLevel(
                _nickname_of("given_nicks_l", "given_r"), label_for_charts=f"{label}: a nickname of the other"
            )
        )
    # Metaphone is coarse (LISA and LOUISE share LS): the same key counts for most when the
    # spellings are alike too, and on its own (CATHERINE/KATHRYN, LEE/LEIGH) for what EM finds.
    levels += [
        cll.And(cll.ExactMatchLevel(key), cll.JaroWinklerLevel(column, 0.8)).configure(
            label_for_charts=f"{label}: sounds the same"
        ),
        cll.DamerauLevenshteinLevel(column, 1).configure(label_for_charts=f"{label}: one typing slip"),
        cll.JaroWinklerLevel(column, 0.88).configure(label_for_charts=f"{label}: similar", m_probability=0.01),
        cll.ExactMatchLevel(key).configure(
            label_for_charts=f"{label}: sounds alike, spelt differently", m_probability=0.005
        ),
    ]
    if column == "family":
        # Women far more often than men are recorded under another family name (a maiden or
        # married name): a different family name counts for less between two women.
        levels.append(
            cll.CustomLevel("gender_l = 'female' AND gender_r = 'female'").configure(
                label_for_charts="family name: different, both women"
            )
        )
    levels.append(cll.ElseLevel().configure(label_for_charts=f"{label}: different"))
    return cl.CustomComparison(levels, output_column_name=column, comparison_description=label)


def _dob_comparison():
    """Date of birth, full or partial: parts that are unknown on either side do not count."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    y, m, d = "dob_year", "dob_month", "dob_day"
    return cl.CustomComparison(
        [
            cll.CustomLevel(f"{y}_l IS NULL OR {y}_r IS NULL").configure(
                is_null_level=True, label_for_charts="date of birth: unknown"
            ),
            cll.CustomLevel(f"{y}_l = {y}_r AND {m}_l = {m}_r AND {d}_l = {d}_r").configure(
                label_for_charts="date of birth: same"
            ),
            cll.CustomLevel(
                f"{y}_l = {y}_r AND ({m}_l IS NULL OR {m}_r IS NULL "
                f"OR ({m}_l = {m}_r AND ({d}_l IS NULL OR {d}_r IS NULL)))"
            ).configure(label_for_charts="date of birth: partial, agrees as far as known"),
            cll.CustomLevel(f"{y}_l = {y}_r AND {m}_l = {d}_r AND {d}_l = {m}_r").configure(
                label_for_charts="date of birth: day and month swapped"
            ),
            # A typing slip in one part: too rare in most data for EM to learn, so its m is
            # stated (2% of true pairs), not trained.
            cll.CustomLevel(
                f"({y}_l = {y}_r AND {m}_l = {m}_r) OR ({y}_l = {y}_r AND {d}_l = {d}_r) "
                f"OR ({m}_l = {m}_r AND {d}_l = {d}_r)"
            ).configure(
                label_for_charts="date of birth: two of three parts agree", m_probability=0.02, fix_m_probability=True
            ),
            cll.ElseLevel().configure(label_for_charts="date of birth: different", m_probability=0.002),
        ],
        output_column_name="dob",
        comparison_description="date of birth",
    )


def _postcode_comparison():
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        [
            cll.NullLevel("postcode").configure(label_for_charts="postcode: unknown"),
            cll.ExactMatchLevel("postcode").configure(label_for_charts="postcode: same"),
            cll.ExactMatchLevel("postcode_sector").configure(
                label_for_charts="postcode: same sector", m_probability=0.002
            ),
            cll.ExactMatchLevel("postcode_district").configure(
                label_for_charts="postcode: same district", m_probability=0.01
            ),
            cll.ElseLevel().configure(label_for_charts="postcode: different"),
        ],
        output_column_name="postcode",
        comparison_description="postcode",
    )


def _simple_comparison(column: str, label: str, *, error_rate: float | None = None, frequency_adjusted: bool = False):
    """Same or different; with ``error_rate``, m is fixed at that share of true pairs
    recorded differently (EM would otherwise learn "never", an infinite penalty); with
    ``frequency_adjusted``, the same rare value counts for more than the same common one."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    same = cll.ExactMatchLevel(column).configure(label_for_charts=f"{label}: same")
    if frequency_adjusted:
        same.configure(tf_adjustment_column=column)
    different = cll.ElseLevel().configure(label_for_charts=f"{label}: different", m_probability=0.001)
    if error_rate is not None:
        same.configure(m_probability=1 - error_rate, fix_m_probability=True)
        different.configure(m_probability=error_rate, fix_m_probability=True)
    return cl.CustomComparison(
        [
            cll.NullLevel(column).configure(label_for_charts=f"{label}: unknown"),
            same,
            different,
        ],
        output_column_name=column,
        comparison_description=label,
    )


# Blocking rules: SQL over the left (l) and right (r) rows; two rows of one person never pair.
# Each is tight (a full date of birth, a postcode or a year of birth with a phonetic key) and
# together they pair the records of one identity after any one or two corruptions
# (see tests/test_records_dedupe.py and bench/bench_records_dedupe.py for what they reach).
NULL_DOB = "(l.dob_year IS NULL OR r.dob_year IS NULL)"
BLOCKING_RULES = [
    "l.dob = r.dob AND l.given_key = r.given_key",
    "l.dob = r.dob AND l.family_key = r.family_key",
    "l.dob = r.dob AND l.postcode = r.postcode",
    "l.dob = r.dob AND l.given_initial = r.given_initial AND l.family_initial = r.family_initial",
    "l.dob = r.dob AND l.given_initial = r.family_initial AND l.family_initial = r.given_initial",
    "l.postcode = r.postcode AND l.family_key = r.family_key",
    "l.postcode = r.postcode AND l.given_key = r.given_key",
    "l.postcode = r.postcode AND l.given_initial = r.family_initial AND l.family_initial = r.given_initial",
    "l.dob_year = r.dob_year AND l.family_key = r.family_key AND l.given_initial = r.given_initial",
    "l.dob_year = r.dob_year AND l.given_key = r.family_key AND l.family_initial = r.given_initial",
    "l.dob_year = r.dob_year AND l.family_key = r.given_key AND l.given_initial = r.family_initial",
    "l.given_key = r.family_key AND l.family_key = r.given_key",
    f"l.family_key = r.family_key AND l.given_key = r.given_key AND {NULL_DOB}",
]
# Deterministic rule for the prior (the probability that two random rows match).
PRIOR_RULE = "l.given = r.given AND l.family = r.family AND l.dob = r.dob"
PRIOR_RECALL = 0.6
# EM training blocks: each estimates the comparisons it does not block on, from pairs that are
# mostly true duplicates and whose blocking columns say nothing about the comparisons
# estimated (a block on a given name would also pick pairs of one gender, for instance).
SAME_DOB = "l.dob_year = r.dob_year AND l.dob_month = r.dob_month AND l.dob_day = r.dob_day"
SAME_KEYS = "l.given_key = r.given_key AND l.family_key = r.family_key"
TRAINING_RULES = [
    f"{SAME_DOB} AND l.postcode = r.postcode",  # the names (given, family, middle)
    f"{SAME_KEYS} AND l.postcode = r.postcode",  # date of birth (and middle names)
    f"{SAME_KEYS} AND {SAME_DOB}",  # postcode (and middle names)
]


def settings(dialect: str = "duckdb"):
    """Bluelamp's Splink model for duplicate persons (see the module docstring)."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[
            _name_comparison("given", "given_key", "given name", dialect, nickname=True),
            _name_comparison("family", "family_key", "family name", dialect, nickname=False),
            _simple_comparison("middle", "middle names", frequency_adjusted=True),
            _dob_comparison(),
            _postcode_comparison(),
            _simple_comparison("gender", "gender", error_rate=GENDER_ERRORS),
        ],
        blocking_rules_to_generate_predictions=[_distinct_persons(rule) for rule in BLOCKING_RULES],
        additional_columns_to_retain=["person_id"],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )


def _distinct_persons(rule: str) -> str:
    return f"{rule} AND l.person_id <> r.person_id"


def train(
    linker,
    *,
    u_pairs: float = U_PAIRS,
    em_pairs: float = EM_PAIRS,
    seed: int = SEED,
    timings: dict[str, float] | None = None,
    progress: Progress | None = None,
) -> None:
    """Unsupervised training: a first prior, u by random sampling, m by EM on three blocks."""
    timings = {} if timings is None else timings
    with _timed(timings, "train prior", progress):
        linker.training.estimate_probability_two_random_records_match([PRIOR_RULE], recall=PRIOR_RECALL)
    with _timed(timings, "train u", progress):
        linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    with _timed(timings, "train m", progress):
        for rule in TRAINING_RULES:
            linker.training.estimate_parameters_using_expectation_maximisation(
                _distinct_persons(rule), estimate_without_term_frequencies=True, max_pairs=em_pairs
            )


@contextmanager
def _timed(timings: dict[str, float], stage: str, progress: Progress | None = None) -> Iterator[None]:
    if progress is not None:
        progress(stage, 0, None)
    mark = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - mark


# ---------------------------------------------------------------- the input


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


def extract(session: Session, actor: Actor, connection, *, batch: int = BATCH, progress: Progress = _quiet) -> None:
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


# ---------------------------------------------------------------- scoring


@dataclass(frozen=True)
class ComparisonInfo:
    """One comparison of a trained model: its output column, its levels' labels by gamma
    value, and whether an exact match is adjusted for how common the value is."""

    name: str
    labels: dict[int, str]
    frequency_adjusted: bool


def model_comparisons(linker) -> list[ComparisonInfo]:
    """The trained model's comparisons, for explanations."""
    found = []
    for comparison in linker.misc.save_model_to_json()["comparisons"]:
        levels = comparison["comparison_levels"]
        ordinary = [lv for lv in levels if not lv.get("is_null_level")]
        labels = {-1: next((lv["label_for_charts"] for lv in levels if lv.get("is_null_level")), "unknown")}
        for position, level in enumerate(ordinary):
            labels[len(ordinary) - 1 - position] = level["label_for_charts"]
        tf = any(lv.get("tf_adjustment_column") for lv in levels)
        found.append(ComparisonInfo(comparison["output_column_name"], labels, tf))
    return found


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _finite(expression: str) -> str:
    return f"CASE WHEN abs({expression}) < 1e300 THEN round({expression}, 3) END"


NAME_COLUMNS = ("given", "middle", "family")


def explanation_sql(comparisons: list[ComparisonInfo], dialect: str, names: Sequence[str] = NAME_COLUMNS) -> str:
    """A JSON text per pair: each comparison's level (label and gamma) and weight in bits,
    the frequency adjustment of an exact match on a common or rare name, the prior's weight
    and the two names that scored best. The weights add up to the pair's match weight."""

    def struct(fields: list[tuple[str, str]]) -> str:
        if dialect == "spark":
            return "named_struct(" + ", ".join(f"{_literal(k)}, {v}" for k, v in fields) + ")"
        return "struct_pack(" + ", ".join(f"{k} := {v}" for k, v in fields) + ")"

    array = "array" if dialect == "spark" else "list_value"
    parts, evidence = [], []
    for c in comparisons:
        gamma = f"gamma_{c.name}"
        cases = " ".join(f"WHEN {g} THEN {_literal(label)}" for g, label in sorted(c.labels.items()))
        fields = [("level", f"CASE {gamma} {cases} END"), ("gamma", gamma), ("weight", _finite(f"mw_{c.name}"))]
        evidence.append(f"mw_{c.name}")
        if c.frequency_adjusted:
            fields.append(("frequency_adjustment", _finite(f"mw_tf_adj_{c.name}")))
            evidence.append(f"coalesce(mw_tf_adj_{c.name}, 0)")
        parts.append((c.name, struct(fields)))
    shown = [f"concat_ws(' ', {', '.join(f'{n}_{side}' for n in names)})" for side in ("l", "r")]
    return (
        "to_json("
        + struct(
            [
                ("comparisons", struct(parts)),
                ("prior_weight", _finite(f"pair_weight - ({' + '.join(evidence)})")),
                ("names", f"{array}({', '.join(shown)})"),
            ]
        )
        + ")"
    )


def best_pairs_sql(
    predictions: str,
    comparisons: list[ComparisonInfo],
    dialect: str = "duckdb",
    shift: float = 0.0,
    floor: float | None = None,
    names: Sequence[str] = NAME_COLUMNS,
) -> str:
    """One row per pair of persons (left_id < right_id): the best-scoring pair of their
    names, its match weight moved by ``shift`` (a new prior), its probability and its
    explanation, kept when the weight is at or above ``floor``."""
    weight = f"(match_weight + ({shift!r}))"
    keep = f"WHERE {weight} >= {floor!r}" if floor is not None else ""
    explanation = explanation_sql(comparisons, dialect, names)
    return f"""
    SELECT left_id, right_id, pair_weight, pair_probability, {explanation} AS explanation
    FROM (
        SELECT p.*,
               {weight} AS pair_weight,
               1.0 / (1.0 + pow(2.0, -{weight})) AS pair_probability,
               CASE WHEN person_id_l < person_id_r THEN person_id_l ELSE person_id_r END AS left_id,
               CASE WHEN person_id_l < person_id_r THEN person_id_r ELSE person_id_l END AS right_id,
               row_number() OVER (
                   PARTITION BY
                       CASE WHEN person_id_l < person_id_r THEN person_id_l ELSE person_id_r END,
                       CASE WHEN person_id_l < person_id_r THEN person_id_r ELSE person_id_l END
                   ORDER BY match_weight DESC, unique_id_l, unique_id_r
               ) AS rank_in_pair
        FROM {predictions} p
        {keep}
    ) ranked WHERE rank_in_pair = 1
    """


class DuckDBEngine:
    """Splink on an in-process DuckDB database."""

    name = "duckdb"

    def __init__(self, connection=None) -> None:
        from splink import DuckDBAPI

        self.connection = connection or new_connection()
        self.api = DuckDBAPI(self.connection)

    def input_frame(self, table: str = "dedupe_input"):
        self.input_table = table
        return self.api.register(table, table_name=f"splink_{table}")

    def query_one(self, sql: str) -> tuple:
        return tuple(self.connection.execute(sql).fetchall()[0])

    def rows(self, table: str, *, batch: int = BATCH) -> Iterator[tuple]:
        cursor = self.connection.execute(f"SELECT * FROM {table}")
        while chunk := cursor.fetchmany(batch):
            yield from chunk

    def close(self) -> None:
        self.connection.close()


class SparkEngine:
    """Splink on Apache Spark (national volumes). The input is prepared in DuckDB from the
    streamed rows, handed over as Parquet, and the heavy pairwise work runs on the cluster."""

    name = "spark"

    def __init__(self, master: str) -> None:
        self.spark = spark_session(master)
        from splink import SparkAPI

        self.api = SparkAPI(spark_session=self.spark)
        self.connection = new_connection()
        self.folder = tempfile.TemporaryDirectory(prefix="bluelamp-dedupe-")

    def input_frame(self, table: str = "dedupe_input"):
        path = os.path.join(self.folder.name, f"{table}.parquet")
        self.connection.execute(f"COPY {table} TO '{path}' (FORMAT PARQUET)")
        frame = self.api.register(self.spark.read.parquet(path), table_name=f"splink_{table}")
        self.input_table = frame.physical_name
        return frame

    def query_one(self, sql: str) -> tuple:
        return tuple(self.spark.sql(sql).collect()[0])

    def rows(self, table: str, *, batch: int = BATCH) -> Iterator[tuple]:
        for row in self.spark.table(table).toLocalIterator():
            yield tuple(row)

    def close(self) -> None:
        self.connection.close()
        self.folder.cleanup()


def spark_session(master: str):
    """A Spark session on the configured master; ConfigError when pyspark or the master is missing."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError(
            "the spark dedupe backend needs pyspark: install it (pip install pyspark) and set "
            "BLUELAMP_SPARK_MASTER, or use BLUELAMP_DEDUPE_BACKEND=duckdb",
            code="config.dedupe_spark",
        ) from None
    if not master:
        raise ConfigError(
            "the spark dedupe backend needs BLUELAMP_SPARK_MASTER (spark://host:7077)", code="config.dedupe_spark"
        )
    return SparkSession.builder.master(master).appName("bluelamp-dedupe").getOrCreate()


def engine_for(backend: str, spark_master: str = ""):
    """The Splink engine for a backend name (duckdb or spark)."""
    choice = (backend or "duckdb").strip().lower()
    if choice == "duckdb":
        return DuckDBEngine()
    if choice == "spark":
        return SparkEngine(spark_master)
    raise InvalidInput(
        f"unknown dedupe backend {backend!r}: use duckdb or spark",
        problems=[FieldProblem("backend", "use duckdb or spark")],
    )


def score(
    engine,
    model,
    *,
    threshold: float,
    trainer: Callable[..., None] | None = None,
    table: str = "dedupe_input",
    timings: dict[str, float] | None = None,
    names: Sequence[str] = NAME_COLUMNS,
    progress: Progress | None = None,
):
    """Train ``model`` (with ``trainer``, default ``train``) on the engine's input table,
    estimate the prior over every blocked pair and keep the best pair of names per pair of
    persons at or above ``threshold``; returns (linker, that table, the prior). Adds the
    seconds each stage took to ``timings``."""
    from splink import Linker

    timings = {} if timings is None else timings
    linker = Linker(engine.input_frame(table), model, log_level=None)
    if trainer is None:
        train(linker, timings=timings, progress=progress)
    else:
        with _timed(timings, "train", progress):
            trainer(linker)
    trained = linker.misc.save_model_to_json()["probability_two_random_records_match"]
    trained_weight = math.log2(trained / (1 - trained))
    with _timed(timings, "predict", progress):
        predictions = linker.inference.predict(
            threshold_match_weight=trained_weight + EVIDENCE_FLOOR, warning_mode="never"
        )
    with _timed(timings, "prior", progress):
        prior = estimate_prior(engine, predictions.physical_name, trained_weight, total_pairs(engine))
    shift = math.log2(prior / (1 - prior)) - trained_weight
    comparisons = model_comparisons(linker)
    sql = best_pairs_sql(predictions.physical_name, comparisons, engine.name, shift, _weight(threshold), names)
    with _timed(timings, "best pairs", progress):
        best = engine.api.query_sql(sql)
    return linker, best, prior


def _weight(probability: float) -> float:
    return math.log2(probability / (1 - probability))


def total_pairs(engine) -> int:
    """Pairs of name rows of different persons: every pair the model could score."""
    rows, same = engine.query_one(
        f"SELECT sum(k), sum(k * (k - 1) / 2) FROM (SELECT count(*) AS k FROM {engine.input_table} GROUP BY person_id)"
    )
    rows = int(rows or 0)
    return rows * (rows - 1) // 2 - int(same or 0)


def estimate_prior(engine, predictions: str, trained_weight: float, pairs: int, *, rounds: int = 50) -> float:
    """The probability that two random rows match, by expectation maximisation with m and u
    fixed: the mean posterior of every pair (pairs blocking never compares count as non-matches,
    and so, nearly, do pairs below the evidence floor). A stated recall for a deterministic
    rule, Splink's usual estimate, would be a guess about how corrupted duplicates are; this
    asks the scored pairs instead."""
    evidence = f"(match_weight - ({trained_weight!r}))"
    prior = 2**trained_weight / (1 + 2**trained_weight)
    for _ in range(rounds):
        odds = prior / (1 - prior)
        (expected,) = engine.query_one(
            f"SELECT coalesce(sum(1.0 / (1.0 + 1.0 / ({odds!r} * pow(2.0, {evidence})))), 0) FROM {predictions}"
        )
        updated = min(max(float(expected) / max(pairs, 1), 1e-15), 0.5)
        if abs(updated - prior) <= prior * 1e-4:
            return updated
        prior = updated
    return prior


# ---------------------------------------------------------------- the job


def find_duplicates(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    threshold: float,
    backend: str = "duckdb",
    spark_master: str = "",
    batch: int = BATCH,
    progress: Progress = _quiet,
) -> DedupeRun:
    """Score likely duplicate persons of the actor's force and replace the open merge
    candidates with the pairs at or above ``threshold`` (a match probability), each with
    its match weight and explanation; decided pairs are not raised again. Audited."""
    require(actor, Action.PERSON_MERGE)
    if actor.force_id is None:
        raise NotFound("no force: records belong to a force")
    if not 0 < threshold < 1:
        raise InvalidInput(
            "the threshold is a match probability between 0 and 1",
            problems=[FieldProblem("threshold", "between 0 and 1 (exclusive)")],
        )
    run = DedupeRun(actor.force_id, (backend or "duckdb").strip().lower(), threshold)
    started = time.perf_counter()
    engine = engine_for(backend, spark_master)
    try:
        extract(session, actor, engine.connection, batch=batch, progress=progress)
        run.persons, run.names = build_input(engine.connection)
        run.seconds["read"] = time.perf_counter() - started
        progress("read", run.persons, run.persons)
        if run.persons >= 2:
            mark = time.perf_counter()
            with _quiet_splink():
                _, best, run.prior = score(
                    engine, settings(engine.name), threshold=threshold, timings=run.seconds, progress=progress
                )
            run.seconds["score"] = time.perf_counter() - mark
            mark = time.perf_counter()
            _write(session, actor, clock, engine, best.physical_name, run, progress)
            run.seconds["write"] = time.perf_counter() - mark
        else:
            run.replaced = queries.delete_open_candidates(session, actor)
    finally:
        engine.close()
    run.seconds["total"] = time.perf_counter() - started
    audit.append(
        session,
        actor,
        Audit(
            "person.dedupe",
            record_type="merge_candidate",
            detail={
                "backend": run.backend,
                "threshold": threshold,
                "persons": run.persons,
                "pairs": run.pairs,
                "written": run.written,
                "already_decided": run.already_decided,
                "replaced": run.replaced,
            },
        ),
        clock,
    )
    return run


@contextmanager
def _quiet_splink() -> Iterator[None]:
    """Splink's training notes (levels EM did not see, sampling probes) are for modellers,
    not for whoever runs the nightly job: only its errors get through while it scores."""
    logger = logging.getLogger("splink")
    before = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(before)


def _write(session, actor, clock, engine, table: str, run: DedupeRun, progress: Progress) -> None:
    force_id = actor.force_id
    decided = queries.decided_candidate_pairs(session, force_id)
    run.replaced = queries.delete_open_candidates(session, actor)
    found_at = clock.now()
    pending: list[tuple] = []
    for left_id, right_id, weight, probability, explanation in engine.rows(table):
        run.pairs += 1
        if (left_id, right_id) in decided:
            run.already_decided += 1
            continue
        pending.append((clock.new_id(), force_id, left_id, right_id, round(weight, 4), probability, explanation))
        if len(pending) >= WRITE_BATCH:
            run.written += queries.insert_candidates(session, pending, found_at)
            pending = []
            progress("writing candidates", run.written, None)
    run.written += queries.insert_candidates(session, pending, found_at)
    progress("writing candidates", run.written, run.written)
