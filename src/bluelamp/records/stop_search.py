"""Stop and search (PACE Code A): an officer records a search of a person or a vehicle in
the Home Office's categories, as a ``stop_search`` event with its PACE record
(``records_stop_search``). The monthly open-data publication draws on these records.

Decisions this module makes (issue 8):

- **The searching officer is the person recording it** (``officer`` = the actor): PACE
  Code A 4.3 asks the officer who searched to make the record.
- **Values are the Home Office's current ones**, as data.police.uk publishes them; any
  case is accepted and stored in the published spelling. An outcome or a self-defined
  ethnicity in an older wording (``Suspect arrested``, ``White - White British (W1)``) is
  stored in today's (opendata/vocabulary.py maps them); anything else is refused, naming
  the field and listing the values.
- **Where is required**: a location record, or a point (which becomes a location record
  with no address). Code A 4.3 asks for the place of the search.
- **The grounds are required** (Code A 4.3) and kept in the event's narrative, which the
  publication never reads.
- **A no further action disposal is linked to nothing**, so ``outcome_linked`` stays
  empty for it; a vehicle-only search removes no one's clothing.
- **MoPI**: a search that ended with no further action is miscellaneous (group 4); any
  other outcome follows the default for an event (group 3).
- A search from a command incident writes a note in the incident's log and returns the
  incident's bus event for the web layer to publish after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.command import log as incident_log
from bluelamp.command.model import LogKind
from bluelamp.command.queries import visible_incident
from bluelamp.errors import CATALOGUE, FieldProblem, InvalidInput
from bluelamp.events import Event as BusEvent
from bluelamp.opendata import vocabulary
from bluelamp.records import pole, queries
from bluelamp.records.model import Event, EventKind, LinkRole, Location, StopSearch

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CATALOGUE.register(
    "stop_search.unknown_value",
    InvalidInput,
    "A stop-and-search field is not one of the Home Office's current values; `errors` names the field and the values.",
)

# ---------------------------------------------------------------- the Home Office's current values

# As data.police.uk publishes them today (sourced: the archives' values as analysts'
# validation tables list them; police-uk-api.md 1.1 and 1.3).
TYPES = ("Person search", "Vehicle search", "Person and Vehicle search")
VEHICLE_ONLY = "Vehicle search"
GENDERS = ("Male", "Female", "Other")
AGE_RANGES = ("under 10", "10-17", "18-24", "25-34", "over 34")
OFFICER_DEFINED_ETHNICITIES = ("White", "Black", "Asian", "Mixed", "Other")
# The 2011 census's 18 groups and "not stated", in data.police.uk's wording.
SELF_DEFINED_ETHNICITIES = (
    "White - English/Welsh/Scottish/Northern Irish/British",
    "White - Irish",
    "White - Gypsy or Irish Traveller",
    "White - Any other White background",
    "Mixed/Multiple ethnic groups - White and Black Caribbean",
    "Mixed/Multiple ethnic groups - White and Black African",
    "Mixed/Multiple ethnic groups - White and Asian",
    "Mixed/Multiple ethnic groups - Any other Mixed/Multiple ethnic background",
    "Asian/Asian British - Indian",
    "Asian/Asian British - Pakistani",
    "Asian/Asian British - Bangladeshi",
    "Asian/Asian British - Chinese",
    "Asian/Asian British - Any other Asian background",
    "Black/African/Caribbean/Black British - African",
    "Black/African/Caribbean/Black British - Caribbean",
    "Black/African/Caribbean/Black British - Any other Black/African/Caribbean background",
    "Other ethnic group - Arab",
    "Other ethnic group - Any other ethnic group",
    "Other ethnic group - Not stated",
)
# The powers a search is made under, worded as the archives word them (the odd space in
# "34B )" included: it is how the value is published).
LEGISLATION = (
    "Police and Criminal Evidence Act 1984 (section 1)",
    "Misuse of Drugs Act 1971 (section 23)",
    "Firearms Act 1968 (section 47)",
    "Criminal Justice Act 1988 (section 139B)",
    "Criminal Justice and Public Order Act 1994 (section 60)",
    "Police and Criminal Evidence Act 1984 (section 6)",
    "Psychoactive Substances Act 2016 (s36(2))",
    "Psychoactive Substances Act 2016 (s37(2))",
    "Terrorism Act 2000 (section 43)",
    "Terrorism Act 2000 (section 43A)",
    "Terrorism Act 2000 (section 47A)",
    "Poaching Prevention Act 1862 (section 2)",
    "Deer Act 1991 (section 12)",
    "Crossbows Act 1987 (section 4)",
    "Wildlife and Countryside Act 1981 (section 19)",
    "Protection of Badgers Act 1992 (section 11)",
    "Conservation of Seals Act 1970 (section 4)",
    "Hunting Act 2004 (section 8)",
    "Aviation Security Act 1982 (section 27(1))",
    "Customs and Excise Management Act 1979 (section 163)",
    "Public Stores Act 1875 (section 6)",
    "Environmental Protection Act 1990 (section 34B )",
)
OBJECTS_OF_SEARCH = (
    "Controlled drugs",
    "Offensive weapons",
    "Stolen goods",
    "Article for use in theft",
    "Articles for use in criminal damage",
    "Firearms",
    "Anything to threaten or harm anyone",
    "Fireworks",
    "Crossbows",
    "Psychoactive substances",
    "Evidence of offences under the Act",
    "Evidence of wildlife offences",
    "Game or poaching equipment",
    "Seals or hunting equipment",
    "Goods on which duty has not been paid etc.",
    "Detailed object of search unavailable",
)
OUTCOMES = tuple(vocabulary.STOP_OUTCOMES)
NO_FURTHER_ACTION = "A no further action disposal"
TEXT_LIMIT = 20_000


@dataclass(frozen=True)
class NewStopSearch:
    """Command: record a stop and search (PACE Code A)."""

    type: str
    occurred_at: datetime | None
    legislation: str
    object_of_search: str
    outcome: str
    grounds: str
    location_id: str | None = None  # where: a location record...
    lat: float | None = None  # ...or a point
    lon: float | None = None
    operation_name: str | None = None  # when part of a policing operation
    gender: str | None = None
    age_range: str | None = None
    self_defined_ethnicity: str | None = None
    officer_defined_ethnicity: str | None = None
    outcome_linked: bool | None = None  # the outcome was linked to the object of the search
    removal_of_outer_clothing: bool | None = None  # more than outer clothing was removed
    summary: str | None = None  # default: from the type, power, object and outcome
    person_id: str | None = None  # the person searched, when known: linked subject_of
    incident_id: str | None = None
    marking: str | None = None


@dataclass
class StopSearchRecorded:
    """A recorded stop and search: the event, its PACE record and where it happened, and
    the bus events to publish after the commit."""

    event: Event
    stop: StopSearch
    location: Location | None
    events: list[BusEvent] = field(default_factory=list)

    @property
    def outcome_id(self) -> str | None:
        """data.police.uk's ``outcome_object.id`` for the outcome (``bu-arrest``)."""
        return vocabulary.STOP_OUTCOMES.get(self.stop.outcome)


