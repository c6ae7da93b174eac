"""data.police.uk's words, in one place: months, crime categories (today's and the retired
ones), outcome categories, the archive CSV headers, the 44 force ids, and the
stop-and-search vocabulary as it drifted between years.

Provenance (so a reader knows what to trust):

- *Sourced* from ../shared/docs/police-uk-api.md (1.3, 1.4) and the real archive files in
  ``data/police-uk/``: today's 15 crime categories, the 28 outcome codes and names, the three
  CSV headers, the 2016 stop-and-search values (``White - White British (W1)``, ``Nothing
  found - no further action``, ``Suspect arrested``, ``Local resolution``), the outcome name
  ``Offender given penalty notice`` (without the "a"), and the current stop outcome ids
  ``bu-no-further-action``, ``bu-arrest`` and ``bu-summons`` (recorded API responses found by
  code search).
- *Sourced, third-party*: today's self-defined ethnicity names (the 2011 census wording, as
  analysts' scripts of the current archives list them), the retired slug
  ``public-disorder-weapons`` ("Public disorder and weapons") and the older names "Violent
  crime" and "All crime and ASB" (old clients' category tables and a 2011 police.uk page).
- *Inferred*, marked where they are used: the months at which the category sets changed
  (2011-09 and 2013-05), the mapping of each retired stop outcome to today's, and the ids
  ``bu-community-resolution``, ``bu-caution``, ``bu-penalty-notice`` and
  ``bu-khat-or-cannabis-warning`` (the pattern of the sourced ids; not seen in a response).
"""

from __future__ import annotations

import re

from bluelamp.records.classification import POLICE_UK_CATEGORIES

# ---------------------------------------------------------------------------- months

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def parse_month(text: str) -> int:
    """``"2016-07"`` -> ``201607``. Anything else (``2016-7``, ``2016-13``, ``July``)
    raises ``ValueError``."""
    found = _MONTH.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f"a month is YYYY-MM, not {text!r}")
    year, month = int(found.group(1)), int(found.group(2))
    if not 1 <= month <= 12 or year < 1900:
        raise ValueError(f"a month is YYYY-MM, not {text!r}")
    return year * 100 + month


def month_text(month: int) -> str:
    """``201607`` -> ``"2016-07"``."""
    return f"{month // 100:04d}-{month % 100:02d}"


# ---------------------------------------------------------------------------- crime categories

# Today's list, exactly as `crime-categories` gives it: all-crime first, then the 14 the
# archives use (police-uk-api.md 1.4; POLICE_UK_CATEGORIES holds them in that order).
CRIME_CATEGORIES: dict[str, str] = {"all-crime": "All crime", **POLICE_UK_CATEGORIES}

# Retired slugs: counted in older months only. Sourced from old clients' category tables.
RETIRED_CATEGORIES: dict[str, str] = {"public-disorder-weapons": "Public disorder and weapons"}

# When the category set changed (inferred from data.police.uk's change history as remembered
# and cross-checked against old clients; the exact first months are not verified):
# - from launch (2010-12) to 2011-08: six categories, "Violent crime" still named so;
# - 2011-09 to 2013-04: criminal damage and arson, drugs, other theft, shoplifting and public
#   disorder and weapons split out of other crime;
# - from 2013-05: public disorder and weapons split into public order and possession of
#   weapons; bicycle theft and theft from the person split out of other theft; violent crime
#   took in sexual offences and became "Violence and sexual offences".
FIRST_SPLIT = 201109
SECOND_SPLIT = 201305

_ERA_1 = ("all-crime", "anti-social-behaviour", "burglary", "robbery", "vehicle-crime", "violent-crime", "other-crime")
_ERA_2 = (
    "all-crime",
    "anti-social-behaviour",
    "burglary",
    "criminal-damage-arson",
    "drugs",
    "other-theft",
    "public-disorder-weapons",
    "robbery",
    "shoplifting",
    "vehicle-crime",
    "violent-crime",
    "other-crime",
)
_OLD_NAMES = {"violent-crime": "Violent crime", "all-crime": "All crime and ASB"}


