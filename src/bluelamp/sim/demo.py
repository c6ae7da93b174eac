"""Seeding the demo forces; safe to run again (it keeps what is there)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from bluelamp.access import queries as access_queries
from bluelamp.access.model import Force, Organisation, OrganisationKind
from bluelamp.access.policy import Actor, Marking, Role
from bluelamp.access.service import AddForce, AddOrganisation, AddUser, add_force, add_organisation, add_user
from bluelamp.clock import Clock

STAFFORDSHIRE = AddForce(
    id="staffordshire",
    name="Staffordshire Police",
    reference_prefix="SP",
    url="https://www.staffordshire.police.uk",
    telephone="101",
    description="Demo force: Stoke-on-Trent and Staffordshire (population about 1.13 million).",
)

STOKE_COUNCIL = AddOrganisation(
    id="stoke-on-trent-city-council",
    name="Stoke-on-Trent City Council",
    kind=OrganisationKind.COUNCIL.value,
    force_id=STAFFORDSHIRE.id,
)

# One password for every demo user, so the README can list them. Never use it for real people.
DEMO_PASSWORD = "bluelamp-demo"


@dataclass(frozen=True)
class DemoUser:
    """A demo user: one per role, named after it (``call-handler``)."""

    role: Role
    display_name: str
    clearance: Marking = Marking.OFFICIAL

    @property
    def username(self) -> str:
        return self.role.value.replace("_", "-")

    @property
    def home(self) -> str:
        if self.role is Role.PLATFORM_ADMIN:
            return "platform"
        if self.role is Role.PARTNER_PRACTITIONER:
            return STOKE_COUNCIL.id
        return STAFFORDSHIRE.id


# Names and clearances of the demo users; a role missing here still gets a user.
_DEMO_PEOPLE: dict[str, tuple[str, Marking]] = {
    "call_handler": ("Priya Shah", Marking.OFFICIAL),
    "dispatcher": ("Tom Hughes", Marking.OFFICIAL),
    "response_officer": ("PC Dan Whitmore", Marking.OFFICIAL),
    "investigator": ("DC Grace Okafor", Marking.OFFICIAL_SENSITIVE),
    "intelligence_analyst": ("Hannah Price", Marking.SECRET),
    "source_handler": ("DS Mark Ellis", Marking.SECRET),
    "supervisor": ("Insp. Ruth Bennett", Marking.OFFICIAL_SENSITIVE),
    "partner_practitioner": ("Leah Morris", Marking.OFFICIAL),
    "force_admin": ("Sam Patel", Marking.OFFICIAL_SENSITIVE),
    "data_protection_officer": ("Joanne Clarke", Marking.SECRET),
    "platform_admin": ("Alex Morgan", Marking.OFFICIAL),
    "tracking_gateway": ("Vehicle tracking gateway", Marking.OFFICIAL),
}

DEMO_USERS = [
    DemoUser(role, *_DEMO_PEOPLE.get(role.value, (f"Demo {role.value.replace('_', ' ')}", Marking.OFFICIAL)))
    for role in Role
]


@dataclass
class SeedReport:
    """What a seeding run created and what it found already there, and how to sign in."""

    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    users: list[DemoUser] = field(default_factory=list)
    password: str = DEMO_PASSWORD


def seed_demo(session: Session, clock: Clock) -> SeedReport:
    """Create the demo force, its partner council and one user per role, unless they exist."""
    report = SeedReport(users=list(DEMO_USERS))
    # The platform acting in the demo force, so the force's own audit log shows the seeding.
    actor = Actor.system(STAFFORDSHIRE.id, "demo")
    if session.get(Force, STAFFORDSHIRE.id) is None:
        add_force(session, actor, STAFFORDSHIRE, clock)
        report.created.append(f"force {STAFFORDSHIRE.id}")
    else:
        report.kept.append(f"force {STAFFORDSHIRE.id}")
    if session.get(Organisation, STOKE_COUNCIL.id) is None:
        add_organisation(session, actor, STOKE_COUNCIL, clock)
        report.created.append(f"organisation {STOKE_COUNCIL.id}")
    else:
        report.kept.append(f"organisation {STOKE_COUNCIL.id}")
    created, kept = [], []
    for demo in DEMO_USERS:
        if access_queries.user_by_username(session, demo.username) is not None:
            kept.append(demo.username)
            continue
        add_user(
            session,
            actor if demo.home != "platform" else Actor.system(None, "demo"),
            AddUser(
                username=demo.username,
                display_name=demo.display_name,
                roles=(demo.role.value,),
                force_id=STAFFORDSHIRE.id if demo.home == STAFFORDSHIRE.id else None,
                organisation_id=STOKE_COUNCIL.id if demo.home == STOKE_COUNCIL.id else None,
                clearance=demo.clearance.value,
                password=DEMO_PASSWORD,
            ),
            clock,
        )
        created.append(demo.username)
    if created:
        report.created.append(f"{len(created)} demo users")
    if kept:
        report.kept.append(f"{len(kept)} demo users")
    seed_command_areas(session, report)
    seed_resources(session, actor, clock, report)
    seed_crews(session, actor, clock, report)
    return report


# Built-up areas for attendance targets (urban inside, rural outside): a circle of
# roughly each town's extent, in km.
URBAN_RADIUS_KM = {
    "STOKE": 7.0,
    "NUL": 3.5,
    "STAFF": 4.0,
    "BURT": 4.0,
    "TAM": 3.5,
    "LICH": 2.5,
    "CANN": 3.5,
    "LEEK": 2.0,
    "UTTX": 1.8,
    "STONE": 1.8,
    "RUGE": 2.0,
    "KIDS": 2.0,
}
# Staffordshire's outline, roughly (lat, lon), for the out-of-area warning.
FORCE_OUTLINE = [
    (53.230, -2.050),
    (53.200, -1.880),
    (53.020, -1.780),
    (52.900, -1.600),
    (52.800, -1.580),
    (52.700, -1.590),
    (52.580, -1.640),
    (52.560, -1.760),
    (52.600, -2.050),
    (52.440, -2.250),
    (52.520, -2.330),
    (52.700, -2.400),
    (52.860, -2.420),
    (53.000, -2.380),
    (53.090, -2.330),
    (53.170, -2.200),
]


def circle(lat: float, lon: float, radius_km: float, points: int = 32) -> dict:
    """A GeoJSON polygon approximating a circle on the ground."""
    ring = []
    for n in range(points):
        angle = 2 * math.pi * n / points
        ring.append(
            [
                round(lon + radius_km / (111.32 * math.cos(math.radians(lat))) * math.sin(angle), 5),
                round(lat + radius_km / 110.57 * math.cos(angle), 5),
            ]
        )
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def demo_command_settings() -> dict:
    """The demo force's command configuration: its towns as urban areas and its outline."""
    outline = [[lon, lat] for lat, lon in FORCE_OUTLINE]
    outline.append(outline[0])
    return {
        "urban_areas": [
            {"name": name, "geometry": circle(lat, lon, URBAN_RADIUS_KM[code])} for code, name, lat, lon, _ in STATIONS
        ],
        "force_area": {"name": "Staffordshire", "geometry": {"type": "Polygon", "coordinates": [outline]}},
    }


