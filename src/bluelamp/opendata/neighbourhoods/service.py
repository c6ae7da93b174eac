"""What a force's team changes in its public face: its neighbourhoods (boundary, team,
contact details, places), their events and priorities, and the force's public profile.

Decisions:

- **Who**: ``Action.NEIGHBOURHOOD_MANAGE`` (force admins and supervisors), always within
  the actor's own force: a neighbourhood, event or priority of another force answers
  exactly like a missing one. The force's public profile (web site, telephone,
  description, engagement methods, senior officers) takes the same action: it is the
  force's public engagement, kept by the force itself, not by whoever runs the platform
  (``FORCE_MANAGE`` is the platform admin's).
- **Text, not HTML**: data.police.uk serves descriptions, priorities and events as HTML,
  which its clients render as they come. Bluelamp takes plain text and serves it escaped,
  a paragraph per blank-line-separated block, so no one can put script or markup into
  other people's apps.
- **Times**: an event or priority date without an offset is Europe/London wall time (what
  a team means by "Tuesday 7pm"); stored UTC; the API shows local time without a zone,
  as data.police.uk does.
- **Every change moves the force's stamp** (count of neighbourhoods, newest
  ``updated_at``), which each worker's locator compares to know when to reload.

Every change is audited (``neighbourhood.*``, ``force.profile_set``)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.model import Force
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import LONDON, Clock
from bluelamp.errors import CATALOGUE, Conflict, Denied, FieldProblem, InvalidInput, NotFound
from bluelamp.opendata.config import EngagementMethod, PublicPerson, opendata_settings
from bluelamp.opendata.model import Neighbourhood, NeighbourhoodEvent, NeighbourhoodPriority
from bluelamp.opendata.neighbourhoods import geojson, geometry, queries

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DUPLICATE_ID = CATALOGUE.register(
    "neighbourhood.duplicate_id", Conflict, "The GeoJSON file names the same neighbourhood id twice."
)

# Ids go into URLs (/api/{force}/{id}); "neighbourhoods" would be shadowed by the list.
NEIGHBOURHOOD_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
RESERVED_IDS = frozenset({"neighbourhoods"})
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300, pattern=r"^(https?|mailto|tel):\S+$")]
ContactDetails = dict[
    Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")],
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)],
]


# ---------------------------------------------------------------- commands


class Link(BaseModel):
    """A link the neighbourhood page shows (the council, a community group)."""

    model_config = ConfigDict(extra="forbid")

    url: Url
    title: Short
    description: Text | None = None


class Place(BaseModel):
    """A place the public can meet the team (a station, a surgery)."""

    model_config = ConfigDict(extra="forbid")

    name: Short
    type: Annotated[str, StringConstraints(max_length=40)] = "station"
    description: Text | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    postcode: Annotated[str, StringConstraints(strip_whitespace=True, max_length=10)] | None = None
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)


class NeighbourhoodIn(BaseModel):
    """A neighbourhood as its force sets it (replacing what was there under that id)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=NEIGHBOURHOOD_ID, examples=["stafford"])
    name: Short
    boundary: list[Any] = Field(description="One closed ring of [latitude, longitude] vertices")
    centre: tuple[float, float] | None = Field(
        None, description="[latitude, longitude]; the area's centre if not given"
    )
    population: int = Field(0, ge=0, le=100_000_000)
    description: Text | None = Field(None, description="Plain text; served as HTML paragraphs")
    url_force: Url | None = None
    contact_details: ContactDetails = Field(
        default_factory=dict, examples=[{"email": "x@example.org", "telephone": "101"}]
    )
    links: list[Link] = Field(default_factory=list, max_length=50)
    locations: list[Place] = Field(default_factory=list, max_length=50)
    people: list[PublicPerson] = Field(default_factory=list, max_length=100, description="The team")

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value in RESERVED_IDS:
            raise ValueError(f"{value!r} cannot be a neighbourhood id (it is an API path)")
        return value

    @field_validator("centre")
    @classmethod
    def _centre_in_range(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (-90 <= value[0] <= 90 and -180 <= value[1] <= 180):
            raise ValueError("the centre is [latitude, longitude] in degrees")
        return value


class EventIn(BaseModel):
    """A public event a neighbourhood team holds."""

    model_config = ConfigDict(extra="forbid")

    title: Short
    type: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] = "meeting"
    description: Text | None = None
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] | None = None
    start: datetime = Field(
        description="ISO 8601; without an offset, Europe/London time", examples=["2026-03-03T19:00"]
    )
    end: datetime | None = None
    contact_details: ContactDetails = Field(default_factory=dict)


