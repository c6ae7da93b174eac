"""Names as search sees them: a normalised form and a phonetic key, computed once when a
name is written (``records_person_name``) and again for a query, so that search looks up
candidates by index and scores only those.

* ``normalise``: upper case, accents folded (É→E, ß→SS, Æ→AE), apostrophes dropped so that
  O'Neil and ONEIL are one name, every other punctuation mark (hyphens too) a space, spaces
  collapsed. "Smith-Jones" becomes "SMITH JONES".
* Phonetic key: **Metaphone** (jellyfish) of the normalised name with its spaces removed
  (and Y after the first letter read as I).
  Metaphone was chosen over NYSIIS and Soundex by trying them on British names: it gives
  SMITH, SMYTH, SMYTHE and SMITHE one key (SM0), STEPHEN and STEVEN one key (STFN),
  CATHERINE/KATHERINE/KATHRYN one key (K0RN), PHILIP/PHILLIP/FILIP one key (FLP), CLARK and
  CLARKE, MACDONALD and MCDONALD, ONEIL and ONEILL; Soundex keeps the first letter
  (K365 against C365 for Katherine/Catherine) and NYSIIS splits SMITH (SNAT) from SMYTH
  (SNYT). The given key is the key of the FIRST given name only; the family key is the key
  of the whole family name (so "Smith-Jones" keys as SM0JNS).
* Double-barrelled and hyphenated family names: the key of the whole name is on the name's
  row; ``part_keys`` gives one more set of keys per part (particles such as VAN, DE, LA
  left out), which writers store as extra ``records_person_name`` rows of kind
  ``PART_KIND`` ("part": search-only rows, never shown as a name). Search for "Jones" then
  finds "Smith-Jones" through the row for JONES, and a query for "Smith-Jones" also looks up
  each of its parts, so it finds a person held as plain "Smith".
* Nicknames: ``nicknames`` answers from ``data/nicknames.csv``, a list of a few hundred
  formal name / nickname pairs written for Bluelamp (see the head of that file).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import jellyfish

PART_KIND = "part"  # records_person_name.kind of the search-only rows for parts of a family name
KEY_LENGTH = 40  # the width of the key columns

_FOLD = str.maketrans(
    {
        "ß": "SS",
        "ẞ": "SS",
        "Æ": "AE",
        "æ": "AE",
        "Œ": "OE",
        "œ": "OE",
        "Ø": "O",
        "ø": "O",
        "Ð": "D",
        "ð": "D",
        "Þ": "TH",
        "þ": "TH",
        "Ł": "L",
        "ł": "L",
        "ı": "I",
        "'": "",
        "’": "",
        "‘": "",
        "`": "",
        "´": "",
        "ʼ": "",
    }
)
_NOT_NAME = re.compile(r"[^A-Z0-9 ]+")
_SPACES = re.compile(r" {2,}")
# Particles that are not a part worth a key of their own in "VAN DER BERG", "DE SOUZA".
PARTICLES = frozenset(
    {"VAN", "VON", "DER", "DEN", "DE", "DI", "DA", "DU", "DEL", "DELLA", "LA", "LE", "ST", "AL", "EL"}
)


@dataclass(frozen=True, slots=True)
class NameKeys:
    """What is written beside a name for search: normalised forms and phonetic keys."""

    given_norm: str
    family_norm: str
    given_key: str
    family_key: str


@lru_cache(maxsize=65536)
def normalise(text: str | None) -> str:
    """Upper case, accents folded, apostrophes removed, other punctuation a space, spaces
    collapsed: "  Seán O'Neil-Smyth " → "SEAN ONEIL SMYTH"."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    folded = "".join(c for c in folded if not unicodedata.combining(c)).upper().translate(_FOLD)
    cleaned = _NOT_NAME.sub(" ", folded)
    return _SPACES.sub(" ", cleaned).strip()


@lru_cache(maxsize=131072)
def phonetic(norm: str) -> str:
    """The phonetic key (Metaphone) of a normalised name, its spaces removed, with Y after
    the first letter read as I first (Metaphone would drop the W of WYLSON but keep it in
    WILSON; SMYTH, LYNNE and KATHRYN are spelt with I as often)."""
    joined = norm.replace(" ", "")
    if not joined:
        return ""
    joined = joined[0] + joined[1:].replace("Y", "I")
    return jellyfish.metaphone(joined)[:KEY_LENGTH]


def first_name(given_norm: str) -> str:
    """The first of normalised given names ("" when there is none)."""
    return given_norm.split(" ", 1)[0] if given_norm else ""


def near_misses(norm: str) -> set[str]:
    """A normalised name with one letter left out, or two neighbouring letters swapped: what
    the name may have been before a typo added a letter or swapped two ("JEDSICA" →
    JESICA, "OHLLY" → HOLLY). The name itself is not among them."""
    out = {norm[:i] + norm[i + 1 :] for i in range(len(norm))}
    out |= {norm[:i] + norm[i + 1] + norm[i] + norm[i + 2 :] for i in range(len(norm) - 1)}
    out.discard(norm)
    out.discard("")
    return out


def keys(given_names: str, family_name: str) -> NameKeys:
    """Normalised forms and phonetic keys of a name (given key from the first given name,
    family key from the whole family name)."""
    given_norm = normalise(given_names)
    family_norm = normalise(family_name)
    return NameKeys(given_norm, family_norm, phonetic(first_name(given_norm)), phonetic(family_norm))


def family_parts(family_norm: str) -> list[str]:
    """The parts of a normalised double-barrelled or hyphenated family name worth a key of
    their own (particles left out); [] for a name of one part."""
    words = family_norm.split()
    if len(words) < 2:
        return []
    parts = [w for w in words if w not in PARTICLES and len(w) > 1]
    return parts if len(parts) >= 2 else []


def part_keys(given_names: str, family_name: str) -> list[NameKeys]:
    """One NameKeys per part of a double-barrelled family name ("Smith-Jones" → keys for
    SMITH and for JONES), to be stored as extra rows of kind PART_KIND; [] for a plain name."""
    whole = keys(given_names, family_name)
    return [
        NameKeys(whole.given_norm, part, whole.given_key, phonetic(part)) for part in family_parts(whole.family_norm)
    ]


@cache
def _nickname_groups() -> dict[str, frozenset[str]]:
    """Each name (formal or nickname) → every name it is commonly equivalent to."""
    text = resources.files("bluelamp.records").joinpath("data/nicknames.csv").read_text(encoding="utf-8")
    groups: dict[str, set[str]] = {}
    lines = (line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    for row in csv.DictReader(lines):
        formal, nickname = normalise(row["name"]), normalise(row["nickname"])
        if formal and nickname and formal != nickname:
            groups.setdefault(formal, {formal}).add(nickname)
    equivalent: dict[str, set[str]] = {}
    for group in groups.values():
        for name in group:
            equivalent.setdefault(name, set()).update(group)
    return {name: frozenset(others - {name}) for name, others in equivalent.items()}


def nicknames(given: str) -> set[str]:
    """The normalised names commonly used for the same first name ("Bill" → WILLIAM, WILL,
    BILLY, ...; "Margaret" → PEGGY, MAGGIE, ...), not including the name itself; an empty
    set when the list knows none."""
    return set(_nickname_groups().get(first_name(normalise(given)), ()))


def nickname_table() -> dict[str, frozenset[str]]:
    """The whole equivalence table (for the generator and bulk use)."""
    return _nickname_groups()
