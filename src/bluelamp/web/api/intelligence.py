"""Intelligence API: submit a report graded 3x5x2, list reports, read one (grading,
handling and sanitised text; asks for a reason), and read its source (the source-handling
role only; audited apart). Errors are problem details (web/errors.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from bluelamp.access.audit import Audit, Outcome, audited, refused_if_missing
from bluelamp.access.policy import Action
from bluelamp.records import intelligence
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now

router = APIRouter()
TAG = ["intelligence"]

Reader = Annotated[Caller, Depends(allow(Action.INTELLIGENCE_READ))]
Creator = Annotated[Caller, Depends(allow(Action.INTELLIGENCE_CREATE))]
SourceReader = Annotated[Caller, Depends(allow(Action.INTELLIGENCE_SOURCE_READ))]


class ReportBrief(BaseModel):
    """A report in a list: reference, summary and grading (no text, no source)."""

    id: str
    reference: str
    summary: str
    grading: str = Field(description="e.g. 2B P: source evaluation, intelligence assessment, handling code")
    source_evaluation: str
    intelligence_assessment: str
    handling_code: str
    marking: str
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, view: intelligence.IntelligenceView) -> ReportBrief:
        event = view.event
        return cls(
            id=event.id,
            reference=event.reference,
            summary=event.summary,
            grading=view.grading,
            source_evaluation=view.source_evaluation,
            intelligence_assessment=view.intelligence_assessment,
            handling_code=view.handling_code,
            marking=event.marking,
            created_at=event.created_at,
            created_by=event.created_by,
        )


class ReportOut(ReportBrief):
    """A report as anyone with intelligence.read reads it: never its source."""

    source_evaluation_meaning: str
    intelligence_assessment_meaning: str
    handling: str
    handling_conditions: str | None
    sanitised_text: str
    has_source: bool = Field(description="A source is recorded; only the source-handling role may read it")
    occurred_from: datetime | None
    occurred_to: datetime | None
    location_id: str | None

    @classmethod
    def of(cls, view: intelligence.IntelligenceView) -> ReportOut:
        event = view.event
        return cls(
            **ReportBrief.of(view).model_dump(),
            source_evaluation_meaning=intelligence.SOURCE_NAMES[view.source_evaluation],
            intelligence_assessment_meaning=intelligence.ASSESSMENT_NAMES[view.intelligence_assessment],
            handling=intelligence.HANDLING_NAMES[view.handling_code],
            handling_conditions=view.handling_conditions,
            sanitised_text=view.sanitised_text,
            has_source=view.has_source,
            occurred_from=event.occurred_from,
            occurred_to=event.occurred_to,
            location_id=event.location_id,
        )


class SourceOut(BaseModel):
    id: str
    reference: str
    source_reference: str | None
    source_details: str | None


class SubjectIn(BaseModel):
    type: str = Field(description="person, object or location")
    id: str


class ReportIn(BaseModel):
    summary: str = ""
    sanitised_text: str = ""
    source_evaluation: str = Field("", description="1 reliable, 2 untested, 3 not reliable")
    intelligence_assessment: str = Field("", description="A, B, C, D or E")
    handling_code: str = Field("", description="P (may be shared) or C (with conditions)")
    handling_conditions: str | None = Field(None, description="Required for handling code C")
    source_reference: str | None = None
    source_details: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    location_id: str | None = None
    marking: str | None = None
    subjects: list[SubjectIn] = Field(default_factory=list, description="Records the report is about")


@router.post("/api/v1/intelligence", response_model=ReportOut, status_code=201, tags=TAG, summary="Submit a report")
def create(caller: Creator, db: Db, clock: Now, body: ReportIn):
    """Submit an intelligence report graded 3x5x2 (C needs written conditions)."""
    command = intelligence.NewIntelligence(
        **body.model_dump(exclude={"subjects"}), subjects=tuple((s.type, s.id) for s in body.subjects)
    )
    with db.unit_of_work() as session:
        return ReportOut.of(intelligence.create_intelligence(session, caller.actor, command, clock))


@router.get("/api/v1/intelligence", response_model=list[ReportBrief], tags=TAG, summary="Intelligence reports")
def reports(caller: Reader, db: Db, limit: Annotated[int, Query(ge=1, le=1000)] = 200):
    """Reports the caller may see, newest first: reference, summary and grading."""
    with db.read() as session:
        return [ReportBrief.of(v) for v in intelligence.list_intelligence(session, caller.actor, limit=limit)]


def _missing(action: str, event_id: str) -> Audit:
    return Audit(action, Outcome.DENIED, "event", event_id[:64], {"why": "not found in the caller's force"})


@router.get("/api/v1/intelligence/{event_id}", response_model=ReportOut, tags=TAG, summary="One report")
def report(caller: Reader, db: Db, clock: Now, event_id: str):
    """Grading, handling and sanitised text (never the source). Asks for a reason; audited."""
    with (
        audited(db, caller.trail) as session,
        refused_if_missing(caller.trail, _missing("intelligence.read", event_id)),
    ):
        return ReportOut.of(intelligence.get_intelligence(session, caller.actor, event_id, clock))


@router.get("/api/v1/intelligence/{event_id}/source", response_model=SourceOut, tags=TAG, summary="The source")
def source(caller: SourceReader, db: Db, clock: Now, event_id: str):
    """Who the source is: the source-handling role only. Asks for a reason; audited as a source read."""
    with (
        audited(db, caller.trail) as session,
        refused_if_missing(caller.trail, _missing("intelligence.source_read", event_id)),
    ):
        found = intelligence.read_source(session, caller.actor, event_id, clock)
        return SourceOut(
            id=found.event.id,
            reference=found.event.reference,
            source_reference=found.source_reference,
            source_details=found.source_details,
        )
