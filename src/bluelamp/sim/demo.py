"""Seeding the demo forces; safe to run again (it keeps what is there)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bluelamp.access import queries as access_queries
from bluelamp.access.model import Force, Organisation, OrganisationKind
from bluelamp.access.policy import Actor, Marking, Role
from bluelamp.access.service import AddForce, AddOrganisation, AddUser, add_force, add_organisation, add_user
from bluelamp.clock import Clock
from bluelamp.storage import Database

LONDON = ZoneInfo("Europe/London")

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
    force: str | None = None  # another force's user (the second demo force)
    prefix: str = ""  # their usernames start with the force's short name (``wy-dispatcher``)

    @property
    def username(self) -> str:
        return self.prefix + self.role.value.replace("_", "-")

    @property
    def home(self) -> str:
        if self.force is not None:
            return self.force
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

# The second demo force: West Yorkshire Police, with its real published street crime
# (data.police.uk, July 2016 and July 2017) and a few users of its own, who see only it.
WEST_YORKSHIRE = "west-yorkshire"
WEST_YORKSHIRE_USERS = [
    DemoUser(Role.DISPATCHER, "Imran Akhtar", force=WEST_YORKSHIRE, prefix="wy-"),
    DemoUser(Role.INTELLIGENCE_ANALYST, "Claire Holroyd", Marking.SECRET, force=WEST_YORKSHIRE, prefix="wy-"),
    DemoUser(Role.FORCE_ADMIN, "Martin Sykes", Marking.OFFICIAL_SENSITIVE, force=WEST_YORKSHIRE, prefix="wy-"),
]

DEMO_USERS = [
    DemoUser(role, *_DEMO_PEOPLE.get(role.value, (f"Demo {role.value.replace('_', ' ')}", Marking.OFFICIAL)))
    for role in Role
] + WEST_YORKSHIRE_USERS


@dataclass
class SeedReport:
    """What a seeding run created and what it found already there, and how to sign in."""

    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    users: list[DemoUser] = field(default_factory=list)
    password: str = DEMO_PASSWORD


from bluelamp.sim.demo_neighbourhoods import seed_neighbourhoods  # noqa: E402  (imports this module lazily)


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
        if demo.force is not None:
            continue  # seeded with their force: seed_second_force
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
    seed_neighbourhoods(session, actor, clock, report)
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
# How each station is resourced on a shift: (response cars, neighbourhood foot patrols).
# About what a force of Staffordshire's size puts out at once, across its towns.
STATION_STRENGTH = {
    "STOKE": (8, 3),
    "NUL": (4, 2),
    "STAFF": (5, 2),
    "BURT": (5, 2),
    "TAM": (4, 2),
    "LICH": (3, 1),
    "CANN": (4, 2),
    "LEEK": (2, 1),
    "UTTX": (2, 1),
    "STONE": (2, 1),
    "RUGE": (2, 1),
    "KIDS": (2, 1),
}
# Force-wide and specialist units: (call sign, unit type, station, crew size, crew skills).
SPECIALISTS = [
    ("ARV1", "armed_response_vehicle", "STOKE", 2, ("firearms", "advanced_driver")),
    ("ARV2", "armed_response_vehicle", "STAFF", 2, ("firearms", "advanced_driver")),
    ("DOG1", "dog_van", "STAFF", 1, ("dog_handler", "response_driver")),
    ("RP1", "roads_policing_car", "CANN", 1, ("roads_policing", "advanced_driver")),
    ("RP2", "roads_policing_car", "STONE", 1, ("roads_policing", "advanced_driver")),
    ("RP3", "roads_policing_car", "BURT", 1, ("roads_policing", "advanced_driver")),
    ("RPM1", "motorcycle", "STAFF", 1, ("roads_policing", "motorcyclist")),
    ("SKV1", "van", "STOKE", 2, ("public_order", "response_driver")),
    ("SFV1", "van", "STAFF", 2, ("response_driver",)),
    ("BTV1", "van", "BURT", 2, ("response_driver",)),
    ("PSU1", "public_order_carrier", "STOKE", 3, ("public_order", "taser")),
    ("CID1", "unmarked_car", "STOKE", 1, ("detective",)),
    ("CID2", "unmarked_car", "STAFF", 1, ("detective",)),
    ("SKC1", "cycle_patrol", "STOKE", 1, ()),
    ("SFC1", "cycle_patrol", "STAFF", 1, ()),
    ("BTC1", "cycle_patrol", "BURT", 1, ()),
]


@dataclass(frozen=True)
class DemoUnit:
    call_sign: str
    unit_type: str
    station: str
    crew: int
    skills: tuple[str, ...]


def demo_units() -> list[DemoUnit]:
    """Every demo unit: response cars (double-crewed) and foot patrols at each station, then
    the specialists. About 80 in all."""
    units = []
    for code, _name, _lat, _lon, prefix in STATIONS:
        cars, foot = STATION_STRENGTH[code]
        for n in range(cars):
            units.append(DemoUnit(f"{prefix}{11 + n}", "response_car", code, 2, ("response_driver", "first_aid")))
        for n in range(foot):
            units.append(DemoUnit(f"{prefix}N{1 + n}", "foot_patrol", code, 1, ("first_aid",)))
    units.extend(DemoUnit(*spec) for spec in SPECIALISTS)
    return units


def seed_resources(session: Session, actor: Actor, clock: Clock, report: SeedReport) -> None:
    """Stations in the real towns and about 80 units (response cars, foot patrols, two armed
    response vehicles, a dog unit, roads policing, vans, a public-order carrier, CID cars,
    cycles), each with a tracker (device id ``demo-<CALLSIGN>``) that Traccar Client or the
    simulator can use. Adds whatever is missing, so an older demo database gains new units."""
    from bluelamp.tracking import queries as tracking_queries
    from bluelamp.tracking import service as tracking

    stations = 0
    for code, name, lat, lon, _prefix in STATIONS:
        if tracking_queries.station_by_code(session, STAFFORDSHIRE.id, code) is None:
            tracking.add_station(session, actor, tracking.AddStation(code, name, lat, lon), clock)
            stations += 1
    added = 0
    for unit in demo_units():
        if tracking_queries.unit_by_call_sign(session, STAFFORDSHIRE.id, unit.call_sign) is not None:
            continue
        tracking.add_unit(
            session, actor, tracking.AddUnit(unit.call_sign, unit.unit_type, unit.station, status="available"), clock
        )
        tracking.add_device(
            session, actor, tracking.AddDevice(f"demo-{unit.call_sign}", "vehicle_tracker", unit.call_sign), clock
        )
        added += 1
    if stations or added:
        report.created.append(f"{stations} stations and {added} units with trackers")
    else:
        report.kept.append("stations and units")


# The demo's named officers: (collar, name, rank, skills, call sign crewed, demo user's role).
# The response-officer demo user is PC Whitmore on SK11, so the officer app has a unit.
# Every other seat in every unit is filled by a generated officer (fictional names).
OFFICERS = [
    ("4721", "Dan Whitmore", "PC", ("taser", "first_aid", "response_driver"), "SK11", "response_officer"),
    ("5102", "Aisha Khan", "PC", ("advanced_driver", "first_aid"), "SK11", None),
    ("3380", "Lee Barker", "PC", ("taser", "public_order"), "NL11", None),
    ("6015", "Megan Lloyd", "PC", ("first_aid",), "SF11", None),
    ("2290", "Owen Price", "PC", ("taser", "advanced_driver"), "BT11", None),
    ("7741", "Sophie Hart", "PC", ("first_aid", "public_order"), "TW11", None),
    ("1187", "Gareth Moss", "PS", ("firearms", "advanced_driver"), "ARV1", None),
    ("1190", "Kate Rowe", "PC", ("firearms",), "ARV1", None),
    ("8830", "Neil Ashby", "PC", ("dog_handler",), "DOG1", None),
]
_GIVEN = [
    "James",
    "Oliver",
    "Jack",
    "Harry",
    "George",
    "Charlie",
    "Thomas",
    "Daniel",
    "Ryan",
    "Adam",
    "Luke",
    "Callum",
    "Ben",
    "Matt",
    "Chris",
    "Jordan",
    "Liam",
    "Josh",
    "Emma",
    "Sophie",
    "Olivia",
    "Amy",
    "Laura",
    "Hannah",
    "Chloe",
    "Jess",
    "Rachel",
    "Megan",
    "Lucy",
    "Holly",
    "Zara",
    "Nadia",
    "Priya",
    "Ellie",
    "Beth",
    "Kirsty",
]
_FAMILY = [
    "Bloor",
    "Mountford",
    "Podmore",
    "Tunnicliffe",
    "Plant",
    "Salt",
    "Hulme",
    "Bailey",
    "Walker",
    "Wright",
    "Turner",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Clarke",
    "Evans",
    "Wood",
    "Shaw",
    "Hall",
    "Green",
    "Baker",
    "Ali",
    "Hussain",
    "Begum",
    "Kaur",
    "Singh",
    "Nowak",
    "Kowalski",
    "Murphy",
    "Kelly",
    "Reid",
    "Webb",
]
# The shifts the demo's officers work (local time): early, late and night, ten hours each.
SHIFT_STARTS = (7, 14, 22)
SHIFT = timedelta(hours=10)


def current_shift(now: datetime) -> tuple[datetime, datetime]:
    """The latest shift (early 07:00, late 14:00, night 22:00, Europe/London, ten hours) that
    has started by ``now``: the one the demo's officers are on."""
    local = now.astimezone(LONDON)
    starts = [
        (local - timedelta(days=back)).replace(hour=hour, minute=0, second=0, microsecond=0)
        for back in (0, 1)
        for hour in SHIFT_STARTS
    ]
    start = max(s for s in starts if s <= local)
    return start.astimezone(now.tzinfo), (start + SHIFT).astimezone(now.tzinfo)