def crime_categories(month: int | None = None) -> list[dict[str, str]]:
    """The ``crime-categories`` answer for a month (``None``: today's list):
    ``[{"url": slug, "name": name}]``, with the retired slugs and older names for months
    before 2013-05 (see the era notes above: the boundaries are inferred)."""
    if month is None or month >= SECOND_SPLIT:
        return [{"url": slug, "name": name} for slug, name in CRIME_CATEGORIES.items()]
    slugs = _ERA_1 if month < FIRST_SPLIT else _ERA_2
    names = {**CRIME_CATEGORIES, **RETIRED_CATEGORIES, **_OLD_NAMES}
    return [{"url": slug, "name": names[slug]} for slug in slugs]


def _key(text: str) -> str:
    """A wording-insensitive key: lower case, ``&`` read as "and", punctuation and the
    articles a/an/the dropped ("Offender given a penalty notice" == "Offender given penalty
    notice"; "Criminal damage & arson" == "Criminal damage and arson")."""
    words = re.sub(r"[^a-z0-9]+", " ", text.lower().replace("&", " and ")).split()
    return " ".join(w for w in words if w not in ("a", "an", "the"))


_SLUG_OF: dict[str, str] = {}
for _slug, _name in {**CRIME_CATEGORIES, **RETIRED_CATEGORIES}.items():
    _SLUG_OF[_key(_name)] = _slug
    _SLUG_OF[_key(_slug)] = _slug
_SLUG_OF.update(
    {
        _key("Violent crime"): "violent-crime",  # the name before 2013-05
        _key("Violence against the person"): "violent-crime",  # inferred: some older CSVs
        _key("Public disorder & weapons"): "public-disorder-weapons",
        _key("Public disorder and possession of weapons"): "public-disorder-weapons",
        _key("ASB"): "anti-social-behaviour",
        _key("Anti social behaviour"): "anti-social-behaviour",
        _key("Criminal damage & arson"): "criminal-damage-arson",
    }
)
del _slug, _name


def category_slug(crime_type: str) -> str | None:
    """A CSV ``Crime type`` of any year (or a slug) -> the data.police.uk slug; ``None``
    when it is not a category (``"All crime"`` is a query, never a row's type)."""
    slug = _SLUG_OF.get(_key(crime_type))
    return None if slug == "all-crime" else slug


# ---------------------------------------------------------------------------- outcomes

OUTCOME_CATEGORIES: dict[str, str] = {
    "awaiting-court-result": "Awaiting court outcome",
    "court-result-unavailable": "Court result unavailable",
    "unable-to-proceed": "Court case unable to proceed",
    "local-resolution": "Local resolution",
    "no-further-action": "Investigation complete; no suspect identified",
    "deprived-of-property": "Offender deprived of property",
    "fined": "Offender fined",
    "absolute-discharge": "Offender given absolute discharge",
    "cautioned": "Offender given a caution",
    "drugs-possession-warning": "Offender given a drugs possession warning",
    "penalty-notice-issued": "Offender given a penalty notice",
    "community-penalty": "Offender given community sentence",
    "conditional-discharge": "Offender given conditional discharge",
    "suspended-sentence": "Offender given suspended prison sentence",
    "imprisoned": "Offender sent to prison",
    "other-court-disposal": "Offender otherwise dealt with",
    "compensation": "Offender ordered to pay compensation",
    "sentenced-in-another-case": "Suspect charged as part of another case",
    "charged": "Suspect charged",
    "not-guilty": "Defendant found not guilty",
    "sent-to-crown-court": "Defendant sent to Crown Court",
    "unable-to-prosecute": "Unable to prosecute suspect",
    "formal-action-not-in-public-interest": "Formal action is not in the public interest",
    "action-taken-by-another-organisation": "Action to be taken by another organisation",
    "further-investigation-not-in-public-interest": "Further investigation is not in the public interest",
    "further-action-not-in-public-interest": "Further action is not in the public interest",
    "under-investigation": "Under investigation",
    "status-update-unavailable": "Status update unavailable",
}

_OUTCOME_OF: dict[str, str] = {}
for _code, _name in OUTCOME_CATEGORIES.items():
    _OUTCOME_OF[_key(_name)] = _code
    _OUTCOME_OF[_key(_code)] = _code
