"""Intelligence pages: the reports the caller may see, the submit form with the 3x5x2
grading explained next to each field, a report (grading in words, handling, sanitised text,
linked records) and, for source handlers only, the report with its source.

Reading a report asks for a reason (like a crime); a report of another force answers
exactly like a missing one.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from bluelamp.access.audit import Audit, Outcome, audited, refused_if_missing
from bluelamp.access.policy import Action, Marking
from bluelamp.clock import Clock
from bluelamp.errors import FieldProblem, InvalidInput, NotFound
from bluelamp.records import intelligence, pole
from bluelamp.records.model import LinkRole
from bluelamp.storage import Database
from bluelamp.web.auth import Caller, allow
from bluelamp.web.deps import Db, Now
from bluelamp.web.forms import by_field
from bluelamp.web.navigation import NavItem
from bluelamp.web.pages import crime_common as common
from bluelamp.web.pages.crime_common import Text

router = APIRouter(include_in_schema=False)
NAV = [NavItem("Intelligence", "/records/intelligence", order=34, action=Action.INTELLIGENCE_READ)]

IntelligenceReader = Annotated[Caller, Depends(allow(Action.INTELLIGENCE_READ))]
IntelligenceCreator = Annotated[Caller, Depends(allow(Action.INTELLIGENCE_CREATE))]
SourceReader = Annotated[Caller, Depends(allow(Action.INTELLIGENCE_SOURCE_READ))]

# The 3x5x2 grading explained next to each field (College of Policing APP, intelligence management).
SOURCE_HELP = {
    "1": "the source's reliability is not in doubt, or they have proved reliable every time",
    "2": "a new source, or one whose reliability cannot yet be judged",
    "3": "there is doubt about the source's authenticity, trustworthiness or competence",
}
ASSESSMENT_HELP = {
    "A": "the source saw or heard it themselves",
    "B": "the source was told it, and something else confirms it",
    "C": "the source was told it, with nothing to confirm it",
    "D": "the intelligence cannot be judged",
    "E": "it may be false, or malicious",
}
HANDLING_HELP = {
    "P": "may be shared within the law, with no further conditions",
    "C": "write the conditions down: whoever shares it must follow them",
}


def _grading_words(view: intelligence.IntelligenceView) -> dict[str, str]:
    return {
        "source": intelligence.SOURCE_NAMES[view.source_evaluation],
        "assessment": intelligence.ASSESSMENT_NAMES[view.intelligence_assessment],
        "handling": intelligence.HANDLING_NAMES[view.handling_code],
    }


@router.get("/records/intelligence", response_class=HTMLResponse)
def intelligence_list(request: Request, caller: IntelligenceReader, db: Db):
    """Intelligence reports the caller may see, newest first: reference, summary and grading."""
    with db.read() as session:
        reports = intelligence.list_intelligence(session, caller.actor, limit=common.LIST_LIMIT)
    context = {
        "me": caller,
        "reports": [(view, _grading_words(view)) for view in reports],
        "limit": common.LIST_LIMIT,
        "can_create": caller.actor.can(Action.INTELLIGENCE_CREATE),
    }
    return common.render(request, "crimes/intelligence_list.html", context)


def _blank_report_form(subjects: list[str]) -> dict[str, str]:
    return {
        "summary": "",
        "sanitised_text": "",
        "source_evaluation": "",
        "intelligence_assessment": "",
        "handling_code": "",
        "handling_conditions": "",
        "source_reference": "",
        "source_details": "",
        "occurred_from": "",
        "occurred_to": "",
        "marking": Marking.OFFICIAL.value,
        "subjects": "\n".join(subjects),
    }


def _report_form(
    request: Request, caller: Caller, form: dict[str, str], field_errors: dict[str, str] | None = None, status=200
) -> Response:
    context = {
        "me": caller,
        "form": form,
        "field_errors": field_errors or {},
        "source_help": SOURCE_HELP,
        "assessment_help": ASSESSMENT_HELP,
        "handling_help": HANDLING_HELP,
        "source_names": intelligence.SOURCE_NAMES,
        "assessment_names": intelligence.ASSESSMENT_NAMES,
        "handling_names": intelligence.HANDLING_NAMES,
        "markings": common.markings(caller),
    }
    return common.render(request, "crimes/intelligence_new.html", context, status=status)


@router.get("/records/intelligence/new", response_class=HTMLResponse)
def new_report(request: Request, caller: IntelligenceCreator, subject: Annotated[list[str] | None, Query()] = None):
    """The submit form, the 3x5x2 grading explained next to each field; ``?subject=person:ID`` names who it is about."""
    return _report_form(request, caller, _blank_report_form([s[:80] for s in subject or []][:20]))


def _subjects(text: str) -> tuple[tuple[tuple[str, str], ...], list[FieldProblem]]:
    """Records the report is about, one a line: ``person:ID`` (object, location alike)."""
    found, problems = [], []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        kind, _, record_id = line.replace(" ", ":", 1).partition(":")
        kind, record_id = kind.strip().lower(), record_id.strip()
        if kind not in {"person", "object", "location"} or not record_id:
            problems.append(FieldProblem("subjects", f"{line[:60]!r}: write person:ID, object:ID or location:ID"))
            continue
        found.append((kind, record_id))
    return tuple(found), problems


@router.post("/records/intelligence/new", response_class=HTMLResponse)
def submit_report(
    request: Request,
    caller: IntelligenceCreator,
    db: Db,
    clock: Now,
    summary: Text = "",
    sanitised_text: Text = "",
    source_evaluation: Text = "",
    intelligence_assessment: Text = "",
    handling_code: Text = "",
    handling_conditions: Text = "",
    source_reference: Text = "",
    source_details: Text = "",
    occurred_from: Text = "",
    occurred_to: Text = "",
    marking: Text = "",
    subjects: Text = "",
):
    """Submit the report and open it; a refusal shows the form again, messages next to the fields."""
    form = {
        "summary": summary,
        "sanitised_text": sanitised_text,
        "source_evaluation": source_evaluation,
        "intelligence_assessment": intelligence_assessment,
        "handling_code": handling_code,
        "handling_conditions": handling_conditions,
        "source_reference": source_reference,
        "source_details": source_details,
        "occurred_from": occurred_from,
        "occurred_to": occurred_to,
        "marking": marking or Marking.OFFICIAL.value,
        "subjects": subjects,
    }
    times, problems = common.moments({"occurred_from": occurred_from, "occurred_to": occurred_to})
    about, subject_problems = _subjects(subjects)
    problems += subject_problems
    if problems:
        return _report_form(request, caller, form, by_field(InvalidInput("", problems=problems)), status=422)
    command = intelligence.NewIntelligence(
        summary=summary,
        sanitised_text=sanitised_text,
        source_evaluation=source_evaluation,
        intelligence_assessment=intelligence_assessment,
        handling_code=handling_code,
        handling_conditions=handling_conditions,
        source_reference=source_reference,
        source_details=source_details,
        occurred_from=times["occurred_from"],
        occurred_to=times["occurred_to"],
        marking=marking or None,
        subjects=about,
    )
    try:
        with db.unit_of_work() as session:
            view = intelligence.create_intelligence(session, caller.actor, command, clock)
    except InvalidInput as error:
        return _report_form(request, caller, form, by_field(error), status=422)
    except NotFound as error:
        return _report_form(request, caller, form, {"subjects": by_field(error)["form"]}, status=422)
    return common.redirect(f"/records/intelligence/{view.event.id}?done=submitted")


def _missing_report_audit(action: str, event_id: str) -> Audit:
    return Audit(action, Outcome.DENIED, "event", event_id[:64], {"why": "not found in the caller's force"})


def _report_page(
    request: Request, caller: Caller, db: Database, clock: Clock, event_id: str, *, with_source: bool, done: str = ""
) -> Response:
    try:
        with (
            audited(db, caller.trail) as session,
            refused_if_missing(caller.trail, _missing_report_audit("intelligence.read", event_id)),
        ):
            view = intelligence.get_intelligence(session, caller.actor, event_id, clock)
            source = intelligence.read_source(session, caller.actor, event_id, clock) if with_source else None
            links, withheld = common.openable(caller, pole.links_of(session, caller.actor, pole.ref(view.event)))
    except NotFound:
        return common.missing(request, caller, "intelligence report", "/records/intelligence", "Intelligence")
    context = {
        "me": caller,
        "view": view,
        "event": view.event,
        "words": _grading_words(view),
        "source_help": SOURCE_HELP,
        "assessment_help": ASSESSMENT_HELP,
        "handling_help": HANDLING_HELP,
        "source": source,
        "links": [link for link in links if link.link.role != LinkRole.OCCURRED_AT],
        "places": [link for link in links if link.link.role == LinkRole.OCCURRED_AT],
        "withheld": withheld,
        "can_source": caller.actor.can(Action.INTELLIGENCE_SOURCE_READ),
        "notice": "Intelligence report submitted." if done == "submitted" else None,
    }
    return common.render(request, "crimes/intelligence.html", context)


@router.get("/records/intelligence/{event_id}", response_class=HTMLResponse)
def report_page(request: Request, caller: IntelligenceReader, db: Db, clock: Now, event_id: str, done: str = ""):
    """A report's grading in words, handling, sanitised text and linked records (never its source)."""
    return _report_page(request, caller, db, clock, event_id, with_source=False, done=done)


@router.get("/records/intelligence/{event_id}/source", response_class=HTMLResponse)
def report_source_page(request: Request, caller: SourceReader, db: Db, clock: Now, event_id: str):
    """The report with its source's identity: source handlers only; audited as a source read."""
    return _report_page(request, caller, db, clock, event_id, with_source=True)
