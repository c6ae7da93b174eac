"""The link chart's data: a record's associations to depth 2 with only what the viewer may
see, the node cap, and the GraphML and CSV exports an analyst opens in other tools."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bluelamp.access.model import AuditEntry
from bluelamp.clock import FixedClock
from bluelamp.errors import Denied, InvalidInput, NotFound
from bluelamp.records import graph, person_parts
from bluelamp.records.person_parts import NewAddress
from tests.factories.access import ensure_force
from tests.factories.records import make_event, make_link, make_location, make_object, make_person, officer

NOW = datetime(2026, 1, 8, 9, 0, tzinfo=UTC)
G = "{http://graphml.graphdrawing.org/xmlns}"


@pytest.fixture
def clock():
    return FixedClock(NOW)


@pytest.fixture(autouse=True)
def forces(db):
    ensure_force(db, "staffordshire")
    ensure_force(db, "west-yorkshire")


@pytest.fixture
def network(db, clock):
    """Alan (the root) lives at Mill Street, where Beth lives too; Alan keeps a car seen on
    the A34, where Beth was also seen; Alan is a suspect in a burglary and the subject of an
    intelligence report; Beth is an associate of Carl (three links from Alan); Alan is an
    associate of a SECRET nominal."""
    alan = make_person(db, clock, given_names="Alan", family_name="Able", dob_year=1980, dob_month=None, dob_day=None)
    beth = make_person(db, clock, given_names="Beth", family_name="Baker", dob_year=1982)
    carl = make_person(db, clock, given_names="Carl", family_name="Cole")
    secret = make_person(db, clock, actor=officer(clearance="SECRET"), given_names="Sam", marking="SECRET")
    mill = make_location(db, clock, line1="4 Mill Street", postcode="ST15 8BA")
    a34 = make_location(db, clock, line1="A34 layby", postcode="")
    car = make_object(db, "vehicle", clock, vrm="AB12CDE")
    burglary = make_event(db, "crime", clock, summary="burglary at the pharmacy")
    report = make_event(db, "intelligence", clock, summary="Alan dealing from the car")
    with db.unit_of_work() as session:
        for person in (alan, beth):
            person_parts.add_address(
                session, officer(), person.id, NewAddress(location_id=mill.id, from_date=date(2020, 1, 1)), clock
            )
    make_link(db, alan, "keeper", car, clock)
    make_link(db, car, "seen_at", a34, clock)
    make_link(db, beth, "seen_at", a34, clock)
    make_link(db, alan, "suspect", burglary, clock)
    make_link(db, alan, "subject_of", report, clock)
    make_link(db, beth, "associate_of", carl, clock)
    make_link(db, alan, "associate_of", secret, clock)
    return {
        "alan": alan, "beth": beth, "carl": carl, "secret": secret, "mill": mill, "a34": a34, "car": car,
        "burglary": burglary, "report": report,
    }  # fmt: skip


def chart(db, clock, root, actor=None, **kwargs):
    with db.unit_of_work() as session:
        return graph.associations(session, actor or officer(), "person", root.id, clock=clock, **kwargs)


def keys(found) -> dict[str, int]:
    return {n.key: n.depth for n in found.nodes}


def test_associations_reach_two_links_deep_and_no_further(db, clock, network):
    n = network
    found = chart(db, clock, n["alan"])
    assert keys(found) == {
        f"person:{n['alan'].id}": 0,
        f"location:{n['mill'].id}": 1,
        f"object:{n['car'].id}": 1,
        f"event:{n['burglary'].id}": 1,
        f"event:{n['report'].id}": 1,
        f"person:{n['beth'].id}": 2,
        f"location:{n['a34'].id}": 2,
    }
    edges = {(e.source.split(":")[1], e.role, e.target.split(":")[1], e.via) for e in found.edges}
    assert (n["alan"].id, "resides_at", n["mill"].id, "address") in edges
    assert (n["beth"].id, "resides_at", n["mill"].id, "address") in edges
    # Two records at depth 2 are joined too (Beth was seen where the car was).
    assert (n["beth"].id, "seen_at", n["a34"].id, "link") in edges
    assert len(found.edges) == 7 and not found.truncated


def test_one_link_deep(db, clock, network):
    found = chart(db, clock, network["alan"], depth=1)
    assert {d for d in keys(found).values()} == {0, 1}
    with pytest.raises(InvalidInput):
        chart(db, clock, network["alan"], depth=3)


def test_what_the_viewer_may_not_see_is_simply_absent(db, clock, network):
    n = network
    officer_view = keys(chart(db, clock, n["alan"], officer("response_officer")))
    assert f"person:{n['secret'].id}" not in officer_view
    assert f"event:{n['report'].id}" not in officer_view  # intelligence without intelligence.read
    assert f"event:{n['burglary'].id}" in officer_view
    handler_view = keys(chart(db, clock, n["alan"], officer("call_handler")))
    assert f"event:{n['burglary'].id}" not in handler_view  # a crime without crime.read
    cleared = keys(chart(db, clock, n["alan"], officer("investigator", clearance="SECRET")))
    assert f"person:{n['secret'].id}" in cleared


def test_a_root_the_viewer_may_not_see_answers_like_a_missing_one(db, clock, network):
    theirs = make_person(db, clock, force_id="west-yorkshire", actor=officer(force_id="west-yorkshire"))
    for record_id in (theirs.id, network["secret"].id, "0" * 32):
        with db.unit_of_work() as session, pytest.raises(NotFound) as missing:
            graph.associations(session, officer(), "person", record_id, clock=clock)
        assert missing.value.detail == f"no person {record_id!r}"
    with db.unit_of_work() as session, pytest.raises(NotFound) as unknown:
        graph.associations(session, officer(), "planet", "x", clock=clock)
    assert unknown.value.code == "record.unknown_type"


def test_the_chart_asks_for_a_reason_and_audits_the_persons_it_showed(db, clock, network):
    n = network
    with db.unit_of_work() as session, pytest.raises(Denied):
        graph.associations(session, officer(reason=None), "person", n["alan"].id, clock=clock)
    chart(db, clock, n["alan"], officer(reason="op TRIDENT network"), export="graphml")
    with db.read() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "graph.export")).one()
    assert entry.reason == "op TRIDENT network" and entry.record_id == n["alan"].id
    assert n["beth"].id in entry.detail and '"format": "graphml"' in entry.detail


def test_the_chart_stops_at_its_node_limit_and_says_so(db, clock, network):
    found = chart(db, clock, network["alan"], max_nodes=3)
    assert len(found.nodes) == 3 and found.truncated
    assert all(e.source in keys(found) and e.target in keys(found) for e in found.edges)


def test_graphml_export_is_well_formed_with_labels_types_and_roles(db, clock, network):
    found = chart(db, clock, network["alan"])
    root = ET.fromstring(graph.to_graphml(found))
    assert root.tag == f"{G}graphml"
    declared = {k.get("id"): k.get("for") for k in root.findall(f"{G}key")}
    body = root.find(f"{G}graph")
    assert body.get("edgedefault") == "directed"
    node_ids = [node.get("id") for node in body.findall(f"{G}node")]
    assert len(node_ids) == len(set(node_ids)) == len(found.nodes)
    for element, kind in [(e, "node") for e in body.findall(f"{G}node")] + [
        (e, "edge") for e in body.findall(f"{G}edge")
    ]:
        for data in element.findall(f"{G}data"):
            assert declared[data.get("key")] == kind
    labels = {
        node.get("id"): {d.get("key"): d.text for d in node.findall(f"{G}data")} for node in body.findall(f"{G}node")
    }
    alan = labels[f"person:{network['alan'].id}"]
    assert alan == {
        "n_label": "ABLE, Alan (1980)",
        "n_type": "person",
        "n_kind": "person",
        "n_depth": "0",
        "n_marking": "OFFICIAL",
    }
    edges = body.findall(f"{G}edge")
    assert all(e.get("source") in node_ids and e.get("target") in node_ids for e in edges)
    roles = sorted(d.text for e in edges for d in e.findall(f"{G}data") if d.get("key") == "e_role")
    assert roles == sorted(e.role for e in found.edges) and "keeper" in roles


def test_csv_export_lists_every_edge_and_is_safe_to_open_in_a_spreadsheet(db, clock, network):
    mischief = make_person(db, clock, given_names="x", family_name='=HYPERLINK("http://evil","click")')
    make_link(db, network["alan"], "associate_of", mischief, clock)
    found = chart(db, clock, network["alan"])
    rows = list(csv.DictReader(io.StringIO(graph.to_csv(found))))
    assert len(rows) == len(found.edges)
    assert list(rows[0]) == list(graph.CSV_COLUMNS)
    keeper = next(r for r in rows if r["role"] == "keeper")
    assert (keeper["source_label"], keeper["target_label"]) == ("ABLE, Alan (1980)", "AB12CDE silver Ford Focus")
    evil = next(r for r in rows if r["target_id"] == mischief.id)
    assert evil["target_label"].startswith("'=HYPERLINK")
