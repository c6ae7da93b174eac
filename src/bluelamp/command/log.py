"""The incident log: append-only entries for every change, and the event that tells
control-room screens an incident changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bluelamp.clock import Clock
from bluelamp.command.model import Incident, LogEntry, LogKind
from bluelamp.events import Event

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def write(
    session: Session,
    incident: Incident,
    by: str,
    kind: LogKind | str,
    text: str,
    clock: Clock,
    *,
    data: dict[str, Any] | None = None,
    corrects_id: int | None = None,
) -> LogEntry:
    """Append one entry to an incident's log (who, when, what). Nothing is ever edited."""
    entry = LogEntry(
        force_id=incident.force_id,
        incident_id=incident.id,
        at=clock.now(),
        by=by,
        kind=str(kind),
        text=text,
        data=data,
        corrects_id=corrects_id,
    )
    session.add(entry)
    incident.updated_at = entry.at
    return entry


def changed(incident: Incident, what: str, **extra: Any) -> Event:
    """The bus event for a changed incident: screens re-fetch or patch its row.

    Carries no personal data (no caller details, no description): the live feed sends
    it to every authorised screen of the force."""
    data = {
        "incident_id": incident.id,
        "reference": incident.reference,
        "what": what,
        "status": incident.status,
        "grade": incident.grade,
        "category": incident.opening_category,
        "lat": incident.lat,
        "lon": incident.lon,
        "created_at": incident.created_at.isoformat(),
        "target_at": incident.target_at.isoformat() if incident.target_at else None,
        "first_arrived_at": incident.first_arrived_at.isoformat() if incident.first_arrived_at else None,
        "breached_at": incident.breached_at.isoformat() if incident.breached_at else None,
        "marking": incident.marking,
        "need_to_know": incident.need_to_know,
    }
    data.update(extra)
    return Event("IncidentChanged", incident.force_id, data)
