"""Open-data tables: the public street-level crimes, outcomes and stops and searches, in
data.police.uk's own terms (imported from its archives, or published from a force's own
records), the anonymous map points they sit on, the months loaded, and each force's
neighbourhoods with their events and priorities.

Nothing here is personal data: these rows are what the public sees. Months are held as
integers ``YYYYMM`` (``201607``) so that the large tables stay small and fast to load;
the API shows them as ``YYYY-MM``. The row tables carry few indexes on purpose: an
archive year is millions of rows, and every index is paid for on every row loaded."""

from __future__ import annotations

import zlib
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from bluelamp.storage.base import Base, JSONType, UTCDateTime


class Origin(StrEnum):
    """Where a public row came from."""

    IMPORT = "import"  # a data.police.uk archive file
    PUBLISH = "publish"  # built by `bluelamp opendata publish` from the force's own records


class FileKind(StrEnum):
    """The three monthly archive files, named as data.police.uk names them."""

    STREET = "street"
    OUTCOMES = "outcomes"
    STOP_AND_SEARCH = "stop-and-search"


def persistent_key(persistent_id: str) -> int | None:
    """The CRC-32 of a crime's ``persistent_id`` (None for "", anti-social behaviour): what
    the street and outcome tables index crimes by. An 8-byte key makes an index a fifth the
    size of one on the 64-character id, and an archive import about a quarter quicker
    (every row places a key in it); a lookup asks for the key and the id, so two ids that
    share a key (about one pair in 4 billion) are still told apart."""
    return zlib.crc32(persistent_id.encode()) if persistent_id else None


def _persistent_key_default(context: Any) -> int | None:
    """The key of the row's ``persistent_id``, for rows inserted through SQLAlchemy (the
    archive import writes its rows' keys itself)."""
    return persistent_key(context.get_current_parameters().get("persistent_id") or "")


