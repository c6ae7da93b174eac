"""Intelligence reports graded 3x5x2 (issue 6 item 3).

The 3x5x2 grading (College of Policing APP, Intelligence management):

- **source evaluation**: 1 reliable, 2 untested, 3 not reliable;
- **intelligence assessment**: A known directly to the source, B known indirectly but
  corroborated, C known indirectly, D not known, E suspected to be false;
- **handling code**: P, lawful sharing permitted; C, lawful sharing permitted with
  conditions, which are written down.

Decisions this module makes:

- A report has a **sanitised text** (written so that it does not reveal the source): it is
  what everyone with ``intelligence.read`` reads, with the grading and handling.
- **The source's identity** (``source_reference``, ``source_details``) is stored with the
  report and is returned only by ``read_source``, which needs ``intelligence.source_read``
  (the source handler's role) and writes its own audit entry, apart from the report's
  reads; ``get_intelligence`` never returns it, whoever asks. Anyone who may create a
  report may record its source (an officer passing on what a member of the public said).
- Handling conditions belong to code C only: C without them is refused, and so are
  conditions given with P (they would not be followed).
- Persons, objects or locations the report is about are linked ``subject_of``.
- Reading a report asks for a reason and is audited; lists carry grading and summary only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor, require_reason
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.errors import CATALOGUE, FieldProblem, InvalidInput, NotFound
from bluelamp.records import pole
from bluelamp.records.crimes import queries
from bluelamp.records.model import Event, EventKind, Intelligence, LinkRole

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

for _code, _kind, _meaning in [
    ("intelligence.invalid_grading", InvalidInput, "3x5x2: source 1-3, intelligence A-E, handling P or C."),
    (
        "intelligence.conditions_required",
        InvalidInput,
        "Handling code C needs its conditions written down (and P takes none).",
    ),
]:
    CATALOGUE.register(_code, _kind, _meaning)

TEXT_LIMIT = 20_000


class SourceEvaluation(StrEnum):
    RELIABLE = "1"
    UNTESTED = "2"
    NOT_RELIABLE = "3"


class IntelligenceAssessment(StrEnum):
    KNOWN_DIRECTLY = "A"
    KNOWN_INDIRECTLY_CORROBORATED = "B"
    KNOWN_INDIRECTLY = "C"
    NOT_KNOWN = "D"
    SUSPECTED_FALSE = "E"


class HandlingCode(StrEnum):
    PERMITTED = "P"
    CONDITIONS = "C"


SOURCE_NAMES = {"1": "reliable", "2": "untested", "3": "not reliable"}
ASSESSMENT_NAMES = {
    "A": "known directly to the source",
    "B": "known indirectly to the source but corroborated",
    "C": "known indirectly to the source",
    "D": "not known",
    "E": "suspected to be false",
}
HANDLING_NAMES = {"P": "lawful sharing permitted", "C": "lawful sharing permitted with conditions"}


@dataclass(frozen=True)
class NewIntelligence:
    """Command: submit an intelligence report."""

    summary: str
    sanitised_text: str
    source_evaluation: str
    intelligence_assessment: str
    handling_code: str
    handling_conditions: str | None = None
    source_reference: str | None = None  # restricted: a source's reference (e.g. a CHIS number)
    source_details: str | None = None  # restricted: who the source is and how they know
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    location_id: str | None = None
    marking: str | None = None
    subjects: tuple[tuple[str, str], ...] = ()  # (record type, id) the report is about


@dataclass(frozen=True)
class IntelligenceView:
    """A report as anyone with intelligence.read sees it: grading and sanitised text, no source."""

    event: Event
    source_evaluation: str
    intelligence_assessment: str
    handling_code: str
    handling_conditions: str | None
    sanitised_text: str
    has_source: bool  # a source is recorded (only the source-handling role reads it)

    @property
    def grading(self) -> str:
        """The grading as written, e.g. 2B P."""
        return f"{self.source_evaluation}{self.intelligence_assessment} {self.handling_code}"


@dataclass(frozen=True)
class SourceView:
    """The source of a report: for the source-handling role only."""

    event: Event
    source_reference: str | None
    source_details: str | None


def _view(event: Event, report: Intelligence) -> IntelligenceView:
    return IntelligenceView(
        event=event,
        source_evaluation=report.source_evaluation,
        intelligence_assessment=report.intelligence_assessment,
        handling_code=report.handling_code,
        handling_conditions=report.handling_conditions,
        sanitised_text=report.sanitised_text,
        has_source=bool(report.source_reference or report.source_details),
    )


def grading_problems(command: NewIntelligence) -> list[tuple[FieldProblem, str]]:
    """What is wrong with a report's 3x5x2 grading and texts."""
    problems: list[tuple[FieldProblem, str]] = []
    grading = "intelligence.invalid_grading"
    source = (command.source_evaluation or "").strip()
    if source not in {s.value for s in SourceEvaluation}:
        problems.append(
            (FieldProblem("source_evaluation", "use 1 (reliable), 2 (untested) or 3 (not reliable)"), grading)
        )
    assessment = (command.intelligence_assessment or "").strip().upper()
    if assessment not in {a.value for a in IntelligenceAssessment}:
        problems.append((FieldProblem("intelligence_assessment", "use A, B, C, D or E"), grading))
    handling = (command.handling_code or "").strip().upper()
    conditions = (command.handling_conditions or "").strip()
    if handling not in {h.value for h in HandlingCode}:
        problems.append((FieldProblem("handling_code", "use P (may be shared) or C (shared with conditions)"), grading))
    elif handling == HandlingCode.CONDITIONS and not conditions:
        problems.append(
            (
                FieldProblem("handling_conditions", "handling code C needs its conditions written down"),
                "intelligence.conditions_required",
            )
        )
    elif handling == HandlingCode.PERMITTED and conditions:
        problems.append(
            (
                FieldProblem("handling_conditions", "conditions go with handling code C: use C or leave them out"),
                "intelligence.conditions_required",
            )
        )
    text = (command.sanitised_text or "").strip()
    if not text:
        problems.append(
            (
                FieldProblem("sanitised_text", "write the intelligence so that it does not reveal the source"),
                "input.invalid",
            )
        )
    for name in ("sanitised_text", "handling_conditions", "source_details"):
        if len((getattr(command, name) or "").strip()) > TEXT_LIMIT:
            problems.append((FieldProblem(name, f"at most {TEXT_LIMIT} characters"), "input.invalid"))
    if len((command.source_reference or "").strip()) > 60:
        problems.append((FieldProblem("source_reference", "at most 60 characters"), "input.invalid"))
    return problems


