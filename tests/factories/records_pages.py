"""A person with everything a profile shows, written through the records services:
warning markers (current, expired and one still to start), an alias, identifiers, a
current and a past address, an associate, a vehicle they keep, and events (an incident
from the control room, a crime, a stop and search) at a place."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

from bluelamp.clock import Clock
from bluelamp.records import person_parts
from bluelamp.records.model import Event, Location, Person, RecordObject
from bluelamp.storage import Database
from tests.factories.records import make_event, make_link, make_location, make_object, make_person


@dataclass
class Profiled:
    person: Person
    associate: Person
    vehicle: RecordObject
    home: Location
    old_home: Location
    scene: Location
    incident_event: Event
    crime: Event
    stop: Event
    pnc_id: str


def make_profiled_person(db: Database, clock: Clock | None = None, *, incident_id: str | None = None) -> Profiled:
    """Dean O'NEILL (also known as Deano NEILL), with markers, identifiers, addresses, links and events."""
    clock = clock or Clock()
    today = clock.now().date()
    # Identifiers are unique within a force: a fresh number each time (browser tests share a database).
    pnc_id = f"90/{100000 + secrets.randbelow(900000)}X"
    licence = f"ONEIL907040DN{secrets.randbelow(10)}{secrets.token_hex(1).upper()}"
    home = make_location(db, clock, line1="14 Corporation Street", town="Stafford", postcode="ST16 3AG")
    old_home = make_location(db, clock, line1="2 Mill Bank", town="Stone", postcode="ST15 8AA", lat=52.90, lon=-2.15)
    scene = make_location(db, clock, line1="Gaolgate Street", town="Stafford", postcode="ST16 2BG")
    person = make_person(
        db,
        clock,
        given_names="Dean",
        family_name="O'Neill",
        dob_year=1990,
        dob_month=7,
        dob_day=4,
        birth_place="Wolverhampton",
        gender="male",
        self_defined_ethnicity="W1",
        officer_ethnicity="IC1",
        description={"height_cm": 183, "build": "slim", "marks": "scar above left eye"},
        names=(person_parts.OtherName("alias", "Deano", "Neill"),),
        identifiers=(
            person_parts.NewIdentifier("pnc_id", pnc_id),
            person_parts.NewIdentifier("driving_licence", licence),
        ),
        markers=(
            person_parts.NewMarker("violent", "assaulted door staff with a glass", date(2024, 5, 1)),
            person_parts.NewMarker("weapons", "carried a lock knife when stopped", date(2025, 2, 1)),
            person_parts.NewMarker("drugs", "supplied cannabis (expired)", date(2019, 1, 1), date(2021, 1, 1)),
            person_parts.NewMarker("escape_risk", "planned transfer", date(today.year + 1, 1, 1)),
        ),
        addresses=(
            person_parts.NewAddress(location_id=home.id, kind="home", from_date=date(2022, 6, 1)),
            person_parts.NewAddress(
                location_id=old_home.id, kind="previous", from_date=date(2015, 1, 1), to_date=date(2022, 5, 31)
            ),
        ),
    )
    associate = make_person(
        db, clock, given_names="Kelly", family_name="Marsh", dob_year=1992, dob_month=None, dob_day=None
    )
    vehicle = make_object(db, "vehicle", clock, vrm="KX19 ABC", make="Vauxhall", model="Corsa", colour="blue")
    incident_event = make_event(
        db,
        "incident",
        clock,
        summary="fight outside the Grapes",
        narrative="Two men fighting; one had a glass.",
        occurred_from=datetime(2025, 3, 1, 23, 10, tzinfo=UTC),
        location_id=scene.id,
        incident_id=incident_id,
    )
    crime = make_event(
        db,
        "crime",
        clock,
        summary="wounding with a glass",
        occurred_from=datetime(2025, 3, 1, 23, 15, tzinfo=UTC),
        location_id=scene.id,
    )
    stop = make_event(
        db, "stop_search", clock, summary="stopped in KX19 ABC", occurred_from=datetime(2025, 6, 2, 14, 0, tzinfo=UTC)
    )
    make_link(db, person, "associate_of", associate, clock, from_date=date(2023, 1, 1))
    make_link(db, person, "keeper", vehicle, clock, from_date=date(2024, 1, 10))
    make_link(db, person, "suspect", crime, clock)
    make_link(db, person, "subject_of", incident_event, clock)
    make_link(db, person, "subject_of", stop, clock)
    make_link(db, vehicle, "subject_of", stop, clock)
    make_link(db, associate, "witness", crime, clock)
    return Profiled(person, associate, vehicle, home, old_home, scene, incident_event, crime, stop, pnc_id)
