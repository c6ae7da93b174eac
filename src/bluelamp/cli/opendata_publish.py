"""`bluelamp opendata ...` commands (publish); registered on the `opendata` group."""

from __future__ import annotations

from bluelamp.cli.opendata import app as opendata_app  # noqa: F401
