"""Scoring likely duplicates with the trained model, in SQL both engines run: pairs of
name rows above an evidence floor, the prior estimated over every one of them, the best
pair of names for each pair of persons, pairs implied through a third person, and each
candidate's explanation.

Decisions this module makes (issue 6):

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
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bluelamp.records.duplicates.progress import Progress, timed
from bluelamp.records.duplicates.splink_model import train

EVIDENCE_FLOOR = 5.0  # pairs whose comparisons give less than 2^5 to 1 for a match are not kept after scoring


# ---------------------------------------------------------------- explanations


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


# ---------------------------------------------------------------- pairs of persons


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


# ---------------------------------------------------------------- scoring


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
        with timed(timings, "train", progress):
            trainer(linker)
    trained = linker.misc.save_model_to_json()["probability_two_random_records_match"]
    trained_weight = math.log2(trained / (1 - trained))
    with timed(timings, "predict", progress):
        predictions = linker.inference.predict(
            threshold_match_weight=trained_weight + EVIDENCE_FLOOR, warning_mode="never"
        )
    with timed(timings, "prior", progress):
        prior = estimate_prior(engine, predictions.physical_name, trained_weight, total_pairs(engine))
    shift = math.log2(prior / (1 - prior)) - trained_weight
    comparisons = model_comparisons(linker)
    with timed(timings, "best pairs", progress):
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