def demo_officers() -> list[tuple[str, str, str, tuple[str, ...], str, str | None]]:
    """The named officers, then generated ones for every unit seat still empty: collar,
    name, rank, skills, call sign, demo user's role. Deterministic."""
    rng = random.Random(4721)
    seats: dict[str, int] = {}
    for officer in OFFICERS:
        seats[officer[4]] = seats.get(officer[4], 0) + 1
    officers = list(OFFICERS)
    collars = {o[0] for o in OFFICERS}
    for unit in demo_units():
        for seat in range(seats.get(unit.call_sign, 0), unit.crew):
            collar = str(rng.randrange(1000, 9999))
            while collar in collars:
                collar = str(rng.randrange(1000, 9999))
            collars.add(collar)
            if unit.unit_type == "foot_patrol":
                rank = "PCSO"
            elif unit.unit_type == "unmarked_car":
                rank = "DC"
            else:
                rank = "PS" if seat == 0 and unit.crew >= 3 else "PC"
            name = f"{rng.choice(_GIVEN)} {rng.choice(_FAMILY)}"
            officers.append((collar, name, rank, unit.skills, unit.call_sign, None))
    return officers


def seed_crews(session: Session, actor: Actor, clock: Clock, report: SeedReport) -> None:
    """The demo's officers, each crewing their unit on the shift that covers now (early,
    late or night): a demo run during a later shift books them on again, so the officer
    app and the recommendations always find crewed units. The named officers' phones
    (device ``demo-phone-<collar>``) report through tracking like any phone."""
    from bluelamp.tracking import queries as tracking_queries
    from bluelamp.tracking import service as tracking

    now = clock.now()
    starts_at, ends_at = current_shift(now)
    named = {o[0] for o in OFFICERS}
    by_unit: dict[str, list[str]] = {}
    added = 0
    for collar, name, rank, skills, call_sign, role in demo_officers():
        officer = tracking_queries.officer_by_collar(session, STAFFORDSHIRE.id, collar)
        if officer is None:
            user = access_queries.user_by_username(session, role.replace("_", "-")) if role else None
            tracking.add_officer(
                session,
                actor,
                tracking.AddOfficer(collar, name, rank, skills, user_id=user.id if user else None),
                clock,
            )
            if collar in named:
                tracking.add_device(
                    session, actor, tracking.AddDevice(f"demo-phone-{collar}", "phone", officer_collar=collar), clock
                )
            officer = tracking_queries.officer_by_collar(session, STAFFORDSHIRE.id, collar)
            added += 1
        if tracking_queries.overlapping_duty(session, officer.id, now, now + timedelta(seconds=1)) is None:
            by_unit.setdefault(call_sign, []).append(collar)
    booked = 0
    for call_sign, collars in by_unit.items():
        unit = tracking.unit_by_call_sign(session, actor, call_sign)
        tracking.book_on(session, actor, unit.id, collars, starts_at, ends_at, clock)
        booked += len(collars)
    if added:
        report.created.append(f"{added} officers")
    if booked:
        report.created.append(
            f"{booked} officers booked on duty until {ends_at.astimezone(LONDON):%H:%M} (the current shift)"
        )
    else:
        report.kept.append("officers on duty")


