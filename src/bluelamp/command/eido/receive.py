"""An EIDO document received from another force or agency as a new incident (a call
transferred to us): its location, callers, notes, category and qualifiers."""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor, Marking
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.command import log, service, targets
from bluelamp.command.commands import CallerDetails, NewIncident, Thrive
from bluelamp.command.config import Category, CommandSettings, Family
from bluelamp.command.model import (
    LogKind,
    Source,
    TaskKind,
)
from bluelamp.command.tasks import open_task
from bluelamp.errors import FieldProblem, InvalidInput

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
from bluelamp.command.eido.common import (
    CALLER_ROLE,
    CIVIC_PARTS,
    COMMON_INCIDENT_TYPES,
    COMPONENT_LISTS,
    CONSENT_GIVEN,
    CONSENT_NOTE,
    DEFAULT_FALLBACK_CATEGORY,
    GEO_URI,
    GML_POS,
    MARKING_NOTE,
    MAX_IMPORTED_NOTES,
    TRANSFERRED,
)
from bluelamp.command.eido.export import (
    from_html,
    phone_from_uri,
)
from bluelamp.command.eido.schema import (
    require_valid,
)


@dataclass(frozen=True)
class ReceivedCaller:
    name: str | None
    phone: str | None
    consent: bool


@dataclass(frozen=True)
class ReceivedNote:
    text: str
    at: str | None
    by: str | None


@dataclass
class Transfer:
    """What Bluelamp reads of a received EIDO document."""

    sender: str
    incident_id: str
    agency_name: str | None = None
    their_reference: str | None = None
    type_code: str | None = None
    type_text: str | None = None
    type_common: str | None = None
    priority: str | None = None
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    description: str = ""
    marking: str | None = None
    cautions: list[str] = field(default_factory=list)
    callers: list[ReceivedCaller] = field(default_factory=list)
    notes: list[ReceivedNote] = field(default_factory=list)

    @property
    def idempotency_key(self) -> str:
        """The same sender's same incident always gives the same key."""
        digest = hashlib.sha256(f"{self.sender}\n{self.incident_id}".encode()).hexdigest()
        return f"eido:{digest[:48]}"

    def type_described(self) -> str:
        parts = [self.type_text, self.type_code, self.type_common]
        seen: list[str] = []
        for part in parts:
            if part and part not in seen:
                seen.append(part)
        return " / ".join(seen) or "(none given)"


def read_transfer(document: dict[str, Any]) -> Transfer:
    """The parts of an EIDO document an incident is opened from (the document is already checked)."""
    index: dict[str, dict[str, Any]] = {}
    for name in COMPONENT_LISTS:
        for part in _objects(document.get(name)):
            if isinstance(part.get("$id"), str):
                index.setdefault(part["$id"], part)
    incident = document.get("incidentComponent") if isinstance(document.get("incidentComponent"), dict) else {}
    owner = _owning_agency(document)
    transfer = Transfer(
        sender=_text(document.get("issuingElementIdentification")) or _ref(document.get("updatedByAgencyReference")),
        incident_id=_text(document.get("$id")),
        agency_name=_jcard_name(owner.get("agencyJcard")) if owner else None,
        their_reference=_text(incident.get("internalIncidentId")) or None,
        type_code=_text(incident.get("incidentTypeInternalCode")) or None,
        type_text=_text(incident.get("incidentTypeInternalText")) or None,
        type_common=_text(incident.get("incidentTypeCommonRegistryText")) or None,
        priority=_priority(incident, document),
    )
    transfer.cautions = [
        value
        for caution in _objects(document.get("cautionComponent"))
        for value in [
            *_texts(caution.get("cautionTypeCommonSubRegistryText")),
            _text(caution.get("cautionTypeInternalText")),
        ]
        if value
    ]
    _read_location(transfer, incident, document, index)
    _read_callers(transfer, document, index)
    _read_notes(transfer, incident, document, index)
    return transfer


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _texts(value: Any) -> list[str]:
    return [item.strip() for item in value if isinstance(item, str) and item.strip()] if isinstance(value, list) else []


