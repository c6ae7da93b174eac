"""A generator of realistic synthetic persons with duplicates and known ground truth, for
tests, benchmarks and the demo (issue 6 item 8).

``generate(count)`` draws ``count * (1 - duplicate_share)`` real identities and then
``count * duplicate_share`` extra records of some of them, each with one or two controlled
corruptions (``CORRUPTIONS``): typos (keyboard-adjacent substitution, transposition,
omission), phonetic swaps (Smith/Smyth, Stephen/Steven), nicknames, given and family names
swapped, a missing or partial date of birth, day and month swapped, a double-barrelled name
gained or lost, a maiden name. Every record knows its ``true_id``; ``truth`` maps each
record's id to it. The same seed always gives the same population.

Names are drawn from frequency tables kept in ``data/`` (``forenames.csv`` by sex and birth
cohort, ``surnames.csv``), whose heads say where the weights come from. Identities are
drawn with numpy in bulk; only duplicates go through a per-record loop.

``load(database, population)`` writes persons, their name rows with search keys (see
``names``), one location per distinct postcode and the address rows, in batches with
driver-level ``executemany`` (``writes``)."""

from __future__ import annotations

import csv
import gc
import itertools
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from bluelamp.records import names

if TYPE_CHECKING:
    from bluelamp.clock import Clock
    from bluelamp.storage import Database

REFERENCE_YEAR = 2025  # ages are drawn against this year (not the clock), so a seed gives one population

# Corruption kinds of a duplicate record and the relative weight each is drawn with.
CORRUPTIONS: dict[str, float] = {
    "typo_adjacent": 0.11,  # a letter replaced by its neighbour on a QWERTY keyboard
    "typo_transpose": 0.09,  # two neighbouring letters swapped
    "typo_omit": 0.08,  # a letter left out
    "phonetic": 0.12,  # Smith → Smyth, Stephen → Steven, PH → F, double letters...
    "nickname": 0.11,  # William → Bill
    "swapped_names": 0.07,  # given and family names the wrong way round
    "dob_missing": 0.08,  # no date of birth at all
    "dob_partial": 0.08,  # year only, or year and month
    "dob_day_month": 0.06,  # 03/11 recorded as 11/03
    "double_barrelled": 0.08,  # Smith → Smith-Jones, or Smith-Jones → Jones
    "maiden_name": 0.08,  # a woman held under another family name
    "middle_name": 0.04,  # a middle name dropped or added
}
DOB_KINDS = frozenset({"dob_missing", "dob_partial", "dob_day_month"})
MOVED = "moved"  # not a corruption of identity: the duplicate was recorded at another address
TWO_CORRUPTIONS_SHARE = 0.3  # the share of duplicates that carry two corruptions (the rest one)

# Age weights per year of age, by band: police contacts skew young.
_AGE_BANDS = ((12, 18, 0.6), (18, 25, 1.6), (25, 35, 1.8), (35, 45, 1.4), (45, 55, 1.0), (55, 65, 0.7))
_AGE_BANDS += ((65, 75, 0.45), (75, 85, 0.3), (85, 96, 0.12))
DOUBLE_BARRELLED_SHARE = 0.007  # identities born with a double-barrelled family name
MIDDLE_NAME_SHARE = 0.55

