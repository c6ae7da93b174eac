"""Reads and writes of a crime recorded at the scene (mobile/scene.py): photos, signatures,
suspect descriptions and statements of a crime, and what the phone needs to know about
the officer (the incident they are attending, the name they sign statements with)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from bluelamp.access.model import User
from bluelamp.command.model import Assignment, Incident
from bluelamp.mobile.model import SceneBlob, ScenePhoto, SceneStatement, SceneSuspect
from bluelamp.tracking.model import Duty, Officer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def add(session: Session, *rows) -> None:
    session.add_all(rows)
    session.flush()


def photos_of(session: Session, event_id: str) -> list[ScenePhoto]:
    """A crime's photos, oldest first (no bytes: those are in the blobs)."""
    return list(
        session.scalars(
            select(ScenePhoto).where(ScenePhoto.event_id == event_id).order_by(ScenePhoto.created_at, ScenePhoto.id)
        )
    )


def photo_of(session: Session, event_id: str, photo_id: str) -> ScenePhoto | None:
    return session.scalars(
        select(ScenePhoto).where(ScenePhoto.id == photo_id, ScenePhoto.event_id == event_id)
    ).one_or_none()


def statements_of(session: Session, event_id: str) -> list[SceneStatement]:
    return list(
        session.scalars(
            select(SceneStatement)
            .where(SceneStatement.event_id == event_id)
            .order_by(SceneStatement.signed_at, SceneStatement.id)
        )
    )


def statement_of(session: Session, event_id: str, statement_id: str) -> SceneStatement | None:
    return session.scalars(
        select(SceneStatement).where(SceneStatement.id == statement_id, SceneStatement.event_id == event_id)
    ).one_or_none()


def suspects_of(session: Session, event_id: str) -> list[SceneSuspect]:
    return list(
        session.scalars(
            select(SceneSuspect)
            .where(SceneSuspect.event_id == event_id)
            .order_by(SceneSuspect.created_at, SceneSuspect.id)
        )
    )


def blob(session: Session, blob_id: str) -> SceneBlob | None:
    return session.get(SceneBlob, blob_id)


def attending(session: Session, user_id: str | None, force_id: str | None, at: datetime) -> Incident | None:
    """The incident the user's unit is assigned to now (the user crews it on a duty that
    covers ``at``), or None. The caller checks the actor may see it."""
    if user_id is None or force_id is None:
        return None
    return session.scalars(
        select(Incident)
        .join(Assignment, Assignment.incident_id == Incident.id)
        .join(Duty, Duty.unit_id == Assignment.unit_id)
        .join(Officer, Officer.id == Duty.officer_id)
        .where(
            Officer.user_id == user_id,
            Officer.force_id == force_id,
            Duty.starts_at <= at,
            Duty.ends_at > at,
            Assignment.released_at.is_(None),
        )
        .order_by(Assignment.assigned_at.desc())
        .limit(1)
    ).first()


def signing_name(session: Session, user_id: str | None, username: str) -> str:
    """How an officer signs a statement they took: rank, collar number and name when the
    user is an officer (``PC 4721 Dan Whitmore``), else the user's display name."""
    if user_id is not None:
        officer = session.scalars(select(Officer).where(Officer.user_id == user_id)).first()
        if officer is not None:
            return " ".join(p for p in (officer.rank, officer.collar_number, officer.name) if p)
        user = session.get(User, user_id)
        if user is not None and user.display_name:
            return user.display_name
    return username
