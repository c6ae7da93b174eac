"""Records API: persons (with likely duplicates shown before saving), their names,
identifiers, warning markers and addresses; objects, locations and events; links
between records; a record's link chart (JSON, GraphML or CSV).

Reading a record asks for a reason: the ``X-Bluelamp-Reason`` header, or the reason
stated for the web session. Each route parses, calls one service in one unit of work,
and answers; errors are problem details (web/errors.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from bluelamp.access.audit import Audit, Outcome, audited, refused_if_missing
from bluelamp.access.policy import Action
from bluelamp.records import graph as link_chart
from bluelamp.records import person_fields, person_parts, person_reads, persons, pole
from bluelamp.records.model import EventKind, IdentifierKind, LinkRole, MarkerKind, ObjectKind
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter()
TAG = ["records"]

Reader = Annotated[Caller, Depends(allow(Action.PERSON_READ))]
Writer = Annotated[Caller, Depends(allow(Action.PERSON_WRITE))]


# ---------------------------------------------------------------- shapes


def _rows(model: type[BaseModel], rows) -> list:
    names = list(model.model_fields)
    return [model(**{n: getattr(r, n) for n in names}) for r in rows]


def _row(model: type[BaseModel], row):
    return _rows(model, [row])[0]


class PersonOut(BaseModel):
    id: str
    given_names: str
    family_name: str
    dob: str | None = Field(description="Full or partial: 12/03/1985, 03/1985, 1985")
    dob_year: int | None
    dob_month: int | None
    dob_day: int | None
    birth_place: str | None
    gender: str | None
    self_defined_ethnicity: str | None
    officer_ethnicity: str | None
    description: dict[str, Any]
    marking: str
    retention_group: str
    review_at: date | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    merged_into_id: str | None

    @classmethod
    def of(cls, person) -> PersonOut:
        fields = {n: getattr(person, n) for n in cls.model_fields if n != "dob"}
        fields["description"] = dict(person.description or {})
        return cls(**fields, dob=pole.format_dob(person.dob_year, person.dob_month, person.dob_day) or None)


class NameOut(BaseModel):
    id: int
    kind: str
    given_names: str
    family_name: str
    from_date: date | None
    to_date: date | None


class IdentifierOut(BaseModel):
    id: int
    kind: str
    value: str


class MarkerOut(BaseModel):
    id: str
    kind: str
    reason: str
    from_date: date
    to_date: date | None
    created_at: datetime
    created_by: str


class LocationOut(BaseModel):
    id: str
    line1: str
    line2: str
    town: str
    postcode: str
    lat: float | None
    lon: float | None
    uprn: str | None
    description: str | None
    marking: str
    created_at: datetime
    created_by: str


class AddressOut(BaseModel):
    id: int
    kind: str
    from_date: date | None
    to_date: date | None
    location: LocationOut

    @classmethod
    def of(cls, pair) -> AddressOut:
        address, location = pair
        return cls(
            id=address.id,
            kind=address.kind,
            from_date=address.from_date,
            to_date=address.to_date,
            location=_row(LocationOut, location),
        )


class ObjectOut(BaseModel):
    id: str
    kind: str
    vrm: str | None
    vrm_norm: str | None
    make: str | None
    model: str | None
    colour: str | None
    vin: str | None
    phone_number: str | None
    phone_digits: str | None
    imei: str | None
    description: str | None
    serial_number: str | None
    marking: str
    created_at: datetime
    created_by: str


class EventOut(BaseModel):
    id: str
    kind: str
    reference: str
    occurred_from: datetime | None
    occurred_to: datetime | None
    reported_at: datetime
    location_id: str | None
    summary: str
    narrative: str
    incident_id: str | None
    marking: str
    retention_group: str
    review_at: date | None
    created_at: datetime
    created_by: str
    updated_at: datetime


class LinkOut(BaseModel):
    id: str
    from_type: str
    from_id: str
    role: str
    to_type: str
    to_id: str
    from_date: date | None
    to_date: date | None
    note: str | None
    created_at: datetime
    created_by: str


class LinkViewOut(BaseModel):
    """A link seen from one record: which way it points and what is at the other end."""

    link: LinkOut
    direction: Literal["out", "in"]
    other_type: str
    other_id: str
    other_label: str
    other_kind: str

    @classmethod
    def of(cls, view: pole.LinkView) -> LinkViewOut:
        return cls(
            link=_row(LinkOut, view.link),
            direction="out" if view.outgoing else "in",
            other_type=view.other.type,
            other_id=view.other.id,
            other_label=view.other_label,
            other_kind=view.other_kind,
        )


class TimelineOut(BaseModel):
    role: str
    link_id: str
    event: EventOut


class ProfileOut(BaseModel):
    """A person's profile, warning markers first."""

    current_markers: list[MarkerOut]
    past_markers: list[MarkerOut]
    person: PersonOut
    names: list[NameOut]
    identifiers: list[IdentifierOut]
    addresses: list[AddressOut]
    links: list[LinkViewOut]
    timeline: list[TimelineOut] = Field(description="Events the person is linked to, newest first")