# Outward codes of the force area, their town and a weight (people per code, roughly).
_OUTWARDS = [(f"ST{n}", "Stoke-on-Trent", 3.0) for n in (1, 2, 3, 4, 6, 8, 9, 10, 11, 12)]
_OUTWARDS += [("ST5", "Newcastle-under-Lyme", 4.0), ("ST7", "Kidsgrove", 2.0), ("ST13", "Leek", 1.5)]
_OUTWARDS += [("ST14", "Uttoxeter", 1.5), ("ST15", "Stone", 1.5), ("ST16", "Stafford", 2.0), ("ST17", "Stafford", 2.0)]
_OUTWARDS += [("ST18", "Stafford", 1.0), ("ST19", "Penkridge", 1.0), ("WS7", "Burntwood", 1.5)]
_OUTWARDS += [
    ("WS11", "Cannock", 3.0),
    ("WS12", "Cannock", 2.0),
    ("WS13", "Lichfield", 2.0),
    ("WS14", "Lichfield", 1.5),
]
_OUTWARDS += [("WS15", "Rugeley", 1.5), ("DE13", "Burton upon Trent", 2.0), ("DE14", "Burton upon Trent", 2.5)]
_OUTWARDS += [("DE15", "Burton upon Trent", 2.0), ("B77", "Tamworth", 2.0), ("B78", "Tamworth", 1.5)]
_OUTWARDS += [("B79", "Tamworth", 1.5), ("WV5", "Wombourne", 1.0), ("DY7", "Kinver", 0.5)]
TOWNS = {outward: town for outward, town, _ in _OUTWARDS}
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # postcodes' inward letters never use C, I, K, M, O, V
POSTCODE_CAPACITY = len(_OUTWARDS) * 9 * len(_INWARD_LETTERS) ** 2  # distinct postcodes the pattern can make
PERSONS_PER_POSTCODE = 30  # a real postcode holds about 15 addresses

_KEYBOARD = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj", "i": "uojk",
    "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop", "z": "asx", "x": "zsdc", "c": "xdfv",
    "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}  # fmt: skip

# Spellings that sound alike, as they are written (a name maps to the others in its group).
_SOUND_ALIKE_GROUPS = [
    "Smith Smyth Smythe",
    "Thompson Thomson Tomson",
    "Clark Clarke",
    "Davies Davis",
    "Stevens Stephens",
    "Stevenson Stephenson",
    "Phillips Philips",
    "Matthews Mathews",
    "Reid Reed Read",
    "Gray Grey",
    "MacDonald McDonald Macdonald",
    "McKenzie Mackenzie",
    "Allen Allan",
    "Byrne Burn",
    "Nicholls Nichols",
    "Pearce Pierce Pearse",
    "Cook Cooke",
    "Brown Browne",
    "Green Greene",
    "Lloyd Loyd",
    "Hussain Hussein Husain",
    "Ahmed Ahmad",
    "Chaudhry Chaudhary Choudhury",
    "Rahman Rehman",
    "O'Neill O'Neil",
    "O'Brien O'Bryan",
    "Kelly Kelley",
    "Walsh Welsh",
    "Foster Forster",
    "Hurst Hirst",
    "Thorpe Thorp",
    "Bourne Bourn",
    "Beech Beach",
    "Mellor Meller",
    "Hulme Holme",
    "Johnson Jonson",
    "Harvey Harvie",
    "Hughes Hewes",
    "Stephen Steven",
    "Philip Phillip",
    "Catherine Katherine Kathryn",
    "Jeffrey Geoffrey",
    "Sean Shaun Shawn",
    "Ann Anne",
    "Tracey Tracy",
    "Mohammed Muhammad Mohamed",
    "Alan Allan Allen",
    "Carl Karl",
    "Claire Clare",
    "Lee Leigh",
    "Isobel Isabel Isabelle",
    "Leanne Lianne",
    "Zoe Zoey",
    "Stuart Stewart",
    "Neil Neal",
    "Lewis Louis",
    "Matthew Mathew",
    "Rachel Rachael",
    "Hayley Haley",
    "Kirsty Kirstie",
    "Aisha Ayesha",
    "Deborah Debra",
    "Elizabeth Elisabeth",
    "Nicola Nichola",
    "Gemma Jemma",
    "Teresa Theresa",
    "Rebecca Rebekah",
    "Hannah Hanna",
    "Lynne Lynn Lyn",
    "Callum Calum",
    "Connor Conor",
    "Reece Rhys Reese",
    "Jordan Jorden",
    "Dylan Dillon",
    "Kieran Ciaran",
    "Aaron Aron",
    "Marcus Markus",
    "Mark Marc",
    "Jacqueline Jaqueline",
    "Sophie Sophy",
]
# Spelling rules that mostly keep the sound: (pattern, replacement) on upper-case text.
_SOUND_RULES = [
    (r"PH", "F"), (r"(?<=.)F(?=[AEIOU])", "PH"), (r"CK", "K"), (r"(?<=.)Y", "I"), (r"(?<=[^AEIOU])I(?=[^AEIOU])", "Y"),
    (r"EE", "EA"), (r"EA", "EE"), (r"OU", "OW"), (r"([LNTRSDMPFGC])\1", r"\1"),
    (r"(?<=[AEIOU])([LNTRS])(?=[AEIOUY])", r"\1\1"),
    (r"SON$", "SEN"), (r"^C(?=[AOU])", "K"), (r"^K(?=[AOU])", "C"), (r"IE$", "Y"), (r"EY$", "IE"), (r"AI", "AY"),
]  # fmt: skip


