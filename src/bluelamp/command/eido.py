"""EIDO exchange: an incident as a NENA Emergency Incident Data Object (NENA-STA-021, JSON),
for another force or agency, and an EIDO document received from one as a new incident
(a call transferred to us).

NENA publishes the schema as OpenAPI 3.0 YAML with no licence file, so Bluelamp never
ships a copy: it is read at run time from ``settings.eido_schema_dir``, or from
``../shared/spec/eido`` beside the checkout. Without it, export still works and import
makes structural checks only (and says so).

Exporting discloses personal data (the callers) to another organisation: it needs
``incident.read`` on an incident the actor may see, is audited, and is written in the
incident's log. Importing needs ``incident.create``; the same document twice opens one
incident (the idempotency key comes from the sender and their incident id).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor, Marking
from bluelamp.access.service import require
from bluelamp.clock import Clock
from bluelamp.command import log, queries, service, targets
from bluelamp.command.commands import CallerDetails, NewIncident, Thrive
from bluelamp.command.config import Category, CommandSettings, Family
from bluelamp.command.model import (
    Assessment,
    Assignment,
    Call,
    Incident,
    IncidentStatus,
    LogEntry,
    LogKind,
    Source,
    TaskKind,
)
from bluelamp.command.tasks import open_task
from bluelamp.errors import CATALOGUE, ConfigError, FieldProblem, InvalidInput, NotFound
from bluelamp.events import Event
from bluelamp.tracking.model import TYPE_CAPABILITIES, Unit, UnitType

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

CATALOGUE.register(
    "eido.invalid",
    InvalidInput,
    "The EIDO document does not validate against NENA's schema (or, without the schema, is not shaped like "
    "an EIDO); `errors` lists the first problems with their JSON paths.",
)
CATALOGUE.register(
    "eido.no_location",
    InvalidInput,
    "The EIDO document has no location with coordinates (a PIDF-LO point or a geo: URI) to open an incident at.",
)

EIDO_VERSION = "1.0"
# The JSON-LD context NENA's schema allows on a document (the only value its enum admits).
JSON_LD_VOCAB = "./JSON-LD_Contexts/EmergencyIncidentDataObjectType.jsonld"
ROOT_SCHEMA = "EmergencyIncidentDataObjectType"
MAX_REPORTED_ERRORS = 10
DEFAULT_FALLBACK_CATEGORY = "concern_for_safety"
# What an imported incident's THRIVE says until the receiving handler re-assesses it.
TRANSFERRED = "transferred: re-assess"
MAX_IMPORTED_NOTES = 500
# The repository checkout (src/bluelamp/command/eido.py -> the checkout), for the default schema folder.
_CHECKOUT = Path(__file__).resolve().parents[3]
_SCHEMA_BASE = "https://eido.schema.invalid/Schema/"

COMPONENT_LISTS = (
    "mergeComponent",
    "linkComponent",
    "callComponent",
    "callbackComponent",
    "dispatchComponent",
    "notesComponent",
    "emergencyResourceComponent",
    "alarmsSensorsComponent",
    "agencyComponent",
    "agentComponent",
    "additionalDataComponent",
    "locationComponent",
    "personComponent",
    "vehicleComponent",
    "cautionComponent",
    "mediaComponent",
    "sharedCommunicationResourceComponent",
    "externalInformationSourceComponent",
)

# NSIR opening category -> a plain-English common incident type for the receiving agency
# (NENA's incidentTypeCommonRegistryText, in the spirit of APCO/NENA's common incident
# types). Our own category code and name always travel too (incidentTypeInternalCode and
# incidentTypeInternalText), and an importer matches those first.
COMMON_INCIDENT_TYPES: dict[str, str] = {
    "concern_for_safety": "Welfare Check",
    "missing_person": "Missing Person",
    "absent_person": "Missing Person",
    "sudden_death": "Death Investigation",
    "mental_health": "Mental Health",
    "suicidal_person": "Suicide Threat",
    "collapse_injury_illness": "Medical Emergency",
    "domestic_incident": "Domestic Disturbance",
    "animals": "Animal Problem",
    "dangerous_dog": "Dangerous Animal",
    "firearms_licensing": "Public Service",
    "suspicious_package": "Suspicious Package",
    "fire": "Fire",
    "flooding_weather": "Weather Emergency",
    "alarm_activation": "Alarm",
    "civil_dispute": "Civil Matter",
    "lost_found_property": "Lost Property",
    "abandoned_call": "Abandoned Call",
    "violence_in_progress": "Fight",
    "assault": "Assault",
    "robbery": "Robbery",
    "burglary_dwelling": "Burglary",
    "burglary_business": "Burglary",
    "theft": "Theft",
    "shoplifting": "Shoplifting",
    "vehicle_crime": "Vehicle Theft",
    "criminal_damage": "Vandalism",
    "arson": "Arson",
    "sexual_offence": "Sexual Assault",
    "domestic_abuse": "Domestic Violence",
    "weapons": "Weapons Offense",
    "firearms_incident": "Shooting",
    "drugs": "Drugs",
    "public_order": "Disturbance",
    "fraud": "Fraud",
    "hate_crime": "Hate Crime",
    "wanted_person": "Wanted Person",
    "asb_personal": "Harassment",
    "asb_nuisance": "Nuisance",
    "asb_environmental": "Environmental Nuisance",
    "rtc_injury": "Traffic Collision With Injury",
    "rtc_damage_only": "Traffic Collision",
    "road_obstruction": "Traffic Hazard",
    "dangerous_driving": "Reckless Driving",
    "abandoned_vehicle": "Abandoned Vehicle",
    "rail_air_marine": "Transportation Incident",
}
# A force's own categories fall back on their NSIR family.
FAMILY_COMMON_TYPES = {
    Family.PUBLIC_SAFETY: "Public Service",
    Family.CRIME: "Crime",
    Family.ASB: "Nuisance",
    Family.TRANSPORT: "Traffic",
}
# Qualifiers a responder must be warned of, and how loudly (cautionSeverity).
CAUTION_SEVERITY = {"firearms": "highest", "weapons": "high", "violence": "high", "disorder": "high"}
OFFICER_SAFETY = frozenset(CAUTION_SEVERITY)
# Our call sources -> NENA's primary call type.
PRIMARY_CALL_TYPE = {Source.EMERGENCY_999.value: "emergency", Source.ALARM.value: "emergency"}
# Where an assignment is -> the unit status NENA's resources carry.
ASSIGNMENT_STATUS = {"assigned": "Dispatched", "en_route": "Enroute", "at_scene": "OnScene", "released": "Cleared"}
CALLER_ROLE = re.compile(r"caller|reporting", re.IGNORECASE)
MARKING_NOTE = re.compile(r"^\s*(?:protective|security)\s+marking:\s*(OFFICIAL-SENSITIVE|OFFICIAL|SECRET)\b", re.I)
CONSENT_NOTE = re.compile(r"call-?\s?back consent:\s*(not given|given|yes|no|true|false)\b", re.IGNORECASE)
CONSENT_GIVEN = {"given", "yes", "true"}
GML_POS = re.compile(r"<(?:[\w.-]+:)?pos(?:\s[^>]*)?>\s*([-+]?\d+(?:\.\d+)?)[\s,]+([-+]?\d+(?:\.\d+)?)\s*</", re.I)
GEO_URI = re.compile(r"^geo:([-+]?\d+(?:\.\d+)?),([-+]?\d+(?:\.\d+)?)", re.IGNORECASE)
CIVIC_PARTS = ("HNO", "HNS", "PRD", "RD", "STS", "POD", "A6", "A5", "A4", "A3", "A2", "A1", "PC", "country")
SENDER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,98}[A-Za-z0-9]$")


# ---------------------------------------------------------------- the schema


@dataclass(frozen=True)
class SchemaError:
    """One way a document breaks the schema: where (a JSON path) and what."""

    path: str
    message: str


def schema_dir(configured: Path | None) -> Path | None:
    """Where NENA's EIDO schema is: the configured folder (which must hold it), else
    ``../shared/spec/eido`` beside the checkout when present, else None."""
    if configured is not None:
        if not (Path(configured) / "Schema" / "openapi.yaml").is_file():
            raise ConfigError(
                f"BLUELAMP_EIDO_SCHEMA_DIR: there is no Schema/openapi.yaml under {configured}", code="config.invalid"
            )
        return Path(configured)
    default = _CHECKOUT.parent / "shared" / "spec" / "eido"
    return default if (default / "Schema" / "openapi.yaml").is_file() else None


class EidoValidator:
    """NENA's schema compiled once: Draft 7 over ``openapi.yaml`` and ``NIEMComponents/*.yaml``
    in one ``referencing`` registry, validating against ``EmergencyIncidentDataObjectType``."""

    def __init__(self, directory: Path) -> None:
        import yaml
        from jsonschema import Draft7Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser is ~6x faster on 4 MB of YAML
        root = Path(directory) / "Schema"
        contents: dict[str, Any] = {}
        for path in [root / "openapi.yaml", *sorted((root / "NIEMComponents").glob("*.yaml"))]:
            uri = _SCHEMA_BASE + path.relative_to(root).as_posix()
            contents[uri] = _repair(yaml.load(path.read_text(encoding="utf-8"), Loader=loader))

        def retrieve(uri: str) -> Resource:
            # openapi.yaml refers once to "NIEMComponents//j.yaml": read it as the one slash it means.
            normalised = re.sub(r"(?<!:)/{2,}", "/", uri)
            if normalised not in contents:
                from referencing.exceptions import NoSuchResource

                raise NoSuchResource(ref=uri)
            return Resource.from_contents(contents[normalised], default_specification=DRAFT7)

        registry = Registry(retrieve=retrieve).with_resources(
            (uri, Resource.from_contents(document, default_specification=DRAFT7)) for uri, document in contents.items()
        )
        schema = {"$ref": f"{_SCHEMA_BASE}openapi.yaml#/components/schemas/{ROOT_SCHEMA}"}
        self.directory = Path(directory)
        self._validator = Draft7Validator(schema, registry=registry.crawl(), format_checker=_format_checker())

    def errors(self, document: Any) -> list[SchemaError]:
        """Every schema error of the document, in document order."""
        found = sorted(self._validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
        return [SchemaError(error.json_path, _short(error.message)) for error in found]


def _repair(node: Any) -> Any:
    """Make NENA's OpenAPI schemas plain Draft 7, in memory only (the files are never edited).

    Its snapshot has ``minItems: 1,`` (AgentType.agentRoleRegistryText), which YAML reads
    as the string "1,": any such count is read as the integer it means. OpenAPI 3.0's
    ``nullable: true`` (none in this snapshot) becomes a ``null`` in the schema's type."""
    counts = {"minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"}
    if isinstance(node, dict):
        if node.get("nullable") is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for key, value in node.items():
            if key in counts and isinstance(value, str) and re.fullmatch(r"\s*\d+\s*,?\s*", value):
                node[key] = int(value.strip().rstrip(","))
            else:
                _repair(value)
    elif isinstance(node, list):
        for item in node:
            _repair(item)
    return node


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")


