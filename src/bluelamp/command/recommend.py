"""Unit recommendations: the nearest suitable units for an incident by travel time,
each with its reasons. The dispatcher decides; this only ranks and explains.

How: the latest-position index (``tracking.index``) finds several times more
candidates than asked for by straight-line distance, holding every capability the
incident needs (so no unit list is scanned); the router estimates each candidate's
travel time in one request; the candidates are ordered by that estimate. A foot
patrol 400 m away can lose to a car 2 km away.

Offline units (no position for ``position_offline_seconds``) come last whatever their
estimate: where they are now is unknown. Committed units (assigned, en route, at
scene, ...) are left out unless the dispatcher asks for them to consider a diversion;
they are then ranked by travel time too, and marked.
"""

from __future__ import annotations

import copy
import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bluelamp.access.model import Force
from bluelamp.access.policy import Action, Actor, markings_up_to
from bluelamp.access.service import force_settings, require
from bluelamp.clock import Clock
from bluelamp.command import queries
from bluelamp.command.config import CommandSettings, command_settings
from bluelamp.command.model import ACTIVE_STATUSES, Incident
from bluelamp.command.routing import Estimate, Origin, Router
from bluelamp.errors import CATALOGUE, Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.tracking.index import CAPABILITY_BITS, Nearby, capability_mask, haversine_km
from bluelamp.tracking.model import COMMITTED, Capability, UnitStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.tracking.runtime import Tracking

CANDIDATES_PER_PLACE = 4  # straight-line candidates per place asked for, re-ordered by travel time
MAX_COUNT = 50
COMMITTED_VALUES = frozenset(s.value for s in COMMITTED)

CATALOGUE.register(
    "dispatch.incident_not_active",
    Conflict,
    "The incident is closed, merged or resolved: units cannot be recommended or sent; `status` says which.",
)


@dataclass(frozen=True)
class Recommendation:
    """One suitable unit for an incident, with why it is suggested."""

    rank: int
    unit_id: str
    call_sign: str
    unit_type: str
    status: str
    freshness: str  # live | stale | offline (tracking's words)
    distance_m: int  # straight line
    eta_seconds: int | None
    eta_basis: str  # how the estimate was reached
    routed: bool  # True: the estimate came from the road router
    capabilities: list[str]
    required_met: bool  # holds every capability the incident needs (always, by construction)
    committed: bool  # on another incident: sending it is a diversion and needs a reason
    current_incident_id: str | None
    current_incident_reference: str | None
    lat: float
    lon: float
    fix_at: datetime | None
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Recommendations:
    """The recommendations for an incident, and what they were chosen for."""

    incident_id: str
    reference: str
    required: list[str]
    required_by: str  # "incident" (category and qualifiers) or "dispatcher" (an override)
    count: int
    units: list[Recommendation]


def recommend(
    session: Session,
    actor: Actor,
    incident_id: str,
    tracking: Tracking,
    router: Router,
    clock: Clock,
    *,
    count: int | None = None,
    required: Iterable[str] | None = None,
    include_committed: bool = False,
) -> list[Recommendation]:
    """The top ``count`` suitable units for an incident, by travel time, each with its reasons."""
    return recommend_for_incident(
        session,
        actor,
        incident_id,
        tracking,
        router,
        clock,
        count=count,
        required=required,
        include_committed=include_committed,
    ).units


def recommend_for_incident(
    session: Session,
    actor: Actor,
    incident_id: str,
    tracking: Tracking,
    router: Router,
    clock: Clock,
    *,
    count: int | None = None,
    required: Iterable[str] | None = None,
    include_committed: bool = False,
) -> Recommendations:
    """``recommend``, with the capabilities the units were chosen for (for screens).

    ``required`` overrides the capabilities the incident's category and qualifiers
    need (the dispatcher's call); an empty list asks for none.

    Dispatchers' work (``incident.dispatch``): it shows where units are, which roles
    that may read incidents but not units (investigators, analysts) must not see."""
    require(actor, Action.INCIDENT_DISPATCH)
    incident = queries.visible_incident(session, actor, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id!r}")
    if incident.status not in ACTIVE_STATUSES:
        raise not_active(incident)
    settings = settings_for(session, incident.force_id)
    if required is None:
        needs = sorted(settings.requirements(incident.opening_category, list(incident.qualifiers or [])))
        required_by = "incident"
    else:
        needs = parse_capabilities(required)
        required_by = "dispatcher"
    wanted = settings.recommend_count if count is None else count
    if not 1 <= wanted <= MAX_COUNT:
        raise InvalidInput(
            f"count must be from 1 to {MAX_COUNT}", problems=[FieldProblem("count", f"from 1 to {MAX_COUNT}")]
        )
    units = recommend_for_point(
        tracking,
        router,
        incident.force_id,
        incident.lat,
        incident.lon,
        needs,
        wanted,
        markings_up_to(actor.clearance),
        road_factor=settings.road_factor,
        for_incident=incident.id,
        include_committed=include_committed,
        references=lambda ids: queries.visible_incident_references(session, actor, ids),
    )
    return Recommendations(incident.id, incident.reference, [str(c) for c in needs], required_by, wanted, units)


