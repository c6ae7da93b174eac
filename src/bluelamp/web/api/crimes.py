"""Crimes API: the Home Office offence and outcome tables, recording a crime (from an
incident, an online report or directly) with its NCRS clock, the crime list, one crime in
full (asks for a reason: the ``X-Bluelamp-Reason`` header or the session's reason), the
officer in charge, the investigation log and its corrections, reclassification, closing
with a Home Office outcome and reopening; victims with their Victims' Code clocks, the
updates given to them, and the overdue-updates list per officer.

Each route parses, calls one service in one unit of work, and answers; a crime recorded
from an incident publishes the incident's change after the commit. Errors are problem
details (web/errors.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from bluelamp.access.audit import Audit, Outcome, audited, refused_if_missing
from bluelamp.access.policy import Action
from bluelamp.records import classification, crime, victims
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter()
TAG = ["crimes"]

Reader = Annotated[Caller, Depends(allow(Action.CRIME_READ))]
Recorder = Annotated[Caller, Depends(allow(Action.CRIME_RECORD))]


# ---------------------------------------------------------------- shapes


class OffenceOut(BaseModel):
    code: str
    description: str
    group: str
    subgroup: str
    police_uk_category: str = Field(description="The data.police.uk category slug, e.g. violent-crime")
    police_uk_name: str
    recordable: bool
    not_recordable: str | None = Field(description="Why a force cannot record a crime under this code")


class OutcomeTypeOut(BaseModel):
    code: str
    name: str
    needs_suspect: bool = Field(description="The outcome deals with an identified suspect: one must be linked")
    police_uk: str | None = Field(description="The data.police.uk outcome category it is published as")


class CategoriesOut(BaseModel):
    offences: list[OffenceOut]
    outcomes: list[OutcomeTypeOut]
    police_uk_categories: dict[str, str]


class CrimeOut(BaseModel):
    """A crime as lists and screens show it (no victims: see the detail)."""

    id: str
    reference: str
    summary: str
    offence_code: str
    offence: str
    police_uk_category: str
    source: str
    status: str
    reported_at: datetime
    recorded_at: datetime
    ncrs_due_at: datetime
    recorded_late: bool
    officer_in_charge: str | None
    outcome_code: str | None
    outcome: str | None
    outcome_at: datetime | None
    outcome_by: str | None
    incident_id: str | None
    location_id: str | None
    occurred_from: datetime | None
    occurred_to: datetime | None
    marking: str
    retention_group: str

    @classmethod
    def of(cls, event, row) -> CrimeOut:
        offence = classification.offence(row.offence_code)
        outcome = classification.outcome(row.outcome_code) if row.outcome_code else None
        return cls(
            id=event.id,
            reference=event.reference,
            summary=event.summary,
            offence_code=row.offence_code,
            offence=offence.description if offence else row.offence_code,
            police_uk_category=row.police_uk_category,
            source=row.source,
            status=row.status,
            reported_at=row.reported_at,
            recorded_at=row.recorded_at,
            ncrs_due_at=row.ncrs_due_at,
            recorded_late=row.recorded_late,
            officer_in_charge=row.officer_in_charge,
            outcome_code=row.outcome_code,
            outcome=outcome.name if outcome else None,
            outcome_at=row.outcome_at,
            outcome_by=row.outcome_by,
            incident_id=event.incident_id,
            location_id=event.location_id,
            occurred_from=event.occurred_from,
            occurred_to=event.occurred_to,
            marking=event.marking,
            retention_group=event.retention_group,
        )


class LogEntryOut(BaseModel):
    id: int
    at: datetime
    by: str
    kind: str
    text: str
    corrects_id: int | None


class VictimUpdateOut(BaseModel):
    id: int
    at: datetime
    by: str
    method: str
    text: str


class VictimOut(BaseModel):
    id: str
    crime_id: str
    person_id: str
    name: str | None = Field(description="FAMILY, Given (in a crime's detail)")
    enhanced: bool
    enhanced_reason: str | None
    contact_preference: str | None
    opted_out: bool
    next_update_due: datetime | None
    last_update_at: datetime | None
    overdue: bool
    updates: list[VictimUpdateOut] = []


class LinkOut(BaseModel):
    id: str
    role: str
    outgoing: bool
    other_type: str
    other_id: str
    other_label: str
    other_kind: str


class CrimeDetailOut(BaseModel):
    crime: CrimeOut
    narrative: str
    log: list[LogEntryOut]
    victims: list[VictimOut]
    links: list[LinkOut]


class ChangedOut(BaseModel):
    crime: CrimeOut
    entry: LogEntryOut | None


class OverdueOut(BaseModel):
    officer: str | None
    crime_id: str
    crime_reference: str
    victim_id: str
    person_id: str
    enhanced: bool
    due_at: datetime
    last_update_at: datetime | None
    overdue_working_days: int


def _entry(entry) -> LogEntryOut | None:
    if entry is None:
        return None
    return LogEntryOut(
        id=entry.id, at=entry.at, by=entry.by, kind=entry.kind, text=entry.text, corrects_id=entry.corrects_id
    )


def _victim(victim, person, now: datetime, updates=()) -> VictimOut:
    name = ", ".join(p for p in (person.family_name.upper(), person.given_names) if p) if person else None
    return VictimOut(
        id=victim.id,
        crime_id=victim.event_id,
        person_id=victim.person_id,
        name=name,
        enhanced=victim.enhanced,
        enhanced_reason=victim.enhanced_reason,
        contact_preference=victim.contact_preference,
        opted_out=victim.opted_out,
        next_update_due=victim.next_update_due,
        last_update_at=victim.last_update_at,
        overdue=victim.next_update_due is not None and victim.next_update_due <= now,
        updates=[VictimUpdateOut(id=u.id, at=u.at, by=u.by, method=u.method, text=u.text) for u in updates],
    )


def _changed(changed: crime.CrimeChanged) -> ChangedOut:
    return ChangedOut(crime=CrimeOut.of(changed.event, changed.crime), entry=_entry(changed.entry))


# ---------------------------------------------------------------- bodies


class CrimeIn(BaseModel):
    """A crime to record. ``source``: incident (name ``incident_id``), online (give
    ``report_reference``) or direct. ``reported_at`` starts the NCRS clock (default: the
    incident's creation, else now)."""

    source: str
    offence_code: str = Field(description="Home Office offence code, e.g. 28E (see /api/v1/crime-categories)")
    summary: str = ""
    narrative: str = ""
    reported_at: datetime | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    incident_id: str | None = None
    report_reference: str | None = None
    officer_in_charge: str | None = Field(None, description="A username of the force")
    location_id: str | None = None
    marking: str | None = None


class OfficerIn(BaseModel):
    officer_in_charge: str


class TextIn(BaseModel):
    text: str


class CorrectionIn(BaseModel):
    entry_id: int
    text: str


class ReclassifyIn(BaseModel):
    offence_code: str
    reason: str


class OutcomeIn(BaseModel):
    outcome: str = Field(description="Home Office outcome type, 1 to 22")
    text: str = Field(description="Why: the decision in a few words")


class ReasonIn(BaseModel):
    reason: str


class VictimIn(BaseModel):
    person_id: str
    enhanced: bool = False
    enhanced_reason: str | None = Field(None, description="Required for the enhanced service")
    contact_preference: str | None = None


class VictimUpdateIn(BaseModel):
    method: str = Field(description="phone, visit, email, letter or text")
    text: str


class OptOutIn(BaseModel):
    opted_out: bool
    reason: str


class EnhancedIn(BaseModel):
    enhanced: bool
    reason: str | None = None


# ---------------------------------------------------------------- routes: tables and crimes


@router.get("/api/v1/crime-categories", response_model=CategoriesOut, tags=TAG, summary="Offences and outcomes")
def categories(caller: Reader):
    """The Home Office offence codes with their groups and data.police.uk categories, and the
    Home Office outcome types 1-22."""
    return CategoriesOut(
        offences=[
            OffenceOut(
                code=o.code,
                description=o.description,
                group=o.group,
                subgroup=o.subgroup,
                police_uk_category=o.police_uk_category,
                police_uk_name=o.police_uk_name,
                recordable=o.recordable,
                not_recordable=o.not_recordable,
            )
            for o in classification.offences()
        ],
        outcomes=[OutcomeTypeOut(**vars(o)) for o in classification.OUTCOMES.values()],
        police_uk_categories=dict(classification.POLICE_UK_CATEGORIES),
    )


@router.post("/api/v1/crimes", response_model=ChangedOut, status_code=201, tags=TAG, summary="Record a crime")
def record(request: Request, caller: Recorder, db: Db, clock: Now, body: CrimeIn):
    """Record a crime: 201 with the crime (``recorded_late`` when after the NCRS 24 hours)."""
    command = crime.NewCrime(**body.model_dump())
    with db.unit_of_work() as session:
        changed = crime.record_crime(session, caller.actor, command, clock)
        out = _changed(changed)
    for event in changed.events:
        request.app.state.bus.publish(event)
    return out


@router.get("/api/v1/crimes", response_model=list[CrimeOut], tags=TAG, summary="Crimes")
def crimes(
    caller: Reader,
    db: Db,
    officer: Annotated[str | None, Query(description="Officer in charge (a username)")] = None,
    status: Annotated[str | None, Query(description="investigating or closed")] = None,
    late: Annotated[bool | None, Query(description="Only crimes recorded after (true) or within (false) 24 h")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
):
    """Crimes the caller may see, newest recorded first."""
    with db.read() as session:
        found = crime.list_crimes(session, caller.actor, officer=officer, status=status, late=late, limit=limit)
        return [CrimeOut.of(event, row) for event, row in found]


@router.get("/api/v1/victims/overdue", response_model=list[OverdueOut], tags=TAG, summary="Overdue victim updates")
def overdue(
    caller: Reader,
    db: Db,
    clock: Now,
    officer: Annotated[str | None, Query(description="Only this officer in charge's crimes")] = None,
):
    """Victims whose Victims' Code update is overdue, by officer in charge, longest overdue first."""
    with db.read() as session:
        found = victims.overdue_updates(session, caller.actor, officer=officer, clock=clock)
    return [OverdueOut(**vars(o)) for o in found]


def _missing(crime_id: str) -> Audit:
    return Audit("crime.read", Outcome.DENIED, "event", crime_id[:64], {"why": "not found in the caller's force"})


@router.get("/api/v1/crimes/{crime_id}", response_model=CrimeDetailOut, tags=TAG, summary="One crime in full")
def detail(caller: Reader, db: Db, clock: Now, crime_id: str):
    """The crime with its narrative, investigation log, victims (with their clocks and
    updates) and links. Asks for a reason; audited."""
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing(crime_id)):
        found = crime.get_crime(session, caller.actor, crime_id, clock)
        updates: dict[str, list] = {}
        for update in victims.updates_of(session, [v.id for v, _ in found.victims]):
            updates.setdefault(update.victim_id, []).append(update)
        now = clock.now()
        return CrimeDetailOut(
            crime=CrimeOut.of(found.event, found.crime),
            narrative=found.event.narrative,
            log=[_entry(e) for e in found.log],
            victims=[_victim(v, p, now, updates.get(v.id, [])) for v, p in found.victims],
            links=[
                LinkOut(
                    id=view.link.id,
                    role=view.link.role,
                    outgoing=view.outgoing,
                    other_type=view.other.type,
                    other_id=view.other.id,
                    other_label=view.other_label,
                    other_kind=view.other_kind,
                )
                for view in found.links
            ],
        )


# ---------------------------------------------------------------- routes: changes


@router.post("/api/v1/crimes/{crime_id}/officer", response_model=ChangedOut, tags=TAG, summary="Officer in charge")
def officer_in_charge(caller: Recorder, db: Db, clock: Now, crime_id: str, body: OfficerIn):
    with db.unit_of_work() as session:
        return _changed(crime.assign_officer(session, caller.actor, crime_id, body.officer_in_charge, clock))


@router.post("/api/v1/crimes/{crime_id}/log", response_model=ChangedOut, tags=TAG, summary="Add to the log")
def note(caller: Recorder, db: Db, clock: Now, crime_id: str, body: TextIn):
    with db.unit_of_work() as session:
        return _changed(crime.add_note(session, caller.actor, crime_id, body.text, clock))


@router.post("/api/v1/crimes/{crime_id}/corrections", response_model=ChangedOut, tags=TAG, summary="Correct the log")
def correction(caller: Recorder, db: Db, clock: Now, crime_id: str, body: CorrectionIn):
    """A new entry correcting an earlier one; nothing is edited in place."""
    with db.unit_of_work() as session:
        return _changed(crime.correct(session, caller.actor, crime_id, body.entry_id, body.text, clock))


@router.post("/api/v1/crimes/{crime_id}/classification", response_model=ChangedOut, tags=TAG, summary="Reclassify")
def classification_change(caller: Recorder, db: Db, clock: Now, crime_id: str, body: ReclassifyIn):
    with db.unit_of_work() as session:
        return _changed(crime.reclassify(session, caller.actor, crime_id, body.offence_code, body.reason, clock))


@router.post("/api/v1/crimes/{crime_id}/outcome", response_model=ChangedOut, tags=TAG, summary="Close with an outcome")
def close(caller: Recorder, db: Db, clock: Now, crime_id: str, body: OutcomeIn):
    """Close with a Home Office outcome; 409 ``crime.suspect_required`` when the outcome
    deals with a suspect and none is linked."""
    with db.unit_of_work() as session:
        return _changed(crime.close_crime(session, caller.actor, crime_id, body.outcome, body.text, clock))


@router.post("/api/v1/crimes/{crime_id}/reopen", response_model=ChangedOut, tags=TAG, summary="Reopen")
def reopen(caller: Recorder, db: Db, clock: Now, crime_id: str, body: ReasonIn):
    with db.unit_of_work() as session:
        return _changed(crime.reopen_crime(session, caller.actor, crime_id, body.reason, clock))


# ---------------------------------------------------------------- routes: victims


@router.post(
    "/api/v1/crimes/{crime_id}/victims", response_model=VictimOut, status_code=201, tags=TAG, summary="Add a victim"
)
def add_victim(caller: Recorder, db: Db, clock: Now, crime_id: str, body: VictimIn):
    """Record a person as a victim: their first update is due within the force's working days."""
    with db.unit_of_work() as session:
        changed = victims.add_victim(
            session,
            caller.actor,
            crime_id,
            body.person_id,
            clock,
            enhanced=body.enhanced,
            enhanced_reason=body.enhanced_reason,
            contact_preference=body.contact_preference,
        )
        return _victim(changed.victim, None, clock.now())


@router.post("/api/v1/victims/{victim_id}/updates", response_model=VictimOut, tags=TAG, summary="Update given")
def victim_update(caller: Recorder, db: Db, clock: Now, victim_id: str, body: VictimUpdateIn):
    """Record an update given to a victim; the next is due on the cadence (see records/victims.py)."""
    with db.unit_of_work() as session:
        changed = victims.record_update(session, caller.actor, victim_id, body.method, body.text, clock)
        return _victim(changed.victim, None, clock.now(), [changed.update])


@router.post("/api/v1/victims/{victim_id}/opt-out", response_model=VictimOut, tags=TAG, summary="Opt out or in")
def opt_out(caller: Recorder, db: Db, clock: Now, victim_id: str, body: OptOutIn):
    with db.unit_of_work() as session:
        changed = victims.set_opted_out(session, caller.actor, victim_id, body.opted_out, body.reason, clock)
        return _victim(changed.victim, None, clock.now())


@router.post("/api/v1/victims/{victim_id}/enhanced", response_model=VictimOut, tags=TAG, summary="Enhanced service")
def enhanced(caller: Recorder, db: Db, clock: Now, victim_id: str, body: EnhancedIn):
    with db.unit_of_work() as session:
        changed = victims.set_enhanced(session, caller.actor, victim_id, body.enhanced, body.reason, clock)
        return _victim(changed.victim, None, clock.now())
