"""Bluelamp's Splink model for duplicate persons: its comparisons, blocking rules and
unsupervised training, over ``dedupe_input`` (``extract.py``: one row per name).

Decisions this module makes (issue 6):

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
  from EM over every scored pair with m and u fixed (``scoring.estimate_prior``), rather
  than by guessing the recall of a deterministic rule.
"""

from __future__ import annotations

import re

from bluelamp.records.duplicates.progress import Progress, timed

U_PAIRS = 2_000_000  # pairs sampled at random to estimate u probabilities (about 2.5 µs each)
EM_PAIRS = 1_000_000  # at most this many blocked pairs in each EM training pass
SEED = 20261128
GENDER_ERRORS = 0.01  # the share of true duplicates recorded with a different gender (a slip, or a change)


# ---------------------------------------------------------------- comparisons


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


# ---------------------------------------------------------------- blocking and training


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
    with timed(timings, "train prior", progress):
        linker.training.estimate_probability_two_random_records_match([PRIOR_RULE], recall=PRIOR_RECALL)
    with timed(timings, "train u", progress):
        linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=seed)
    with timed(timings, "train m", progress):
        for rule in TRAINING_RULES:
            linker.training.estimate_parameters_using_expectation_maximisation(
                _distinct_persons(rule), estimate_without_term_frequencies=True, max_pairs=em_pairs
            )
