"""Merging duplicate persons into a golden nominal and undoing it, as an intelligence
analyst does from the merge queue: everything the merged person held moves to the
survivor, nothing is lost, an undo puts every row back as it was, and every step is
audited. Bad input (a person into itself, across forces, twice) is refused with stable
codes, over the service, the API and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text

from bluelamp.access.policy import Actor
from bluelamp.clock import Clock, FixedClock
from bluelamp.errors import Conflict, Denied, InvalidInput, NotFound
from bluelamp.records import person_parts
from bluelamp.records.duplicates import merge
from bluelamp.records.model import MergeCandidate
from tests.factories.access import bearer, make_user
from tests.factories.records import make_event, make_link, make_location, make_person, officer

FORCE = "staffordshire"
OTHER = "west-midlands"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def analyst():
    return officer("intelligence_analyst", reason="duplicate review DR-1")


def _person(db, clock, **changes):
    return make_person(db, clock, officer(), **changes)


@pytest.fixture
def pair(db, clock):
    """Two records of one man: the survivor (John Smith) and a later record (Jon Smyth) with
    its own aliases, identifiers, markers, addresses, events and associates."""
    home = make_location(db, clock, officer(), line1="4 Mill Lane", postcode="ST16 2AB")
    flat = make_location(db, clock, officer(), line1="Flat 2, 9 Bridge St", postcode="ST17 4XY")
    survivor = _person(
        db,
        clock,
        identifiers=(person_parts.NewIdentifier("pnc_id", "99/123456A"),),
        addresses=(person_parts.NewAddress(location_id=home.id, from_date=date(2019, 1, 1)),),
        gender=None,
        retention_group="3",
    )
    merged = _person(
        db,
        clock,
        given_names="Jon",
        family_name="Smyth",
        gender="male",
        birth_place="Stoke-on-Trent",
        retention_group="2",
        names=(
            person_parts.OtherName("alias", "Jonny", "Smith"),
            person_parts.OtherName("nickname", "Smithy", ""),
        ),
        identifiers=(person_parts.NewIdentifier("passport", "123456789"),),
        markers=(person_parts.NewMarker("violent", "assaulted an officer on arrest", date(2024, 2, 3)),),
        addresses=(person_parts.NewAddress(location_id=flat.id, from_date=date(2023, 5, 1)),),
    )
    associate = _person(db, clock, given_names="Dean", family_name="Walker", dob_year=1990)
    event = make_event(db, "incident", clock, summary="disturbance at the Swan")
    make_link(db, merged, "suspect", event, clock)
    make_link(db, merged, "associate_of", associate, clock)
    make_link(db, associate, "associate_of", merged, clock)
    make_link(db, survivor, "associate_of", merged, clock)  # the two records linked to each other
    return survivor, merged, associate, event


def snapshot(db, *person_ids: str) -> dict:
    """Every row that hangs off these persons, as plain values (updated_at aside: merging
    and undoing are changes, and say when)."""
    ids = list(person_ids)
    marks = ", ".join(f":p{i}" for i in range(len(ids)))
    params = {f"p{i}": v for i, v in enumerate(ids)}

    def rows(sql: str) -> list[tuple]:
        with db.read() as session:
            return sorted(tuple(r) for r in session.execute(text(sql), params))

    return {
        "persons": rows(
            f"SELECT id, given_names, family_name, dob_year, dob_month, dob_day, gender, birth_place, "
            f"retention_group, review_at, merged_into_id, marking FROM records_person WHERE id IN ({marks})"
        ),
        "names": rows(
            f"SELECT id, person_id, kind, given_names, family_name, given_norm, family_norm, given_key, "
            f"family_key, dob_year FROM records_person_name WHERE person_id IN ({marks})"
        ),
        "identifiers": rows(
            f"SELECT id, person_id, kind, value FROM records_person_identifier WHERE person_id IN ({marks})"
        ),
        "markers": rows(
            f"SELECT id, person_id, kind, reason, from_date FROM records_warning_marker WHERE person_id IN ({marks})"
        ),
        "addresses": rows(
            f"SELECT id, person_id, location_id, kind, from_date FROM records_person_address "
            f"WHERE person_id IN ({marks})"
        ),
        "links": rows(
            f"SELECT id, from_type, from_id, role, to_type, to_id, moved_by_merge_id FROM records_link "
            f"WHERE from_id IN ({marks}) OR to_id IN ({marks})"
        ),
    }


def audit_actions(db, record_id: str) -> list[str]:
    with db.read() as session:
        return [
            r[0]
            for r in session.execute(
                text("SELECT action FROM access_audit WHERE record_id = :r ORDER BY seq"), {"r": record_id}
            )
        ]


def do_merge(db, clock, actor, survivor_id, merged_id, reason="same DOB, same PNC photo, custody record"):
    with db.unit_of_work() as session:
        return merge.merge(session, actor, survivor_id, merged_id, reason, clock)


def do_unmerge(db, clock, actor, merge_id, reason="different fingerprints"):
    with db.unit_of_work() as session:
        return merge.unmerge(session, actor, merge_id, reason, clock)


# ---------------------------------------------------------------- merging


def test_merge_moves_names_identifiers_markers_addresses_and_links_to_the_survivor(db, clock, analyst, pair):
    survivor, merged, associate, event = pair
    before = snapshot(db, survivor.id, merged.id)
    row = do_merge(db, clock, analyst, survivor.id, merged.id)
    after = snapshot(db, survivor.id, merged.id)

    # Every name of the merged person is now the survivor's; its primary name became an alias.
    merged_names = {r[0]: r for r in before["names"] if r[1] == merged.id}
    moved_names = {r[0]: r for r in after["names"] if r[0] in merged_names}
    assert all(r[1] == survivor.id for r in moved_names.values())
    assert sorted((r[2], r[3], r[4]) for r in moved_names.values()) == [
        ("alias", "Jon", "Smyth"),
        ("alias", "Jonny", "Smith"),
        ("nickname", "Smithy", ""),
    ]
    for table in ("identifiers", "markers", "addresses"):
        assert {r[1] for r in after[table]} == {survivor.id}, table
        assert len(after[table]) == len(before[table])
    assert {r[3] for r in after["identifiers"]} == {"99/123456A", "123456789"}
    assert [r[2] for r in after["markers"]] == ["violent"]

    links = {r[0]: r for r in after["links"]}
    moved = {entry["id"] for entry in row.moved["links"]}
    assert len(moved) == 3  # suspect of the event, and both associate links; not the link between the two
    for link_id in moved:
        assert merged.id not in (links[link_id][2], links[link_id][5]) and links[link_id][6] == row.id
    between = [r for r in after["links"] if {r[2], r[5]} == {survivor.id, merged.id}]
    assert len(between) == 1 and between[0][6] is None

    # The merged person stays as a record, pointing at the survivor; lookups resolve to it.
    persons_after = {r[0]: r for r in after["persons"]}
    assert persons_after[merged.id][10] == survivor.id
    assert persons_after[merged.id][1:3] == ("Jon", "Smyth")
    with db.read() as session:
        assert merge.resolve(session, merged.id) == survivor.id
        assert merge.resolve(session, survivor.id) == survivor.id
    assert row.moved["names"] and row.by == analyst.username and row.undone_at is None


def test_the_golden_nominal_fills_its_gaps_and_keeps_the_stricter_retention(db, clock, analyst, pair):
    survivor, merged, _, _ = pair
    do_merge(db, clock, analyst, survivor.id, merged.id)
    with db.read() as session:
        golden = session.get(type(survivor), survivor.id)
        assert golden.gender == "male" and golden.birth_place == "Stoke-on-Trent"  # from the merged record
        assert (golden.given_names, golden.family_name) == ("John", "Smith")  # its own identity stays
        assert golden.retention_group == "2"  # MoPI: kept as long as the stricter record says


def test_a_survivor_without_a_date_of_birth_takes_the_merged_persons(db, clock, analyst):
    undated = _person(db, clock, dob_year=None, dob_month=None, dob_day=None)
    dated = _person(db, clock, given_names="John", family_name="Smith", dob_year=1985, dob_month=3, dob_day=12)
    before = snapshot(db, undated.id, dated.id)
    row = do_merge(db, clock, analyst, undated.id, dated.id)
    with db.read() as session:
        golden = session.get(type(undated), undated.id)
        assert (golden.dob_year, golden.dob_month, golden.dob_day) == (1985, 3, 12)
        years = session.execute(
            text("SELECT DISTINCT dob_year FROM records_person_name WHERE person_id = :p"), {"p": undated.id}
        ).all()
        assert years == [(1985,)]  # the survivor's own name rows carry the year search filters on
    do_unmerge(db, clock, analyst, row.id)
    assert snapshot(db, undated.id, dated.id) == before


def test_unmerge_restores_every_row_exactly(db, clock, analyst, pair):
    survivor, merged, associate, event = pair
    before = snapshot(db, survivor.id, merged.id, associate.id, event.id)
    row = do_merge(db, clock, analyst, survivor.id, merged.id)
    assert snapshot(db, survivor.id, merged.id, associate.id, event.id) != before
    clock.advance(timedelta(hours=2))
    undone = do_unmerge(db, clock, analyst, row.id)
    assert snapshot(db, survivor.id, merged.id, associate.id, event.id) == before
    assert undone.undone_at == clock.now() and undone.undone_by == analyst.username
    with db.read() as session:
        assert merge.resolve(session, merged.id) == merged.id


def test_merge_and_undo_are_audited_with_the_reason(db, clock, analyst, pair):
    survivor, merged, _, _ = pair
    row = do_merge(db, clock, analyst, survivor.id, merged.id, reason="same custody photograph")
    do_unmerge(db, clock, analyst, row.id, reason="twins: different fingerprints")
    with db.read() as session:
        entries = session.execute(
            text(
                "SELECT action, actor, reason, detail FROM access_audit WHERE record_id = :r "
                "AND action LIKE 'person.%merge' ORDER BY seq"
            ),
            {"r": survivor.id},
        ).all()
    assert [(e[0], e[1], e[2]) for e in entries] == [
        ("person.merge", analyst.username, "same custody photograph"),
        ("person.unmerge", analyst.username, "twins: different fingerprints"),
    ]
    detail = entries[0][3] if isinstance(entries[0][3], dict) else json.loads(entries[0][3])
    assert detail["merge_id"] == row.id and detail["merged_id"] == merged.id
    assert detail["moved"]["identifiers"] == 1 and detail["moved"]["markers"] == 1
    assert audit_actions(db, merged.id)[-2:] == ["person.merge", "person.unmerge"]  # on the merged record too


def test_a_chain_of_merges_resolves_to_the_last_survivor_and_unwinds_in_order(db, clock, analyst):
    a = _person(db, clock)
    b = _person(db, clock, given_names="Jon")
    c = _person(db, clock, given_names="Johnny")
    first = do_merge(db, clock, analyst, b.id, c.id)
    second = do_merge(db, clock, analyst, a.id, b.id)
    with db.read() as session:
        assert merge.resolve(session, c.id) == a.id
    with pytest.raises(Conflict) as refused:
        do_unmerge(db, clock, analyst, first.id)  # c's names now live on a, through b's merge
    assert refused.value.code == "merge.survivor_merged"
    do_unmerge(db, clock, analyst, second.id)
    do_unmerge(db, clock, analyst, first.id)
    with db.read() as session:
        assert [merge.resolve(session, p.id) for p in (a, b, c)] == [a.id, b.id, c.id]


# ---------------------------------------------------------------- refusals


def test_merging_a_person_into_itself_is_refused(db, clock, analyst):
    person = _person(db, clock)
    with pytest.raises(InvalidInput) as refused:
        do_merge(db, clock, analyst, person.id, person.id)
    assert refused.value.code == "merge.same_person"


def test_a_merge_needs_a_reason(db, clock, analyst, pair):
    survivor, merged, _, _ = pair
    with pytest.raises(InvalidInput) as refused:
        do_merge(db, clock, analyst, survivor.id, merged.id, reason="  ")
    assert refused.value.code == "merge.reason_required" and refused.value.problems[0].field == "reason"


def test_a_person_already_merged_away_cannot_be_merged_again_either_way(db, clock, analyst, pair):
    survivor, merged, associate, _ = pair
    do_merge(db, clock, analyst, survivor.id, merged.id)
    for args in ((associate.id, merged.id), (merged.id, associate.id)):
        with pytest.raises(Conflict) as refused:
            do_merge(db, clock, analyst, *args)
        assert refused.value.code == "merge.already_merged"
        assert refused.value.extra == {"person_id": merged.id, "merged_into_id": survivor.id}


def test_a_person_of_another_force_answers_like_a_missing_one_and_nothing_moves(db, clock, analyst):
    ours = _person(db, clock)
    theirs = make_person(db, clock, officer(force_id=OTHER), force_id=OTHER)
    before = snapshot(db, ours.id, theirs.id)
    for args in ((ours.id, theirs.id), (theirs.id, ours.id)):
        with pytest.raises(NotFound):
            do_merge(db, clock, analyst, *args)
    with pytest.raises(NotFound):
        do_merge(db, clock, Actor.system(OTHER, "test"), theirs.id, ours.id)
    assert snapshot(db, ours.id, theirs.id) == before


def test_a_higher_marking_does_not_merge_into_a_lower_one(db, clock):
    secret = officer("intelligence_analyst", clearance="SECRET")
    low = _person(db, clock)
    high = make_person(db, clock, officer(clearance="SECRET"), marking="SECRET")
    with pytest.raises(Conflict) as refused:
        do_merge(db, clock, secret, low.id, high.id)
    assert refused.value.code == "merge.marking"
    row = do_merge(db, clock, secret, high.id, low.id)  # the other way round is allowed
    assert row.survivor_id == high.id


def test_someone_without_the_merge_permission_is_denied(db, clock, pair):
    survivor, merged, _, _ = pair
    with pytest.raises(Denied):
        do_merge(db, clock, officer("investigator"), survivor.id, merged.id)


def test_undoing_twice_is_refused(db, clock, analyst, pair):
    survivor, merged, _, _ = pair
    row = do_merge(db, clock, analyst, survivor.id, merged.id)
    do_unmerge(db, clock, analyst, row.id)
    with pytest.raises(Conflict) as refused:
        do_unmerge(db, clock, analyst, row.id)
    assert refused.value.code == "merge.undone"


def test_a_merge_of_another_force_cannot_be_undone_from_here(db, clock, analyst, pair):
    survivor, merged, _, _ = pair
    row = do_merge(db, clock, analyst, survivor.id, merged.id)
    with pytest.raises(NotFound):
        do_unmerge(db, clock, officer("intelligence_analyst", force_id=OTHER), row.id)


# ---------------------------------------------------------------- the candidate queue


def add_candidate(db, clock, left, right, weight, force_id=FORCE) -> MergeCandidate:
    low, high = sorted((left.id, right.id))
    with db.unit_of_work() as session:
        row = MergeCandidate(
            id=clock.new_id(),
            force_id=force_id,
            left_id=low,
            right_id=high,
            match_weight=weight,
            probability=1 / (1 + 2**-weight),
            explanation={"comparisons": {"dob": {"level": "date of birth: same", "gamma": 4, "weight": 13.2}}},
            found_at=clock.now(),
            status="open",
        )
        session.add(row)
    return row


def queue(db, clock, actor, status="open"):
    with db.unit_of_work() as session:
        return merge.candidates(session, actor, clock, status=status)


def test_the_queue_lists_likely_pairs_by_match_weight_within_the_force(db, clock, analyst):
    a, b, c = (_person(db, clock, given_names=n) for n in ("John", "Jon", "Johnny"))
    theirs = [make_person(db, clock, officer(force_id=OTHER), force_id=OTHER) for _ in range(2)]
    weak = add_candidate(db, clock, a, b, 4.5)
    strong = add_candidate(db, clock, b, c, 21.0)
    add_candidate(db, clock, theirs[0], theirs[1], 30.0, force_id=OTHER)
    found = queue(db, clock, analyst)
    assert [f.candidate.id for f in found] == [strong.id, weak.id]
    assert {found[0].left.id, found[0].right.id} == {b.id, c.id}
    theirs_queue = queue(db, clock, officer("intelligence_analyst", force_id=OTHER))
    assert [f.candidate.force_id for f in theirs_queue] == [OTHER]


def test_reading_the_queue_is_audited_with_the_stated_reason(db, clock):
    a, b = _person(db, clock), _person(db, clock, given_names="Jon")
    candidate = add_candidate(db, clock, a, b, 12.0)
    queue(db, clock, officer("intelligence_analyst", reason="weekly duplicate review"))
    queue(db, clock, officer("intelligence_analyst", reason=None))
    with db.read() as session:
        entries = session.execute(
            text("SELECT reason, detail FROM access_audit WHERE action = 'merge_candidate.list' ORDER BY seq")
        ).all()
    assert [e[0] for e in entries] == ["weekly duplicate review", merge.QUEUE_PURPOSE]
    detail = entries[0][1] if isinstance(entries[0][1], dict) else json.loads(entries[0][1])
    assert detail["ids"] == [candidate.id] and detail["count"] == 1


def test_a_hidden_person_keeps_its_pair_out_of_the_queue(db, clock, analyst):
    a = _person(db, clock)
    secret = make_person(db, clock, officer(clearance="SECRET"), marking="SECRET")
    add_candidate(db, clock, a, secret, 25.0)
    assert queue(db, clock, analyst) == []
    assert len(queue(db, clock, officer("intelligence_analyst", clearance="SECRET"))) == 1


def test_rejecting_a_candidate_takes_it_out_of_the_open_queue(db, clock, analyst):
    a, b = _person(db, clock), _person(db, clock, given_names="Jon")
    candidate = add_candidate(db, clock, a, b, 12.0)
    with db.unit_of_work() as session:
        merge.reject_candidate(session, analyst, candidate.id, clock, reason="father and son")
    assert queue(db, clock, analyst) == []
    rejected = queue(db, clock, analyst, status="rejected")
    assert [r.candidate.id for r in rejected] == [candidate.id]
    assert rejected[0].candidate.decided_by == analyst.username
    assert audit_actions(db, candidate.id) == ["merge_candidate.reject"]
    with pytest.raises(Conflict) as refused, db.unit_of_work() as session:
        merge.reject_candidate(session, analyst, candidate.id, clock)
    assert refused.value.code == "merge.candidate_decided"


def test_merging_a_pair_decides_its_candidate_and_undo_reopens_it(db, clock, analyst, pair):
    survivor, merged, _, _ = pair
    candidate = add_candidate(db, clock, survivor, merged, 18.0)
    row = do_merge(db, clock, analyst, survivor.id, merged.id)
    assert [c.candidate.id for c in queue(db, clock, analyst, status="merged")] == [candidate.id]
    assert queue(db, clock, analyst) == []
    do_unmerge(db, clock, analyst, row.id)
    reopened = queue(db, clock, analyst)
    assert [c.candidate.id for c in reopened] == [candidate.id]
    assert reopened[0].candidate.decided_at is None


# ---------------------------------------------------------------- over HTTP


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status
    return body


@pytest.fixture
def api(app, client):
    """The client, with the merges router mounted if the app does not mount it yet."""
    from bluelamp.web.api import merges

    if not any(getattr(r, "path", "") == "/api/v1/merge-candidates" for r in app.routes):
        app.include_router(merges.router)
    return client


@pytest.fixture
def analyst_headers(db):
    return {**bearer(db, make_user(db, "intelligence_analyst")), "X-Bluelamp-Reason": "duplicate review DR-7"}


def test_the_api_merges_lists_rejects_and_undoes(api, db, clock, analyst_headers, pair):
    survivor, merged, associate, _ = pair
    candidate = add_candidate(db, clock, survivor, merged, 18.0)
    other = add_candidate(db, clock, survivor, associate, 6.0)

    listed = api.get("/api/v1/merge-candidates", headers=analyst_headers)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [c["id"] for c in body] == [candidate.id, other.id]
    assert body[0]["explanation"]["comparisons"]["dob"]["level"] == "date of birth: same"
    assert {body[0]["left"]["id"], body[0]["right"]["id"]} == {survivor.id, merged.id}

    rejected = api.post(
        f"/api/v1/merge-candidates/{other.id}/reject", json={"reason": "colleagues"}, headers=analyst_headers
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert_problem(
        api.post(f"/api/v1/merge-candidates/{other.id}/reject", json={}, headers=analyst_headers),
        409,
        "merge.candidate_decided",
    )

    merged_out = api.post(
        f"/api/v1/persons/{survivor.id}/merge",
        json={"other_id": merged.id, "reason": "same PNC photograph"},
        headers=analyst_headers,
    )
    assert merged_out.status_code == 201, merged_out.text
    merge_id = merged_out.json()["id"]
    assert merged_out.json()["survivor_id"] == survivor.id and merged_out.json()["moved"]["identifiers"]
    assert api.get("/api/v1/merge-candidates", headers=analyst_headers).json() == []

    undone = api.post(f"/api/v1/merges/{merge_id}/undo", json={"reason": "twins"}, headers=analyst_headers)
    assert undone.status_code == 200 and undone.json()["undone_at"]
    assert_problem(
        api.post(f"/api/v1/merges/{merge_id}/undo", json={"reason": "again"}, headers=analyst_headers),
        409,
        "merge.undone",
    )


def test_the_api_refuses_bad_merges_with_problem_details(api, db, clock, analyst_headers, pair):
    survivor, merged, _, _ = pair
    theirs = make_person(db, clock, officer(force_id=OTHER), force_id=OTHER)
    url = f"/api/v1/persons/{survivor.id}/merge"
    assert_problem(
        api.post(url, json={"other_id": survivor.id, "reason": "x"}, headers=analyst_headers),
        422,
        "merge.same_person",
    )
    assert_problem(
        api.post(url, json={"other_id": merged.id, "reason": ""}, headers=analyst_headers),
        422,
        "merge.reason_required",
    )
    assert_problem(
        api.post(url, json={"other_id": theirs.id, "reason": "x"}, headers=analyst_headers), 404, "not_found"
    )
    assert api.post(url, json={"other_id": merged.id, "reason": "same man"}, headers=analyst_headers).status_code == 201
    assert_problem(
        api.post(
            f"/api/v1/persons/{theirs.id}/merge", json={"other_id": merged.id, "reason": "x"}, headers=analyst_headers
        ),
        404,
        "not_found",
    )
    assert_problem(
        api.post(url, json={"other_id": merged.id, "reason": "again"}, headers=analyst_headers),
        409,
        "merge.already_merged",
    )
    with db.read() as session:
        refusals = session.execute(
            text("SELECT count(*) FROM access_audit WHERE action = 'person.merge' AND outcome = 'denied'")
        ).scalar_one()
    assert refusals == 2  # the two attempts on another force's person, kept despite the rollback


def test_the_api_denies_roles_without_the_merge_permission(api, db, pair):
    survivor, merged, _, _ = pair
    headers = {**bearer(db, make_user(db, "investigator")), "X-Bluelamp-Reason": "case 12"}
    assert_problem(
        api.post(f"/api/v1/persons/{survivor.id}/merge", json={"other_id": merged.id, "reason": "x"}, headers=headers),
        403,
        "access.denied",
    )
    assert_problem(api.get("/api/v1/merge-candidates", headers=headers), 403, "access.denied")


# ---------------------------------------------------------------- the commands


def test_the_merge_unmerge_and_candidates_commands(settings, monkeypatch, capsys):
    import re

    from bluelamp.cli import main
    from bluelamp.storage import Database
    from tests.test_cli import fresh_migrated_url

    url = fresh_migrated_url(settings)
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["force", "add", FORCE, "Staffordshire Police"]) == 0
    database = Database.from_url(url)
    survivor = make_person(database, actor=officer())
    merged = make_person(database, actor=officer(), given_names="Jon", family_name="Smyth")
    capsys.readouterr()

    assert main(["records", "merge", survivor.id, merged.id, "--reason", "same custody photograph"]) == 0
    out = capsys.readouterr().out
    merge_id = re.search(r"merge ([0-9a-f]{32})", out).group(1)
    assert f"merged {merged.id} into {survivor.id}" in out
    assert main(["records", "merge", survivor.id, merged.id, "--reason", "again"]) == 1
    assert "already merged" in capsys.readouterr().err
    assert main(["records", "merge", survivor.id, survivor.id, "--reason", "x"]) == 1
    assert "itself" in capsys.readouterr().err
    assert main(["records", "candidates"]) == 0
    assert main(["records", "unmerge", merge_id, "--reason", "twins"]) == 0
    assert "separate" in capsys.readouterr().out
    with database.read() as session:
        assert merge.resolve(session, merged.id) == merged.id
    database.dispose()


# ---------------------------------------------------------------- makers for other tests


def make_candidate(db, force_id: str = FORCE) -> str:
    """An open merge candidate of two persons of a force (for the permission matrix); its id."""
    clock = Clock()
    left = make_person(db, clock, officer(force_id=force_id), force_id=force_id)
    right = make_person(db, clock, officer(force_id=force_id), force_id=force_id, given_names="Jon")
    return add_candidate(db, clock, left, right, 15.0, force_id=force_id).id


def make_merge(db, force_id: str = FORCE) -> str:
    """A merge of two persons of a force (for the permission matrix); its id."""
    clock = Clock()
    survivor = make_person(db, clock, officer(force_id=force_id), force_id=force_id)
    merged = make_person(db, clock, officer(force_id=force_id), force_id=force_id, given_names="Jon")
    return do_merge(db, clock, Actor.system(force_id, "test"), survivor.id, merged.id).id