# ---------------------------------------------------------------- checks


def _one_of(
    value: str | None, allowed: tuple[str, ...], name: str, problems: list[FieldProblem], *, required: bool
) -> str | None:
    """The allowed value matching ``value`` in any case and spacing, or a problem listing them."""
    text = " ".join((value or "").split())
    if not text:
        if required:
            problems.append(FieldProblem(name, f"required: one of {'; '.join(allowed)}"))
        return None
    found = {" ".join(a.split()).lower(): a for a in allowed}.get(text.lower())
    if found is None:
        problems.append(FieldProblem(name, f"{text!r} is not a Home Office value: use one of {'; '.join(allowed)}"))
    return found


def _outcome(value: str | None, problems: list[FieldProblem]) -> str | None:
    text = " ".join((value or "").split())
    if text:
        name, _ = vocabulary.stop_outcome(text)  # an older wording -> today's
        text = name
    return _one_of(text, OUTCOMES, "outcome", problems, required=True)


def _self_defined(value: str | None, problems: list[FieldProblem]) -> str | None:
    text = " ".join((value or "").split())
    if text:
        text = vocabulary.self_defined_ethnicity(text) or ""  # "... (W1)" -> today's wording
    return _one_of(text, SELF_DEFINED_ETHNICITIES, "self_defined_ethnicity", problems, required=False)


