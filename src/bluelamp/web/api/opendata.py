"""The data.police.uk-compatible API under /api/: street-level crimes, outcomes, stops and
searches, categories and dates (the force and neighbourhood endpoints are in
``opendata_forces``). Open to everyone, rate-limited as data.police.uk is."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bluelamp.web.auth import public
from bluelamp.web.ratelimit import open_data_limit

router = APIRouter(dependencies=[Depends(public), Depends(open_data_limit)], tags=["open data"])
