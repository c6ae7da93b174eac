"""An incident as an EIDO document for another force or agency: audited, and written in
the incident's log (it discloses the callers)."""

from __future__ import annotations

import html
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.command import log, queries, service
from bluelamp.command.config import Category, CommandSettings
from bluelamp.command.model import (
    Assessment,
    Assignment,
    Call,
    Incident,
    IncidentStatus,
    LogEntry,
    LogKind,
)
from bluelamp.errors import FieldProblem, InvalidInput, NotFound
from bluelamp.events import Event
from bluelamp.tracking.model import TYPE_CAPABILITIES, Unit, UnitType

if TYPE_CHECKING:
    from sqlalchemy.orm import Session
from bluelamp.command.eido.common import (
    ASSIGNMENT_STATUS,
    CAUTION_SEVERITY,
    COMMON_INCIDENT_TYPES,
    COMPONENT_LISTS,
    EIDO_VERSION,
    FAMILY_COMMON_TYPES,
    JSON_LD_VOCAB,
    OFFICER_SAFETY,
    PRIMARY_CALL_TYPE,
    SENDER,
)


@dataclass(frozen=True)
class Exported:
    """An exported document and the bus events for the incident's new log entry."""

    document: dict[str, Any]
    incident: Incident
    events: list[Event] = field(default_factory=list)


def sender_for(force_id: str | None) -> str:
    """The agency identifier a force exports under (a domain name, as NENA's are)."""
    return f"{force_id or 'unknown'}.police.uk"


def export_incident(session: Session, actor: Actor, incident_id: str, clock: Clock, *, sender: str) -> dict:
    """An incident (by id or reference) as an EIDO document; audited, and logged on the
    incident as EIDO_EXPORTED. ``sender`` is our agency identifier (see ``sender_for``)."""
    return export(session, actor, incident_id, clock, sender=sender).document


def export(session: Session, actor: Actor, incident_id: str, clock: Clock, *, sender: str) -> Exported:
    """``export_incident`` with the incident and its bus events, for the web layer."""
    require(actor, Action.INCIDENT_READ)
    if not SENDER.match(sender or ""):
        raise InvalidInput(
            f"sender {sender!r} must be an agency identifier such as staffordshire.police.uk",
            problems=[FieldProblem("sender", "use a domain name: letters, digits, dots and hyphens")],
        )
    incident = queries.visible_incident(session, actor, incident_id) or queries.visible_incident_by_reference(
        session, actor, incident_id
    )
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    force, settings, command = service.settings_of(session, incident.force_id)
    assessment = session.get(Assessment, incident.assessment_id) if incident.assessment_id else None
    # duplicates merged into it are its callers too (as its detail shows), when the actor may see them
    merged = [m.id for m in queries.merged_into(session, incident.id) if queries.visible_incident(session, actor, m.id)]
    document = _Exporter(
        sender=sender,
        incident=incident,
        force_name=force.name,
        force_telephone=force.telephone,
        force_url=force.url,
        command=command,
        grade_names={code: target.name for code, target in settings.grades.items()},
        assessment=assessment,
        calls=queries.calls_of(session, [incident.id, *merged]),
        entries=[e for e in queries.log_in_order(session, incident.id) if e.kind != LogKind.EIDO_EXPORTED.value],
        assignments=queries.assignments_with_visible_units(session, actor, incident.id),
        exporter=actor.username,
    ).document()
    callers = len(document.get("personComponent", []))
    audit.append(
        session,
        actor,
        Audit(
            "incident.eido_export",
            record_type="incident",
            record_id=incident.id,
            detail={"reference": incident.reference, "sender": sender, "document": document["$id"], "callers": callers},
        ),
        clock,
    )
    log.write(
        session,
        incident,
        actor.username,
        LogKind.EIDO_EXPORTED,
        f"exported as an EIDO document (sender {sender}; {callers} caller(s) disclosed)",
        clock,
        data={"sender": sender, "document": document["$id"], "callers": callers},
    )
    return Exported(document, incident, [log.changed(incident, "eido_exported")])