def stop_search_problems(command: NewStopSearch, now: datetime) -> tuple[list[FieldProblem], dict[str, str | None]]:
    """Every problem with a new stop and search, and its values in the published spelling."""
    problems: list[FieldProblem] = []
    values = {
        "type": _one_of(command.type, TYPES, "type", problems, required=True),
        "legislation": _one_of(command.legislation, LEGISLATION, "legislation", problems, required=True),
        "object_of_search": _one_of(
            command.object_of_search, OBJECTS_OF_SEARCH, "object_of_search", problems, required=True
        ),
        "outcome": _outcome(command.outcome, problems),
        "gender": _one_of(command.gender, GENDERS, "gender", problems, required=False),
        "age_range": _one_of(command.age_range, AGE_RANGES, "age_range", problems, required=False),
        "officer_defined_ethnicity": _one_of(
            command.officer_defined_ethnicity,
            OFFICER_DEFINED_ETHNICITIES,
            "officer_defined_ethnicity",
            problems,
            required=False,
        ),
        "self_defined_ethnicity": _self_defined(command.self_defined_ethnicity, problems),
    }
    if command.occurred_at is None:
        problems.append(FieldProblem("occurred_at", "say when the search took place"))
    elif command.occurred_at.tzinfo is None:
        problems.append(FieldProblem("occurred_at", "give a time with its offset (UTC or local)"))
    elif command.occurred_at > now:
        problems.append(FieldProblem("occurred_at", "cannot be in the future"))
    has_point = command.lat is not None or command.lon is not None
    if command.location_id and has_point:
        problems.append(FieldProblem("location_id", "give a location record or a point, not both"))
    elif not command.location_id and not has_point:
        problems.append(FieldProblem("location_id", "say where the search took place: a location record or a point"))
    grounds = (command.grounds or "").strip()
    if not grounds:
        problems.append(FieldProblem("grounds", "record the grounds for the search (PACE Code A 4.3)"))
    elif len(grounds) > TEXT_LIMIT:
        problems.append(FieldProblem("grounds", f"at most {TEXT_LIMIT} characters"))
    operation = " ".join((command.operation_name or "").split())
    if len(operation) > 200:
        problems.append(FieldProblem("operation_name", "at most 200 characters"))
    if values["outcome"] == NO_FURTHER_ACTION and command.outcome_linked is not None:
        problems.append(FieldProblem("outcome_linked", "leave it empty: a no further action disposal links to nothing"))
    if values["type"] == VEHICLE_ONLY and command.removal_of_outer_clothing:
        problems.append(FieldProblem("removal_of_outer_clothing", "a vehicle-only search removes no one's clothing"))
    return problems, values


def _invalid(problems: list[FieldProblem]) -> InvalidInput:
    vocabulary_fields = {
        "type",
        "legislation",
        "object_of_search",
        "outcome",
        "gender",
        "age_range",
        "officer_defined_ethnicity",
        "self_defined_ethnicity",
    }
    only_values = all(p.field in vocabulary_fields for p in problems)
    return InvalidInput(
        "; ".join(f"{p.field}: {p.message}" for p in problems),
        code="stop_search.unknown_value" if only_values else "input.invalid",
        problems=problems,
    )


