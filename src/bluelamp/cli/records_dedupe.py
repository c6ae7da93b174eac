"""`bluelamp records dedupe`, `records merge`, `records unmerge` and `records candidates`:
duplicate persons from the shell (a nightly job, or an analyst without the merge page).
The same services as the API. Registered on the `records` group."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from bluelamp.cli.records import ForceOption, _force
from bluelamp.cli.records import app as records_app
from bluelamp.records import pole
from bluelamp.records.duplicates import dedupe, merge


@records_app.command("dedupe")
def dedupe_command(
    ctx: typer.Context,
    threshold: Annotated[
        float | None,
        typer.Option(help="Match probability a pair needs to join the queue (default: BLUELAMP_DEDUPE_THRESHOLD)"),
    ] = None,
    backend: Annotated[str | None, typer.Option(help="duckdb or spark (default: BLUELAMP_DEDUPE_BACKEND)")] = None,
    force: ForceOption = None,
) -> None:
    """Find likely duplicate persons with Splink and refill the force's merge-candidate queue
    (pairs already merged or rejected are not raised again)."""
    cli = ctx.obj
    settings = cli.settings
    chosen_threshold = settings.dedupe_threshold if threshold is None else threshold
    chosen_backend = backend or settings.dedupe_backend
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}"),
        TimeElapsedColumn(),
        console=cli.console,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", total=None)

        def progress(stage: str, done: int, total: int | None) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        with cli.ready_database().unit_of_work() as session:
            run = dedupe.find_duplicates(
                session,
                cli.actor(_force(session, force)),
                cli.clock,
                threshold=chosen_threshold,
                backend=chosen_backend,
                spark_master=settings.spark_master,
                progress=progress,
            )
    cli.console.print(
        f"{run.persons:,} persons ({run.names:,} names) compared on {run.backend}: {run.pairs:,} likely "
        f"duplicate pairs at or above {run.threshold:g}; {run.written:,} in the queue "
        f"({run.already_decided:,} already decided, {run.replaced:,} earlier open candidates replaced) "
        f"in {run.seconds.get('total', 0):.1f} s",
        highlight=False,
    )


@records_app.command("candidates")
def candidates_command(
    ctx: typer.Context,
    status: Annotated[str, typer.Option(help="open, merged or rejected")] = "open",
    limit: Annotated[int, typer.Option(help="At most this many")] = 50,
    force: ForceOption = None,
) -> None:
    """The merge queue: likely duplicate pairs, highest match weight first."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        found = merge.candidates(session, cli.actor(_force(session, force)), cli.clock, status=status, limit=limit)
        table = Table("candidate", "weight", "probability", "left", "right")
        for item in found:
            table.add_row(
                item.candidate.id,
                f"{item.candidate.match_weight:.1f}",
                f"{item.candidate.probability:.4f}",
                f"{pole.label(item.left)} [{item.left.id}]",
                f"{pole.label(item.right)} [{item.right.id}]",
            )
    cli.console.print(table)


@records_app.command("merge")
def merge_command(
    ctx: typer.Context,
    survivor: Annotated[str, typer.Argument(help="Id of the person to keep (the golden nominal)")],
    merged: Annotated[str, typer.Argument(help="Id of the person merged into it")],
    reason: Annotated[str, typer.Option(help="Why they are the same person (audited)")],
    force: ForceOption = None,
) -> None:
    """Merge one person into another: names, identifiers, markers, addresses and links move
    to the survivor; undo with `records unmerge`."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        row = merge.merge(session, cli.actor(_force(session, force)), survivor, merged, reason, cli.clock)
        moved = ", ".join(f"{len(v)} {k}" for k, v in row.moved.items() if isinstance(v, list) and v)
        line = f"merged {row.merged_id} into {row.survivor_id} (merge {row.id}; moved {moved or 'nothing'})"
    cli.console.print(line, highlight=False)


@records_app.command("unmerge")
def unmerge_command(
    ctx: typer.Context,
    merge_id: Annotated[str, typer.Argument(help="Id of the merge to undo")],
    reason: Annotated[str, typer.Option(help="Why the merge is undone (audited)")],
    force: ForceOption = None,
) -> None:
    """Undo a merge: everything it moved goes back and the merged person is live again."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        row = merge.unmerge(session, cli.actor(_force(session, force)), merge_id, reason, cli.clock)
        line = f"undid merge {row.id}: {row.merged_id} is separate from {row.survivor_id} again"
    cli.console.print(line, highlight=False)


@records_app.command("reject")
def reject_command(
    ctx: typer.Context,
    candidate_id: Annotated[str, typer.Argument(help="Id of the merge candidate")],
    reason: Annotated[str, typer.Option(help="Why they are not the same person (audited)")] = "not the same person",
    force: ForceOption = None,
) -> None:
    """Mark a merge candidate as not a duplicate: later dedupe runs do not raise it again."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        row = merge.reject_candidate(session, cli.actor(_force(session, force)), candidate_id, cli.clock, reason=reason)
        line = f"rejected candidate {row.id} ({row.left_id} / {row.right_id})"
    cli.console.print(line, highlight=False)