class PersonSavedOut(BaseModel):
    person: PersonOut
    names: list[NameOut]
    identifiers: list[IdentifierOut]
    markers: list[MarkerOut]
    addresses: list[AddressOut]


class RecordOut(BaseModel):
    """An object, location or event with its links."""

    links: list[LinkViewOut]


class ObjectDetailOut(RecordOut):
    object: ObjectOut


class LocationDetailOut(RecordOut):
    location: LocationOut


class EventDetailOut(RecordOut):
    event: EventOut


class NodeOut(BaseModel):
    key: str = Field(description="type:id")
    type: str
    id: str
    label: str
    kind: str
    depth: int
    marking: str


class EdgeOut(BaseModel):
    id: str
    source: str
    target: str
    role: str
    from_date: date | None
    to_date: date | None
    via: str = Field(description="link, or address (a person's address row)")


class GraphOut(BaseModel):
    root: str
    depth: int
    truncated: bool = Field(description="True when the chart stopped at its node limit")
    nodes: list[NodeOut]
    edges: list[EdgeOut]


class CodesOut(BaseModel):
    """The codes records use, for forms."""

    self_defined_ethnicity: dict[str, str]
    officer_ethnicity: dict[str, str]
    genders: list[str]
    identifier_kinds: list[str]
    marker_kinds: list[str]
    address_kinds: list[str]
    name_kinds: list[str]
    object_kinds: list[str]
    event_kinds: list[str]
    link_roles: dict[str, list[list[str]]]
    retention_groups: list[str]


# ---------------------------------------------------------------- bodies


class LocationIn(BaseModel):
    line1: str = ""
    line2: str = ""
    town: str = ""
    postcode: str = ""
    lat: float | None = None
    lon: float | None = None
    uprn: str | None = None
    description: str | None = None
    marking: str | None = None

    def command(self) -> pole.NewLocation:
        return pole.NewLocation(**self.model_dump())


class NameIn(BaseModel):
    kind: str = Field(description="alias, previous or nickname")
    given_names: str = ""
    family_name: str = ""
    from_date: date | None = None
    to_date: date | None = None

    def command(self) -> person_parts.OtherName:
        return person_parts.OtherName(**self.model_dump())


class IdentifierIn(BaseModel):
    kind: str = Field(description=", ".join(k.value for k in IdentifierKind))
    value: str

    def command(self) -> person_parts.NewIdentifier:
        return person_parts.NewIdentifier(**self.model_dump())


class MarkerIn(BaseModel):
    kind: str = Field(description=", ".join(k.value for k in MarkerKind))
    reason: str
    from_date: date | None = None
    to_date: date | None = None

    def command(self) -> person_parts.NewMarker:
        return person_parts.NewMarker(**self.model_dump())


class AddressIn(BaseModel):
    """An existing location (``location_id``) or a new address (``location``)."""

    location_id: str | None = None
    location: LocationIn | None = None
    kind: str = "home"
    from_date: date | None = None
    to_date: date | None = None

    def command(self) -> person_parts.NewAddress:
        return person_parts.NewAddress(
            location_id=self.location_id,
            location=self.location.command() if self.location else None,
            kind=self.kind,
            from_date=self.from_date,
            to_date=self.to_date,
        )


class PersonIn(BaseModel):
    """A new person. With likely matches already recorded the answer is 409
    ``person.likely_duplicates`` listing them; send again with ``confirm_new`` to save."""

    given_names: str = ""
    family_name: str = ""
    dob_year: int | None = None
    dob_month: int | None = None
    dob_day: int | None = None
    birth_place: str | None = None
    gender: str | None = None
    self_defined_ethnicity: str | None = None
    officer_ethnicity: str | None = None
    description: dict[str, Any] = Field(default_factory=dict)
    names: list[NameIn] = Field(default_factory=list)
    identifiers: list[IdentifierIn] = Field(default_factory=list)
    markers: list[MarkerIn] = Field(default_factory=list)
    addresses: list[AddressIn] = Field(default_factory=list)
    marking: str | None = None
    retention_group: str = "3"
    review_at: date | None = None
    confirm_new: bool = False

    def command(self) -> persons.NewPerson:
        plain = self.model_dump(exclude={"names", "identifiers", "markers", "addresses"})
        return persons.NewPerson(
            **plain,
            names=tuple(n.command() for n in self.names),
            identifiers=tuple(i.command() for i in self.identifiers),
            markers=tuple(m.command() for m in self.markers),
            addresses=tuple(a.command() for a in self.addresses),
        )


