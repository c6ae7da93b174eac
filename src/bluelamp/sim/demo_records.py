"""The demo force's records: a few people, places, vehicles, crimes and intelligence that
tell a story an officer recognises, and a generated population with known duplicates so
that search, the merge queue and the review queue have something real to work on.

Seeded once (a force that already has persons is left alone), through the same services
users call, so every record is validated and the seeding is in the force's audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bluelamp.access.policy import Actor
from bluelamp.clock import Clock

if TYPE_CHECKING:
    from bluelamp.sim.demo import SeedReport
    from bluelamp.storage import Database

# Generated persons besides the story: enough for search and dedupe to mean something,
# few enough that `make demo` stays quick.
POPULATION = 3_000
POPULATION_SEED = 11


@dataclass
class PastClock(Clock):
    """A clock running ``behind`` another: the demo's older records are written as they
    would have been on the day (a crime reported three weeks ago was recorded then, so
    its clocks read true today)."""

    base: Clock
    behind: timedelta

    def now(self) -> datetime:
        return self.base.now() - self.behind

    def new_id(self) -> str:
        return self.base.new_id()


def _actor(force_id: str) -> Actor:
    """The platform acting in the force, so its audit log shows the seeding."""
    return Actor.system(force_id, "demo")


def seed_records(database: Database, clock: Clock, report: SeedReport, force_id: str = "staffordshire") -> None:
    """The story records and the generated population, unless the force has persons."""
    from bluelamp.records import queries

    with database.unit_of_work() as session:
        if queries.force_has_persons(session, force_id):
            report.kept.append("records")
            return
    with database.unit_of_work() as session:
        story = _seed_story(session, _actor(force_id), clock)
    report.created.append(story)
    from bluelamp.records import synthetic

    population = synthetic.generate(POPULATION, seed=POPULATION_SEED, duplicate_share=0.1, force_id=force_id)
    written = synthetic.load(database, population, force_id=force_id, clock=clock, created_by="demo")
    report.created.append(f"{written:,} generated persons (about 10% recorded twice, for the merge queue)")
    with database.unit_of_work() as session:
        from bluelamp.records.duplicates import dedupe

        run = dedupe.find_duplicates(session, _actor(force_id), clock, threshold=0.9)
    report.created.append(f"{run.written:,} likely duplicate pairs in the merge queue")
    with database.unit_of_work() as session:
        from bluelamp.records import mopi

        due = mopi.review_due(session, clock, force_id=force_id)
    if due:
        report.created.append(f"{due} records due for MoPI review")


def _seed_story(session, actor: Actor, clock: Clock) -> str:
    """Jason Smyth, known for violence, his car and phone, his associate, the assault at
    Hanley bus station with its victims, and intelligence about where he deals."""
    from bluelamp.records import crime, intelligence, persons, pole, victims
    from bluelamp.records.person_parts import NewAddress, NewIdentifier, NewMarker, OtherName
    from bluelamp.records.persons import NewPerson
    from bluelamp.records.pole import NewLocation, NewObject

    three_weeks = PastClock(clock, timedelta(days=21))
    hanley = pole.add_location(
        session,
        actor,
        NewLocation(
            line1="Hanley Bus Station",
            line2="Lichfield Street",
            town="Stoke-on-Trent",
            postcode="ST1 3DW",
            lat=53.0227,
            lon=-2.1744,
        ),
        clock,
    )
    home = NewLocation(line1="14 Wellesley Street", town="Stoke-on-Trent", postcode="ST1 4NS", lat=53.0189, lon=-2.1829)
    flat = NewLocation(
        line1="Flat 3, 52 Marsh Street", town="Stoke-on-Trent", postcode="ST1 5HN", lat=53.0262, lon=-2.1787
    )
    saved = persons.add_person(
        session,
        actor,
        NewPerson(
            given_names="Jason Lee",
            family_name="Smyth",
            dob_year=1991,
            dob_month=4,
            dob_day=12,
            birth_place="Stoke-on-Trent",
            gender="male",
            self_defined_ethnicity="W1",
            officer_ethnicity="IC1",
            description={"height_cm": 180, "build": "stocky", "marks": "tattoo of a swallow on the left hand"},
            names=(OtherName("nickname", "Jay", "Smyth"), OtherName("alias", "Jason", "Smith")),
            identifiers=(NewIdentifier("pnc_id", "2009/0123456A"),),
            markers=(
                NewMarker("violent", "Assaulted an officer during arrest, 2023", date(2023, 6, 2)),
                NewMarker("weapons", "Found carrying a lock knife, 2024", date(2024, 2, 17)),
                NewMarker("drugs", "Possession with intent (cannabis), 2019", date(2019, 8, 1), date(2022, 8, 1)),
            ),
            addresses=(
                NewAddress(location=home, from_date=date(2022, 3, 1)),
                NewAddress(location=flat, kind="previous", from_date=date(2018, 1, 1), to_date=date(2022, 2, 28)),
            ),
            check_duplicates=False,
        ),
        clock,
    )
    jason, jason_home = saved.person, saved.addresses[0][1]
    kerry = persons.add_person(
        session,
        actor,
        NewPerson(
            given_names="Kerry",
            family_name="Bourne",
            dob_year=1993,
            gender="female",
            addresses=(NewAddress(location_id=jason_home.id),),
            check_duplicates=False,
        ),
        clock,
    ).person
    victim = persons.add_person(
        session,
        actor,
        NewPerson(
            given_names="Amy",
            family_name="Walsh",
            dob_year=1999,
            dob_month=11,
            dob_day=3,
            gender="female",
            check_duplicates=False,
        ),
        clock,
    ).person
    witness = persons.add_person(
        session,
        actor,
        NewPerson(
            given_names="Mohammed",
            family_name="Iqbal",
            dob_year=1976,
            dob_month=2,
            dob_day=20,
            gender="male",
            check_duplicates=False,
        ),
        clock,
    ).person
    car = pole.add_object(
        session, actor, NewObject("vehicle", vrm="YX19 KTD", make="Ford", model="Focus", colour="Grey"), clock
    )
    phone = pole.add_object(session, actor, NewObject("phone", phone_number="07700 900461"), clock)
    pole.link(session, actor, jason, "keeper", car, clock, from_date=date(2024, 5, 1))
    pole.link(session, actor, jason, "owner", phone, clock)
    pole.link(session, actor, kerry, "associate_of", jason, clock)
    # The assault: reported three weeks ago, recorded within the hour, a victim whose
    # update is overdue (the officer in charge has not been back in touch).
    reported = three_weeks.now()
    assault = crime.record_crime(
        session,
        actor,
        crime.NewCrime(
            source="direct",
            offence_code="8N",
            summary="Man punched a woman at Hanley bus station after an argument over a phone",
            narrative="Victim waiting at stand J. Suspect, known to her as 'Jay', punched her twice in the face "
            "and took her phone. Witness, a bus driver, saw it from his cab. CCTV requested from the bus station.",
            reported_at=reported - timedelta(minutes=40),
            occurred_from=reported - timedelta(minutes=55),
            officer_in_charge="investigator",
            location_id=hanley.id,
        ),
        three_weeks,
    ).event
    victims.add_victim(session, actor, assault.id, victim.id, three_weeks, contact_preference="phone")
    pole.link(session, actor, jason, "suspect", assault, clock)
    pole.link(session, actor, witness, "witness", assault, clock)
    # A burglary reported yesterday and recorded only now: an NCRS late recording.
    burglary = crime.record_crime(
        session,
        actor,
        crime.NewCrime(
            source="direct",
            offence_code="28E",
            summary="Rear door forced at a terraced house; laptop and jewellery taken",
            reported_at=clock.now() - timedelta(hours=30),
            occurred_from=clock.now() - timedelta(hours=40),
            occurred_to=clock.now() - timedelta(hours=32),
        ),
        clock,
    ).event
    pole.link(session, actor, car, "seen_at", hanley, clock, note="seen by the bus station's CCTV")
    pole.link(session, actor, car, "seen_at", burglary, clock, note="seen in the street the night before")
    intelligence.create_intelligence(
        session,
        actor,
        intelligence.NewIntelligence(
            summary="Jay Smyth dealing cannabis from a grey Focus near Hanley bus station, evenings",
            sanitised_text="A male known as Jay is dealing cannabis from a grey Ford Focus (YX19 KTD) near Hanley "
            "bus station between 18:00 and 21:00 most evenings.",
            source_evaluation="2",
            intelligence_assessment="B",
            handling_code="C",
            handling_conditions="Do not disclose outside Staffordshire Police without the source handler's consent.",
            source_reference="CHIS-ST-0417",
            source_details="Covert source, regular buyer; reporting direct from observation on three occasions.",
            subjects=(("person", jason.id), ("object", car.id), ("location", hanley.id)),
        ),
        clock,
    )
    # A stop and search seven years ago that found nothing: past its MoPI review date.
    seven_years = PastClock(clock, timedelta(days=7 * 365 + 30))
    searched = persons.add_person(
        session,
        actor,
        NewPerson(
            given_names="Darren",
            family_name="Cole",
            dob_year=1998,
            gender="male",
            retention_group="4",
            check_duplicates=False,
        ),
        seven_years,
    ).person
    stop = pole.add_event(
        session,
        actor,
        pole.NewEvent(
            kind="stop_search",
            summary="Searched for drugs outside the Potteries Centre; nothing found",
            retention_group="4",
            occurred_from=seven_years.now() - timedelta(minutes=20),
            location_id=hanley.id,
        ),
        seven_years,
    )
    pole.link(session, actor, searched, "subject_of", stop, seven_years)
    return (
        "the demo story: 5 persons, a car, a phone, 2 crimes with a victim and a witness,"
        " an intelligence report, an old stop and search"
    )
