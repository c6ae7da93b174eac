"""Search's look-ups (``records/search.py``): candidate persons by name, vehicles by VRM,
phones by digits and events by free text, the actor's access applied in the same statement.

Candidates come only from indexed look-ups on records_person_name (migration 0006 adds the
composite indexes each look-up is answered from); access is applied in the same statement,
joined on the person, before anything is ranked."""

from __future__ import annotations

from sqlalchemy import and_, column, func, literal_column, or_, select, table, union
from sqlalchemy.orm import Session

from bluelamp.access.policy import Actor
from bluelamp.access.queries import visible
from bluelamp.records.model import Event, Person, PersonName, RecordObject

# ---------------------------------------------------------------- persons by name


def _next_prefix(prefix: str) -> str:
    """A string after every string starting with ``prefix`` and before any other (for an
    index range scan over upper-case letters and digits): "SM" → "SN", "SZ" → "T",
    "0779" → "078". Carrying past Z and 9 keeps the bound a letter or digit, which every
    collation orders the same way."""
    while prefix:
        last = prefix[-1]
        if last not in "Z9":
            return prefix[:-1] + chr(ord(last) + 1)
        prefix = prefix[:-1]
    return "\U0010ffff"


def _starting(column, prefixes):
    """``column`` starts with one of the prefixes, as index ranges."""
    return or_(*(and_(column >= p, column < _next_prefix(p)) for p in prefixes))


def _name_lookup(force_id: str, lookup: tuple) -> list:
    """One look-up as SELECTs of name-row ids, each an index range. Kinds:
    ("family", family_keys, years): family key (born in the years when given);
    ("family_initials", family_keys, initials, years): family key, a given key starting with
    one of the initials (or longer prefixes; born in the years when given);
    ("family_given", family_keys, given_keys, years): both keys (born in the years, or of
    unknown year, when given);
    ("family_letters", family_keys, letters, years): family key, the given names' first or
    second letter one of ``letters`` (read from the name row: fewer persons to join);
    ("given", given_keys, years): given key (born in the years when given);
    ("given_first", given_keys, first_names, spelling, years): given key, and the first given
    name one of ``first_names`` or spelt like ``spelling`` (the same first letter, and the
    same second or third; born in the years when given);
    ("given_prefix", given_keys, prefixes): given key, family name starting with a prefix;
    ("family_prefix", prefixes, given_keys, years): family name starting with a prefix (a
    given key and years when given);
    ("key_prefix", family_prefixes, given_prefixes, year): born in the year, family and given
    keys starting with the prefixes, or the other way round (one range per prefix)."""
    n = PersonName
    kind, *args = lookup
    where = [n.force_id == force_id]
    if kind == "key_prefix":
        family_prefixes, given_prefixes, year = args
        pairs = [(f, given_prefixes) for f in family_prefixes] + [(g, family_prefixes) for g in given_prefixes]
        return [
            select(n.id).where(*where, n.dob_year == year, _starting(n.family_key, [f]), _starting(n.given_key, gs))
            for f, gs in pairs
        ]
    if kind == "family":
        family_keys, years = args
        where.append(n.family_key.in_(family_keys))
    elif kind == "family_initials":
        family_keys, initials, years = args
        where += [n.family_key.in_(family_keys), _starting(n.given_key, initials)]

    elif kind == "family_given":
        family_keys, given_keys, years = args
        where += [n.family_key.in_(family_keys), n.given_key.in_(given_keys)]
        if years:
            where.append(or_(_born_in(n, years), n.dob_year.is_(None)))
            years = None
    elif kind == "family_letters":
        family_keys, letters, years = args
        first, second = func.substr(n.given_norm, 1, 1), func.substr(n.given_norm, 2, 1)
        where += [n.family_key.in_(family_keys), or_(first.in_(letters), second.in_(letters))]
    elif kind == "given_first":
        given_keys, first_names, spelling, years = args
        letter = [func.substr(n.given_norm, i, 1) for i in (1, 2, 3)]
        like = and_(letter[0] == spelling[0], or_(letter[1] == spelling[1:2], letter[2] == spelling[2:3]))
        named = [n.given_norm.in_(first_names), *(n.given_norm.startswith(f"{f} ") for f in first_names)]
        where += [n.given_key.in_(given_keys), or_(like, *named)]
    elif kind == "given":
        given_keys, years = args
        where.append(n.given_key.in_(given_keys))
    elif kind == "given_prefix":
        given_keys, prefixes = args
        where += [n.given_key.in_(given_keys), _starting(n.family_norm, prefixes)]
        years = None
    elif kind == "family_prefix":
        prefixes, given_keys, years = args
        where.append(_starting(n.family_norm, prefixes))
        if given_keys:
            where.append(n.given_key.in_(given_keys))
    else:  # pragma: no cover - a programming error
        raise ValueError(f"unknown look-up {kind!r}")
    if years:
        where.append(_born_in(n, years))
    return [select(n.id).where(*where)]


def _born_in(n, years: tuple[int, int]):
    """Born in the years: an equality for one year, so that an index on the year goes on to its next columns."""
    return n.dob_year == years[0] if years[0] == years[1] else n.dob_year.between(*years)


