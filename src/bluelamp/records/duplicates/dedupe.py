"""Duplicate persons: the dedupe job. It reads a force's live persons (not merged away, not
disposed) with every name they are known by, their date of birth (full or partial) and
current postcode, scores likely pairs with Splink 5 and fills the merge-candidate queue
(``records_merge_candidate``) with each pair's match weight, probability and explanation.

The job's input comes from ``extract.py``, its model from ``splink_model.py``, its scoring
from ``scoring.py`` and its engines (DuckDB, Spark) from ``engines.py``; each says the
decisions it makes (issue 6). This module decides:

- **Writing**: pairs at or above the threshold (``Settings.dedupe_threshold``) replace the
  force's open candidates (those whose persons the runner can see); pairs already decided
  (merged or rejected) are never raised again. The job is audited with its counts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.errors import FieldProblem, InvalidInput, NotFound
from bluelamp.records.duplicates import queries
from bluelamp.records.duplicates.engines import engine_for
from bluelamp.records.duplicates.extract import BATCH, build_input, extract
from bluelamp.records.duplicates.progress import Progress, quiet
from bluelamp.records.duplicates.scoring import score
from bluelamp.records.duplicates.splink_model import settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


WRITE_BATCH = 20_000  # candidates written per executemany


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
    progress: Progress = quiet,
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