class SyntheticPerson(NamedTuple):
    """One synthetic person record; ``true_id`` names the real identity it is a record of
    (a named tuple: millions are made, and it is immutable)."""

    id: str
    true_id: str
    given_names: str
    family_name: str
    dob_year: int | None
    dob_month: int | None
    dob_day: int | None
    gender: str
    postcode: str
    corruptions: tuple[str, ...] = ()


@dataclass
class Population:
    """The generated records and the ground truth (record id → true identity)."""

    persons: list[SyntheticPerson]
    truth: dict[str, str]
    seed: int = 1
    force_id: str = "staffordshire"
    _groups: dict[str, list[str]] | None = field(default=None, repr=False)

    def records_of(self, true_id: str) -> list[str]:
        """The ids of every record of one identity."""
        if self._groups is None:
            groups: dict[str, list[str]] = {}
            for person in self.persons:
                groups.setdefault(person.true_id, []).append(person.id)
            self._groups = groups
        return self._groups.get(true_id, [])

    def duplicate_pairs(self) -> set[tuple[str, str]]:
        """Every pair of records (ordered ids) of the same identity: what dedupe should find."""
        pairs: set[tuple[str, str]] = set()
        self.records_of("")
        for ids in (self._groups or {}).values():
            ordered = sorted(ids)
            pairs.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])
        return pairs


# -- frequency tables -----------------------------------------------------------------------


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files("bluelamp.records").joinpath(f"data/{filename}").read_text(encoding="utf-8")
    return list(csv.DictReader(line for line in text.splitlines() if line.strip() and not line.startswith("#")))


@dataclass(frozen=True)
class Tables:
    """Names and weights, loaded once."""

    surnames: np.ndarray  # of str
    surname_p: np.ndarray
    # (sex, cohort) → (names, probabilities); sex "male"/"female", cohort 0, 1, 2
    forenames: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]
    sound_alike: dict[str, tuple[str, ...]]
    nicknames: dict[str, tuple[str, ...]]  # title-case first name → title-case equivalents


# The long tail: about half of the people of England and Wales have a surname outside the
# few hundred most common ones. The tail is composed from common English place-name elements
# (Ash+worth, Black+burn, Whit+field...), ranked in a fixed pseudo-random order with Zipf weights.
TAIL_SHARE = 0.5
_TAIL_PREFIXES = (  # noqa: SIM905
    "Ash Black Brad Brook Whit Hol Ather Wain Bar Bur Cal Chad Cran Dar Dun Ed El Fair Farn Gold Grim "
    "Hals Hard Haw Hay Heath Hen Horn Kings Lang Lid Mar Mid Mil Mor New Nor Oak Old Pen Pick Rad Red "
    "Rock Rush Sand Shel Sher Stan Stock Sut Thorn Tod Wal War Wat Wel West Wil Win Wood Wor Brom Chur "
    "Fen Ling Rams Sal Ted Al Ap"
).split()
_TAIL_SUFFIXES = (  # noqa: SIM905
    "worth ton ley field ford wood ham by man shaw well er cliffe hurst stone brook combe den dale land "
    "more wick bury son ridge sall ington lock ell ett"
).split()


