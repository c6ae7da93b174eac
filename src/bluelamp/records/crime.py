"""Crime recording (issue 6 item 2): a crime from a command incident, an online report or
directly; its Home Office classification and data.police.uk category; the National Crime
Recording Standard clock; the officer in charge; the append-only investigation log; the
Home Office outcome that closes it.

Decisions this module makes:

- **The NCRS clock starts when the crime was reported** (NCRS: record within 24 hours):
  for a crime from an incident, when the call came in (the incident's creation) unless a
  time is given; for an online report or a direct report, the time given, else now.
  ``ncrs_due_at`` is 24 hours later (elapsed time: a clock change does not move it) and
  ``recorded_late`` is set when the crime was recorded after it.
- **Offence codes come from the Home Office table** (records/classification.py); codes a
  force may not record (fraud, recorded by Action Fraud; "outcome only" codes) are refused
  with the reason. Reclassifying writes the old and new code in the log and re-assigns
  the MoPI group.
- **The officer in charge** is an enabled user of the force whose roles record crimes.
- **The investigation log is append-only** (the database refuses UPDATE and DELETE);
  a mistake is put right by a correction entry naming the entry it corrects.
- **Closing needs a Home Office outcome** (1-22, classification.OUTCOMES). Outcomes that
  deal with an identified suspect (a charge, a caution, a community resolution...) need
  a person linked to the crime as suspect. Closing sets the status to closed; reopening
  (with a reason) sets it back to under investigation. An outcome dealing with a suspect
  raises the suspects' MoPI retention group to the crime's. Closing and reopening are key
  decisions under the Victims' Code: each victim's next update falls due within the
  first-update window (records/victims.py).
- **Reading a crime asks for a reason** and is audited, as every record read is
  (records/pole.py); lists carry no victims and are not.
- A crime from an incident writes a note in the incident's log (the control room sees
  the crime reference) and returns the incident's bus event for the web layer to publish.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from bluelamp.access import audit
from bluelamp.access import queries as access_queries
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor, actions_of, require_reason
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.command import log as incident_log
from bluelamp.command import service as command_service
from bluelamp.command.config import Family
from bluelamp.command.model import LogKind
from bluelamp.command.queries import visible_incident
from bluelamp.errors import CATALOGUE, Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.events import Event as BusEvent
from bluelamp.records import classification, mopi, pole, victims
from bluelamp.records.crimes import queries
from bluelamp.records.model import Crime, Event, EventKind, InvestigationEntry, LinkRole, Person, Victim

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    (
        "crime.unknown_offence",
        InvalidInput,
        "The offence code is not a Home Office offence code (see crime-categories).",
    ),
    (
        "crime.offence_not_recordable",
        InvalidInput,
        "A force cannot record a crime under that code (fraud goes to Action Fraud; some codes are for outcomes only).",
    ),
    ("crime.unknown_outcome", InvalidInput, "The outcome is not a Home Office outcome type (1 to 22)."),
    (
        "crime.unknown_officer",
        InvalidInput,
        "The officer in charge must be an enabled user of the force who records crimes.",
    ),
    ("crime.closed", Conflict, "The crime is closed; reopen it first."),
    ("crime.not_closed", Conflict, "The crime is not closed, so it cannot be reopened."),
    (
        "crime.suspect_required",
        Conflict,
        "That outcome deals with an identified suspect: link a person to the crime as suspect first.",
    ),
]:
    CATALOGUE.register(_code, _kind, _meaning)

# NCRS: a crime is recorded within 24 hours of the report.
NCRS_WINDOW = timedelta(hours=24)
TEXT_LIMIT = 20_000


class CrimeSource(StrEnum):
    INCIDENT = "incident"  # from a command-and-control incident
    ONLINE = "online"  # from an online report (police.uk Single Online Home)
    DIRECT = "direct"  # recorded directly (front counter, officer's own)


class CrimeStatus(StrEnum):
    INVESTIGATING = "investigating"  # (records_crime.status is 16 characters)
    CLOSED = "closed"


class CrimeLogKind(StrEnum):
    """Kinds of investigation log entry."""

    RECORDED = "recorded"
    NOTE = "note"
    CORRECTION = "correction"
    OFFICER = "officer"
    CLASSIFICATION = "classification"
    VICTIM = "victim"
    VICTIM_UPDATE = "victim_update"
    OUTCOME = "outcome"
    REOPENED = "reopened"


@dataclass(frozen=True)
class NewCrime:
    """Command: record a crime."""

    source: str
    offence_code: str
    summary: str
    narrative: str = ""
    reported_at: datetime | None = None  # the NCRS clock's start (defaults: see the module)
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    incident_id: str | None = None  # required for source "incident"
    report_reference: str | None = None  # the online report's reference; required for "online"
    officer_in_charge: str | None = None  # a username of the force
    location_id: str | None = None
    marking: str | None = None


@dataclass
class CrimeChanged:
    """What a change to a crime did, and the bus events to publish after the commit."""

    event: Event
    crime: Crime
    entry: InvestigationEntry | None = None
    events: list[BusEvent] = field(default_factory=list)


@dataclass
class CrimeDetail:
    """One crime in full: the event, the crime row, its log, its victims and its links."""

    event: Event
    crime: Crime
    log: list[InvestigationEntry]
    victims: list[tuple[Victim, Person]]
    links: list[pole.LinkView]


# ---------------------------------------------------------------- helpers


def invalid(problems: list[tuple[FieldProblem, str]]) -> InvalidInput:
    """One InvalidInput listing every problem; its code is theirs when they share one."""
    codes = {code for _, code in problems}
    fields = [p for p, _ in problems]
    return InvalidInput(
        "; ".join(f"{p.field}: {p.message}" for p in fields),
        code=codes.pop() if len(codes) == 1 else "input.invalid",
        problems=fields,
    )


def _text(value: str | None, name: str, problems: list[tuple[FieldProblem, str]], *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        problems.append((FieldProblem(name, "required"), "input.invalid"))
    elif len(text) > TEXT_LIMIT:
        problems.append((FieldProblem(name, f"at most {TEXT_LIMIT} characters"), "input.invalid"))
    return text


def offence_of(code: str | None, problems: list[tuple[FieldProblem, str]]) -> classification.Offence | None:
    """The recordable offence with this code, or a problem saying why not."""
    found = classification.offence(code)
    if found is None:
        problems.append(
            (
                FieldProblem("offence_code", f"{(code or '').strip()!r} is not a Home Office offence code"),
                "crime.unknown_offence",
            )
        )
        return None
    if not found.recordable:
        problems.append(
            (FieldProblem("offence_code", f"{found.code}: {found.not_recordable}"), "crime.offence_not_recordable")
        )
        return None
    return found


def officer_of(session: Session, force_id: str, username: str | None, problems) -> str | None:
    """The username of an enabled user of the force who may record crimes, or a problem."""
    wanted = (username or "").strip().lower()
    if not wanted:
        return None
    user = access_queries.user_by_username(session, wanted)
    ok = (
        user is not None
        and user.force_id == force_id
        and user.disabled_at is None
        and Action.CRIME_RECORD in actions_of(set(access_queries.roles_of(session, user.id)))
    )
    if not ok:
        problems.append(
            (
                FieldProblem("officer_in_charge", f"{wanted!r} is not an officer of the force who records crimes"),
                "crime.unknown_officer",
            )
        )
        return None
    return user.username


def visible_crime(session: Session, actor: Actor, crime_id: str, *, for_update: bool = False) -> tuple[Event, Crime]:
    found = queries.visible_crime(session, actor, crime_id, for_update=for_update)
    if found is None:
        raise NotFound(f"no crime {crime_id!r}")
    return found


def _open(event: Event, crime: Crime) -> None:
    if crime.status == CrimeStatus.CLOSED:
        raise Conflict(
            f"crime {event.reference} is closed; reopen it first",
            code="crime.closed",
            extra={"status": crime.status, "outcome": crime.outcome_code},
        )


def write_log(
    session: Session,
    event: Event,
    by: str,
    kind: CrimeLogKind | str,
    text: str,
    clock: Clock,
    *,
    corrects_id: int | None = None,
) -> InvestigationEntry:
    """Append one entry to a crime's investigation log. Nothing is ever edited."""
    entry = InvestigationEntry(
        force_id=event.force_id,
        event_id=event.id,
        at=clock.now(),
        by=by,
        kind=str(kind),
        text=text,
        corrects_id=corrects_id,
    )
    session.add(entry)
    event.updated_at = entry.at
    session.flush()
    return entry