def seed_command_areas(session: Session, report: SeedReport) -> None:
    force = session.get(Force, STAFFORDSHIRE.id)
    if (force.settings or {}).get("command"):
        report.kept.append("command areas")
        return
    force.settings = {**(force.settings or {}), "command": demo_command_settings()}
    report.created.append("urban areas and the force outline for attendance targets")


# The real towns (DOMAIN.md "Geography"): a station in each, with its first unit.
STATIONS = [
    ("STOKE", "Stoke-on-Trent", 53.003, -2.180, "SK"),
    ("NUL", "Newcastle-under-Lyme", 53.012, -2.227, "NL"),
    ("STAFF", "Stafford", 52.806, -2.117, "SF"),
    ("BURT", "Burton upon Trent", 52.802, -1.637, "BT"),
    ("TAM", "Tamworth", 52.634, -1.695, "TW"),
    ("LICH", "Lichfield", 52.683, -1.826, "LF"),
    ("CANN", "Cannock", 52.691, -2.031, "CK"),
    ("LEEK", "Leek", 53.105, -2.025, "LK"),
    ("UTTX", "Uttoxeter", 52.898, -1.866, "UX"),
    ("STONE", "Stone", 52.904, -2.147, "ST"),
    ("RUGE", "Rugeley", 52.760, -1.936, "RG"),
    ("KIDS", "Kidsgrove", 53.087, -2.238, "KG"),
]
# Force-wide specialist units, based at the two largest stations.
SPECIALISTS = [
    ("ARV1", "armed_response_vehicle", "STOKE"),
    ("ARV2", "armed_response_vehicle", "STAFF"),
    ("DOG1", "dog_van", "STAFF"),
    ("RP1", "roads_policing_car", "CANN"),
]


