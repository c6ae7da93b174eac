"""The demo force's open data: an address base for its map points, a couple of months of
crimes (some with outcomes) and of stops and searches in the Home Office's categories, and
the publication of its last complete month, so that the data.police.uk-compatible API and
the archive files have the force's own month to show.

Everything is synthetic (street names of the real towns, made-up house positions and
postcodes) and drawn from a seeded random generator, so the same clock gives the same
records. Written through the same services users call (validated, audited)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bluelamp.access import queries as access_queries
from bluelamp.access.policy import Actor, Role
from bluelamp.clock import LONDON, Clock
from bluelamp.records import crime, pole, stop_search
from bluelamp.sim.demo_records import PastClock

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.opendata.publication.publish import PublishReport
    from bluelamp.sim.demo import SeedReport
    from bluelamp.storage import Database

SEED = 8

# Streets of the demo towns: (town, outward code, centre lat, centre lon, streets). The
# houses along each are made up; a few short streets fall under a map point's minimum of
# addresses, so the publication has groups to merge.
TOWNS = [
    (
        "Stoke-on-Trent",
        "ST1",
        53.0245,
        -2.1770,
        ["Piccadilly", "Stafford Street", "Town Road", "Hope Street", "Bucknall New Road", "Cheapside", "Foundry St"],
    ),
    ("Newcastle-under-Lyme", "ST5", 53.0120, -2.2270, ["High Street", "Ironmarket", "Merrial Street", "Brunswick St"]),
    ("Stafford", "ST16", 52.8060, -2.1170, ["Greengate Street", "Gaolgate Street", "Mill Street", "Eastgate Street"]),
    ("Burton upon Trent", "DE14", 52.8020, -1.6370, ["High Street", "Station Street", "Union Street", "Borough Road"]),
    ("Tamworth", "B79", 52.6340, -1.6950, ["Church Street", "George Street", "Lichfield Street", "Aldergate"]),
    ("Cannock", "WS11", 52.6910, -2.0310, ["Church Street", "Wolverhampton Road", "Walsall Road", "Mill Street"]),
    ("Leek", "ST13", 53.1050, -2.0250, ["Derby Street", "St Edward Street", "Stockwell Street"]),
    ("Lichfield", "WS13", 52.6830, -1.8260, ["Bore Street", "Tamworth Street", "Dam Street"]),
]
HOUSE_SPACING_M = 9.0  # along the street
HOUSE_SETBACK_M = 8.0  # either side of its middle
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass(frozen=True)
class DemoAddress:
    line1: str
    town: str
    postcode: str
    lat: float
    lon: float


def _move(lat: float, lon: float, metres: float, bearing: float) -> tuple[float, float]:
    return (
        lat + metres * math.cos(bearing) / 110_574.0,
        lon + metres * math.sin(bearing) / (111_320.0 * math.cos(math.radians(lat))),
    )


def demo_addresses(seed: int = SEED) -> list[DemoAddress]:
    """The demo force's address base: houses along each street of TOWNS, odd numbers on
    one side and even on the other, a postcode per stretch of about fifteen."""
    rnd = random.Random(seed)
    found = []
    for town, outward, lat0, lon0, streets in TOWNS:
        for street in streets:
            start = _move(lat0, lon0, rnd.uniform(150, 900), rnd.uniform(0, 2 * math.pi))
            bearing = rnd.uniform(0, math.pi)
            houses = rnd.choice([5, 6, 12, 16, 20, 24, 30, 36])
            postcode = ""
            for number in range(1, houses + 1):
                if (number - 1) % 15 == 0:
                    letters = rnd.choice(INWARD_LETTERS) + rnd.choice(INWARD_LETTERS)
                    postcode = f"{outward} {rnd.randint(1, 9)}{letters}"
                along = _move(*start, ((number - 1) // 2) * HOUSE_SPACING_M * 2, bearing)
                side = bearing + (math.pi / 2 if number % 2 else -math.pi / 2)
                lat, lon = _move(*along, HOUSE_SETBACK_M, side)
                found.append(DemoAddress(f"{number} {street}", town, postcode, round(lat, 6), round(lon, 6)))
    return found


def seed_addresses(session: Session, actor: Actor, clock: Clock, *, seed: int = SEED) -> list[str]:
    """Write the demo address base as location records; their ids, in order."""
    ids = []
    for address in demo_addresses(seed):
        location = pole.new_location(
            session,
            actor,
            pole.NewLocation(
                line1=address.line1, town=address.town, postcode=address.postcode, lat=address.lat, lon=address.lon
            ),
            clock,
        )
        ids.append(location.id)
    return ids


def _month_start(moment: datetime, back: int) -> datetime:
    """The first moment (Europe/London) of the month ``back`` months before ``moment``'s."""
    local = moment.astimezone(LONDON)
    year, month = local.year, local.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return datetime(year, month, 1, tzinfo=LONDON)


