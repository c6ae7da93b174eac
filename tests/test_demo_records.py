"""The demo force's records: the story a trainer walks through (a violent man with his car
and phone, the assault he is suspected of, its victim waiting for an update, a late
recorded burglary, intelligence only a source handler can trace), a generated population
whose duplicates fill the merge queue, and old records due for MoPI review. Seeding again
leaves the records alone."""

from __future__ import annotations

from copy import deepcopy
from dataclasses import replace

import pytest

from bluelamp.access.policy import Actor
from bluelamp.clock import Clock
from bluelamp.records import crime, intelligence, mopi, person_reads, search, victims
from bluelamp.records.duplicates import merge
from bluelamp.sim.demo import STAFFORDSHIRE, seed_demo
from bluelamp.sim.demo_records import seed_records


@pytest.fixture(scope="module")
def seeded(database_factory, demo_force_template):
    """One seeded demo database for the module: the demo force as seed_demo left it (a copy
    of the one seeded once per pass), then its records (seeding them runs the dedupe job)."""
    from bluelamp.storage import Database

    database = Database.from_url(database_factory.copy_url(demo_force_template.url, "demo_records"))
    report = deepcopy(demo_force_template.report)
    seed_records(database, Clock(), report)
    yield database, report
    database.dispose()


def reader() -> Actor:
    return replace(Actor.system(STAFFORDSHIRE.id, "trainer"), reason="training: the demo walk-through")


def test_the_story_person_is_found_by_a_misspelt_name_with_his_markers_first(seeded):
    database, _ = seeded
    with database.unit_of_work() as session:
        found = search.find_persons(session, reader(), search.PersonQuery(name="Jason Smith"), Clock())
        top = found.hits[0]
        profile = person_reads.person_profile(session, reader(), top.person_id, Clock())
    assert profile.names[0].family_name == "Smyth"
    assert sorted(m.kind for m in profile.current_markers) == ["violent", "weapons"]
    assert [m.kind for m in profile.past_markers] == ["drugs"]


def test_the_assault_victim_is_overdue_an_update_and_the_burglary_was_recorded_late(seeded):
    database, _ = seeded
    with database.unit_of_work() as session:
        overdue = victims.overdue_updates(session, reader(), officer="investigator", clock=Clock())
        late = crime.list_crimes(session, reader(), late=True)
        everything = crime.list_crimes(session, reader())
    assert [o.officer for o in overdue] == ["investigator"]
    assert [event.summary for event, _ in late] == ["Rear door forced at a terraced house; laptop and jewellery taken"]
    assert len(everything) == 2


def test_the_source_of_the_intelligence_is_kept_for_source_handlers(seeded):
    database, _ = seeded
    with database.unit_of_work() as session:
        (report,) = intelligence.list_intelligence(session, reader())
        source = intelligence.read_source(session, reader(), report.event.id, Clock())
    assert (report.source_evaluation, report.intelligence_assessment, report.handling_code) == ("2", "B", "C")
    assert source.source_reference == "CHIS-ST-0417"


def test_the_merge_queue_and_the_review_queue_have_work_in_them(seeded):
    database, report = seeded
    with database.unit_of_work() as session:
        queue = merge.candidates(session, reader(), Clock(), limit=1000)
        reviews = mopi.review_queue(session, reader(), Clock())
    assert len(queue) >= 100, "about 300 generated duplicates should give the queue real work"
    assert {item.kind for item in reviews} == {"person", "stop_search"}
    assert any("generated persons" in line for line in report.created)


def test_seeding_again_keeps_the_records(seeded):
    database, _ = seeded
    with database.unit_of_work() as session:
        again = seed_demo(session, Clock())
    seed_records(database, Clock(), again)
    assert "records" in again.kept
    with database.unit_of_work() as session:
        assert len(crime.list_crimes(session, reader())) == 2