def _audit(session: Session, actor: Actor, action: str, event: Event, clock: Clock, **detail) -> None:
    audit.append(
        session,
        actor,
        Audit(action, record_type="event", record_id=event.id, detail={"reference": event.reference, **detail}),
        clock,
    )


def _when(moment: datetime) -> str:
    return to_local(moment).strftime("%d/%m/%Y %H:%M")


# ---------------------------------------------------------------- recording


def record_crime(session: Session, actor: Actor, command: NewCrime, clock: Clock) -> CrimeChanged:
    """Record a crime: its event (reference, location, incident), Home Office offence and
    data.police.uk category, the NCRS clock and late flag, the officer in charge, the first
    investigation log entry; audited."""
    require(actor, Action.CRIME_RECORD)
    force_id = pole.force_of(actor)
    now = clock.now()
    problems: list[tuple[FieldProblem, str]] = []
    source = (command.source or "").strip().lower()
    if source not in {s.value for s in CrimeSource}:
        problems.append((FieldProblem("source", "use incident, online or direct"), "input.invalid"))
    offence = offence_of(command.offence_code, problems)
    incident = None
    incident_id = (command.incident_id or "").strip() or None
    if source == CrimeSource.INCIDENT:
        if incident_id is None:
            problems.append((FieldProblem("incident_id", "name the incident the crime comes from"), "input.invalid"))
        else:
            readable = actor.can(Action.INCIDENT_READ)
            incident = visible_incident(session, actor, incident_id, for_update=True) if readable else None
            if incident is None:
                problems.append((FieldProblem("incident_id", f"no incident {incident_id!r}"), "input.invalid"))
    elif incident_id is not None:
        problems.append((FieldProblem("incident_id", "only a crime from an incident names one"), "input.invalid"))
    report_reference = (command.report_reference or "").strip()[:60] or None
    if source == CrimeSource.ONLINE and report_reference is None:
        problems.append((FieldProblem("report_reference", "give the online report's reference"), "input.invalid"))
    narrative = _text(command.narrative, "narrative", problems, required=False)
    officer = officer_of(session, force_id, command.officer_in_charge, problems)
    if problems:
        raise invalid(problems)

    reported_at = command.reported_at or (incident.created_at if incident is not None else now)
    group = mopi.group_for_offence(offence.code)
    event = pole.create_event(
        session,
        actor,
        pole.NewEvent(
            kind=EventKind.CRIME.value,
            summary=command.summary,
            narrative=narrative,
            occurred_from=command.occurred_from,
            occurred_to=command.occurred_to,
            reported_at=reported_at,
            location_id=command.location_id,
            incident_id=incident.id if incident is not None else None,
            marking=command.marking,
            retention_group=group,
        ),
        clock,
    )
    due = reported_at + NCRS_WINDOW
    crime = Crime(
        event_id=event.id,
        force_id=force_id,
        offence_code=offence.code,
        police_uk_category=offence.police_uk_category,
        source=source,
        reported_at=reported_at,
        recorded_at=now,
        ncrs_due_at=due,
        recorded_late=now > due,
        officer_in_charge=officer,
        status=CrimeStatus.INVESTIGATING.value,
    )
    session.add(crime)
    session.flush()
    origin = {
        CrimeSource.INCIDENT: f"from incident {incident.reference}" if incident is not None else "",
        CrimeSource.ONLINE: f"from online report {report_reference}",
        CrimeSource.DIRECT: "directly",
    }[CrimeSource(source)]
    late = " LATE: after the NCRS 24 hours" if crime.recorded_late else ""
    entry = write_log(
        session,
        event,
        actor.username,
        CrimeLogKind.RECORDED,
        f"crime {event.reference} recorded {origin}: {offence.code} {offence.description} "
        f"({offence.police_uk_name}); reported {_when(reported_at)}, recorded {_when(now)}{late}",
        clock,
    )
    if officer:
        write_log(session, event, actor.username, CrimeLogKind.OFFICER, f"officer in charge: {officer}", clock)
    bus: list[BusEvent] = []
    if incident is not None:
        incident_log.write(
            session,
            incident,
            actor.username,
            LogKind.NOTE,
            f"crime {event.reference} recorded: {offence.description}",
            clock,
            data={"crime_id": event.id, "crime_reference": event.reference, "offence_code": offence.code},
        )
        bus.append(incident_log.changed(incident, "crime_recorded"))
    _audit(
        session,
        actor,
        "crime.record",
        event,
        clock,
        offence_code=offence.code,
        source=source,
        report_reference=report_reference,
        incident_id=incident.id if incident is not None else None,
        recorded_late=crime.recorded_late,
    )
    return CrimeChanged(event, crime, entry, bus)


