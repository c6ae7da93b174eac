"""Stops and searches: an officer records the PACE record of a stop and search."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["stop and search"])
