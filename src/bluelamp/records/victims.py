"""Victims of crimes and their Victims' Code clocks (issue 6 item 2).

The Victims' Code (Ministry of Justice, 2020), right 6: victims are told of key decisions
and kept updated. The defaults come from DOMAIN.md and are each force's settings: a first
update within ``ForceSettings.victim_first_update_working_days`` (5) working days of the
crime being reported, and within ``victim_enhanced_update_working_days`` (1) for victims
entitled to the enhanced service (victims of the most serious crime, persistently
targeted, vulnerable or intimidated).

Decisions this module makes:

- **Working days** skip Saturdays, Sundays and the bank holidays of England and Wales
  (the ``holidays`` package). Counting starts on the day after the report (Europe/London
  dates), and an update is due by the **end** of the last working day, local time: a report
  on Thursday 25 March 2027 (before Good Friday and Easter Monday, and the start of BST)
  is due a first update by the end of Monday 5 April 2027, 23:00 UTC.
- **The cadence after the first update**: every ``REGULAR_UPDATE_WORKING_DAYS`` (20,
  about four weeks) working days after the last update while the crime is investigated;
  and at each **key decision** (the crime closed with an outcome, or reopened) an update
  falls due within the first-update window of the decision (whichever is sooner). Once
  the crime is closed, the update that tells the victim stops the clock.
- **Opting out** stops the clock; opting back in starts it again within the first-update
  window. Updates can still be recorded for a victim who opted out.
- **Making a victim enhanced** (with a reason) before their first update brings the first
  update forward to the enhanced window; afterwards the regular cadence applies.
- ``overdue_updates`` lists, per officer in charge, every victim whose update is overdue on
  crimes the actor may see; it carries ids and references, not names (the crime's page
  names the victims, and asks for a reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

import holidays

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.model import Force, ForceSettings
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import force_settings, require
from bluelamp.clock import LONDON, Clock, to_local
from bluelamp.errors import CATALOGUE, Conflict, FieldProblem, InvalidInput, NotFound
from bluelamp.records import crime, pole
from bluelamp.records import queries as records_queries
from bluelamp.records.crimes import queries
from bluelamp.records.model import Event, LinkRole, Victim, VictimUpdate

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    ("victim.exists", Conflict, "The person is already recorded as a victim of the crime."),
    ("victim.enhanced_reason_required", InvalidInput, "Say why the victim is entitled to the enhanced service."),
]:
    CATALOGUE.register(_code, _kind, _meaning)

# After the first update, the next is due this many working days after the last one
# (about four weeks) while the crime is under investigation.
REGULAR_UPDATE_WORKING_DAYS = 20


class UpdateMethod(StrEnum):
    PHONE = "phone"
    VISIT = "visit"
    EMAIL = "email"
    LETTER = "letter"
    TEXT = "text"


# ---------------------------------------------------------------- working days


@cache
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_working_day(day: date) -> bool:
    """Monday to Friday and not a bank holiday of England and Wales."""
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def working_days_after(moment: datetime, days: int) -> datetime:
    """The end of the ``days``-th working day after the Europe/London day of ``moment``
    (midnight local time that follows it), as aware UTC."""
    day = to_local(moment).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    # Midnight is never skipped or repeated by a UK clock change (they happen at 01:00/02:00).
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON).astimezone(UTC)


def _settings(session: Session, force_id: str) -> ForceSettings:
    force = session.get(Force, force_id)
    if force is None:
        raise NotFound(f"no force {force_id!r}")
    return force_settings(force)


def window(settings: ForceSettings, enhanced: bool) -> int:
    """Working days within which a victim is told: the first update, or of a key decision."""
    return settings.victim_enhanced_update_working_days if enhanced else settings.victim_first_update_working_days


def _sooner(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def key_decision(session: Session, event: Event, clock: Clock) -> None:
    """A key decision on a crime (closed with an outcome, reopened): each victim who has not
    opted out is due an update within the first-update window of now."""
    settings = _settings(session, event.force_id)
    now = clock.now()
    for victim in queries.victims_of(session, event.id, for_update=True):
        if not victim.opted_out:
            victim.next_update_due = _sooner(
                victim.next_update_due, working_days_after(now, window(settings, victim.enhanced))
            )


# ---------------------------------------------------------------- services


@dataclass
class VictimChanged:
    """A victim after a change, the crime's event, and the update written (if any)."""

    victim: Victim
    event: Event
    update: VictimUpdate | None = None


@dataclass(frozen=True)
class OverdueUpdate:
    """A victim whose Victims' Code update is overdue."""

    officer: str | None  # the crime's officer in charge (None: nobody yet)
    crime_id: str
    crime_reference: str
    victim_id: str
    person_id: str
    enhanced: bool
    due_at: datetime
    last_update_at: datetime | None
    overdue_working_days: int  # whole working days gone since it was due


