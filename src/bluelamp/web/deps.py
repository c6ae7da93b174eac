"""Request-scoped dependencies shared by API routes and pages.

Routes are plain ``def`` functions (run once in the thread pool) that open their own
unit of work: ``with db.unit_of_work() as session: return service(session, ...)``.
A generator dependency would cost two more thread hops per request (see
docs/benchmarks.md, "Web shell"), so the dependencies here are async and cheap.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from bluelamp.clock import Clock
from bluelamp.storage import Database


async def database(request: Request) -> Database:
    return request.app.state.database


async def clock(request: Request) -> Clock:
    return request.app.state.clock


Db = Annotated[Database, Depends(database)]
Now = Annotated[Clock, Depends(clock)]
