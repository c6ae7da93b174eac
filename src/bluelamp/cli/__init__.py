"""The ``bluelamp`` command line (Typer). Every command has help; every error is one
line on stderr and a non-zero exit, never a traceback."""

from bluelamp.cli.main import app, main

__all__ = ["app", "main"]