def _ref(value: Any) -> str:
    return _text(value.get("$ref")) if isinstance(value, dict) else ""


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        value = [value]
    return [_ref(item) for item in value if _ref(item)] if isinstance(value, list) else []


def _owning_agency(document: dict[str, Any]) -> dict[str, Any] | None:
    agencies = _objects(document.get("agencyComponent"))
    owner = next((a for a in agencies if a.get("incidentOwningAgencyIndicator") is True), None)
    issuer = _ref(document.get("updatedByAgencyReference"))
    return owner or next((a for a in agencies if a.get("$id") == issuer), None) or (agencies[0] if agencies else None)


def _jcard_name(card: Any) -> str | None:
    """The ``fn`` (formatted name) of a jCard, given as JSON text or already parsed."""
    if isinstance(card, str):
        try:
            card = json.loads(card)
        except ValueError:
            return None
    if isinstance(card, list) and len(card) == 2 and isinstance(card[1], list):
        for item in card[1]:
            if isinstance(item, list) and len(item) >= 4 and item[0] == "fn" and isinstance(item[3], str):
                return item[3].strip() or None
    return None


def _priority(incident: dict[str, Any], document: dict[str, Any]) -> str | None:
    number = incident.get("incidentCommonPriorityNumber")
    if isinstance(number, int) and not isinstance(number, bool) and 1 <= number <= 4:
        return str(number)
    match = re.search(r"\b([1-4])\b", _text(incident.get("incidentPriorityInternalText")))
    if match:
        return match.group(1)
    by_call = {"highest": "1", "high": "1", "normal": "2", "low": "3", "lowest": "4"}
    for call in _objects(document.get("callComponent")):
        if call.get("priorityIdentifier") in by_call:
            return by_call[call["priorityIdentifier"]]
    return None


def _point(location: dict[str, Any]) -> tuple[float, float] | None:
    match = GML_POS.search(_text(location.get("locationByValue")))
    if match is None:
        match = GEO_URI.match(_text(location.get("locationByReferenceUrl")))
    if match is None:
        return None
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def _civic(location: dict[str, Any]) -> str:
    """A PIDF-LO civic address (RFC 5139) as one line of text."""
    block = re.search(
        r"<(?:[\w.-]+:)?civicAddress\b.*?</(?:[\w.-]+:)?civicAddress>", _text(location.get("locationByValue")), re.S
    )
    if block is None:
        return ""
    values = {}
    for name in CIVIC_PARTS:
        found = re.search(rf"<(?:[\w.-]+:)?{name}>\s*([^<]*?)\s*</", block.group(0))
        if found and found.group(1):
            values[name] = html.unescape(found.group(1))
    street = " ".join(values[n] for n in ("HNO", "HNS", "PRD", "RD", "STS", "POD") if n in values)
    rest = [values[n] for n in ("A6", "A5", "A4", "A3", "A2", "A1", "PC", "country") if n in values]
    return ", ".join(part for part in [street, *rest] if part)


def _read_location(transfer: Transfer, incident: dict[str, Any], document: dict[str, Any], index: dict) -> None:
    locations = _objects(document.get("locationComponent"))
    preferred = [index[r] for r in _refs(incident.get("locationReference")) if r in index]
    typed = [loc for loc in locations if _text(loc.get("locationTypeDescriptionRegistryText")).lower() == "incident"]
    for location in [*preferred, *typed, *locations]:
        point = _point(location)
        if point is not None:
            transfer.lat, transfer.lon = point
            transfer.address = _text(location.get("locationDescriptionText")) or _civic(location)
            return
    for location in [*preferred, *typed, *locations]:
        address = _text(location.get("locationDescriptionText")) or _civic(location)
        if address:
            transfer.address = address
            return