def _invalid(problems: list[tuple[FieldProblem, str]]) -> InvalidInput:
    codes = {code for _, code in problems}
    return pole.invalid([p for p, _ in problems], codes.pop() if len(codes) == 1 else "input.invalid")


def create_intelligence(session: Session, actor: Actor, command: NewIntelligence, clock: Clock) -> IntelligenceView:
    """Submit an intelligence report graded 3x5x2, with its sanitised text, its source (kept
    apart) and the records it is about (linked subject_of); audited."""
    require(actor, Action.INTELLIGENCE_CREATE)
    problems = grading_problems(command)
    if problems:
        raise _invalid(problems)
    sanitised = command.sanitised_text.strip()
    event = pole.create_event(
        session,
        actor,
        pole.NewEvent(
            kind=EventKind.INTELLIGENCE.value,
            summary=command.summary,
            narrative=sanitised,  # searchable like other narratives: the sanitised text only
            occurred_from=command.occurred_from,
            occurred_to=command.occurred_to,
            location_id=command.location_id,
            marking=command.marking,
        ),
        clock,
    )
    handling = command.handling_code.strip().upper()
    report = Intelligence(
        event_id=event.id,
        force_id=event.force_id,
        source_evaluation=command.source_evaluation.strip(),
        intelligence_assessment=command.intelligence_assessment.strip().upper(),
        handling_code=handling,
        handling_conditions=(command.handling_conditions or "").strip() or None,
        sanitised_text=sanitised,
        source_reference=(command.source_reference or "").strip() or None,
        source_details=(command.source_details or "").strip() or None,
    )
    session.add(report)
    session.flush()
    for subject in command.subjects:
        pole.link(session, actor, pole.ref(tuple(subject)), LinkRole.SUBJECT_OF.value, event, clock)
    view = _view(event, report)
    audit.append(
        session,
        actor,
        Audit(
            "intelligence.create",
            record_type="event",
            record_id=event.id,
            detail={"reference": event.reference, "grading": view.grading, "has_source": view.has_source},
        ),
        clock,
    )
    return view


def _visible(session: Session, actor: Actor, event_id: str) -> tuple[Event, Intelligence]:
    found = queries.visible_intelligence(session, actor, event_id)
    if found is None:
        raise NotFound(f"no intelligence report {event_id!r}")
    return found


def get_intelligence(session: Session, actor: Actor, event_id: str, clock: Clock) -> IntelligenceView:
    """A report's grading, handling and sanitised text (never its source); asks for a reason; audited."""
    require(actor, Action.INTELLIGENCE_READ)
    event, report = _visible(session, actor, event_id)
    reason = require_reason(actor)
    audit.append(
        session,
        actor,
        Audit(
            "intelligence.read",
            record_type="event",
            record_id=event.id,
            reason=reason,
            detail={"reference": event.reference},
        ),
        clock,
    )
    return _view(event, report)


def read_source(session: Session, actor: Actor, event_id: str, clock: Clock) -> SourceView:
    """Who the source of a report is: the source-handling role only; asks for a reason;
    audited as a source read, apart from reads of the report."""
    require(actor, Action.INTELLIGENCE_SOURCE_READ)
    event, report = _visible(session, actor, event_id)
    reason = require_reason(actor)
    audit.append(
        session,
        actor,
        Audit(
            "intelligence.source_read",
            record_type="event",
            record_id=event.id,
            reason=reason,
            detail={"reference": event.reference, "source_reference": report.source_reference},
        ),
        clock,
    )
    return SourceView(event, report.source_reference, report.source_details)


def list_intelligence(session: Session, actor: Actor, *, limit: int = 200) -> list[IntelligenceView]:
    """Reports the actor may see, newest first: grading, handling and sanitised text."""
    require(actor, Action.INTELLIGENCE_READ)
    rows = queries.visible_intelligence_reports(session, actor, limit=max(1, min(limit, 1000)))
    return [_view(event, report) for event, report in rows]