def default_summary(values: dict[str, str | None]) -> str:
    """A one-line summary from the record's categories (``Person search under ... : Arrest``)."""
    text = f"{values['type']} under {values['legislation']} for {(values['object_of_search'] or '').lower()}"
    return f"{text}: {values['outcome']}"[:300]


# ---------------------------------------------------------------- recording


def record_stop_search(session: Session, actor: Actor, data: NewStopSearch, clock: Clock) -> StopSearchRecorded:
    """Record a stop and search: the ``stop_search`` event (reference, when, where, the
    grounds as its narrative), its PACE record in the Home Office's current categories,
    the person searched linked when known; the searching officer is the actor; audited."""
    require(actor, Action.STOP_SEARCH_RECORD)
    force_id = pole.force_of(actor)
    problems, values = stop_search_problems(data, clock.now())
    if data.person_id and queries.visible_person(session, actor, data.person_id) is None:
        problems.append(FieldProblem("person_id", f"no person {data.person_id!r}"))
    if problems:
        raise _invalid(problems)
    incident = None
    if data.incident_id:
        incident = visible_incident(session, actor, data.incident_id, for_update=True)
        if incident is None:
            raise pole.invalid([FieldProblem("incident_id", f"no incident {data.incident_id!r}")])
    location = None
    location_id = data.location_id
    if location_id is None:
        location = pole.new_location(
            session,
            actor,
            pole.NewLocation(lat=data.lat, lon=data.lon, description="Where a stop and search took place"),
            clock,
        )
        location_id = location.id
    event = pole.create_event(
        session,
        actor,
        pole.NewEvent(
            kind=EventKind.STOP_SEARCH.value,
            summary=" ".join((data.summary or "").split()) or default_summary(values),
            narrative=data.grounds.strip(),
            occurred_from=data.occurred_at,
            location_id=location_id,
            incident_id=incident.id if incident is not None else None,
            marking=data.marking,
            retention_group="4" if values["outcome"] == NO_FURTHER_ACTION else "3",
        ),
        clock,
    )
    if location is None and event.location_id is not None:
        location = session.get(Location, event.location_id)
    stop = StopSearch(
        event_id=event.id,
        force_id=force_id,
        type=values["type"],
        operation_name=" ".join((data.operation_name or "").split()) or None,
        gender=values["gender"],
        age_range=values["age_range"],
        self_defined_ethnicity=values["self_defined_ethnicity"],
        officer_defined_ethnicity=values["officer_defined_ethnicity"],
        legislation=values["legislation"],
        object_of_search=values["object_of_search"],
        outcome=values["outcome"],
        outcome_linked=data.outcome_linked,
        removal_of_outer_clothing=data.removal_of_outer_clothing,
        officer=actor.username,
    )
    session.add(stop)
    session.flush()
    if data.person_id:
        pole.link(session, actor, (pole.PER, data.person_id), LinkRole.SUBJECT_OF, event, clock)
    bus: list[BusEvent] = []
    if incident is not None:
        incident_log.write(
            session,
            incident,
            actor.username,
            LogKind.NOTE,
            f"stop and search {event.reference} recorded: {stop.type}, {stop.outcome}",
            clock,
            data={"stop_search_id": event.id, "stop_search_reference": event.reference},
        )
        bus.append(incident_log.changed(incident, "stop_search_recorded"))
    audit.append(
        session,
        actor,
        Audit(
            "stop_search.record",
            record_type="event",
            record_id=event.id,
            detail={
                "reference": event.reference,
                "type": stop.type,
                "legislation": stop.legislation,
                "outcome": stop.outcome,
                "incident_id": incident.id if incident is not None else None,
            },
        ),
        clock,
    )
    return StopSearchRecorded(event, stop, location, bus)
