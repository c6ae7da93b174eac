"""Importing data.police.uk archives: the real months shipped with Bluelamp land whole and
exactly, the vocabulary of older years is mapped to today's, bad rows are reported and the
good ones kept, bad files are refused with one-line errors, and a month is only ever
replaced whole (re-import never duplicates; a crash leaves the month as it was)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import multiprocessing
import re
import zipfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text

from bluelamp.access.model import AuditEntry, Force
from bluelamp.access.policy import Actor, Role
from bluelamp.cli import main
from bluelamp.clock import FixedClock
from bluelamp.errors import Conflict, Denied, InvalidInput
from bluelamp.opendata import importer, vocabulary
from bluelamp.opendata.importer import DATA, SHIPPED, import_paths
from bluelamp.opendata.model import Month, Outcome, Point, Stop, StreetCrime, persistent_key
from bluelamp.records.classification import POLICE_UK_CATEGORIES
from bluelamp.storage import Database, migrate
from tests.conftest import BACKEND

EXCERPT = DATA / "excerpts" / "2016-11-staffordshire-street.csv"
SYSTEM = Actor.system(None, "test-import", via="cli")
STREET_HEADER = ",".join(vocabulary.STREET_COLUMNS)
STOP_HEADER = ",".join(vocabulary.STOP_COLUMNS)
OUTCOME_HEADER = ",".join(vocabulary.OUTCOME_COLUMNS)
WY = "West Yorkshire Police"


# ---------------------------------------------------------------- the real months, imported once


@pytest.fixture(scope="module")
def archive(database_factory):
    """A database of its own with the shipped months and the Staffordshire excerpt imported."""
    url = database_factory.new_url("opendata_import")
    database = Database.from_url(url)
    migrate.upgrade(database)
    report = import_paths(database, SYSTEM, [*SHIPPED, EXCERPT], FixedClock())
    yield database, report, url
    database.dispose()


def count(session, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    return session.scalar(query)


def test_the_real_months_import_with_every_row(archive):
    database, report, _ = archive
    assert not report.refused and report.rejected == 0
    with database.read() as session:
        assert count(session, StreetCrime, force_id="west-yorkshire", month=201607) == 27_176
        assert count(session, StreetCrime, force_id="west-yorkshire", month=201707) == 28_537
        assert count(session, Stop, force_id="staffordshire", month=201611) == 301
        assert count(session, StreetCrime, force_id="staffordshire", month=201611) == 74
        months = {(m.force_id, m.month, m.kind): m for m in session.scalars(select(Month))}
    assert set(months) == {
        ("west-yorkshire", 201607, "street"),
        ("west-yorkshire", 201707, "street"),
        ("staffordshire", 201611, "stop-and-search"),
        ("staffordshire", 201611, "street"),
    }
    july = months[("west-yorkshire", 201607, "street")]
    assert (july.rows, july.rejected, july.origin, july.loaded_by) == (27_176, 0, "import", "test-import")
    assert july.source == "2016-07-west-yorkshire-street.csv.gz"
    # The digest is of the CSV inside the gzip: the one SOURCE.md gives for the original file.
    assert july.sha256 == "dc96429481805915d9e660e0c313eabc0e5d05d6cfb9e873f33ceb4c50eabf1c"
    stops = months[("staffordshire", 201611, "stop-and-search")]
    assert stops.sha256 == "cac4f839153d727b7fb97b562e2803120101d88fad13163697f7e61744adf17e"


def test_missing_forces_are_created_with_their_names(archive):
    database, report, _ = archive
    assert sorted(report.forces_created) == ["staffordshire", "west-yorkshire"]
    with database.read() as session:
        assert session.get(Force, "west-yorkshire").name == WY
        assert session.get(Force, "staffordshire").name == "Staffordshire Police"


def test_categories_per_month_are_the_files(archive):
    database, _, _ = archive
    with database.read() as session:
        rows = session.execute(
            select(StreetCrime.month, StreetCrime.category, func.count())
            .where(StreetCrime.force_id == "west-yorkshire")
            .group_by(StreetCrime.month, StreetCrime.category)
        ).all()
    by_month = {201607: {}, 201707: {}}
    for month, category, n in rows:
        by_month[month][category] = n
    assert by_month[201607] == {
        "anti-social-behaviour": 7429,
        "violent-crime": 6000,
        "criminal-damage-arson": 2683,
        "other-theft": 2262,
        "burglary": 2131,
        "vehicle-crime": 1990,
        "public-order": 1440,
        "shoplifting": 1388,
        "other-crime": 467,
        "drugs": 448,
        "theft-from-the-person": 370,
        "bicycle-theft": 254,
        "robbery": 189,
        "possession-of-weapons": 125,
    }
    assert by_month[201707]["violent-crime"] == 7503
    assert by_month[201707]["anti-social-behaviour"] == 5955
    assert sum(by_month[201707].values()) == 28_537


def test_known_rows_are_in_the_tables_exactly(archive):
    database, _, _ = archive
    with database.read() as session:
        crime = session.scalars(
            select(StreetCrime).where(
                StreetCrime.persistent_id == "2819b71ae64ca21c8d3d977ad3666146328912229399b816b91832cd9cd66cef"
            )
        ).one()
        point = session.get(Point, crime.location_id)
        penalty = session.scalars(
            select(StreetCrime).where(
                StreetCrime.persistent_id == "ffd10108a94ff2ec460cedfb77626b652d8850e31c8618a3763117a1d5ac7418"
            )
        ).one()
    assert (crime.force_id, crime.month, crime.category) == ("west-yorkshire", 201607, "other-crime")
    assert (crime.lat, crime.lon) == (53.725685, -1.884552)
    assert crime.street_name == "On or near Ramsgate Street"
    assert (crime.lsoa_code, crime.lsoa_name) == ("E01010964", "Calderdale 012B")
    assert crime.outcome_category == "Status update unavailable"
    assert (crime.reported_by, crime.falls_within) == (WY, WY)
    assert (crime.location_type, crime.location_subtype, crime.context, crime.origin) == ("Force", "", "", "import")
    assert (point.lat, point.lon, point.street_name, point.origin) == (
        53.725685,
        -1.884552,
        crime.street_name,
        "import",
    )
    assert point.force_id == "west-yorkshire"
    # Outcome names are kept as published (the API serves display names), even the odd wording.
    assert penalty.outcome_category == "Offender given penalty notice"
    assert penalty.category == "other-theft" and penalty.street_name == "On or near Walpole Road"


def test_anti_social_behaviour_has_no_persistent_id_or_outcome(archive):
    database, _, _ = archive
    with database.read() as session:
        asb = session.execute(
            select(StreetCrime.persistent_id, StreetCrime.outcome_category)
            .where(StreetCrime.category == "anti-social-behaviour", StreetCrime.force_id == "west-yorkshire")
            .distinct()
        ).all()
        crime_ids = session.scalars(
            select(StreetCrime.persistent_id)
            .where(StreetCrime.category != "anti-social-behaviour", StreetCrime.force_id == "west-yorkshire")
            .limit(500)
        ).all()
    assert asb == [("", None)]
    assert all(re.fullmatch(r"[0-9a-f]{64}", pid) for pid in crime_ids)


def test_imported_crimes_and_outcomes_are_indexed_by_their_ids_key(archive, db, tmp_path):
    database, _, _ = archive
    with database.read() as session:
        street = session.execute(
            select(StreetCrime.persistent_id, StreetCrime.persistent_key).where(
                StreetCrime.force_id == "west-yorkshire"
            )
        ).all()
    assert len(street) == 55_713  # both real months
    assert all(key == persistent_key(pid) for pid, key in street)
    assert {key for pid, key in street if not pid} == {None}  # anti-social behaviour: no key
    path = write(
        tmp_path / "2020-01-west-yorkshire-outcomes.csv",
        OUTCOME_HEADER,
        f"{'a' * 64},2020-01,{WY},{WY},,,No Location,,,Suspect charged",
    )
    import_paths(db, SYSTEM, [path], FixedClock())
    assert [(r.persistent_id, r.persistent_key) for r in month_rows(db, model=Outcome)] == [
        ("a" * 64, persistent_key("a" * 64))
    ]


def test_rows_without_a_location_have_none(archive):
    database, _, _ = archive
    with database.read() as session:
        unlocated = session.execute(
            select(
                func.count(), func.max(StreetCrime.lat), func.max(StreetCrime.location_id),
                func.max(StreetCrime.location_type), func.max(StreetCrime.street_name),
            ).where(StreetCrime.force_id == "west-yorkshire", StreetCrime.month == 201607, StreetCrime.lat.is_(None))
        ).one()  # fmt: skip
    assert tuple(unlocated) == (1347, None, None, None, "No Location")


def test_each_distinct_place_is_one_map_point_shared_by_the_months(archive):
    database, _, _ = archive
    with database.read() as session:
        points = count(session, Point, force_id="west-yorkshire")
        mismatched = session.scalar(
            select(func.count())
            .select_from(StreetCrime)
            .join(Point, Point.id == StreetCrime.location_id)
            .where(
                (Point.lat != StreetCrime.lat)
                | (Point.lon != StreetCrime.lon)
                | (Point.street_name != StreetCrime.street_name)
                | (Point.force_id != StreetCrime.force_id)
            )
        )
        located_without_point = session.scalar(
            select(func.count())
            .select_from(StreetCrime)
            .where(StreetCrime.lat.is_not(None), StreetCrime.location_id.is_(None))
        )
    assert points == 18_572  # distinct (lat, lon, "On or near ...") over both West Yorkshire months
    assert mismatched == 0 and located_without_point == 0


def test_2016_stop_and_search_values_are_mapped_to_todays(archive):
    database, _, _ = archive
    with database.read() as session:
        stops = session.scalars(select(Stop).where(Stop.force_id == "staffordshire")).all()
    outcomes = Counter((s.outcome, s.outcome_id) for s in stops)
    assert outcomes == {
        ("A no further action disposal", "bu-no-further-action"): 221,
        ("Arrest", "bu-arrest"): 48,
        ("Community resolution", "bu-community-resolution"): 31,
        ("Summons / charged by post", "bu-summons"): 1,
    }
    ethnicity = Counter(s.self_defined_ethnicity for s in stops)
    assert ethnicity["White - English/Welsh/Scottish/Northern Irish/British"] == 177
    assert ethnicity["Other ethnic group - Not stated"] == 53
    assert ethnicity["Asian/Asian British - Pakistani"] == 11
    assert ethnicity[None] == 13
    assert not [e for e in ethnicity if e and re.search(r"\([A-Z][A-Z0-9]\)$", e)]
    assert Counter(s.involved_person for s in stops) == {True: 282, False: 19}
    assert Counter(s.removal_of_outer_clothing for s in stops) == {False: 282, None: 19}
    assert Counter(s.outcome_linked for s in stops) == {None: 222, True: 55, False: 24}
    assert sum(1 for s in stops if s.lat is None and s.location_id is None) == 76


def test_a_known_stop_is_stored_as_published(archive):
    database, _, _ = archive
    with database.read() as session:
        stop = session.scalars(
            select(Stop).where(Stop.force_id == "staffordshire", Stop.at == "2016-11-02T15:50:00+00:00")
        ).one()
        point = session.get(Point, stop.location_id)
    assert (stop.month, stop.type, stop.involved_person) == (201611, "Vehicle search", False)
    assert (stop.lat, stop.lon) == (52.650954, -1.807029) == (point.lat, point.lon)
    assert (stop.gender, stop.age_range, stop.officer_defined_ethnicity) == ("Other", None, None)
    assert stop.self_defined_ethnicity == "Other ethnic group - Not stated"
    assert (stop.legislation, stop.object_of_search) == (
        "Police and Criminal Evidence Act 1984 (section 1)",
        "Stolen goods",
    )
    assert (stop.operation, stop.operation_name, stop.outcome_linked, stop.removal_of_outer_clothing) == (
        None, None, None, None,
    )  # fmt: skip


def test_each_imported_file_is_audited(archive):
    database, _, _ = archive
    with database.read() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "opendata.import")).all()
    assert sorted(e.record_id for e in entries) == [
        "staffordshire/2016-11/stop-and-search",
        "staffordshire/2016-11/street",
        "west-yorkshire/2016-07/street",
        "west-yorkshire/2017-07/street",
    ]
    assert {e.actor for e in entries} == {"test-import"}
    assert '"rows": 27176' in next(e.detail for e in entries if e.record_id.endswith("2016-07/street"))


def test_the_shipped_files_are_the_documented_originals():
    source = (DATA / "SOURCE.md").read_text()
    assert "Contains public sector information licensed under the Open Government Licence v3.0." in source
    for path in [*SHIPPED, EXCERPT]:
        raw = path.read_bytes()
        digest = hashlib.sha256(gzip.decompress(raw) if path.name.endswith(".gz") else raw).hexdigest()
        assert f"{digest}  {path.relative_to(DATA).as_posix().removesuffix('.gz')}" in source


def test_the_headers_are_the_archive_files_own():
    with gzip.open(SHIPPED[0], "rt", encoding="utf-8") as handle:
        assert tuple(next(csv.reader(handle))) == vocabulary.STREET_COLUMNS
    with SHIPPED[2].open(encoding="utf-8") as handle:
        assert tuple(next(csv.reader(handle))) == vocabulary.STOP_COLUMNS
    assert len(vocabulary.OUTCOME_COLUMNS) == 10


# ---------------------------------------------------------------- small files, per test


def write(path: Path, header: str, *rows: str, gz: bool = False) -> Path:
    body = "\n".join([header, *rows]) + "\n"
    if gz:
        path.write_bytes(gzip.compress(body.encode()))
    else:
        path.write_text(body, encoding="utf-8")
    return path


def street_row(pid: str = "a" * 64, *, month: str = "2020-01", kind: str = "Burglary", lat: str = "53.800000",
               lon: str = "-1.550000", where: str = "On or near Park Row", reporter: str = WY,
               outcome: str = "Under investigation") -> str:  # fmt: skip
    return f"{pid},{month},{reporter},{WY},{lon},{lat},{where},E01011365,Leeds 111B,{kind},{outcome},"


def stop_row(when: str = "2020-01-05T10:00:00+00:00", *, lat: str = "53.800000", lon: str = "-1.550000",
             outcome: str = "Arrest") -> str:  # fmt: skip
    return (
        f"Person search,{when},False,,{lat},{lon},Male,18-24,White - Irish,White,"
        f"Misuse of Drugs Act 1971 (section 23),Controlled drugs,{outcome},True,False"
    )


def month_rows(db, force_id: str = "west-yorkshire", month: int = 202001, model=StreetCrime) -> list:
    with db.read() as session:
        return session.scalars(
            select(model).where(model.force_id == force_id, model.month == month).order_by(model.id)
        ).all()


def month_record(db, force_id: str = "west-yorkshire", month: int = 202001, kind: str = "street"):
    with db.read() as session:
        return session.get(Month, (force_id, month, kind))


def test_reimporting_a_month_replaces_it_without_duplicates(db, tmp_path):
    path = write(
        tmp_path / "2020-01-west-yorkshire-street.csv", STREET_HEADER, street_row("a" * 64), street_row("b" * 64)
    )
    first = import_paths(db, SYSTEM, [path], FixedClock())
    again = import_paths(db, SYSTEM, [path], FixedClock())
    assert (first.files[0].rows, first.files[0].replaced) == (2, 0)
    assert (again.files[0].rows, again.files[0].replaced) == (2, 2)
    assert [r.persistent_id for r in month_rows(db)] == ["a" * 64, "b" * 64]
    with db.read() as session:
        assert count(session, Point, force_id="west-yorkshire") == 1  # the place is reused, not copied
        assert count(session, Month, force_id="west-yorkshire") == 1
    # A corrected file for the same month replaces the month whole.
    write(path, STREET_HEADER, street_row("c" * 64, kind="Robbery"))
    third = import_paths(db, SYSTEM, [path], FixedClock())
    assert third.files[0].replaced == 2
    assert [(r.persistent_id, r.category) for r in month_rows(db)] == [("c" * 64, "robbery")]
    assert month_record(db).rows == 1


def test_bad_rows_are_reported_and_the_good_ones_kept(db, tmp_path):
    path = write(
        tmp_path / "2020-01-west-yorkshire-street.csv.gz",
        STREET_HEADER,
        street_row("a" * 64),
        street_row("b" * 64, month="2020-02"),
        street_row("c" * 64, kind="Jaywalking"),
        street_row("d" * 64, lat="153.8"),
        "too,few,fields",
        street_row("e" * 64, month="01/2020"),
        street_row("f" * 64, lat="north"),
        street_row("", kind="Anti-social behaviour", outcome=""),
        gz=True,
    )
    report = import_paths(db, SYSTEM, [path], FixedClock())
    label = "2020-01-west-yorkshire-street.csv.gz"
    assert [(e.source, e.line, e.reason) for e in report.errors] == [
        (label, 3, "Month 2020-02 is not the file's month (2020-01)"),
        (label, 4, "Crime type 'Jaywalking' is not a data.police.uk category"),
        (label, 5, "Latitude/Longitude 153.8, -1.550000 are out of range"),
        (label, 6, "3 fields, not 12"),
        (label, 7, "Month '01/2020' is not YYYY-MM"),
        (label, 8, "Latitude/Longitude 'north', '-1.550000' are not numbers"),
    ]
    assert [r.persistent_id for r in month_rows(db)] == ["a" * 64, ""]
    record = month_record(db)
    assert (record.rows, record.rejected) == (2, 6)
    assert (report.rows, report.rejected) == (2, 6)


def test_a_file_with_every_date_in_the_wrong_form_is_refused_and_others_still_import(db, tmp_path):
    bad = write(
        tmp_path / "2020-01-west-yorkshire-street.csv",
        STREET_HEADER,
        street_row("a" * 64, month="01/2020"),
        street_row("b" * 64, month="Jan 2020"),
    )
    good = write(tmp_path / "2020-01-west-yorkshire-stop-and-search.csv", STOP_HEADER, stop_row())
    report = import_paths(db, SYSTEM, [bad, good], FixedClock())
    assert [(r.source, r.reason) for r in report.refused] == [
        (
            "2020-01-west-yorkshire-street.csv",
            "no row could be imported (2 bad; line 2: Month '01/2020' is not YYYY-MM); "
            "nothing of this file was imported",
        )
    ]
    assert month_rows(db) == [] and month_record(db) is None
    assert len(month_rows(db, model=Stop)) == 1


def test_stop_dates_in_the_wrong_form_are_bad_rows(db, tmp_path):
    path = write(
        tmp_path / "2020-01-west-yorkshire-stop-and-search.csv",
        STOP_HEADER,
        stop_row("05/01/2020 10:00"),
        stop_row("2019-12-31T23:00:00+00:00"),
        stop_row(outcome="Nothing found - no further action"),
    )
    report = import_paths(db, SYSTEM, [path], FixedClock())
    assert [(e.line, e.reason) for e in report.errors] == [
        (2, "Date '05/01/2020 10:00' is not an ISO date and time (like 2016-11-01T14:40:00+00:00)"),
        (3, "Date 2019-12 is not the file's month (2020-01)"),
    ]
    (stop,) = month_rows(db, model=Stop)
    assert (stop.outcome, stop.outcome_id, stop.self_defined_ethnicity) == (
        "A no further action disposal", "bu-no-further-action", "White - Irish",
    )  # fmt: skip


def test_a_stop_takes_the_street_point_at_the_same_place(db, tmp_path):
    street = write(tmp_path / "2020-01-west-yorkshire-street.csv", STREET_HEADER, street_row())
    stops = write(tmp_path / "2020-01-west-yorkshire-stop-and-search.csv", STOP_HEADER, stop_row())
    import_paths(db, SYSTEM, [stops, street], FixedClock())  # street goes first whatever the order given
    (crime,) = month_rows(db)
    (stop,) = month_rows(db, model=Stop)
    assert stop.location_id == crime.location_id and stop.street_name == "On or near Park Row"


def test_a_bad_stop_leaves_no_map_point_at_its_place(db, tmp_path):
    good = stop_row()
    bad_flag = stop_row(lat="53.900000").replace(",True,False", ",Perhaps,False")
    path = write(tmp_path / "2020-01-west-yorkshire-stop-and-search.csv", STOP_HEADER, good, bad_flag)

    report = import_paths(db, SYSTEM, [path], FixedClock())

    assert [(e.line, e.reason) for e in report.errors] == [
        (3, "Outcome linked to object of search 'Perhaps' is not True, False or empty")
    ]
    with db.read() as session:
        places = session.execute(select(Point.lat).where(Point.force_id == "west-yorkshire")).scalars().all()
    assert places == [53.8]


def test_points_added_by_another_process_during_an_import_stop_it_clearly(db, tmp_path, monkeypatch):
    """On SQLite the parsing hands out new points' ids ahead of the writer; a point added
    by someone else between two files would take one of them. The import stops with a
    clear error, keeping the files before. (PostgreSQL takes ids from its sequence.)"""
    first = write(tmp_path / "2020-01-west-yorkshire-street.csv", STREET_HEADER, street_row())
    second = write(
        tmp_path / "2020-02-west-yorkshire-street.csv", STREET_HEADER, street_row("b" * 64, month="2020-02", lat="53.9")
    )
    transaction, opened = importer._transaction, []

    @contextmanager
    def meanwhile(target):
        opened.append(target)
        if len(opened) == 3:  # the plan's, the first file's, then the second file's
            with db.unit_of_work() as session:  # another process publishing, say
                session.add(Point(force_id="west-yorkshire", lat=52.0, lon=-1.0, street_name="", origin="publish"))
        with transaction(target) as session:
            yield session

    monkeypatch.setattr(importer, "_transaction", meanwhile)
    if BACKEND == "sqlite":
        with pytest.raises(Conflict, match="added by another process during the import") as refused:
            import_paths(db, SYSTEM, [first, second], FixedClock())
        assert refused.value.code == "opendata.concurrent_points"
        assert [r.persistent_id for r in month_rows(db)] == ["a" * 64] and month_rows(db, month=202002) == []
    else:
        assert import_paths(db, SYSTEM, [first, second], FixedClock()).rows == 2


def test_british_transport_police_rows_have_location_type_btp(db, tmp_path):
    path = write(
        tmp_path / "2020-01-btp-street.csv",
        STREET_HEADER,
        street_row(reporter="British Transport Police"),
    )
    import_paths(db, SYSTEM, [path], FixedClock())
    (row,) = month_rows(db, force_id="btp")
    assert (row.location_type, row.reported_by, row.falls_within) == ("BTP", "British Transport Police", WY)
    with db.read() as session:
        assert session.get(Force, "btp").name == "British Transport Police"


def test_a_force_not_in_the_table_is_named_from_falls_within(db, tmp_path):
    row = street_row().replace(f"{WY},{WY}", "Ruritania Constabulary,Ruritania Constabulary")
    path = write(tmp_path / "2020-01-ruritania-street.csv", STREET_HEADER, row)
    report = import_paths(db, SYSTEM, [path], FixedClock())
    assert report.forces_created == ["ruritania"]
    with db.read() as session:
        assert session.get(Force, "ruritania").name == "Ruritania Constabulary"


def test_outcomes_files_import_with_codes(db, tmp_path):
    path = write(
        tmp_path / "2020-01-west-yorkshire-outcomes.csv",
        OUTCOME_HEADER,
        f"{'a' * 64},2020-01,{WY},{WY},-1.550000,53.800000,On or near Park Row,E01011365,Leeds 111B,"
        "Offender given penalty notice",
        f"{'b' * 64},2020-01,{WY},{WY},,,No Location,,,Investigation complete; no suspect identified",
        f",2020-01,{WY},{WY},,,No Location,,,Suspect charged",
        f"{'c' * 64},2020-01,{WY},{WY},,,No Location,,,Sent to the moon",
    )
    report = import_paths(db, SYSTEM, [path], FixedClock())
    rows = month_rows(db, model=Outcome)
    assert [(r.persistent_id[:1], r.category_code, r.location_id is not None) for r in rows] == [
        ("a", "penalty-notice-issued", True),
        ("b", "no-further-action", False),
    ]
    assert [(e.line, e.reason) for e in report.errors] == [
        (4, "an outcome needs a Crime ID"),
        (5, "Outcome type 'Sent to the moon' is not a data.police.uk outcome"),
    ]
    assert month_record(db, kind="outcomes").rows == 2


def test_the_last_row_counts_without_a_final_newline_and_blank_lines_are_ignored(db, tmp_path):
    path = tmp_path / "2020-01-west-yorkshire-street.csv"
    path.write_text(f"\ufeff{STREET_HEADER}\r\n{street_row('a' * 64)}\r\n\r\n{street_row('b' * 64)}")
    report = import_paths(db, SYSTEM, [path], FixedClock())
    assert (report.rows, report.rejected) == (2, 0)


def test_a_file_that_stops_being_utf8_part_way_is_refused_whole(db, tmp_path):
    path = tmp_path / "2020-01-west-yorkshire-street.csv"
    rows = [street_row(f"{n:064x}") for n in range(3)]
    path.write_bytes(
        f"{STREET_HEADER}\n{rows[0]}\n{rows[1]}\n".encode() + rows[2].replace("Park", "P\xe4rk").encode("latin-1")
    )
    report = import_paths(db, SYSTEM, [path], FixedClock())
    assert [(r.source, r.reason[:15]) for r in report.refused] == [(path.name, "not UTF-8 text ")]
    assert month_rows(db) == [] and month_record(db) is None


def test_columns_in_another_order_are_read_by_name(db, tmp_path):
    columns = list(vocabulary.STREET_COLUMNS)
    values = street_row().split(",")
    order = list(reversed(range(12)))
    path = write(
        tmp_path / "2020-01-west-yorkshire-street.csv",
        ",".join(columns[i] for i in order),
        ",".join(values[i] for i in order),
    )
    import_paths(db, SYSTEM, [path], FixedClock())
    (row,) = month_rows(db)
    assert (row.category, row.street_name, row.lsoa_name) == ("burglary", "On or near Park Row", "Leeds 111B")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (STREET_HEADER.replace(",Crime type", ""), "missing 'Crime type'"),
        (STREET_HEADER.replace("Crime type", "Offence"), "missing 'Crime type'; unexpected 'Offence'"),
        (STREET_HEADER + ",Notes", "unexpected 'Notes'"),
        (STOP_HEADER, "missing 'Crime ID'"),
    ],
)
def test_wrong_or_missing_columns_are_refused_before_anything_is_written(db, tmp_path, header, message):
    good = write(tmp_path / "2020-01-west-yorkshire-stop-and-search.csv", STOP_HEADER, stop_row())
    bad = write(tmp_path / "2020-01-west-yorkshire-street.csv", header, street_row())
    with pytest.raises(InvalidInput) as refused:
        import_paths(db, SYSTEM, [good, bad], FixedClock())
    assert refused.value.code == "opendata.bad_columns"
    assert refused.value.detail.startswith("2020-01-west-yorkshire-street.csv: not a street file's columns (")
    assert message in refused.value.detail
    assert month_rows(db, model=Stop) == []  # the good file was not imported either


@pytest.mark.parametrize(
    ("name", "body", "code", "fragment"),
    [
        ("crimes.csv", b"x", "opendata.bad_name", "crimes.csv: not named as data.police.uk names its files"),
        ("2020-13-west-yorkshire-street.csv", b"x", "opendata.bad_name", "'2020-13' is not a month (YYYY-MM)"),
        ("2020-01-west-yorkshire-street.csv.gz", b"not gzip", "opendata.unreadable", "not a complete gzip file"),
        ("2020-01.zip", b"not a zip", "opendata.unreadable", "2020-01.zip: cannot be read (not a complete zip file)"),
        ("2020-01-west-yorkshire-street.csv", b"\xff\xfeC\x00r\x00", "opendata.unreadable", "not UTF-8 text"),
        ("2020-01-west-yorkshire-street.csv", b"", "opendata.bad_columns", "the file is empty"),
    ],
)
def test_unreadable_or_misnamed_files_are_refused(db, tmp_path, name, body, code, fragment):
    path = tmp_path / name
    path.write_bytes(body)
    with pytest.raises(InvalidInput) as refused:
        import_paths(db, SYSTEM, [path], FixedClock())
    assert refused.value.code == code and fragment in refused.value.detail


def test_a_missing_file_is_refused(db, tmp_path):
    with pytest.raises(InvalidInput, match="2020-01-west-yorkshire-street.csv: cannot be read \\(no such file\\)"):
        import_paths(db, SYSTEM, [tmp_path / "2020-01-west-yorkshire-street.csv"], FixedClock())


def archive_zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return path


def test_a_monthly_archive_zip_imports_every_force_and_kind(db, tmp_path):
    path = archive_zip(
        tmp_path / "2020-01.zip",
        {
            "2020-01/": "",
            "2020-01/2020-01-west-yorkshire-street.csv": f"{STREET_HEADER}\n{street_row()}\n",
            "2020-01/2020-01-west-yorkshire-stop-and-search.csv": f"{STOP_HEADER}\n{stop_row()}\n",
            "2020-01/2020-01-staffordshire-street.csv": f"{STREET_HEADER}\n{street_row('f' * 64)}\n",
        },
    )
    report = import_paths(db, SYSTEM, [path], FixedClock())
    assert [(f.force_id, f.kind, f.rows) for f in report.files] == [
        ("staffordshire", "street", 1),
        ("west-yorkshire", "street", 1),
        ("west-yorkshire", "stop-and-search", 1),
    ]
    assert month_record(db).source == "2020-01.zip:2020-01/2020-01-west-yorkshire-street.csv"
    assert len(month_rows(db, force_id="staffordshire")) == 1
    # --force and --month choose within an archive.
    only = import_paths(db, SYSTEM, [path], FixedClock(), forces=["staffordshire"], months=[202001])
    assert [f.force_id for f in only.files] == ["staffordshire"]
    with pytest.raises(InvalidInput, match="nothing to import"):
        import_paths(db, SYSTEM, [path], FixedClock(), months=[202002])


def test_a_zip_with_unexpected_files_is_refused_whole(db, tmp_path):
    path = archive_zip(
        tmp_path / "2020-01.zip",
        {
            "2020-01/2020-01-west-yorkshire-street.csv": f"{STREET_HEADER}\n{street_row()}\n",
            "2020-01/README.txt": "hello",
            "__MACOSX/2020-01/._x": "junk",
        },
    )
    with pytest.raises(InvalidInput) as refused:
        import_paths(db, SYSTEM, [path], FixedClock())
    assert refused.value.code == "opendata.unexpected_files"
    assert refused.value.detail == (
        "2020-01.zip: holds files that are not data.police.uk archive CSVs (YYYY-MM/YYYY-MM-<force>-<kind>.csv): "
        "2020-01/README.txt, __MACOSX/2020-01/._x; nothing of it was imported"
    )
    assert month_rows(db) == []


def test_a_failure_in_the_callback_mid_month_leaves_the_previous_month(db, tmp_path, monkeypatch):
    path = write(tmp_path / "2020-01-west-yorkshire-street.csv", STREET_HEADER, street_row("a" * 64))
    import_paths(db, SYSTEM, [path], FixedClock())
    write(path, STREET_HEADER, *(street_row(f"{n:064x}", lat=f"53.{n:06d}") for n in range(10)))
    monkeypatch.setattr(importer, "BATCH", 3)
    seen = []

    def crash(what, done, total):
        seen.append(done)
        if len(seen) == 2:  # after two batches (six rows and their points) are in the database
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        import_paths(db, SYSTEM, [path], FixedClock(), progress=crash)
    assert [r.persistent_id for r in month_rows(db)] == ["a" * 64]
    assert month_record(db).rows == 1
    with db.read() as session:
        assert count(session, Point, force_id="west-yorkshire") == 1


def test_a_file_that_turns_out_truncated_part_way_is_refused_and_its_month_kept(db, tmp_path):
    """Files are read as they are parsed, so a gzip cut short is found part way through:
    the file is refused and the month stays as it was."""
    path = write(tmp_path / "2020-01-west-yorkshire-street.csv.gz", STREET_HEADER, street_row("a" * 64), gz=True)
    import_paths(db, SYSTEM, [path], FixedClock())
    rows = (street_row(f"{n:064x}", lat=f"53.{n:06d}") for n in range(20_000))
    whole = gzip.compress(("\n".join([STREET_HEADER, *rows]) + "\n").encode())
    path.write_bytes(whole[: len(whole) // 2])
    report = import_paths(db, SYSTEM, [path], FixedClock())
    assert [(r.source, r.reason) for r in report.refused] == [
        (path.name, "cannot be read in full (not a complete gzip file)")
    ]
    assert [r.persistent_id for r in month_rows(db)] == ["a" * 64]


def test_points_of_a_file_refused_part_way_are_made_again_by_a_later_file_of_the_import(db, tmp_path):
    """An import remembers each force's points from file to file, but only once a file is
    committed: a later month at the same places gets points that exist."""
    rows = [street_row(f"{n:064x}", lat=f"53.{n:06d}") for n in range(20_000)]
    whole = gzip.compress(("\n".join([STREET_HEADER, *rows]) + "\n").encode())
    cut = tmp_path / "2020-01-west-yorkshire-street.csv.gz"
    cut.write_bytes(whole[: len(whole) // 2])  # parsed part way, then refused
    later = write(
        tmp_path / "2020-02-west-yorkshire-street.csv",
        STREET_HEADER,
        *(street_row(f"{n + 1:064x}", lat=f"53.{n:06d}", month="2020-02") for n in range(0, 20_000, 1000)),
    )

    earlier = write(tmp_path / "2019-12-west-yorkshire-street.csv", STREET_HEADER, street_row(month="2019-12"))

    report = import_paths(db, SYSTEM, [earlier, cut, later], FixedClock())

    assert [r.source for r in report.refused] == [cut.name] and report.rows == 21
    with db.read() as session:
        placed = session.execute(
            select(StreetCrime.lat, Point.lat)
            .join(Point, Point.id == StreetCrime.location_id, isouter=True)
            .where(StreetCrime.month == 202002)
        ).all()
    assert len(placed) == 20 and all(point_lat == crime_lat for crime_lat, point_lat in placed)


def street_index_names(database) -> set[str]:
    with database.read() as session:
        return {found["name"] for found in inspect(session.connection()).get_indexes("opendata_street")}


@pytest.fixture
def own_database(database_factory):
    """A database of the test's own, for what the suite's shared connection cannot show
    (indexes dropped and built in transactions of their own)."""
    database = Database.from_url(database_factory.new_url("opendata_bulk"))
    migrate.upgrade(database)
    yield database
    database.dispose()


def test_a_bulk_load_goes_without_indexes_and_builds_them_after_even_when_it_fails(own_database, tmp_path, monkeypatch):
    database = own_database
    indexes = street_index_names(database)
    assert {"ix_opendata_street_month_lat", "ix_opendata_street_persistent_key"} <= indexes
    monkeypatch.setattr(importer, "BULK_ROWS", 1)  # these small files count as a bulk load
    first = write(tmp_path / "2020-01-west-yorkshire-street.csv", STREET_HEADER, street_row("a" * 64))
    second = write(tmp_path / "2020-02-west-yorkshire-street.csv", STREET_HEADER, street_row("b" * 64, month="2020-02"))
    during = []

    def crash(what, done, total):
        during.append(street_index_names(database))
        if what == second.name:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        import_paths(database, SYSTEM, [first, second], FixedClock(), progress=crash)
    assert during and all(not (names & indexes) for names in during)  # loaded without them
    assert street_index_names(database) == indexes  # and built again, though the load failed
    assert [r.persistent_id for r in month_rows(database)] == ["a" * 64]  # the month before the failure kept
    assert month_rows(database, month=202002) == []
    assert not multiprocessing.active_children()  # the parsing process ended too


def test_indexes_a_crashed_bulk_load_left_unbuilt_are_built_by_the_next_import(own_database, tmp_path):
    database = own_database
    indexes = street_index_names(database)
    with database.unit_of_work() as session:  # as a process killed mid-load leaves them
        for name in indexes:
            session.execute(text(f"DROP INDEX {name}"))
    path = write(tmp_path / "2020-01-west-yorkshire-street.csv", STREET_HEADER, street_row())
    import_paths(database, SYSTEM, [path], FixedClock())
    assert street_index_names(database) == indexes


def test_rows_loaded_before_the_persistent_key_get_it_when_the_database_is_upgraded(database_factory):
    database = Database.from_url(database_factory.new_url("opendata_0011"))
    try:
        migrate.upgrade(database, "0011")
        with database.unit_of_work() as session:
            session.execute(
                text(
                    "INSERT INTO access_force (id, name, reference_prefix, settings, created_at) "
                    "VALUES ('west-yorkshire', 'West Yorkshire Police', 'WY', '{}', '2026-11-29 00:00:00')"
                )
            )
            common = "'west-yorkshire', 201607, 'import', '', '', '', ''"
            pid = "a" * 64
            session.execute(
                text(
                    "INSERT INTO opendata_street (force_id, month, origin, street_name, lsoa_code, lsoa_name, context, "
                    "reported_by, falls_within, location_subtype, persistent_id, category) VALUES "
                    f"({common}, '', '', '', '{pid}', 'burglary'), ({common}, '', '', '', '', 'anti-social-behaviour')"
                )
            )
            session.execute(
                text(
                    "INSERT INTO opendata_outcome (force_id, month, origin, street_name, lsoa_code, lsoa_name, "
                    "reported_by, falls_within, persistent_id, category_code) "
                    f"VALUES ({common}, '', '{pid}', 'charged')"
                )
            )
        migrate.upgrade(database)
        with database.read() as session:
            street = session.execute(select(StreetCrime.category, StreetCrime.persistent_key).order_by("id")).all()
            outcome = session.scalar(select(Outcome.persistent_key))
        assert street == [("burglary", persistent_key("a" * 64)), ("anti-social-behaviour", None)]
        assert outcome == persistent_key("a" * 64)
    finally:
        database.dispose()


def fail_inserts_of(db, persistent_id: str) -> None:
    """A database trigger that refuses one row: a failure in the database itself."""
    with db.unit_of_work() as session:
        if BACKEND == "postgresql":
            session.execute(
                text(
                    "CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                    f"IF NEW.persistent_id = '{persistent_id}' THEN RAISE EXCEPTION 'refused by trigger'; END IF; "
                    "RETURN NEW; END $$"
                )
            )
            session.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON opendata_street FOR EACH ROW EXECUTE FUNCTION refuse_row()"
                )
            )
        else:
            session.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON opendata_street "
                    f"WHEN NEW.persistent_id = '{persistent_id}' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
                )
            )


def test_a_row_failing_in_the_database_leaves_no_half_month(db, tmp_path):
    path = write(tmp_path / "2020-01-west-yorkshire-street.csv", STREET_HEADER, street_row("a" * 64))
    import_paths(db, SYSTEM, [path], FixedClock())
    fail_inserts_of(db, "f" * 64)
    write(path, STREET_HEADER, street_row("b" * 64), street_row("c" * 64), street_row("f" * 64))
    with pytest.raises(Exception, match="refused by trigger"):
        import_paths(db, SYSTEM, [path], FixedClock())
    assert [r.persistent_id for r in month_rows(db)] == ["a" * 64]
    assert month_record(db).rows == 1


def test_importing_inside_the_callers_session(db, tmp_path):
    path = write(tmp_path / "2020-01-west-yorkshire-street.csv", STREET_HEADER, street_row())
    with db.unit_of_work() as session:
        report = import_paths(session, SYSTEM, [path], FixedClock())
    assert report.rows == 1 and len(month_rows(db)) == 1


def test_only_a_platform_admin_may_import(db, tmp_path):
    path = write(tmp_path / "2020-01-west-yorkshire-street.csv", STREET_HEADER, street_row())
    analyst = Actor(
        user_id="u1", username="analyst", force_id="west-yorkshire", roles=frozenset({Role.INTELLIGENCE_ANALYST})
    )
    with pytest.raises(Denied):
        import_paths(db, analyst, [path], FixedClock())
    assert month_rows(db) == []


# ---------------------------------------------------------------- the command


def test_the_command_imports_shows_skipped_rows_and_writes_them_all(archive, tmp_path, monkeypatch, capsys):
    _, _, url = archive
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", url)
    path = write(
        tmp_path / "2020-01-cli-test-street.csv",
        STREET_HEADER,
        street_row("a" * 64),
        street_row("b" * 64, kind="Jaywalking"),
        street_row("c" * 64, month="2020-1"),
    )
    errors = tmp_path / "errors.csv"
    assert main(["opendata", "import", str(path), "--errors", str(errors), "--show", "1"]) == 0
    out = capsys.readouterr().out
    assert "2020-01 cli-test street: 1 rows, 2 rejected" in out
    assert "skipped 2020-01-cli-test-street.csv line 3: Crime type 'Jaywalking' is not a data.police.uk category" in out
    assert "... and 1 more skipped rows; all in" in out
    assert "imported 1 rows from 1 file(s), 2 rejected" in out
    with errors.open(newline="") as handle:
        assert list(csv.reader(handle)) == [
            ["file", "line", "reason"],
            ["2020-01-cli-test-street.csv", "3", "Crime type 'Jaywalking' is not a data.police.uk category"],
            ["2020-01-cli-test-street.csv", "4", "Month '2020-1' is not YYYY-MM"],
        ]


@pytest.mark.parametrize(
    ("files", "fragment"),
    [
        ({"2020-01-cli-test-street.csv": STREET_HEADER.replace(",Context", "") + "\n"}, "missing 'Context'"),
        ({"2020-01.zip": None}, "holds files that are not data.police.uk archive CSVs"),
        (
            {"2020-01-cli-test-street.csv": f"{STREET_HEADER}\n{street_row(month='2020/01')}\n"},
            "2020-01-cli-test-street.csv: refused, no row could be imported (1 bad; line 2: Month '2020/01' is not",
        ),
        ({"2020-01-cli-test-street.csv.gz": "plain text"}, "cannot be read (not a complete gzip file)"),
        ({"2020-00-cli-test-street.csv": ""}, "'2020-00' is not a month (YYYY-MM)"),
    ],
    ids=["columns", "zip", "dates", "unreadable", "month-name"],
)
def test_the_command_refuses_bad_files_with_one_line_errors(archive, tmp_path, monkeypatch, capsys, files, fragment):
    _, _, url = archive
    monkeypatch.setenv("BLUELAMP_DATABASE_URL", url)
    paths = []
    for name, body in files.items():
        if body is None:
            archive_zip(tmp_path / name, {"2020-01/notes.txt": "x"})
        else:
            (tmp_path / name).write_text(body)
        paths.append(str(tmp_path / name))
    assert main(["opendata", "import", *paths]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and fragment in err[0], err


# ---------------------------------------------------------------- the vocabulary


@pytest.mark.parametrize(("raw", "month"), [("2016-07", 201607), ("1999-12", 199912), (" 2020-01 ", 202001)])
def test_months_parse(raw, month):
    assert vocabulary.parse_month(raw) == month
    assert vocabulary.month_text(month) == raw.strip()


@pytest.mark.parametrize("raw", ["2016-7", "2016-13", "2016-00", "07/2016", "2016-07-01", "July", "", "201607"])
def test_months_in_another_form_are_refused(raw):
    with pytest.raises(ValueError, match="a month is YYYY-MM"):
        vocabulary.parse_month(raw)


def test_todays_crime_categories_lead_with_all_crime():
    assert list(vocabulary.CRIME_CATEGORIES.items())[0] == ("all-crime", "All crime")
    assert dict(list(vocabulary.CRIME_CATEGORIES.items())[1:]) == POLICE_UK_CATEGORIES
    today = vocabulary.crime_categories(None)
    assert len(today) == 15 and today == vocabulary.crime_categories(201707)
    assert {"url": "violent-crime", "name": "Violence and sexual offences"} in today


def test_older_months_have_the_retired_categories():
    early_2012 = {c["url"]: c["name"] for c in vocabulary.crime_categories(201201)}
    assert early_2012["public-disorder-weapons"] == "Public disorder and weapons"
    assert early_2012["violent-crime"] == "Violent crime"
    assert "public-order" not in early_2012 and "bicycle-theft" not in early_2012
    launch = [c["url"] for c in vocabulary.crime_categories(201101)]
    assert launch == [
        "all-crime", "anti-social-behaviour", "burglary", "robbery", "vehicle-crime", "violent-crime", "other-crime",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("crime_type", "slug"),
    [
        ("Violence and sexual offences", "violent-crime"),
        ("Violent crime", "violent-crime"),
        ("Public disorder and weapons", "public-disorder-weapons"),
        ("Criminal damage & arson", "criminal-damage-arson"),
        ("anti-social behaviour", "anti-social-behaviour"),
        ("bicycle-theft", "bicycle-theft"),
        ("All crime", None),
        ("Jaywalking", None),
    ],
)
def test_crime_types_of_any_year_map_to_slugs(crime_type, slug):
    assert vocabulary.category_slug(crime_type) == slug


def test_every_outcome_name_and_its_variants_map_to_the_code():
    for code, name in vocabulary.OUTCOME_CATEGORIES.items():
        assert vocabulary.outcome_code(name) == code
        assert vocabulary.outcome_code(code) == code
    assert len(vocabulary.OUTCOME_CATEGORIES) == 28
    assert vocabulary.outcome_code("Offender given penalty notice") == "penalty-notice-issued"
    assert vocabulary.outcome_code("Offender given a drugs possession warning") == "drugs-possession-warning"
    assert vocabulary.outcome_code("") is None and vocabulary.outcome_code("Sent to the moon") is None


@pytest.mark.parametrize(
    ("published", "today"),
    [
        ("Nothing found - no further action", ("A no further action disposal", "bu-no-further-action")),
        ("Suspect arrested", ("Arrest", "bu-arrest")),
        ("Local resolution", ("Community resolution", "bu-community-resolution")),
        ("Suspect summonsed to court", ("Summons / charged by post", "bu-summons")),
        ("Offender given penalty notice", ("Penalty Notice for Disorder", "bu-penalty-notice")),
        ("Arrest", ("Arrest", "bu-arrest")),
        ("A no further action disposal", ("A no further action disposal", "bu-no-further-action")),
        ("Article found - Detailed outcome unavailable", ("Article found - Detailed outcome unavailable", None)),
        ("", ("", None)),
    ],
)
def test_stop_outcomes_of_any_year_map_to_todays(published, today):
    assert vocabulary.stop_outcome(published) == today


@pytest.mark.parametrize(
    ("published", "today"),
    [
        ("White - White British (W1)", "White - English/Welsh/Scottish/Northern Irish/British"),
        ("Not Stated (NS)", "Other ethnic group - Not stated"),
        ("Chinese or other ethnic group - Chinese (O1)", "Asian/Asian British - Chinese"),
        ("Mixed - White and Black Caribbean (M1)", "Mixed/Multiple ethnic groups - White and Black Caribbean"),
        ("White - Irish", "White - Irish"),
        ("", None),
    ],
)
def test_self_defined_ethnicity_of_any_year_maps_to_todays(published, today):
    assert vocabulary.self_defined_ethnicity(published) == today


def test_the_force_table_has_the_44_forces_and_btp():
    assert len(vocabulary.FORCES) == 45
    assert vocabulary.FORCES["staffordshire"] == "Staffordshire Police"
    assert vocabulary.FORCES["btp"] == "British Transport Police"
    assert all(re.fullmatch(r"[a-z]+(-[a-z]+)*", force_id) for force_id in vocabulary.FORCES)