def _person_name(person: dict[str, Any]) -> str | None:
    component = person.get("ncPersonComponent")
    names = _objects(component.get("name")) if isinstance(component, dict) else []
    for name in names:
        full = [_text(v.get("value")) for v in _objects(name.get("personFullName"))]
        if any(full):
            return " ".join(part for part in full if part)
        parts = [
            _text(v.get("value"))
            for key in ("personGivenName", "personMiddleName", "personSurName")
            for v in _objects(name.get(key))
        ]
        if any(parts):
            return " ".join(part for part in parts if part)
    return None


def _phone(callback: dict[str, Any] | None) -> str | None:
    if not callback:
        return None
    uris = _texts(callback.get("callBackInformationUri"))
    updated = callback.get("updatedCbn")
    if isinstance(updated, dict):
        uris.append(_text(updated.get("updatedCbnIdentifierUri")))
    uris.sort(key=lambda uri: not uri.lower().startswith("tel:"))
    return next((phone for phone in map(phone_from_uri, uris) if phone), None)


def _read_callers(transfer: Transfer, document: dict[str, Any], index: dict) -> None:
    for person in _objects(document.get("personComponent")):
        if not any(CALLER_ROLE.search(role) for role in _texts(person.get("personIncidentRoleRegistryText"))):
            continue
        callback = index.get(_ref(person.get("callBackReference")))
        if callback is None:  # the call they made may carry the call-back details instead
            callback = next(
                (
                    index.get(_ref(call.get("callBackReference")))
                    for call in _objects(document.get("callComponent"))
                    if person.get("$id") in _refs(call.get("personReference")) and _ref(call.get("callBackReference"))
                ),
                None,
            )
        notes = [index[r] for r in _refs(person.get("notesReference")) if r in index]
        answers = [CONSENT_NOTE.search(from_html(_text(n.get("notesActionComments")))) for n in notes]
        consent = any(answer and answer.group(1).lower() in CONSENT_GIVEN for answer in answers)
        transfer.callers.append(ReceivedCaller(_person_name(person), _phone(callback), consent))
    if not transfer.callers:
        for call in _objects(document.get("callComponent")):
            phone = _phone(index.get(_ref(call.get("callBackReference"))))
            if phone:
                transfer.callers.append(ReceivedCaller(None, phone, False))


def _read_notes(transfer: Transfer, incident: dict[str, Any], document: dict[str, Any], index: dict) -> None:
    """The first note the incident refers to is its description; the marking note sets the
    marking; consent notes belong to their callers; the rest go to the log as they came."""
    all_notes = _objects(document.get("notesComponent"))
    first = next((index[r] for r in _refs(incident.get("notesReference")) if r in index), None)
    consent_ids = {
        r
        for person in _objects(document.get("personComponent"))
        for r in _refs(person.get("notesReference"))
        if r in index and CONSENT_NOTE.search(from_html(_text(index[r].get("notesActionComments"))))
    }
    if first is None:  # a sender that names no notes from its incident: its first note describes it
        first = next(
            (
                note
                for note in all_notes
                if note.get("$id") not in consent_ids
                and not MARKING_NOTE.match(from_html(_text(note.get("notesActionComments"))))
            ),
            None,
        )
    if first is not None:
        transfer.description = from_html(_text(first.get("notesActionComments")))
    for note in all_notes:
        if note is first or note.get("$id") in consent_ids:
            continue
        text = from_html(_text(note.get("notesActionComments")))
        marking = MARKING_NOTE.match(text)
        if marking:
            transfer.marking = marking.group(1).upper()
            continue
        if text:
            by = _ref(note.get("agentReference")) or _ref(note.get("updatedByAgentReference"))
            transfer.notes.append(ReceivedNote(text, _text(note.get("lastUpdateTimeStamp")) or None, by or None))


