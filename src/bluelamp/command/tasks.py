"""Tasks a person must close: call-backs to callers when attendance changes,
re-assessment prompts, downgrade approvals."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bluelamp.clock import Clock
from bluelamp.command import log
from bluelamp.command.model import Call, Incident, LogKind, Task, TaskKind

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def open_task(
    session: Session,
    incident: Incident,
    kind: TaskKind,
    reason: str,
    by: str,
    clock: Clock,
    *,
    due_at: datetime | None = None,
    call_id: str | None = None,
) -> Task:
    """Open a task on an incident and log it."""
    task = Task(
        id=clock.new_id(),
        force_id=incident.force_id,
        incident_id=incident.id,
        kind=kind.value,
        call_id=call_id,
        reason=reason,
        created_at=clock.now(),
        created_by=by,
        due_at=due_at,
    )
    session.add(task)
    log.write(
        session,
        incident,
        by,
        LogKind.TASK_CREATED,
        f"{kind.value.replace('_', ' ')} task: {reason}",
        clock,
        data={"task_id": task.id, "kind": kind.value, "call_id": call_id},
    )
    return task


def call_backs_for_attendance_change(
    session: Session, incident: Incident, calls: list[Call], reason: str, by: str, clock: Clock
) -> list[Task]:
    """Attendance changed (delayed, cancelled, rescheduled): every caller must be told.

    One call-back task per call with a phone number; when no caller left a number, one
    task still opens, so that someone records why the caller could not be told."""
    tasks = [
        open_task(
            session,
            incident,
            TaskKind.CALL_BACK,
            f"call {c.caller_name or 'the caller'} back: {reason}",
            by,
            clock,
            call_id=c.id,
        )
        for c in calls
        if c.caller_phone
    ]
    if not tasks:
        tasks.append(
            open_task(
                session,
                incident,
                TaskKind.CALL_BACK,
                f"no caller number recorded; note how the caller is told: {reason}",
                by,
                clock,
            )
        )
    return tasks