def recommend_for_point(
    tracking: Tracking,
    router: Router,
    force_id: str,
    lat: float,
    lon: float,
    required: Iterable[str],
    count: int,
    markings: Iterable[str] | None,
    *,
    road_factor: float | None = None,
    exclude: Iterable[str] = (),
    for_incident: str | None = None,
    include_committed: bool = False,
    references: Callable[[list[str]], dict[str, str]] | None = None,
) -> list[Recommendation]:
    """The core, in memory only: the ``count`` units of a force nearest a point by travel
    time that hold every ``required`` capability and a marking in ``markings``.

    Units already on ``for_incident`` are left out. They need no lookup: a unit on an
    incident is committed (assigned, en route, at scene, ...), so it is not among the
    deployable units at all, and the index knows which incident each committed unit is on."""
    needs = [str(c) for c in required]
    allowed = list(markings) if markings is not None else None
    excluded = list(exclude)
    pool = max(count * CANDIDATES_PER_PLACE, count + 4)
    candidates = tracking.index.nearest(
        force_id, lat, lon, pool, capabilities=needs, exclude=excluded, allowed_markings=allowed
    )
    if include_committed:
        candidates = candidates + committed_nearby(
            tracking, force_id, lat, lon, pool, needs, excluded, allowed, for_incident=for_incident
        )
    ranked = _by_travel_time(tracking, router, candidates, lat, lon, road_factor)[:count]
    short = count - len(ranked)
    if short > 0 and needs:
        # Too few units hold what the incident needs: offer the nearest that do not, after
        # them and saying what they lack. The dispatcher decides whether to send one.
        have = excluded + [n.unit.unit_id for n, _, _ in ranked]
        mask = capability_mask(needs)
        lacking = [
            n
            for n in tracking.index.nearest(force_id, lat, lon, pool, exclude=have, allowed_markings=allowed)
            if n.unit.capabilities & mask != mask
        ]
        ranked += _by_travel_time(tracking, router, lacking, lat, lon, road_factor)[:short]
    if not ranked:
        return []
    incident_ids = sorted({n.unit.incident_id for n, _, _ in ranked if n.unit.incident_id})
    refs = references(incident_ids) if references and incident_ids else {}
    now = tracking.clock.now()
    return [
        _recommendation(rank, nearby, estimate, freshness, needs, refs, now)
        for rank, (nearby, estimate, freshness) in enumerate(ranked, start=1)
    ]


def _by_travel_time(
    tracking: Tracking, router: Router, candidates: list[Nearby], lat: float, lon: float, road_factor
) -> list[tuple[Nearby, Estimate, str]]:
    """Candidates with their travel estimates and freshness, quickest first (offline last)."""
    if not candidates:
        return []
    origins = [Origin(n.unit.lat, n.unit.lon, n.unit.unit_type) for n in candidates]
    estimates = _estimates(router, origins, (lat, lon), road_factor)
    freshness = [tracking.freshness(n.unit) for n in candidates]

    def order(i: int) -> tuple:
        seconds = estimates[i].seconds
        return (freshness[i] == "offline", seconds is None, seconds or 0.0, candidates[i].distance_km)

    return [(candidates[i], estimates[i], freshness[i]) for i in sorted(range(len(candidates)), key=order)]


def committed_nearby(
    tracking: Tracking,
    force_id: str,
    lat: float,
    lon: float,
    k: int,
    required: list[str],
    exclude: list[str],
    markings: list[str] | None,
    *,
    for_incident: str | None = None,
) -> list[Nearby]:
    """The k nearest committed units (for a diversion). The index keeps a grid of
    deployable units only, so this walks the force's units once: it runs only when a
    dispatcher asks to consider diversions, not on every recommendation."""
    mask = capability_mask(required)
    excluded = set(exclude)
    allowed = set(markings) if markings is not None else None
    found = [
        Nearby(state, haversine_km(lat, lon, state.lat, state.lon))
        for state in tracking.index.snapshot(force_id)
        if state.status in COMMITTED_VALUES
        and state.lat is not None
        and state.capabilities & mask == mask
        and state.unit_id not in excluded
        and (for_incident is None or state.incident_id != for_incident)
        and (allowed is None or state.marking in allowed)
    ]
    return heapq.nsmallest(k, found, key=lambda n: n.distance_km)


def _estimates(router: Router, origins: list[Origin], destination: tuple[float, float], factor) -> list[Estimate]:
    estimate = getattr(router, "estimate", None)
    if estimate is not None:
        return estimate(origins, destination, road_factor=factor)
    return [Estimate(s, "router") for s in router.travel_seconds(origins, destination, road_factor=factor)]


