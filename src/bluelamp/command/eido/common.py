"""What export and import share: the EIDO version, the component lists, and the mappings
between Bluelamp's words and EIDO's (incident types, cautions, call types, statuses)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bluelamp.command.config import Family
from bluelamp.command.model import (
    Source,
)
from bluelamp.errors import CATALOGUE, InvalidInput

if TYPE_CHECKING:
    pass


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
