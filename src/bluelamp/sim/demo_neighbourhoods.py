"""The demo force's public face: one neighbourhood per real town of DOMAIN.md "Geography"
(Stoke-on-Trent split into north and south), each with a boundary, a team, contact
details, priorities and events, and the force's public profile.

Boundaries are a Voronoi partition of the town centres (on a plane scaled so that a
degree of longitude is as long as at 52.85°N), clipped to the demo force's outline: every
point of the force is in exactly one neighbourhood, and each town is in its own. The people
are made up (their bios say so); e-mail addresses and web pages are on ``.example``
domains. Everything but ids is deterministic for a given clock; the events are upcoming
from the clock's day, with one past event per neighbourhood that the public API hides.

Seeded through the same services a force's team uses, so it is validated and in the
force's audit log; a force that already has neighbourhoods is left alone."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import shapely
from shapely.geometry import MultiPoint, Point, Polygon

from bluelamp.access.model import Force
from bluelamp.access.policy import Actor
from bluelamp.clock import LONDON, Clock, to_local
from bluelamp.opendata.config import EngagementMethod, PublicPerson
from bluelamp.opendata.neighbourhoods import service
from bluelamp.opendata.neighbourhoods.service import EventIn, ForceProfile, NeighbourhoodIn, Place, PriorityIn

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.sim.demo import SeedReport

# (id, name, centre lat, centre lon, population): the towns of DOMAIN.md "Geography", each
# neighbourhood covering its town and the country around it (populations rounded, about
# the districts', so that they add up to roughly the force's 1.1 million).
TOWNS = [
    ("stoke-on-trent-north", "Stoke-on-Trent North", 53.030, -2.180, 130_000),  # Hanley, Burslem, Tunstall
    ("stoke-on-trent-south", "Stoke-on-Trent South", 52.985, -2.135, 128_000),  # Longton, Fenton, Meir
    ("newcastle-under-lyme", "Newcastle-under-Lyme", 53.012, -2.227, 95_000),
    ("stafford", "Stafford", 52.806, -2.117, 100_000),
    ("burton-upon-trent", "Burton upon Trent", 52.802, -1.637, 100_000),
    ("tamworth", "Tamworth", 52.634, -1.695, 78_000),
    ("lichfield", "Lichfield", 52.683, -1.826, 105_000),
    ("cannock", "Cannock", 52.691, -2.031, 100_000),
    ("leek", "Leek", 53.105, -2.025, 98_000),
    ("uttoxeter", "Uttoxeter", 52.898, -1.866, 40_000),
    ("stone", "Stone", 52.904, -2.147, 36_000),
    ("rugeley", "Rugeley", 52.760, -1.936, 30_000),
    ("kidsgrove", "Kidsgrove", 53.087, -2.238, 30_000),
]
FICTIONAL_DOMAIN = "staffordshire-police.example"
# Made-up names, combined in turn: no real officer is meant.
_FIRST = ["Alex", "Bethan", "Callum", "Dee", "Ewan", "Farah", "Gareth", "Holly", "Imran", "Jess", "Kieran", "Lola"]
_FIRST += ["Marcus", "Nadia", "Owen", "Poppy", "Rhys", "Sana", "Theo", "Una", "Vikram", "Wendy", "Yusuf", "Zara"]
_LAST = ["Ashdown", "Brindley", "Copeland", "Dunmore", "Ellery", "Fairbrook", "Gatley", "Hollins", "Ingleby"]
_LAST += ["Jukes", "Kettering", "Lowndes", "Mottram", "Nixley", "Oakhanger", "Pargeter", "Quarrendon", "Ridley"]
_LAST += ["Salt", "Tunnicliffe", "Underhill", "Vardy", "Wedgewood", "Yarwood"]
PRIORITIES = [
    (
        "Anti-social behaviour in {name} centre in the evenings.",
        "Extra foot patrols on Friday and Saturday evenings, with youth workers from the council.",
    ),
    ("Speeding on residential roads around {name}.", "Speed checks with Community Speed Watch volunteers."),
    ("Shoplifting from shops in {name} centre.", "Working with shop staff on a shared radio scheme."),
    ("Vehicle crime in car parks in {name}.", None),
    ("Off-road motorbikes on open land near {name}.", "Patrols with the rural crime team; bikes seized where found."),
    ("Burglary of sheds and garages around {name}.", "Crime prevention visits and property marking events."),
    ("Drug dealing near {name} bus station.", "Warrants executed; patrols continue."),
    ("Parking on pavements near schools in {name}.", None),
]
FORCE_PEOPLE = [
    PublicPerson(name="Helen Marsh", rank="Chief Constable", bio="A fictional chief officer of the demo force."),
    PublicPerson(
        name="Richard Dunmore", rank="Deputy Chief Constable", bio="A fictional chief officer of the demo force."
    ),
    PublicPerson(
        name="Aisha Kerr", rank="Assistant Chief Constable", bio="A fictional chief officer of the demo force."
    ),
]


def town_boundaries(outline: list[tuple[float, float]]) -> list[list[list[float]]]:
    """Each town's cell of the Voronoi partition of ``TOWNS`` clipped to ``outline``
    (``[(lat, lon), ...]``), as closed ``[[lat, lon], ...]`` rings in the order of ``TOWNS``."""
    scale = math.cos(math.radians(52.85))  # a degree of longitude here, in degrees of latitude
    area = Polygon([(lon * scale, lat) for lat, lon in outline])
    seeds = MultiPoint([(lon * scale, lat) for _, _, lat, lon, _ in TOWNS])
    cells = shapely.voronoi_polygons(seeds, extend_to=area, ordered=True)
    rings = []
    for (_, name, lat, lon, _), cell in zip(TOWNS, cells.geoms, strict=True):
        clipped = cell.intersection(area)
        if clipped.geom_type != "Polygon" or not clipped.covers(Point(lon * scale, lat)):
            raise ValueError(f"the demo outline does not give {name} one area around the town")
        ring = [[round(y, 6), round(x / scale, 6)] for x, y in clipped.exterior.coords]
        rings.append(ring)
    return rings


def _person(n: int, rank: str) -> PublicPerson:
    first, last = _FIRST[(n * 7) % len(_FIRST)], _LAST[(n * 5) % len(_LAST)]
    return PublicPerson(name=f"{first} {last}", rank=rank, bio="A fictional officer in Bluelamp's demo data.")


def _local(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=LONDON)


def seed_neighbourhoods(session: Session, actor: Actor, clock: Clock, report: SeedReport | None = None) -> int:
    """The demo force's neighbourhoods and public profile, unless it has neighbourhoods
    already; the number of neighbourhoods created. ``actor`` acts in the demo force."""
    from bluelamp.opendata.neighbourhoods import queries
    from bluelamp.sim.demo import FORCE_OUTLINE

    force = session.get(Force, actor.force_id)
    if queries.neighbourhood_ids(session, force.id):
        if report is not None:
            report.kept.append("neighbourhoods")
        return 0
    service.set_force_profile(
        session,
        actor,
        ForceProfile(
            url=force.url,
            telephone="101",
            description=service.text_of(force.description),
            engagement_methods=[
                EngagementMethod(title="Website", url=force.url, type="website"),
                EngagementMethod(
                    title="Telephone 101",
                    url="tel:101",
                    type="telephone",
                    description="Non-emergency calls. In an emergency always call 999.",
                ),
                EngagementMethod(
                    title="Meet your neighbourhood team",
                    type="meeting",
                    description="Street meetings and police surgeries: see each neighbourhood's events.",
                ),
            ],
            people=FORCE_PEOPLE,
        ),
        clock,
    )
    today = to_local(clock.now()).date()
    for n, ((nid, name, lat, lon, population), ring) in enumerate(
        zip(TOWNS, town_boundaries(FORCE_OUTLINE), strict=True)
    ):
        service.set_neighbourhood(
            session,
            actor,
            NeighbourhoodIn(
                id=nid,
                name=name,
                boundary=ring,
                centre=(lat, lon),
                population=population,
                description=(
                    f"The {name} neighbourhood policing team works with local people and partners on what "
                    f"matters most to them.\n\nThis is demo data: the team, events and priorities are made up."
                ),
                url_force=f"https://{FICTIONAL_DOMAIN}/neighbourhoods/{nid}",
                contact_details={"email": f"{nid}.snt@{FICTIONAL_DOMAIN}", "telephone": "101"},
                links=[{"url": f"https://{FICTIONAL_DOMAIN}/", "title": "Staffordshire Police (demo)"}],
                locations=[
                    Place(
                        name=f"{name.removesuffix(' North').removesuffix(' South')} police station",
                        type="station",
                        description="Front counter open on weekdays; call 101 first.",
                        address=name,
                        latitude=lat,
                        longitude=lon,
                    )
                ],
                people=[_person(4 * n, "Sergeant"), _person(4 * n + 1, "PC")]
                + [_person(4 * n + 2, "PCSO"), _person(4 * n + 3, "PCSO")],
            ),
            clock,
        )
        for k in range(3):
            issue, action = PRIORITIES[(n + 3 * k) % len(PRIORITIES)]
            raised = _local(today - timedelta(days=20 + 25 * k + n), time(9))
            service.add_priority(
                session,
                actor,
                nid,
                PriorityIn(
                    issue=issue.format(name=name),
                    issue_date=raised,
                    action=action,
                    action_date=raised + timedelta(days=7) if action else None,
                ),
                clock,
            )
        events = [
            (today + timedelta(days=3 + n % 5), time(18, 30), time(19, 30), "Street meeting", "meeting"),
            (today + timedelta(days=10 + n % 7), time(10), time(12), "Police surgery", "surgery"),
            (today - timedelta(days=5 + n % 4), time(14), time(16), "Community litter pick", "other"),  # past: hidden
        ]
        for day, start, end, title, kind in events:
            service.add_event(
                session,
                actor,
                nid,
                EventIn(
                    title=f"{title}, {name}",
                    type=kind,
                    description=f"Meet the {name} team: bring your questions and concerns.",
                    address=f"Community centre, {name}",
                    start=_local(day, start),
                    end=_local(day, end),
                ),
                clock,
            )
    if report is not None:
        report.created.append(f"{len(TOWNS)} neighbourhoods with teams, priorities and events, and the public profile")
    return len(TOWNS)