_OUTCOME_OF.update(
    {
        # Wordings seen beside the API's (the articles are already ignored by _key, so
        # "Offender given penalty notice", sourced from the 2017 file, needs no entry).
        _key("Awaiting court result"): "awaiting-court-result",  # inferred: older wording
        _key("Investigation complete - no suspect identified"): "no-further-action",
        _key("No further action"): "no-further-action",  # inferred: older wording
        _key("Offender given caution"): "cautioned",
        _key("Offender cautioned"): "cautioned",
        _key("Offender given community penalty"): "community-penalty",
        _key("Offender given suspended sentence"): "suspended-sentence",
        _key("Defendant sent to crown court"): "sent-to-crown-court",
        _key("Court case unable to proceed"): "unable-to-proceed",
    }
)
del _code, _name


def outcome_code(name: str) -> str | None:
    """An outcome display name of any wording (or a code) -> its code; ``None`` when
    unknown. ``"Offender given penalty notice"`` -> ``"penalty-notice-issued"``."""
    return _OUTCOME_OF.get(_key(name)) if name else None


# ---------------------------------------------------------------------------- archive headers

STREET_COLUMNS: tuple[str, ...] = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)
OUTCOME_COLUMNS: tuple[str, ...] = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Outcome type",
)
STOP_COLUMNS: tuple[str, ...] = (
    "Type",
    "Date",
    "Part of a policing operation",
    "Policing operation",
    "Latitude",
    "Longitude",
    "Gender",
    "Age range",
    "Self-defined ethnicity",
    "Officer-defined ethnicity",
    "Legislation",
    "Object of search",
    "Outcome",
    "Outcome linked to object of search",
    "Removal of more than just outer clothing",
)

# ---------------------------------------------------------------------------- forces

# data.police.uk force ids -> names: the 44 of `forces` (43 England and Wales forces and
# Northern Ireland), plus British Transport Police, which the archives carry as `btp` but
# `forces` does not list. Ids sourced (police-uk-api.md and archive file names); names as
# the forces style themselves and as "Reported by" gives them.
FORCES: dict[str, str] = {
    "avon-and-somerset": "Avon and Somerset Constabulary",
    "bedfordshire": "Bedfordshire Police",
    "cambridgeshire": "Cambridgeshire Constabulary",
    "cheshire": "Cheshire Constabulary",
    "city-of-london": "City of London Police",
    "cleveland": "Cleveland Police",
    "cumbria": "Cumbria Constabulary",
    "derbyshire": "Derbyshire Constabulary",
    "devon-and-cornwall": "Devon & Cornwall Police",
    "dorset": "Dorset Police",
    "durham": "Durham Constabulary",
    "dyfed-powys": "Dyfed-Powys Police",
    "essex": "Essex Police",
    "gloucestershire": "Gloucestershire Constabulary",
    "greater-manchester": "Greater Manchester Police",
    "gwent": "Gwent Police",
    "hampshire": "Hampshire Constabulary",
    "hertfordshire": "Hertfordshire Constabulary",
    "humberside": "Humberside Police",
    "kent": "Kent Police",
    "lancashire": "Lancashire Constabulary",
    "leicestershire": "Leicestershire Police",
    "lincolnshire": "Lincolnshire Police",
    "merseyside": "Merseyside Police",
    "metropolitan": "Metropolitan Police Service",
    "norfolk": "Norfolk Constabulary",
    "north-wales": "North Wales Police",
    "north-yorkshire": "North Yorkshire Police",
    "northamptonshire": "Northamptonshire Police",
    "northumbria": "Northumbria Police",
    "nottinghamshire": "Nottinghamshire Police",
    "south-wales": "South Wales Police",
    "south-yorkshire": "South Yorkshire Police",
    "staffordshire": "Staffordshire Police",
    "suffolk": "Suffolk Constabulary",
    "surrey": "Surrey Police",
    "sussex": "Sussex Police",
    "thames-valley": "Thames Valley Police",
    "warwickshire": "Warwickshire Police",
    "west-mercia": "West Mercia Police",
    "west-midlands": "West Midlands Police",
    "west-yorkshire": "West Yorkshire Police",
    "wiltshire": "Wiltshire Police",
    "northern-ireland": "Police Service of Northern Ireland",
    "btp": "British Transport Police",
}
BTP_NAME = "British Transport Police"

# ---------------------------------------------------------------------------- stop and search