# ---------------------------------------------------------------- reading


def get_crime(session: Session, actor: Actor, crime_id: str, clock: Clock) -> CrimeDetail:
    """One crime with its log, victims (whose persons the actor may see) and links; asks for
    a reason; audited."""
    require(actor, Action.CRIME_READ)
    event, crime = visible_crime(session, actor, crime_id)
    reason = require_reason(actor)
    detail = CrimeDetail(
        event=event,
        crime=crime,
        log=queries.investigation_log(session, event.id),
        victims=queries.visible_victims(session, actor, event.id),
        links=pole.links_of(session, actor, pole.ref(event)),
    )
    audit.append(
        session,
        actor,
        Audit(
            "crime.read", record_type="event", record_id=event.id, reason=reason, detail={"reference": event.reference}
        ),
        clock,
    )
    return detail


def list_crimes(
    session: Session,
    actor: Actor,
    *,
    officer: str | None = None,
    status: str | None = None,
    late: bool | None = None,
    limit: int = 200,
) -> list[tuple[Event, Crime]]:
    """Crimes the actor may see, newest recorded first: by officer in charge, status, or
    recorded late (after the NCRS 24 hours)."""
    require(actor, Action.CRIME_READ)
    if status is not None and status not in {s.value for s in CrimeStatus}:
        raise invalid([(FieldProblem("status", "use investigating or closed"), "input.invalid")])
    wanted = (officer or "").strip().lower() or None
    return queries.visible_crimes(
        session, actor, officer=wanted, status=status, late=late, limit=max(1, min(limit, 1000))
    )


