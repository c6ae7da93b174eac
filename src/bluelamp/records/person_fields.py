"""A person's fields: the values they may hold (genders, address and name kinds, ethnicity
codes, identifier formats) and the checks of a person's identity, date of birth and
identifiers that creating and correcting a person share (``records/persons.py``,
``records/person_parts.py``) and that forms and checks from the field reuse.

Decisions this module makes (issue 6):

- **A date of birth may be partial**: year, month and day are each known or not (a day
  needs its month). What is known must be possible (a real date, 1 to 12 for a month, at
  most 130 years ago) and not in the future.
"""

from __future__ import annotations

import calendar
import re
from datetime import date
from typing import Any

from bluelamp.errors import CATALOGUE, FieldProblem, InvalidInput
from bluelamp.records.model import IdentifierKind, NameKind
from bluelamp.records.pole import retention_problems

for _code, _kind, _meaning in [
    (
        "person.invalid_dob",
        InvalidInput,
        "The date of birth is impossible or in the future (year, month and day may each be left unknown).",
    ),
]:
    CATALOGUE.register(_code, _kind, _meaning)


GENDERS = ("female", "male", "other", "unknown")
ADDRESS_KINDS = ("home", "previous", "work", "care_of")
OTHER_NAME_KINDS = (NameKind.ALIAS.value, NameKind.PREVIOUS.value, NameKind.NICKNAME.value)
OLDEST_YEARS = 130  # nobody recorded was born longer ago than this


# Self-defined ethnicity: the 18+1 codes police record (the census categories, and NS for
# "not stated"); W4 (Roma) was added with the 2021 census.
SELF_DEFINED_ETHNICITY: dict[str, str] = {
    "A1": "Asian or Asian British: Indian",
    "A2": "Asian or Asian British: Pakistani",
    "A3": "Asian or Asian British: Bangladeshi",
    "A4": "Asian or Asian British: Chinese",
    "A9": "Asian or Asian British: any other Asian background",
    "B1": "Black or Black British: Caribbean",
    "B2": "Black or Black British: African",
    "B9": "Black or Black British: any other Black background",
    "M1": "Mixed: White and Black Caribbean",
    "M2": "Mixed: White and Black African",
    "M3": "Mixed: White and Asian",
    "M9": "Mixed: any other Mixed background",
    "O1": "Other ethnic group: Arab",
    "O9": "Other ethnic group: any other ethnic group",
    "W1": "White: English, Welsh, Scottish, Northern Irish or British",
    "W2": "White: Irish",
    "W3": "White: Gypsy or Irish Traveller",
    "W4": "White: Roma",
    "W9": "White: any other White background",
    "NS": "Not stated",
}
# The officer-defined (IC) codes: what the officer perceives, recorded beside self-definition.
OFFICER_ETHNICITY: dict[str, str] = {
    "IC1": "White: North European",
    "IC2": "White: South European",
    "IC3": "Black",
    "IC4": "Asian",
    "IC5": "Chinese, Japanese or other South East Asian",
    "IC6": "Arab or North African",
    "IC9": "Unknown",
}


# Identifier formats, after normalising (upper case, no spaces).
IDENTIFIER_FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    IdentifierKind.PNC_ID: (re.compile(r"^[0-9]{2}/[0-9]{1,7}[A-Z]$"), "a PNC ID is like 99/123456A"),
    IdentifierKind.CRO_NUMBER: (re.compile(r"^[0-9]{1,6}/[0-9]{2}[A-Z]$"), "a CRO number is like 123456/99A"),
    IdentifierKind.DRIVING_LICENCE: (
        re.compile(r"^([A-Z9]{5}[0-9]{6}[A-Z9]{2}[0-9][A-Z0-9]{2}|[0-9]{8})$"),
        "a GB driving licence number has 16 characters (e.g. MORGA753116SM9IJ); Northern Ireland's 8 digits",
    ),
    IdentifierKind.PASSPORT: (re.compile(r"^[A-Z0-9]{6,9}$"), "a passport number has 6 to 9 letters and digits"),
    IdentifierKind.NI_NUMBER: (
        re.compile(r"^(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$"),
        "a National Insurance number is like AB123456C",
    ),
}


# ---------------------------------------------------------------- checks


def dob_problems(year: int | None, month: int | None, day: int | None, today: date) -> list[FieldProblem]:
    """What is wrong with a full or partial date of birth (empty when it is possible)."""
    problems: list[FieldProblem] = []
    if year is not None and not today.year - OLDEST_YEARS <= year <= today.year:
        word = "in the future" if year > today.year else f"more than {OLDEST_YEARS} years ago"
        problems.append(FieldProblem("dob_year", f"{year} is {word}"))
    if month is not None and not 1 <= month <= 12:
        problems.append(FieldProblem("dob_month", "a month is 1 to 12"))
    if day is not None:
        if month is None:
            problems.append(FieldProblem("dob_day", "a day of birth needs its month"))
        elif 1 <= month <= 12:
            # Without a year, 29 February is possible.
            longest = calendar.monthrange(year if year is not None else 2000, month)[1]
            if not 1 <= day <= longest:
                problems.append(FieldProblem("dob_day", f"{calendar.month_name[month]} has {longest} days"))
    if problems or year is None:
        return problems
    if month is not None and (year, month) > (today.year, today.month):
        problems.append(FieldProblem("dob_month", "the date of birth is in the future"))
    elif month is not None and day is not None and date(year, month, day) > today:
        problems.append(FieldProblem("dob_day", "the date of birth is in the future"))
    return problems


