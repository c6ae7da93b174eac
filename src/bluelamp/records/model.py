"""Records (RMS) tables: the POLE model (persons, objects, locations, events) and the
links between them; crimes with their investigation log, victims and Victims' Code
updates; intelligence graded 3x5x2; MoPI reviews and disposal tombstones; person
merges (the golden nominal) and the merge-candidate queue.

Every record carries its force and marking (``Marked``). Person names are held in
``records_person_name`` with normalised and phonetic keys computed at write time, so
that search scores only candidates (never every person)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bluelamp.access.model import Marked
from bluelamp.storage.base import Base, JSONType, UTCDateTime


class RecordType(StrEnum):
    PERSON = "person"
    OBJECT = "object"
    LOCATION = "location"
    EVENT = "event"


class NameKind(StrEnum):
    PRIMARY = "primary"
    ALIAS = "alias"
    PREVIOUS = "previous"  # e.g. a maiden name
    NICKNAME = "nickname"


class ObjectKind(StrEnum):
    VEHICLE = "vehicle"
    PHONE = "phone"
    PROPERTY = "property"
    WEAPON = "weapon"
    DOCUMENT = "document"


class EventKind(StrEnum):
    CRIME = "crime"
    INCIDENT = "incident"  # linked to a command-and-control incident
    INTELLIGENCE = "intelligence"
    STOP_SEARCH = "stop_search"
    MISSING_PERSON = "missing_person"
    CUSTODY = "custody"


class LinkRole(StrEnum):
    SUSPECT = "suspect"
    VICTIM = "victim"
    WITNESS = "witness"
    OWNER = "owner"
    KEEPER = "keeper"
    DRIVER = "driver"
    RESIDES_AT = "resides_at"
    ASSOCIATE_OF = "associate_of"
    SEEN_AT = "seen_at"
    SUBJECT_OF = "subject_of"
    REPORTED_BY = "reported_by"
    OCCURRED_AT = "occurred_at"


class MarkerKind(StrEnum):
    """Warning markers officers must see on every check (PNC-style)."""

    VIOLENT = "violent"
    WEAPONS = "weapons"
    FIREARMS = "firearms"
    DRUGS = "drugs"
    SELF_HARM = "self_harm"
    SUICIDAL = "suicidal"
    MENTAL_HEALTH = "mental_health"
    ESCAPE_RISK = "escape_risk"
    AILMENT = "ailment"
    CONTAGION = "contagion"
    ALLEGES = "alleges"
    WANTED = "wanted"
    MISSING = "missing"


class IdentifierKind(StrEnum):
    PNC_ID = "pnc_id"
    DRIVING_LICENCE = "driving_licence"
    PASSPORT = "passport"
    NI_NUMBER = "ni_number"
    CRO_NUMBER = "cro_number"


class Retained:
    """MoPI: every person and event belongs to a retention group and has a review date."""

    retention_group: Mapped[str] = mapped_column(String(8), default="3")  # MoPI groups 1, 2, 3 (and "4" misc)
    review_at: Mapped[date | None] = mapped_column(Date, index=True)
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # personal data removed; a tombstone


class Person(Marked, Retained, Base):
    """A nominal. Names live in PersonName (primary, aliases, previous names)."""

    __tablename__ = "records_person"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    given_names: Mapped[str] = mapped_column(String(200), default="")
    family_name: Mapped[str] = mapped_column(String(200), default="")
    # Date of birth, full or partial: year, month and day each known or not.
    dob_year: Mapped[int | None] = mapped_column(Integer)
    dob_month: Mapped[int | None] = mapped_column(Integer)
    dob_day: Mapped[int | None] = mapped_column(Integer)
    birth_place: Mapped[str | None] = mapped_column(String(200))
    gender: Mapped[str | None] = mapped_column(String(20))
    self_defined_ethnicity: Mapped[str | None] = mapped_column(String(8))  # the 2021 census 18+1 codes, e.g. W1
    officer_ethnicity: Mapped[str | None] = mapped_column(String(4))  # IC1-IC6, IC9
    description: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # height, build, hair, eyes, marks
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    merged_into_id: Mapped[str | None] = mapped_column(ForeignKey("records_person.id"), index=True)


class PersonName(Base):
    """A name a person is known by, with the keys search looks up (computed at write time)."""

    __tablename__ = "records_person_name"
    __table_args__ = (
        Index("ix_records_person_name_family_key", "force_id", "family_key"),
        Index("ix_records_person_name_given_key", "force_id", "given_key"),
        Index("ix_records_person_name_family_norm", "force_id", "family_norm"),
        Index("ix_records_person_name_person", "person_id"),
        # Search's candidate look-ups (migration 0006), each answered from the index alone:
        # family key with given key and year; given key with year; given key with family
        # prefix; year with the start of either key (the second, wider pass).
        Index("ix_records_person_name_family_given", "force_id", "family_key", "given_key", "dob_year"),
        Index("ix_records_person_name_given_year", "force_id", "given_key", "dob_year"),
        Index("ix_records_person_name_given_family", "force_id", "given_key", "family_norm"),
        Index("ix_records_person_name_year_keys", "force_id", "dob_year", "family_key", "given_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(ForeignKey("records_person.id"))
    kind: Mapped[str] = mapped_column(String(12), default=NameKind.PRIMARY.value)
    given_names: Mapped[str] = mapped_column(String(200), default="")
    family_name: Mapped[str] = mapped_column(String(200), default="")
    # Normalised forms (upper case, accents and punctuation removed) and phonetic keys.
    given_norm: Mapped[str] = mapped_column(String(200), default="")
    family_norm: Mapped[str] = mapped_column(String(200), default="")
    given_key: Mapped[str] = mapped_column(String(40), default="")
    family_key: Mapped[str] = mapped_column(String(40), default="")
    # Copied from the person, so a candidate can be filtered by date of birth without a join.
    dob_year: Mapped[int | None] = mapped_column(Integer)
    from_date: Mapped[date | None] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)


class PersonIdentifier(Base):
    """A PNC ID, driving licence, passport... unique within a force."""

    __tablename__ = "records_person_identifier"
    __table_args__ = (UniqueConstraint("force_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(ForeignKey("records_person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(60))  # normalised: upper case, no spaces


class WarningMarker(Base):
    """A warning on a person, with its reason and dates."""

    __tablename__ = "records_warning_marker"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(ForeignKey("records_person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))


class Location(Marked, Base):
    """An address or a place: address lines, postcode, optional point and UPRN."""

    __tablename__ = "records_location"
    __table_args__ = (Index("ix_records_location_postcode", "force_id", "postcode_norm"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    line1: Mapped[str] = mapped_column(String(200), default="")
    line2: Mapped[str] = mapped_column(String(200), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    postcode_norm: Mapped[str] = mapped_column(String(10), default="")  # upper case, no space
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    uprn: Mapped[str | None] = mapped_column(String(12), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))


class PersonAddress(Base):
    """Where a person lived or lives, from when to when."""

    __tablename__ = "records_person_address"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[str] = mapped_column(ForeignKey("records_person.id"), index=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("records_location.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="home")  # home, previous, work, care_of
    from_date: Mapped[date | None] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)


class RecordObject(Marked, Base):
    """A vehicle, phone, item of property, weapon or document."""

    __tablename__ = "records_object"
    __table_args__ = (
        Index("ix_records_object_vrm", "force_id", "vrm_norm"),
        Index("ix_records_object_phone", "force_id", "phone_digits"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    # vehicle
    vrm: Mapped[str | None] = mapped_column(String(12))
    vrm_norm: Mapped[str | None] = mapped_column(String(12))  # upper case, no spaces
    make: Mapped[str | None] = mapped_column(String(60))
    model: Mapped[str | None] = mapped_column(String(60))
    colour: Mapped[str | None] = mapped_column(String(40))
    vin: Mapped[str | None] = mapped_column(String(17))
    # phone
    phone_number: Mapped[str | None] = mapped_column(String(30))
    phone_digits: Mapped[str | None] = mapped_column(String(20))  # digits only, national form (07...)
    imei: Mapped[str | None] = mapped_column(String(17))
    # property, weapon, document
    description: Mapped[str | None] = mapped_column(Text)
    serial_number: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))


class Event(Marked, Retained, Base):
    """Something that happened: a crime, an incident, an intelligence report, a stop and
    search, a missing person report, a custody episode."""

    __tablename__ = "records_event"
    __table_args__ = (
        UniqueConstraint("force_id", "reference"),
        Index("ix_records_event_kind_at", "force_id", "kind", "occurred_from"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(40))
    occurred_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    occurred_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    location_id: Mapped[str | None] = mapped_column(ForeignKey("records_location.id"), index=True)
    summary: Mapped[str] = mapped_column(String(300), default="")
    narrative: Mapped[str] = mapped_column(Text, default="")
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("command_incident.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Link(Base):
    """A relationship between two records, with a role and dates (person -suspect-> crime)."""

    __tablename__ = "records_link"
    __table_args__ = (
        Index("ix_records_link_from", "from_type", "from_id"),
        Index("ix_records_link_to", "to_type", "to_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(ForeignKey("access_force.id"), index=True)
    from_type: Mapped[str] = mapped_column(String(10))
    from_id: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(20))
    to_type: Mapped[str] = mapped_column(String(10))
    to_id: Mapped[str] = mapped_column(String(32))
    from_date: Mapped[date | None] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    # Set when a person merge moved this link (so the merge can be undone).
    moved_by_merge_id: Mapped[str | None] = mapped_column(String(32))


class Crime(Base):
    """A crime record: its Home Office classification, NCRS clock, officer in charge, outcome."""

    __tablename__ = "records_crime"
    __table_args__ = (Index("ix_records_crime_oic", "force_id", "officer_in_charge"),)

    event_id: Mapped[str] = mapped_column(ForeignKey("records_event.id"), primary_key=True)
    force_id: Mapped[str] = mapped_column(String(64), index=True)
    offence_code: Mapped[str] = mapped_column(String(8))  # Home Office offence code, e.g. 28E
    police_uk_category: Mapped[str] = mapped_column(String(60))  # the data.police.uk category slug
    source: Mapped[str] = mapped_column(String(16))  # incident, online, direct
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the NCRS clock starts here
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ncrs_due_at: Mapped[datetime] = mapped_column(UTCDateTime)  # reported_at + 24 h
    recorded_late: Mapped[bool] = mapped_column(Boolean, default=False)
    officer_in_charge: Mapped[str | None] = mapped_column(String(120))  # a username
    status: Mapped[str] = mapped_column(String(16), default="investigating")  # investigating | closed
    outcome_code: Mapped[str | None] = mapped_column(String(4))  # Home Office outcome 1-22
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome_by: Mapped[str | None] = mapped_column(String(120))


class StopSearch(Base):
    """The PACE record of a stop and search (a ``stop_search`` event): who, why, under which
    power, what was looked for and what came of it, in the Home Office's categories. The
    event holds when and where; this is what the monthly publication draws on."""

    __tablename__ = "records_stop_search"

    event_id: Mapped[str] = mapped_column(ForeignKey("records_event.id"), primary_key=True)
    force_id: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(40))  # Person search | Vehicle search | Person and Vehicle search
    operation_name: Mapped[str | None] = mapped_column(String(200))  # set when part of a policing operation
    gender: Mapped[str | None] = mapped_column(String(20))
    age_range: Mapped[str | None] = mapped_column(String(20))  # under 10, 10-17, 18-24, 25-34, over 34
    self_defined_ethnicity: Mapped[str | None] = mapped_column(String(120))
    officer_defined_ethnicity: Mapped[str | None] = mapped_column(String(40))
    legislation: Mapped[str] = mapped_column(String(120))  # e.g. Misuse of Drugs Act 1971 (section 23)
    object_of_search: Mapped[str] = mapped_column(String(120))  # e.g. Controlled drugs
    outcome: Mapped[str] = mapped_column(String(60))  # e.g. A no further action disposal, Arrest
    outcome_linked: Mapped[bool | None] = mapped_column(Boolean)
    removal_of_outer_clothing: Mapped[bool | None] = mapped_column(Boolean)
    officer: Mapped[str] = mapped_column(String(120))  # the searching officer's username


class InvestigationEntry(Base):
    """One append-only entry in a crime's investigation log."""

    __tablename__ = "records_investigation_log"
    __table_args__ = (Index("ix_records_investigation_log_event", "event_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(ForeignKey("records_event.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("records_investigation_log.id"))


class Victim(Base):
    """A victim of a crime and their Victims' Code clock."""

    __tablename__ = "records_victim"
    __table_args__ = (
        UniqueConstraint("event_id", "person_id"),
        Index("ix_records_victim_due", "force_id", "next_update_due"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(ForeignKey("records_event.id"))
    person_id: Mapped[str] = mapped_column(ForeignKey("records_person.id"), index=True)
    enhanced: Mapped[bool] = mapped_column(Boolean, default=False)
    enhanced_reason: Mapped[str | None] = mapped_column(String(200))
    contact_preference: Mapped[str | None] = mapped_column(String(60))
    next_update_due: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)


class VictimUpdate(Base):
    """A Victims' Code update given to a victim."""

    __tablename__ = "records_victim_update"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(String(64))
    victim_id: Mapped[str] = mapped_column(ForeignKey("records_victim.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(120))
    method: Mapped[str] = mapped_column(String(20))  # phone, visit, email, letter
    text: Mapped[str] = mapped_column(Text)


class Intelligence(Base):
    """An intelligence report graded 3x5x2. The source's identity is kept apart and shown
    only to the source-handling role; others read the sanitised text."""

    __tablename__ = "records_intelligence"

    event_id: Mapped[str] = mapped_column(ForeignKey("records_event.id"), primary_key=True)
    force_id: Mapped[str] = mapped_column(String(64), index=True)
    source_evaluation: Mapped[str] = mapped_column(String(1))  # 1, 2, 3
    intelligence_assessment: Mapped[str] = mapped_column(String(1))  # A-E
    handling_code: Mapped[str] = mapped_column(String(1))  # P or C
    handling_conditions: Mapped[str | None] = mapped_column(Text)  # required for C
    sanitised_text: Mapped[str] = mapped_column(Text)
    source_reference: Mapped[str | None] = mapped_column(String(60))  # restricted
    source_details: Mapped[str | None] = mapped_column(Text)  # restricted


class Review(Base):
    """MoPI: a record due for review, queued, and the decision taken."""

    __tablename__ = "records_review"
    __table_args__ = (Index("ix_records_review_open", "force_id", "decided_at", "due_on"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(String(64))
    record_type: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[str] = mapped_column(String(32))
    due_on: Mapped[date] = mapped_column(Date)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decision: Mapped[str | None] = mapped_column(String(10))  # retain | dispose
    reason: Mapped[str | None] = mapped_column(Text)
    next_review_on: Mapped[date | None] = mapped_column(Date)


class Tombstone(Base):
    """What is left of a disposed record: that it existed, and who disposed of it, when and why."""

    __tablename__ = "records_tombstone"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    force_id: Mapped[str] = mapped_column(String(64), index=True)
    record_type: Mapped[str] = mapped_column(String(10))
    record_id: Mapped[str] = mapped_column(String(32), index=True)
    retention_group: Mapped[str] = mapped_column(String(8))
    disposed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disposed_by: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)


class Merge(Base):
    """One person merged into another (the golden nominal); undone by ``undone_at``.
    ``moved`` lists what moved (names, identifiers, markers, addresses, links) to undo it."""

    __tablename__ = "records_merge"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(String(64), index=True)
    survivor_id: Mapped[str] = mapped_column(ForeignKey("records_person.id"), index=True)
    merged_id: Mapped[str] = mapped_column(ForeignKey("records_person.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    by: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    moved: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by: Mapped[str | None] = mapped_column(String(120))


class MergeCandidate(Base):
    """A likely duplicate pair found by the dedupe job, awaiting a person's decision."""

    __tablename__ = "records_merge_candidate"
    __table_args__ = (
        UniqueConstraint("force_id", "left_id", "right_id"),
        Index("ix_records_merge_candidate_open", "force_id", "status", "match_weight"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    force_id: Mapped[str] = mapped_column(String(64))
    left_id: Mapped[str] = mapped_column(ForeignKey("records_person.id"))
    right_id: Mapped[str] = mapped_column(ForeignKey("records_person.id"))
    match_weight: Mapped[float] = mapped_column(Float)
    probability: Mapped[float] = mapped_column(Float)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # per-comparison weights
    found_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open, merged, rejected
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(120))


class ReferenceCounter(Base):
    """The next event reference number for a force, kind and year."""

    __tablename__ = "records_reference_counter"

    force_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)