# ---------------------------------------------------------------- changes


def assign_officer(session: Session, actor: Actor, crime_id: str, username: str, clock: Clock) -> CrimeChanged:
    """Make a user of the force the crime's officer in charge."""
    require(actor, Action.CRIME_RECORD)
    event, crime = visible_crime(session, actor, crime_id, for_update=True)
    problems: list[tuple[FieldProblem, str]] = []
    officer = officer_of(session, event.force_id, username, problems)
    if officer is None and not problems:
        problems.append((FieldProblem("officer_in_charge", "required"), "input.invalid"))
    if problems:
        raise invalid(problems)
    before = crime.officer_in_charge
    crime.officer_in_charge = officer
    entry = write_log(
        session,
        event,
        actor.username,
        CrimeLogKind.OFFICER,
        f"officer in charge: {officer}" + (f" (was {before})" if before else ""),
        clock,
    )
    _audit(session, actor, "crime.officer", event, clock, officer=officer, before=before)
    return CrimeChanged(event, crime, entry)


def add_note(session: Session, actor: Actor, crime_id: str, text: str, clock: Clock) -> CrimeChanged:
    """Add an entry to the investigation log."""
    require(actor, Action.CRIME_RECORD)
    event, crime = visible_crime(session, actor, crime_id, for_update=True)
    problems: list[tuple[FieldProblem, str]] = []
    body = _text(text, "text", problems, required=True)
    if problems:
        raise invalid(problems)
    entry = write_log(session, event, actor.username, CrimeLogKind.NOTE, body, clock)
    _audit(session, actor, "crime.note", event, clock, entry_id=entry.id)
    return CrimeChanged(event, crime, entry)


