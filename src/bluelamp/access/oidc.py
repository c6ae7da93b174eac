"""Sign-in through a force's OpenID Connect provider (Entra ID or similar).

Two halves. ``OidcClient`` is the relying party: discovery, the authorization request
(authorization code with PKCE S256, state and nonce) and the code exchange, through
Authlib, and the ID token's checks (signature against the provider's JWKS, issuer,
audience, nonce, expiry) through joserfc and Authlib's OpenID claims. It talks HTTP
to the provider and never to the database.

``sign_in_with_oidc`` is the use case: it decides who the verified account is in
Bluelamp (the linking rules below), refuses disabled users, starts a session exactly
as a password sign-in does, and audits every outcome.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from bluelamp.access import audit, queries
from bluelamp.access.audit import Audit, Outcome
from bluelamp.access.model import Force, User, WebSession
from bluelamp.access.policy import Actor, Marking
from bluelamp.access.service import USERNAME
from bluelamp.access.sessions import SessionPolicy, SignInResult, end_session, start_session, token_hash
from bluelamp.clock import Clock
from bluelamp.errors import BluelampError, ConfigError, Denied, Unauthenticated, Unavailable

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Only asymmetric signatures: the key must come from the provider's published JWKS.
SIGNING_ALGORITHMS = re.compile(r"^(RS|PS|ES)(256|384|512)$|^EdDSA$")


@dataclass(frozen=True)
class OidcConfig:
    """One provider, one client registration, one force (from Settings)."""

    issuer: str
    client_id: str
    client_secret: str = ""
    force_id: str = ""
    create_users: bool = False
    scope: str = "openid email profile"
    timeout_seconds: float = 10.0
    leeway_seconds: int = 60  # clock skew allowed between Bluelamp and the provider
    metadata_max_age_seconds: int = 3600


@dataclass(frozen=True)
class PendingSignIn:
    """What the browser must bring back from the provider; kept in a short-lived signed cookie."""

    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str
    next: str = "/"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> PendingSignIn:
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("state", "nonce")):
            raise _failed("the sign-in request is not valid; start again from the sign-in page")
        return cls(
            state=data["state"],
            nonce=data["nonce"],
            code_verifier=str(data.get("code_verifier", "")),
            redirect_uri=str(data.get("redirect_uri", "")),
            next=str(data.get("next", "/")),
        )


@dataclass(frozen=True)
class OidcIdentity:
    """Who the provider says signed in, read from an ID token that verified."""

    issuer: str
    subject: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None


def _failed(detail: str) -> Unauthenticated:
    return Unauthenticated(detail, code="access.oidc_failed")


def _unavailable(detail: str) -> Unavailable:
    return Unavailable(detail, code="access.oidc_unavailable")


class OidcClient:
    """The relying party of one OpenID provider. Keeps the provider's metadata and
    keys for an hour (and fetches the keys again when a token names a new one)."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None
        self._loaded_at = 0.0

    # ------------------------------------------------------------ the provider's documents

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, checked to name our issuer."""
        with self._lock:
            fresh = time.monotonic() - self._loaded_at < self.config.metadata_max_age_seconds
            if self._metadata is not None and fresh:
                return self._metadata
            document = self._get_json(self.config.issuer.rstrip("/") + "/.well-known/openid-configuration")
            if document.get("issuer") != self.config.issuer:
                raise _unavailable(
                    f"the provider's discovery document names issuer {document.get('issuer')!r}, "
                    f"not {self.config.issuer!r}; check BLUELAMP_OIDC_ISSUER"
                )
            missing = [k for k in ("authorization_endpoint", "token_endpoint", "jwks_uri") if not document.get(k)]
            if missing:
                raise _unavailable(f"the provider's discovery document lacks {', '.join(missing)}")
            self._metadata, self._jwks, self._loaded_at = document, None, time.monotonic()
            return document

    def _keys(self, *, refresh: bool = False) -> KeySet:
        metadata = self.metadata()
        with self._lock:
            if self._jwks is None or refresh:
                self._jwks = self._get_json(metadata["jwks_uri"])
            jwks = self._jwks
        try:
            return KeySet.import_key_set(jwks)
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise _unavailable(f"the provider's signing keys cannot be read: {exc}") from None

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=self.config.timeout_seconds, headers={"Accept": "application/json"})
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise _unavailable(
                f"the sign-in provider cannot be reached ({type(exc).__name__}); try again later"
            ) from None
        if not isinstance(document, dict):
            raise _unavailable(f"the sign-in provider answered {url} with something other than a JSON object")
        return document

    def _oauth(self, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret or None,
            scope=self.config.scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            # A confidential client authenticates with its secret; a public one proves itself by PKCE alone.
            token_endpoint_auth_method="client_secret_basic" if self.config.client_secret else "none",
        )

    # ------------------------------------------------------------ the flow

    def begin(self, redirect_uri: str, next_path: str = "/") -> tuple[str, PendingSignIn]:
        """The provider's authorization URL to send the browser to, and what to keep until it comes back."""
        endpoint = self.metadata()["authorization_endpoint"]
        pending = PendingSignIn(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(64),  # RFC 7636: 43 to 128 characters
            redirect_uri=redirect_uri,
            next=next_path,
        )
        with self._oauth(redirect_uri) as oauth:
            url, _ = oauth.create_authorization_url(
                endpoint, state=pending.state, code_verifier=pending.code_verifier, nonce=pending.nonce
            )
        return url, pending

    def finish(self, pending: PendingSignIn, params: Mapping[str, str], *, now: datetime) -> OidcIdentity:
        """Check the provider's answer against what was sent, exchange the code (with the
        PKCE verifier) and verify the ID token; the identity it vouches for."""
        if params.get("error") and not params.get("state"):
            # Some providers drop the state from error answers; say only the error code, not its
            # free text, which could be anyone's words since nothing ties this answer to our request.
            raise _failed(f"the sign-in provider did not sign you in ({_error_code(params['error'])}); start again")
        if not secrets.compare_digest(str(params.get("state", "")), pending.state):
            raise _failed("the sign-in request expired or was tampered with; start again from the sign-in page")
        if params.get("error"):
            description = (params.get("error_description") or params["error"])[:300]
            raise _failed(f"the sign-in provider did not sign you in: {description}")
        code = params.get("code")
        if not code:
            raise _failed("the sign-in provider sent no authorization code; start again from the sign-in page")
        metadata = self.metadata()
        try:
            with self._oauth(pending.redirect_uri) as oauth:
                token = oauth.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=pending.code_verifier,
                    timeout=self.config.timeout_seconds,
                )
        except OAuthError as exc:
            raise _failed(f"the sign-in provider refused the sign-in ({exc.error}); start again") from None
        except (requests.RequestException, ValueError) as exc:
            raise _unavailable(f"the sign-in provider's token endpoint failed ({type(exc).__name__})") from None
        if not token.get("id_token"):
            raise _failed("the sign-in provider sent no ID token; is the 'openid' scope allowed for Bluelamp?")
        claims = self._verified_claims(token["id_token"], pending.nonce, token.get("access_token"), now)
        return OidcIdentity(
            issuer=claims["iss"],
            subject=str(claims["sub"]),
            email=claims.get("email") or None,
            email_verified=claims.get("email_verified") in (True, "true"),  # some providers send a string
            name=claims.get("name") or None,
        )

    def _verified_claims(self, id_token: str, nonce: str, access_token: str | None, now: datetime) -> CodeIDToken:
        offered = self.metadata().get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(
            algorithms=[a for a in offered if SIGNING_ALGORITHMS.match(a)] or ["RS256"], strict_check_header=False
        )
        try:
            try:
                decoded = jwt.decode(id_token, self._keys(), registry=registry)
            except InvalidKeyIdError:  # the provider rolled its keys since we fetched them
                decoded = jwt.decode(id_token, self._keys(refresh=True), registry=registry)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {
                    "iss": {"essential": True, "value": self.config.issuer},
                    "aud": {"essential": True, "value": self.config.client_id},
                    "sub": {"essential": True},
                    "exp": {"essential": True},
                    "nonce": {"essential": True, "value": nonce},
                },
                {"nonce": nonce, "client_id": self.config.client_id, "access_token": access_token},
            )
            claims.validate(now=int(now.timestamp()), leeway=self.config.leeway_seconds)
        except (JoseError, ValueError) as exc:
            raise _failed(
                f"the sign-in provider's ID token does not verify ({_jose_reason(exc)}); start again"
            ) from None
        return claims