class Point(Base):
    """An anonymous map point: a place crimes are published at, never a true location.

    Imported points are data.police.uk's own (already anonymised there); published points
    are built by the publication from the force's addresses, each covering at least the
    force's minimum of addresses (``households``). ``id`` is the API's ``location_id``
    and ``street.id``."""

    __tablename__ = "opendata_point"
    __table_args__ = (Index("ix_opendata_point_lat", "lat", "lon"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    street_name: Mapped[str] = mapped_column(String(200))  # "On or near Marquis Street"
    origin: Mapped[str] = mapped_column(String(8))
    households: Mapped[int | None] = mapped_column(Integer)  # addresses covered (published points)


class StreetCrime(Base):
    """One street-level crime or anti-social behaviour row (the archive's ``-street.csv``)."""

    __tablename__ = "opendata_street"
    __table_args__ = (
        Index("ix_opendata_street_month_lat", "month", "lat"),
        Index("ix_opendata_street_force_month", "force_id", "month"),
        Index(
            "ix_opendata_street_persistent_key",
            "persistent_key",
            sqlite_where=text("persistent_key IS NOT NULL"),  # not anti-social behaviour
            postgresql_where=text("persistent_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    month: Mapped[int] = mapped_column(Integer)  # YYYYMM
    persistent_id: Mapped[str] = mapped_column(String(64), default="")  # "" for anti-social behaviour
    persistent_key: Mapped[int | None] = mapped_column(BigInteger, default=_persistent_key_default)
    category: Mapped[str] = mapped_column(String(40))  # the data.police.uk slug
    lat: Mapped[float | None] = mapped_column(Float)  # None: no location
    lon: Mapped[float | None] = mapped_column(Float)
    location_id: Mapped[int | None] = mapped_column(Integer)  # opendata_point.id
    street_name: Mapped[str] = mapped_column(String(200), default="")
    lsoa_code: Mapped[str] = mapped_column(String(12), default="")
    lsoa_name: Mapped[str] = mapped_column(String(100), default="")
    outcome_category: Mapped[str | None] = mapped_column(String(100))  # a display name, as published
    outcome_month: Mapped[int | None] = mapped_column(Integer)
    context: Mapped[str] = mapped_column(Text, default="")
    reported_by: Mapped[str] = mapped_column(String(100), default="")
    falls_within: Mapped[str] = mapped_column(String(100), default="")
    location_type: Mapped[str | None] = mapped_column(String(8))  # Force | BTP | None
    location_subtype: Mapped[str] = mapped_column(String(40), default="")
    origin: Mapped[str] = mapped_column(String(8))


class Outcome(Base):
    """One outcome row (the archive's ``-outcomes.csv``): what happened to a crime, and when."""

    __tablename__ = "opendata_outcome"
    __table_args__ = (
        Index("ix_opendata_outcome_persistent_key", "persistent_key"),
        Index("ix_opendata_outcome_month_lat", "month", "lat"),
        Index("ix_opendata_outcome_force_month", "force_id", "month"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    month: Mapped[int] = mapped_column(Integer)  # YYYYMM: the month of the outcome
    persistent_id: Mapped[str] = mapped_column(String(64))
    persistent_key: Mapped[int | None] = mapped_column(BigInteger, default=_persistent_key_default)
    category_code: Mapped[str] = mapped_column(String(60))  # e.g. "unable-to-prosecute"
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    location_id: Mapped[int | None] = mapped_column(Integer)
    street_name: Mapped[str] = mapped_column(String(200), default="")
    lsoa_code: Mapped[str] = mapped_column(String(12), default="")
    lsoa_name: Mapped[str] = mapped_column(String(100), default="")
    reported_by: Mapped[str] = mapped_column(String(100), default="")
    falls_within: Mapped[str] = mapped_column(String(100), default="")
    origin: Mapped[str] = mapped_column(String(8))


class Stop(Base):
    """One stop and search (the archive's ``-stop-and-search.csv``)."""

    __tablename__ = "opendata_stop"
    __table_args__ = (
        Index("ix_opendata_stop_month_lat", "month", "lat"),
        Index("ix_opendata_stop_force_month", "force_id", "month"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    month: Mapped[int] = mapped_column(Integer)  # YYYYMM
    at: Mapped[str] = mapped_column(String(25))  # ISO with offset, as published: 2016-11-01T14:40:00+00:00
    type: Mapped[str] = mapped_column(String(40))  # Person search | Vehicle search | Person and Vehicle search
    involved_person: Mapped[bool] = mapped_column(Boolean)
    operation: Mapped[bool | None] = mapped_column(Boolean)
    operation_name: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    location_id: Mapped[int | None] = mapped_column(Integer)
    street_name: Mapped[str] = mapped_column(String(200), default="")
    gender: Mapped[str | None] = mapped_column(String(20))
    age_range: Mapped[str | None] = mapped_column(String(20))
    self_defined_ethnicity: Mapped[str | None] = mapped_column(String(120))
    officer_defined_ethnicity: Mapped[str | None] = mapped_column(String(40))
    legislation: Mapped[str | None] = mapped_column(String(120))
    object_of_search: Mapped[str | None] = mapped_column(String(120))
    outcome: Mapped[str] = mapped_column(String(120), default="")  # display name; "" when none
    outcome_id: Mapped[str | None] = mapped_column(String(60))  # e.g. "bu-no-further-action"
    outcome_linked: Mapped[bool | None] = mapped_column(Boolean)
    removal_of_outer_clothing: Mapped[bool | None] = mapped_column(Boolean)
    origin: Mapped[str] = mapped_column(String(8))


class Month(Base):
    """One force's month of one file kind, as loaded: what re-import replaces, what the
    API's dates and ``crime-last-updated`` come from."""

    __tablename__ = "opendata_month"

    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)  # YYYYMM
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # FileKind
    origin: Mapped[str] = mapped_column(String(8))
    rows: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(300), default="")  # file name, or "publish"
    sha256: Mapped[str] = mapped_column(String(64), default="")  # of the source file's bytes
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    loaded_by: Mapped[str] = mapped_column(String(120))


class Neighbourhood(Base):
    """A neighbourhood policing area of a force, as the public sees it."""

    __tablename__ = "opendata_neighbourhood"

    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the API's neighbourhood id
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)  # HTML, as data.police.uk gives it
    url_force: Mapped[str | None] = mapped_column(String(300))
    population: Mapped[str] = mapped_column(String(20), default="0")  # a string in the API
    centre_lat: Mapped[float] = mapped_column(Float)
    centre_lon: Mapped[float] = mapped_column(Float)
    contact_details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    links: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    locations: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    people: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    boundary: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # [[lat, lon], ...], closed
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NeighbourhoodEvent(Base):
    """A public event a neighbourhood team holds (a street meeting, a surgery)."""

    __tablename__ = "opendata_neighbourhood_event"
    __table_args__ = (Index("ix_opendata_neighbourhood_event_nbhd", "force_id", "neighbourhood_id", "start_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    neighbourhood_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40), default="meeting")
    description: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(String(300))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contact_details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class NeighbourhoodPriority(Base):
    """A neighbourhood team's priority: the issue, when it was raised, what is being done."""

    __tablename__ = "opendata_neighbourhood_priority"
    __table_args__ = (Index("ix_opendata_neighbourhood_priority_nbhd", "force_id", "neighbourhood_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"))
    neighbourhood_id: Mapped[str] = mapped_column(String(64))
    issue: Mapped[str] = mapped_column(Text)  # HTML, as data.police.uk gives it
    issue_at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[str | None] = mapped_column(Text)
    action_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
