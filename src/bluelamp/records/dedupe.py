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
  two letters swapped, one left out) and Jaro-Winkler similarity. The given name also has
  the two names the wrong way round: exactly (a double-barrelled family name given as
  forenames agrees taken whole or by either part), with one of them spelt differently or
  a nickname, with both spelt differently, or only one name crossed over (a maiden name
  given as the forename); when the names are swapped the family name and middle names
  comparisons stand aside (a null level), or a swap would count against the pair three
  times. A different family name counts for less between two women (maiden and married
  names). The date of birth has levels for the full date, a partial date that agrees as
  far as it goes (year and month, which may also be the other's day and month the wrong
  way round; or the year only), day and month swapped, two of three parts agreeing (a
  typo) and a date known on one side only; postcode by full, sector and district; middle
  names the same, neither recorded, recorded on one side only or different. Gender counts
  only against a pair: the names already say it, and counting it for the pair too made
  every name match surer than it is. A value missing on both sides is a null level: it
  neither helps nor counts against; missing on one side is evidence EM weighs (records
  made without a date of birth or a middle name are more often than others a second
  record of someone).
- **Blocking** (``BLOCKING_RULES``): pairs are compared only when they share the date of
  birth and a phonetic key, the family initial (and gender), the postcode, crossed
  initials or a given name's key as the other's family key; the postcode and a phonetic
  key or crossed initials; the year of birth, the family key and the given initial; the
  year with day and month swapped and both initials; or, when one row has no date of
  birth, both keys, and when it has the year (and month) only, the year, the given key and
  the family initial. Rules on one row only (no date of birth) are written for each side
  (``_either_side``) so the engine filters that side before the join. At 1,000,000
  generated persons that is 4.3 million pairs holding 97.2% of the true pairs (the plain
  setup's blocking on names, date of birth or postcode makes 41 million); every rule earns
  its place there (true pairs found against pairs compared): blocking on a nickname group,
  or on crossed phonetic keys with the year of birth or without a date of birth, made
  1.7 million more pairs for a few hundred true ones.
- **Training** is unsupervised: u by random sampling, m by expectation maximisation on
  three blocks (same date of birth and postcode: the names; same keys and postcode: the
  date of birth; same date of birth: the postcode, with the names to tell its many
  non-matches apart), each estimating the comparisons that do not use its columns (the
  name comparisons read every name column, for swapped names); levels true pairs almost
  never reach (a different date of birth, different middle names, a different gender) have
  their m stated, not trained: EM would learn "never", an infinite penalty that Splink
  refuses when m reaches 0. The prior (the probability that two random rows match) comes
  from EM over every scored pair with m and u fixed, rather than by guessing the recall of
  a deterministic rule.
- **Pairs implied through a third person** (``implied_sql``): two records of someone,
  each with its own corruption (no date of birth on one, a nickname and another address
  on the other), can share too little to score well against each other while both score
  well against the original. A pair below the threshold joins the queue when two links
  through one person, each at or above the threshold, give it a probability p1 * p2 at or
  above the threshold (both true, it is true) if blocking compared it and found some
  evidence for it, or ten times surer (0.99 for 0.9) if not; its explanation names that
  person and both probabilities (and has no comparisons when the pair was not compared).
- **Explanation**: each candidate keeps, per comparison, the level reached (label and
  gamma) and its weight in bits, the frequency adjustment of an exact name match, the
  prior's weight (they add up to the pair's own match weight) and the two names that
  scored best; an implied pair adds ``through`` (the third person, the two links'
  probabilities and its own weight).
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
import re
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


def _swapped_exact_sql() -> str:
    """The given and family names the wrong way round. A double-barrelled family name given
    as forenames reads as a first and a middle name ("Smith-Jones John" → SMITH, JONES /
    JOHN): it agrees with the other's family name taken whole or by either part."""

    def family_as_given(a: str, b: str) -> str:
        return (
            f"(family_{a} = given_{b} OR family_{a} = middle_{b} OR family_{a} = concat_ws(' ', given_{b}, middle_{b}))"
        )

    return (
        f"(given_l = family_r AND {family_as_given('l', 'r')}) OR (given_r = family_l AND {family_as_given('r', 'l')})"
    )


