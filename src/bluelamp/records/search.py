"""Search: persons by name (misspelt, phonetic variants, swapped, nicknames, double-barrelled,
with a full, partial or missing date of birth, or an age range), vehicles by full or partial
VRM with wildcards, phones by digit fragments, and free text over event narratives.

How a person search works (and why it never scans every person):

1. The query's names are normalised and keyed exactly as names are at write time
   (``records.names``): the family name's Metaphone key (and each part's key when it is
   double-barrelled), the first given name's key and the keys of its nicknames.
2. Candidates come only from indexed look-ups on ``records_person_name`` (the composite
   indexes of migration 0006), never from reading every person, in up to three passes,
   each one statement, each wider and dearer than the one before and run only when the
   candidates so far leave room for it (``_settled``):

   * first, always: the family key with a given key (the query's or a nickname's), born in
     the year asked for or of unknown year, and the names the other way round; with a year,
     also the family key with a given key of the same first character, and a family key of
     the same first character with the given key (one name misspelt: a typo seldom changes
     the first sound of a name, so the misspelt key still starts alike);
   * second, unless someone born as asked already scores WIDER_BELOW: within the year, every
     given name with the family key (a given name misspelt at its start, or a nickname the
     list does not know); the same first given name, a nickname or a name spelt alike,
     whatever the family name (marriage); the names the other way round. Without a year:
     the family key with a given key of the same first character, and the given key with
     a family name of the same first two letters;
   * third, with a year, unless someone born as asked has a given name that matched: both
     names changed, so the date of birth and a given name are what is left: the keys of
     the given name with one letter left out or two swapped (``names.near_misses``) and of
     every nickname, born in the year, whatever the family name (marriage and a typo); and
     keys of the same first characters, within the year (both names misspelt).

   Each look-up is an index range; the person is joined in the same statement and
   ``access.queries.visible`` applied there, so the actor's access filters candidates
   before any ranking. A query with a year of birth leaves out persons recorded with
   another year; persons with no date of birth recorded stay candidates (first pass).
3. Each candidate is scored with rapidfuzz (Jaro-Winkler) and the date of birth, and the
   hit carries the explanation: each feature with its points (``family name sounds like
   SMITH (+30)``). Points are out of 100 at most; ``score`` is the share of what the query
   could earn (a query without a date of birth can still score 1.0).

Every search is audited (``person.search`` and friends) with its criteria."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from rapidfuzz.distance import JaroWinkler

from bluelamp.access import audit
from bluelamp.access.audit import Audit
from bluelamp.access.policy import Action, Actor, require_reason
from bluelamp.access.service import require
from bluelamp.clock import Clock, to_local
from bluelamp.errors import CATALOGUE, FieldProblem, InvalidInput
from bluelamp.records import names, pole
from bluelamp.records.lookup import queries
from bluelamp.records.names import PART_KIND, first_name, normalise, phonetic

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bluelamp.records.model import Event, RecordObject

for _code, _meaning in [
    ("search.no_criteria", "Nothing to search by: give a name (persons), a VRM, phone digits or words."),
    ("search.only_wildcards", "The search is only wildcards: give at least one letter or digit."),
    ("search.too_short", "Too little to search by: give at least three digits of a phone number."),
    ("search.invalid_criteria", "A criterion is impossible: a date of birth in the future, an age range upside down."),
]:
    CATALOGUE.register(_code, InvalidInput, _meaning)

# Points each feature can earn (out of 100 for a full name and full date of birth).
FAMILY_MAX, GIVEN_MAX, DOB_MAX = 40, 30, 30
CANDIDATE_CAP = 3000  # at most this many candidate rows are scored (a vague query is cut here)
LIKELY_THRESHOLD = 0.9  # likely_matches shows persons scoring at least this share
SPELT_LIKE = 0.85  # Jaro-Winkler similarity from which a name counts as a misspelling of another
WIDER_BELOW = 0.9  # a second, wider pass of look-ups unless someone born as asked scores at least this
OLDEST = 130  # years: nobody is older
WILDCARDS = "*?%_"


@dataclass(frozen=True)
class PersonQuery:
    """What an officer searches a person by: names (or ``name`` as one text, "John Smith" or
    "Smith, John"), a date of birth full or partial (year, month, day each known or not),
    and an age range. A trailing ``*`` on the family name asks for names starting so."""

    given_names: str = ""
    family_name: str = ""
    name: str = ""
    dob_year: int | None = None
    dob_month: int | None = None
    dob_day: int | None = None
    age_from: int | None = None
    age_to: int | None = None

    def criteria(self) -> dict:
        """The criteria as the audit log keeps them (only those given)."""
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


@dataclass(frozen=True)
class PersonHit:
    """A person found: who, the name that matched, the score (0 to 1) and why."""

    person_id: str
    given_names: str
    family_name: str
    dob_year: int | None
    dob_month: int | None
    dob_day: int | None
    gender: str | None
    matched_kind: str  # the kind of name row that matched: primary, alias, previous, nickname, part
    matched_given: str
    matched_family: str
    score: float
    points: int
    explanation: list[tuple[str, int]] = field(default_factory=list)

    @property
    def dob(self) -> str:
        return pole.format_dob(self.dob_year, self.dob_month, self.dob_day) or ""


@dataclass(frozen=True)
class PersonResults:
    """Hits, best first, and whether candidates were cut at CANDIDATE_CAP (a vague query)."""

    hits: list[PersonHit]
    truncated: bool = False


# ---------------------------------------------------------------- the query, prepared


@dataclass
class _Prepared:
    given_all: str  # every normalised given name
    given: str  # the first
    middles: frozenset[str]
    family: str
    family_prefix: bool  # "SMI*": names starting so
    given_key: str
    family_key: str
    part_keys: tuple[str, ...]
    parts: tuple[str, ...]
    nicknames: frozenset[str]
    nickname_keys: tuple[str, ...]
    year: int | None
    month: int | None
    day: int | None
    age_years: tuple[int, int] | None  # born in these years (from the age range)

    def attainable(self) -> int:
        points = (FAMILY_MAX if self.family else 0) + (GIVEN_MAX if self.given else 0)
        if self.year is not None and self.month is not None and self.day is not None:
            points += DOB_MAX
        elif self.year is not None and self.month is not None:
            points += 22
        elif self.year is not None:
            points += 16
        elif self.age_years is not None:
            points += 10
        return max(points, 1)


def _split_name(text: str) -> tuple[str, str]:
    """ "John Smith" → ("John", "Smith"); "Smith, John" → ("John", "Smith"); "Smith" → ("", "Smith")."""
    if "," in text:
        family, _, given = text.partition(",")
        return given.strip(), family.strip()
    words = text.split()
    if not words:
        return "", ""
    return " ".join(words[:-1]), words[-1]


def _problems_of(query: PersonQuery, today: date) -> list[FieldProblem]:
    problems = []
    y, m, d = query.dob_year, query.dob_month, query.dob_day
    if m is not None and not 1 <= m <= 12:
        problems.append(FieldProblem("dob_month", "a month is 1 to 12"))
    if d is not None and not 1 <= d <= 31:
        problems.append(FieldProblem("dob_day", "a day is 1 to 31"))
    if y is not None:
        if y > today.year or (y == today.year and m is not None and m > today.month):
            problems.append(FieldProblem("dob_year", "a date of birth cannot be in the future"))
        elif y < today.year - OLDEST:
            problems.append(FieldProblem("dob_year", f"nobody is older than {OLDEST}"))
        elif m is not None and d is not None:
            try:
                born = date(y, m, d)
            except ValueError:
                problems.append(FieldProblem("dob_day", "no such date"))
            else:
                if born > today:
                    problems.append(FieldProblem("dob_year", "a date of birth cannot be in the future"))
    for name in ("age_from", "age_to"):
        value = getattr(query, name)
        if value is not None and not 0 <= value <= OLDEST:
            problems.append(FieldProblem(name, f"an age is 0 to {OLDEST}"))
    if query.age_from is not None and query.age_to is not None and query.age_from > query.age_to:
        problems.append(FieldProblem("age_to", "the range ends before it starts"))
    return problems


def _prepare(query: PersonQuery, today: date) -> _Prepared:
    given_raw, family_raw = query.given_names or "", query.family_name or ""
    if query.name and not (given_raw.strip() or family_raw.strip()):
        given_raw, family_raw = _split_name(query.name)
    raw = f"{given_raw} {family_raw} {query.name or ''}"
    family_prefix = family_raw.strip().endswith("*")
    given_all, family = normalise(given_raw.replace("*", "")), normalise(family_raw.replace("*", ""))
    if not (given_all or family):
        if any(c in raw for c in WILDCARDS) and not normalise(re.sub(r"[*?%_]", "", raw)):
            raise InvalidInput(
                "a search of only wildcards finds everyone: give at least one letter",
                code="search.only_wildcards",
                problems=[FieldProblem("family_name", "give at least one letter")],
            )
        raise InvalidInput(
            "give a name to search by (a date of birth or an age alone is not enough)",
            code="search.no_criteria",
            problems=[FieldProblem("family_name", "give a family name, a given name or both")],
        )
    problems = _problems_of(query, today)
    if problems:
        raise InvalidInput("the search criteria are impossible", code="search.invalid_criteria", problems=problems)
    given = first_name(given_all)
    nick = frozenset(names.nicknames(given)) if given else frozenset()
    parts = tuple(names.family_parts(family))
    age_years = None
    if query.age_from is not None or query.age_to is not None:
        oldest = query.age_to if query.age_to is not None else OLDEST
        youngest = query.age_from if query.age_from is not None else 0
        age_years = (today.year - oldest - 1, today.year - youngest)
    return _Prepared(
        given_all=given_all,
        given=given,
        middles=frozenset(given_all.split()[1:]),
        family=family,
        family_prefix=family_prefix and bool(family),
        given_key=phonetic(given),
        family_key=phonetic(family),
        part_keys=tuple(dict.fromkeys(phonetic(p) for p in parts)),
        parts=parts,
        nicknames=nick,
        nickname_keys=tuple(sorted({phonetic(n) for n in nick} - {phonetic(given)})),
        year=query.dob_year,
        month=query.dob_month,
        day=query.dob_day,
        age_years=age_years,
    )


def _keys(q: _Prepared) -> tuple[tuple[str, ...], tuple[str, ...], tuple[int, int] | None]:
    """The query's given keys (its own and its nicknames'), family keys (the whole name's and
    each part's) and years of birth (the year given, or those of the age range)."""
    nick = tuple(k for k in q.nickname_keys if len(k) >= 2)  # "JAY" keys as J: too vague to look up
    given_keys = tuple(k for k in dict.fromkeys((q.given_key, *nick)) if k)
    family_keys = tuple(k for k in dict.fromkeys((q.family_key, *q.part_keys)) if k)
    years = (q.year, q.year) if q.year is not None else q.age_years
    return given_keys, family_keys, years


def _starts(keys, length: int) -> tuple[str, ...]:
    return tuple(sorted({k[:length] for k in keys if k}))


def _lookups(q: _Prepared) -> list[tuple]:
    """The first pass of indexed look-ups (see the module's docstring): the family key with
    a given key (born in the year, or of unknown year, when the query has one); the names
    the other way round; a lone name as either. With a year of birth, also one name's key
    with the other's first character, each way: one misspelt name seldom changes the first
    sound of its key."""
    given_keys, family_keys, years = _keys(q)
    if q.family_prefix:
        return [("family_prefix", (q.family, *q.parts), given_keys, years)]
    own = (q.given_key,) if q.given_key else ()
    if family_keys and given_keys:
        lookups = [("family_given", family_keys, given_keys, years), ("family_given", own, family_keys, years)]
        if q.year is not None and own:
            lookups.append(("family_initials", family_keys, _starts(own, 1), years))
            lookups.append(("key_prefix", _starts(family_keys, 1), own, q.year))
        return lookups
    if family_keys:
        return [("family", family_keys, years), ("given", family_keys, years)]
    return [("given", given_keys, years), ("family", own, years)]


def _wider_lookups(q: _Prepared) -> list[tuple]:
    """The second pass, when the first found nobody convincing (see the module's docstring):
    within the year, the family key with any given name (a given name misspelt at its start,
    or a nickname the list does not know, or one misspelt); the same first given name, a
    nickname or a name spelt alike, with any family name (marriage); the names the other
    way round. Without a year, only what the indexes answer alone: the family key with a
    given key of the same first character; the given key with a family name of the same
    first two letters."""
    given_keys, family_keys, years = _keys(q)
    if q.family_prefix or not (given_keys and family_keys):
        return []
    own = (q.given_key,)
    if years is not None:
        nick_names = tuple(sorted(q.nicknames))
        lookups: list[tuple] = [("family", family_keys, years)]
        lookups += [("given_first", tuple(sorted({*given_keys, *q.nickname_keys})), nick_names, q.given, years)]
        lookups += [("given", family_keys, years), ("family", own, years)]
    else:  # without a year, only what the indexes answer alone: keys by their first characters
        lookups = [("family_initials", family_keys, _starts(given_keys, 1), None)]
        if len(q.family) >= 2:
            lookups.append(("given_prefix", own, (q.family[:2],)))
    return lookups


def _widest_lookups(q: _Prepared) -> list[tuple]:
    """The third pass, when the second found nobody born as asked with a given name that
    matched (with a year of birth only): both names changed, so the date of birth and a
    given name are what is left. A changed family name (marriage) with a misspelt or
    nicknamed given name: the keys of the given name as typed, with one letter left out or
    two neighbouring letters swapped, and of every nickname (short ones too), born in the
    year, whatever the family name; both names misspelt beyond the first sound: keys of
    the same first characters, within the year."""
    given_keys, family_keys, _ = _keys(q)
    if q.year is None or q.family_prefix or not (given_keys and family_keys):
        return []
    near = {phonetic(variant) for variant in names.near_misses(q.given)} | set(q.nickname_keys) | set(given_keys)
    near_keys = tuple(sorted(k for k in near - {""}))
    return [
        ("given", near_keys, (q.year, q.year)),
        ("key_prefix", _starts(family_keys, 1), _starts((*given_keys, *q.nickname_keys), 1), q.year),
    ]


# ---------------------------------------------------------------- scoring


class _Scorer:
    """Scores candidates against one prepared query; similarities cached per name."""

    def __init__(self, q: _Prepared):
        self.q = q
        self._family: dict[tuple[str, str, str], tuple[int, str]] = {}
        self._given: dict[tuple[str, str], tuple[int, str]] = {}

    def family(self, query_family: str, query_key: str, norm: str, key: str, kind: str) -> tuple[int, str]:
        cache_key = (query_family, norm, kind)
        held = self._family.get(cache_key)
        if held is None:
            held = self._family[cache_key] = self._family_points(query_family, query_key, norm, key, kind)
        return held

    def _family_points(self, query_family: str, query_key: str, norm: str, key: str, kind: str) -> tuple[int, str]:
        q = self.q
        if not query_family or not norm:
            return 0, ""
        if q.family_prefix and query_family == q.family and norm.startswith(query_family):
            return 34, f"family name {norm} starts with {query_family}"
        if norm == query_family:
            return FAMILY_MAX, f"family name {norm} matches"
        if query_family == q.family and norm in q.parts:
            return 32, f"family name {norm} is part of {query_family}"
        similarity = JaroWinkler.normalized_similarity(query_family, norm)
        if key and (key == query_key or (query_family == q.family and key in q.part_keys)):
            return max(30, round(FAMILY_MAX * similarity)), f"family name sounds like {query_family}"
        if similarity >= SPELT_LIKE:
            return round(38 * similarity), f"family name {norm} is spelt like {query_family} ({similarity:.2f})"
        return 0, ""

    def given(self, query_given: str, query_key: str, first: str, key: str) -> tuple[int, str]:
        cache_key = (query_given, first)
        held = self._given.get(cache_key)
        if held is None:
            held = self._given[cache_key] = self._given_points(query_given, query_key, first, key)
        return held

    def _given_points(self, query_given: str, query_key: str, first: str, key: str) -> tuple[int, str]:
        q = self.q
        if not query_given or not first:
            return 0, ""
        if first == query_given:
            return GIVEN_MAX, f"given name {first} matches"
        if len(query_given) == 1:
            return (15, f"given name {first} has the initial {query_given}") if first[0] == query_given else (0, "")
        if query_given == q.given and first in q.nicknames:
            return 25, f"given name {first} is a name for {query_given}"
        similarity = JaroWinkler.normalized_similarity(query_given, first)
        if key and key == query_key:
            # Metaphone is coarse for short given names (JANE, JOHN and JUNE share JN): the
            # points follow the spelling too.
            return max(15, round(GIVEN_MAX * similarity**1.5)), f"given name sounds like {query_given}"
        if similarity >= SPELT_LIKE:
            return round(28 * similarity), f"given name {first} is spelt like {query_given} ({similarity:.2f})"
        return 0, ""

    def dob(self, y: int | None, m: int | None, d: int | None) -> tuple[int, str]:
        q = self.q
        if q.year is None and q.month is None and q.day is None:
            if q.age_years is not None and y is not None:
                return 10, "age fits the range"
            return 0, ""
        if y is None and m is None and d is None:
            return 0, "no date of birth on record"
        if q.year is not None and y is not None and q.year != y:
            if abs(q.year - y) == 1 and q.month is not None and q.month == m and q.day is not None and q.day == d:
                return 18, "date of birth matches but for the year (one out)"
            return -20, "date of birth differs"
        if q.month is not None and m is not None:
            if q.month == m:
                if q.day is not None and d is not None:
                    if q.day == d:
                        return (DOB_MAX, "date of birth matches") if y is not None else (20, "day and month match")
                    return 8, "same month of birth, day differs"
                return (22, "year and month of birth match") if y is not None else (10, "month of birth matches")
            if q.day is not None and d is not None and q.day == m and q.month == d:
                return 24, "date of birth matches with day and month swapped"
            return -10, "month of birth differs"
        if y is not None and q.year is not None:
            return 16, "year of birth matches"
        return 0, ""

    def score(self, row: tuple) -> tuple[int, list[tuple[str, int]], bool]:
        """Points and their explanation for a candidate row (see person_name_candidates), and
        whether the row's first given name earned points (matched either query name)."""
        q = self.q
        _, kind, given_norm, family_norm, given_key, family_key = row[:6]
        first, _, middle = given_norm.partition(" ")
        straight_f = self.family(q.family, q.family_key, family_norm, family_key, kind)
        straight_g = self.given(q.given, q.given_key, first, given_key)
        straight = straight_f[0] + straight_g[0]
        features: list[tuple[str, int]]
        if q.given and q.family and not q.family_prefix and straight < FAMILY_MAX + GIVEN_MAX:
            swapped_f = self.family(q.given, q.given_key, family_norm, family_key, kind)
            swapped_g = self.given(q.family, q.family_key, first, given_key)
            swapped = swapped_f[0] + swapped_g[0] - 5
            if swapped > straight:
                features = [(swapped_f[1], swapped_f[0]), (swapped_g[1], swapped_g[0])]
                features.append((f"given and family names swapped ({q.given} {q.family})", -5))
            else:
                features = [straight_f[::-1], straight_g[::-1]]
        else:
            features = [straight_f[::-1], straight_g[::-1]]
        given_named = features[1][1] > 0
        if q.middles and middle:
            shared = q.middles & set(middle.split())
            if shared:
                features.append((f"middle name {min(shared)} matches", 5))
        if kind == PART_KIND and features[0][1] > 0:
            features.append((f"matched one part of {row[7]}", -3))
        elif kind not in ("primary", PART_KIND):
            features.append((f"matched {kind} name", -2))
        dob = self.dob(row[8], row[9], row[10])
        features.append((dob[1], dob[0]))
        features = [(label, points) for label, points in features if label]
        return sum(p for _, p in features), features, given_named


@dataclass(slots=True)
class _Candidate:
    """A person among the candidates: the best scoring of their name rows."""

    points: int
    features: list[tuple[str, int]]
    row: tuple
    given_named: bool  # the first given name earned points

    def born_as_asked(self, q: _Prepared) -> bool:
        """The date of birth is all the query says of one (the year, and the month and day
        when given, or the day and month swapped); any date, or none, when no year is asked."""
        y, m, d = self.row[8:11]
        if q.year is None:
            return True
        if q.year != y:
            return False
        same = (q.month is None or q.month == m) and (q.day is None or q.day == d)
        return same or (q.month is not None and q.day is not None and (q.month, q.day) == (d, m))


def _score_into(best: dict[str, _Candidate], scorer: _Scorer, rows: list[tuple]) -> None:
    """Score the rows, keeping each person's best scoring row in ``best``."""
    for row in rows:
        points, features, given_named = scorer.score(row)
        held = best.get(row[0])
        if held is None or points > held.points:
            best[row[0]] = _Candidate(points, features, row, given_named)


def _hits(q: _Prepared, best: dict[str, _Candidate], limit: int) -> list[PersonHit]:
    attainable = q.attainable()
    ranked = sorted(best.items(), key=lambda item: (-item[1].points, item[0]))[:limit]
    hits = []
    for person_id, candidate in ranked:
        points, row = candidate.points, candidate.row
        if points <= 0:
            break
        score = max(0.0, min(1.0, points / attainable))
        hits.append(
            PersonHit(
                person_id=person_id,
                given_names=row[6],
                family_name=row[7],
                dob_year=row[8],
                dob_month=row[9],
                dob_day=row[10],
                gender=row[11],
                matched_kind=row[1],
                matched_given=row[2],
                matched_family=row[3],
                score=round(score, 4),
                points=points,
                explanation=candidate.features,
            )
        )
    return hits


def _settled(q: _Prepared, best: dict[str, _Candidate], next_pass: int) -> bool:
    """Whether the candidates so far make the next pass needless: before the second pass,
    someone scoring at least WIDER_BELOW and born as asked; before the third (which looks for
    a given name and a date of birth alone), someone born as asked whose given name matched."""
    attainable = q.attainable()
    if next_pass == 1:
        return any(c.points >= WIDER_BELOW * attainable and c.born_as_asked(q) for c in best.values())
    return any(c.given_named and c.born_as_asked(q) for c in best.values())


PASSES = (_lookups, _wider_lookups, _widest_lookups)


def _find(session: Session, actor: Actor, query: PersonQuery, clock: Clock, limit: int) -> PersonResults:
    today = to_local(clock.now()).date()
    q = _prepare(query, today)
    scorer = _Scorer(q)
    best: dict[str, _Candidate] = {}
    truncated = False
    for number, lookups_of in enumerate(PASSES):
        if number and _settled(q, best, number):
            break
        lookups = lookups_of(q)
        if not lookups:
            continue
        more = queries.person_name_candidates(session, actor, lookups, years=q.age_years, cap=CANDIDATE_CAP)
        truncated = truncated or len(more) >= CANDIDATE_CAP
        _score_into(best, scorer, more)
    return PersonResults(_hits(q, best, limit), truncated=truncated)


def search_persons(
    session: Session, actor: Actor, query: PersonQuery, clock: Clock, *, limit: int = 20
) -> list[PersonHit]:
    """Persons matching the query, best first (at most ``limit``), among those the actor may
    see. Asks for a reason; audited with the criteria and how many were found."""
    return find_persons(session, actor, query, clock, limit=limit).hits


def find_persons(session: Session, actor: Actor, query: PersonQuery, clock: Clock, *, limit: int = 20) -> PersonResults:
    """As ``search_persons``, saying also whether a vague query's candidates were cut."""
    require(actor, Action.PERSON_SEARCH)
    reason = require_reason(actor)
    limit = max(1, min(limit, 200))
    results = _find(session, actor, query, clock, limit)
    detail = {"criteria": query.criteria(), "found": len(results.hits), "truncated": results.truncated}
    audit.append(session, actor, Audit("person.search", detail=detail, reason=reason), clock)
    return results


def likely_matches(
    session: Session,
    actor: Actor,
    given_names: str,
    family_name: str,
    dob_year: int | None,
    dob_month: int | None,
    dob_day: int | None,
    *,
    limit: int = 5,
    clock: Clock | None = None,
) -> list[PersonHit]:
    """Persons already recorded who are likely the one about to be saved (score at least
    LIKELY_THRESHOLD), best first. For the check before a new person is saved: the caller
    is writing a person, so no separate reason is asked; audited as ``person.search``."""
    require(actor, Action.PERSON_WRITE)
    clock = clock or Clock()
    query = PersonQuery(given_names or "", family_name or "", dob_year=dob_year, dob_month=dob_month, dob_day=dob_day)
    if not normalise(given_names) and not normalise(family_name):
        return []
    try:
        results = _find(session, actor, query, clock, max(limit * 4, 20))
    except InvalidInput:
        return []  # the person's own checks report bad input
    hits = [h for h in results.hits if h.score >= LIKELY_THRESHOLD][:limit]
    detail = {"criteria": query.criteria(), "found": len(hits), "purpose": "likely duplicates before saving"}
    audit.append(session, actor, Audit("person.search", detail=detail, reason=actor.reason), clock)
    return hits


# ---------------------------------------------------------------- vehicles, phones, text

_VRM_CLEAN = re.compile(r"[^A-Z0-9*?]")


def vrm_pattern(text: str) -> tuple[str, str | None]:
    """A typed VRM or partial VRM as (index prefix, LIKE pattern or None): upper case,
    spaces and punctuation dropped; ``*`` any run of characters, ``?`` one character.
    Without wildcards, a VRM finds itself and the VRMs it starts ("AB12" finds "AB12CDE")."""
    cleaned = _VRM_CLEAN.sub("", (text or "").upper())
    if not cleaned:
        raise InvalidInput(
            "give a VRM or part of one", code="search.no_criteria", problems=[FieldProblem("vrm", "required")]
        )
    if not cleaned.strip("*?"):
        raise InvalidInput(
            "a VRM of only wildcards finds every vehicle: give at least one letter or digit",
            code="search.only_wildcards",
            problems=[FieldProblem("vrm", "give at least one letter or digit")],
        )
    first_wild = min((i for i, c in enumerate(cleaned) if c in "*?"), default=len(cleaned))
    prefix = cleaned[:first_wild]
    if first_wild == len(cleaned):
        return prefix, None
    pattern = cleaned.replace("*", "%").replace("?", "_")
    return prefix, pattern


def search_vehicles(session: Session, actor: Actor, vrm: str, clock: Clock, *, limit: int = 50) -> list[RecordObject]:
    """Vehicles by full or partial VRM, with ``*`` and ``?`` wildcards ("AB12*", "*CDE",
    "AB?2 CDE"); an index range when the pattern starts with letters or digits. Audited."""
    require(actor, Action.PERSON_SEARCH)
    reason = require_reason(actor)
    prefix, pattern = vrm_pattern(vrm)
    found = queries.vehicles_matching(session, actor, prefix, pattern, max(1, min(limit, 500)))
    detail = {"criteria": {"vrm": vrm}, "found": len(found)}
    audit.append(session, actor, Audit("vehicle.search", detail=detail, reason=reason), clock)
    return found


def phone_fragment(text: str) -> tuple[str | None, str | None]:
    """Typed phone digits as (national prefix, or a fragment to find anywhere): spaces and
    punctuation dropped; +44 or 0044 becomes 0, so "+44 7700 900" and "07700 900" are one
    prefix; digits not starting with 0 or +44 are looked for anywhere in the number."""
    raw = (text or "").strip()
    if not re.sub(r"\D", "", raw):
        code = "search.only_wildcards" if raw and set(raw) <= set(WILDCARDS + " ") else "search.no_criteria"
        raise InvalidInput("give some digits of the number", code=code, problems=[FieldProblem("number", "digits")])
    digits = pole.normalise_phone(raw)  # as numbers are written: +44 and 0044 become 0
    if len(digits) < 3:
        raise InvalidInput(
            "give at least three digits", code="search.too_short", problems=[FieldProblem("number", "3 digits or more")]
        )
    if digits.startswith("0"):
        return digits, None
    return None, digits


def search_phones(session: Session, actor: Actor, fragment: str, clock: Clock, *, limit: int = 50) -> list:
    """Phones by number or digit fragment ("07700 900123", "+44 7700", "900123"). Audited."""
    require(actor, Action.PERSON_SEARCH)
    reason = require_reason(actor)
    prefix, contains = phone_fragment(fragment)
    found = queries.phones_matching(session, actor, prefix, contains, max(1, min(limit, 500)))
    detail = {"criteria": {"number": fragment}, "found": len(found)}
    audit.append(session, actor, Audit("phone.search", detail=detail, reason=reason), clock)
    return found


@dataclass(frozen=True)
class TextHit:
    event: Event
    rank: float
    snippet: str


_WORD = re.compile(r"[^\W_]+\*?", re.UNICODE)


def text_query(text: str) -> tuple[str, str]:
    """Typed words as (an FTS5 MATCH expression, a PostgreSQL tsquery): every word must
    appear; a trailing ``*`` matches words starting so. Punctuation and operators are
    dropped, so user text can never be query syntax."""
    words = _WORD.findall(text or "")
    words = [w for w in words if w.rstrip("*")]
    if not words:
        raw = (text or "").strip()
        code = "search.only_wildcards" if raw and set(raw) <= set(WILDCARDS + " ") else "search.no_criteria"
        raise InvalidInput("give some words to look for", code=code, problems=[FieldProblem("text", "some words")])
    words = words[:12]
    fts = " ".join(f'"{w.rstrip("*")}"' + ("*" if w.endswith("*") else "") for w in words)
    ts = " & ".join(w.rstrip("*").lower() + (":*" if w.endswith("*") else "") for w in words)
    return fts, ts


def search_text(session: Session, actor: Actor, text: str, clock: Clock, *, limit: int = 50) -> list[TextHit]:
    """Events (of the kinds the actor may read) whose summary or narrative hold every word,
    best first, with a snippet. Intelligence narratives are the sanitised text. Audited."""
    require(actor, Action.PERSON_SEARCH)
    reason = require_reason(actor)
    fts, ts = text_query(text)
    kinds = pole.readable_event_kinds(actor)
    found = queries.events_matching_text(session, actor, fts, ts, kinds, max(1, min(limit, 200))) if kinds else []
    detail = {"criteria": {"text": text}, "found": len(found)}
    audit.append(session, actor, Audit("event.search", detail=detail, reason=reason), clock)
    return [TextHit(event, rank, snippet) for event, rank, snippet in found]