def _format_checker():
    """Draft 7 formats the documents rely on: timestamps (RFC 3339, with an offset) and URIs."""
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not RFC3339.match(value):
            return False
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        return True

    @checker.checks("uri")
    def uri(value: object) -> bool:
        return not isinstance(value, str) or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", value) is not None

    return checker


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


@lru_cache(maxsize=4)
def _compiled(directory: str) -> EidoValidator:
    return EidoValidator(Path(directory))


def validator(configured: Path | None = None) -> EidoValidator | None:
    """The compiled validator (built once per folder), or None when the schema is absent."""
    directory = schema_dir(configured)
    return None if directory is None else _compiled(str(directory.resolve()))


def structural_errors(document: Any) -> list[SchemaError]:
    """What can be checked without NENA's schema: the shape every EIDO has."""
    if not isinstance(document, dict):
        return [SchemaError("$", "an EIDO document is a JSON object")]
    problems = []
    if document.get("eidoVersion") != EIDO_VERSION:
        problems.append(SchemaError("$.eidoVersion", f"must be {EIDO_VERSION!r}"))
    for name in ("$id", "issuingElementIdentification", "lastUpdateTimeStamp"):
        if not isinstance(document.get(name), str) or not document[name].strip():
            problems.append(
                SchemaError(f"$['{name}']" if name.startswith("$") else f"$.{name}", "a string is required")
            )
    if not isinstance(document.get("agencyComponent"), list) or not document["agencyComponent"]:
        problems.append(SchemaError("$.agencyComponent", "a list of agencies is required"))
    for name in COMPONENT_LISTS:
        value = document.get(name)
        if value is None:
            continue
        if not isinstance(value, list):
            if name != "agencyComponent":  # already said
                problems.append(SchemaError(f"$.{name}", "must be a list"))
            continue
        for index, item in enumerate(value):
            if not isinstance(item, dict) or not isinstance(item.get("$id"), str):
                problems.append(SchemaError(f"$.{name}[{index}]", "must be an object with a string $id"))
    if "incidentComponent" in document and not isinstance(document["incidentComponent"], dict):
        problems.append(SchemaError("$.incidentComponent", "must be an object"))
    return problems


