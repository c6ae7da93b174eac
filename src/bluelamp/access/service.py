"""Use cases for forces."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bluelamp.access.model import Force, ForceSettings
from bluelamp.clock import Clock
from bluelamp.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

FORCE_ID = re.compile(r"^[a-z][a-z0-9-]{1,62}$")


@dataclass(frozen=True)
class AddForce:
    """Command: register a police force on the platform."""

    id: str
    name: str
    reference_prefix: str | None = None
    url: str | None = None
    telephone: str | None = None
    description: str | None = None


def add_force(session: Session, command: AddForce, clock: Clock) -> Force:
    """Register a force; its id is the data.police.uk id and cannot change later."""
    if not FORCE_ID.match(command.id):
        raise InvalidInput(
            f"force id {command.id!r} must be lower-case letters, digits and hyphens, "
            "as data.police.uk ids are (e.g. staffordshire)",
            code="force.invalid_id",
        )
    name = command.name.strip()
    if not name:
        raise InvalidInput("a force needs a name", code="input.invalid")
    if session.get(Force, command.id) is not None:
        raise Conflict(f"force {command.id!r} already exists", code="force.exists")
    prefix = (command.reference_prefix or _prefix_from_name(name)).upper()
    if not re.fullmatch(r"[A-Z]{1,8}", prefix):
        raise InvalidInput(f"reference prefix {prefix!r} must be 1 to 8 letters", code="input.invalid")
    force = Force(
        id=command.id,
        name=name,
        reference_prefix=prefix,
        url=command.url,
        telephone=command.telephone,
        description=command.description,
        settings=ForceSettings().model_dump(mode="json"),
        created_at=clock.now(),
    )
    session.add(force)
    session.flush()
    return force


def get_force(session: Session, force_id: str) -> Force:
    force = session.get(Force, force_id)
    if force is None:
        raise NotFound(f"no force {force_id!r}")
    return force


def force_settings(force: Force) -> ForceSettings:
    """The force's configuration, with defaults for anything not set."""
    return ForceSettings.model_validate(force.settings or {})


def _prefix_from_name(name: str) -> str:
    # "Staffordshire Police" -> "SP"; "West Yorkshire Police" -> "WYP"
    letters = "".join(word[0] for word in re.findall(r"[A-Za-z]+", name) if word.lower() not in {"of", "and", "the"})
    return (letters or "F")[:8]
