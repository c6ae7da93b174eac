"""`bluelamp records review-due` (MoPI: move records whose review date has passed into the
review queue; run it daily from cron or a timer) and `bluelamp records crime-categories`
(the Home Office offence table with each code's data.police.uk category). Registered on
the `records` group of cli/records.py."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from bluelamp.cli.records import app as records_app
from bluelamp.errors import InvalidInput
from bluelamp.records import classification, mopi


@records_app.command("review-due")
def review_due(
    ctx: typer.Context,
    force: Annotated[str | None, typer.Option("--force", help="Only this force (default: every force)")] = None,
) -> None:
    """Move persons and events whose MoPI review date has passed into the review queue
    (each record once: safe to run again)."""
    cli = ctx.obj
    with cli.ready_database().unit_of_work() as session:
        queued = mopi.review_due(session, cli.clock, force_id=force)
    cli.console.print(f"{queued} record{'s' if queued != 1 else ''} moved into the review queue", highlight=False)


@records_app.command("crime-categories")
def crime_categories(
    ctx: typer.Context,
    category: Annotated[
        str | None, typer.Option(help="Only offences in this data.police.uk category (e.g. burglary)")
    ] = None,
) -> None:
    """The Home Office offence codes with their offence group and data.police.uk category."""
    cli = ctx.obj
    if category is not None and category not in classification.POLICE_UK_CATEGORIES:
        raise InvalidInput(
            f"{category!r} is not a data.police.uk category: use one of "
            + ", ".join(sorted(classification.POLICE_UK_CATEGORIES))
        )
    table = Table("code", "offence", "group", "police.uk category", "recordable")
    for offence in classification.offences():
        if category is None or offence.police_uk_category == category:
            table.add_row(
                offence.code,
                offence.description,
                offence.group,
                offence.police_uk_category,
                "yes" if offence.recordable else f"no: {offence.not_recordable}",
            )
    cli.console.print(table)