def _close_sql(dialect: str, family: str, given: str) -> str:
    """SQL: one side's family name is nearly the other side's given name (the same phonetic
    key, Jaro-Winkler 0.88 with the same initial, or a nickname of it): ``family`` and
    ``given`` are the sides, l or r. The initial comes first: most pairs fail on it and
    never compute the similarity (evaluated for every pair blocking makes, three times)."""
    from splink.internals.dialects import SplinkDialect

    jw = SplinkDialect.from_string(dialect).jaro_winkler_function_name
    similar = f"(family_initial_{family} = given_initial_{given} AND {jw}(family_{family}, given_{given}) >= 0.88)"
    return (
        f"(family_key_{family} = given_key_{given} OR {similar} "
        f"OR {_nickname_of(f'given_nicks_{given}', f'family_{family}')})"
    )


def _swapped_fuzzy_sql(dialect: str) -> str:
    """The two names the wrong way round, one of them the same and the other sounding the
    same, a nickname of it or similar."""
    return (
        f"(given_l = family_r AND {_close_sql(dialect, 'l', 'r')}) "
        f"OR (given_r = family_l AND {_close_sql(dialect, 'r', 'l')})"
    )


def _swapped_both_fuzzy_sql(dialect: str) -> str:
    """The two names the wrong way round, neither spelt the same."""
    return f"{_close_sql(dialect, 'l', 'r')} AND {_close_sql(dialect, 'r', 'l')}"


def _swapped_sql(dialect: str) -> str:
    """Any swapped level of the given name: the family name and middle names comparisons
    stand aside then (a null level), or a swap would count against the pair two more times."""
    return f"({_swapped_exact_sql()}) OR ({_swapped_fuzzy_sql(dialect)}) OR ({_swapped_both_fuzzy_sql(dialect)})"


# Levels that true duplicates rarely reach (a different date of birth, a middle name
# recorded differently...) start from a stated m: a small force's data may never show EM
# one, and an untrained level would take Splink's default. EM replaces it when it can.
def _name_comparison(column: str, key: str, label: str, dialect: str, *, nickname: bool):
    """Levels for one name column: exact, swapped with the other name, (nickname),
    phonetic key, one edit, Jaro-Winkler, anything else."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    if column == "family":
        # Names the wrong way round are the given name comparison's to weigh.
        levels = [
            cll.CustomLevel(f"family_l IS NULL OR family_r IS NULL OR {_swapped_sql(dialect)}").configure(
                is_null_level=True, label_for_charts="family name: unknown, or swapped (see given name)"
            )
        ]
    else:
        levels = [cll.NullLevel(column).configure(label_for_charts=f"{label}: unknown")]
    levels.append(cll.ExactMatchLevel(column).configure(tf_adjustment_column=column, label_for_charts=f"{label}: same"))
    if column == "given":  # once only: in both comparisons a swap would count twice
        # So rare between different people that random sampling may not meet one: u starts
        # at "less than once in the sample" and sampling refines it when it does.
        rare = 0.5 / U_PAIRS
        levels += [
            cll.CustomLevel(_swapped_exact_sql()).configure(
                label_for_charts="given and family names swapped", u_probability=rare
            ),
            cll.CustomLevel(_swapped_fuzzy_sql(dialect)).configure(
                label_for_charts="names swapped, one spelt differently", u_probability=rare
            ),
            cll.CustomLevel(_swapped_both_fuzzy_sql(dialect)).configure(
                label_for_charts="names swapped, both spelt differently", u_probability=rare
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
    if column == "given":
        # One name recorded in the other's place and the other name changed (a maiden name
        # given as the forename): weak evidence, and the family name and middle names
        # comparisons still count.
        levels.append(
            cll.CustomLevel("given_l = family_r OR given_r = family_l").configure(
                label_for_charts="given name: recorded as the other's family name", m_probability=0.005
            )
        )
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
    """Date of birth, full or partial: parts that are unknown on either side do not count
    against the pair. A date known on one side only is a level of its own (not a null
    level): records made without one are more often than others a second record of someone,
    and EM learns by how much."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    y, m, d = "dob_year", "dob_month", "dob_day"
    return cl.CustomComparison(
        [
            cll.CustomLevel(f"{y}_l IS NULL AND {y}_r IS NULL").configure(
                is_null_level=True, label_for_charts="date of birth: unknown"
            ),
            cll.CustomLevel(f"{y}_l = {y}_r AND {m}_l = {m}_r AND {d}_l = {d}_r").configure(
                label_for_charts="date of birth: same"
            ),
            # Partial dates: the year and month (twelve times rarer by chance than the year
            # alone), which may also agree with the other's day and month the wrong way round;
            # or the year only.
            cll.CustomLevel(
                f"{y}_l = {y}_r AND (({d}_l IS NULL AND ({m}_l = {m}_r OR {m}_l = {d}_r)) "
                f"OR ({d}_r IS NULL AND ({m}_r = {m}_l OR {m}_r = {d}_l)))"
            ).configure(label_for_charts="date of birth: partial, year and month agree"),
            cll.CustomLevel(f"{y}_l = {y}_r AND ({m}_l IS NULL OR {m}_r IS NULL)").configure(
                label_for_charts="date of birth: partial, the year agrees"
            ),
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
            cll.CustomLevel(f"{y}_l IS NULL OR {y}_r IS NULL").configure(
                label_for_charts="date of birth: known on one side only"
            ),
            cll.ElseLevel().configure(
                label_for_charts="date of birth: different", m_probability=0.001, fix_m_probability=True
            ),
        ],
        output_column_name="dob",
        comparison_description="date of birth",
    )


