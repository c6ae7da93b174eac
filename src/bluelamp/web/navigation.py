"""The navigation bar: each capability's pages module contributes its entries."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    """A link in the staff navigation bar."""

    label: str
    path: str
    order: int = 100