def _tail_surnames(listed: set[str]) -> list[str]:
    names_ = sorted({p + s for p in _TAIL_PREFIXES for s in _TAIL_SUFFIXES} - listed)
    random.Random(0).shuffle(names_)
    return names_


@cache
def tables() -> Tables:
    surname_rows = _rows("surnames.csv")
    listed = [r["surname"] for r in surname_rows]
    listed_w = np.array([float(r["weight"]) for r in surname_rows])
    tail = _tail_surnames(set(listed))
    tail_w = 1.0 / (np.arange(len(tail)) + 20.0) ** 0.8
    # The listed names hold 1 - TAIL_SHARE of people, the composed tail the rest.
    weights = np.concatenate([listed_w / listed_w.sum() * (1 - TAIL_SHARE), tail_w / tail_w.sum() * TAIL_SHARE])
    surnames = np.array(listed + tail, dtype=object)
    forenames: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}
    fore_rows = _rows("forenames.csv")
    for sex in ("male", "female"):
        rows = [r for r in fore_rows if r["sex"] == sex]
        for cohort, column in enumerate(("before_1960", "from_1960", "from_1985")):
            w = np.array([float(r[column]) for r in rows])
            forenames[(sex, cohort)] = (np.array([r["name"] for r in rows], dtype=object), w / w.sum())
    sound_alike: dict[str, tuple[str, ...]] = {}
    for group in _SOUND_ALIKE_GROUPS:
        spellings = group.split()
        for spelling in spellings:
            sound_alike[spelling] = tuple(s for s in spellings if s != spelling)
    nick: dict[str, tuple[str, ...]] = {}
    for name, others in names.nickname_table().items():
        nick[name.title()] = tuple(sorted(o.title() for o in others))
    return Tables(surnames, weights / weights.sum(), forenames, sound_alike, nick)


@cache
def _cumulative() -> dict[str, np.ndarray]:
    t = tables()
    out = {"surnames": np.cumsum(t.surname_p)}
    for sex in ("male", "female"):
        out[sex] = np.cumsum(t.forenames[(sex, 1)][1])
    return out


# -- corruptions ----------------------------------------------------------------------------


def _letter_positions(text: str) -> list[int]:
    return [i for i, c in enumerate(text) if c.isalpha()]


def _pick_position(rnd: random.Random, positions: list[int]) -> int:
    """A letter's position, rarely the first (people seldom mistype a name's first letter)."""
    if len(positions) > 1 and rnd.random() < 0.92:
        return rnd.choice(positions[1:])
    return positions[0]


def typo_adjacent(text: str, rnd: random.Random) -> str:
    positions = [i for i in _letter_positions(text) if text[i].lower() in _KEYBOARD]
    if not positions:
        return text
    i = _pick_position(rnd, positions)
    new = rnd.choice(_KEYBOARD[text[i].lower()])
    return text[:i] + (new.upper() if text[i].isupper() else new) + text[i + 1 :]


