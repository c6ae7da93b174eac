"""Command and control's use cases for incidents: intake (new calls, duplicate calls
attached, the same call twice), THRIVE and grading, the rules (the target clock from
creation, re-assessment prompts, downgrade approval, call-backs when attendance
changes, breaches, grade 3 appointments), the append-only log, link and merge, close.

Dispatch (assigning units) lives in ``dispatch.py``, recommendations in
``recommend.py``, EIDO in ``eido/``; they call the functions here for what an
incident does (``reevaluate`` when a unit leaves, ``transition`` for a status change).

Decisions this module makes (issue 5):

- **THRIVE is required for every grade**, 4 included: resolving a call without
  deployment is exactly the decision an inspector reviews, so its risk assessment must
  be on record like any other.
- **Grade 3 books a slot at intake**: ``create_incident`` books the slot the caller
  chose (``appointment_at``) or, when none is given, the earliest free one within the
  grade 3 target; the call handler can move it with ``book_appointment`` (a reschedule,
  which, like every change to attendance, opens call-back tasks). With no free slot in
  the window the incident stays open and the intake says so in its warnings.
- **Duplicate calls** are offered by the new call's category: its radius and window,
  any category of active incident (callers describe the same fight differently).
- **Merging** refuses a duplicate that still has units assigned (release or divert
  them first: moving units is dispatch's decision) and one with a booked appointment
  (cancel it first, which calls the caller back).
- **A breach** is the moment the target passed (``breached_at = target_at``), recorded
  by the sweep with a cause derived from the incident's state; a supervisor may amend it.

The parts: ``common`` (results, transitions, settings, input checks, the audit),
``intake``, ``reads``, ``grading`` (THRIVE, grades, downgrades), ``attendance`` (with
grade 3 appointments), ``status`` (the log, status, the rules sweep) and ``linking``
(link, merge, close, reopen). What callers use is named here.
"""

from bluelamp.command.service.attendance import (
    appointment_slots,
    book_appointment,
    change_attendance,
    close_task,
)
from bluelamp.command.service.common import (
    ATTENDANCE_CHANGES,
    MANUAL_STATUSES,
    RESULTS,
    RULES,
    SUPERVISE,
    THRIVE_PARTS,
    TRANSITIONS,
    Catalogue,
    Changed,
    Detail,
    Intake,
    S,
    Slot,
    catalogue,
    illegal_status,
    invalid_input,
    location_problems,
    settings_of,
    transition,
)
from bluelamp.command.service.grading import (
    assess,
    decide_downgrade,
)
from bluelamp.command.service.intake import (
    create_incident,
)
from bluelamp.command.service.linking import (
    close_incident,
    link,
    merge,
    reopen,
    unlink,
    unmerge,
)
from bluelamp.command.service.reads import (
    get_incident,
    get_incident_by_reference,
    incident_detail,
    open_tasks,
    queue,
)
from bluelamp.command.service.status import (
    add_note,
    breach_cause,
    change_status,
    correct,
    record_breach_cause,
    reevaluate,
    sweep,
)

__all__ = [
    "ATTENDANCE_CHANGES",
    "Catalogue",
    "Changed",
    "Detail",
    "Intake",
    "MANUAL_STATUSES",
    "RESULTS",
    "RULES",
    "S",
    "SUPERVISE",
    "Slot",
    "THRIVE_PARTS",
    "TRANSITIONS",
    "add_note",
    "appointment_slots",
    "assess",
    "book_appointment",
    "breach_cause",
    "catalogue",
    "change_attendance",
    "change_status",
    "close_incident",
    "close_task",
    "correct",
    "create_incident",
    "decide_downgrade",
    "get_incident",
    "get_incident_by_reference",
    "illegal_status",
    "incident_detail",
    "invalid_input",
    "link",
    "location_problems",
    "merge",
    "open_tasks",
    "queue",
    "record_breach_cause",
    "reevaluate",
    "reopen",
    "settings_of",
    "sweep",
    "transition",
    "unlink",
    "unmerge",
]
