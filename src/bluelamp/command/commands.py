"""What callers of the command service ask for: plain data, validated by the service."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Thrive:
    """A THRIVE assessment: each part a structured field, never one free-text blob."""

    threat: str
    harm: str
    risk: str
    investigation: str
    vulnerability: str
    engagement: str


@dataclass(frozen=True)
class CallerDetails:
    name: str | None = None
    phone: str | None = None
    callback_consent: bool = False


@dataclass(frozen=True)
class NewIncident:
    """A new call, creating a new incident (or, with ``attach_to``, joining an existing one)."""

    source: str
    category: str
    lat: float | None
    lon: float | None
    address: str = ""
    description: str = ""
    qualifiers: tuple[str, ...] = ()
    grade: str | None = None
    thrive: Thrive | None = None
    caller: CallerDetails = field(default_factory=CallerDetails)
    # Outside the force's area a location is allowed only with a reason.
    outside_area_reason: str | None = None
    # The same submission twice (a double click, a retried request) creates one incident.
    idempotency_key: str | None = None
    # Attach this call to an existing incident (a duplicate call) instead of creating one.
    attach_to: str | None = None
    marking: str | None = None
    external_id: str | None = None  # the sending agency's id (EIDO import)
