"""Forces: the tenants of the platform."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField
from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bluelamp.storage.base import Base, JSONType, UTCDateTime


class Force(Base):
    """A police force. Its id is the data.police.uk force id (``staffordshire``)."""

    __tablename__ = "access_force"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    reference_prefix: Mapped[str] = mapped_column(String(8))
    url: Mapped[str | None] = mapped_column(String(300))
    telephone: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class GradeTarget(BaseModel):
    """Attendance target for one grade, in minutes (None: no attendance)."""

    name: str
    urban_minutes: int | None = PydField(ge=1)
    rural_minutes: int | None = PydField(ge=1)


def _default_grades() -> dict[str, GradeTarget]:
    # DOMAIN.md "Grades": defaults, configurable per force.
    return {
        "1": GradeTarget(name="Immediate", urban_minutes=15, rural_minutes=20),
        "2": GradeTarget(name="Priority", urban_minutes=60, rural_minutes=60),
        "3": GradeTarget(name="Scheduled", urban_minutes=48 * 60, rural_minutes=48 * 60),
        "4": GradeTarget(name="Resolution without deployment", urban_minutes=None, rural_minutes=None),
    }


class ForceSettings(BaseModel):
    """Per-force configuration, stored as JSON on the force row."""

    model_config = ConfigDict(extra="forbid")

    grades: dict[str, GradeTarget] = PydField(default_factory=_default_grades)
    victim_first_update_working_days: int = PydField(5, ge=1)
    victim_enhanced_update_working_days: int = PydField(1, ge=1)
