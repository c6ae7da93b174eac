"""The navigation bar: each capability's pages module contributes its entries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bluelamp.web.auth import Caller


@dataclass(frozen=True)
class NavItem:
    """A link in the staff navigation bar. With an ``action``, only signed-in users whose
    roles grant it see the link (the route still checks: hiding a link is not access control)."""

    label: str
    path: str
    order: int = 100
    action: str | None = None

    def visible_to(self, caller: Caller | None) -> bool:
        """True when the link leads somewhere ``caller`` (None: not signed in) may go."""
        if self.action is None:
            return True
        return caller is not None and caller.actor.can(self.action)