# Today's stop outcomes -> their `outcome_object.id`. Sourced: the first three ids; the rest
# inferred from their pattern.
STOP_OUTCOMES: dict[str, str] = {
    "A no further action disposal": "bu-no-further-action",
    "Arrest": "bu-arrest",
    "Summons / charged by post": "bu-summons",
    "Community resolution": "bu-community-resolution",  # inferred id
    "Caution (simple or conditional)": "bu-caution",  # inferred id
    "Penalty Notice for Disorder": "bu-penalty-notice",  # inferred id
    "Khat or Cannabis warning": "bu-khat-or-cannabis-warning",  # inferred id
}

# Retired stop outcomes (the 2016 archives; the first four sourced from the Staffordshire file
# and old analysts' scripts) -> today's. The mapping is inferred from meaning: "Local
# resolution" is what is now called a community resolution; a drugs possession warning is
# now a khat or cannabis warning; a search that found nothing, or found psychoactive
# substances and took no further action, ended in a no further action disposal.
_OLD_STOP_OUTCOMES: dict[str, str] = {
    "Nothing found - no further action": "A no further action disposal",
    "Suspect arrested": "Arrest",
    "Local resolution": "Community resolution",
    "Suspect summonsed to court": "Summons / charged by post",
    "Offender cautioned": "Caution (simple or conditional)",
    "Offender given penalty notice": "Penalty Notice for Disorder",
    "Offender given drugs possession warning": "Khat or Cannabis warning",
    "Suspected psychoactive substances seized - No further action": "A no further action disposal",
}
# Outcomes that were published but have no equivalent today: kept as published, no id.
_STOP_OUTCOME_OF: dict[str, tuple[str, str | None]] = {_key(n): (n, i) for n, i in STOP_OUTCOMES.items()}
_STOP_OUTCOME_OF.update({_key(old): (new, STOP_OUTCOMES[new]) for old, new in _OLD_STOP_OUTCOMES.items()})


def stop_outcome(text: str) -> tuple[str, str | None]:
    """A stop-and-search ``Outcome`` of any year -> (today's name, its ``outcome_object``
    id). ``""`` (no outcome) -> ``("", None)``; a value with no equivalent today
    (``Article found - Detailed outcome unavailable``) is kept as published, with no id."""
    if not text:
        return "", None
    return _STOP_OUTCOME_OF.get(_key(text), (text, None))


# Self-defined ethnicity: the 2001 census 16+1 list the archives used until about 2017
# (`White - White British (W1)`) -> the 2011 census wording used today. Keyed on the code
# in brackets, which the old values always carry. Chinese (O1) moved to the Asian group in
# the 2011 census.
_ETHNICITY_OF_CODE: dict[str, str] = {
    "W1": "White - English/Welsh/Scottish/Northern Irish/British",
    "W2": "White - Irish",
    "W9": "White - Any other White background",
    "M1": "Mixed/Multiple ethnic groups - White and Black Caribbean",
    "M2": "Mixed/Multiple ethnic groups - White and Black African",
    "M3": "Mixed/Multiple ethnic groups - White and Asian",
    "M9": "Mixed/Multiple ethnic groups - Any other Mixed/Multiple ethnic background",
    "A1": "Asian/Asian British - Indian",
    "A2": "Asian/Asian British - Pakistani",
    "A3": "Asian/Asian British - Bangladeshi",
    "A9": "Asian/Asian British - Any other Asian background",
    "B1": "Black/African/Caribbean/Black British - Caribbean",
    "B2": "Black/African/Caribbean/Black British - African",
    "B9": "Black/African/Caribbean/Black British - Any other Black/African/Caribbean background",
    "O1": "Asian/Asian British - Chinese",
    "O9": "Other ethnic group - Any other ethnic group",
    "NS": "Other ethnic group - Not stated",
}
_ETHNICITY_CODE = re.compile(r"\(([A-Z][A-Z0-9])\)\s*$")


def self_defined_ethnicity(text: str) -> str | None:
    """A ``Self-defined ethnicity`` of any year -> today's wording; ``""`` -> ``None``.
    ``White - White British (W1)`` -> ``White - English/Welsh/Scottish/Northern Irish/British``;
    a current or unknown value is kept as published."""
    if not text:
        return None
    found = _ETHNICITY_CODE.search(text)
    if found is not None:
        return _ETHNICITY_OF_CODE.get(found.group(1), text)
    return text