def _error_code(value: str) -> str:
    return value if re.fullmatch(r"[a-z_]{1,40}", value) else "an error"


def _jose_reason(exc: Exception) -> str:
    return getattr(exc, "description", None) or getattr(exc, "error", None) or type(exc).__name__


# ---------------------------------------------------------------- who the account is in Bluelamp


def sign_in_with_oidc(
    session: Session,
    identity: OidcIdentity,
    *,
    config: OidcConfig,
    ip: str,
    user_agent: str | None,
    clock: Clock,
    policy: SessionPolicy,
    previous_token: str | None = None,
) -> SignInResult:
    """Find the Bluelamp user the provider vouched for and start a session for them.

    First the user linked to (issuer, subject). Otherwise, on first use, the one user
    of the configured force whose email equals the provider's *verified* email (case
    aside), which links the subject to them; or, with ``create_users``, a new user of
    the force with no roles, for a force admin to complete. Anyone else is refused, as
    are disabled users. Refusals are audited in the caller's transaction and returned
    in ``error``; nothing is linked or created for a refused sign-in. As with a password,
    the session is new and the one the browser held before (``previous_token``) ends.
    """
    anonymous = Actor(
        user_id=None,
        username=(identity.email or f"oidc:{identity.subject}")[:120],
        force_id=config.force_id,
        ip=ip,
        via="web",
    )

    def refuse(error: BluelampError, why: str, user: User | None = None) -> SignInResult:
        actor = anonymous if user is None else _actor_of(user, ip)
        detail = {"method": "oidc", "why": why, "issuer": identity.issuer, "subject": identity.subject}
        audit.append(session, actor, Audit("signin", Outcome.FAILED, "user", user.id if user else None, detail), clock)
        return SignInResult(error=error)

    user = queries.user_by_oidc_subject(session, identity.issuer, identity.subject)
    if user is None:
        unknown = Denied(
            f"no Bluelamp account of this force matches {identity.email or 'your account'}; "
            "ask your force's Bluelamp administrator to add you",
            code="access.oidc_unknown_user",
        )
        if not identity.email:
            return refuse(unknown, "the provider sent no email to match")
        if not identity.email_verified:
            return refuse(unknown, "the provider did not say the email is verified")
        candidates = queries.force_users_by_email(session, config.force_id, identity.email)
        if len(candidates) > 1:
            return refuse(unknown, f"{len(candidates)} users of the force share this email")
        if candidates:
            user = candidates[0]
            if user.oidc_subject is not None:
                return refuse(unknown, "the matching user is linked to another provider account", user)
            if user.disabled_at is not None:
                return refuse(_disabled(), "account disabled", user)
            user.oidc_issuer, user.oidc_subject = identity.issuer, identity.subject
            audit.append(
                session,
                _actor_of(user, ip),
                Audit("user.oidc_link", record_type="user", record_id=user.id, detail={"issuer": identity.issuer}),
                clock,
            )
        elif config.create_users:
            user = _create_user(session, identity, config, ip, clock)
            if user is None:
                return refuse(unknown, "no username can be made from the email")
        else:
            return refuse(unknown, "no user of the force has this email")
    if user.disabled_at is not None:
        return refuse(_disabled(), "account disabled", user)
    token, web_session = start_session(session, user, ip=ip, user_agent=user_agent, clock=clock, policy=policy)
    audit.append(
        session,
        _actor_of(user, ip),
        Audit("signin", record_type="user", record_id=user.id, detail={"method": "oidc"}),
        clock,
    )
    previous = session.get(WebSession, token_hash(previous_token)) if previous_token else None
    if previous is not None:
        end_session(session, previous, _actor_of(user, ip), clock)
    return SignInResult(user=user, token=token, web_session=web_session)


