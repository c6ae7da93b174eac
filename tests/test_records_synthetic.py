"""The synthetic person generator that tests, benchmarks and the demo rely on: the same seed
gives the same people, every duplicate knows its true identity and carries the corruptions
it says, in the shares asked for; the loader writes persons with searchable names,
locations and addresses."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from bluelamp.clock import FixedClock
from bluelamp.records import names, synthetic
from bluelamp.records.model import Location, Person, PersonAddress, PersonName
from tests.factories.access import ensure_force


@pytest.fixture(scope="module")
def population():
    return synthetic.generate(20_000, seed=11)


def test_the_same_seed_gives_the_same_population():
    first, again = synthetic.generate(3_000, seed=5), synthetic.generate(3_000, seed=5)
    assert first.persons == again.persons
    assert first.persons != synthetic.generate(3_000, seed=6).persons


def test_counts_ids_and_truth(population):
    persons = population.persons
    assert len(persons) == 20_000
    assert len({p.id for p in persons}) == 20_000
    assert population.truth == {p.id: p.true_id for p in persons}
    duplicates = [p for p in persons if p.corruptions]
    identities = {p.true_id for p in persons}
    # 20% of records are extra records of an identity (a few duplicates carry only "moved").
    assert len(identities) == 16_000
    assert 3_500 <= len(duplicates) <= 4_000


def test_every_identity_has_one_clean_original(population):
    originals = Counter(p.true_id for p in population.persons if not p.corruptions)
    assert set(originals) == {p.true_id for p in population.persons}
    assert set(originals.values()) == {1}


def test_duplicates_differ_from_their_original_as_their_corruptions_say(population):
    original = {p.true_id: p for p in population.persons if not p.corruptions}
    checked = Counter()
    for dup in population.persons:
        kinds = set(dup.corruptions)
        if len(kinds - {synthetic.MOVED}) != 1:
            continue
        (kind,) = kinds - {synthetic.MOVED}
        orig = original[dup.true_id]
        if kind == "dob_missing":
            assert (dup.dob_year, dup.dob_month, dup.dob_day) == (None, None, None)
        elif kind == "dob_partial":
            assert dup.dob_year == orig.dob_year and dup.dob_day is None
        elif kind == "dob_day_month":
            assert (dup.dob_day, dup.dob_month) == (orig.dob_month, orig.dob_day)
        elif kind == "swapped_names":
            assert dup.given_names == orig.family_name
            assert dup.family_name == orig.given_names.split()[0]
        elif kind == "nickname":
            first = names.normalise(dup.given_names.split()[0])
            assert first in names.nicknames(orig.given_names)
        elif kind == "maiden_name":
            assert dup.gender == "female" and dup.family_name != orig.family_name
        elif kind == "double_barrelled":
            assert ("-" in dup.family_name or " " in dup.family_name) != (
                "-" in orig.family_name or " " in orig.family_name
            )
        elif kind.startswith("typo"):
            assert (dup.given_names, dup.family_name) != (orig.given_names, orig.family_name)
            assert dup.dob_year == orig.dob_year
        if kind != "swapped_names" and kind.startswith("dob"):
            assert (dup.given_names, dup.family_name) == (orig.given_names, orig.family_name)
        checked[kind] += 1
    assert set(checked) == set(synthetic.CORRUPTIONS)


def test_each_corruption_kind_appears_at_about_its_share(population):
    applied = Counter(k for p in population.persons for k in p.corruptions if k != synthetic.MOVED)
    total_applied = sum(applied.values())
    weight_total = sum(synthetic.CORRUPTIONS.values())
    for kind, weight in synthetic.CORRUPTIONS.items():
        expected = weight / weight_total
        assert abs(applied[kind] / total_applied - expected) < expected * 0.3, kind
    duplicates = [p for p in population.persons if p.corruptions]
    moved = sum(1 for p in duplicates if synthetic.MOVED in p.corruptions)
    assert 0.2 < moved / len(duplicates) < 0.3


def test_requested_shares_are_honoured():
    population = synthetic.generate(5_000, seed=3, corruptions={"nickname": 1.0}, two_corruptions_share=0)
    kinds = Counter(k for p in population.persons for k in p.corruptions if k != synthetic.MOVED)
    assert set(kinds) == {"nickname"}
    assert kinds["nickname"] == 1_000


def test_names_follow_realistic_frequencies(population):
    families = Counter(p.family_name for p in population.persons if not p.corruptions)
    top = [name for name, _ in families.most_common(3)]
    assert top[0] == "Smith" and "Jones" in top
    assert 0.008 < families["Smith"] / 16_000 < 0.025  # Smith: about 1.3% of people in England and Wales
    assert len(families) > 1_000  # a long tail of rarer names
    assert all(p.gender in ("male", "female") for p in population.persons)
    assert all(p.postcode and p.postcode.split()[0] in synthetic.TOWNS for p in population.persons)


def test_unknown_corruptions_and_bad_counts_are_refused():
    with pytest.raises(ValueError, match="unknown corruption"):
        synthetic.generate(10, corruptions={"teleported": 1.0})
    with pytest.raises(ValueError):
        synthetic.generate(0)


def test_a_variant_is_a_fresh_corrupted_record_of_the_same_person(population):
    import random

    person = next(p for p in population.persons if not p.corruptions and p.gender == "female")
    variant = synthetic.variant(person, random.Random(1), ("maiden_name",))
    assert variant.true_id == person.true_id and variant.corruptions == ("maiden_name",)
    assert variant.family_name != person.family_name and variant.given_names == person.given_names


def test_the_loader_writes_persons_names_locations_and_addresses(db):
    ensure_force(db)
    population = synthetic.generate(2_000, seed=21)
    progress = []
    written = synthetic.load(
        db, population, clock=FixedClock(), batch=700, progress=lambda done, total: progress.append((done, total))
    )
    assert written == 2_000
    assert progress == [(700, 2_000), (1_400, 2_000), (2_000, 2_000)]
    double = sum(1 for p in population.persons if len(names.part_keys(p.given_names, p.family_name)) > 0)
    part_rows = sum(len(names.part_keys(p.given_names, p.family_name)) for p in population.persons)
    postcodes = {p.postcode for p in population.persons}
    ids = [p.id for p in population.persons]
    with db.read() as session:
        count = session.scalar(select(func.count()).select_from(Person).where(Person.id.in_(ids)))
        name_rows = session.scalar(select(func.count()).select_from(PersonName).where(PersonName.person_id.in_(ids)))
        primary = session.scalar(
            select(func.count())
            .select_from(PersonName)
            .where(PersonName.person_id.in_(ids), PersonName.kind == "primary")
        )
        addresses = session.scalar(
            select(func.count()).select_from(PersonAddress).where(PersonAddress.person_id.in_(ids))
        )
        locations = session.scalar(
            select(func.count(func.distinct(Location.postcode))).where(Location.postcode.in_(postcodes))
        )
        sample = population.persons[0]
        row = session.scalars(
            select(PersonName).where(PersonName.person_id == sample.id, PersonName.kind == "primary")
        ).one()
        person = session.get(Person, sample.id)
    assert count == 2_000 and primary == 2_000
    assert double > 0 and name_rows == 2_000 + part_rows
    assert addresses == 2_000
    assert locations == len(postcodes)
    keys = names.keys(sample.given_names, sample.family_name)
    assert (row.given_key, row.family_key, row.family_norm, row.dob_year) == (
        keys.given_key,
        keys.family_key,
        keys.family_norm,
        sample.dob_year,
    )
    assert (person.force_id, person.gender, person.review_at is not None) == ("staffordshire", sample.gender, True)


def test_a_second_load_reuses_the_locations_of_the_same_postcodes(db):
    ensure_force(db)
    clock = FixedClock()
    first = synthetic.generate(300, seed=31)
    synthetic.load(db, first, clock=clock)
    more = [p._replace(id=p.id + "b") for p in first.persons[:50]]
    synthetic.load(db, synthetic.Population(more, {p.id: p.true_id for p in more}), clock=clock)
    with db.read() as session:
        for postcode in {p.postcode for p in more}:
            assert session.scalar(select(func.count()).select_from(Location).where(Location.postcode == postcode)) == 1
        addresses = session.scalar(
            select(func.count()).select_from(PersonAddress).where(PersonAddress.person_id.in_([p.id for p in more]))
        )
    assert addresses == 50


# ---------------------------------------------------------------- bluelamp records generate


@pytest.fixture
def cli_db(settings, monkeypatch):
    """A fresh migrated database the CLI commits to, with one force."""
    from bluelamp.cli import main
    from bluelamp.storage import Database
    from tests.test_cli import fresh_migrated_url

    url = fresh_migrated_url(settings)
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", url)
    assert main(["force", "add", "staffordshire", "Staffordshire Police"]) == 0
    database = Database.from_url(url)
    yield database
    database.dispose()


def test_the_generate_command_loads_persons_and_audits_it(cli_db, capsys):
    from bluelamp.access.model import AuditEntry
    from bluelamp.cli import main

    capsys.readouterr()
    assert main(["records", "generate", "--count", "1500", "--seed", "4", "--batch", "1000"]) == 0
    out = capsys.readouterr().out
    assert "wrote 1,500 synthetic persons (300 duplicates) to force staffordshire" in out
    with cli_db.read() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 1_500
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
    assert entry.action == "records.synthetic_generated"
    assert '"count": 1500' in entry.detail


def test_the_generate_command_refuses_bad_input_and_writes_nothing(cli_db, capsys):
    from bluelamp.cli import main

    for args in (["--count", "0"], ["--count", "10", "--duplicate-share", "1.5"], ["--count", "10", "--force", "nope"]):
        capsys.readouterr()
        assert main(["records", "generate", *args]) == 1
        assert capsys.readouterr().err.startswith("error: ")
    with cli_db.read() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 0