class PriorityIn(BaseModel):
    """A neighbourhood priority: the issue, and what is being done about it."""

    model_config = ConfigDict(extra="forbid")

    issue: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
    issue_date: datetime | None = Field(None, description="When it was raised; now if not given")
    action: Text | None = None
    action_date: datetime | None = Field(None, description="When the action was taken; now if an action is given")


class PriorityChange(BaseModel):
    """A change to a priority: only the fields sent change (``action: null`` clears it)."""

    model_config = ConfigDict(extra="forbid")

    issue: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)] | None = None
    issue_date: datetime | None = None
    action: Text | None = None
    action_date: datetime | None = None


class ForceProfile(BaseModel):
    """The force's public profile, as ``/api/forces/{force}`` and ``.../people`` show it."""

    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    telephone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    description: Text | None = Field(None, description="Plain text; served as HTML paragraphs")
    engagement_methods: list[EngagementMethod] = Field(default_factory=list, max_length=50)
    people: list[PublicPerson] = Field(default_factory=list, max_length=100, description="Senior officers")

    @field_validator("engagement_methods")
    @classmethod
    def _web_links_only(cls, value: list[EngagementMethod]) -> list[EngagementMethod]:
        # Apps show these as links: never a javascript: or data: URL.
        for method in value:
            if method.url is not None and not re.match(r"^(https?|mailto|tel):\S+$", method.url.strip()):
                raise ValueError(f"{method.title}: a link starts with https://, http://, mailto: or tel:")
        return value


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: Any, where: str = "") -> M:
    """``data`` as ``model``, or InvalidInput naming each bad field (prefixed by ``where``)."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            path = ".".join(str(p) for p in error["loc"])
            name = f"{where}.{path}" if where and path else (where or path or "body")
            problems.append(FieldProblem(name, error["msg"]))
        raise InvalidInput("; ".join(f"{p.field}: {p.message}" for p in problems[:5]), problems=problems) from None


# ---------------------------------------------------------------- text as the API's HTML


def html_of(text: str | None) -> str | None:
    """Plain text as the HTML the API serves: escaped, a ``<p>`` per paragraph, ``<br>`` per line."""
    if text is None or not text.strip():
        return None
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "".join("<p>" + "<br>".join(html.escape(line) for line in p.splitlines()) + "</p>" for p in paragraphs)


def text_of(markup: str | None) -> str | None:
    """The plain text ``html_of`` was given (for editing what is stored)."""
    if markup is None:
        return None
    if not markup.startswith("<p>"):
        return html.unescape(markup)
    body = markup.removeprefix("<p>").removesuffix("</p>")
    return html.unescape("\n\n".join(p.replace("<br>", "\n") for p in body.split("</p><p>")))


def local_moment(moment: datetime) -> datetime:
    """An aware UTC time from what a team typed: without an offset it is Europe/London time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment.astimezone(UTC)


# ---------------------------------------------------------------- the force


def _managed_force(session: Session, actor: Actor) -> Force:
    """The actor's force, which they may manage the public face of."""
    require(actor, Action.NEIGHBOURHOOD_MANAGE)
    if actor.force_id is None:
        raise Denied("neighbourhoods belong to a force: only a force's staff manage them")
    force = session.get(Force, actor.force_id)
    if force is None:
        raise NotFound(f"no force {actor.force_id!r}")
    return force