class PersonChangesIn(BaseModel):
    """Only the fields sent change; send null to clear one."""

    given_names: str | None = None
    family_name: str | None = None
    dob_year: int | None = None
    dob_month: int | None = None
    dob_day: int | None = None
    birth_place: str | None = None
    gender: str | None = None
    self_defined_ethnicity: str | None = None
    officer_ethnicity: str | None = None
    description: dict[str, Any] | None = None
    marking: str | None = None
    retention_group: str | None = None
    review_at: date | None = None


class EndMarkerIn(BaseModel):
    on: date | None = Field(None, description="Default: today")


class ObjectIn(BaseModel):
    kind: str = Field(description=", ".join(k.value for k in ObjectKind))
    vrm: str | None = None
    make: str | None = None
    model: str | None = None
    colour: str | None = None
    vin: str | None = None
    phone_number: str | None = None
    imei: str | None = None
    description: str | None = None
    serial_number: str | None = None
    marking: str | None = None


class EventIn(BaseModel):
    kind: str = Field(
        description="incident, stop_search, missing_person or custody (crimes and intelligence: own routes)"
    )
    summary: str = ""
    narrative: str = ""
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    reported_at: datetime | None = None
    location_id: str | None = None
    incident_id: str | None = None
    marking: str | None = None
    retention_group: str = "3"
    review_at: date | None = None


class LinkIn(BaseModel):
    from_type: str
    from_id: str
    role: str = Field(description=", ".join(r.value for r in LinkRole))
    to_type: str
    to_id: str
    from_date: date | None = None
    to_date: date | None = None
    note: str | None = None


# ---------------------------------------------------------------- helpers


def _missing(rtype: str, record_id: str, action: str | None = None) -> Audit:
    return Audit(
        action or f"{rtype}.read", Outcome.DENIED, rtype, record_id[:64], {"why": "not found in the caller's force"}
    )


def _saved(saved: persons.PersonSaved) -> PersonSavedOut:
    return PersonSavedOut(
        person=PersonOut.of(saved.person),
        names=_rows(NameOut, saved.names),
        identifiers=_rows(IdentifierOut, saved.identifiers),
        markers=_rows(MarkerOut, saved.markers),
        addresses=[AddressOut.of(a) for a in saved.addresses],
    )


# ---------------------------------------------------------------- routes: persons


@router.get("/api/v1/records/codes", response_model=CodesOut, tags=TAG, summary="Codes for records forms")
def codes(caller: Reader):
    """Ethnicity codes (self-defined 18+1 and officer IC), genders, identifier, marker,
    address, name, object and event kinds, link roles with the record types they join, retention groups."""
    return CodesOut(
        self_defined_ethnicity=person_fields.SELF_DEFINED_ETHNICITY,
        officer_ethnicity=person_fields.OFFICER_ETHNICITY,
        genders=list(person_fields.GENDERS),
        identifier_kinds=[k.value for k in IdentifierKind],
        marker_kinds=[k.value for k in MarkerKind],
        address_kinds=list(person_fields.ADDRESS_KINDS),
        name_kinds=list(person_fields.OTHER_NAME_KINDS),
        object_kinds=[k.value for k in ObjectKind],
        event_kinds=[k.value for k in EventKind],
        link_roles={str(role): sorted([list(p) for p in pairs]) for role, pairs in pole.LINK_ROLES.items()},
        retention_groups=list(pole.RETENTION_GROUPS),
    )


@router.post("/api/v1/persons", response_model=PersonSavedOut, status_code=201, tags=TAG, summary="A new person")
def create_person(caller: Writer, db: Db, clock: Now, body: PersonIn):
    """Record a person with names, identifiers, markers and addresses. 409
    ``person.likely_duplicates`` lists likely matches (send ``confirm_new`` to save anyway);
    409 ``person.identifier_taken`` when the force already holds an identifier."""
    with db.unit_of_work() as session:
        return _saved(persons.add_person(session, caller.actor, body.command(), clock))


