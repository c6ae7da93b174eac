"""The error tree. Every failure Bluelamp reports has a stable string code.

Capabilities subclass these kinds; ``web/errors.py`` alone maps a kind to an HTTP
status, and the CLI prints ``error: <message>`` on one line and exits non-zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    """One bad field of an input: where it is and what is wrong with it."""

    field: str
    message: str


class BluelampError(Exception):
    """Base of every error Bluelamp raises on purpose."""

    code: str = "error"
    title: str = "Something went wrong"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        problems: list[FieldProblem] | None = None,
        extra: dict | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.problems = problems or []
        self.extra = extra or {}


class InvalidInput(BluelampError):
    """The input is malformed or breaks a rule of its shape."""

    code = "input.invalid"
    title = "The input is not valid"


class BadRequest(InvalidInput):
    """Input refused where the protocol answers 400 (Traccar's OsmAnd, data.police.uk)."""

    code = "input.bad_request"
    title = "Bad request"


class BadGateway(InvalidInput):
    """Input refused where data.police.uk answers 502 (a two-vertex polygon, an unknown
    force on ``crimes-no-location``): kept so that its clients see what they expect."""

    code = "input.bad_gateway"
    title = "Bad request (answered 502, as data.police.uk does)"


class NotFound(BluelampError):
    """No such record, or one the caller may not see (the two answer alike)."""

    code = "not_found"
    title = "Not found"


class Conflict(BluelampError):
    """The request clashes with the current state (a duplicate, an illegal change)."""

    code = "conflict"
    title = "Conflict with the current state"


class Unauthenticated(BluelampError):
    """The caller is not signed in, or their credentials are not valid."""

    code = "access.unauthenticated"
    title = "Sign-in required"


class Denied(BluelampError):
    """The caller is signed in but may not do this."""

    code = "access.denied"
    title = "Not allowed"


class TooLarge(BluelampError):
    """The request body or batch is over the limit."""

    code = "input.too_large"
    title = "Too large"


class RateLimited(BluelampError):
    """Too many requests in too short a time."""

    code = "rate_limited"
    title = "Too many requests"


class Unavailable(BluelampError):
    """A dependency (the database, a router) cannot be reached."""

    code = "unavailable"
    title = "Service unavailable"


class ConfigError(BluelampError):
    """Bluelamp cannot start with this configuration."""

    code = "config.invalid"
    title = "Configuration error"


@dataclass(frozen=True)
class ErrorCode:
    """A documented error code."""

    code: str
    kind: type[BluelampError]
    meaning: str


@dataclass
class ErrorCatalogue:
    """Every stable code Bluelamp can answer with, for docs/errors.md and /errors/{code}."""

    entries: dict[str, ErrorCode] = field(default_factory=dict)

    def register(self, code: str, kind: type[BluelampError], meaning: str) -> str:
        self.entries[code] = ErrorCode(code, kind, meaning)
        return code


CATALOGUE = ErrorCatalogue()
for _code, _kind, _meaning in [
    ("error", BluelampError, "An unexpected error; the server log has the details."),
    ("input.invalid", InvalidInput, "A field is missing or malformed; `errors` lists each field and what is wrong."),
    ("input.too_large", TooLarge, "The request body or batch is over the limit."),
    ("not_found", NotFound, "No such resource, or one you may not see: the two answer alike."),
    ("conflict", Conflict, "The request clashes with the current state."),
    ("method_not_allowed", InvalidInput, "The path exists but not with this HTTP method."),
    ("access.unauthenticated", Unauthenticated, "Sign in, or send a valid bearer token."),
    ("access.denied", Denied, "You are signed in but your roles do not allow this action."),
    ("rate_limited", RateLimited, "Too many requests; wait and try again."),
    ("unavailable", Unavailable, "A dependency such as the database cannot be reached."),
    ("config.invalid", ConfigError, "A setting is malformed or points at something unusable."),
    ("config.database_url", ConfigError, "BLUELAMP_DATABASE_URL is malformed or names an unsupported database."),
    ("config.database_readonly", ConfigError, "The SQLite database file or its folder cannot be written."),
    ("config.database_missing", ConfigError, "There is no database file yet; run `bluelamp db upgrade`."),
    ("config.schema_outdated", ConfigError, "The database schema is older than the code; run `bluelamp db upgrade`."),
    ("config.port_in_use", ConfigError, "The port `bluelamp serve` should listen on is taken."),
    ("config.listen", ConfigError, "The address `bluelamp serve` should listen on cannot be used."),
    ("access.bad_credentials", Unauthenticated, "Wrong username or password (the same answer whichever was wrong)."),
    ("access.throttled", RateLimited, "Too many failed sign-ins for the account or from the address; wait and retry."),
    ("access.session_expired", Unauthenticated, "The session ended through idleness or age; sign in again."),
    ("access.token_invalid", Unauthenticated, "The bearer token is malformed, unknown or wrong."),
    ("access.token_expired", Unauthenticated, "The bearer token is past its expiry date."),
    ("access.token_revoked", Unauthenticated, "The bearer token was revoked."),
    ("access.csrf", Denied, "The form's CSRF token is missing or wrong; reload the page and try again."),
    ("access.reason_required", Denied, "Say why you need to look at personal data before opening or searching it."),
    ("access.oidc_not_configured", NotFound, "Sign-in through an OpenID Connect provider is not set up here."),
    (
        "access.oidc_failed",
        Unauthenticated,
        "Sign-in through the OpenID Connect provider did not complete (refused there, expired, tampered with, "
        "or an ID token that does not verify); start again.",
    ),
    (
        "access.oidc_unknown_user",
        Denied,
        "The provider's account matches no Bluelamp user of the force (nor a verified email); ask a force admin.",
    ),
    ("access.oidc_disabled_user", Denied, "The Bluelamp account behind the provider's account is disabled."),
    ("access.oidc_unavailable", Unavailable, "The OpenID Connect provider cannot be reached or answered wrongly."),
    ("user.exists", Conflict, "A user with that username already exists."),
    ("organisation.exists", Conflict, "An organisation with that id already exists."),
    ("audit.broken", ConfigError, "The audit chain does not verify: an entry was edited, removed or reordered."),
    ("input.bad_request", BadRequest, "The request is malformed for its protocol (answered 400, as Traccar does)."),
    (
        "input.bad_gateway",
        BadGateway,
        "The request is malformed in a way data.police.uk answers with 502; the open-data API answers alike.",
    ),
    ("station.exists", Conflict, "A station with that code already exists in the force."),
    ("unit.exists", Conflict, "A unit with that call sign already exists in the force."),
    ("unit.illegal_status", Conflict, "The unit's status cannot change that way; `allowed` lists what can follow."),
    ("officer.exists", Conflict, "An officer with that collar number already exists in the force."),
    ("duty.overlap", Conflict, "The officer is already on duty at that time."),
    ("device.exists", Conflict, "A device with that id is already registered."),
    ("device.unknown", BadRequest, "The device is not registered (or not to the caller's force); its fix is refused."),
    ("device.bad_secret", BadRequest, "The device's secret (`key`) is missing or wrong."),
    ("position.invalid", BadRequest, "A position fix is impossible: coordinates, time, speed or battery out of range."),
    (
        "geofence.invalid",
        InvalidInput,
        "The geofence is not a valid GeoJSON polygon (self-intersecting, too few corners).",
    ),
    ("emergency.acknowledged", Conflict, "The emergency was already acknowledged."),
    (
        "access.cross_site",
        Denied,
        "A live feed (WebSocket) was opened with the session cookie from a page of another site; refused.",
    ),
    (
        "live.slow_client",
        Unavailable,
        "The live feed dropped a client that fell behind (WebSocket close 1013); reconnect for a fresh snapshot.",
    ),
    ("force.exists", Conflict, "A force with that id already exists."),
    (
        "force.invalid_id",
        InvalidInput,
        "A force id must be lower-case letters, digits and hyphens (the data.police.uk id).",
    ),
]:
    CATALOGUE.register(_code, _kind, _meaning)