def set_force_profile(session: Session, actor: Actor, profile: ForceProfile | dict, clock: Clock) -> Force:
    """Replace the force's public profile (keeps its publication settings)."""
    force = _managed_force(session, actor)
    profile = validated(ForceProfile, profile)
    force.url = profile.url
    force.telephone = profile.telephone
    force.description = html_of(profile.description)
    stored = dict((force.settings or {}).get("opendata") or {})
    stored["engagement_methods"] = [m.model_dump(mode="json") for m in profile.engagement_methods]
    stored["people"] = [p.model_dump(mode="json") for p in profile.people]
    opendata_settings(stored)  # still valid as a whole
    force.settings = {**(force.settings or {}), "opendata": stored}  # a new dict: JSON columns see reassignment
    session.flush()
    audit.append(
        session,
        actor,
        Audit(
            "force.profile_set",
            record_type="force",
            record_id=force.id,
            detail={"engagement_methods": len(profile.engagement_methods), "people": len(profile.people)},
        ),
        clock,
    )
    return force


def force_profile(session: Session, actor: Actor) -> ForceProfile:
    """The actor's force's public profile, as it would be set (description as plain text)."""
    force = _managed_force(session, actor)
    settings = opendata_settings((force.settings or {}).get("opendata"))
    return ForceProfile(
        url=force.url,
        telephone=force.telephone,
        description=text_of(force.description),
        engagement_methods=settings.engagement_methods,
        people=settings.people,
    )


# ---------------------------------------------------------------- neighbourhoods


def _stamp(session: Session, force_id: str, clock: Clock) -> datetime:
    """The ``updated_at`` for a change: now, but always after the force's newest, so that
    the force's stamp moves even when two changes share a clock reading."""
    now = clock.now()
    newest = queries.newest_update(session, force_id)
    return max(now, newest + timedelta(microseconds=1)) if newest is not None else now


def _put(
    session: Session, force_id: str, command: NeighbourhoodIn, at: datetime, row: Neighbourhood | None
) -> Neighbourhood:
    polygon = geometry.boundary_polygon(command.boundary)
    lat, lon = command.centre if command.centre is not None else geometry.centre_of(polygon)
    if row is None:
        row = Neighbourhood(force_id=force_id, id=command.id)
        session.add(row)
    row.name = command.name
    row.description = html_of(command.description)
    row.url_force = command.url_force
    row.population = str(command.population)
    row.centre_lat, row.centre_lon = lat, lon
    row.contact_details = dict(command.contact_details)
    row.links = [link.model_dump(mode="json") for link in command.links]
    row.locations = [place.model_dump(mode="json") for place in command.locations]
    row.people = [person.model_dump(mode="json") for person in command.people]
    row.boundary = [[float(lat_), float(lon_)] for lat_, lon_ in command.boundary]
    row.updated_at = at
    return row


def set_neighbourhood(session: Session, actor: Actor, command: NeighbourhoodIn | dict, clock: Clock) -> Neighbourhood:
    """Create or replace one neighbourhood of the actor's force (its events and priorities stay)."""
    force = _managed_force(session, actor)
    command = validated(NeighbourhoodIn, command)
    existing = queries.neighbourhood(session, force.id, command.id, with_boundary=True)
    row = _put(session, force.id, command, _stamp(session, force.id, clock), existing)
    session.flush()
    audit.append(
        session,
        actor,
        Audit(
            "neighbourhood.set",
            record_type="neighbourhood",
            record_id=command.id,
            detail={"replaced": existing is not None, "vertices": len(command.boundary)},
        ),
        clock,
    )
    return row