@dataclass(frozen=True)
class Checked:
    """A document's check: by NENA's schema (``validated``) or only structurally."""

    validated: bool
    errors: list[SchemaError]


def check_document(document: Any, configured: Path | None = None) -> Checked:
    """Check a document against NENA's schema when it is available, else structurally."""
    compiled = validator(configured)
    if compiled is None:
        return Checked(False, structural_errors(document))
    return Checked(True, compiled.errors(document))


def require_valid(document: Any, configured: Path | None = None) -> Checked:
    """The check, or InvalidInput (eido.invalid) listing the first errors with their JSON paths."""
    checked = check_document(document, configured)
    if checked.errors:
        shown = checked.errors[:MAX_REPORTED_ERRORS]
        against = "NENA's EIDO schema" if checked.validated else "the shape of an EIDO (schema not available here)"
        raise InvalidInput(
            f"the document does not validate against {against}: {len(checked.errors)} error(s)"
            + (f", the first {len(shown)} listed" if len(shown) < len(checked.errors) else ""),
            code="eido.invalid",
            problems=[FieldProblem(error.path, error.message) for error in shown],
            extra={"error_count": len(checked.errors), "validated_against_schema": checked.validated},
        )
    return checked


# ---------------------------------------------------------------- export


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


# ---------------------------------------------------------------- import


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
