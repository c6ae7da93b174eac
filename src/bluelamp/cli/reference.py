"""The command tree, walked for docs/cli.md and the test that keeps it complete."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import typer


@dataclass(frozen=True)
class CommandDoc:
    """One command: its full name, help text, and its arguments and options."""

    path: str
    help: str
    params: list[tuple[str, str]]
    is_group: bool


def walk(app: typer.Typer) -> Iterator[CommandDoc]:
    """Every command and group under ``app``, depth first, in declaration order."""
    root = typer.main.get_command(app)
    yield from _walk(root, "bluelamp")


def _walk(command, path: str) -> Iterator[CommandDoc]:
    params = []
    for param in command.params:
        if param.name == "help":
            continue
        names = (
            "/".join(param.opts + list(param.secondary_opts))
            if param.param_type_name == "option"
            else (param.metavar or param.name.upper())
        )
        params.append((names, getattr(param, "help", None) or ""))
    subcommands = getattr(command, "commands", {})
    yield CommandDoc(
        path, (command.help or "").strip().splitlines()[0] if command.help else "", params, bool(subcommands)
    )
    for name, sub in subcommands.items():
        yield from _walk(sub, f"{path} {name}")
