"""The simulator's way in: Bluelamp's public HTTP API with a bearer token, and the
Traccar OsmAnd ingest for positions (as a phone or tracker sends them). Nothing else.

Problems come back as ``ApiError`` (the server's problem details: status, code, detail);
a server that cannot be reached raises ``Unreachable``."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

USER_AGENT = "bluelamp-simulate"
REASON = "simulated demo activity (bluelamp simulate)"


class Unreachable(Exception):
    """The server did not answer (refused, timed out, name unknown)."""


class ApiError(Exception):
    """The server answered with a problem."""

    def __init__(self, status: int, code: str, detail: str, body: dict | None = None) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.body = body or {}


@dataclass(frozen=True)
class Fix:
    """A position to report through the OsmAnd ingest."""

    device_id: str
    lat: float
    lon: float
    speed_mps: float
    bearing: float | None
    accuracy_m: float = 8.0
    battery: float | None = None
    alarm: str | None = None


@dataclass(frozen=True)
class FixResult:
    device_id: str
    ok: bool
    code: str | None = None
    detail: str | None = None


KNOTS_PER_MPS = 1 / 0.514444


class Api:
    """Bluelamp's HTTP API as one program (a token) sees it."""

    def __init__(self, url: str, token: str, *, timeout: float = 15.0, ingest_workers: int = 4) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self.session = self._new_session(auth=True)
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=ingest_workers, thread_name_prefix="sim-ingest")
        self.requests = 0

    def _new_session(self, *, auth: bool) -> requests.Session:
        session = requests.Session()
        session.headers["User-Agent"] = USER_AGENT
        if auth:
            session.headers["Authorization"] = f"Bearer {self.token}"
            session.headers["X-Bluelamp-Reason"] = REASON
        with self._lock:
            self._sessions.append(session)
        return session

    def close(self) -> None:
        """Finish the reports under way and close every connection (a server stopping
        waits for open ones)."""
        self._pool.shutdown(wait=True)
        with self._lock:
            for session in self._sessions:
                session.close()

    # ------------------------------------------------------------ JSON API

    def call(self, method: str, path: str, *, json: Any = None, params: Any = None, headers: dict | None = None):
        """One request; the decoded JSON answer (None for 204)."""
        self.requests += 1
        try:
            answer = self.session.request(
                method, self.url + path, json=json, params=params, headers=headers, timeout=self.timeout
            )
        except requests.ConnectionError as exc:
            raise Unreachable(_reason(exc)) from None
        except requests.Timeout:
            raise Unreachable(f"no answer within {self.timeout:g} s") from None
        if answer.status_code >= 400:
            raise _problem(answer)
        if answer.status_code == 204 or not answer.content:
            return None
        return answer.json()

    def get(self, path: str, **params):
        return self.call("GET", path, params=params or None)

    def post(self, path: str, body: Any = None, *, headers: dict | None = None):
        return self.call("POST", path, json=body if body is not None else {}, headers=headers)

    def alive(self) -> bool:
        """True when /livez answers."""
        try:
            return self.session.get(self.url + "/livez", timeout=3).status_code == 200
        except requests.RequestException:
            return False

    def wait_until_alive(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """True once /livez answers; False after ``seconds`` or when ``stop`` is set."""
        stop = stop or threading.Event()
        deadline = time.monotonic() + seconds
        while True:
            if self.alive():
                return True
            if time.monotonic() >= deadline or stop.wait(0.5):
                return False

    # ------------------------------------------------------------ OsmAnd ingest

    def report(self, fixes: list[Fix], *, timestamp_ms: int | None = None) -> list[FixResult]:
        """Send fixes through ``/ingest/osmand`` as Traccar Client does (one GET each), a few at
        a time; the device clock is the wall clock (the ingest refuses fixes from the future)."""
        if not fixes:
            return []
        at = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
        self.requests += len(fixes)
        return list(self._pool.map(lambda fix: self._report_one(fix, at), fixes))

    def _report_one(self, fix: Fix, at: int) -> FixResult:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._new_session(auth=False)
        params = {
            "id": fix.device_id,
            "timestamp": str(at),
            "lat": f"{fix.lat:.6f}",
            "lon": f"{fix.lon:.6f}",
            "speed": f"{fix.speed_mps * KNOTS_PER_MPS:.1f}",
            "accuracy": f"{fix.accuracy_m:.0f}",
        }
        if fix.bearing is not None:
            params["bearing"] = f"{fix.bearing:.0f}"
        if fix.battery is not None:
            params["batt"] = f"{fix.battery:.0f}"
        if fix.alarm:
            params["alarm"] = fix.alarm
        try:
            answer = session.get(self.url + "/ingest/osmand", params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            return FixResult(fix.device_id, False, "unreachable", _reason(exc))
        if answer.status_code == 200:
            return FixResult(fix.device_id, True)
        problem = _problem(answer)
        return FixResult(fix.device_id, False, problem.code, problem.detail)


def _problem(answer: requests.Response) -> ApiError:
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    code = str(body.get("code") or f"http.{answer.status_code}")
    detail = str(body.get("detail") or body.get("title") or answer.reason or "refused")
    return ApiError(answer.status_code, code, detail, body)


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker, words in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "name not known"),
        ("timed out", "timed out"),
        ("RemoteDisconnected", "the connection closed"),
    ):
        if marker in text:
            return words
    return text.splitlines()[0][:120] if text else type(exc).__name__