def _recommendation(
    rank: int,
    nearby: Nearby,
    estimate: Estimate,
    freshness: str,
    required: list[str],
    references: dict[str, str],
    now: datetime,
) -> Recommendation:
    state = nearby.unit
    committed = state.status in COMMITTED_VALUES
    reference = references.get(state.incident_id) if state.incident_id else None
    eta = None if estimate.seconds is None else int(round(estimate.seconds))
    reasons = [_travel_reason(nearby.distance_km, eta, estimate.basis)]
    if committed:
        on = f" on {reference or 'another incident'}" if state.incident_id else ""
        reasons.append(f"committed: {_words(state.status)}{on}; sending it is a diversion and needs a reason")
    elif state.status == UnitStatus.REFRESHMENTS:
        reasons.append("on refreshments: can be called away")
    else:
        reasons.append(_words(state.status))
    held = {c for c, bit in CAPABILITY_BITS.items() if state.capabilities & bit}
    missing = [c for c in required if c not in held]
    reasons.extend(f"has {_words(c)}" for c in required if c in held)
    if missing:
        reasons.append(f"lacks {', '.join(_words(c) for c in missing)}: no suitable unit nearer; your decision")
    if freshness != "live":
        reasons.append(_freshness_reason(freshness, state.fix_at, now))
    return Recommendation(
        rank=rank,
        unit_id=state.unit_id,
        call_sign=state.call_sign,
        unit_type=state.unit_type,
        status=state.status,
        freshness=freshness,
        distance_m=int(round(nearby.distance_km * 1000)),
        eta_seconds=eta,
        eta_basis=estimate.basis,
        routed=estimate.routed,
        capabilities=[c.value for c, bit in CAPABILITY_BITS.items() if state.capabilities & bit],
        required_met=not missing,
        committed=committed,
        current_incident_id=state.incident_id if committed else None,
        current_incident_reference=reference if committed else None,
        lat=state.lat,
        lon=state.lon,
        fix_at=state.fix_at,
        reasons=reasons,
    )


def _travel_reason(distance_km: float, eta: int | None, basis: str) -> str:
    where = f"{distance_km:.1f} km away"
    if eta is None:
        return f"{where}, travel time unknown ({basis})"
    return f"{where}, about {duration_words(eta)} by road ({basis})"


def _freshness_reason(freshness: str, fix_at: datetime | None, now: datetime) -> str:
    if fix_at is None:
        return "no position fix: where it is now is unknown"
    age = duration_words(max(0, int((now - fix_at).total_seconds())))
    if freshness == "offline":
        return f"offline: last position {age} old, where it is now is unknown"
    return f"stale position: {age} old"


def duration_words(seconds: int) -> str:
    """A duration as a dispatcher says it: "under 1 min", "4 min", "1 h 35 min"."""
    if seconds < 60:
        return "under 1 min"
    minutes = int(round(seconds / 60))
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min" if minutes % 60 else f"{minutes // 60} h"


def _words(value: str) -> str:
    return str(value).replace("_", " ")


def parse_capabilities(values: Iterable[str]) -> list[str]:
    """Capability names from a dispatcher (an override), checked; 422 naming any unknown."""
    found, unknown = set(), []
    for value in values:
        name = str(value).strip().lower()
        if not name:
            continue
        try:
            found.add(Capability(name).value)
        except ValueError:
            unknown.append(name)
    if unknown:
        known = ", ".join(c.value for c in Capability)
        raise InvalidInput(
            f"unknown capability {', '.join(unknown)}; known: {known}",
            problems=[FieldProblem("require", f"unknown capability {u!r}") for u in unknown],
        )
    return sorted(found)


def settings_for(session: Session, force_id: str) -> CommandSettings:
    """A force's command-and-control settings (defaults for anything not set)."""
    force = session.get(Force, force_id)
    if force is None:
        return CommandSettings()
    raw = (force.settings or {}).get("command") or {}
    cached = _settings_cache.get(force_id)
    # Parsing ~50 categories and the urban areas costs more than a recommendation, so
    # the parsed settings are kept while the stored JSON is unchanged (compared, not
    # re-encoded: a dict comparison is far cheaper than json.dumps of the areas).
    if cached is not None and cached[0] == raw:
        return cached[1]
    parsed = command_settings(force_settings(force).command)
    _settings_cache[force_id] = (copy.deepcopy(raw), parsed)
    return parsed


_settings_cache: dict[str, tuple[dict, CommandSettings]] = {}


def not_active(incident: Incident) -> Conflict:
    """An incident that is closed, merged or resolved: no unit can be sent."""
    allowed = sorted(s.value for s in ACTIVE_STATUSES)
    return Conflict(
        f"{incident.reference} is {incident.status}; units can be sent only while it is {', '.join(allowed)}",
        code="dispatch.incident_not_active",
        extra={"status": incident.status, "allowed": allowed},
    )


__all__ = [
    "Recommendation",
    "Recommendations",
    "committed_nearby",
    "duration_words",
    "recommend",
    "recommend_for_incident",
    "recommend_for_point",
]
