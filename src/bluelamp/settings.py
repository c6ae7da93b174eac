"""The one settings class. Only this module reads the environment.

Settings are built once at start-up (``Settings()`` in the CLI or ``create_app``'s
caller) and passed down; nothing builds them at import time.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class Settings(BaseSettings):
    """Bluelamp's configuration, read from ``BLUELAMP_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="BLUELAMP_", extra="ignore")

    database_url: str = Field(
        "sqlite:///bluelamp.db",
        description="Where the data lives: sqlite:///PATH for an embedded file, "
        "postgresql://USER:PASSWORD@HOST:PORT/DB for PostgreSQL with PostGIS.",
    )
    host: str = Field("127.0.0.1", description="Address `bluelamp serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `bluelamp serve` listens on.")
    workers: int = Field(1, ge=1, le=64, description="Web worker processes for `bluelamp serve`.")
    secret_key: SecretStr = Field(
        SecretStr("change-me-in-production"),
        description="Secret used to sign cookies and tokens. Set a long random value in production.",
    )
    sqlite_busy_timeout_ms: int = Field(
        5000,
        ge=0,
        description="How long a SQLite writer waits for a lock before failing, in milliseconds.",
    )
    tile_url: str = Field(
        "",
        description="Map tile URL template for Leaflet (e.g. https://tile.example/{z}/{x}/{y}.png). "
        "Empty: maps draw without a base layer, so they work with no tile server.",
    )
    log_level: str = Field("info", description="Log level: debug, info, warning or error.")
    demo_force_id: str = Field(
        "staffordshire", description="Force id that `bluelamp demo` seeds and the home page shows first."
    )
    session_cookie_secure: bool = Field(
        True,
        description="Send the session cookie only over HTTPS (browsers treat http://localhost as secure). "
        "Turn off only behind a proxy that terminates TLS and forwards plain HTTP on a private network.",
    )
    session_idle_minutes: int = Field(30, ge=1, description="A session ends after this many minutes without use.")
    session_max_hours: int = Field(12, ge=1, description="A session ends this many hours after sign-in (a shift).")
    signin_window_seconds: int = Field(
        900, ge=60, description="Window over which failed sign-ins are counted for throttling, in seconds."
    )
    signin_max_failures_per_account: int = Field(
        5, ge=1, description="Failed sign-ins for one account within the window before it is throttled."
    )
    signin_max_failures_per_address: int = Field(
        20, ge=1, description="Failed sign-ins from one address within the window before it is throttled."
    )
    token_cache_seconds: int = Field(
        5,
        ge=0,
        le=300,
        description="A web worker remembers a bearer token's user, roles and clearance this many seconds, so API "
        "calls skip the lookup. Revoking a token, disabling a user or changing roles or clearance through Bluelamp "
        "takes effect at once in every worker (with one worker, or across workers through the live-feed relay); "
        "made from the CLI with several workers and no relay, within this time. 0: look up every request.",
    )
    reason_valid_minutes: int = Field(
        60, ge=1, description="How long a stated reason for viewing personal data lasts before it is asked again."
    )
    static_dir: Path | None = Field(
        None, description="Override the folder static assets are served from (default: the packaged ones)."
    )
    oidc_issuer: str = Field(
        "",
        description="OpenID Connect provider's issuer URL, exactly as its tokens carry it "
        "(Entra ID: https://login.microsoftonline.com/TENANT-ID/v2.0). Empty: no OpenID Connect sign-in.",
    )
    oidc_client_id: str = Field(
        "", validate_default=True, description="Client (application) id Bluelamp is registered with at the provider."
    )
    oidc_client_secret: SecretStr = Field(
        SecretStr(""), description="Client secret for the token request. Empty: a public client (PKCE only)."
    )
    oidc_force_id: str = Field(
        "", validate_default=True, description="The force whose users sign in through the OpenID Connect provider."
    )
    oidc_button_label: str = Field(
        "Sign in with your force account", description="Text of the OpenID Connect button on the sign-in page."
    )
    oidc_create_users: bool = Field(
        False,
        description="Create a user with no roles (for a force admin to complete) when a verified email matches "
        "nobody. Off: only users created beforehand may sign in; anyone else is refused.",
    )
    oidc_redirect_url: str = Field(
        "",
        description="Callback URL registered at the provider. Empty: derived from the request "
        "(https://HOST/sign-in/oidc/callback); set it behind a proxy that rewrites the host or scheme.",
    )

    position_stale_seconds: int = Field(
        120, ge=5, description="A unit whose last position is this many seconds old shows as stale."
    )
    position_offline_seconds: int = Field(
        900, ge=10, description="A unit whose last position is this many seconds old shows as offline."
    )
    position_retention_days: int = Field(
        30, ge=1, description="Trail positions older than this are deleted (and older fixes refused)."
    )
    position_future_seconds: int = Field(
        300, ge=0, description="How far in the future a fix's time may be (device clock drift) before it is refused."
    )
    position_max_batch: int = Field(
        10000, ge=1, description="The most positions one JSON batch may carry (larger: 413)."
    )
    mobile_position_seconds: int = Field(
        30,
        ge=5,
        le=600,
        description="While an officer shares their location in the officer app (on duty, with their consent), "
        "the phone sends its position this often, in seconds.",
    )
    opendata_rate_per_second: float = Field(
        15.0,
        gt=0,
        description="The open-data API (/api/) lets each client make this many requests a second on average "
        "(a leaky bucket, as data.police.uk does); beyond it, 429.",
    )
    opendata_rate_burst: int = Field(
        30, ge=1, description="The open-data API lets a client burst to this many requests before the rate applies."
    )
    opendata_result_cap: int = Field(
        10000,
        ge=1,
        description="An open-data query for a custom area with more crimes or outcomes than this answers 503, "
        "as data.police.uk does.",
    )
    live_feed_interval_ms: int = Field(
        250, ge=50, description="Live screens get at most one frame per this many milliseconds, batching changes."
    )
    redis_url: str = Field(
        "",
        description="Redis for the live feed across worker processes (redis://host:6379/0). Empty: PostgreSQL "
        "LISTEN/NOTIFY when on PostgreSQL, else in-process only.",
    )

    router_url: str = Field(
        "",
        description="An OSRM-compatible routing server (http://host:5000) for travel times in unit "
        "recommendations. Empty: straight-line distance times a road factor at each unit type's typical speed.",
    )
    router_timeout_ms: int = Field(
        800, ge=50, description="How long a recommendation waits for the router before falling back to straight lines."
    )
    eido_schema_dir: Path | None = Field(
        None,
        description="Folder holding the NENA EIDO JSON schema (Schema/openapi.yaml) to validate EIDO documents "
        "against. Empty: ../shared/spec/eido beside the checkout when present, else documents are not validated.",
    )
    incident_sweep_seconds: int = Field(
        15, ge=1, description="How often the control room's rules (re-assessment prompts, breaches) are checked."
    )

    dedupe_backend: str = Field(
        "duckdb",
        description="Where `bluelamp records dedupe` runs Splink: duckdb (one machine, the default) or spark "
        "(national volumes; needs pyspark and BLUELAMP_SPARK_MASTER).",
    )
    spark_master: str = Field("", description="The Spark master URL for the spark dedupe backend (spark://host:7077).")
    dedupe_threshold: float = Field(
        0.9, gt=0, lt=1, description="Pairs Splink scores at or above this match probability join the merge queue."
    )

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be one of debug, info, warning, error")
        return value

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_over_https(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith("https://") and urlsplit(value).hostname not in LOOPBACK_HOSTS:
            raise ValueError("must be an https:// URL (plain http only on localhost, for testing)")
        return value

    @field_validator("oidc_client_id", "oidc_force_id")
    @classmethod
    def _needed_with_an_issuer(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if info.data.get("oidc_issuer") and not value:
            raise ValueError("must be set when BLUELAMP_OIDC_ISSUER is")
        return value

    @property
    def oidc_enabled(self) -> bool:
        """True when OpenID Connect sign-in is configured."""
        return bool(self.oidc_issuer)

    def oidc_config(self):
        """The OpenID Connect client settings, for access.oidc."""
        from bluelamp.access.oidc import OidcConfig

        return OidcConfig(
            issuer=self.oidc_issuer,
            client_id=self.oidc_client_id,
            client_secret=self.oidc_client_secret.get_secret_value(),
            force_id=self.oidc_force_id,
            create_users=self.oidc_create_users,
        )

    def ingest_limits(self):
        """The position ingest's limits, for the tracking service."""
        from bluelamp.tracking.ingest import IngestLimits

        return IngestLimits(self.position_future_seconds, self.position_retention_days, self.position_max_batch)

    def staleness(self):
        from bluelamp.tracking.runtime import Staleness

        return Staleness(self.position_stale_seconds, self.position_offline_seconds)

    def session_policy(self):
        """The session and throttling limits, for the access services."""
        from bluelamp.access.sessions import SessionPolicy

        return SessionPolicy(
            idle_minutes=self.session_idle_minutes,
            max_hours=self.session_max_hours,
            window_seconds=self.signin_window_seconds,
            max_failures_per_account=self.signin_max_failures_per_account,
            max_failures_per_address=self.signin_max_failures_per_address,
            reason_minutes=self.reason_valid_minutes,
        )

    def described(self) -> list[tuple[str, str, str]]:
        """(environment variable, current value with secrets masked, description) for each setting."""
        rows = []
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown = "********" if value.get_secret_value() else ""
            elif name == "database_url":
                shown = mask_url_password(str(value))
            else:
                shown = "" if value is None else str(value)
            rows.append((f"BLUELAMP_{name.upper()}", shown, field.description or ""))
        return rows


def mask_url_password(url: str) -> str:
    """Hide the password in a database URL (``postgresql://u:***@h/db``)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, location = rest.rpartition("@")
    user, colon, _password = credentials.partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}@{location}"
