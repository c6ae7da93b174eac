"""A force's neighbourhoods as its teams manage them: boundaries, teams, priorities, events."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["neighbourhoods"])