def timestamp(moment: datetime) -> str:
    """A stored time as an RFC 3339 timestamp in UTC, as EIDO's date-time fields want."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_html(text: str) -> str:
    """Plain text as the HTML5 EIDO notes carry (escaped; line breaks kept)."""
    return "<br>".join(html.escape(line, quote=False) for line in (text or "").splitlines())


def from_html(markup: str) -> str:
    """A note's HTML as plain text: breaks and paragraphs become new lines, tags go."""
    text = re.sub(r"(?i)<br\s*/?>|</p\s*>|</div\s*>|</li\s*>", "\n", markup or "")
    text = re.sub(r"<[^>]*>", "", text)
    return "\n".join(line.rstrip() for line in html.unescape(text).strip().splitlines())


def tel_uri(phone: str) -> str | None:
    """A UK phone number as a global tel: URI ("01785 123456" -> "tel:+441785123456")."""
    digits = re.sub(r"[^\d+]", "", phone or "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+44" + digits[1:]
    if not re.fullmatch(r"\+?\d{3,20}", digits):
        return None
    return f"tel:{digits}" if digits.startswith("+") else f"tel:{digits};phone-context=+44"


def phone_from_uri(uri: str) -> str | None:
    """The number in a tel: or sip: URI, UK numbers in national form ("tel:+441785123456" -> "01785123456")."""
    match = re.match(r"^(?:tel|sip|sips):([+\d][\d\-.() ]*)", (uri or "").strip(), re.IGNORECASE)
    if not match:
        return None
    number = re.sub(r"[^\d+]", "", match.group(1))
    if number.startswith("+44"):
        return "0" + number[3:]
    return number or None


def jcard(name: str, telephone: str | None, url: str | None) -> str:
    """An organisation's contact card as jCard (RFC 7095), the form EIDO's agencyJcard takes."""
    properties: list[list[Any]] = [
        ["version", {}, "text", "4.0"],
        ["kind", {}, "text", "org"],
        ["fn", {}, "text", name],
    ]
    uri = tel_uri(telephone) if telephone else None
    if uri:
        properties.append(["tel", {"type": "work"}, "uri", uri])
    if url:
        properties.append(["url", {}, "uri", url])
    return json.dumps(["vcard", properties], separators=(",", ":"))


class _Exporter:
    """Builds one document. Component ids are stable: exporting twice gives the same ids."""

    def __init__(
        self,
        *,
        sender: str,
        incident: Incident,
        force_name: str,
        force_telephone: str | None,
        force_url: str | None,
        command: CommandSettings,
        grade_names: dict[str, str],
        assessment: Assessment | None,
        calls: list[Call],
        entries: list[LogEntry],
        assignments: list[tuple[Assignment, Unit]],
        exporter: str,
    ) -> None:
        self.sender = sender
        self.incident = incident
        self.force_name = force_name
        self.force_telephone = force_telephone
        self.force_url = force_url
        self.command = command
        self.grade_names = grade_names
        self.assessment = assessment
        self.calls = calls
        self.entries = entries
        self.assignments = assignments
        self.exporter = exporter
        self.parts: dict[str, list[dict[str, Any]]] = {}
        self.agents: dict[str, set[str]] = {}

    # ids
    def incident_urn(self) -> str:
        return f"urn:emergency:uid:incidentid:{self.incident.id}:{self.sender}"

    def uid(self, kind: str, local: str) -> str:
        name = f"https://{self.sender}/eido/{self.incident.id}/{kind}/{local}"
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"

    def agent(self, username: str, role: str) -> dict[str, str]:
        self.agents.setdefault(username, set()).add(role)
        return {"$ref": self.agent_id(username)}

    def agent_id(self, username: str) -> str:
        return f"{username}@{self.sender}"

    def prologue(self, component_id: str, at: datetime, by: str | None = None, role: str = "Other") -> dict[str, Any]:
        part: dict[str, Any] = {
            "$id": component_id,
            "lastUpdateTimeStamp": timestamp(at),
            "updatedByAgencyReference": {"$ref": self.sender},
        }
        if by:
            part["updatedByAgentReference"] = self.agent(by, role)
        return part

    def add(self, kind: str, part: dict[str, Any]) -> dict[str, str]:
        self.parts.setdefault(kind, []).append(part)
        return {"$ref": part["$id"]}

    def note(self, key: str, text: str, at: datetime, by: str | None = None, **extra: Any) -> dict[str, str]:
        part = self.prologue(self.uid("note", key), at, by)
        part["notesActionComments"] = to_html(text)
        if by:
            part["agentReference"] = {"$ref": self.agent_id(by)}
        part.update(extra)
        return self.add("notesComponent", part)

    # the document
    def document(self) -> dict[str, Any]:
        incident = self.incident
        cautions = [self.caution(code) for code in incident.qualifiers or []]
        notes = [
            self.note(
                "description",
                incident.description or "",
                incident.created_at,
                incident.created_by,
                **({"cautionReference": cautions} if cautions else {}),
            ),
            self.note(
                "marking",
                f"Protective marking: {incident.marking}"
                + (" (need to know: the sender restricts it to named people)" if incident.need_to_know else ""),
                incident.created_at,
            ),
        ]
        if self.assessment is not None:
            notes.append(self.thrive_note(self.assessment))
        persons = [self.caller(call) for call in self.calls]
        resources = [self.resource(assignment, unit) for assignment, unit in self.assignments]
        notes += [
            self.note(f"log/{entry.id}", f"{entry.kind.replace('_', ' ')}: {entry.text}", entry.at, entry.by)
            for entry in self.entries
        ]
        part = self.prologue(self.uid("incident", incident.id), incident.updated_at)
        category = self.command.category(incident.opening_category)
        part.update(
            {
                "incidentTypeCommonRegistryText": common_incident_type(incident.opening_category, category),
                "incidentTypeInternalCode": incident.opening_category,
                "incidentTypeInternalText": category.name if category else incident.opening_category,
                "incidentStatusInternalText": [incident.status],
                "internalIncidentId": incident.reference,
                "incidentPriorityInternalText": self.grade_text(incident.grade),
                "incidentCommonPriorityNumber": int(incident.grade),
                "locationReference": [self.location(incident)],
                "notesReference": notes,
            }
        )
        if persons:
            part["personReference"] = persons
        if (
            incident.status in {IncidentStatus.CLOSED.value, IncidentStatus.RESOLVED.value}
            and incident.closing_category
        ):
            part["dispositionComponent"] = [self.disposition(incident)]
        if resources:
            self.add("dispatchComponent", self.dispatch(resources))
        self.add("agencyComponent", self.agency())
        document: dict[str, Any] = {
            "$id": self.incident_urn(),
            "lastUpdateTimeStamp": timestamp(incident.updated_at),
            "updatedByAgencyReference": {"$ref": self.sender},
            "updatedByAgentReference": self.agent(self.exporter, "Other"),
            "eidoVersion": EIDO_VERSION,
            "issuingElementIdentification": self.sender,
            "incidentComponent": part,
        }
        # every agent is known now: the incident names them all, and each is listed once
        names = sorted(self.agents)
        part["agentReference"] = [{"$ref": self.agent_id(name)} for name in names]
        self.parts["agentComponent"] = [self.agent_part(name) for name in names]
        for name in COMPONENT_LISTS:
            if self.parts.get(name):
                document[name] = self.parts[name]
        document["@context"] = {"@vocab": JSON_LD_VOCAB}
        return document

    def grade_text(self, grade: str) -> str:
        name = self.grade_names.get(str(grade))
        return f"Grade {grade}" + (f" {name}" if name else "")

    def agency(self) -> dict[str, Any]:
        part = self.prologue(self.sender, self.incident.updated_at)
        part.update(
            {
                "agencyJcard": jcard(self.force_name, self.force_telephone, self.force_url),
                "agencyRoleDescriptionRegistryText": ["CallReceiving"],
                "agencyType": ["police"],
                "incidentOwningAgencyIndicator": True,
            }
        )
        return part

    def agent_part(self, username: str) -> dict[str, Any]:
        roles = self.agents[username]
        named = sorted(roles - {"Other"}) or ["Other"]
        part = self.prologue(self.agent_id(username), self.incident.updated_at)
        part.update({"agentRoleRegistryText": named, "agencyReference": {"$ref": self.sender}})
        return part

    def location(self, incident: Incident) -> dict[str, str]:
        part = self.prologue(self.uid("location", "incident"), incident.updated_at)
        part["locationTypeDescriptionRegistryText"] = "Incident"
        part["locationByValue"] = pidf_lo(self.incident_urn(), incident.lat, incident.lon, incident.updated_at)
        if incident.address:
            part["locationDescriptionText"] = incident.address
        return self.add("locationComponent", part)

    def caution(self, code: str) -> dict[str, str]:
        qualifier = self.command.qualifier(code)
        part = self.prologue(self.uid("caution", code), self.incident.created_at)
        part.update(
            {
                "cautionTypeInternalText": qualifier.name if qualifier else code,
                "cautionTypeCommonRegistryText": "Officer Safety" if code in OFFICER_SAFETY else "Other",
                "cautionTypeCommonSubRegistryText": [code],
                "cautionSeverity": CAUTION_SEVERITY.get(code, "normal"),
                "cautionSource": self.sender,
                "startDate": timestamp(self.incident.created_at),
            }
        )
        return self.add("cautionComponent", part)

    def thrive_note(self, assessment: Assessment) -> dict[str, str]:
        lines = [
            f"THRIVE assessment, {self.grade_text(assessment.grade)}, "
            f"{timestamp(assessment.at)} by {assessment.by}"
            + (f" (re-assessed: {assessment.reason})" if assessment.reason else ""),
            f"Threat: {assessment.threat}",
            f"Harm: {assessment.harm}",
            f"Risk: {assessment.risk}",
            f"Investigation: {assessment.investigation}",
            f"Vulnerability: {assessment.vulnerability}",
            f"Engagement: {assessment.engagement}",
        ]
        return self.note(f"thrive/{assessment.id}", "\n".join(lines), assessment.at, assessment.by)

    def caller(self, call: Call) -> dict[str, str]:
        call_urn = f"urn:emergency:uid:callid:{call.id}:{self.sender}"
        person = self.prologue(self.uid("person", call.id), call.received_at)
        person["personIncidentRoleRegistryText"] = ["Caller"]
        person["callIdentifier"] = [call_urn]
        if call.caller_name:
            person["ncPersonComponent"] = {"name": [{"personFullName": [{"value": call.caller_name}]}]}
        consent = "given" if call.callback_consent else "not given"
        person["notesReference"] = [self.note(f"consent/{call.id}", f"Call-back consent: {consent}", call.received_at)]
        call_part = self.prologue(call_urn, call.received_at, call.handled_by, "Call Taking")
        call_part.update(
            {
                "standardPrimaryCallType": PRIMARY_CALL_TYPE.get(call.source, "nonEmergency"),
                "localCallType": call.source,
                "direction": "incoming",
                "callStartTimestamp": timestamp(call.received_at),
                "callStateRegistryText": "callEnd",
                "agentReference": [{"$ref": self.agent_id(call.handled_by)}],
            }
        )
        uri = tel_uri(call.caller_phone) if call.caller_phone else None
        if uri:
            callback = self.prologue(self.uid("callback", call.id), call.received_at)
            callback["callBackInformationUri"] = [uri]
            reference = self.add("callbackComponent", callback)
            person["callBackReference"] = reference
            call_part["callBackReference"] = reference
        if call.lat is not None and call.lon is not None:
            where = self.prologue(self.uid("location", f"call/{call.id}"), call.received_at)
            where["locationTypeDescriptionRegistryText"] = "Caller"
            where["locationByValue"] = pidf_lo(call_urn, call.lat, call.lon, call.received_at)
            if call.address:
                where["locationDescriptionText"] = call.address
            reference = self.add("locationComponent", where)
            person["locationReference"] = [reference]
            call_part["locationReference"] = [reference]
        if call.account and call.account.strip() != (self.incident.description or "").strip():
            call_part["notesReference"] = [
                self.note(f"account/{call.id}", call.account, call.received_at, call.handled_by)
            ]
        person_reference = self.add("personComponent", person)
        call_part["personReference"] = [person_reference]
        self.add("callComponent", call_part)
        return person_reference

    def resource(self, assignment: Assignment, unit: Unit) -> dict[str, str]:
        if assignment.released_at is not None:
            state = "released"
        elif assignment.arrived_at is not None:
            state = "at_scene"
        elif assignment.acknowledged_at is not None:
            state = "en_route"
        else:
            state = "assigned"
        try:
            capabilities = set(TYPE_CAPABILITIES.get(UnitType(unit.unit_type), frozenset()))
        except ValueError:
            capabilities = set()
        capabilities |= set(unit.extra_capabilities or [])
        changed = (
            assignment.released_at or assignment.arrived_at or assignment.acknowledged_at or assignment.assigned_at
        )
        part = self.prologue(self.uid("resource", assignment.id), changed, assignment.assigned_by, "Dispatching")
        part.update(
            {
                "emergencyResourceName": unit.call_sign,
                "emergencyResourceTypeCommonRegistryText": "Law Enforcement",
                "emergencyResourceTypeInternalText": unit.unit_type,
                "primaryUnitStatusRegistryText": ASSIGNMENT_STATUS[state],
                "secondaryUnitStatusRegistryText": [],
                "unitStatusInternal": [state],
                "resourceAttributeRegistryText": ["Other"] if capabilities else [],
                "agentReference": [],
            }
        )
        if capabilities:
            part["resourceAttributeInternalText"] = sorted(str(c) for c in capabilities)
        if state != "released":
            part["activeOnIncidentId"] = self.incident_urn()
        if state in {"assigned", "en_route"} and assignment.eta_seconds is not None:
            part["eta"] = timestamp(assignment.assigned_at + timedelta(seconds=assignment.eta_seconds))
        return self.add("emergencyResourceComponent", part)

    def dispatch(self, resources: list[dict[str, str]]) -> dict[str, Any]:
        part = self.prologue(self.uid("dispatch", "units"), self.incident.updated_at)
        part.update({"agencyReference": {"$ref": self.sender}, "emergencyResourceReference": resources})
        return part

    def disposition(self, incident: Incident) -> dict[str, Any]:
        part = self.prologue(self.uid("disposition", incident.id), incident.closed_at or incident.updated_at)
        part.update(
            {
                "dispositionCommonRegistryCode": "Other",
                "dispositionPrimaryIndicator": True,
                "dispositionCategoryText": incident.closing_category,
            }
        )
        described = "; ".join(filter(None, [incident.result, incident.summary]))
        if described:
            part["dispositionDescriptionText"] = described
        return part


def common_incident_type(code: str, category: Category | None) -> str:
    """The common incident type a receiving agency understands, for an NSIR category."""
    if code in COMMON_INCIDENT_TYPES:
        return COMMON_INCIDENT_TYPES[code]
    if category is not None:
        return FAMILY_COMMON_TYPES[category.family]
    return "Public Service"


def pidf_lo(entity: str, lat: float, lon: float, at: datetime) -> str:
    """A point as a PIDF-LO document (RFC 4119/5491: a GML point, WGS 84, latitude first)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" '
        'xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:gml="http://www.opengis.net/gml" '
        f'entity="{html.escape(entity)}">'
        '<dm:device id="location"><gp:geopriv><gp:location-info>'
        f'<gml:Point srsName="urn:ogc:def:crs:EPSG::4326"><gml:pos>{lat!r} {lon!r}</gml:pos></gml:Point>'
        "</gp:location-info><gp:usage-rules/><gp:method>Manual</gp:method></gp:geopriv>"
        f"<dm:timestamp>{timestamp(at)}</dm:timestamp></dm:device></presence>"
    )