def map_category(transfer: Transfer, command: CommandSettings, fallback: str) -> tuple[Category, bool]:
    """The receiving force's category for a transfer, and whether it is the fallback
    (no category matched the sender's internal code, name or common type)."""
    if transfer.type_code and (found := command.category(transfer.type_code.strip().lower())):
        return found, False
    wanted = {(t or "").strip().lower() for t in (transfer.type_text, transfer.type_code)} - {""}
    for category in command.categories:
        if category.name.lower() in wanted:
            return category, False
    if transfer.type_common:
        common = transfer.type_common.strip().lower()
        for code, text in COMMON_INCIDENT_TYPES.items():
            if text.lower() == common and (found := command.category(code)):
                return found, False
    found = command.category(fallback) or next(
        (c for c in command.categories if c.family is Family.PUBLIC_SAFETY), command.categories[0]
    )
    return found, True


def map_qualifiers(transfer: Transfer, command: CommandSettings) -> tuple[list[str], list[str]]:
    """(qualifier codes of the receiving force, cautions that match none of them)."""
    codes: list[str] = []
    unmatched: list[str] = []
    by_name = {q.name.lower(): q.code for q in command.qualifiers}
    for caution in transfer.cautions:
        code = caution.strip().lower()
        matched = code if command.qualifier(code) else by_name.get(code)
        if matched and matched not in codes:
            codes.append(matched)
        elif not matched and caution not in unmatched:
            unmatched.append(caution)
    # a caution given both as a code and as a name counts once
    unmatched = [c for c in unmatched if by_name.get(c.lower()) not in codes and c.lower() not in codes]
    return codes, unmatched