def _audit(session: Session, actor: Actor, action: str, victim: Victim, event: Event, clock: Clock, **detail) -> None:
    audit.append(
        session,
        actor,
        Audit(
            action,
            record_type="event",
            record_id=event.id,
            detail={"reference": event.reference, "victim_id": victim.id, "person_id": victim.person_id, **detail},
        ),
        clock,
    )


def _reason(enhanced: bool, reason: str | None) -> str | None:
    text = " ".join((reason or "").split())[:200] or None
    if enhanced and text is None:
        raise InvalidInput(
            "enhanced_reason: say why the victim is entitled to the enhanced service",
            code="victim.enhanced_reason_required",
            problems=[FieldProblem("enhanced_reason", "required for the enhanced service")],
        )
    return text if enhanced else None


def add_victim(
    session: Session,
    actor: Actor,
    crime_id: str,
    person_id: str,
    clock: Clock,
    *,
    enhanced: bool = False,
    enhanced_reason: str | None = None,
    contact_preference: str | None = None,
) -> VictimChanged:
    """Record a person as a victim of a crime (and link them ``victim``): their first update
    is due within the force's window of the crime being reported (1 day when enhanced)."""
    require(actor, Action.CRIME_RECORD)
    event, row = crime.visible_crime(session, actor, crime_id, for_update=True)
    reason = _reason(enhanced, enhanced_reason)
    person = records_queries.visible_person(session, actor, (person_id or "").strip())
    if person is None:
        raise NotFound(f"no person {person_id!r}")
    if queries.victim_of(session, event.id, person.id) is not None:
        raise Conflict(
            f"the person is already a victim of {event.reference}", code="victim.exists", extra={"person_id": person.id}
        )
    settings = _settings(session, event.force_id)
    victim = Victim(
        id=clock.new_id(),
        force_id=event.force_id,
        event_id=event.id,
        person_id=person.id,
        enhanced=enhanced,
        enhanced_reason=reason,
        contact_preference=" ".join((contact_preference or "").split())[:60] or None,
        next_update_due=working_days_after(row.reported_at, window(settings, enhanced)),
        last_update_at=None,
        opted_out=False,
    )
    session.add(victim)
    session.flush()
    if (
        records_queries.open_link(session, event.force_id, pole.ref(person), LinkRole.VICTIM.value, pole.ref(event))
        is None
    ):
        pole.link(session, actor, person, LinkRole.VICTIM.value, event, clock)
    crime.write_log(
        session,
        event,
        actor.username,
        crime.CrimeLogKind.VICTIM,
        f"victim recorded ({'enhanced service: ' + reason if enhanced else 'standard service'}); "
        f"first update due by {to_local(victim.next_update_due):%d/%m/%Y %H:%M}",
        clock,
    )
    _audit(session, actor, "victim.add", victim, event, clock, enhanced=enhanced)
    return VictimChanged(victim, event)


def _victim(session: Session, actor: Actor, victim_id: str):
    found = queries.visible_victim(session, actor, victim_id, for_update=True)
    if found is None:
        raise NotFound(f"no victim {victim_id!r}")
    return found


def record_update(
    session: Session, actor: Actor, victim_id: str, method: str, text: str, clock: Clock
) -> VictimChanged:
    """Record an update given to a victim: the clock restarts (the next is due in 20 working
    days while the crime is investigated; none once a closed crime's outcome is told)."""
    require(actor, Action.CRIME_RECORD)
    victim, event, row, _ = _victim(session, actor, victim_id)
    problems = []
    how = (method or "").strip().lower()
    if how not in {m.value for m in UpdateMethod}:
        problems.append(FieldProblem("method", f"use one of {', '.join(m.value for m in UpdateMethod)}"))
    body = (text or "").strip()
    if not body:
        problems.append(FieldProblem("text", "say what the victim was told"))
    elif len(body) > crime.TEXT_LIMIT:
        problems.append(FieldProblem("text", f"at most {crime.TEXT_LIMIT} characters"))
    if problems:
        raise pole.invalid(problems)
    now = clock.now()
    update = VictimUpdate(
        force_id=victim.force_id, victim_id=victim.id, at=now, by=actor.username, method=how, text=body
    )
    session.add(update)
    victim.last_update_at = now
    if victim.opted_out or row.status == crime.CrimeStatus.CLOSED:
        victim.next_update_due = None
    else:
        victim.next_update_due = working_days_after(now, REGULAR_UPDATE_WORKING_DAYS)
    session.flush()
    due = f"next due by {to_local(victim.next_update_due):%d/%m/%Y %H:%M}" if victim.next_update_due else "no more due"
    crime.write_log(
        session, event, actor.username, crime.CrimeLogKind.VICTIM_UPDATE, f"victim updated by {how}; {due}", clock
    )
    _audit(session, actor, "victim.update", victim, event, clock, method=how, update_id=update.id)
    return VictimChanged(victim, event, update)