def _moments(rnd: random.Random, now: datetime, months: int, per_month: int) -> list[datetime]:
    """``per_month`` moments in each of the last ``months`` complete months and in the
    current month so far (in proportion), oldest first, never after ``now``."""
    found = []
    for back in range(months, -1, -1):
        start = _month_start(now, back)
        end = min(_month_start(now, back - 1) if back else now, now)
        span = (end - start).total_seconds()
        count = per_month if back else int(per_month * span / (30 * 86400))
        found.extend(start + timedelta(seconds=rnd.uniform(0, span)) for _ in range(count))
    return sorted(m for m in found if m < now - timedelta(hours=1))


# ---------------------------------------------------------------- crimes

# (offence code, weight, summary): roughly the national mix of recorded crime.
CRIMES = [
    ("8N", 10, "Assault with injury in the street after an argument"),
    ("105A", 12, "Assault without injury outside a bar"),
    ("8L", 6, "Harassment by repeated messages and visits"),
    ("9A", 6, "Threatening behaviour causing alarm and distress"),
    ("28E", 6, "Rear door forced at a house; electronics taken"),
    ("45", 6, "Car window smashed and a bag taken from the seat"),
    ("48", 3, "Car taken from outside a house overnight"),
    ("46", 9, "Goods taken from a shop without paying"),
    ("58A", 4, "Window of a house smashed"),
    ("58C", 4, "Car scratched along its side"),
    ("49", 8, "Parcel taken from a doorstep"),
    ("92E", 4, "Found in possession of cannabis"),
    ("39", 2, "Phone snatched from a hand in the street"),
    ("44", 2, "Bicycle taken from outside a shop"),
    ("34B", 1, "Phone and wallet taken with threats"),
    ("10D", 1, "Found carrying a knife in public"),
]
# Outcomes that need no identified suspect, with weights: most crimes end without one.
CLOSING = [("18", 6, "no suspect identified"), ("14", 2, "the victim does not support action"), ("20", 1, "other body")]


def seed_crimes(
    session: Session,
    actor: Actor,
    clock: Clock,
    addresses: list[str],
    *,
    months: int = 2,
    per_month: int = 90,
    seed: int = SEED,
) -> int:
    """Crimes recorded over the last ``months`` complete months and this month so far, at
    the demo's addresses (a few with no location); about half of those older than a week
    closed with an outcome. Returns how many were recorded."""
    rnd = random.Random(seed + 1)
    now = clock.now()
    codes, weights = [c[0] for c in CRIMES], [c[1] for c in CRIMES]
    summaries = {c[0]: c[2] for c in CRIMES}
    count = 0
    for moment in _moments(rnd, now, months, per_month):
        code = rnd.choices(codes, weights)[0]
        recorded = PastClock(clock, now - moment)
        reported = moment - timedelta(minutes=rnd.randint(20, 240))
        location = rnd.choice(addresses) if addresses and rnd.random() > 0.04 else None
        changed = crime.record_crime(
            session,
            actor,
            crime.NewCrime(
                source="direct",
                offence_code=code,
                summary=summaries[code],
                narrative="Demo crime: synthetic, for the open-data publication.",
                reported_at=reported,
                occurred_from=reported - timedelta(minutes=rnd.randint(10, 600)),
                location_id=location,
            ),
            recorded,
        )
        count += 1
        closed_at = moment + timedelta(days=rnd.uniform(2, 40))
        if closed_at < now - timedelta(hours=1) and rnd.random() < 0.55:
            outcome = rnd.choices([c[0] for c in CLOSING], [c[1] for c in CLOSING])[0]
            why = next(c[2] for c in CLOSING if c[0] == outcome)
            crime.close_crime(
                session, actor, changed.event.id, outcome, f"Demo outcome: {why}", PastClock(clock, now - closed_at)
            )
    return count


