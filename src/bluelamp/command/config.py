"""Command and control's per-force configuration: NSIR opening categories, qualifiers,
what each needs of a unit, urban areas for attendance targets, the force area, the
duplicate-call windows and appointment slots.

Stored as JSON under ``ForceSettings.command`` on the force row; anything not set
takes the defaults below (DOMAIN.md "Command and control")."""

from __future__ import annotations

import copy
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bluelamp.tracking.model import Capability


class Family(StrEnum):
    """NSIR's four families of incident category."""

    PUBLIC_SAFETY = "public_safety"
    CRIME = "crime"
    ASB = "asb"
    TRANSPORT = "transport"


FAMILY_NAMES = {
    Family.PUBLIC_SAFETY: "Public safety and welfare",
    Family.CRIME: "Crime",
    Family.ASB: "Anti-social behaviour",
    Family.TRANSPORT: "Transport",
}


class Category(BaseModel):
    """One NSIR opening (or closing) category."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9_]{2,40}$")
    name: str
    family: Family
    requires: list[Capability] = Field(default_factory=list)
    duplicate_radius_m: int = Field(400, ge=0, le=20000)
    duplicate_window_minutes: int = Field(60, ge=0, le=7 * 24 * 60)
    default_grade: str | None = None


class Qualifier(BaseModel):
    """A flag on an incident (domestic, firearms, ...), and what it needs of a unit."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9_]{2,40}$")
    name: str
    requires: list[Capability] = Field(default_factory=list)