def seed_resources(session: Session, actor: Actor, clock: Clock, report: SeedReport) -> None:
    """Stations in the real towns, a response car at each and the specialists, each with a
    tracker (device id ``demo-<CALLSIGN>``) that Traccar Client or the simulator can use."""
    from bluelamp.tracking import queries as tracking_queries
    from bluelamp.tracking import service as tracking

    if tracking_queries.stations(session, STAFFORDSHIRE.id):
        report.kept.append("stations and units")
        return
    units = []
    for code, name, lat, lon, prefix in STATIONS:
        tracking.add_station(session, actor, tracking.AddStation(code, name, lat, lon), clock)
        units.append((f"{prefix}11", "response_car", code))
    units.extend(SPECIALISTS)
    for call_sign, unit_type, station in units:
        tracking.add_unit(session, actor, tracking.AddUnit(call_sign, unit_type, station, status="available"), clock)
        tracking.add_device(
            session, actor, tracking.AddDevice(f"demo-{call_sign}", "vehicle_tracker", call_sign), clock
        )
    report.created.append(f"{len(STATIONS)} stations and {len(units)} units with trackers")


# The demo's officers: (collar, name, rank, skills, call sign crewed, demo user's role).
# The response-officer demo user is PC Whitmore on SK11, so the officer app has a unit.
OFFICERS = [
    ("4721", "Dan Whitmore", "PC", ("taser", "first_aid"), "SK11", "response_officer"),
    ("5102", "Aisha Khan", "PC", ("advanced_driver", "first_aid"), "SK11", None),
    ("3380", "Lee Barker", "PC", ("taser", "public_order"), "NL11", None),
    ("6015", "Megan Lloyd", "PC", ("first_aid",), "SF11", None),
    ("2290", "Owen Price", "PC", ("taser", "advanced_driver"), "BT11", None),
    ("7741", "Sophie Hart", "PC", ("first_aid", "public_order"), "TW11", None),
    ("1187", "Gareth Moss", "PS", ("firearms", "advanced_driver"), "ARV1", None),
    ("1190", "Kate Rowe", "PC", ("firearms",), "ARV1", None),
    ("8830", "Neil Ashby", "PC", ("dog_handler",), "DOG1", None),
]
SHIFT = timedelta(hours=12)


def seed_crews(session: Session, actor: Actor, clock: Clock, report: SeedReport) -> None:
    """The demo's officers, each crewing their unit on a shift that covers now: a demo run
    the next day books them on again, so the officer app and the recommendations always
    find crewed units. The officer's phone (device ``demo-phone-<collar>``) reports through
    tracking like any phone."""
    from bluelamp.tracking import queries as tracking_queries
    from bluelamp.tracking import service as tracking

    now = clock.now()
    booked = 0
    for collar, name, rank, skills, call_sign, role in OFFICERS:
        officer = tracking_queries.officer_by_collar(session, STAFFORDSHIRE.id, collar)
        if officer is None:
            user = access_queries.user_by_username(session, role.replace("_", "-")) if role else None
            tracking.add_officer(
                session,
                actor,
                tracking.AddOfficer(collar, name, rank, skills, user_id=user.id if user else None),
                clock,
            )
            tracking.add_device(
                session, actor, tracking.AddDevice(f"demo-phone-{collar}", "phone", officer_collar=collar), clock
            )
            officer = tracking_queries.officer_by_collar(session, STAFFORDSHIRE.id, collar)
        if tracking_queries.overlapping_duty(session, officer.id, now, now + timedelta(seconds=1)) is not None:
            continue
        unit = tracking.unit_by_call_sign(session, actor, call_sign)
        tracking.book_on(
            session, actor, unit.id, [collar], now - timedelta(hours=1), now - timedelta(hours=1) + SHIFT, clock
        )
        booked += 1
    if booked:
        report.created.append(f"{booked} officers booked on duty for 12 hours")
    else:
        report.kept.append("officers on duty")