def set_neighbourhood_feature(
    session: Session, actor: Actor, feature: Any, clock: Clock, *, neighbourhood_id: str | None = None
) -> Neighbourhood:
    """``set_neighbourhood`` from a GeoJSON Feature; ``neighbourhood_id`` (from a URL)
    stands in for a missing ``id`` property and must match a given one."""
    _managed_force(session, actor)
    fields = geojson.fields_of_feature(feature)
    if neighbourhood_id is not None:
        if fields.get("id") is None:
            fields["id"] = neighbourhood_id
        elif fields["id"] != neighbourhood_id:
            raise InvalidInput(
                f"the feature's id {fields['id']!r} is not {neighbourhood_id!r}",
                problems=[FieldProblem("properties.id", "does not match the neighbourhood in the path")],
            )
    return set_neighbourhood(session, actor, validated(NeighbourhoodIn, fields, "properties"), clock)


def remove_neighbourhood(session: Session, actor: Actor, neighbourhood_id: str, clock: Clock) -> None:
    """Remove a neighbourhood of the actor's force with its events and priorities."""
    force = _managed_force(session, actor)
    if queries.neighbourhood(session, force.id, neighbourhood_id) is None:
        raise NotFound(f"no neighbourhood {neighbourhood_id!r}")
    at = _stamp(session, force.id, clock)
    queries.delete_neighbourhoods(session, force.id, [neighbourhood_id])
    queries.touch_newest(session, force.id, at)
    session.expire_all()
    audit.append(
        session, actor, Audit("neighbourhood.remove", record_type="neighbourhood", record_id=neighbourhood_id), clock
    )


@dataclass(frozen=True)
class Loaded:
    """What a GeoJSON load did: ids set (created or replaced), removed, and left alone."""

    set: list[str]
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def parse_collection(data: Any) -> list[NeighbourhoodIn]:
    """Every neighbourhood of a GeoJSON FeatureCollection, checked; InvalidInput listing
    every bad feature (``features[3].geometry: ...``), Conflict for an id given twice."""
    features = geojson.features_of_collection(data)
    parsed: list[NeighbourhoodIn] = []
    problems: list[FieldProblem] = []
    for n, feature in enumerate(features):
        where = f"features[{n}]"
        try:
            parsed.append(validated(NeighbourhoodIn, geojson.fields_of_feature(feature, where), f"{where}.properties"))
        except InvalidInput as exc:
            problems.extend(exc.problems or [FieldProblem(where, exc.detail)])
    if problems:
        raise InvalidInput(
            f"{len(problems)} problem(s) in the file, first: {problems[0].field}: {problems[0].message}",
            problems=problems,
        )
    ids = [n.id for n in parsed]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise Conflict(
            f"neighbourhood ids given more than once: {', '.join(twice)}", code=DUPLICATE_ID, extra={"ids": twice}
        )
    if not parsed:
        raise InvalidInput("the file has no neighbourhoods", problems=[FieldProblem("features", "empty")])
    return parsed


def load_neighbourhoods(session: Session, actor: Actor, data: Any, clock: Clock, *, replace: bool = False) -> Loaded:
    """Set every neighbourhood of a GeoJSON FeatureCollection in the actor's force, in one
    transaction (all or nothing). With ``replace``, the force's neighbourhoods not in the
    file are removed, with their events and priorities; otherwise they are kept."""
    force = _managed_force(session, actor)
    commands = parse_collection(data)
    at = _stamp(session, force.id, clock)
    wanted = {c.id for c in commands}
    others = sorted(set(queries.neighbourhood_ids(session, force.id)) - wanted)
    removed = others if replace else []
    queries.delete_neighbourhoods(session, force.id, removed)
    session.expire_all()
    existing = {row.id: row for row in queries.neighbourhoods(session, force.id, wanted)}
    for command in commands:
        _put(session, force.id, command, at, existing.get(command.id))
    session.flush()
    result = Loaded(set=[c.id for c in commands], removed=removed, kept=[] if replace else others)
    audit.append(
        session,
        actor,
        Audit(
            "neighbourhood.load",
            record_type="force",
            record_id=force.id,
            detail={"set": result.set, "removed": result.removed},
        ),
        clock,
    )
    return result