def correct(session: Session, actor: Actor, crime_id: str, entry_id: int, text: str, clock: Clock) -> CrimeChanged:
    """Correct an investigation log entry with a new entry naming it (nothing is edited)."""
    require(actor, Action.CRIME_RECORD)
    event, crime = visible_crime(session, actor, crime_id, for_update=True)
    problems: list[tuple[FieldProblem, str]] = []
    body = _text(text, "text", problems, required=True)
    if problems:
        raise invalid(problems)
    original = queries.investigation_entry(session, event.id, entry_id)
    if original is None:
        raise NotFound(f"no log entry {entry_id!r} on {event.reference}")
    entry = write_log(session, event, actor.username, CrimeLogKind.CORRECTION, body, clock, corrects_id=original.id)
    _audit(session, actor, "crime.correct", event, clock, entry_id=entry.id, corrects_id=original.id)
    return CrimeChanged(event, crime, entry)


def reclassify(
    session: Session, actor: Actor, crime_id: str, offence_code: str, reason: str, clock: Clock
) -> CrimeChanged:
    """Change a crime's Home Office offence (and so its data.police.uk category and MoPI
    group), with a reason, in the log."""
    require(actor, Action.CRIME_RECORD)
    event, crime = visible_crime(session, actor, crime_id, for_update=True)
    problems: list[tuple[FieldProblem, str]] = []
    offence = offence_of(offence_code, problems)
    why = _text(reason, "reason", problems, required=True)
    if problems:
        raise invalid(problems)
    before = crime.offence_code
    crime.offence_code = offence.code
    crime.police_uk_category = offence.police_uk_category
    mopi.assign_group(event, mopi.group_for_offence(offence.code), to_local(clock.now()).date(), replace=True)
    entry = write_log(
        session,
        event,
        actor.username,
        CrimeLogKind.CLASSIFICATION,
        f"reclassified from {before} to {offence.code} {offence.description} ({offence.police_uk_name}): {why}",
        clock,
    )
    _audit(session, actor, "crime.reclassify", event, clock, before=before, offence_code=offence.code, reason=why)
    return CrimeChanged(event, crime, entry)


def close_crime(
    session: Session, actor: Actor, crime_id: str, outcome_code: str | int, text: str, clock: Clock
) -> CrimeChanged:
    """Close a crime with a Home Office outcome (and a note of why). Outcomes that deal with
    an identified suspect need one linked; victims are due an update (a key decision)."""
    require(actor, Action.CRIME_RECORD)
    event, crime = visible_crime(session, actor, crime_id, for_update=True)
    problems: list[tuple[FieldProblem, str]] = []
    outcome = classification.outcome(outcome_code)
    if outcome is None:
        problems.append(
            (
                FieldProblem("outcome", f"{outcome_code!r} is not a Home Office outcome (1 to 22)"),
                "crime.unknown_outcome",
            )
        )
    body = _text(text, "text", problems, required=True)
    if problems:
        raise invalid(problems)
    _open(event, crime)
    suspects = queries.persons_linked(session, event.id, LinkRole.SUSPECT.value)
    if outcome.needs_suspect and not suspects:
        raise Conflict(
            f"outcome {outcome.code} ({outcome.name}) needs a suspect linked to {event.reference}",
            code="crime.suspect_required",
            extra={"outcome": outcome.code},
        )
    now = clock.now()
    crime.status = CrimeStatus.CLOSED.value
    crime.outcome_code = outcome.code
    crime.outcome_at = now
    crime.outcome_by = actor.username
    if outcome.needs_suspect:
        today = to_local(now).date()
        for person in suspects:  # MoPI: the person is now retained for this offence's group
            mopi.assign_group(person, event.retention_group, today)
    entry = write_log(
        session,
        event,
        actor.username,
        CrimeLogKind.OUTCOME,
        f"closed: outcome {outcome.code} {outcome.name}: {body}",
        clock,
    )
    victims.key_decision(session, event, clock)
    _audit(session, actor, "crime.close", event, clock, outcome=outcome.code, suspects=[p.id for p in suspects])
    return CrimeChanged(event, crime, entry)


