"""Regenerate the reference parts of docs/ from the code: settings, CLI, error codes, permissions.

Run `make docs` after adding a setting, a command or an error code; the test suite
fails while any of them is undocumented.
"""

from __future__ import annotations

import sys
from pathlib import Path

import bluelamp.web.app  # noqa: F401  (every module registers its error codes when imported)
from bluelamp.access.policy import PERMISSIONS, ROLE_DESCRIPTIONS, Action, Role
from bluelamp.cli import app
from bluelamp.cli.reference import walk
from bluelamp.errors import CATALOGUE
from bluelamp.settings import Settings
from bluelamp.web.errors import status_for

DOCS = Path(__file__).resolve().parent.parent / "docs"


def settings_md() -> str:
    lines = [
        "# Settings reference",
        "",
        "Bluelamp reads its settings from environment variables with the prefix `BLUELAMP_`, once at",
        "start-up. `bluelamp settings` prints the current values (secrets masked).",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default
        if hasattr(default, "get_secret_value"):
            default = "(secret)"
        shown = "" if default is None else str(default)
        lines.append(f"| `BLUELAMP_{name.upper()}` | `{shown}` | {field.description} |")
    return "\n".join(lines) + "\n"


def cli_md() -> str:
    lines = [
        "# Command-line reference",
        "",
        "Every command takes `--help`. Errors print one line starting `error:` on stderr and exit",
        "non-zero (1 for a refused operation, 2 for a usage mistake).",
        "",
    ]
    for command in walk(app):
        lines.append(f"## `{command.path}`")
        lines.append("")
        lines.append(command.help or "")
        lines.append("")
        if command.params:
            for names, help_text in command.params:
                lines.append(f"- `{names}`: {help_text}")
            lines.append("")
    return "\n".join(lines)


def errors_md() -> str:
    lines = [
        "# Error codes",
        "",
        "Every API error is an RFC 9457 problem details document (`application/problem+json`):",
        "",
        "```json",
        '{"type": "/errors/not_found", "title": "Not found", "status": 404,',
        ' "detail": "no incident SP-20261128-0042", "instance": "/api/v1/incidents/SP-20261128-0042",',
        ' "code": "not_found"}',
        "```",
        "",
        "`code` is stable: match on it, not on `title` or `detail`. Field errors add",
        '`"errors": [{"field": ..., "message": ...}]`. Pages show the same message next to the',
        "field; the CLI prints `error: <detail>` on one line and exits non-zero.",
        "",
        "| code | HTTP status | meaning |",
        "|---|---|---|",
    ]
    for entry in sorted(CATALOGUE.entries.values(), key=lambda e: e.code):
        status = 405 if entry.code == "method_not_allowed" else status_for(entry.kind("x"))
        lines.append(f"| `{entry.code}` | {status} | {entry.meaning} |")
    return "\n".join(lines) + "\n"


def permissions_md() -> str:
    """docs/permissions.md: what each role may do, from access.policy.PERMISSIONS."""
    roles = list(Role)
    lines = [
        "# Roles and permissions",
        "",
        "Generated from `bluelamp.access.policy.PERMISSIONS` by `make docs`; a test fails when this",
        "page and the table in the code differ. A role grants actions; on top of that a user sees a",
        "record only in their own force, within their clearance (OFFICIAL, OFFICIAL-SENSITIVE,",
        "SECRET) and, for need-to-know records, when on its access list. A user may hold several roles.",
        "",
        "## Roles",
        "",
        "| role | who holds it |",
        "|---|---|",
    ]
    lines += [f"| `{role.value}` | {ROLE_DESCRIPTIONS[role]} |" for role in roles]
    lines += [
        "",
        "## Actions by role",
        "",
        "✓ marks an action the role grants.",
        "",
        "| action | " + " | ".join(f"`{role.value}`" for role in roles) + " |",
        "|---|" + "|".join(":-:" for _ in roles) + "|",
    ]
    for action in Action:
        marks = " | ".join("✓" if action in PERMISSIONS.get(role, frozenset()) else "" for role in roles)
        lines.append(f"| `{action.value}` | {marks} |")
    return "\n".join(lines) + "\n"


DOCUMENTS = [
    ("settings.md", settings_md),
    ("cli.md", cli_md),
    ("errors.md", errors_md),
    ("permissions.md", permissions_md),
]


def main() -> int:
    for name, render in DOCUMENTS:
        (DOCS / name).write_text(render())
        print(f"wrote docs/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
