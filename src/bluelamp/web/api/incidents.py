"""Command and control API: incidents from call to close. Intake (with the
``Idempotency-Key`` header, duplicate suggestions and attaching a caller), the queue,
the detail with its log, THRIVE re-assessment and downgrade decisions, attendance
changes and call-back tasks, grade 3 appointments, notes and corrections, link and
merge, close and reopen, and the force's incident categories.

Each route parses, calls one service in one unit of work, and publishes the service's
events after the commit. Errors are problem details (web/errors.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, Field

from bluelamp.access.audit import Audit, Outcome, audited, refused_if_missing
from bluelamp.access.policy import Action
from bluelamp.command import duplicates, service
from bluelamp.command.commands import CallerDetails, NewIncident, Thrive
from bluelamp.command.model import ACTIVE_STATUSES
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter()
TAG = ["incidents"]

Reader = Annotated[Caller, Depends(allow(Action.INCIDENT_READ))]
Creator = Annotated[Caller, Depends(allow(Action.INCIDENT_CREATE))]
Updater = Annotated[Caller, Depends(allow(Action.INCIDENT_UPDATE))]
Closer = Annotated[Caller, Depends(allow(Action.INCIDENT_CLOSE))]
Supervisor = Annotated[Caller, Depends(allow(service.SUPERVISE))]


# ---------------------------------------------------------------- shapes


class IncidentOut(BaseModel):
    """An incident as screens and programs see it (no caller details: see the detail's calls)."""

    id: str
    reference: str
    status: str
    grade: str
    source: str
    category: str
    qualifiers: list[str]
    description: str
    lat: float
    lon: float
    address: str
    area_kind: str
    outside_area_reason: str | None
    marking: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    target_minutes: int | None
    target_at: datetime | None
    reassess_at: datetime | None
    first_en_route_at: datetime | None
    first_arrived_at: datetime | None
    breached_at: datetime | None
    breach_cause: str | None
    appointment_id: str | None
    parent_id: str | None
    merged_into_id: str | None
    closing_category: str | None
    result: str | None
    summary: str | None
    crime_reference: str | None
    closed_at: datetime | None
    closed_by: str | None
    external_id: str | None

    @classmethod
    def of(cls, incident) -> IncidentOut:
        return cls(
            id=incident.id,
            reference=incident.reference,
            status=incident.status,
            grade=incident.grade,
            source=incident.source,
            category=incident.opening_category,
            qualifiers=list(incident.qualifiers or []),
            description=incident.description,
            lat=incident.lat,
            lon=incident.lon,
            address=incident.address,
            area_kind=incident.area_kind,
            outside_area_reason=incident.outside_area_reason,
            marking=incident.marking,
            created_at=incident.created_at,
            created_by=incident.created_by,
            updated_at=incident.updated_at,
            target_minutes=incident.target_minutes,
            target_at=incident.target_at,
            reassess_at=incident.reassess_at,
            first_en_route_at=incident.first_en_route_at,
            first_arrived_at=incident.first_arrived_at,
            breached_at=incident.breached_at,
            breach_cause=incident.breach_cause,
            appointment_id=incident.appointment_id,
            parent_id=incident.parent_id,
            merged_into_id=incident.merged_into_id,
            closing_category=incident.closing_category,
            result=incident.result,
            summary=incident.summary,
            crime_reference=incident.crime_reference,
            closed_at=incident.closed_at,
            closed_by=incident.closed_by,
            external_id=incident.external_id,
        )


class Brief(BaseModel):
    id: str
    reference: str
    status: str
    grade: str

    @classmethod
    def of(cls, incident) -> Brief:
        return cls(id=incident.id, reference=incident.reference, status=incident.status, grade=incident.grade)


class CallOut(BaseModel):
    id: str
    incident_id: str
    received_at: datetime
    source: str
    caller_name: str | None
    caller_phone: str | None
    callback_consent: bool
    account: str
    lat: float | None
    lon: float | None
    address: str | None
    handled_by: str


class AssessmentOut(BaseModel):
    id: str
    at: datetime
    by: str
    grade: str
    threat: str
    harm: str
    risk: str
    investigation: str
    vulnerability: str
    engagement: str
    reason: str | None


class LogEntryOut(BaseModel):
    id: int
    at: datetime
    by: str
    kind: str
    text: str
    data: dict[str, Any] | None
    corrects_id: int | None


class AssignmentOut(BaseModel):
    id: str
    unit_id: str
    call_sign: str | None
    assigned_at: datetime
    assigned_by: str
    acknowledged_at: datetime | None
    arrived_at: datetime | None
    released_at: datetime | None
    release_reason: str | None


class TaskOut(BaseModel):
    id: str
    incident_id: str
    kind: str
    call_id: str | None
    reason: str
    created_at: datetime
    created_by: str
    due_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    outcome: str | None


class DowngradeOut(BaseModel):
    id: str
    incident_id: str
    from_grade: str
    to_grade: str
    reason: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    approved: bool | None
    decision_note: str | None


class AppointmentOut(BaseModel):
    id: str
    starts_at: datetime
    ends_at: datetime
    booked_at: datetime
    booked_by: str
    cancelled_at: datetime | None


def _rows(model: type[BaseModel], rows) -> list:
    names = list(model.model_fields)
    return [model(**{n: getattr(r, n) for n in names}) for r in rows]


def _row(model: type[BaseModel], row):
    return None if row is None else _rows(model, [row])[0]


class DetailOut(BaseModel):
    incident: IncidentOut
    calls: list[CallOut]
    assessments: list[AssessmentOut]
    log: list[LogEntryOut]
    assignments: list[AssignmentOut]
    tasks: list[TaskOut]
    downgrades: list[DowngradeOut]
    appointment: AppointmentOut | None
    parent: Brief | None
    children: list[Brief]
    merged: list[Brief]


class IntakeOut(BaseModel):
    incident: IncidentOut
    call_id: str
    created: bool = Field(description="False: the same call (idempotency key) was already received")
    attached: bool = Field(description="True: the call joined an existing incident")
    warnings: list[str]
    appointment: AppointmentOut | None


class ChangedOut(BaseModel):
    incident: IncidentOut
    tasks: list[TaskOut] = Field(description="Tasks the change opened (call-backs, a downgrade approval)")
    downgrade: DowngradeOut | None
    appointment: AppointmentOut | None
    entry: LogEntryOut | None


def _apply(request: Request, db, work: Callable[..., service.Changed]) -> ChangedOut:
    """Run one change (``work(session)``) in a unit of work; publish its events once it has
    committed."""
    with db.unit_of_work() as session:
        changed = work(session)
        out = _changed_out(changed)
    for event in changed.events:
        request.app.state.bus.publish(event)
    return out


def _changed_out(changed: service.Changed) -> ChangedOut:
    return ChangedOut(
        incident=IncidentOut.of(changed.incident),
        tasks=_rows(TaskOut, changed.tasks),
        downgrade=_row(DowngradeOut, changed.downgrade),
        appointment=_row(AppointmentOut, changed.appointment),
        entry=_row(LogEntryOut, changed.entry),
    )


class DuplicateOut(BaseModel):
    incident: IncidentOut
    distance_m: float
    age_minutes: float


class SlotOut(BaseModel):
    starts_at: datetime
    ends_at: datetime
    free: int


class CategoryOut(BaseModel):
    code: str
    name: str
    family: str
    requires: list[str]
    duplicate_radius_m: int
    duplicate_window_minutes: int
    default_grade: str | None


class QualifierOut(BaseModel):
    code: str
    name: str
    requires: list[str]


class GradeOut(BaseModel):
    name: str
    urban_minutes: int | None
    rural_minutes: int | None


class CatalogueOut(BaseModel):
    categories: list[CategoryOut]
    qualifiers: list[QualifierOut]
    grades: dict[str, GradeOut]
    families: dict[str, str]
    results: dict[str, str]
    sources: list[str]


# ---------------------------------------------------------------- bodies


class ThriveIn(BaseModel):
    threat: str = ""
    harm: str = ""
    risk: str = ""
    investigation: str = ""
    vulnerability: str = ""
    engagement: str = ""

    def command(self) -> Thrive:
        return Thrive(**self.model_dump())


class CallerIn(BaseModel):
    name: str | None = None
    phone: str | None = None
    callback_consent: bool = False


class IncidentIn(BaseModel):
    """A new call. Send ``attach_to`` to add it to an existing incident as another caller."""

    source: str
    category: str = ""
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    description: str = ""
    qualifiers: list[str] = Field(default_factory=list)
    grade: str | None = Field(None, description="1-4; default: the category's default grade")
    thrive: ThriveIn | None = None
    caller: CallerIn = Field(default_factory=CallerIn)
    outside_area_reason: str | None = Field(None, description="Why a location outside the force area is ours")
    idempotency_key: str | None = Field(None, description="Or the Idempotency-Key header (which wins)")
    attach_to: str | None = None
    marking: str | None = None
    appointment_at: datetime | None = Field(None, description="Grade 3: the slot the caller chose (default: earliest)")


class AssessIn(BaseModel):
    grade: str
    thrive: ThriveIn
    reason: str | None = None


class DecisionIn(BaseModel):
    approve: bool
    note: str | None = None


class AttendanceIn(BaseModel):
    change: str = Field(description="delay, cancel or reschedule")
    reason: str


class OutcomeIn(BaseModel):
    outcome: str


class AppointmentIn(BaseModel):
    starts_at: datetime


class NoteIn(BaseModel):
    text: str


class CorrectionIn(BaseModel):
    entry_id: int
    text: str


class StatusIn(BaseModel):
    status: str
    reason: str | None = None


class CauseIn(BaseModel):
    cause: str


class ChildIn(BaseModel):
    child_id: str


class MergeIn(BaseModel):
    into_id: str
    reason: str


class ReasonIn(BaseModel):
    reason: str


class CloseIn(BaseModel):
    closing_category: str
    result: str
    summary: str
    crime_reference: str | None = None


# ---------------------------------------------------------------- routes: intake and reads


@router.get("/api/v1/incident-categories", response_model=CatalogueOut, tags=TAG, summary="Categories and grades")
def categories(caller: Reader, db: Db):
    """The force's NSIR categories (with duplicate windows and the capabilities they need),
    qualifiers, grade names and attendance targets, closing results and sources."""
    with db.read() as session:
        found = service.catalogue(session, caller.actor)
    return CatalogueOut(
        categories=[CategoryOut(**c.model_dump(mode="json")) for c in found.command.categories],
        qualifiers=[QualifierOut(**q.model_dump(mode="json")) for q in found.command.qualifiers],
        grades={code: GradeOut(**g.model_dump()) for code, g in found.grades.items()},
        families=found.families,
        results=found.results,
        sources=found.sources,
    )


@router.post("/api/v1/incidents", response_model=IntakeOut, status_code=201, tags=TAG, summary="A new call")
def create(
    request: Request,
    response: Response,
    caller: Creator,
    db: Db,
    clock: Now,
    body: IncidentIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
):
    """Record a call: 201 with the new incident (or the incident it joined); 200 with the
    first result when the same Idempotency-Key was received before (nothing new written)."""
    command = NewIncident(
        source=body.source,
        category=body.category,
        lat=body.lat,
        lon=body.lon,
        address=body.address,
        description=body.description,
        qualifiers=tuple(body.qualifiers),
        grade=body.grade,
        thrive=body.thrive.command() if body.thrive else None,
        caller=CallerDetails(body.caller.name, body.caller.phone, body.caller.callback_consent),
        outside_area_reason=body.outside_area_reason,
        idempotency_key=idempotency_key or body.idempotency_key,
        attach_to=body.attach_to,
        marking=body.marking,
    )
    with db.unit_of_work() as session:
        intake = service.create_incident(session, caller.actor, command, clock, appointment_at=body.appointment_at)
        out = IntakeOut(
            incident=IncidentOut.of(intake.incident),
            call_id=intake.call.id,
            created=intake.created,
            attached=intake.attached,
            warnings=intake.warnings,
            appointment=_row(AppointmentOut, intake.appointment),
        )
    for event in intake.events:
        request.app.state.bus.publish(event)
    if not intake.created:
        response.status_code = 200
    return out


@router.get("/api/v1/incidents", response_model=list[IncidentOut], tags=TAG, summary="The incident queue")
def incident_queue(
    caller: Reader,
    db: Db,
    status: Annotated[list[str], Query(description="Statuses (default: the active ones)")] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
):
    """Incidents by grade, then nearest target, then age."""
    with db.read() as session:
        found = service.queue(session, caller.actor, statuses=status or ACTIVE_STATUSES, limit=limit)
        return [IncidentOut.of(i) for i in found]


@router.get(
    "/api/v1/incidents/duplicates", response_model=list[DuplicateOut], tags=TAG, summary="Possible duplicate calls"
)
def find_duplicates(
    caller: Reader,
    db: Db,
    clock: Now,
    category: str,
    lat: float,
    lon: float,
    exclude: str | None = None,
):
    """Active incidents within the category's distance and time window of the point, nearest first."""
    with db.read() as session:
        found = duplicates.find_duplicates(session, caller.actor, category, lat, lon, clock, exclude_id=exclude)
        return [
            DuplicateOut(incident=IncidentOut.of(d.incident), distance_m=d.distance_m, age_minutes=d.age_minutes)
            for d in found
        ]


@router.get(
    "/api/v1/incidents/by-reference/{reference}", response_model=IncidentOut, tags=TAG, summary="Find by reference"
)
def by_reference(caller: Reader, db: Db, clock: Now, reference: str):
    with db.unit_of_work() as session:
        return IncidentOut.of(service.get_incident_by_reference(session, caller.actor, reference, clock))


def _missing(incident_id: str) -> Audit:
    return Audit(
        "incident.read", Outcome.DENIED, "incident", incident_id[:64], {"why": "not found in the caller's force"}
    )


@router.get("/api/v1/incidents/{incident_id}", response_model=DetailOut, tags=TAG, summary="One incident in full")
def detail(caller: Reader, db: Db, clock: Now, incident_id: str):
    """The incident with its calls, assessments, log (in order), assignments, tasks,
    downgrade requests, appointment, parent, children and merged duplicates. Audited."""
    with audited(db, caller.trail) as session, refused_if_missing(caller.trail, _missing(incident_id)):
        found = service.incident_detail(session, caller.actor, incident_id, clock)
        return DetailOut(
            incident=IncidentOut.of(found.incident),
            calls=_rows(CallOut, found.calls),
            assessments=_rows(AssessmentOut, found.assessments),
            log=_rows(LogEntryOut, found.log),
            assignments=[
                AssignmentOut(
                    **{n: getattr(a, n) for n in AssignmentOut.model_fields if n != "call_sign"},
                    call_sign=found.call_signs.get(a.unit_id),
                )
                for a in found.assignments
            ],
            tasks=_rows(TaskOut, found.tasks),
            downgrades=_rows(DowngradeOut, found.downgrades),
            appointment=_row(AppointmentOut, found.appointment),
            parent=Brief.of(found.parent) if found.parent else None,
            children=[Brief.of(c) for c in found.children],
            merged=[Brief.of(m) for m in found.merged],
        )


@router.get(
    "/api/v1/incidents/{incident_id}/appointment-slots",
    response_model=list[SlotOut],
    tags=TAG,
    summary="Free grade 3 appointment slots",
)
def slots(caller: Reader, db: Db, clock: Now, incident_id: str):
    with db.read() as session:
        found = service.appointment_slots(session, caller.actor, incident_id, clock)
    return [SlotOut(starts_at=s.starts_at, ends_at=s.ends_at, free=s.free) for s in found]


# ---------------------------------------------------------------- routes: changes


@router.post("/api/v1/incidents/{incident_id}/assessments", response_model=ChangedOut, tags=TAG, summary="Re-assess")
def assess(request: Request, caller: Updater, db: Db, clock: Now, incident_id: str, body: AssessIn):
    """THRIVE and grade again: the same or a more urgent grade applies at once; a downgrade
    needs a reason and waits for a supervisor (``downgrade`` in the answer)."""
    thrive = body.thrive.command()
    return _apply(
        request, db, lambda s: service.assess(s, caller.actor, incident_id, body.grade, thrive, body.reason, clock)
    )


@router.post(
    "/api/v1/downgrades/{request_id}/decision", response_model=ChangedOut, tags=TAG, summary="Decide a downgrade"
)
def decide(request: Request, caller: Supervisor, db: Db, clock: Now, request_id: str, body: DecisionIn):
    """A supervisor other than the requester approves or refuses a downgrade."""
    return _apply(
        request, db, lambda s: service.decide_downgrade(s, caller.actor, request_id, body.approve, body.note, clock)
    )


@router.post(
    "/api/v1/incidents/{incident_id}/attendance", response_model=ChangedOut, tags=TAG, summary="Change attendance"
)
def attendance(request: Request, caller: Updater, db: Db, clock: Now, incident_id: str, body: AttendanceIn):
    """Delay, cancel or reschedule attendance: every caller gets a call-back task."""
    return _apply(
        request, db, lambda s: service.change_attendance(s, caller.actor, incident_id, body.change, body.reason, clock)
    )


@router.post("/api/v1/incidents/{incident_id}/appointment", response_model=ChangedOut, tags=TAG, summary="Book a slot")
def appointment(request: Request, caller: Updater, db: Db, clock: Now, incident_id: str, body: AppointmentIn):
    """Book (or move) a grade 3 incident's appointment; moving one calls the caller back."""
    return _apply(request, db, lambda s: service.book_appointment(s, caller.actor, incident_id, body.starts_at, clock))


@router.post("/api/v1/incidents/{incident_id}/notes", response_model=ChangedOut, tags=TAG, summary="Add a note")
def note(request: Request, caller: Updater, db: Db, clock: Now, incident_id: str, body: NoteIn):
    return _apply(request, db, lambda s: service.add_note(s, caller.actor, incident_id, body.text, clock))


@router.post(
    "/api/v1/incidents/{incident_id}/corrections", response_model=ChangedOut, tags=TAG, summary="Correct the log"
)
def correction(request: Request, caller: Updater, db: Db, clock: Now, incident_id: str, body: CorrectionIn):
    """A new entry correcting an earlier one; nothing is edited in place."""
    return _apply(request, db, lambda s: service.correct(s, caller.actor, incident_id, body.entry_id, body.text, clock))


@router.post("/api/v1/incidents/{incident_id}/status", response_model=ChangedOut, tags=TAG, summary="Set the status")
def status(request: Request, caller: Updater, db: Db, clock: Now, incident_id: str, body: StatusIn):
    """Resolved (dealt with without deployment) or open again; 409 lists the statuses allowed now."""
    return _apply(
        request, db, lambda s: service.change_status(s, caller.actor, incident_id, body.status, body.reason, clock)
    )


@router.post(
    "/api/v1/incidents/{incident_id}/breach-cause", response_model=ChangedOut, tags=TAG, summary="Amend a breach cause"
)
def breach_cause(request: Request, caller: Supervisor, db: Db, clock: Now, incident_id: str, body: CauseIn):
    return _apply(request, db, lambda s: service.record_breach_cause(s, caller.actor, incident_id, body.cause, clock))


@router.post("/api/v1/incidents/{incident_id}/children", response_model=ChangedOut, tags=TAG, summary="Link a child")
def link(request: Request, caller: Updater, db: Db, clock: Now, incident_id: str, body: ChildIn):
    """Make another incident part of this one (a major incident's strands)."""
    return _apply(request, db, lambda s: service.link(s, caller.actor, incident_id, body.child_id, clock))


@router.delete(
    "/api/v1/incidents/{incident_id}/children/{child_id}", response_model=ChangedOut, tags=TAG, summary="Unlink"
)
def unlink(request: Request, caller: Updater, db: Db, clock: Now, incident_id: str, child_id: str):
    return _apply(request, db, lambda s: service.unlink(s, caller.actor, incident_id, child_id, clock))


@router.post("/api/v1/incidents/{incident_id}/merge", response_model=ChangedOut, tags=TAG, summary="Merge a duplicate")
def merge(request: Request, caller: Updater, db: Db, clock: Now, incident_id: str, body: MergeIn):
    """Fold this incident (a duplicate) into ``into_id``; reversible with unmerge."""
    return _apply(request, db, lambda s: service.merge(s, caller.actor, incident_id, body.into_id, body.reason, clock))


@router.post("/api/v1/incidents/{incident_id}/unmerge", response_model=ChangedOut, tags=TAG, summary="Undo a merge")
def unmerge(request: Request, caller: Updater, db: Db, clock: Now, incident_id: str, body: ReasonIn):
    return _apply(request, db, lambda s: service.unmerge(s, caller.actor, incident_id, body.reason, clock))


@router.post("/api/v1/incidents/{incident_id}/close", response_model=ChangedOut, tags=TAG, summary="Close")
def close(request: Request, caller: Closer, db: Db, clock: Now, incident_id: str, body: CloseIn):
    """Close with a closing category, result and summary (and the crime reference for a
    recorded crime). 409 while units are assigned or call-backs are open, listing them."""
    return _apply(
        request,
        db,
        lambda s: service.close_incident(
            s,
            caller.actor,
            incident_id,
            body.closing_category,
            body.result,
            body.summary,
            clock,
            crime_reference=body.crime_reference,
        ),
    )


@router.post("/api/v1/incidents/{incident_id}/reopen", response_model=ChangedOut, tags=TAG, summary="Reopen")
def reopen(request: Request, caller: Closer, db: Db, clock: Now, incident_id: str, body: ReasonIn):
    return _apply(request, db, lambda s: service.reopen(s, caller.actor, incident_id, body.reason, clock))


# ---------------------------------------------------------------- tasks


@router.get("/api/v1/tasks", response_model=list[TaskOut], tags=TAG, summary="Open tasks")
def tasks(
    caller: Reader,
    db: Db,
    kind: Annotated[str | None, Query(description="call_back, reassessment or downgrade_approval")] = None,
):
    """Open call-back, re-assessment and downgrade approval tasks, those due first."""
    with db.read() as session:
        return _rows(TaskOut, service.open_tasks(session, caller.actor, kind=kind))


@router.post("/api/v1/tasks/{task_id}/close", response_model=ChangedOut, tags=TAG, summary="Close a task")
def close_task(request: Request, caller: Updater, db: Db, clock: Now, task_id: str, body: OutcomeIn):
    """Close a task with what was done; a closed task cannot be closed again."""
    return _apply(request, db, lambda s: service.close_task(s, caller.actor, task_id, body.outcome, clock))