def record_oidc_failure(session: Session, error: BluelampError, *, config: OidcConfig, ip: str, clock: Clock) -> None:
    """Audit a sign-in that failed before anyone was identified (tampered state, a provider error)."""
    actor = Actor(user_id=None, username="(oidc)", force_id=config.force_id or None, ip=ip, via="web")
    detail = {"method": "oidc", "why": error.detail, "code": error.code}
    audit.append(session, actor, Audit("signin", Outcome.FAILED, detail=detail), clock)


def _disabled() -> Denied:
    return Denied(
        "your Bluelamp account is disabled; ask your force's Bluelamp administrator",
        code="access.oidc_disabled_user",
    )


def _actor_of(user: User, ip: str) -> Actor:
    return Actor(user_id=user.id, username=user.username, force_id=user.force_id, ip=ip, via="web")


def _create_user(session: Session, identity: OidcIdentity, config: OidcConfig, ip: str, clock: Clock) -> User | None:
    """A user of the force with no roles: they can sign in, and do nothing until a force admin gives them roles."""
    if session.get(Force, config.force_id) is None:
        raise ConfigError(f"BLUELAMP_OIDC_FORCE_ID names no force ({config.force_id!r})", code="config.invalid")
    username = (identity.email or "").strip().lower()
    if not USERNAME.match(username) or queries.user_by_username(session, username) is not None:
        return None
    now = clock.now()
    user = User(
        id=clock.new_id(),
        username=username,
        display_name=(identity.name or username)[:200],
        email=identity.email,
        force_id=config.force_id,
        clearance=Marking.OFFICIAL.value,
        oidc_issuer=identity.issuer,
        oidc_subject=identity.subject,
        created_at=now,
    )
    session.add(user)
    session.flush()
    audit.append(
        session,
        _actor_of(user, ip),
        Audit(
            "user.create",
            record_type="user",
            record_id=user.id,
            detail={"username": username, "roles": [], "clearance": user.clearance, "via": "oidc"},
        ),
        clock,
    )
    return user
