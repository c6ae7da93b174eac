"""Security headers on every response (a pure ASGI middleware: no per-request copying)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(tile_url: str) -> str:
    """A CSP with no inline script; map tiles only from the configured tile server."""
    img = ["'self'", "data:", "blob:"]
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        if parts.scheme and parts.netloc:
            host = parts.netloc.replace("a.", "*.", 1) if "{s}" in tile_url else parts.netloc
            img.append(f"{parts.scheme}://{host}")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {' '.join(img)}",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """Adds CSP, nosniff, frame and referrer headers to every HTTP response, and lets any web
    page read the open-data API (``/api/`` outside ``/api/v1/``), errors included, as
    data.police.uk does, so that browser apps written for it work unchanged."""

    def __init__(self, app: ASGIApp, *, tile_url: str = "") -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", content_security_policy(tile_url).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"geolocation=(self), camera=(self), microphone=()"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        path = scope.get("path", "")
        open_data = path.startswith("/api/") and not path.startswith("/api/v1/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                existing = {name.lower() for name, _ in message["headers"]}
                message["headers"] = list(message["headers"]) + [
                    header for header in self.headers if header[0] not in existing
                ]
                if open_data and b"access-control-allow-origin" not in existing:
                    message["headers"].append((b"access-control-allow-origin", b"*"))
            await send(message)

        await self.app(scope, receive, send_with_headers)