class Area(BaseModel):
    """A named polygon (a GeoJSON Polygon or MultiPolygon geometry)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    geometry: dict[str, Any]

    @field_validator("geometry")
    @classmethod
    def _polygon(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("type") not in {"Polygon", "MultiPolygon"}:
            raise ValueError("geometry must be a GeoJSON Polygon or MultiPolygon")
        return value


class Appointments(BaseModel):
    """Grade 3 appointment slots: their length, how many run at once, and opening hours (local time)."""

    model_config = ConfigDict(extra="forbid")

    slot_minutes: int = Field(60, ge=15, le=480)
    per_slot: int = Field(4, ge=1, le=200)
    first_hour: int = Field(8, ge=0, le=23)
    last_hour: int = Field(22, ge=1, le=24)
    earliest_minutes: int = Field(120, ge=0, description="The first slot offered starts at least this long after now.")


def _c(code, name, family, requires=(), radius=400, window=60, grade=None) -> Category:
    return Category(
        code=code,
        name=name,
        family=family,
        requires=list(requires),
        duplicate_radius_m=radius,
        duplicate_window_minutes=window,
        default_grade=grade,
    )


F = Family
C = Capability
DEFAULT_CATEGORIES: list[Category] = [
    # Public safety and welfare
    _c("concern_for_safety", "Concern for safety", F.PUBLIC_SAFETY, grade="2"),
    _c("missing_person", "Missing person", F.PUBLIC_SAFETY, window=24 * 60, radius=2000, grade="2"),
    _c("absent_person", "Absent person", F.PUBLIC_SAFETY, window=24 * 60, radius=2000),
    _c("sudden_death", "Sudden death", F.PUBLIC_SAFETY, grade="2"),
    _c("mental_health", "Mental health", F.PUBLIC_SAFETY),
    _c("suicidal_person", "Suicidal person / threat of self-harm", F.PUBLIC_SAFETY, [C.FIRST_AID], grade="1"),
    _c("collapse_injury_illness", "Collapse, injury or illness", F.PUBLIC_SAFETY, [C.FIRST_AID], grade="1"),
    _c("domestic_incident", "Domestic incident (non-crime)", F.PUBLIC_SAFETY, window=12 * 60, radius=100),
    _c("animals", "Animals (dangerous or loose)", F.PUBLIC_SAFETY, radius=1000),
    _c("dangerous_dog", "Dangerous dog", F.PUBLIC_SAFETY, [C.DOG], radius=500),
    _c("firearms_licensing", "Firearms licensing", F.PUBLIC_SAFETY),
    _c("suspicious_package", "Suspicious package", F.PUBLIC_SAFETY, radius=300, grade="1"),
    _c("fire", "Fire (police assistance)", F.PUBLIC_SAFETY, radius=800),
    _c("flooding_weather", "Flood or severe weather", F.PUBLIC_SAFETY, radius=3000, window=6 * 60),
    _c("alarm_activation", "Intruder or hold-up alarm", F.PUBLIC_SAFETY, radius=50, window=30),
    _c("civil_dispute", "Civil dispute", F.PUBLIC_SAFETY),
    _c("lost_found_property", "Lost or found property", F.PUBLIC_SAFETY),
    _c("abandoned_call", "Abandoned or silent 999 call", F.PUBLIC_SAFETY, radius=100, window=30),
    # Crime
    _c("violence_in_progress", "Violence in progress", F.CRIME, [C.TASER], radius=300, window=30, grade="1"),
    _c("assault", "Assault", F.CRIME),
    _c("robbery", "Robbery", F.CRIME, window=30, grade="1"),
    _c("burglary_dwelling", "Burglary (dwelling)", F.CRIME, radius=100, window=120),
    _c("burglary_business", "Burglary (business and community)", F.CRIME, radius=100, window=120),
    _c("theft", "Theft", F.CRIME),
    _c("shoplifting", "Shoplifting", F.CRIME, radius=100),
    _c("vehicle_crime", "Vehicle crime", F.CRIME),
    _c("criminal_damage", "Criminal damage", F.CRIME),
    _c("arson", "Arson", F.CRIME, radius=500),
    _c("sexual_offence", "Sexual offence", F.CRIME, grade="1"),
    _c("domestic_abuse", "Domestic abuse (crime)", F.CRIME, window=12 * 60, radius=100),
    _c("weapons", "Weapons (knife or other, not firearm)", F.CRIME, [C.TASER], radius=500, window=30, grade="1"),
    _c("firearms_incident", "Firearms incident", F.CRIME, [C.FIREARMS], radius=1000, window=60, grade="1"),
    _c("drugs", "Drugs", F.CRIME),
    _c("public_order", "Public order offence", F.CRIME, [C.PUBLIC_ORDER], radius=500),
    _c("fraud", "Fraud", F.CRIME, radius=0, window=0),
    _c("hate_crime", "Hate crime", F.CRIME),
    _c("wanted_person", "Wanted person sighted", F.CRIME, radius=1000),
    # Anti-social behaviour (NSIR's three kinds)
    _c("asb_personal", "ASB: personal", F.ASB, radius=200, window=120),
    _c("asb_nuisance", "ASB: nuisance", F.ASB, radius=300, window=120),
    _c("asb_environmental", "ASB: environmental", F.ASB, radius=300, window=24 * 60),
    # Transport
    _c("rtc_injury", "Road traffic collision (injury)", F.TRANSPORT, [C.ROADS_POLICING, C.FIRST_AID], 800, 60, "1"),
    _c("rtc_damage_only", "Road traffic collision (damage only)", F.TRANSPORT, radius=800),
    _c("road_obstruction", "Road-related obstruction or hazard", F.TRANSPORT, radius=1000, window=120),
    _c("dangerous_driving", "Dangerous or drink driving", F.TRANSPORT, [C.ROADS_POLICING], radius=3000, window=30),
    _c("abandoned_vehicle", "Abandoned vehicle", F.TRANSPORT, radius=100, window=7 * 24 * 60),
    _c("rail_air_marine", "Rail, air or marine incident", F.TRANSPORT, radius=2000),
]

DEFAULT_QUALIFIERS: list[Qualifier] = [
    Qualifier(code="domestic", name="Domestic"),
    Qualifier(code="hate", name="Hate"),
    Qualifier(code="mental_health", name="Mental health"),
    Qualifier(code="alcohol", name="Alcohol"),
    Qualifier(code="drugs", name="Drugs"),
    Qualifier(code="vulnerable_person", name="Vulnerable person"),
    Qualifier(code="child", name="Child involved"),
    Qualifier(code="repeat_victim", name="Repeat victim"),
    Qualifier(code="firearms", name="Firearms", requires=[C.FIREARMS]),
    Qualifier(code="weapons", name="Weapons (other)", requires=[C.TASER]),
    Qualifier(code="violence", name="Violence", requires=[C.TASER]),
    Qualifier(code="injury", name="Injury", requires=[C.FIRST_AID]),
    Qualifier(code="dog_required", name="Dog required (search or tracking)", requires=[C.DOG]),
    Qualifier(code="prisoner", name="Prisoner to transport", requires=[C.PRISONER_TRANSPORT]),
    Qualifier(code="disorder", name="Disorder", requires=[C.PUBLIC_ORDER]),
    Qualifier(code="road_closure", name="Road closure", requires=[C.ROADS_POLICING]),
    Qualifier(code="cyber", name="Cyber-enabled"),
]


class CommandSettings(BaseModel):
    """A force's command-and-control configuration."""

    model_config = ConfigDict(extra="forbid")

    categories: list[Category] = Field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    qualifiers: list[Qualifier] = Field(default_factory=lambda: list(DEFAULT_QUALIFIERS))
    # Attendance targets use the urban time inside any of these, the rural time outside.
    # None of them configured: everywhere counts as urban (the stricter target).
    urban_areas: list[Area] = Field(default_factory=list)
    # The force's area: a location outside it needs a reason. None: not checked.
    force_area: Area | None = None
    # A grade 1 or 2 incident with no unit en route prompts a re-assessment this many
    # minutes before its target (or at the target, for targets shorter than this).
    reassess_lead_minutes: dict[str, int] = Field(default_factory=lambda: {"1": 5, "2": 15})
    recommend_count: int = Field(5, ge=1, le=50)
    road_factor: float = Field(1.35, ge=1.0, le=3.0)
    appointments: Appointments = Field(default_factory=Appointments)
    # An incident transferred in (EIDO) whose type maps to none of our categories.
    eido_fallback_category: str = "concern_for_safety"

    def category(self, code: str) -> Category | None:
        return next((c for c in self.categories if c.code == code), None)

    def qualifier(self, code: str) -> Qualifier | None:
        return next((q for q in self.qualifiers if q.code == code), None)

    def requirements(self, category: str, qualifiers: list[str]) -> frozenset[Capability]:
        """The capabilities a unit needs for an incident of this category and qualifiers."""
        needs: set[Capability] = set()
        found = self.category(category)
        if found is not None:
            needs |= set(found.requires)
        for code in qualifiers:
            qualifier = self.qualifier(code)
            if qualifier is not None:
                needs |= set(qualifier.requires)
        return frozenset(needs)


_parsed: list[tuple[dict[str, Any], CommandSettings]] = []


def command_settings(force_settings_command: dict[str, Any] | None) -> CommandSettings:
    """A force's command settings from the JSON stored on its row (``ForceSettings.command``).

    Parsing some fifty categories and the urban areas costs more than most requests that
    need them, so the last few parsed settings are kept while their JSON is unchanged
    (compared as dicts: far cheaper than re-parsing)."""
    raw = force_settings_command or {}
    for seen, parsed in _parsed:
        if seen == raw:
            return parsed
    parsed = CommandSettings.model_validate(raw)
    _parsed.insert(0, (copy.deepcopy(raw), parsed))
    del _parsed[16:]
    return parsed
