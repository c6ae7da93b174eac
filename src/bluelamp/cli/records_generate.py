"""`bluelamp records generate`: load synthetic persons with duplicates and known ground
truth (for the demo, benchmarks and trying search and dedupe). Registered on the
`records` group of cli/records.py."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from bluelamp.access import queries as access_queries
from bluelamp.access.audit import Audit, append
from bluelamp.cli.records import app as records_app
from bluelamp.errors import InvalidInput
from bluelamp.records import synthetic


@records_app.command("generate")
def generate(
    ctx: typer.Context,
    count: Annotated[int, typer.Option(help="How many person records (10,000 to 2,000,000 is the usual range)")],
    seed: Annotated[int, typer.Option(help="The same seed gives the same persons")] = 1,
    duplicate_share: Annotated[float, typer.Option(help="Share of records that are duplicates (0 to 0.9)")] = 0.2,
    force: Annotated[
        str | None, typer.Option("--force", help="Force id (default: the only force, when there is one)")
    ] = None,
    batch: Annotated[int, typer.Option(help="Persons written per transaction")] = 50_000,
) -> None:
    """Generate synthetic persons (realistic UK names; duplicates with typos, phonetic swaps,
    nicknames, swapped names, missing or partial dates of birth...) and write them with
    their name keys, locations and addresses. Synthetic data only: never into live records."""
    cli = ctx.obj
    if not 1 <= count <= 5_000_000:
        raise InvalidInput("--count must be between 1 and 5,000,000")
    if not 0 <= duplicate_share <= 0.9:
        raise InvalidInput("--duplicate-share must be between 0 and 0.9")
    if batch < 1:
        raise InvalidInput("--batch must be at least 1")
    database = cli.ready_database()
    with database.unit_of_work() as session:
        forces = access_queries.list_forces(session)
        ids = [f.id for f in forces]
        if force is None:
            if len(ids) != 1:
                raise InvalidInput("say which force with --force" + (" (there are several)" if ids else " (none yet)"))
            force = ids[0]
        elif force not in ids:
            raise InvalidInput(f"no force {force!r}: add it first with `bluelamp force add`")
    started = time.perf_counter()
    population = synthetic.generate(count, seed=seed, duplicate_share=duplicate_share, force_id=force)
    drawn = time.perf_counter() - started
    cli.console.print(f"generated {count:,} persons in {drawn:.1f} s; writing...", highlight=False)

    def progress(done: int, total: int) -> None:
        cli.console.print(f"  {done:,} / {total:,}", highlight=False)

    written = synthetic.load(database, population, force_id=force, clock=cli.clock, batch=batch, progress=progress)
    duplicates = sum(1 for p in population.persons if p.corruptions)
    with database.unit_of_work() as session:
        detail = {"count": written, "seed": seed, "duplicates": duplicates, "duplicate_share": duplicate_share}
        append(session, cli.actor(force), Audit("records.synthetic_generated", detail=detail), cli.clock)
    took = time.perf_counter() - started
    cli.console.print(
        f"wrote {written:,} synthetic persons ({duplicates:,} duplicates) to force {force} in {took:.1f} s",
        highlight=False,
    )
