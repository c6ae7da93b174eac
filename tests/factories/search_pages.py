"""Factories for the records search, new person and merge queue pages: a merge candidate as
the dedupe job writes it (with a Splink-style explanation), a warning marker on a person,
and the reason a signed-in browser states before it may see personal data."""

from __future__ import annotations

import re
from datetime import date

from bluelamp.clock import Clock
from bluelamp.records import person_parts
from bluelamp.records.model import MergeCandidate, Person
from bluelamp.storage import Database
from tests.factories.access import csrf_from
from tests.factories.records import officer

# What the dedupe job writes for a pair: each comparison's level and weight (bits), the prior.
EXPLANATION = {
    "comparisons": {
        "given": {"level": "given name: a nickname of the other", "gamma": 4, "weight": 6.1},
        "family": {"level": "family name: sounds the same", "gamma": 5, "weight": 9.4},
        "dob": {"level": "date of birth: same", "gamma": 4, "weight": 13.2},
        "postcode": {"level": "postcode: different", "gamma": 0, "weight": -2.3},
    },
    "prior_weight": -14.9,
    "names": ["JON SMYTH", "JOHN SMITH"],
}


def make_candidate_pair(
    db: Database, left: Person, right: Person, weight: float = 11.5, *, explanation: dict | None = None
) -> MergeCandidate:
    """An open merge candidate for two persons of one force (ids in the order dedupe writes them)."""
    clock = Clock()
    low, high = sorted((left.id, right.id))
    with db.unit_of_work() as session:
        row = MergeCandidate(
            id=clock.new_id(),
            force_id=left.force_id,
            left_id=low,
            right_id=high,
            match_weight=weight,
            probability=1 / (1 + 2**-weight),
            explanation=EXPLANATION if explanation is None else explanation,
            found_at=clock.now(),
            status="open",
        )
        session.add(row)
    return row


def add_marker(db: Database, person: Person, kind: str = "violent", reason: str = "assaulted an officer") -> None:
    """A warning marker in force from today on a person."""
    with db.unit_of_work() as session:
        person_parts.add_marker(
            session,
            officer(force_id=person.force_id),
            person.id,
            person_parts.NewMarker(kind, reason, date.today()),
            Clock(),
        )


def state_reason(client, purpose: str = "Investigating a crime", detail: str = "burglary SP-CR-2026-000042") -> None:
    """State why this signed-in browser needs personal data, through the reason prompt."""
    prompt = client.get("/account/reason")
    response = client.post(
        "/account/reason",
        data={"csrf_token": csrf_from(prompt.text), "purpose": purpose, "detail": detail, "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:500]


def page_csrf(html: str) -> str:
    """The CSRF token of a page (its meta tag, which every form's hidden field repeats)."""
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "the page carries no CSRF token"
    return match.group(1)
