"""The live feed over a WebSocket: ``/ws/live``.

A screen (session cookie) or a program (``Authorization: Bearer`` or ``?token=``) with
``unit.read`` gets a snapshot of its force, then batched frames of changes. A refused
handshake answers with problem details (401 or 403). Close codes: 1013 with reason
``live.slow_client`` when the client fell behind, 4401 when the session ended while
the feed was open, 1001 when the server stops.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from bluelamp.access.policy import Action, Actor
from bluelamp.errors import BluelampError
from bluelamp.tracking import feed
from bluelamp.tracking.feed import SLOW_CLIENT, STOPPING, Viewer
from bluelamp.web import errors as web_errors
from bluelamp.web.auth import websocket_caller

router = APIRouter()
log = logging.getLogger(__name__)

REVALIDATE_SECONDS = 60  # a session ended elsewhere (sign-out, disabled user) stops the feed this soon
CLOSE_SLOW = 1013
CLOSE_SIGNED_OUT = 4401


@router.websocket("/ws/live")
async def live(websocket: WebSocket) -> None:
    """Snapshot, then frames, until either side goes away."""
    try:
        caller = await websocket_caller(websocket, Action.UNIT_READ)
    except BluelampError as error:
        await _refuse(websocket, error)
        return
    state = websocket.app.state
    hub = state.live.hub
    await websocket.accept()
    subscription = hub.subscribe(Viewer.of(caller.actor))
    tasks: list[asyncio.Task] = []
    try:
        first = await run_in_threadpool(_snapshot, state, caller.actor)
        await websocket.send_text(json.dumps(first, default=str, separators=(",", ":")))
        tasks = [
            asyncio.create_task(hub.pump(subscription, websocket.send_text)),
            asyncio.create_task(_until_disconnect(websocket)),
            asyncio.create_task(_while_signed_in(websocket)),
        ]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        outcome = _outcome(done.pop())
    except (WebSocketDisconnect, RuntimeError, OSError):
        outcome = "disconnected"
    except Exception:
        log.exception("the live feed failed for %s", caller.actor.username)
        outcome = "error"
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(BaseException):
                await task
        subscription.end(feed.CLOSED)
    await _close(websocket, outcome)


def _outcome(task: asyncio.Task) -> str:
    """Why the feed ended, from the first of its tasks to finish: a failed send or
    receive means the client has gone."""
    if task.cancelled() or task.exception() is not None:
        return "disconnected"
    return task.result()


def _snapshot(state, actor: Actor) -> dict:
    with state.database.read() as session:
        return feed.snapshot(session, actor, state.tracking)


async def _until_disconnect(websocket: WebSocket) -> str:
    """Read (and ignore) what the client sends until it goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return "disconnected"


async def _while_signed_in(websocket: WebSocket) -> str:
    """Check the credentials again now and then; returns when they no longer hold."""
    while True:
        await asyncio.sleep(REVALIDATE_SECONDS)
        try:
            await websocket_caller(websocket, Action.UNIT_READ)
        except BluelampError as error:
            return error.code


async def _close(websocket: WebSocket, outcome: str) -> None:
    if outcome == "disconnected":
        return
    if outcome == SLOW_CLIENT:
        code, reason = CLOSE_SLOW, SLOW_CLIENT
    elif outcome == STOPPING:
        code, reason = 1001, "server stopping"
    elif outcome == "error":
        code, reason = 1011, "error"
    else:
        code, reason = CLOSE_SIGNED_OUT, outcome
    with suppress(Exception):  # the client may already be gone
        await websocket.close(code=code, reason=reason)


async def _refuse(websocket: WebSocket, error: BluelampError) -> None:
    """Answer the handshake with problem details, or a bare close where the server
    cannot send an HTTP answer to a WebSocket."""
    response = await web_errors.handle_bluelamp_error(websocket, error)
    try:
        await websocket.send_denial_response(response)
    except RuntimeError:
        await websocket.close(code=1008, reason=error.code)