def seed_second_force(database: Database, clock: Clock, report: SeedReport) -> None:
    """West Yorkshire Police as a second force on the platform: its real published street
    crime imported from the data.police.uk months that ship with Bluelamp (so the open-data
    API and maps show real data), and its own users, who see only their force."""
    from bluelamp.opendata.importer import SHIPPED, import_paths
    from bluelamp.opendata.model import FileKind, Month

    months = [path for path in SHIPPED if WEST_YORKSHIRE in path.name]
    with database.read() as session:
        loaded = session.get(Month, (WEST_YORKSHIRE, 201707, FileKind.STREET.value)) is not None
    if loaded:
        report.kept.append(f"force {WEST_YORKSHIRE} and its published crime")
    else:
        imported = import_paths(database, Actor.system(None, "demo"), months, clock)
        report.created.append(
            f"force {WEST_YORKSHIRE} with {imported.rows:,} real street crimes from data.police.uk (OGL v3.0)"
        )
    created = 0
    with database.unit_of_work() as session:
        actor = Actor.system(WEST_YORKSHIRE, "demo")
        for demo in WEST_YORKSHIRE_USERS:
            if access_queries.user_by_username(session, demo.username) is not None:
                continue
            add_user(
                session,
                actor,
                AddUser(
                    username=demo.username,
                    display_name=demo.display_name,
                    roles=(demo.role.value,),
                    force_id=WEST_YORKSHIRE,
                    clearance=demo.clearance.value,
                    password=DEMO_PASSWORD,
                ),
                clock,
            )
            created += 1
    if created:
        report.created.append(f"{created} West Yorkshire demo users")