def _middle_comparison(dialect: str):
    """Middle names: the same (adjusted for how common the name is), neither recorded, only
    one recorded, different. Recorded on one side only is evidence of its own (EM learns
    how often one record of a person leaves them out), not a null level; when the given and
    family names are the wrong way round the middle names are not comparable (a null level)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    return cl.CustomComparison(
        [
            cll.CustomLevel(_swapped_sql(dialect)).configure(
                is_null_level=True, label_for_charts="middle names: not compared (names swapped)"
            ),
            cll.ExactMatchLevel("middle").configure(
                tf_adjustment_column="middle", label_for_charts="middle names: same"
            ),
            cll.CustomLevel("middle_l IS NULL AND middle_r IS NULL").configure(
                label_for_charts="middle names: neither recorded"
            ),
            cll.CustomLevel("middle_l IS NULL OR middle_r IS NULL").configure(
                label_for_charts="middle names: recorded on one side only"
            ),
            # Stated, not trained: true pairs so rarely reach it that EM would learn "never" (an
            # infinite penalty, and an error in Splink when m reaches 0).
            cll.ElseLevel().configure(
                label_for_charts="middle names: different", m_probability=0.001, fix_m_probability=True
            ),
        ],
        output_column_name="middle",
        comparison_description="middle names",
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
    recorded differently (EM would otherwise learn "never", an infinite penalty) and the same
    value weighs nothing (u fixed equal to m: names already say a person's gender, Sarah is a
    woman's name, and counting it again would make every pair whose names agree look surer
    than it is); with ``frequency_adjusted``, the same rare value counts for more than the
    same common one."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    same = cll.ExactMatchLevel(column).configure(label_for_charts=f"{label}: same")
    if frequency_adjusted:
        same.configure(tf_adjustment_column=column)
    different = cll.ElseLevel().configure(label_for_charts=f"{label}: different", m_probability=0.001)
    if error_rate is not None:
        same.configure(
            m_probability=1 - error_rate, u_probability=1 - error_rate, fix_m_probability=True, fix_u_probability=True
        )
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


def _either_side(rule: str) -> list[str]:
    """``rule`` as written (its one-sided conditions on the left row) and mirrored. Pairs are
    blocked with the left row's id below the right's, so a condition on one row only (no date
    of birth, say) needs both orientations; written on one side, the engine filters that side
    before the join instead of testing every pair the join makes."""
    mirrored = re.sub(r"\b([lr])\.", lambda side: "r." if side.group(1) == "l" else "l.", rule)
    return [rule, mirrored]


# Blocking rules: SQL over the left (l) and right (r) rows; two rows of one person never pair.
# Each is tight (a full date of birth, a postcode or a year of birth with a phonetic key) and
# together they pair the records of one identity after any one or two corruptions
# (see tests/test_records_dedupe.py and bench/bench_records_dedupe.py for what they reach).
BLOCKING_RULES = [
    "l.dob = r.dob AND l.given_key = r.given_key",
    "l.dob = r.dob AND l.family_key = r.family_key",
    "l.dob = r.dob AND l.postcode = r.postcode",
    "l.dob = r.dob AND l.family_initial = r.family_initial AND l.gender = r.gender",
    "l.dob = r.dob AND l.given_initial = r.family_initial AND l.family_initial = r.given_initial",
    *_either_side("l.dob = r.dob AND l.given_key = r.family_key"),
    "l.postcode = r.postcode AND l.family_key = r.family_key",
    "l.postcode = r.postcode AND l.given_key = r.given_key",
    "l.postcode = r.postcode AND l.given_initial = r.family_initial AND l.family_initial = r.given_initial",
    "l.dob_year = r.dob_year AND l.family_key = r.family_key AND l.given_initial = r.given_initial",
    "l.dob_year = r.dob_year AND l.dob_month = r.dob_day AND l.dob_day = r.dob_month "
    "AND l.given_initial = r.given_initial AND l.family_initial = r.family_initial",
    # One row without a date of birth, or with the year (and month) only.
    *_either_side("l.dob_year IS NULL AND l.family_key = r.family_key AND l.given_key = r.given_key"),
    *_either_side(
        "l.dob_day IS NULL AND l.dob_year = r.dob_year AND l.given_key = r.given_key "
        "AND l.family_initial = r.family_initial"
    ),
]

# Deterministic rule for the prior (the probability that two random rows match).
PRIOR_RULE = "l.given = r.given AND l.family = r.family AND l.dob = r.dob"
PRIOR_RECALL = 0.6
# EM training blocks: each estimates the comparisons that do not use its columns (the name
# comparisons read every name column, for swapped names) from pairs whose blocking columns
# say nothing about the comparisons estimated (a block on a given name would also pick pairs
# of one gender, for instance). The date of birth alone leaves the names to tell matches
# from the many non-matches it holds, and so estimates the postcode beside them.
SAME_DOB = "l.dob_year = r.dob_year AND l.dob_month = r.dob_month AND l.dob_day = r.dob_day"
SAME_KEYS = "l.given_key = r.given_key AND l.family_key = r.family_key"
TRAINING_RULES = [
    f"{SAME_DOB} AND l.postcode = r.postcode",  # the names (given, family, middle)
    f"{SAME_KEYS} AND l.postcode = r.postcode",  # date of birth
    SAME_DOB,  # postcode (and the names again)
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
            _middle_comparison(dialect),
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


def _struct(fields: list[tuple[str, str]], dialect: str) -> str:
    if dialect == "spark":
        return "named_struct(" + ", ".join(f"{_literal(k)}, {v}" for k, v in fields) + ")"
    return "struct_pack(" + ", ".join(f"{k} := {v}" for k, v in fields) + ")"


def _array(dialect: str) -> str:
    return "array" if dialect == "spark" else "list_value"


def explanation_sql(
    comparisons: list[ComparisonInfo],
    dialect: str,
    names: Sequence[str] = NAME_COLUMNS,
    weight: str = "pair_weight",
    through: str | None = None,
    compared: str | None = None,
    other_names: str | None = None,
) -> str:
    """A JSON text per pair: each comparison's level (label and gamma) and weight in bits,
    the frequency adjustment of an exact match on a common or rare name, the prior's weight
    and the two names that scored best. The weights add up to the pair's own match weight
    (``weight``). ``through``, when given, is an SQL struct (or NULL) saying which third
    person makes the pair likely (see ``implied_sql``); a pair blocking never compared
    (``compared`` false) has no comparisons and shows ``other_names`` (an SQL array)."""
    parts, evidence = [], []
    for c in comparisons:
        gamma = f"gamma_{c.name}"
        cases = " ".join(f"WHEN {g} THEN {_literal(label)}" for g, label in sorted(c.labels.items()))
        fields = [("level", f"CASE {gamma} {cases} END"), ("gamma", gamma), ("weight", _finite(f"mw_{c.name}"))]
        evidence.append(f"mw_{c.name}")
        if c.frequency_adjusted:
            fields.append(("frequency_adjustment", _finite(f"mw_tf_adj_{c.name}")))
            evidence.append(f"coalesce(mw_tf_adj_{c.name}, 0)")
        parts.append((c.name, _struct(fields, dialect)))
    shown = [f"concat_ws(' ', {', '.join(f'{n}_{side}' for n in names)})" for side in ("l", "r")]
    compared_names = f"{_array(dialect)}({', '.join(shown)})"
    fields = [
        (
            "comparisons",
            _struct(parts, dialect) if compared is None else f"CASE WHEN {compared} THEN {_struct(parts, dialect)} END",
        ),
        ("prior_weight", _finite(f"{weight} - ({' + '.join(evidence)})")),
        (
            "names",
            compared_names
            if compared is None or other_names is None
            else f"CASE WHEN {compared} THEN {compared_names} ELSE {other_names} END",
        ),
    ]
    if through is not None:
        fields.append(("through", through))
    return "to_json(" + _struct(fields, dialect) + ")"


def person_pairs_sql(predictions: str, shift: float = 0.0) -> str:
    """One row per pair of persons (left_id < right_id) that blocking compared: the best
    scoring pair of their names (its two row ids), its match weight moved by ``shift`` (a
    new prior) and its probability."""
    weight = f"(match_weight + ({shift!r}))"
    left = "CASE WHEN person_id_l < person_id_r THEN person_id_l ELSE person_id_r END"
    right = "CASE WHEN person_id_l < person_id_r THEN person_id_r ELSE person_id_l END"
    return f"""
    SELECT left_id, right_id, unique_id_l, unique_id_r, pair_weight, pair_probability
    FROM (
        SELECT unique_id_l, unique_id_r,
               {weight} AS pair_weight,
               1.0 / (1.0 + pow(2.0, -{weight})) AS pair_probability,
               {left} AS left_id,
               {right} AS right_id,
               row_number() OVER (
                   PARTITION BY {left}, {right} ORDER BY match_weight DESC, unique_id_l, unique_id_r
               ) AS rank_in_pair
        FROM {predictions}
    ) ranked WHERE rank_in_pair = 1
    """


# A pair blocking never compared needs its two links surer than the threshold by this much
# (both at 0.995 against 0.9): nothing about the two records themselves supports it.
UNCOMPARED_FACTOR = 10.0


def implied_sql(person_pairs: str, threshold: float) -> str:
    """Pairs of persons likely the same because each is likely the same as a third person:
    two records of someone, each with a different corruption, can share too little to score
    well against each other while both score well against the original. Two links through
    one person, each at or above ``threshold``, give a pair the probability p1 * p2 (both
    true, it is true); the pair is implied when that reaches ``threshold`` and it was
    compared below the threshold (blocking brought it together and its own evidence is above
    the evidence floor), or when it reaches 1 - (1 - ``threshold``) / UNCOMPARED_FACTOR and
    it was not compared. One row per pair (the best third person): left_id, right_id,
    through_id, p1, p2, probability."""
    floor = _weight(threshold)
    uncompared = 1 - (1 - threshold) / UNCOMPARED_FACTOR
    return f"""
    WITH links AS (
        SELECT left_id AS person_id, right_id AS other_id, pair_probability AS p
        FROM {person_pairs} WHERE pair_weight >= {floor!r}
        UNION ALL
        SELECT right_id, left_id, pair_probability FROM {person_pairs} WHERE pair_weight >= {floor!r}
    ),
    two_links AS (
        SELECT a.other_id AS left_id, b.other_id AS right_id, a.person_id AS through_id,
               a.p AS p1, b.p AS p2, a.p * b.p AS probability,
               row_number() OVER (
                   PARTITION BY a.other_id, b.other_id ORDER BY a.p * b.p DESC, a.person_id
               ) AS rank_in_pair
        FROM links a JOIN links b ON a.person_id = b.person_id AND a.other_id < b.other_id
        WHERE a.p * b.p >= {threshold!r}
    )
    SELECT t.left_id, t.right_id, t.through_id, t.p1, t.p2, t.probability
    FROM two_links t
    LEFT JOIN {person_pairs} pp ON pp.left_id = t.left_id AND pp.right_id = t.right_id
    WHERE t.rank_in_pair = 1
      AND (pp.pair_weight < {floor!r} OR (pp.left_id IS NULL AND t.probability >= {uncompared!r}))
    """


def candidates_sql(
    predictions: str,
    person_pairs: str,
    implied: str | None,
    comparisons: list[ComparisonInfo],
    dialect: str,
    threshold: float,
    names: Sequence[str] = NAME_COLUMNS,
    input_table: str | None = None,
) -> str:
    """The merge candidates: every pair of persons at or above ``threshold`` on its own,
    and every implied pair (``implied``, from ``implied_sql``) with its implied probability
    and weight; each with its explanation (an implied one says through whom; one blocking
    never compared has no comparisons, and its names come from ``input_table``)."""
    floor = _weight(threshold)
    direct = f"""
        SELECT left_id, right_id, unique_id_l, unique_id_r, pair_weight AS own_weight, pair_weight,
               pair_probability, CAST(NULL AS STRING) AS through_id, CAST(NULL AS DOUBLE) AS p1,
               CAST(NULL AS DOUBLE) AS p2
        FROM {person_pairs} WHERE pair_weight >= {floor!r}
    """
    if implied is None:
        explanation = explanation_sql(comparisons, dialect, names, weight="c.own_weight")
        return f"""
        SELECT c.left_id, c.right_id, c.pair_weight, c.pair_probability, {explanation} AS explanation
        FROM ({direct}) c
        JOIN {predictions} p ON p.unique_id_l = c.unique_id_l AND p.unique_id_r = c.unique_id_r
        """
    implied_weight = "log2(i.probability / greatest(1.0 - i.probability, 1e-15))"
    through = _struct(
        [
            ("person_id", "c.through_id"),
            ("probabilities", f"{_array(dialect)}(c.p1, c.p2)"),
            ("own_weight", _finite("c.own_weight")),
        ],
        dialect,
    )
    explanation = explanation_sql(
        comparisons,
        dialect,
        names,
        weight="c.own_weight",
        through=f"CASE WHEN c.through_id IS NOT NULL THEN {through} END",
        compared="p.unique_id_l IS NOT NULL",
        other_names=f"{_array(dialect)}(nl.name, nr.name)",
    )
    return f"""
    WITH chosen AS (
        {direct}
        UNION ALL
        SELECT i.left_id, i.right_id, pp.unique_id_l, pp.unique_id_r, pp.pair_weight AS own_weight,
               {implied_weight} AS pair_weight, i.probability AS pair_probability, i.through_id, i.p1, i.p2
        FROM {implied} i
        LEFT JOIN {person_pairs} pp ON pp.left_id = i.left_id AND pp.right_id = i.right_id
    ),
    shown AS (
        SELECT person_id, concat_ws(' ', {", ".join(names)}) AS name FROM (
            SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY (kind = 'primary') DESC, unique_id) AS n
            FROM {input_table}
            WHERE person_id IN (
                SELECT left_id FROM chosen WHERE through_id IS NOT NULL
                UNION ALL
                SELECT right_id FROM chosen WHERE through_id IS NOT NULL
            )
        ) named WHERE n = 1
    )
    SELECT c.left_id, c.right_id, c.pair_weight, c.pair_probability, {explanation} AS explanation
    FROM chosen c
    LEFT JOIN {predictions} p ON p.unique_id_l = c.unique_id_l AND p.unique_id_r = c.unique_id_r
    LEFT JOIN shown nl ON nl.person_id = c.left_id
    LEFT JOIN shown nr ON nr.person_id = c.right_id
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

        self.connection = new_connection()
        self.folder = tempfile.TemporaryDirectory(prefix="bluelamp-dedupe-")
        # Splink breaks long query lineages by checkpointing: a cluster's own checkpoint
        # directory (shared storage) when it has one, else one beside the input.
        if self.spark.sparkContext.getCheckpointDir() is None:
            self.spark.sparkContext.setCheckpointDir(os.path.join(self.folder.name, "checkpoints"))
        self.api = SparkAPI(spark_session=self.spark)

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
    from splink.backends.spark import similarity_jar_location

    # Splink's string similarity functions (Jaro-Winkler, Damerau-Levenshtein) are Scala UDFs
    # in a jar it ships: the session must load it.
    builder = SparkSession.builder.master(master).appName("bluelamp-dedupe")
    return builder.config("spark.jars", similarity_jar_location()).getOrCreate()


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
    implied: bool = True,
):
    """Train ``model`` (with ``trainer``, default ``train``) on the engine's input table,
    estimate the prior over every blocked pair and keep the best pair of names per pair of
    persons at or above ``threshold``, with (``implied``) the pairs implied through a third
    person (``implied_sql``); returns (linker, that table, the prior). Adds the seconds each
    stage took to ``timings``."""
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
    with _timed(timings, "best pairs", progress):
        pairs = engine.api.query_sql(person_pairs_sql(predictions.physical_name, shift))
        through = engine.api.query_sql(implied_sql(pairs.physical_name, threshold)) if implied else None
        best = engine.api.query_sql(
            candidates_sql(
                predictions.physical_name,
                pairs.physical_name,
                through.physical_name if through is not None else None,
                comparisons,
                engine.name,
                threshold,
                names,
                engine.input_table,
            )
        )
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
