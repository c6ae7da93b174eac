"""`bluelamp audit`: verify the tamper-evident chain, take checkpoints, search the log."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from bluelamp.access import audit, service
from bluelamp.access.audit import AuditQuery
from bluelamp.clock import parse_moment, to_local
from bluelamp.errors import FieldProblem, InvalidInput

app = typer.Typer(help="Verify, checkpoint and search the audit log.", no_args_is_help=True)

# Below this many entries verification takes well under a second: no progress bar.
PROGRESS_FROM = 20_000


@app.command("verify")
def verify(
    ctx: typer.Context,
    expect: Annotated[
        str | None,
        typer.Option("--expect", metavar="SEQ:HASH", help="A checkpoint the chain must still hold unchanged"),
    ] = None,
) -> None:
    """Check every entry's hash and link; exit 1 naming the first entry edited, removed, reordered or cut off."""
    cli = ctx.obj
    expected = audit.parse_checkpoint(expect) if expect else None
    with cli.ready_database().read() as session:
        total, _ = audit.checkpoint(session)
        with Progress(
            TextColumn("verifying the audit log"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=cli.console,
            transient=True,
            disable=total < PROGRESS_FROM,
        ) as progress:
            task = progress.add_task("verify", total=total)
            result = service.verify_audit(
                session, cli.actor(), expect=expected, progress=lambda done: progress.update(task, completed=done)
            )
    checked = service.require_intact_audit(result)
    also = f", including checkpoint {expected[0]}" if expected else ""
    cli.console.print(f"audit log intact: {checked} entries verified{also}", highlight=False)


@app.command("checkpoint")
def checkpoint(ctx: typer.Context) -> None:
    """Print the newest entry's SEQ:HASH; keep it somewhere else and check it later with `verify --expect`."""
    cli = ctx.obj
    with cli.ready_database().read() as session:
        seq, digest = audit.checkpoint(session)
    cli.console.print(f"{seq}:{digest}", highlight=False, soft_wrap=True)
    Console(stderr=True).print(
        "keep this line where the database's administrators cannot change it; "
        "`bluelamp audit verify --expect SEQ:HASH` proves nothing up to it was rewritten",
        highlight=False,
    )


@app.command("search")
def search(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="Username of who acted")] = None,
    record: Annotated[
        str | None, typer.Option("--record", metavar="TYPE:ID", help="The record acted on, e.g. user:3f2a...")
    ] = None,
    action: Annotated[str | None, typer.Option("--action", help="The action, e.g. user.create or signin")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="From this ISO 8601 time (UTC unless it has an offset)")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="Before this ISO 8601 time")] = None,
    force: Annotated[str | None, typer.Option("--force", help="Only entries of this force's users")] = None,
    limit: Annotated[
        int, typer.Option("--limit", help="At most this many entries, newest first", min=1, max=500)
    ] = 100,
) -> None:
    """Search the audit log, newest first (the search itself is audited)."""
    cli = ctx.obj
    record_type = record_id = None
    if record:
        record_type, colon, record_id = record.partition(":")
        if not colon or not record_type or not record_id:
            raise InvalidInput(
                f"--record is TYPE:ID (e.g. user:3f2a...), not {record!r}",
                problems=[FieldProblem("record", "use TYPE:ID")],
            )
    query = AuditQuery(
        force_id=force,
        actor=user,
        record_type=record_type,
        record_id=record_id,
        action=action,
        since=parse_moment(since, "since"),
        until=parse_moment(until, "until"),
        limit=limit,
    )
    with cli.ready_database().unit_of_work() as session:
        page = service.search_audit(session, cli.actor(), query, cli.clock)
        rows = [
            (
                str(e.seq),
                to_local(e.at).isoformat(timespec="seconds"),
                e.actor,
                e.force_id or "",
                e.action,
                e.outcome,
                f"{e.record_type}:{e.record_id}" if e.record_type else "",
                e.reason or "",
                e.ip or "",
            )
            for e in page.entries
        ]
    if not rows:
        cli.console.print("no audit entries match")
        return
    table = Table("seq", "at", "who", "force", "action", "outcome", "record", "reason", "from")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    cli.console.print(table)
    more = " (there are more: narrow the search or raise --limit)" if page.next_before else ""
    cli.console.print(f"{len(rows)} entries{more}", highlight=False)