def set_opted_out(
    session: Session, actor: Actor, victim_id: str, opted_out: bool, reason: str, clock: Clock
) -> VictimChanged:
    """A victim opts out of updates (the clock stops) or back in (an update is due within
    the first-update window)."""
    require(actor, Action.CRIME_RECORD)
    victim, event, _, _ = _victim(session, actor, victim_id)
    why = " ".join((reason or "").split())
    if not why:
        raise pole.invalid([FieldProblem("reason", "say how the victim asked for this")])
    victim.opted_out = bool(opted_out)
    if victim.opted_out:
        victim.next_update_due = None
    else:
        settings = _settings(session, event.force_id)
        victim.next_update_due = working_days_after(clock.now(), window(settings, victim.enhanced))
    crime.write_log(
        session,
        event,
        actor.username,
        crime.CrimeLogKind.VICTIM,
        ("victim opted out of updates: " if victim.opted_out else "victim opted back in to updates: ") + why,
        clock,
    )
    _audit(session, actor, "victim.opt_out" if victim.opted_out else "victim.opt_in", victim, event, clock, reason=why)
    return VictimChanged(victim, event)


def set_enhanced(
    session: Session, actor: Actor, victim_id: str, enhanced: bool, reason: str | None, clock: Clock
) -> VictimChanged:
    """Give a victim the enhanced service (with a reason) or the standard one. Before the
    first update, the first update's due time follows."""
    require(actor, Action.CRIME_RECORD)
    victim, event, row, _ = _victim(session, actor, victim_id)
    victim.enhanced_reason = _reason(enhanced, reason)
    victim.enhanced = bool(enhanced)
    if victim.last_update_at is None and not victim.opted_out:
        settings = _settings(session, event.force_id)
        victim.next_update_due = working_days_after(row.reported_at, window(settings, victim.enhanced))
    crime.write_log(
        session,
        event,
        actor.username,
        crime.CrimeLogKind.VICTIM,
        f"victim given the enhanced service: {victim.enhanced_reason}"
        if victim.enhanced
        else "victim given the standard service",
        clock,
    )
    _audit(session, actor, "victim.enhanced", victim, event, clock, enhanced=victim.enhanced)
    return VictimChanged(victim, event)


def updates_of(session: Session, victim_ids: list[str]) -> list[VictimUpdate]:
    """The updates given to these victims, oldest first (for a crime's page)."""
    return queries.victim_updates(session, victim_ids)


def _working_days_between(start: datetime, end: datetime) -> int:
    day, last, count = to_local(start).date(), to_local(end).date(), 0
    while day < last:
        if is_working_day(day):
            count += 1
        day += timedelta(days=1)
    return count


def overdue_updates(
    session: Session, actor: Actor, *, officer: str | None = None, clock: Clock, limit: int = 1000
) -> list[OverdueUpdate]:
    """Victims whose update is overdue, on crimes the actor may see, by officer in charge
    (unassigned crimes last), then the longest overdue first."""
    require(actor, Action.CRIME_READ)
    now = clock.now()
    wanted = (officer or "").strip().lower() or None
    rows = queries.overdue_victims(session, actor, now, officer=wanted, limit=max(1, min(limit, 5000)))
    return [
        OverdueUpdate(
            officer=row.officer_in_charge,
            crime_id=event.id,
            crime_reference=event.reference,
            victim_id=victim.id,
            person_id=victim.person_id,
            enhanced=victim.enhanced,
            due_at=victim.next_update_due,
            last_update_at=victim.last_update_at,
            overdue_working_days=_working_days_between(victim.next_update_due, now),
        )
        for victim, event, row in rows
    ]


# ---------------------------------------------------------------- a victim's clock as pages show it


class ClockState(StrEnum):
    DUE = "due"  # an update is due, not yet overdue
    OVERDUE = "overdue"
    OPTED_OUT = "opted_out"  # the victim asked not to be updated: the clock is stopped
    NONE_DUE = "none_due"  # the crime is closed and its outcome told: no more updates due


@dataclass(frozen=True)
class UpdateClock:
    """Where a victim's Victims' Code clock stands at a moment."""

    state: ClockState
    due_at: datetime | None
    # Overdue: whole working days gone since it fell due. Due: working days left before it
    # falls due, today included when today is a working day.
    working_days: int


def update_clock(victim: Victim, now: datetime) -> UpdateClock:
    """A victim's clock at ``now``: due (and in how many working days), overdue (and by how
    many), stopped because they opted out, or none due."""
    due = victim.next_update_due
    if victim.opted_out:
        return UpdateClock(ClockState.OPTED_OUT, None, 0)
    if due is None:
        return UpdateClock(ClockState.NONE_DUE, None, 0)
    if due <= now:
        return UpdateClock(ClockState.OVERDUE, due, _working_days_between(due, now))
    return UpdateClock(ClockState.DUE, due, _working_days_between(now, due))
