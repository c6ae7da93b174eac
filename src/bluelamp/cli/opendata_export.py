"""`bluelamp opendata ...` commands (export); registered on the `opendata` group."""

from __future__ import annotations

from bluelamp.cli.opendata import app as opendata_app  # noqa: F401
