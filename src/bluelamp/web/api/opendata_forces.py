"""The data.police.uk-compatible force and neighbourhood endpoints under /api/: forces,
their senior officers, neighbourhoods with boundaries, teams, events and priorities, and
locate-neighbourhood. Registered after ``opendata`` so that its two-segment paths
(``/api/{force}/{neighbourhood}``) never shadow ``/api/crimes-street/{category}``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bluelamp.web.auth import public
from bluelamp.web.ratelimit import open_data_limit

router = APIRouter(dependencies=[Depends(public), Depends(open_data_limit)], tags=["open data"])
