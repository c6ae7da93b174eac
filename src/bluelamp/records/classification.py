"""The Home Office tables crime recording needs, in one place: offence codes (Home Office
Counting Rules) with their offence group and data.police.uk category, and the crime
outcome types (the Home Office outcomes framework, 1 to 22).

The offence table is ``data/crime_categories.csv`` (provenance and licence in
``data/CRIME_CATEGORIES_SOURCE.md``), read once from the package, never from elsewhere.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "crime_categories.csv"

# data.police.uk crime categories: slug -> name, as its `crime-categories` endpoint gives
# them (anti-social behaviour is not a crime and has no offence code).
POLICE_UK_CATEGORIES: dict[str, str] = {
    "anti-social-behaviour": "Anti-social behaviour",
    "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary",
    "criminal-damage-arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other-theft": "Other theft",
    "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order",
    "robbery": "Robbery",
    "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person",
    "vehicle-crime": "Vehicle crime",
    "violent-crime": "Violence and sexual offences",
    "other-crime": "Other crime",
}

# The CSV's `Police.uk_Cat` display names -> data.police.uk slugs.
_SLUG_OF_CSV_NAME: dict[str, str] = {
    "violence and sexual offences": "violent-crime",
    "possession of weapons": "possession-of-weapons",
    "public order": "public-order",
    "burglary": "burglary",
    "robbery": "robbery",
    "other theft": "other-theft",
    "vehicle crime": "vehicle-crime",
    "theft from the person": "theft-from-the-person",
    "bicycle theft": "bicycle-theft",
    "shoplifting": "shoplifting",
    "criminal damage and arson": "criminal-damage-arson",
    "drugs": "drugs",
    "other crime": "other-crime",
}


@dataclass(frozen=True)
class Offence:
    """One Home Office offence code and where it is counted."""

    code: str  # e.g. 28E, 105A, 4.1
    description: str
    group: str  # Home Office offence group, e.g. "Theft offences"
    subgroup: str  # e.g. "Domestic burglary"
    police_uk_category: str  # data.police.uk slug, e.g. burglary
    not_recordable: str | None = None  # why a force cannot record a new crime under this code

    @property
    def police_uk_name(self) -> str:
        return POLICE_UK_CATEGORIES[self.police_uk_category]

    @property
    def recordable(self) -> bool:
        return self.not_recordable is None


def normalise_code(code: str | None) -> str:
    """An offence code as the table holds it: trimmed, upper case (``28e`` -> ``28E``)."""
    return " ".join((code or "").split()).upper()


def _why_not_recordable(group: str, description: str) -> str | None:
    # HOCR: fraud has been recorded centrally by Action Fraud (NFIB) since 2013-14, not by forces.
    if group.strip().lower() == "fraud offences":
        return "fraud is recorded centrally by Action Fraud, not by the force"
    # Pre-2017 burglary codes survive only so that old crimes can be given outcomes.
    if "outcome only" in description.lower():
        return "this code is kept for outcomes of old crimes only; use its current code"
    return None


@cache
def offences() -> tuple[Offence, ...]:
    """Every offence code in the table, in the table's order (a row naming several codes,
    like ``1/4.1/4.10/4.2`` for homicide, gives one entry per code)."""
    found: list[Offence] = []
    with DATA.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            slug = _SLUG_OF_CSV_NAME[row["Police.uk_Cat"].strip().lower()]
            description = row["Offence_Description"].strip()
            group = row["Offence_Group"].strip()
            for code in row["Offence_Code"].split("/"):
                found.append(
                    Offence(
                        code=normalise_code(code),
                        description=description,
                        group=group,
                        subgroup=row["Offence_Subgroup"].strip(),
                        police_uk_category=slug,
                        not_recordable=_why_not_recordable(group, description),
                    )
                )
    return tuple(found)


@cache
def _by_code() -> dict[str, Offence]:
    return {o.code: o for o in offences()}


def offence(code: str | None) -> Offence | None:
    """The offence with this Home Office code (any case, spaces trimmed), or None."""
    return _by_code().get(normalise_code(code))


# ---------------------------------------------------------------- outcomes


@dataclass(frozen=True)
class OutcomeType:
    """A Home Office crime outcome type (the outcomes framework, April 2013 onwards)."""

    code: str  # "1" to "22"
    name: str
    needs_suspect: bool  # the outcome deals with an identified suspect, so one must be linked
    police_uk: str | None  # the data.police.uk outcome category it is published as


def _o(code: int, name: str, needs_suspect: bool, police_uk: str | None) -> tuple[str, OutcomeType]:
    return str(code), OutcomeType(str(code), name, needs_suspect, police_uk)


# Home Office Counting Rules, crime outcomes framework: outcome types 1-22.
OUTCOMES: dict[str, OutcomeType] = dict(
    [
        _o(1, "Charged/summonsed", True, "charged"),
        _o(2, "Caution – youths", True, "cautioned"),
        _o(3, "Caution – adults", True, "cautioned"),
        _o(4, "Taken into consideration (TIC)", True, "sentenced-in-another-case"),
        _o(5, "The offender has died", True, "unable-to-prosecute"),
        _o(6, "Penalty Notice for Disorder", True, "penalty-notice-issued"),
        _o(7, "Cannabis/khat warning", True, "drugs-possession-warning"),
        _o(8, "Community resolution", True, "local-resolution"),
        _o(9, "Prosecution not in the public interest (CPS decision)", True, "formal-action-not-in-public-interest"),
        _o(
            10,
            "Formal action against the offender is not in the public interest (police decision)",
            True,
            "formal-action-not-in-public-interest",
        ),
        _o(
            11,
            "Prosecution prevented – named suspect below the age of criminal responsibility",
            True,
            "unable-to-prosecute",
        ),
        _o(12, "Prosecution prevented – named suspect too ill to prosecute", True, "unable-to-prosecute"),
        _o(
            13,
            "Prosecution prevented – named suspect identified but victim or key witness dead or too ill",
            True,
            "unable-to-prosecute",
        ),
        _o(
            14,
            "Evidential difficulties victim based – named suspect not identified; the victim does not support "
            "further action",
            False,
            "no-further-action",
        ),
        _o(
            15,
            "Evidential difficulties – named suspect identified; the victim supports action but evidence prevents it",
            True,
            "unable-to-prosecute",
        ),
        _o(
            16,
            "Evidential difficulties victim based – named suspect identified; the victim does not support "
            "(or withdraws support from) action",
            True,
            "unable-to-prosecute",
        ),
        _o(
            17,
            "Prosecution time limit expired: suspect identified but no proceedings possible",
            True,
            "unable-to-prosecute",
        ),
        _o(18, "Investigation complete – no suspect identified", False, "no-further-action"),
        _o(19, "National Fraud Intelligence Bureau filed (fraud only)", False, None),
        _o(
            20,
            "Further action resulting from the crime report will be undertaken by another body or agency",
            False,
            "action-taken-by-another-organisation",
        ),
        _o(
            21,
            "Further investigation to support formal action not in the public interest (police decision)",
            True,
            "further-investigation-not-in-public-interest",
        ),
        _o(
            22,
            "Diversionary, educational or intervention activity undertaken; further action not in the public interest",
            True,
            "further-action-not-in-public-interest",
        ),
    ]
)


def outcome(code: str | int | None) -> OutcomeType | None:
    """The outcome type with this number (``8``, ``"08"`` and ``" 8 "`` alike), or None."""
    text = str(code if code is not None else "").strip()
    if text.isdigit():
        text = str(int(text))
    return OUTCOMES.get(text)
