"""The dedupe job (`bluelamp records dedupe`) on generated persons with known duplicates:
it finds them with high precision and recall, including the kinds a plain Splink setup
misses (nicknames, phonetic variants, swapped names, partial dates of birth), and hand-made
ones its blocking or comparisons once missed (swapped names with a nickname, with a
double-barrelled family name given as forenames or with both names misspelt; a nickname
with a misspelt family name at another address); adds pairs implied through a third
person; explains every pair, keeps to the force, leaves merged and rejected pairs alone on
the next run, and says clearly when the Spark backend cannot run.

Accuracy thresholds: at 3,000 persons (600 of them extra records of someone, each with one
or two corruptions, a quarter at another address) the job finds 96.4-97.7% of the true
pairs with 99.7-100% of its pairs true on seeds 11-14 (93-94% before the blocking rules,
comparisons and implied pairs of issue 6's second round); what it misses is two or three
corruptions at once with a move (no date of birth, another address and a misspelt name).
The test asks for recall ≥ 0.95 and precision ≥ 0.98: a point of margin for seeds, tight
enough that losing a comparison (nicknames, swapped names...) or the implied pairs fails it.
At 1,000,000 persons the prior odds of any pair are 300 times longer, and
bench/bench_records_dedupe.py measures what it reaches there."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bluelamp.access import service as access_service
from bluelamp.access.policy import Actor
from bluelamp.clock import Clock, FixedClock
from bluelamp.errors import ConfigError, InvalidInput
from bluelamp.records import synthetic
from bluelamp.records.duplicates import dedupe, merge, scoring
from bluelamp.storage import Database, migrate
from tests.factories.access import ensure_force

FORCE = "staffordshire"
OTHER = "west-midlands"
COUNT = 3000
SEED = 11
# Corruption kinds a plain setup (first name, surname, date of birth, postcode) misses or scores low.
HARD_KINDS = ("nickname", "phonetic", "swapped_names", "dob_partial", "dob_day_month", "double_barrelled")


def add_force(database: Database, force_id: str) -> None:
    with database.unit_of_work() as session:
        access_service.add_force(
            session, Actor.system(None, "test"), access_service.AddForce(force_id, force_id.title()), Clock()
        )


def run_job(database: Database, force_id: str = FORCE, **options) -> dedupe.DedupeRun:
    with database.unit_of_work() as session:
        return dedupe.find_duplicates(
            session, Actor.system(force_id, "nightly"), Clock(), threshold=options.pop("threshold", 0.9), **options
        )


def candidates(database: Database, force_id: str = FORCE, status: str = "open") -> dict[tuple[str, str], dict]:
    with database.read() as session:
        rows = session.execute(
            text(
                "SELECT left_id, right_id, match_weight, probability, explanation, status FROM records_merge_candidate "
                "WHERE force_id = :f AND status = :s"
            ),
            {"f": force_id, "s": status},
        ).all()
    return {
        (r[0], r[1]): {
            "weight": r[2],
            "probability": r[3],
            "explanation": r[4] if isinstance(r[4], dict) else json.loads(r[4]),
        }
        for r in rows
    }


FIELDS = ("true_id", "given_names", "family_name", "dob_year", "dob_month", "dob_day", "gender", "postcode")


def copy_of(person: synthetic.SyntheticPerson, new_id: str) -> synthetic.SyntheticPerson:
    """The same record under another id."""
    return synthetic.SyntheticPerson(id=new_id, **{name: getattr(person, name) for name in FIELDS})


def person(person_id: str, given: str, family: str, dob: tuple[int, int, int], gender: str, postcode: str):
    return synthetic.SyntheticPerson(person_id, person_id, given, family, *dob, gender, postcode)


# Hand-made duplicates (surnames the generator never draws), each an original and a second
# record of the same person made elsewhere (another postcode): the names and the date of
# birth are all that can tell, and the kind of variant is one the model must credit.
CASES = {
    # JAMES QUENBY held as QUENBY JIM: names swapped, the given name a nickname.
    "swapped, nickname": (
        person("CASE-A1", "James", "Quenby", (1984, 6, 2), "male", "ST16 2DG"),
        person("CASE-A2", "Quenby", "Jim", (1984, 6, 2), "male", "DE14 3BY"),
    ),
    # JOHN PARGETER held as VANE-PARGETER JOHN: a double-barrelled family name gained and
    # given as forenames (first name VANE, middle name PARGETER), the names swapped.
    "swapped, double-barrelled": (
        person("CASE-B1", "John", "Pargeter", (1979, 3, 14), "male", "WS11 4AB"),
        person("CASE-B2", "Vane Pargeter", "John", (1979, 3, 14), "male", "ST5 1AA"),
    ),
    # GEORGE BARNSTAPLE held as BARNSTABLE GOERGE: swapped, both names misspelt.
    "swapped, both misspelt": (
        person("CASE-C1", "George", "Barnstaple", (1990, 11, 23), "male", "ST17 9QT"),
        person("CASE-C2", "Barnstable", "Goerge", (1990, 11, 23), "male", "B77 2HJ"),
    ),
    # WILLIAM TREVASKIS held as BILL TREBASKIS: a nickname (another initial, another phonetic
    # key) and a misspelt family name (another phonetic key): blocking must still pair them.
    "nickname, family name misspelt": (
        person("CASE-D1", "William", "Trevaskis", (1968, 8, 30), "male", "ST4 7JU"),
        person("CASE-D2", "Bill", "Trebaskis", (1968, 8, 30), "male", "WS13 6PX"),
    ),
}


@pytest.fixture(scope="module")
def scored(database_factory):
    """One database with a generated population of each of two forces, deduped once."""
    database = Database.from_url(database_factory.new_url("dedupe"))
    migrate.upgrade(database)
    add_force(database, FORCE)
    add_force(database, OTHER)
    population = synthetic.generate(COUNT, seed=SEED, force_id=FORCE)
    synthetic.load(database, population, clock=Clock())
    # Each second record is made first: it is then the left of the two rows Splink compares.
    made = [record for original, duplicate in CASES.values() for record in (duplicate, original)]
    synthetic.load(database, synthetic.Population(made, {}), force_id=FORCE, clock=Clock())
    # The other force holds copies of some of the same people (ids of its own): never paired with ours.
    theirs = synthetic.generate(400, seed=SEED + 1, force_id=OTHER)
    copies = [copy_of(p, f"W{p.id}") for p in population.persons[:200]]
    synthetic.load(database, synthetic.Population(theirs.persons + copies, {}), force_id=OTHER, clock=Clock())
    run = run_job(database)
    yield database, population, run
    database.dispose()


def test_the_job_finds_the_generators_duplicates_with_high_precision_and_recall(scored):
    database, population, run = scored
    truth = population.duplicate_pairs()
    everything = set(candidates(database))
    generated = {p.id for p in population.persons}
    found = {pair for pair in everything if set(pair) <= generated}
    hits = len(found & truth)
    precision, recall = hits / len(found), hits / len(truth)
    assert run.persons == COUNT + 2 * len(CASES) and run.written == len(everything)
    assert precision >= 0.98, f"precision {precision:.3f}: {len(found) - hits} of {len(found)} pairs wrong"
    assert recall >= 0.95, f"recall {recall:.3f}: {len(truth) - hits} of {len(truth)} true pairs missed"


@pytest.mark.parametrize("case", list(CASES))
def test_hand_made_duplicates_at_another_address_are_found(scored, case):
    database, _, _ = scored
    original, duplicate = CASES[case]
    found = candidates(database)
    pair = (original.id, duplicate.id)
    assert pair in found, f"{case}: not in the queue"
    assert found[pair]["probability"] >= 0.9
    assert {c for c in found if set(c) & set(pair)} == {pair}  # and with nobody else


def test_swapped_names_are_credited_by_the_given_name_alone(scored):
    database, _, _ = scored
    for case in ("swapped, nickname", "swapped, double-barrelled", "swapped, both misspelt"):
        original, duplicate = CASES[case]
        comparisons = candidates(database)[(original.id, duplicate.id)]["explanation"]["comparisons"]
        assert "swapped" in comparisons["given"]["level"], case
        # the family name and middle names stand aside rather than count the swap against the pair
        assert comparisons["family"]["gamma"] == -1 and comparisons["middle"]["gamma"] == -1, case


def test_nicknames_phonetic_variants_swapped_names_and_partial_dates_are_found(scored):
    database, population, _ = scored
    found = set(candidates(database))
    by_id = {p.id: p for p in population.persons}
    seen, hit = Counter(), Counter()
    for pair in population.duplicate_pairs():
        kinds = set(by_id[pair[0]].corruptions) | set(by_id[pair[1]].corruptions)
        if len(kinds) == 1 and (kind := next(iter(kinds))) in HARD_KINDS:  # one corruption, same address
            seen[kind] += 1
            hit[kind] += pair in found
    assert set(seen) == set(HARD_KINDS), seen
    recall = {kind: hit[kind] / seen[kind] for kind in seen}
    assert all(r >= 0.9 for r in recall.values()), recall


def test_every_candidate_explains_its_weight(scored):
    database, _, _ = scored
    for (left, right), row in candidates(database).items():
        assert left < right and row["probability"] >= 0.9
        explanation = row["explanation"]
        assert len(explanation["names"]) == 2 and all(explanation["names"])
        through = explanation.get("through")
        comparisons = explanation["comparisons"]
        if comparisons is None:  # implied through a third person, never compared itself
            assert through and through["own_weight"] is None
            continue
        assert set(comparisons) == {"given", "family", "middle", "dob", "postcode", "gender"}
        for part in comparisons.values():
            assert part["level"] and isinstance(part["gamma"], int) and part["weight"] is not None
        total = explanation["prior_weight"] + sum(
            c["weight"] + (c.get("frequency_adjustment") or 0) for c in comparisons.values()
        )
        # a pair implied through a third person: its comparisons add up to its own weight
        assert total == pytest.approx(through["own_weight"] if through else row["weight"], abs=0.02)


def test_a_pair_implied_through_a_third_person_holds_both_links_and_says_so(scored):
    """Two records of someone, each with its own corruptions, can share too little to score
    well against each other while both score well against a third: the pair joins the queue
    with the probability that both links hold, and its explanation names the third person."""
    database, population, _ = scored
    found = candidates(database)
    implied = {pair: row for pair, row in found.items() if row["explanation"].get("through")}
    assert implied  # seed 11 has some
    truth = population.duplicate_pairs()
    for (left, right), row in implied.items():
        through = row["explanation"]["through"]
        third, (p1, p2) = through["person_id"], through["probabilities"]
        links = [found.get(tuple(sorted((third, other)))) for other in (left, right)]
        assert all(link is not None and link["probability"] >= 0.9 for link in links)
        assert sorted([p1, p2]) == pytest.approx(sorted(link["probability"] for link in links))
        assert row["probability"] == pytest.approx(p1 * p2)
        if through["own_weight"] is None:  # never compared: both links far surer than the threshold
            assert row["probability"] >= 0.99
        else:
            assert row["probability"] >= 0.9 and through["own_weight"] < row["weight"]
    assert sum(pair in truth for pair in implied) >= 0.8 * len(implied)


def test_a_pair_is_implied_only_when_both_links_and_their_product_reach_the_threshold():
    import duckdb

    connection = duckdb.connect()
    connection.execute(
        "CREATE TABLE pairs (left_id VARCHAR, right_id VARCHAR, pair_weight DOUBLE, pair_probability DOUBLE)"
    )
    connection.execute(
        "INSERT INTO pairs VALUES "
        "('A', 'B', 8.0, 0.99), ('A', 'C', 6.0, 0.98), ('B', 'C', 1.0, 0.6), "  # B-C: through A, 0.99 * 0.98
        "('A', 'D', 3.25, 0.905), ('B', 'D', 0.0, 0.5), "  # B-D: 0.99 * 0.905 < 0.9
        "('E', 'F', 6.6, 0.99), ('E', 'G', 6.6, 0.99), "  # F-G never compared: 0.99 * 0.99 is not enough
        "('H', 'J', 10.0, 0.999), ('H', 'K', 9.0, 0.998)"  # J-K never compared, 0.997: implied
    )
    rows = connection.execute(
        f"SELECT left_id, right_id, through_id, round(probability, 4) FROM ({scoring.implied_sql('pairs', 0.9)}) "
        "ORDER BY left_id"
    ).fetchall()
    assert rows == [("B", "C", "A", 0.9702), ("J", "K", "H", 0.997)]


def test_a_swapped_pair_is_explained_as_swapped(scored):
    database, population, _ = scored
    by_id = {p.id: p for p in population.persons}
    levels = [
        row["explanation"]["comparisons"]["given"]["level"]
        for (a, b), row in candidates(database).items()
        if a in by_id and b in by_id and {"swapped_names"} == set(by_id[a].corruptions) | set(by_id[b].corruptions)
    ]
    assert levels and all("swapped" in level for level in levels)


def test_candidates_stay_within_the_force(scored):
    database, population, _ = scored
    ours = {p.id for p in population.persons} | {p.id for pair in CASES.values() for p in pair}
    assert all(a in ours and b in ours for a, b in candidates(database))
    assert candidates(database, OTHER) == {}  # the other force's queue is its own job's


def test_the_other_forces_job_pairs_only_its_own_persons(scored):
    database, population, _ = scored
    run = run_job(database, OTHER)
    theirs = candidates(database, OTHER)
    assert run.persons == 600 and theirs
    assert all(a.startswith(("W", f"SYN{SEED + 1}")) and b.startswith(("W", f"SYN{SEED + 1}")) for a, b in theirs)
    assert len(candidates(database)) > 0  # ours untouched


# ---------------------------------------------------------------- re-runs and decisions


@pytest.fixture
def small(db):
    """A few hundred generated persons in the test database (rolled back after)."""
    ensure_force(db, FORCE)
    population = synthetic.generate(500, seed=5, force_id=FORCE)
    synthetic.load(db, population, clock=Clock())
    return population


def test_a_second_run_replaces_open_candidates_and_never_raises_decided_pairs_again(db, small):
    first = run_job(db)
    found = sorted(candidates(db).items(), key=lambda item: -item[1]["weight"])
    assert first.written == len(found) >= 20
    (rejected_pair, _), (merged_pair, _) = found[0], found[1]
    analyst = Actor.system(FORCE, "analyst")
    clock = FixedClock(datetime(2026, 6, 2, tzinfo=UTC))
    with db.unit_of_work() as session:
        ids = {
            (c.left_id, c.right_id): c.id
            for c in [x.candidate for x in merge.candidates(session, analyst, clock, limit=1000)]
        }
        merge.reject_candidate(session, analyst, ids[rejected_pair], clock, reason="brothers")
        merge.merge(session, analyst, merged_pair[0], merged_pair[1], "same custody photograph", clock)

    second = run_job(db)
    reopened = candidates(db)
    assert rejected_pair not in reopened and merged_pair not in reopened
    assert second.replaced == first.written - 2
    assert second.already_decided == 1  # the rejected pair was found again and left alone
    assert all(merged_pair[1] not in pair for pair in reopened)  # a merged-away person is not compared
    assert candidates(db, status="rejected").keys() == {rejected_pair}
    assert candidates(db, status="merged").keys() == {merged_pair}


def test_a_run_by_someone_of_lower_clearance_leaves_pairs_it_cannot_see_alone(db, small):
    from tests.factories.records import officer

    run_job(db)
    first = candidates(db)
    (hidden_pair, _), *_ = sorted(first.items(), key=lambda item: -item[1]["weight"])
    hidden = hidden_pair[0]
    with db.unit_of_work() as session:
        session.execute(text("UPDATE records_person SET marking = 'SECRET' WHERE id = :p"), {"p": hidden})
    with db.unit_of_work() as session:
        dedupe.find_duplicates(session, officer("intelligence_analyst"), Clock(), threshold=0.9)
    after = candidates(db)
    assert hidden_pair in after  # kept from the earlier run: this run could not see it
    assert {p for p in after if hidden in p} == {p for p in first if hidden in p}  # and found none new


def test_the_job_is_audited_with_its_counts(db, small):
    run = run_job(db)
    with db.read() as session:
        entry = session.execute(
            text("SELECT actor, detail FROM access_audit WHERE action = 'person.dedupe' ORDER BY seq DESC")
        ).first()
    detail = entry[1] if isinstance(entry[1], dict) else json.loads(entry[1])
    assert entry[0] == "nightly"
    assert detail["persons"] == 500 and detail["written"] == run.written and detail["backend"] == "duckdb"


def test_the_spark_backend_without_pyspark_is_a_clear_configuration_error(db, small):
    with pytest.raises(ConfigError) as refused:
        run_job(db, backend="spark", spark_master="spark://spark.example:7077")
    assert refused.value.code == "config.dedupe_spark" and "pyspark" in refused.value.detail
    assert candidates(db) == {}  # nothing written


def test_an_unknown_backend_or_a_threshold_out_of_range_is_refused(db, small):
    with pytest.raises(InvalidInput):
        run_job(db, backend="oracle")
    for threshold in (0, 1, 1.5):
        with pytest.raises(InvalidInput):
            run_job(db, threshold=threshold)


def test_a_force_with_no_persons_runs_and_finds_nothing(db):
    ensure_force(db, FORCE)
    run = run_job(db)
    assert (run.persons, run.pairs, run.written) == (0, 0, 0)


# ---------------------------------------------------------------- the command


def test_the_dedupe_command_fills_the_queue_and_reports(settings, monkeypatch, capsys):
    from bluelamp.cli import main
    from tests.test_cli import fresh_migrated_url

    url = fresh_migrated_url(settings)
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", url)
    database = Database.from_url(url)
    add_force(database, FORCE)
    synthetic.load(database, synthetic.generate(400, seed=3, force_id=FORCE), clock=Clock())
    assert main(["records", "dedupe", "--threshold", "0.95"]) == 0
    out = capsys.readouterr().out
    assert "400 persons" in out and "in the queue" in out
    assert candidates(database) and all(c["probability"] >= 0.95 for c in candidates(database).values())
    monkeypatch.setenv("BLUELAMP_DEDUPE_BACKEND", "spark")
    assert main(["records", "dedupe"]) == 1
    assert "pyspark" in capsys.readouterr().err
    database.dispose()