def neighbourhood_feature(session: Session, actor: Actor, neighbourhood_id: str) -> dict[str, Any]:
    """One neighbourhood of the actor's force as a GeoJSON Feature, as its team would edit it."""
    force = _managed_force(session, actor)
    row = queries.neighbourhood(session, force.id, neighbourhood_id, with_boundary=True)
    if row is None:
        raise NotFound(f"no neighbourhood {neighbourhood_id!r}")
    return geojson.feature_of(row, text_of(row.description))


@dataclass(frozen=True)
class NeighbourhoodSummary:
    id: str
    name: str
    population: str
    upcoming_events: int
    priorities: int
    team: int
    vertices: int
    updated_at: datetime


def list_neighbourhoods(session: Session, actor: Actor, clock: Clock) -> list[NeighbourhoodSummary]:
    """The actor's force's neighbourhoods, by id, with what each has."""
    force = _managed_force(session, actor)
    counts = queries.counts(session, force.id, clock.now())
    return [
        NeighbourhoodSummary(
            id=row.id,
            name=row.name,
            population=row.population,
            upcoming_events=counts.get(row.id, (0, 0))[0],
            priorities=counts.get(row.id, (0, 0))[1],
            team=len(row.people or []),
            vertices=max(len(row.boundary or []) - 1, 0),
            updated_at=row.updated_at,
        )
        for row in queries.neighbourhoods(session, force.id)
    ]


def _neighbourhood_of(session: Session, force_id: str, neighbourhood_id: str) -> Neighbourhood:
    row = queries.neighbourhood(session, force_id, neighbourhood_id)
    if row is None:
        raise NotFound(f"no neighbourhood {neighbourhood_id!r}")
    return row


# ---------------------------------------------------------------- events and priorities, alike

Item = TypeVar("Item", NeighbourhoodEvent, NeighbourhoodPriority)
_RECORD_TYPES = {NeighbourhoodEvent: "neighbourhood_event", NeighbourhoodPriority: "neighbourhood_priority"}


def _found(row: Item | None, what: str, item_id: str, neighbourhood_id: str | None) -> Item:
    """The event or priority looked up in the actor's force, if it is also of
    ``neighbourhood_id`` (when given): else NotFound, as for a missing one."""
    if row is None or neighbourhood_id not in (None, row.neighbourhood_id):
        raise NotFound(f"no {what} {item_id!r}")
    return row


def _audited(
    session: Session, actor: Actor, action: str, row: NeighbourhoodEvent | NeighbourhoodPriority, clock: Clock, **detail
) -> None:
    """A change to an event or priority flushed, then audited with its neighbourhood."""
    session.flush()
    audit.append(
        session,
        actor,
        Audit(
            action,
            record_type=_RECORD_TYPES[type(row)],
            record_id=row.id,
            detail={"neighbourhood": row.neighbourhood_id, **detail},
        ),
        clock,
    )


# ---------------------------------------------------------------- events


def add_event(
    session: Session, actor: Actor, neighbourhood_id: str, event: EventIn | dict, clock: Clock
) -> NeighbourhoodEvent:
    """Add a public event to a neighbourhood of the actor's force."""
    force = _managed_force(session, actor)
    event = validated(EventIn, event)
    _neighbourhood_of(session, force.id, neighbourhood_id)
    start = local_moment(event.start)
    end = local_moment(event.end) if event.end is not None else None
    if end is not None and end < start:
        raise InvalidInput("the event ends before it starts", problems=[FieldProblem("end", "before the start")])
    row = NeighbourhoodEvent(
        id=clock.new_id(),
        force_id=force.id,
        neighbourhood_id=neighbourhood_id,
        title=event.title,
        type=event.type,
        description=html_of(event.description),
        address=event.address,
        start_at=start,
        end_at=end,
        contact_details=dict(event.contact_details),
    )
    session.add(row)
    _audited(session, actor, "neighbourhood.event_add", row, clock)
    return row


