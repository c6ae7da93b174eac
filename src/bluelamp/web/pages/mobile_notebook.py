"""Officer mobile app: the pocket notebook (/m/notebook).

The page is a frame with no entries in it: its script (static/mobile_notebook/notebook.js)
draws the list from ``GET /api/v1/notebook/entries`` (the last 14 days and every draft),
which the app's service worker keeps network-first, so with no connection the page and
its last list are both read from the phone. Writing, signing and correcting go through
the outbox (``BluelampQueue.send``), so they work offline too and are sent once, in order,
when the connection returns. The PDF for court is a plain GET form (it needs a
connection: the PDF is never kept on the phone)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from bluelamp.access.policy import Action
from bluelamp.clock import to_local
from bluelamp.notebook.photos import MAX_PHOTO_BYTES
from bluelamp.notebook.service import DEFAULT_DAYS, EMPTY, MAX_TEXT
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Now

router = APIRouter(include_in_schema=False)
NAV = []

Officer = Annotated[Caller, Depends(allow(Action.NOTEBOOK_WRITE))]


@router.get("/m/notebook", response_class=HTMLResponse)
def notebook_page(request: Request, caller: Officer, clock: Now):
    """The notebook: write, sign and correct entries; the list; the PDF for a period."""
    today = to_local(clock.now()).date()
    return request.app.state.templates.TemplateResponse(
        request,
        "mobile_notebook/page.html",
        {
            "today": today.isoformat(),
            "week_ago": (today - timedelta(days=6)).isoformat(),
            "default_days": DEFAULT_DAYS,
            "empty_message": EMPTY,
            "max_text": MAX_TEXT,
            "max_photo_bytes": MAX_PHOTO_BYTES,
        },
    )