# ---------------------------------------------------------------- stops and searches


def _pick(rnd: random.Random, table: list[tuple]) -> object:
    return rnd.choices([row[0] for row in table], [row[1] for row in table])[0]


# The shares are those of a real month (Staffordshire, November 2016), in today's words.
TYPES = [("Person search", 75), ("Person and Vehicle search", 19), ("Vehicle search", 6)]
GENDERS = [("Male", 84), ("Female", 16)]
AGES = [("10-17", 15), ("18-24", 26), ("25-34", 28), ("over 34", 26), (None, 5)]
SELF_DEFINED = [
    ("White - English/Welsh/Scottish/Northern Irish/British", 60),
    ("Other ethnic group - Not stated", 18),
    ("White - Any other White background", 5),
    ("Asian/Asian British - Pakistani", 4),
    ("Black/African/Caribbean/Black British - Caribbean", 2),
    ("Black/African/Caribbean/Black British - African", 2),
    ("Asian/Asian British - Any other Asian background", 2),
    ("Mixed/Multiple ethnic groups - White and Black Caribbean", 1),
    (None, 6),
]
POWERS = [
    ("Misuse of Drugs Act 1971 (section 23)", 60, [("Controlled drugs", 1)]),
    (
        "Police and Criminal Evidence Act 1984 (section 1)",
        38,
        [
            ("Stolen goods", 50),
            ("Article for use in theft", 25),
            ("Offensive weapons", 20),
            ("Articles for use in criminal damage", 5),
        ],
    ),
    ("Criminal Justice Act 1988 (section 139B)", 1, [("Offensive weapons", 1)]),
    ("Firearms Act 1968 (section 47)", 1, [("Firearms", 1)]),
]
OUTCOMES = [
    ("A no further action disposal", 70),
    ("Arrest", 16),
    ("Community resolution", 9),
    ("Khat or Cannabis warning", 3),
    ("Summons / charged by post", 2),
]
GROUNDS = {
    "Controlled drugs": [
        "Strong smell of cannabis from the subject; seen passing a small package to another person.",
        "Seen in a known dealing spot exchanging items with several people in a short time.",
    ],
    "Stolen goods": [
        "Matched the description of a suspect for a theft from a shop minutes earlier.",
        "Carrying new boxed items at night near a recently burgled house.",
    ],
    "Article for use in theft": ["Seen trying car door handles along the street."],
    "Offensive weapons": ["Reported by a member of the public to be carrying a knife."],
    "Articles for use in criminal damage": ["Fresh graffiti nearby; subject had paint on hands."],
    "Firearms": ["Information that the subject was carrying a firearm."],
}


def _officer_ethnicity(self_defined: str | None, rnd: random.Random) -> str | None:
    if self_defined is None or self_defined.startswith("Other ethnic group - Not stated"):
        return rnd.choice(["White", None])
    group = self_defined.split(" - ")[0]
    return next((word for word in ("White", "Black", "Asian", "Mixed") if group.startswith(word)), "Other")