def import_document(
    session: Session,
    actor: Actor,
    document: dict,
    clock: Clock,
    *,
    schema_directory: Path | None = None,
    fallback_category: str | None = None,
) -> service.Intake:
    """Open a new incident (source "transfer") from an EIDO document another force sent.

    The document is validated first (eido.invalid, 422, with the first errors' JSON paths).
    The same sender's same incident twice gives the one incident (``created`` False the
    second time). The THRIVE says "transferred: re-assess" and a re-assessment task is
    opened, so the receiving handler must assess it themselves."""
    require(actor, Action.INCIDENT_CREATE)
    checked = require_valid(document, schema_directory)
    transfer = read_transfer(document)
    problems = []
    if not transfer.sender:
        problems.append(FieldProblem("$.issuingElementIdentification", "the sender is not identified"))
    if len(transfer.incident_id) > 200:
        problems.append(FieldProblem("$['$id']", "the incident id is longer than 200 characters"))
    if problems:
        raise InvalidInput("the document does not say who sent which incident", code="eido.invalid", problems=problems)
    if transfer.lat is None or transfer.lon is None:
        raise InvalidInput(
            "the document has no location with coordinates to open an incident at"
            + (f" (only the address {transfer.address!r})" if transfer.address else ""),
            code="eido.no_location",
            problems=[FieldProblem("$.locationComponent", "no PIDF-LO point (gml:pos) nor geo: URI")],
        )
    _, _, command = service.settings_of(session, actor.force_id)
    fallback = fallback_category or getattr(command, "eido_fallback_category", None) or DEFAULT_FALLBACK_CATEGORY
    category, unmapped = map_category(transfer, command, fallback)
    qualifiers, other_cautions = map_qualifiers(transfer, command)
    sent_by = transfer.agency_name or transfer.sender
    description = transfer.description
    if unmapped:
        description = _append(description, f"Incident type given by {sent_by}: {transfer.type_described()}")
    if other_cautions:
        description = _append(description, f"Cautions given by {sent_by}: {', '.join(other_cautions)}")
    outside_reason = None
    warnings: list[str] = []
    if not targets.in_force_area(command, transfer.lat, transfer.lon):
        outside_reason = f"transferred by {sent_by}: the location is outside our force area"
    first = transfer.callers[0] if transfer.callers else ReceivedCaller(None, None, False)
    marking = transfer.marking if transfer.marking in {m.value for m in Marking} else None
    grade = transfer.priority or category.default_grade or "2"
    thrive = Thrive(TRANSFERRED, TRANSFERRED, TRANSFERRED, TRANSFERRED, TRANSFERRED, TRANSFERRED)
    intake = service.create_incident(
        session,
        actor,
        NewIncident(
            source=Source.TRANSFER.value,
            category=category.code,
            lat=transfer.lat,
            lon=transfer.lon,
            address=transfer.address[:300],
            description=description,
            qualifiers=tuple(qualifiers),
            grade=grade,
            thrive=thrive,
            caller=CallerDetails(_clip(first.name, 200), _clip(first.phone, 40), first.consent),
            outside_area_reason=outside_reason,
            idempotency_key=transfer.idempotency_key,
            marking=marking,
            external_id=transfer.incident_id,
        ),
        clock,
    )
    if not intake.created:
        return intake  # a replay: the incident this document opened before
    incident = intake.incident
    events = list(intake.events)
    for number, caller in enumerate(transfer.callers[1:], start=2):
        attached = service.create_incident(
            session,
            actor,
            NewIncident(
                source=Source.TRANSFER.value,
                category=category.code,
                lat=transfer.lat,
                lon=transfer.lon,
                address=transfer.address[:300],
                caller=CallerDetails(_clip(caller.name, 200), _clip(caller.phone, 40), caller.consent),
                outside_area_reason=outside_reason,
                idempotency_key=f"{transfer.idempotency_key}:{number}",
                attach_to=incident.id,
                external_id=transfer.incident_id,
            ),
            clock,
        )
        events.extend(attached.events)
    by = actor.username
    theirs = f", their reference {transfer.their_reference}" if transfer.their_reference else ""
    log.write(
        session,
        incident,
        by,
        LogKind.EIDO_IMPORTED,
        f"transferred from {sent_by} ({transfer.sender}{theirs}) as an EIDO document"
        + ("" if checked.validated else "; checked for shape only, as NENA's schema is not available here"),
        clock,
        data={
            "sender": transfer.sender,
            "external_id": transfer.incident_id,
            "their_reference": transfer.their_reference,
            "validated_against_schema": checked.validated,
            "callers": len(transfer.callers),
        },
    )
    if unmapped:
        log.write(
            session,
            incident,
            by,
            LogKind.NOTE,
            f"the sender's incident type ({transfer.type_described()}) matches none of our categories: "
            f"opened as {category.name}; re-categorise when re-assessing",
            clock,
        )
    for note in transfer.notes[:MAX_IMPORTED_NOTES]:
        who = ", ".join(filter(None, [note.by, note.at]))
        log.write(session, incident, by, LogKind.NOTE, f"[{sent_by}{': ' + who if who else ''}] {note.text}", clock)
    if len(transfer.notes) > MAX_IMPORTED_NOTES:
        log.write(
            session,
            incident,
            by,
            LogKind.NOTE,
            f"{len(transfer.notes) - MAX_IMPORTED_NOTES} more notes from {sent_by} were not copied; see the document",
            clock,
        )
    open_task(
        session,
        incident,
        TaskKind.REASSESSMENT,
        f"transferred from {sent_by}: assess THRIVE and the grade "
        + (
            f"(the sender's priority gave grade {incident.grade})"
            if transfer.priority
            else f"(no priority was sent; it opened at grade {incident.grade})"
        ),
        by,
        clock,
        due_at=clock.now(),
    )
    audit.append(
        session,
        actor,
        Audit(
            "incident.eido_import",
            record_type="incident",
            record_id=incident.id,
            detail={"sender": transfer.sender, "external_id": transfer.incident_id, "reference": incident.reference},
        ),
        clock,
    )
    if not checked.validated:
        warnings.append("NENA's EIDO schema is not available here: the document was checked for shape only")
    if unmapped:
        warnings.append(f"incident type {transfer.type_described()} matched no category: opened as {category.name}")
    events.append(log.changed(incident, "eido_imported"))
    return replace(intake, events=events, warnings=[*intake.warnings, *warnings])


def _clip(text: str | None, limit: int) -> str | None:
    return text[:limit] if text else text


def _append(text: str, line: str) -> str:
    return f"{text}\n\n{line}" if text else line
