"""A small OSRM-compatible routing server for tests, on loopback in a thread.

It answers OSRM's table and route services (``/table/v1/<profile>/...`` and
``/route/v1/<profile>/...``) from its own "road network": a Manhattan grid, so the
road distance between two points is the north-south plus the east-west distance, and
every road is driven at 36 km/h (10 m/s) plus 30 s to get going. The figures differ
from any straight-line estimate, so a test can tell which one Bluelamp used.

Points north of ``ISLAND_LAT`` lie on an island with no road to the mainland: the
table answers null for them, as OSRM does for unroutable pairs.
"""

from __future__ import annotations

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SPEED_MPS = 10.0
START_S = 30.0
ISLAND_LAT = 60.0


def road_metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Road distance on the grid between two (lat, lon) points."""
    mean_lat = math.radians((a[0] + b[0]) / 2)
    north = abs(a[0] - b[0]) * 111_195.0
    east = abs(a[1] - b[1]) * 111_320.0 * math.cos(mean_lat)
    return north + east


def road_seconds(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Driving time on the grid between two (lat, lon) points."""
    return START_S + road_metres(a, b) / SPEED_MPS


def connected(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return (a[0] > ISLAND_LAT) == (b[0] > ISLAND_LAT)


class RouterServer:
    """Start with ``start()`` (or as a context manager); ``url`` is its base URL.

    ``requests`` lists every path asked for; ``delay_s`` makes each answer late (to test
    timeouts); ``broken`` makes it answer 500."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.delay_s = 0.0
        self.broken = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server API)
                server.requests.append(self.path)
                if server.delay_s:
                    time.sleep(server.delay_s)
                if server.broken:
                    return self._send(500, {"code": "InternalError", "message": "broken on purpose"})
                status, body = server.answer(self.path)
                self._send(status, body)

            def _send(self, status: int, body: dict) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> RouterServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RouterServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def answer(self, path: str) -> tuple[int, dict]:
        parts = urlsplit(path)
        segments = parts.path.strip("/").split("/")
        if len(segments) != 4 or segments[1] != "v1" or segments[0] not in ("table", "route"):
            return 400, {"code": "InvalidUrl", "message": "expected /table/v1/<profile>/<coordinates>"}
        try:
            points = [(float(lat), float(lon)) for lon, lat in (p.split(",") for p in segments[3].split(";"))]
        except ValueError:
            return 400, {"code": "InvalidQuery", "message": "coordinates are lon,lat;lon,lat"}
        query = parse_qs(parts.query)
        if segments[0] == "route":
            if len(points) != 2:
                return 400, {"code": "InvalidQuery", "message": "two points only"}
            a, b = points
            if not connected(a, b):
                return 400, {"code": "NoRoute", "message": "Impossible route between points"}
            return 200, {
                "code": "Ok",
                "routes": [{"duration": road_seconds(a, b), "distance": road_metres(a, b), "legs": []}],
                "waypoints": [],
            }
        sources = _indexes(query.get("sources"), len(points))
        destinations = _indexes(query.get("destinations"), len(points))
        annotations = (query.get("annotations") or ["duration"])[0].split(",")

        def cell(a, b, measure):
            if not connected(a, b):
                return None
            return round(measure(a, b), 1)

        body: dict = {"code": "Ok"}
        if "duration" in annotations:
            body["durations"] = [[cell(points[s], points[d], road_seconds) for d in destinations] for s in sources]
        if "distance" in annotations:
            body["distances"] = [[cell(points[s], points[d], road_metres) for d in destinations] for s in sources]
        return 200, body


def _indexes(values: list[str] | None, count: int) -> list[int]:
    if not values or values[0] == "all":
        return list(range(count))
    return [int(v) for v in values[0].split(";")]