def person_name_candidates_statement(actor: Actor, lookups: list[tuple], *, years: tuple[int, int] | None, cap: int):
    """The statement ``person_name_candidates`` runs (for tests that read its plan)."""
    n = PersonName
    selects = [select_ for lookup in lookups for select_ in _name_lookup(actor.force_id, lookup)]
    # Materialised first, so that the planner starts from the few candidates (without
    # statistics SQLite would otherwise walk every person of the force).
    found = (union(*selects) if len(selects) > 1 else selects[0]).cte("candidate_names").prefix_with("MATERIALIZED")
    statement = (
        select(
            n.person_id,
            n.kind,
            n.given_norm,
            n.family_norm,
            n.given_key,
            n.family_key,
            Person.given_names,
            Person.family_name,
            Person.dob_year,
            Person.dob_month,
            Person.dob_day,
            Person.gender,
        )
        .select_from(found)
        .join(n, n.id == found.c.id)
        .join(Person, Person.id == n.person_id)
        .where(visible(actor, Person), Person.disposed_at.is_(None), Person.merged_into_id.is_(None))
        .limit(cap)
    )
    if years is not None:
        statement = statement.where(or_(Person.dob_year.is_(None), Person.dob_year.between(*years)))
    return statement


def person_name_candidates(
    session: Session, actor: Actor, lookups: list[tuple], *, years: tuple[int, int] | None, cap: int
) -> list[tuple]:
    """Name rows found by the look-ups, with their person, for persons the actor may see
    (not disposed, not merged into another), at most ``cap`` rows. ``years`` (from an age
    range) keeps persons born in those years or of unknown year. Each row: person_id,
    kind, given_norm, family_norm, given_key, family_key, given_names, family_name,
    dob_year, dob_month, dob_day, gender."""
    if not lookups or actor.force_id is None:
        return []
    statement = person_name_candidates_statement(actor, lookups, years=years, cap=cap)
    return [tuple(row) for row in session.execute(statement)]


# ---------------------------------------------------------------- vehicles and phones


def vehicles_matching(session: Session, actor: Actor, prefix: str, pattern: str | None, limit: int) -> list:
    """Vehicles whose normalised VRM starts with ``prefix`` (an index range) and, when given,
    matches ``pattern`` (SQL LIKE with ``\\`` as escape), the actor may see."""
    o = RecordObject
    where = [o.force_id == actor.force_id, o.kind == "vehicle", visible(actor, RecordObject)]
    if prefix:
        where += [
            o.vrm_norm >= prefix,
            o.vrm_norm < _next_prefix(prefix),
            o.vrm_norm.startswith(prefix, autoescape=True),
        ]
    else:
        where.append(o.vrm_norm.is_not(None))
    if pattern is not None:
        where.append(o.vrm_norm.like(pattern, escape="\\"))
    return list(session.scalars(select(o).where(*where).order_by(o.vrm_norm, o.id).limit(limit)))


def phones_matching(session: Session, actor: Actor, prefix: str | None, contains: str | None, limit: int) -> list:
    """Phones whose digits start with ``prefix`` (an index range) or contain ``contains``
    (read from the force's phone index, not the objects), the actor may see."""
    o = RecordObject
    where = [o.force_id == actor.force_id, o.kind == "phone", visible(actor, RecordObject)]
    if prefix:
        where += [
            o.phone_digits >= prefix,
            o.phone_digits < _next_prefix(prefix),
            o.phone_digits.startswith(prefix, autoescape=True),
        ]
    if contains:
        where.append(o.phone_digits.contains(contains, autoescape=True))
    return list(session.scalars(select(o).where(*where).order_by(o.phone_digits, o.id).limit(limit)))


# ---------------------------------------------------------------- events by free text


# The full-text expression on PostgreSQL, exactly as migration 0006 indexes it.
EVENT_TEXT_PG = "to_tsvector('english', coalesce(summary, '') || ' ' || coalesce(narrative, ''))"


def events_matching_text(
    session: Session, actor: Actor, fts_query: str, ts_query: str, kinds: list[str], limit: int
) -> list[tuple[Event, float, str]]:
    """Events of the given kinds the actor may see (not disposed) whose summary or narrative
    match: FTS5 ``MATCH fts_query`` on SQLite, ``to_tsquery('english', ts_query)`` on
    PostgreSQL. Best first, each with its rank (higher is better) and a snippet."""
    e = Event
    where = [e.kind.in_(kinds), e.disposed_at.is_(None), visible(actor, Event)]
    if session.get_bind().dialect.name == "sqlite":
        fts = table("records_event_fts", column("rowid"))
        matched = literal_column("records_event_fts").op("MATCH")(fts_query)
        rank = literal_column("bm25(records_event_fts)")
        snippet = literal_column("snippet(records_event_fts, -1, '[', ']', '…', 12)")
        statement = (
            select(e, -rank, snippet)
            .join(fts, fts.c.rowid == literal_column("records_event.rowid"))
            .where(matched, *where)
            .order_by(rank, e.id)
            .limit(limit)
        )
    else:
        query = func.to_tsquery("english", ts_query)
        document = literal_column(EVENT_TEXT_PG)
        rank = func.ts_rank(document, query)
        text_ = func.coalesce(e.summary, "") + " " + func.coalesce(e.narrative, "")
        snippet = func.ts_headline("english", text_, query, "StartSel=[, StopSel=], MaxWords=24, MinWords=8")
        statement = (
            select(e, rank, snippet).where(document.op("@@")(query), *where).order_by(rank.desc(), e.id).limit(limit)
        )
    return [(event, float(score), text_ or "") for event, score, text_ in session.execute(statement)]
