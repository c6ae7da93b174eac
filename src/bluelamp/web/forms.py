"""Turning a service's InvalidInput into the messages a page shows next to each field."""

from __future__ import annotations

from bluelamp.errors import BluelampError


def by_field(error: BluelampError, *, rename: dict[str, str] | None = None) -> dict[str, str]:
    """The first message for each field (named as the form names it, through ``rename``);
    an error about no field in particular goes under ``form``."""
    messages: dict[str, str] = {}
    for problem in error.problems:
        name = (rename or {}).get(problem.field, problem.field)
        messages.setdefault(name, _sentence(problem.message))
    if not error.problems:
        messages["form"] = _sentence(error.detail)
    return messages


def whole_number(text: str) -> int:
    """A number typed in a form; 0 (which services refuse with their own message) when it is not one."""
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 6 else 0


def _sentence(message: str) -> str:
    message = message.strip()
    return message[:1].upper() + message[1:] + ("" if message.endswith((".", "?", "!")) else ".")
