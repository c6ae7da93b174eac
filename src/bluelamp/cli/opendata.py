"""`bluelamp opendata ...`: import data.police.uk archives, publish a force's month, export."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Open data: data.police.uk archives in and out, and the monthly publication.", no_args_is_help=True
)
