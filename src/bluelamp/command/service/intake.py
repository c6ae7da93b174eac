"""Intake: a new incident from a call (or a call attached to an open one), graded with its
THRIVE assessment, replayed when the same idempotency key comes again."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bluelamp.access.policy import Action, Actor, Marking
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.command import log, queries, targets
from bluelamp.command.commands import NewIncident
from bluelamp.command.model import (
    Appointment,
    Assessment,
    Call,
    Grade,
    Incident,
    LogEntry,
    LogKind,
    Source,
)
from bluelamp.errors import Conflict, FieldProblem

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
from bluelamp.command.service.attendance import (
    book_at_intake,
)
from bluelamp.command.service.common import (
    THRIVE_PARTS,
    Intake,
    S,
    audit_incident,
    force_id_of,
    grade_problems,
    incident_or_missing,
    invalid_input,
    location_problems,
    log_target,
    require_active,
    settings_of,
    thrive_dict,
    thrive_problems,
)


def create_incident(
    session: Session, actor: Actor, cmd: NewIncident, clock: Clock, *, appointment_at: datetime | None = None
) -> Intake:
    """Record a new call: a new incident (reference, first THRIVE assessment, target, log),
    or, with ``attach_to``, another caller on an existing incident. The same idempotency
    key twice returns the first result and writes nothing."""
    require(actor, Action.INCIDENT_CREATE)
    force_id = force_id_of(actor)
    force, general, command = settings_of(session, force_id)
    key = (cmd.idempotency_key or "").strip()[:100] or None
    if key is not None:
        replay = _replay(session, actor, force_id, key)
        if replay is not None:
            return replay
    if cmd.attach_to:
        return _attach(session, actor, cmd, key, clock)

    problems: list[tuple[FieldProblem, str]] = []
    source = _source(cmd.source, problems)
    category = command.category((cmd.category or "").strip())
    if category is None:
        problems.append(
            (
                FieldProblem("category", f"{cmd.category!r} is not one of the force's categories"),
                "incident.unknown_category",
            )
        )
    qualifiers: list[str] = []
    for code in cmd.qualifiers:
        if command.qualifier(code) is None:
            problems.append((FieldProblem("qualifiers", f"{code!r} is not a known qualifier"), "input.invalid"))
        elif code not in qualifiers:
            qualifiers.append(code)
    location = location_problems(cmd.lat, cmd.lon, required=True)
    problems.extend(location)
    warnings: list[str] = []
    outside_reason = (cmd.outside_area_reason or "").strip()[:300] or None
    if not location and not targets.in_force_area(command, cmd.lat, cmd.lon):
        if outside_reason is None:
            problems.append(
                (
                    FieldProblem(
                        "outside_area_reason", "the location is outside the force area: say why the force deals with it"
                    ),
                    "incident.outside_area",
                )
            )
        else:
            warnings.append(f"the location is outside the force area (recorded: {outside_reason})")
    elif outside_reason is not None:
        outside_reason = None  # inside the area: nothing to explain
    grade = (cmd.grade or (category.default_grade if category else None) or "").strip() or None
    problems.extend(grade_problems(grade, general))
    problems.extend(thrive_problems(cmd.thrive))
    marking = cmd.marking or Marking.OFFICIAL.value
    if marking not in {m.value for m in Marking}:
        problems.append((FieldProblem("marking", f"{marking!r} is not a security marking"), "input.invalid"))
    elif not actor.clearance.covers(marking):
        problems.append((FieldProblem("marking", "you are not cleared for that marking"), "input.invalid"))
    if len(cmd.address or "") > 300:
        problems.append((FieldProblem("address", "at most 300 characters"), "input.invalid"))
    problems.extend(_caller_problems(cmd))
    if appointment_at is not None and grade != Grade.SCHEDULED.value:
        problems.append((FieldProblem("appointment_at", "only grade 3 incidents book appointments"), "input.invalid"))
    if problems:
        raise invalid_input(problems)

    now = clock.now()
    day = to_local(now).strftime("%Y%m%d")

    def rows() -> tuple[Incident, Call]:
        number = queries.next_reference_number(session, force_id, day)
        incident = Incident(
            id=clock.new_id(),
            force_id=force_id,
            marking=marking,
            need_to_know=False,
            reference=f"{force.reference_prefix}-{day}-{number:04d}",
            idempotency_key=key,
            source=source,
            opening_category=category.code,
            qualifiers=qualifiers,
            description=(cmd.description or "").strip(),
            lat=float(cmd.lat),
            lon=float(cmd.lon),
            address=(cmd.address or "").strip(),
            outside_area_reason=outside_reason,
            area_kind=targets.area_kind(command, cmd.lat, cmd.lon).value,
            grade=grade,
            status=S.OPEN.value,
            created_at=now,
            created_by=actor.username,
            updated_at=now,
            external_id=cmd.external_id,
        )
        session.add(incident)
        session.flush()  # the incident before its call (no ORM relationship orders them)
        call = _call_row(incident, cmd, key, source, actor, clock)
        session.add(call)
        return incident, call

    ok, made = queries.inserted(session, rows)
    if not ok:  # the same key, committed by a concurrent request after our look-up
        replay = _replay(session, actor, force_id, key) if key else None
        if replay is None:
            raise Conflict("the call could not be recorded; send it again", code="conflict")
        return replay
    incident, call = made
    thrive = thrive_dict(cmd.thrive)
    assessment = new_assessment(incident, grade, thrive, None, actor.username, clock)
    session.add(assessment)
    incident.assessment_id = assessment.id
    targets.set_target(incident, general, command)
    log.write(
        session,
        incident,
        actor.username,
        LogKind.CREATED,
        f"incident {incident.reference} created from a {source} call: {category.name}"
        + (f" ({', '.join(qualifiers)})" if qualifiers else ""),
        clock,
        data={
            "call_id": call.id,
            "source": source,
            "category": category.code,
            "qualifiers": qualifiers,
            "lat": incident.lat,
            "lon": incident.lon,
            "address": incident.address,
            "outside_area_reason": outside_reason,
            "marking": marking,
        },
    )
    log_assessment(session, incident, assessment, actor.username, clock, None)
    log_target(session, incident, actor.username, clock, "")
    appointment = None
    if grade == Grade.SCHEDULED.value:
        appointment, warning = book_at_intake(session, actor, incident, command, appointment_at, clock)
        if warning:
            warnings.append(warning)
    audit_incident(session, actor, "incident.create", incident, clock, call_id=call.id, grade=grade)
    session.flush()
    return Intake(incident, call, True, False, [log.changed(incident, "created")], warnings, appointment)


def _source(raw: str, problems: list[tuple[FieldProblem, str]]) -> str:
    try:
        return Source((raw or "").strip()).value
    except ValueError:
        problems.append(
            (FieldProblem("source", f"{raw!r} is not one of {', '.join(s.value for s in Source)}"), "input.invalid")
        )
        return raw


def _caller_problems(cmd: NewIncident) -> list[tuple[FieldProblem, str]]:
    problems = []
    if len(cmd.caller.name or "") > 200:
        problems.append((FieldProblem("caller.name", "at most 200 characters"), "input.invalid"))
    if len(cmd.caller.phone or "") > 40:
        problems.append((FieldProblem("caller.phone", "at most 40 characters"), "input.invalid"))
    return problems


def _call_row(incident: Incident, cmd: NewIncident, key: str | None, source: str, actor: Actor, clock: Clock) -> Call:
    return Call(
        id=clock.new_id(),
        force_id=incident.force_id,
        incident_id=incident.id,
        idempotency_key=key,
        received_at=clock.now(),
        source=source,
        caller_name=(cmd.caller.name or "").strip() or None,
        caller_phone=(cmd.caller.phone or "").strip() or None,
        callback_consent=bool(cmd.caller.callback_consent),
        account=(cmd.description or "").strip(),
        lat=float(cmd.lat) if cmd.lat is not None else None,
        lon=float(cmd.lon) if cmd.lon is not None else None,
        address=(cmd.address or "").strip() or None,
        handled_by=actor.username,
    )


def _replay(session: Session, actor: Actor, force_id: str, key: str) -> Intake | None:
    """The first result of a submission received before under this key, if any."""
    call = queries.call_by_idempotency_key(session, force_id, key)
    if call is None:
        return None
    incident = queries.visible_incident(session, actor, call.incident_id)
    if incident is None:
        raise Conflict("that idempotency key was already used", code="incident.idempotency_key_used")
    appointment = session.get(Appointment, incident.appointment_id) if incident.appointment_id else None
    return Intake(
        incident,
        call,
        created=False,
        attached=incident.idempotency_key != key,
        warnings=[f"already received as {incident.reference}: nothing new was recorded"],
        appointment=appointment,
    )


def _attach(session: Session, actor: Actor, cmd: NewIncident, key: str | None, clock: Clock) -> Intake:
    """Another caller about an existing incident: the call is its own record."""
    problems: list[tuple[FieldProblem, str]] = []
    source = _source(cmd.source, problems)
    problems.extend(location_problems(cmd.lat, cmd.lon, required=False))
    problems.extend(_caller_problems(cmd))
    if problems:
        raise invalid_input(problems)
    incident = incident_or_missing(session, actor, cmd.attach_to, for_update=True)
    require_active(incident)

    def rows() -> Call:
        call = _call_row(incident, cmd, key, source, actor, clock)
        session.add(call)
        return call

    ok, call = queries.inserted(session, rows)
    if not ok:
        replay = _replay(session, actor, incident.force_id, key) if key else None
        if replay is None:
            raise Conflict("the call could not be recorded; send it again", code="conflict")
        return replay
    log.write(
        session,
        incident,
        actor.username,
        LogKind.CALL_ATTACHED,
        f"another call ({source}) attached" + (f": {call.account}" if call.account else ""),
        clock,
        data={"call_id": call.id, "source": source, "lat": call.lat, "lon": call.lon},
    )
    audit_incident(session, actor, "incident.attach_call", incident, clock, call_id=call.id)
    session.flush()
    appointment = session.get(Appointment, incident.appointment_id) if incident.appointment_id else None
    return Intake(incident, call, True, True, [log.changed(incident, "call_attached")], [], appointment)


def new_assessment(
    incident: Incident, grade: str, thrive: dict[str, str], reason: str | None, by: str, clock: Clock
) -> Assessment:
    return Assessment(
        id=clock.new_id(),
        force_id=incident.force_id,
        incident_id=incident.id,
        at=clock.now(),
        by=by,
        grade=grade,
        reason=reason,
        **thrive,
    )


def log_assessment(
    session: Session, incident: Incident, assessment: Assessment, by: str, clock: Clock, previous: str | None
) -> LogEntry:
    if previous is None:
        text = f"THRIVE assessed: grade {assessment.grade}"
    elif previous == assessment.grade:
        text = f"re-assessed: grade {assessment.grade} kept"
    else:
        text = f"re-assessed: grade {previous} → {assessment.grade}"
    if assessment.reason:
        text += f": {assessment.reason}"
    return log.write(
        session,
        incident,
        by,
        LogKind.ASSESSED,
        text,
        clock,
        data={
            "assessment_id": assessment.id,
            "grade": assessment.grade,
            "previous_grade": previous,
            "thrive": {part: getattr(assessment, part) for part in THRIVE_PARTS},
        },
    )