def reopen_crime(session: Session, actor: Actor, crime_id: str, reason: str, clock: Clock) -> CrimeChanged:
    """Reopen a closed crime, with a reason; its outcome stays in the log."""
    require(actor, Action.CRIME_RECORD)
    event, crime = visible_crime(session, actor, crime_id, for_update=True)
    problems: list[tuple[FieldProblem, str]] = []
    why = _text(reason, "reason", problems, required=True)
    if problems:
        raise invalid(problems)
    if crime.status != CrimeStatus.CLOSED:
        raise Conflict(
            f"crime {event.reference} is not closed", code="crime.not_closed", extra={"status": crime.status}
        )
    before = crime.outcome_code
    crime.status = CrimeStatus.INVESTIGATING.value
    crime.outcome_code = None
    crime.outcome_at = None
    crime.outcome_by = None
    entry = write_log(
        session, event, actor.username, CrimeLogKind.REOPENED, f"reopened (outcome {before} withdrawn): {why}", clock
    )
    victims.key_decision(session, event, clock)
    _audit(session, actor, "crime.reopen", event, clock, outcome_before=before, reason=why)
    return CrimeChanged(event, crime, entry)


# ---------------------------------------------------------------- the NCRS list (web/pages/crime_lists.py)

# Incident categories of the crime family that are not a crime for the force to record:
# fraud is recorded centrally by Action Fraud; a wanted person sighted is not a new crime.
NOT_RECORDED_CATEGORIES = frozenset({"fraud", "wanted_person"})
# Closing results that say no crime is to be recorded from the incident.
NO_CRIME_RESULTS = frozenset({"false_report", "duplicate", "transferred"})


@dataclass(frozen=True)
class UnrecordedReport:
    """A crime reported to the force (a command incident) with no crime recorded yet."""

    incident_id: str
    reference: str
    category: str  # the NSIR category code (the closing one once closed)
    category_name: str
    status: str
    reported_at: datetime  # the NCRS clock's start: when the call came in
    due_at: datetime  # 24 hours later
    late_by: timedelta  # how far past the 24 hours it is now


def late_by(crime_row: Crime) -> timedelta:
    """How long after the NCRS 24 hours a crime was recorded (zero when in time)."""
    return max(crime_row.recorded_at - crime_row.ncrs_due_at, timedelta(0))


def unrecorded_reports(session: Session, actor: Actor, clock: Clock, *, limit: int = 200) -> list[UnrecordedReport]:
    """Crimes reported more than 24 hours ago (NCRS) and still not recorded: command
    incidents of the force's crime categories the actor may see, with no crime recorded
    from them, that were not closed as no crime (a false report, a duplicate, transferred);
    the longest overdue first. Empty for someone who may not read incidents."""
    require(actor, Action.CRIME_READ)
    if not actor.can(Action.INCIDENT_READ):
        return []
    categories = {
        c.code: c.name
        for c in command_service.catalogue(session, actor).command.categories
        if c.family == Family.CRIME and c.code not in NOT_RECORDED_CATEGORIES
    }
    now = clock.now()
    rows = queries.unrecorded_crime_reports(
        session,
        actor,
        sorted(categories),
        now - NCRS_WINDOW,
        no_crime_results=sorted(NO_CRIME_RESULTS),
        limit=max(1, min(limit, 1000)),
    )
    found = []
    for incident in rows:
        code = incident.closing_category or incident.opening_category
        due = incident.created_at + NCRS_WINDOW
        found.append(
            UnrecordedReport(
                incident_id=incident.id,
                reference=incident.reference,
                category=code,
                category_name=categories.get(code, code),
                status=incident.status,
                reported_at=incident.created_at,
                due_at=due,
                late_by=now - due,
            )
        )
    return found
