"""A real OpenID Connect provider on loopback for the sign-in tests: oidc-provider-mock
(a Flask app built on Authlib's server) served by werkzeug in a thread.

The mock ignores PKCE, so ``Provider`` checks it as a provider that requires it does:
the token request's ``code_verifier`` must hash (S256) to the ``code_challenge`` of the
authorization request that issued the code, or the code is refused with
``invalid_grant``. It also records token requests, and can alter the claims of the
next ID token after it was signed, to show that Bluelamp checks the signature.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import werkzeug.serving
from authlib.oauth2.rfc7636 import create_s256_code_challenge

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # the mock uses Authlib APIs Authlib now deprecates
    import oidc_provider_mock


class Provider:
    """A WSGI wrapper around the mock provider; ``url`` is its issuer."""

    def __init__(self) -> None:
        self.app = oidc_provider_mock.app(require_nonce=True)
        self.challenges: dict[str, str | None] = {}  # authorization code -> its code_challenge
        self.token_requests: list[dict[str, str]] = []
        self.forged_claims: dict[str, object] | None = None
        self._lock = threading.Lock()
        self.server = werkzeug.serving.make_server("localhost", 0, self, threaded=True)
        self.url = f"http://localhost:{self.server.server_port}"

    def add_user(self, sub: str, **claims: object) -> None:
        """Tell the provider the claims of the account ``sub`` (as its directory would hold them)."""
        response = httpx.put(f"{self.url}/users/{quote(sub, safe='')}", json=claims)
        assert response.status_code == 204, response.text

    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == "/oauth2/authorize" and method == "POST":
            return self._authorize(environ, start_response)
        if path == "/oauth2/token" and method == "POST":
            return self._token(environ, start_response)
        return self.app(environ, start_response)

    def _authorize(self, environ, start_response):
        challenge = parse_qs(environ.get("QUERY_STRING", "")).get("code_challenge", [None])[0]

        def remember_code(status, headers, exc_info=None):
            location = next((value for name, value in headers if name.lower() == "location"), "")
            code = parse_qs(urlsplit(location).query).get("code", [None])[0]
            if code:
                with self._lock:
                    self.challenges[code] = challenge
            return start_response(status, headers, exc_info)

        return self.app(environ, remember_code)

    def _token(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
        with self._lock:
            self.token_requests.append(form)
            known = form.get("code") in self.challenges
            challenge = self.challenges.pop(form.get("code", ""), None)
            forged, self.forged_claims = self.forged_claims, None
        if known and (not challenge or create_s256_code_challenge(form.get("code_verifier", "")) != challenge):
            return _json(start_response, "400 Bad Request", {"error": "invalid_grant", "error_description": "PKCE"})
        if forged is None:
            return self.app(environ, start_response)
        captured: dict = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)
            return lambda data: None

        token = json.loads(b"".join(self.app(environ, capture)))
        header, payload, signature = token["id_token"].split(".")
        claims = {**json.loads(base64.urlsafe_b64decode(payload + "==")), **forged}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        token["id_token"] = f"{header}.{payload}.{signature}"  # the provider's signature over other claims
        return _json(start_response, captured["status"], token)


def _json(start_response, status: str, document: dict) -> list[bytes]:
    body = json.dumps(document).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


@contextmanager
def running_provider() -> Iterator[Provider]:
    """The provider, serving until the block ends."""
    provider = Provider()
    thread = threading.Thread(target=provider.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        provider.server.shutdown()
        provider.server.server_close()
        thread.join(timeout=5)
