"""A force's open-data configuration: its public profile (what ``/api/forces/{force}``
shows) and the rules its monthly publication follows.

Stored as JSON under ``ForceSettings.opendata`` on the force row; anything not set takes
the defaults here."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class EngagementMethod(BaseModel):
    """A way the public can reach the force (its web site, social media, a newsletter)."""

    model_config = ConfigDict(extra="forbid")

    title: str
    url: str | None = None
    description: str | None = None
    type: str | None = None


class PublicPerson(BaseModel):
    """A senior officer or team member the force names publicly."""

    model_config = ConfigDict(extra="forbid")

    name: str
    rank: str
    bio: str | None = None
    contact_details: dict[str, str] = Field(default_factory=dict)


class OpenDataSettings(BaseModel):
    """A force's open-data configuration."""

    model_config = ConfigDict(extra="forbid")

    engagement_methods: list[EngagementMethod] = Field(default_factory=list)
    people: list[PublicPerson] = Field(default_factory=list)
    # Publication: every published map point covers at least this many addresses.
    min_addresses_per_point: int = Field(8, ge=2, le=1000)
    # Publication: data.police.uk category slugs never published by this force.
    withheld_categories: list[str] = Field(default_factory=list)
    # Publication: the name the CSVs give in "Reported by" / "Falls within"; the force's name if unset.
    published_name: str | None = None


def opendata_settings(force_settings_opendata: dict[str, Any] | None) -> OpenDataSettings:
    """A force's open-data settings from the JSON stored on its row (``ForceSettings.opendata``)."""
    return OpenDataSettings.model_validate(force_settings_opendata or {})