_DOB_FORMS = (
    re.compile(r"^(?P<y>[0-9]{4})(-(?P<m>[0-9]{1,2})(-(?P<d>[0-9]{1,2}))?)?$"),  # 1985-03-12, 1985-03, 1985
    re.compile(r"^((?P<d>[0-9]{1,2})/)?(?P<m>[0-9]{1,2})/(?P<y>[0-9]{4})$"),  # 12/03/1985, 03/1985
)


def parse_dob(text: str | None) -> tuple[int | None, int | None, int | None]:
    """A typed date of birth, full or partial (1985-03-12, 1985-03, 1985, 12/03/1985,
    03/1985), as (year, month, day); blank is all unknown. Checked by ``dob_problems``."""
    value = (text or "").strip()
    if not value:
        return None, None, None
    for form in _DOB_FORMS:
        match = form.match(value)
        if match:
            parts = match.groupdict()
            return tuple(int(parts[k]) if parts.get(k) else None for k in ("y", "m", "d"))  # type: ignore[return-value]
    raise InvalidInput(
        f"{value!r} is not a date of birth: use 1985-03-12, 1985-03, 1985 or 12/03/1985",
        code="person.invalid_dob",
        problems=[FieldProblem("dob", "use 1985-03-12, 1985-03, 1985 or 12/03/1985")],
    )


def name_problems(given: str, family: str, prefix: str = "") -> list[FieldProblem]:
    problems = []
    if not (given or "").strip() and not (family or "").strip():
        problems.append(FieldProblem(f"{prefix}family_name", "give a family name or a given name"))
    for name, value in (("given_names", given), ("family_name", family)):
        if len((value or "").strip()) > 200:
            problems.append(FieldProblem(f"{prefix}{name}", "at most 200 characters"))
    return problems


def dates_problems(start: date | None, end: date | None, prefix: str) -> list[FieldProblem]:
    if start and end and end < start:
        return [FieldProblem(f"{prefix}to_date", "ends before it starts")]
    return []


def normalise_identifier(kind: str, value: str) -> str:
    """An identifier as stored and compared: upper case, spaces and dashes gone; a PNC ID's
    year as two digits and its number without leading zeros (2001/0012345X is 01/12345X)."""
    text = re.sub(r"[\s\-]+", "", value or "").upper()
    if kind == IdentifierKind.PNC_ID:
        match = re.fullmatch(r"([0-9]{2}|[0-9]{4})/0*([0-9]{1,7})([A-Z])", text)
        if match:
            return f"{match.group(1)[-2:]}/{match.group(2)}{match.group(3)}"
    return text


def identifier_problems(kind: str, value: str, prefix: str = "") -> list[FieldProblem]:
    if kind not in {k.value for k in IdentifierKind}:
        return [FieldProblem(f"{prefix}kind", f"use one of {', '.join(k.value for k in IdentifierKind)}")]
    pattern, hint = IDENTIFIER_FORMATS[kind]
    if not pattern.match(normalise_identifier(kind, value)):
        return [FieldProblem(f"{prefix}value", hint)]
    return []


def _description_problems(description: Any) -> list[FieldProblem]:
    if not isinstance(description, dict):
        return [FieldProblem("description", "a description is a set of named features (height, build, hair...)")]
    problems = []
    if len(description) > 40:
        problems.append(FieldProblem("description", "at most 40 features"))
    for key, value in description.items():
        if not isinstance(key, str) or not key.strip() or len(key) > 40:
            problems.append(FieldProblem("description", f"feature names are words of up to 40 characters: {key!r}"))
        elif value is not None and not isinstance(value, str | int | float):
            problems.append(FieldProblem(f"description.{key}", "a feature is text or a number"))
        elif isinstance(value, str) and len(value) > 500:
            problems.append(FieldProblem(f"description.{key}", "at most 500 characters"))
    return problems


def identity_problems(values: dict[str, Any], today: date) -> list[FieldProblem]:
    """Problems with a person's identity fields (any subset of NewPerson's)."""
    problems: list[FieldProblem] = []
    if "given_names" in values or "family_name" in values:
        problems += name_problems(values.get("given_names", ""), values.get("family_name", ""))
    problems += dob_problems(values.get("dob_year"), values.get("dob_month"), values.get("dob_day"), today)
    gender = values.get("gender")
    if gender is not None and gender not in GENDERS:
        problems.append(FieldProblem("gender", f"use one of {', '.join(GENDERS)}"))
    code = values.get("self_defined_ethnicity")
    if code is not None and code not in SELF_DEFINED_ETHNICITY:
        problems.append(
            FieldProblem("self_defined_ethnicity", "use an 18+1 code (A1-A9, B1-B9, M1-M9, O1, O9, W1-W9, NS)")
        )
    code = values.get("officer_ethnicity")
    if code is not None and code not in OFFICER_ETHNICITY:
        problems.append(FieldProblem("officer_ethnicity", "use an IC code: IC1 to IC6, or IC9 for unknown"))
    if "description" in values:
        problems += _description_problems(values["description"] if values["description"] is not None else {})
    if values.get("birth_place") and len(values["birth_place"]) > 200:
        problems.append(FieldProblem("birth_place", "at most 200 characters"))
    problems += retention_problems(values.get("retention_group"))
    return problems


def clean_code(value: str | None) -> str | None:
    return value.strip().upper() or None if isinstance(value, str) else value


def clean_gender(value: str | None) -> str | None:
    return value.strip().lower() or None if isinstance(value, str) else value
