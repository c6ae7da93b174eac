"""Checks from the field (issue 7, item 3): what an officer on the street asks of records and
of command and control, and what they must see before they act.

- **Person**: a family name (two letters or more; a given name, nickname or initial helps)
  with a full or partial date of birth, or a record id (the person's id or a PNC ID) →
  the identity matches, best first (``records.search``), each with its wanted and missing
  flags and its warning markers first, then the events the person was linked to in the
  last ``months`` months. A match opens a compact card (``person_card``), not the staff
  profile page.
- **Vehicle**: a VRM, full or partial → each vehicle with the persons linked to it as
  keeper, owner or driver (with their flags and markers) and the events it is linked to.
- **Location**: an address or postcode, or the phone's position → the places recorded
  there, the flags and markers of the persons living there, and the command-and-control
  incidents at or near it in the last ``months`` months.

Rules this module keeps:

- **Every check states its own reason** (DOMAIN.md: a lookup of a person asks for a reason):
  a quick pick (``PURPOSES``) with a few words ("other" needs them), or, from a program, the
  reason it states in the ``X-Bluelamp-Reason`` header. A reason stated earlier for the
  browser session (the staff pages' prompt) does not count: a check for a stop in the street
  is not covered by an investigation's reason of an hour ago. The reason is stated for that
  one request (the searches below read and audit it as the actor's reason). A check without
  one is refused with ``access.reason_required``, its ``purposes`` listing the quick picks,
  so that the phone can show the prompt and send the check again.
- **Too little to search on is refused next to its field** (``check.too_little``): one
  letter of a name, only wildcards, a date of birth without a name, a postcode district.
  A check that finds nothing is not an error: it answers with no matches.
- **Markings and need to know**: everything is read through the access policy in SQL. A
  person, vehicle, place, event or incident of another force, above the officer's
  clearance, or need-to-know without them on its access list, is absent, exactly like one
  that does not exist (a record id of such a person finds no match).
- **Audited**: besides the searches' and reads' own entries (``person.search``,
  ``vehicle.search``, ``person.read``), each check writes one ``check.person``,
  ``check.vehicle`` or ``check.location`` entry with its criteria, the reason and the ids
  of what it showed.

The parts: ``common`` (the limits, what a check shows, its reason and the checks on its
input, the flags, markers and events of persons), ``person`` (with the card),
``vehicle`` and ``location``. What callers use is named here.
"""

from bluelamp.mobile.checks.common import (
    MATCHES,
    MATCHES_MOST,
    MONTHS_MOST,
    PURPOSES,
    RADIUS_M,
    RADIUS_MOST,
    RECENT_MONTHS,
    VEHICLES,
    About,
    CheckReason,
    EventLine,
    months_before,
)
from bluelamp.mobile.checks.location import LocationCheckQuery, check_location
from bluelamp.mobile.checks.person import PersonCheckQuery, check_person, person_card
from bluelamp.mobile.checks.vehicle import VehicleCheckQuery, check_vehicle

__all__ = [
    "MATCHES",
    "MATCHES_MOST",
    "MONTHS_MOST",
    "PURPOSES",
    "RADIUS_M",
    "RADIUS_MOST",
    "RECENT_MONTHS",
    "VEHICLES",
    "About",
    "CheckReason",
    "EventLine",
    "LocationCheckQuery",
    "PersonCheckQuery",
    "VehicleCheckQuery",
    "check_location",
    "check_person",
    "check_vehicle",
    "months_before",
    "person_card",
]