@router.get("/api/v1/persons/{person_id}", response_model=ProfileOut, tags=TAG, summary="A person's profile")
def profile(caller: Reader, db: Db, clock: Now, person_id: str):
    """Warning markers first, then identity, names, identifiers, addresses, links and the
    timeline of linked events. Asks for a reason; audited."""
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing("person", person_id)):
        found = person_reads.person_profile(session, caller.actor, person_id, clock)
        return ProfileOut(
            current_markers=_rows(MarkerOut, found.current_markers),
            past_markers=_rows(MarkerOut, found.past_markers),
            person=PersonOut.of(found.person),
            names=_rows(NameOut, found.names),
            identifiers=_rows(IdentifierOut, found.identifiers),
            addresses=[AddressOut.of(a) for a in found.addresses],
            links=[LinkViewOut.of(v) for v in found.links],
            timeline=[
                TimelineOut(role=t.role, link_id=t.link.id, event=_row(EventOut, t.event)) for t in found.timeline
            ],
        )


@router.patch("/api/v1/persons/{person_id}", response_model=PersonOut, tags=TAG, summary="Correct a person")
def update_person(caller: Writer, db: Db, clock: Now, person_id: str, body: PersonChangesIn):
    with db.unit_of_work() as session:
        changes = body.model_dump(exclude_unset=True)
        return PersonOut.of(persons.update_person(session, caller.actor, person_id, changes, clock))


@router.post(
    "/api/v1/persons/{person_id}/names", response_model=NameOut, status_code=201, tags=TAG, summary="Add an alias"
)
def add_name(caller: Writer, db: Db, clock: Now, person_id: str, body: NameIn):
    """An alias, previous name or nickname, with the dates it was used."""
    with db.unit_of_work() as session:
        return _row(NameOut, person_parts.add_alias(session, caller.actor, person_id, body.command(), clock))


@router.post(
    "/api/v1/persons/{person_id}/identifiers",
    response_model=IdentifierOut,
    status_code=201,
    tags=TAG,
    summary="Add an identifier",
)
def add_identifier(caller: Writer, db: Db, clock: Now, person_id: str, body: IdentifierIn):
    """PNC ID, driving licence, passport, NI or CRO number; 409 ``person.identifier_taken``
    when the force already holds it."""
    with db.unit_of_work() as session:
        return _row(IdentifierOut, person_parts.add_identifier(session, caller.actor, person_id, body.command(), clock))


@router.post(
    "/api/v1/persons/{person_id}/markers",
    response_model=MarkerOut,
    status_code=201,
    tags=TAG,
    summary="Add a warning marker",
)
def add_marker(caller: Writer, db: Db, clock: Now, person_id: str, body: MarkerIn):
    with db.unit_of_work() as session:
        return _row(MarkerOut, person_parts.add_marker(session, caller.actor, person_id, body.command(), clock))


@router.post(
    "/api/v1/persons/{person_id}/markers/{marker_id}/end",
    response_model=MarkerOut,
    tags=TAG,
    summary="End a warning marker",
)
def end_marker(caller: Writer, db: Db, clock: Now, person_id: str, marker_id: str, body: EndMarkerIn):
    with db.unit_of_work() as session:
        return _row(MarkerOut, person_parts.end_marker(session, caller.actor, person_id, marker_id, clock, on=body.on))


@router.post(
    "/api/v1/persons/{person_id}/addresses",
    response_model=AddressOut,
    status_code=201,
    tags=TAG,
    summary="Add an address",
)
def add_address(caller: Writer, db: Db, clock: Now, person_id: str, body: AddressIn):
    with db.unit_of_work() as session:
        return AddressOut.of(person_parts.add_address(session, caller.actor, person_id, body.command(), clock))


# ---------------------------------------------------------------- routes: objects, locations, events


@router.post("/api/v1/objects", response_model=ObjectOut, status_code=201, tags=TAG, summary="A new object")
def create_object(caller: Writer, db: Db, clock: Now, body: ObjectIn):
    """A vehicle (VRM, make, model, colour, VIN), phone (number, IMEI), property, weapon or document."""
    with db.unit_of_work() as session:
        return _row(ObjectOut, pole.add_object(session, caller.actor, pole.NewObject(**body.model_dump()), clock))


@router.get("/api/v1/objects/{object_id}", response_model=ObjectDetailOut, tags=TAG, summary="One object")
def get_object(caller: Reader, db: Db, clock: Now, object_id: str):
    """The object and its links. Asks for a reason; audited."""
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing("object", object_id)):
        found = pole.get_object(session, caller.actor, object_id, clock)
        return ObjectDetailOut(object=_row(ObjectOut, found.record), links=[LinkViewOut.of(v) for v in found.links])


@router.post("/api/v1/locations", response_model=LocationOut, status_code=201, tags=TAG, summary="A new location")
def create_location(caller: Writer, db: Db, clock: Now, body: LocationIn):
    """Address lines, a UK postcode (checked and normalised), an optional point and UPRN."""
    with db.unit_of_work() as session:
        return _row(LocationOut, pole.add_location(session, caller.actor, body.command(), clock))