def seed_stop_searches(
    session: Session,
    actor: Actor,
    clock: Clock,
    *,
    months: int = 2,
    per_month: int = 80,
    seed: int = SEED,
) -> int:
    """Stops and searches over the last ``months`` complete months and this month so far,
    in the streets of the demo towns, in the shares of a real month; the actor is the
    searching officer. Returns how many were recorded."""
    rnd = random.Random(seed + 2)
    now = clock.now()
    streets = demo_addresses(seed)
    count = 0
    for moment in _moments(rnd, now, months, per_month):
        kind = _pick(rnd, TYPES)
        power, _, objects = POWERS[rnd.choices(range(len(POWERS)), [p[1] for p in POWERS])[0]]
        wanted = _pick(rnd, objects)
        outcome = _pick(rnd, OUTCOMES)
        person = kind != "Vehicle search"
        self_defined = _pick(rnd, SELF_DEFINED) if person else None
        near = rnd.choice(streets)  # in the street, not at the house
        lat, lon = _move(near.lat, near.lon, rnd.uniform(5, 40), rnd.uniform(0, 2 * math.pi))
        stop_search.record_stop_search(
            session,
            actor,
            stop_search.NewStopSearch(
                type=kind,
                occurred_at=moment,
                legislation=power,
                object_of_search=wanted,
                outcome=outcome,
                grounds=rnd.choice(GROUNDS[wanted]),
                lat=round(lat, 5),
                lon=round(lon, 5),
                operation_name="Operation Sceptre" if wanted == "Offensive weapons" and rnd.random() < 0.5 else None,
                gender=_pick(rnd, GENDERS) if person else None,
                age_range=_pick(rnd, AGES) if person else None,
                self_defined_ethnicity=self_defined,
                officer_defined_ethnicity=_officer_ethnicity(self_defined, rnd) if person else None,
                outcome_linked=None if outcome == "A no further action disposal" else rnd.random() < 0.7,
                removal_of_outer_clothing=(rnd.random() < 0.05) if person else None,
            ),
            PastClock(clock, now - moment - timedelta(minutes=rnd.randint(5, 50))),
        )
        count += 1
    return count


# ---------------------------------------------------------------- publishing


def last_complete_month(clock: Clock) -> int:
    """The month before this one (Europe/London), as YYYYMM."""
    start = _month_start(clock.now(), 1)
    return start.year * 100 + start.month


def publish_last_month(
    session: Session,
    clock: Clock,
    *,
    secret_key: str,
    out_dir: Path | str | None = None,
    force_id: str = "staffordshire",
) -> PublishReport:
    """Publish the demo force's last complete month (as `bluelamp opendata publish` does)."""
    from bluelamp.opendata.publication.publish import publish

    return publish(
        session,
        Actor.system(force_id, "demo"),
        force_id,
        last_complete_month(clock),
        out_dir,
        clock,
        secret_key=secret_key,
    )


def searching_officer(session: Session, force_id: str = "staffordshire") -> Actor:
    """The demo's response officer (PC Whitmore), who records the demo's stops and searches."""
    user = access_queries.user_by_username(session, "response-officer")
    return Actor(
        user_id=user.id if user is not None else None,
        username="response-officer",
        force_id=force_id,
        roles=frozenset({Role.RESPONSE_OFFICER}),
        via="demo",
    )


def seed_opendata(
    database: Database, clock: Clock, report: SeedReport, *, secret_key: str, force_id: str = "staffordshire"
) -> None:
    """The demo's address base, crimes and stops and searches, unless the force already has
    stops and searches; then the publication of its last complete month."""
    from bluelamp.opendata.publication import queries

    with database.read() as session:
        if queries.has_stop_searches(session, force_id):
            report.kept.append("open-data records (stops and searches)")
            return
    demo = Actor.system(force_id, "demo")
    with database.unit_of_work() as session:
        addresses = seed_addresses(session, demo, clock)
        crimes = seed_crimes(session, demo, clock, addresses)
    with database.unit_of_work() as session:
        stops = seed_stop_searches(session, searching_officer(session, force_id), clock)
    report.created.append(f"{len(addresses):,} addresses, {crimes:,} crimes and {stops:,} stops and searches")
    with database.unit_of_work() as session:
        published = publish_last_month(session, clock, secret_key=secret_key, force_id=force_id)
    report.created.append(
        f"the open-data publication of {published.month // 100}-{published.month % 100:02d}: "
        f"{published.street_rows:,} street rows, {published.outcomes:,} outcomes, {published.stops:,} stops "
        f"at {published.points:,} map points"
    )