def remove_event(
    session: Session, actor: Actor, event_id: str, clock: Clock, *, neighbourhood_id: str | None = None
) -> None:
    """Remove an event (cancelled, or entered by mistake) of the actor's force (and of
    ``neighbourhood_id``, when given)."""
    force = _managed_force(session, actor)
    row = _found(queries.event(session, force.id, event_id), "event", event_id, neighbourhood_id)
    session.delete(row)
    _audited(session, actor, "neighbourhood.event_remove", row, clock)


def neighbourhood_events(session: Session, actor: Actor, neighbourhood_id: str) -> list[NeighbourhoodEvent]:
    """Every event of a neighbourhood of the actor's force, past ones too, newest first."""
    force = _managed_force(session, actor)
    _neighbourhood_of(session, force.id, neighbourhood_id)
    return queries.events(session, force.id, neighbourhood_id)


# ---------------------------------------------------------------- priorities


def add_priority(
    session: Session, actor: Actor, neighbourhood_id: str, priority: PriorityIn | dict, clock: Clock
) -> NeighbourhoodPriority:
    """Add a priority to a neighbourhood of the actor's force."""
    force = _managed_force(session, actor)
    priority = validated(PriorityIn, priority)
    _neighbourhood_of(session, force.id, neighbourhood_id)
    action = html_of(priority.action)
    row = NeighbourhoodPriority(
        id=clock.new_id(),
        force_id=force.id,
        neighbourhood_id=neighbourhood_id,
        issue=html_of(priority.issue),
        issue_at=local_moment(priority.issue_date) if priority.issue_date else clock.now(),
        action=action,
        action_at=(local_moment(priority.action_date) if priority.action_date else clock.now()) if action else None,
    )
    session.add(row)
    _audited(session, actor, "neighbourhood.priority_add", row, clock)
    return row


def update_priority(
    session: Session,
    actor: Actor,
    priority_id: str,
    change: PriorityChange | dict,
    clock: Clock,
    *,
    neighbourhood_id: str | None = None,
) -> NeighbourhoodPriority:
    """Change a priority of the actor's force: usually to say what is being done about it."""
    force = _managed_force(session, actor)
    change = validated(PriorityChange, change)
    row = _found(queries.priority(session, force.id, priority_id), "priority", priority_id, neighbourhood_id)
    sent = change.model_fields_set
    if "issue" in sent:
        if change.issue is None:
            raise InvalidInput("a priority needs an issue", problems=[FieldProblem("issue", "cannot be empty")])
        row.issue = html_of(change.issue)
    if "issue_date" in sent and change.issue_date is not None:
        row.issue_at = local_moment(change.issue_date)
    if "action" in sent:
        row.action = html_of(change.action)
        if row.action is None:
            row.action_at = None
        elif "action_date" not in sent or change.action_date is None:
            row.action_at = clock.now()
    if "action_date" in sent and change.action_date is not None and row.action is not None:
        row.action_at = local_moment(change.action_date)
    _audited(session, actor, "neighbourhood.priority_update", row, clock, fields=sorted(sent))
    return row


def remove_priority(
    session: Session, actor: Actor, priority_id: str, clock: Clock, *, neighbourhood_id: str | None = None
) -> None:
    """Remove a priority of the actor's force (dealt with, or entered by mistake)."""
    force = _managed_force(session, actor)
    row = _found(queries.priority(session, force.id, priority_id), "priority", priority_id, neighbourhood_id)
    session.delete(row)
    _audited(session, actor, "neighbourhood.priority_remove", row, clock)


def neighbourhood_priorities(session: Session, actor: Actor, neighbourhood_id: str) -> list[NeighbourhoodPriority]:
    """The priorities of a neighbourhood of the actor's force, most recently raised first."""
    force = _managed_force(session, actor)
    _neighbourhood_of(session, force.id, neighbourhood_id)
    return queries.priorities(session, force.id, neighbourhood_id)