def typo_transpose(text: str, rnd: random.Random) -> str:
    pairs = [i for i in range(len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha() and text[i] != text[i + 1]]
    if not pairs:
        return text
    i = rnd.choice(pairs[1:]) if len(pairs) > 1 and rnd.random() < 0.92 else pairs[0]
    a, b = text[i], text[i + 1]
    if a.isupper() and b.islower():  # the capital stays first: "Smith" → "Msith"
        a, b = a.lower(), b.upper()
    return text[:i] + b + a + text[i + 2 :]


def typo_omit(text: str, rnd: random.Random) -> str:
    positions = _letter_positions(text)
    if len(positions) < 4:
        return text
    i = _pick_position(rnd, positions)
    out = text[:i] + text[i + 1 :]
    return out[0].upper() + out[1:] if i == 0 and out else out


def sound_alike(text: str, rnd: random.Random) -> str:
    """Another spelling that sounds the same: from the table when it knows the name, else a
    spelling rule (PH→F, double letters, -SON→-SEN...)."""
    known = tables().sound_alike.get(text)
    if known:
        return rnd.choice(known)
    upper = text.upper()
    rules = list(_SOUND_RULES)
    rnd.shuffle(rules)
    for pattern, replacement in rules:
        changed = re.sub(pattern, replacement, upper, count=1)
        if changed != upper and len(changed) >= 2:
            return _recase(changed, text)
    return text + "E" if not text.endswith("e") else text[:-1]


def _recase(upper: str, like: str) -> str:
    """``upper`` in the casing of ``like`` (title case unless ``like`` is all capitals)."""
    if like.isupper():
        return upper

    def title(part: str) -> str:
        if part.startswith("O'") and len(part) > 2:
            return "O'" + part[2] + part[3:].lower()
        return part[:1] + part[1:].lower()

    return "-".join(title(part) for part in upper.split("-"))


_TYPOS = {"typo_adjacent": typo_adjacent, "typo_transpose": typo_transpose, "typo_omit": typo_omit}


class Corruptor:
    """Applies corruption kinds to a record's fields, with its own random stream."""

    def __init__(self, rnd: random.Random):
        self.rnd = rnd
        self.tables = tables()
        self._cum: dict[tuple[str, ...], list[float]] = {}

    def applicable(self, kind: str, given: str, family: str, gender: str, day: int | None, month: int | None) -> bool:
        first = given.split(" ", 1)[0]
        if kind == "nickname":
            return first in self.tables.nicknames
        if kind == "maiden_name":
            return gender == "female"
        if kind == "dob_day_month":
            return day is not None and month is not None and day <= 12 and day != month
        if kind in DOB_KINDS:
            return day is not None or month is not None
        return True

    def random_surname(self, other_than: str) -> str:
        """A surname drawn by frequency, other than ``other_than``."""
        surnames, cumulative = self.tables.surnames, _cumulative()["surnames"]
        while True:
            surname = surnames[min(int(np.searchsorted(cumulative, self.rnd.random())), len(surnames) - 1)]
            if surname != other_than:
                return surname

    def random_forename(self, gender: str) -> str:
        pool, _ = self.tables.forenames[(gender, 1)]
        cumulative = _cumulative()[gender]
        return str(pool[min(int(np.searchsorted(cumulative, self.rnd.random())), len(pool) - 1)])

    def apply(
        self, kinds: tuple[str, ...], given: str, family: str, gender: str, y: int | None, m: int | None, d: int | None
    ) -> tuple[str, str, int | None, int | None, int | None]:
        """The fields after every corruption in ``kinds`` (in a fixed, sensible order)."""
        rnd = self.rnd
        parts = given.split(" ")
        if "nickname" in kinds and parts[0] in self.tables.nicknames:
            parts[0] = rnd.choice(self.tables.nicknames[parts[0]])
        if "middle_name" in kinds:
            if len(parts) > 1:
                parts = parts[:1]
            else:
                parts.append(self.random_forename(gender))
        if "maiden_name" in kinds:
            family = self.random_surname(family)
        if "double_barrelled" in kinds:
            split = re.split(r"[- ]", family)
            if len(split) > 1:
                family = rnd.choice(split)
            else:
                other = self.random_surname(family)
                joiner = "-" if rnd.random() < 0.8 else " "
                family = f"{family}{joiner}{other}" if rnd.random() < 0.5 else f"{other}{joiner}{family}"
        if "phonetic" in kinds:
            if rnd.random() < 0.55:
                family = sound_alike(family, rnd)
            else:
                parts[0] = sound_alike(parts[0], rnd)
        for kind in kinds:
            typo = _TYPOS.get(kind)
            if typo is not None:
                # Mostly the family name; the other name when this one is too short to mistype.
                if rnd.random() < 0.55:
                    changed = typo(family, rnd)
                    if changed != family:
                        family = changed
                    else:
                        parts[0] = typo(parts[0], rnd)
                else:
                    changed = typo(parts[0], rnd)
                    if changed != parts[0]:
                        parts[0] = changed
                    else:
                        family = typo(family, rnd)
        given = " ".join(parts)
        if "swapped_names" in kinds:
            given, family = family, parts[0]
        if "dob_missing" in kinds:
            y = m = d = None
        elif "dob_partial" in kinds:
            d = None
            if rnd.random() < 0.6:
                m = None
        elif "dob_day_month" in kinds and d is not None and m is not None and d <= 12:
            d, m = m, d
        return given, family, y, m, d

    def draw_kinds(self, weights: Mapping[str, float], two_share: float) -> tuple[str, ...]:
        rnd = self.rnd
        kinds_, w = zip(*weights.items(), strict=True)
        cached = self._cum.get(kinds_)
        if cached is None:
            cached = self._cum[kinds_] = list(itertools.accumulate(w))
        first = rnd.choices(kinds_, cum_weights=cached)[0]
        if rnd.random() >= two_share:
            return (first,)
        allowed = [
            (k, x) for k, x in zip(kinds_, w, strict=True) if k != first and not (k in DOB_KINDS and first in DOB_KINDS)
        ]
        if not allowed:
            return (first,)
        second = rnd.choices([k for k, _ in allowed], weights=[x for _, x in allowed])[0]
        return (first, second)


# -- generation -----------------------------------------------------------------------------


def _postcodes(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` distinct synthetic postcodes in the force area (outward codes weighted);
    ``count`` must stay well under POSTCODE_CAPACITY."""
    outwards = np.array([o for o, _, _ in _OUTWARDS], dtype=object)
    weights = np.array([w for _, _, w in _OUTWARDS])
    letters = np.array(list(_INWARD_LETTERS), dtype=object)
    seen: dict[str, None] = {}
    while len(seen) < count:
        n = (count - len(seen)) * 11 // 10 + 10
        out = rng.choice(outwards, size=n, p=weights / weights.sum())
        digit = rng.integers(1, 10, size=n).astype(str)
        a = rng.choice(letters, size=n)
        b = rng.choice(letters, size=n)
        for o, dd, x, y in zip(out, digit, a, b, strict=True):
            seen.setdefault(f"{o} {dd}{x}{y}", None)
            if len(seen) == count:
                break
    return np.array(list(seen), dtype=object)


def _ages(rng: np.random.Generator, n: int) -> np.ndarray:
    ages = np.concatenate([np.arange(lo, hi) for lo, hi, _ in _AGE_BANDS])
    weights = np.concatenate([np.full(hi - lo, w) for lo, hi, w in _AGE_BANDS])
    return rng.choice(ages, size=n, p=weights / weights.sum())


def _identities(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` clean identities, drawn column by column."""
    t = tables()
    female = rng.random(n) < 0.5
    years = REFERENCE_YEAR - _ages(rng, n)
    months = rng.integers(1, 13, size=n)
    leap = (years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))
    days_in = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[months - 1] + ((months == 2) & leap)
    days = (rng.random(n) * days_in).astype(int) + 1
    cohort = np.where(years < 1960, 0, np.where(years < 1985, 1, 2))
    first = np.empty(n, dtype=object)
    middle = np.empty(n, dtype=object)
    has_middle = rng.random(n) < MIDDLE_NAME_SHARE
    for sex, mask_sex in (("male", ~female), ("female", female)):
        for c in (0, 1, 2):
            mask = mask_sex & (cohort == c)
            k = int(mask.sum())
            if not k:
                continue
            pool, p = t.forenames[(sex, c)]
            first[mask] = rng.choice(pool, size=k, p=p)
            middle[mask] = rng.choice(pool, size=k, p=p)
    middle[middle == first] = None
    middle[~has_middle] = None
    family = rng.choice(t.surnames, size=n, p=t.surname_p)
    barrelled = np.flatnonzero(rng.random(n) < DOUBLE_BARRELLED_SHARE)
    if len(barrelled):
        seconds = rng.choice(t.surnames, size=len(barrelled), p=t.surname_p)
        for i, second in zip(barrelled, seconds, strict=True):
            if second != family[i]:
                family[i] = f"{family[i]}-{second}"
    given = [f if m is None else f"{f} {m}" for f, m in zip(first, middle, strict=True)]
    return {
        "given": np.array(given, dtype=object),
        "family": family,
        "female": female,
        "year": years,
        "month": months,
        "day": days,
    }


def generate(
    count: int,
    *,
    seed: int = 1,
    duplicate_share: float = 0.2,
    force_id: str = "staffordshire",
    corruptions: Mapping[str, float] | None = None,
    two_corruptions_share: float = TWO_CORRUPTIONS_SHARE,
    moved_share: float = 0.25,
) -> Population:
    """``count`` person records, of which about ``duplicate_share`` are extra records of an
    identity already in the population, each with one or two corruptions drawn with the
    weights of ``corruptions`` (default ``CORRUPTIONS``); ``moved_share`` of duplicates are
    recorded at another postcode (``moved`` in their corruptions). Deterministic for a seed."""
    if count < 1:
        raise ValueError("count must be at least 1")
    collecting = gc.isenabled()
    gc.disable()  # millions of small tuples and no cycles: the collector would only slow this down
    try:
        return _generate(count, seed, duplicate_share, force_id, corruptions, two_corruptions_share, moved_share)
    finally:
        if collecting:
            gc.enable()


def _generate(
    count: int,
    seed: int,
    duplicate_share: float,
    force_id: str,
    corruptions: Mapping[str, float] | None,
    two_corruptions_share: float,
    moved_share: float,
) -> Population:
    if not 0 <= duplicate_share < 1:
        raise ValueError("duplicate_share must be in [0, 1)")
    weights = dict(corruptions or CORRUPTIONS)
    unknown = set(weights) - set(CORRUPTIONS)
    if unknown:
        raise ValueError(f"unknown corruption kinds: {sorted(unknown)}")
    weights = {k: w for k, w in weights.items() if w > 0}
    n_dup = int(round(count * duplicate_share)) if count > 1 else 0
    n_real = count - n_dup
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    people = _identities(rng, n_real)
    postcodes = _postcodes(rng, max(20, min(count // PERSONS_PER_POSTCODE, POSTCODE_CAPACITY // 2)))
    home = rng.integers(0, len(postcodes), size=n_real)

    given, family = people["given"].tolist(), people["family"].tolist()
    years, months, days = people["year"].tolist(), people["month"].tolist(), people["day"].tolist()
    genders = np.where(people["female"], "female", "male").tolist()
    postcode_of = postcodes[home].tolist()
    # Columns of every record: the identities first, then their duplicates.
    source = list(range(n_real))
    out_given, out_family, out_gender, out_postcode = list(given), list(family), list(genders), list(postcode_of)
    out_y, out_m, out_d = list(years), list(months), list(days)
    out_kinds: list[tuple[str, ...]] = [()] * n_real
    corruptor = Corruptor(rnd)
    applicable, apply, draw = corruptor.applicable, corruptor.apply, corruptor.draw_kinds
    for _ in range(n_dup):
        kinds = draw(weights, two_corruptions_share) if weights else ()
        for _attempt in range(64):
            i = rnd.randrange(n_real)
            if all(applicable(k, given[i], family[i], genders[i], days[i], months[i]) for k in kinds):
                break
        else:  # nobody in a tiny population fits: keep the corruptions that apply
            kinds = tuple(k for k in kinds if applicable(k, given[i], family[i], genders[i], days[i], months[i]))
        g, f, y, m, d = apply(kinds, given[i], family[i], genders[i], years[i], months[i], days[i])
        postcode = postcode_of[i]
        if rnd.random() < moved_share:
            postcode = postcodes[rnd.randrange(len(postcodes))]
            kinds = (*kinds, MOVED)
        source.append(i)
        out_given.append(g)
        out_family.append(f)
        out_y.append(y)
        out_m.append(m)
        out_d.append(d)
        out_gender.append(genders[i])
        out_postcode.append(postcode)
        out_kinds.append(kinds)

    # Shuffle (so a record's place says nothing of whether it is a duplicate) column by column.
    order = rng.permutation(count)
    true_names = np.array([f"T{seed}-{i:07d}" for i in range(n_real)], dtype=object)

    def shuffled(column: list) -> list:
        array = np.empty(count, dtype=object)
        array[:] = column
        return array[order].tolist()

    ids = [f"SYN{seed}-{n:07d}" for n in range(count)]
    true_ids = true_names[np.asarray(source)[order]].tolist()
    columns = [out_given, out_family, out_y, out_m, out_d, out_gender, out_postcode, out_kinds]
    persons = list(map(SyntheticPerson._make, zip(ids, true_ids, *map(shuffled, columns), strict=True)))
    truth = dict(zip(ids, true_ids, strict=True))
    return Population(persons, truth, seed=seed, force_id=force_id)


def variant(person: SyntheticPerson, rnd: random.Random, kinds: tuple[str, ...] | None = None) -> SyntheticPerson:
    """A fresh corrupted record of ``person`` (same true identity, no id of its own): how a
    benchmark or a test asks for someone as an officer might type them."""
    corruptor = Corruptor(rnd)
    if kinds is None:
        kinds = corruptor.draw_kinds(CORRUPTIONS, TWO_CORRUPTIONS_SHARE)
    kinds = tuple(
        k
        for k in kinds
        if corruptor.applicable(
            k, person.given_names, person.family_name, person.gender, person.dob_day, person.dob_month
        )
    )
    g, f, y, m, d = corruptor.apply(
        kinds, person.given_names, person.family_name, person.gender, person.dob_year, person.dob_month, person.dob_day
    )
    return SyntheticPerson("", person.true_id, g, f, y, m, d, person.gender, person.postcode, kinds)


# -- loading --------------------------------------------------------------------------------


def load(
    database: Database,
    population: Population,
    *,
    force_id: str | None = None,
    clock: Clock,
    batch: int = 50_000,
    progress: Callable[[int, int], None] | None = None,
    created_by: str = "synthetic",
) -> int:
    """Write the population's persons (with name rows and keys, a location per distinct
    postcode and address rows) in batches; one transaction per batch. Calls
    ``progress(done, total)`` after each batch. Returns the number of persons written."""
    from bluelamp.records import writes

    force = force_id or population.force_id
    now = clock.now()
    total = len(population.persons)
    wanted = sorted({p.postcode for p in population.persons})
    with database.unit_of_work() as session:
        connection = session.connection()
        locations = writes.location_ids(connection, force, [normalise_postcode(p) for p in wanted])
        new_rows = []
        for postcode in wanted:
            norm = normalise_postcode(postcode)
            if norm not in locations:
                locations[norm] = clock.new_id()
                new_rows.append((locations[norm], force, postcode, norm, TOWNS.get(postcode.split(" ")[0], "")))
        writes.insert_locations(connection, new_rows, now, created_by)
    done = 0
    for start in range(0, total, batch):
        chunk = population.persons[start : start + batch]
        with database.unit_of_work() as session:
            writes.insert_persons(session.connection(), force, chunk, locations, now, created_by)
        done += len(chunk)
        if progress is not None:
            progress(done, total)
    return done


def normalise_postcode(postcode: str) -> str:
    """Upper case, no spaces: "st16 2dg" → "ST162DG"."""
    return "".join(postcode.split()).upper()
