"""Command and control pages: call taking and the control room (being written; see issue 5)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
NAV: list = []
