"""What the crime, intelligence and review pages share: how times, people and records are
put in words, rendering with those helpers, the one "missing" page, form-time parsing, and
who may open a linked record.

Times are shown and typed in UK time (Europe/London).
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from bluelamp.access.policy import Action, markings_up_to
from bluelamp.clock import LONDON, parse_moment, to_local
from bluelamp.errors import BluelampError, Conflict, FieldProblem, InvalidInput
from bluelamp.records import classification, crime, pole
from bluelamp.records.model import EventKind, RecordType
from bluelamp.web.auth import Caller, allow

CrimeReader = Annotated[Caller, Depends(allow(Action.CRIME_READ))]
CrimeRecorder = Annotated[Caller, Depends(allow(Action.CRIME_RECORD))]
Text = Annotated[str, Form()]

LIST_LIMIT = 200
STATUS_LABELS = {crime.CrimeStatus.INVESTIGATING: "Under investigation", crime.CrimeStatus.CLOSED: "Closed"}
SOURCE_LABELS = {
    crime.CrimeSource.INCIDENT: "From a command incident",
    crime.CrimeSource.ONLINE: "From an online report",
    crime.CrimeSource.DIRECT: "Recorded directly",
}


# ---------------------------------------------------------------- presentation helpers


def duration_words(delta: timedelta) -> str:
    """A length of time as people say it: 2 days 3 h, 5 h 20 min, 12 min."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} day{'' if days == 1 else 's'}"] if days else []
    if hours:
        parts.append(f"{hours} h")
    if mins and not days:
        parts.append(f"{mins} min")
    return " ".join(parts)


def day_words(moment: datetime) -> str:
    """A moment as a UK date and time; a Victims' Code deadline (local midnight) as the end of the day before."""
    local = to_local(moment)
    if local.time() == time(0):
        day = local - timedelta(days=1)
        return f"the end of {day:%a} {day.day} {day:%b %Y}"
    return f"{local:%a} {local.day} {local:%b %Y %H:%M}"


def working_days(count: int) -> str:
    return f"{count} working day{'' if count == 1 else 's'}"


def record_path(record_type: str, record_id: str, kind: str | None = None) -> str:
    """Where a record's page is (persons, objects, locations and other events: records pages)."""
    if record_type == RecordType.EVENT and kind == EventKind.CRIME:
        return f"/records/crimes/{record_id}"
    if record_type == RecordType.EVENT and kind == EventKind.INTELLIGENCE:
        return f"/records/intelligence/{record_id}"
    return f"/records/{record_type}s/{record_id}"


def person_name(person) -> str:
    return ", ".join(p for p in (person.family_name.upper(), person.given_names) if p) or "(no name)"


HELPERS = {
    "duration_words": duration_words,
    "day_words": day_words,
    "working_days": working_days,
    "record_path": record_path,
    "person_name": person_name,
    "status_labels": {s.value: label for s, label in STATUS_LABELS.items()},
    "source_labels": {s.value: label for s, label in SOURCE_LABELS.items()},
}


def render(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(request, template, {**HELPERS, **context}, status_code=status)


def missing(request: Request, caller: Caller, what: str, back: str, back_label: str) -> Response:
    """The one answer for a record that is missing or not the caller's to see."""
    context = {"me": caller, "what": what, "back": back, "back_label": back_label}
    return render(request, "crimes/missing.html", context, status=404)


def error_status(error: BluelampError) -> int:
    return 409 if isinstance(error, Conflict) else 422


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def publish(request: Request, events) -> None:
    for event in events:
        request.app.state.bus.publish(event)


def moments(values: dict[str, str]) -> tuple[dict[str, datetime | None], list[FieldProblem]]:
    """Times typed in UK time, by field; the problems with those that are not times."""
    found: dict[str, datetime | None] = {}
    problems: list[FieldProblem] = []
    for name, text in values.items():
        try:
            found[name] = parse_moment(text, name, zone=LONDON)
        except InvalidInput as error:
            found[name] = None
            problems.extend(error.problems)
    return found, problems


def markings(caller: Caller) -> list[str]:
    return markings_up_to(caller.actor.clearance)


def crime_tabs(section: str, caller: Caller) -> dict[str, Any]:
    """What the crime pages' tabs need: the page's own tab, and whether to offer recording a crime."""
    return {"section": section, "can_record": caller.actor.can(Action.CRIME_RECORD)}


def offence_groups() -> list[tuple[str, list[classification.Offence]]]:
    groups: dict[str, list[classification.Offence]] = {}
    for offence in classification.offences():
        if offence.recordable:
            groups.setdefault(offence.group, []).append(offence)
    return list(groups.items())


def openable(caller: Caller, links: list[pole.LinkView]) -> tuple[list[pole.LinkView], int]:
    """The links whose other end the caller's roles let them open (persons, objects and
    locations need person.read; events their kind's read), and how many others are withheld."""
    shown = []
    for view in links:
        if view.other.type == RecordType.EVENT:
            action = pole.EVENT_READ.get(view.other_kind, Action.PERSON_READ)
        else:
            action = Action.PERSON_READ
        if caller.actor.can(action):
            shown.append(view)
    return shown, len(links) - len(shown)