@router.get("/api/v1/locations/{location_id}", response_model=LocationDetailOut, tags=TAG, summary="One location")
def get_location(caller: Reader, db: Db, clock: Now, location_id: str):
    """The location and its links. Asks for a reason; audited."""
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing("location", location_id)):
        found = pole.get_location(session, caller.actor, location_id, clock)
        return LocationDetailOut(
            location=_row(LocationOut, found.record), links=[LinkViewOut.of(v) for v in found.links]
        )


@router.post("/api/v1/events", response_model=EventOut, status_code=201, tags=TAG, summary="A new event")
def create_event(caller: Writer, db: Db, clock: Now, body: EventIn):
    """An incident (linked to a command incident), stop and search, missing person report or
    custody episode, with its reference (e.g. SP-IN-2026-000123)."""
    with db.unit_of_work() as session:
        return _row(EventOut, pole.add_event(session, caller.actor, pole.NewEvent(**body.model_dump()), clock))


@router.get("/api/v1/events/{event_id}", response_model=EventDetailOut, tags=TAG, summary="One event")
def get_event(caller: Reader, db: Db, clock: Now, event_id: str):
    """The event and its links (crimes need crime.read, intelligence intelligence.read).
    Asks for a reason; audited."""
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing("event", event_id)):
        found = pole.get_event(session, caller.actor, event_id, clock)
        return EventDetailOut(event=_row(EventOut, found.record), links=[LinkViewOut.of(v) for v in found.links])


# ---------------------------------------------------------------- routes: links and the link chart


@router.post("/api/v1/links", response_model=LinkOut, status_code=201, tags=TAG, summary="Link two records")
def create_link(caller: Writer, db: Db, clock: Now, body: LinkIn):
    """A role between two records of the force (person -suspect-> event...); 422
    ``link.invalid_role`` lists the roles that join the two kinds of record."""
    with db.unit_of_work() as session:
        made = pole.link(
            session,
            caller.actor,
            pole.RecordRef(body.from_type.strip().lower(), body.from_id),
            body.role,
            pole.RecordRef(body.to_type.strip().lower(), body.to_id),
            clock,
            from_date=body.from_date,
            to_date=body.to_date,
            note=body.note,
        )
        return _row(LinkOut, made)


@router.delete("/api/v1/links/{link_id}", status_code=204, tags=TAG, summary="Remove a link")
def delete_link(caller: Writer, db: Db, clock: Now, link_id: str, reason: str | None = None):
    """Remove a link made in error (the audit log keeps what it was)."""
    with db.unit_of_work() as session:
        pole.unlink(session, caller.actor, link_id, clock, reason=reason)
    return Response(status_code=204)


GRAPH_TYPES = {"graphml": "application/graphml+xml", "csv": "text/csv; charset=utf-8"}


@router.get(
    "/api/v1/records/{record_type}/{record_id}/graph",
    response_model=GraphOut,
    tags=TAG,
    summary="A record's link chart",
    responses={200: {"content": {"application/graphml+xml": {}, "text/csv": {}}}},
)
def graph(
    caller: Reader,
    db: Db,
    clock: Now,
    record_type: str,
    record_id: str,
    format: Annotated[Literal["json", "graphml", "csv"], Query(description="json, graphml or csv")] = "json",
    depth: Annotated[int, Query(ge=1, le=link_chart.MAX_DEPTH)] = link_chart.MAX_DEPTH,
):
    """The record's associations to depth 2 (records the actor may not see are absent), as
    JSON, GraphML or a CSV edge list. Asks for a reason; audited (exports as exports)."""
    missing = _missing(record_type[:16], record_id, "graph.read")
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, missing):
        found = link_chart.associations(
            session,
            caller.actor,
            record_type,
            record_id,
            clock=clock,
            depth=depth,
            export=None if format == "json" else format,
        )
    if format == "json":
        return GraphOut(
            root=found.root,
            depth=found.depth,
            truncated=found.truncated,
            nodes=[
                NodeOut(key=n.key, **{k: getattr(n, k) for k in NodeOut.model_fields if k != "key"})
                for n in found.nodes
            ],
            edges=_rows(EdgeOut, found.edges),
        )
    body = link_chart.to_graphml(found) if format == "graphml" else link_chart.to_csv(found)
    name = f"{record_type}-{found.root.split(':', 1)[1]}-links.{format}"
    return Response(
        body, media_type=GRAPH_TYPES[format], headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
