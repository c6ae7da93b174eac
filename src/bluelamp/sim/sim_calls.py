"""The simulator's calls: when they arrive (an hour-of-week curve scaled to a force's calls
a year), what they are about (a mix of NSIR categories that shifts with the time of day),
where (around the real Staffordshire towns) and how a call handler grades them (THRIVE
and a grade), and what will happen at each (its plan: units, time at scene, a crime).

Everything here is a pure function of the seed and the start time: the same seed and
start give the same calls, whatever the server answers and however fast the run goes.
"""

from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from bluelamp.clock import LONDON
from bluelamp.sim.demo import FORCE_OUTLINE

# Staffordshire's calls (DOMAIN.md "Command and control": about 600,000 a year, about
# 220,000 of them on 999).
CALLS_PER_YEAR = 600_000
HOURS_PER_YEAR = 365.25 * 24
WEEKS_PER_YEAR = HOURS_PER_YEAR / 168

# ---------------------------------------------------------------- the hour-of-week curve

# Relative demand by local hour on an ordinary weekday: lowest before dawn, rising through
# the morning, highest at the end of the school and working day.
_HOURLY = (
    0.75, 0.60, 0.50, 0.42, 0.36, 0.35, 0.42, 0.60, 0.85, 1.00, 1.08, 1.12,
    1.15, 1.15, 1.18, 1.25, 1.32, 1.35, 1.33, 1.28, 1.20, 1.10, 1.00, 0.88,
)  # fmt: skip
# Monday to Sunday.
_DAY = (1.00, 0.97, 0.97, 0.98, 1.06, 1.05, 0.92)
# The night-time economy: Friday and Saturday evenings and the small hours after them.
_EVENING_BOOST = {18: 1.05, 19: 1.10, 20: 1.20, 21: 1.30, 22: 1.45, 23: 1.60}
_SMALL_HOURS_BOOST = {0: 1.75, 1: 1.85, 2: 1.70, 3: 1.45}
# Weekend mornings are quieter (no school run or commute).
_WEEKEND_MORNING = {7: 0.75, 8: 0.80, 9: 0.90}


def _raw_shape(weekday: int, hour: int) -> float:
    value = _HOURLY[hour] * _DAY[weekday]
    if weekday in (4, 5):  # Friday and Saturday evenings
        value *= _EVENING_BOOST.get(hour, 1.0)
    if weekday in (5, 6):  # the small hours of Saturday and Sunday
        value *= _SMALL_HOURS_BOOST.get(hour, 1.0)
        value *= _WEEKEND_MORNING.get(hour, 1.0)
    return value


@cache
def hour_of_week_shape() -> tuple[float, ...]:
    """168 relative rates, Monday 00:00 local first, averaging exactly 1."""
    raw = [_raw_shape(day, hour) for day in range(7) for hour in range(24)]
    mean = sum(raw) / len(raw)
    return tuple(v / mean for v in raw)


def hour_of_week(moment: datetime) -> int:
    """0 (Monday 00:00-00:59, Europe/London) to 167 (Sunday 23:00-23:59)."""
    local = moment.astimezone(LONDON)
    return local.weekday() * 24 + local.hour


def calls_per_hour(moment: datetime, calls_per_year: float = CALLS_PER_YEAR) -> float:
    """Expected calls an hour at this moment."""
    return calls_per_year / HOURS_PER_YEAR * hour_of_week_shape()[hour_of_week(moment)]


# ---------------------------------------------------------------- places

# The real towns (DOMAIN.md "Geography") with rough populations and built-up radii (km).
TOWNS = [
    ("Stoke-on-Trent", 53.003, -2.180, 258_000, 6.0),
    ("Newcastle-under-Lyme", 53.012, -2.227, 75_000, 3.0),
    ("Stafford", 52.806, -2.117, 70_000, 3.5),
    ("Burton upon Trent", 52.802, -1.637, 76_000, 3.5),
    ("Tamworth", 52.634, -1.695, 78_000, 3.0),
    ("Lichfield", 52.683, -1.826, 34_000, 2.2),
    ("Cannock", 52.691, -2.031, 60_000, 3.0),
    ("Leek", 53.105, -2.025, 20_000, 1.8),
    ("Uttoxeter", 52.898, -1.866, 14_000, 1.6),
    ("Stone", 52.904, -2.147, 16_000, 1.6),
    ("Rugeley", 52.760, -1.936, 25_000, 1.8),
    ("Kidsgrove", 53.087, -2.238, 25_000, 1.8),
]
TOWN_RADIUS_KM = {name: radius for name, _, _, _, radius in TOWNS}
RURAL_SHARE = 0.18  # calls from villages and the countryside between the towns
# Staffordshire's outline, as the demo force's area (rural calls stay inside it).
OUTLINE = FORCE_OUTLINE
STREETS = (
    "High Street", "Church Street", "Station Road", "London Road", "Victoria Road", "Park Road",
    "Queen Street", "King Street", "Market Street", "Albert Street", "New Road", "Mill Lane",
    "Springfield Road", "School Lane", "Manor Road", "The Green", "Newcastle Road", "Stafford Street",
    "Derby Road", "Lichfield Road", "Uttoxeter Road", "Leek Road", "Wolverhampton Road", "Trent Road",
    "Chapel Street", "Moorland Road", "Castle Street", "Cemetery Road", "Grange Road", "Oak Avenue",
)  # fmt: skip
RURAL_ROADS = ("Moor Lane", "Hollow Lane", "Back Lane", "Common Lane", "the A50", "the A38", "the A34", "the A5")


def inside_outline(lat: float, lon: float) -> bool:
    """Ray casting against the force's outline."""
    inside = False
    n = len(OUTLINE)
    for i in range(n):
        (y1, x1), (y2, x2) = OUTLINE[i], OUTLINE[(i + 1) % n]
        if (y1 > lat) != (y2 > lat) and lon < (x2 - x1) * (lat - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def offset(lat: float, lon: float, north_km: float, east_km: float) -> tuple[float, float]:
    """The point ``north_km`` north and ``east_km`` east of (lat, lon)."""
    return lat + north_km / 110.57, lon + east_km / (111.32 * math.cos(math.radians(lat)))


_COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


# ---------------------------------------------------------------- categories


@dataclass(frozen=True)
class Kind:
    """How one NSIR category behaves in the simulation."""

    code: str
    weight: float  # share of calls (relative)
    grades: tuple[float, float, float, float]  # chances of grade 1, 2, 3, 4
    scene_minutes: float  # median time at scene
    crime: float = 0.0  # chance a crime is recorded (when attended or by phone)
    offences: tuple[str, ...] = ()  # Home Office offence codes, the first most likely
    qualifiers: tuple[tuple[str, float], ...] = ()
    when: str = "any"  # any, night (the night-time economy), day (shops and offices), rush
    two_units_at_grade_1: bool = False
    enhanced_victim: bool = False  # victims of this offence get the enhanced service
    results: tuple[str, ...] = ("resolved", "advice_given")
    texts: tuple[str, ...] = ()


K = Kind
CATEGORIES: tuple[Kind, ...] = (
    # Public safety and welfare
    K("concern_for_safety", 9, (0.2, 0.55, 0.05, 0.2), 45, qualifiers=(("vulnerable_person", 0.3),),
      results=("resolved", "advice_given", "referred_to_partner"),
      texts=("Caller worried about a neighbour not seen for days", "Person seen slumped in a car",
             "Caller concerned for a friend who sent worrying messages")),
    K("missing_person", 2, (0.15, 0.75, 0.05, 0.05), 75, qualifiers=(("child", 0.4), ("vulnerable_person", 0.5)),
      results=("resolved", "no_trace"),
      texts=("Teenager not home from school, phone off", "Elderly man with dementia left home this morning")),
    K("mental_health", 4, (0.2, 0.5, 0.05, 0.25), 90, qualifiers=(("mental_health", 1.0),),
      results=("referred_to_partner", "resolved"),
      texts=("Man in distress shouting in the street", "Family report relative in crisis, refusing help")),
    K("suicidal_person", 2, (0.85, 0.15, 0, 0), 90, qualifiers=(("mental_health", 0.8), ("vulnerable_person", 0.6)),
      results=("referred_to_partner", "resolved"),
      texts=("Person on a bridge parapet", "Caller says they have taken tablets and want to die")),
    K("collapse_injury_illness", 1.5, (0.7, 0.2, 0, 0.1), 40, qualifiers=(("injury", 0.7),),
      results=("resolved", "referred_to_partner"), texts=("Man collapsed outside shops, ambulance delayed",)),
    K("domestic_incident", 5, (0.25, 0.6, 0.1, 0.05), 75, qualifiers=(("domestic", 1.0), ("child", 0.25)),
      results=("resolved", "advice_given", "referred_to_partner"),
      texts=("Shouting and banging heard from next door", "Ex-partner refusing to leave the address")),
    K("animals", 1, (0.05, 0.3, 0.05, 0.6), 30, texts=("Horses loose on the road", "Cows in the carriageway")),
    K("dangerous_dog", 0.5, (0.3, 0.5, 0.1, 0.1), 40, qualifiers=(("injury", 0.3),),
      texts=("Dog attacking other dogs in the park",)),
    K("alarm_activation", 3, (0.2, 0.5, 0, 0.3), 20, when="night", results=("resolved", "false_report"),
      texts=("Intruder alarm at commercial premises, keyholder en route", "Hold-up alarm at a petrol station")),
    K("civil_dispute", 2, (0, 0.1, 0.2, 0.7), 30, when="day", results=("advice_given",),
      texts=("Dispute with landlord over deposit", "Argument over a boundary fence")),
    K("lost_found_property", 1.5, (0, 0, 0.1, 0.9), 15, when="day", results=("advice_given", "resolved"),
      texts=("Wallet handed in by a member of the public", "Lost phone on the bus")),
    K("abandoned_call", 5, (0.15, 0.35, 0, 0.5), 15, results=("resolved", "false_report"),
      texts=("Silent 999 call, line open, noises in background", "Abandoned 999 call, no answer on call-back")),
    K("sudden_death", 0.7, (0.1, 0.85, 0, 0.05), 150, results=("resolved",),
      texts=("Family found elderly relative deceased at home",)),
    K("suspicious_package", 0.2, (0.7, 0.3, 0, 0), 60, results=("resolved", "false_report"),
      texts=("Unattended bag at the railway station",)),
    K("fire", 0.5, (0.5, 0.4, 0, 0.1), 45, texts=("Fire service request police for road closure at a house fire",)),
    # Crime
    K("violence_in_progress", 3, (0.9, 0.1, 0, 0), 60, crime=0.65, offences=("8N", "105A", "5D"),
      qualifiers=(("violence", 1.0), ("alcohol", 0.5), ("injury", 0.4)), when="night", two_units_at_grade_1=True,
      texts=("Fight outside a pub, several involved", "Group fighting in the street, one on the floor")),
    K("assault", 4, (0.2, 0.5, 0.2, 0.1), 50, crime=0.85, offences=("105A", "8N", "104"),
      qualifiers=(("alcohol", 0.3), ("injury", 0.3)), when="night",
      texts=("Caller punched by a stranger earlier tonight", "Victim assaulted by a neighbour")),
    K("robbery", 0.5, (0.7, 0.3, 0, 0), 70, crime=0.9, offences=("34B", "34A"), two_units_at_grade_1=True,
      texts=("Phone snatched at knifepoint", "Shop worker threatened and till emptied")),
    K("burglary_dwelling", 2, (0.2, 0.5, 0.3, 0), 60, crime=0.95, offences=("28E", "28F"),
      results=("resolved", "no_trace"),
      texts=("Householder returned to find back door forced", "Caller hears someone downstairs now")),
    K("burglary_business", 1, (0.3, 0.3, 0.4, 0), 50, crime=0.9, offences=("30C", "30D"), when="night",
      texts=("Shop front smashed, stock taken", "Builders' yard broken into overnight")),
    K("theft", 4, (0, 0.2, 0.3, 0.5), 30, crime=0.9, offences=("49", "39", "44"), when="day",
      texts=("Bicycle stolen from outside the station", "Purse taken from a handbag in a café")),
    K("shoplifting", 3, (0.1, 0.5, 0.1, 0.3), 45, crime=0.9, offences=("46",), when="day",
      texts=("Store detaining a shoplifter", "Known shoplifter returning to the shop, abusive to staff")),
    K("vehicle_crime", 2.5, (0.05, 0.2, 0.25, 0.5), 30, crime=0.9, offences=("45", "48", "126"),
      texts=("Car window smashed and bag taken", "Van stolen from the driveway overnight")),
    K("criminal_damage", 3, (0.05, 0.3, 0.25, 0.4), 30, crime=0.85, offences=("58C", "58A", "58D"), when="night",
      texts=("Car tyres slashed on the street", "Windows of a house smashed by youths")),
    K("arson", 0.3, (0.5, 0.4, 0.1, 0), 60, crime=0.9, offences=("56B", "56A"), when="night",
      texts=("Wheelie bins set alight against a house",)),
    K("sexual_offence", 0.7, (0.4, 0.5, 0.1, 0), 120, crime=0.95, offences=("20A", "17A"), enhanced_victim=True,
      qualifiers=(("vulnerable_person", 0.4),), texts=("Woman reports being sexually assaulted on the way home",)),
    K("domestic_abuse", 4, (0.5, 0.45, 0.05, 0), 90, crime=0.85, offences=("105A", "8N", "8L", "58A"),
      qualifiers=(("domestic", 1.0), ("child", 0.3), ("repeat_victim", 0.4)), enhanced_victim=True,
      texts=("Woman assaulted by partner, he is still there", "Caller's ex-partner smashing windows")),
    K("weapons", 0.8, (0.9, 0.1, 0, 0), 60, crime=0.7, offences=("10D", "10C"),
      qualifiers=(("weapons", 1.0),), when="night", two_units_at_grade_1=True,
      texts=("Man seen with a knife in the park", "Youth showing a machete on the bus")),
    K("firearms_incident", 0.1, (1, 0, 0, 0), 90, crime=0.5, offences=("10B",),
      qualifiers=(("firearms", 1.0),), two_units_at_grade_1=True, results=("resolved", "no_trace"),
      texts=("Caller reports a man with a handgun outside a takeaway",)),
    K("drugs", 1, (0, 0.3, 0.3, 0.4), 40, crime=0.6, offences=("92E", "92D"), qualifiers=(("drugs", 1.0),),
      results=("advice_given", "resolved", "no_trace"), texts=("Suspected drug dealing from a car",)),
    K("public_order", 1.5, (0.6, 0.4, 0, 0), 50, crime=0.5, offences=("9A",),
      qualifiers=(("disorder", 0.5), ("alcohol", 0.7)), when="night", two_units_at_grade_1=True,
      texts=("Drunk group abusive to door staff", "Large group causing disorder in the town centre")),
    K("fraud", 1.5, (0, 0, 0.1, 0.9), 20, when="day", results=("referred_to_partner", "advice_given"),
      texts=("Elderly caller lost savings to a bank impersonation call",)),
    K("hate_crime", 0.5, (0.2, 0.5, 0.3, 0), 45, crime=0.9, offences=("8M", "105B"), qualifiers=(("hate", 1.0),),
      enhanced_victim=True, texts=("Shopkeeper racially abused by customers",)),
    K("wanted_person", 0.5, (0.5, 0.5, 0, 0), 40, results=("resolved", "no_trace"),
      texts=("Man wanted on recall seen at a relative's address",)),
    # Anti-social behaviour
    K("asb_personal", 2, (0, 0.4, 0.3, 0.3), 30, crime=0.1, offences=("8L",), results=("advice_given", "resolved"),
      texts=("Neighbours harassing the caller's family",)),
    K("asb_nuisance", 5, (0, 0.5, 0.1, 0.4), 25, when="night", results=("advice_given", "resolved", "no_trace"),
      texts=("Youths throwing stones at passing cars", "Loud party, music all night",
             "Motorbikes on the playing field")),
    K("asb_environmental", 1, (0, 0.1, 0.3, 0.6), 20, when="day", results=("referred_to_partner", "advice_given"),
      texts=("Fly-tipping in the lane",)),
    # Transport
    K("rtc_injury", 1, (0.9, 0.1, 0, 0), 90, qualifiers=(("injury", 1.0), ("road_closure", 0.4)), when="rush",
      two_units_at_grade_1=True, texts=("Two-car collision, one person trapped", "Pedestrian struck by a car")),
    K("rtc_damage_only", 3, (0.05, 0.5, 0.05, 0.4), 30, when="rush", results=("resolved", "advice_given"),
      texts=("Minor collision, cars blocking the junction", "Driver failed to stop after hitting a parked car")),
    K("road_obstruction", 2, (0.3, 0.6, 0, 0.1), 30, texts=("Tree down across the road", "Debris in lane one")),
    K("dangerous_driving", 1.5, (0.5, 0.4, 0, 0.1), 30, results=("no_trace", "resolved"),
      texts=("Car weaving across lanes, suspected drink driver",)),
    K("abandoned_vehicle", 1, (0, 0.1, 0.4, 0.5), 20, when="day", results=("resolved", "referred_to_partner"),
      texts=("Car left with its doors open for two days",)),
)  # fmt: skip
CATEGORY_BY_CODE = {k.code: k for k in CATEGORIES}
# Calls that many people report at once: a fight, a crash, a fire.
REPORTED_BY_MANY = frozenset(
    {"violence_in_progress", "public_order", "rtc_injury", "rtc_damage_only", "fire", "road_obstruction", "weapons"}
)
# Offences against the state, with no victim to record (possession of drugs or weapons).
VICTIMLESS = frozenset({"92D", "92E", "10B", "10C", "10D"})
DUPLICATE_SHARE = 0.08  # of calls: another caller about an incident already open


def _time_factor(kind: Kind, local: datetime) -> float:
    hour, weekday = local.hour, local.weekday()
    if kind.when == "night":
        night_out = (weekday in (4, 5) and hour >= 20) or (weekday in (5, 6) and hour < 4)
        return 2.0 if night_out else (1.2 if hour >= 20 or hour < 4 else 0.7)
    if kind.when == "day":
        return 1.4 if 8 <= hour < 19 else 0.35
    if kind.when == "rush":
        return 1.5 if weekday < 5 and hour in (7, 8, 16, 17, 18) else 0.9
    return 1.0


# ---------------------------------------------------------------- THRIVE as a call handler words it

_THREAT = {
    "1": "Immediate: {what} happening now, caller on the line",
    "2": "Possible: {what}; no immediate danger reported",
    "3": "None now: {what} is over",
    "4": "None identified",
}
_HARM = {
    "1": "Serious harm likely without police attendance now",
    "2": "Harm possible if not attended within the hour",
    "3": "Low: loss or damage already done",
    "4": "None expected",
}
_RISK = {"1": "High", "2": "Medium", "3": "Low", "4": "Low"}
_INVESTIGATION = {
    "1": "Scene to secure; suspects may be nearby; witnesses and CCTV to follow",
    "2": "Attend to take details, identify witnesses and CCTV",
    "3": "Statement and evidence at an appointment",
    "4": "Details recorded by phone; no lines of enquiry needing attendance",
}
_ENGAGEMENT = {
    "1": "Units sent now; caller kept on the line",
    "2": "Caller told to expect officers within the hour",
    "3": "Appointment offered and agreed with the caller",
    "4": "Advice given by phone; caller content",
}


def thrive(kind: Kind, grade: str, qualifiers: tuple[str, ...], text: str) -> dict[str, str]:
    """The six parts of THRIVE as short structured statements."""
    vulnerable = []
    if "vulnerable_person" in qualifiers:
        vulnerable.append("a vulnerable adult is involved")
    if "child" in qualifiers:
        vulnerable.append("children are present or involved")
    if "mental_health" in qualifiers:
        vulnerable.append("mental health crisis")
    if "repeat_victim" in qualifiers:
        vulnerable.append("repeat victim")
    return {
        "threat": _THREAT[grade].format(what=text[:1].lower() + text[1:]),
        "harm": _HARM[grade],
        "risk": f"{_RISK[grade]} ({kind.code.replace('_', ' ')})",
        "investigation": _INVESTIGATION[grade],
        "vulnerability": "; ".join(vulnerable).capitalize() if vulnerable else "None identified",
        "engagement": _ENGAGEMENT[grade],
    }


# ---------------------------------------------------------------- calls


@dataclass(frozen=True)
class Call:
    """One call to the force, as the simulator will make it through the API."""

    number: int
    at: datetime  # when it arrives (simulated time, UTC)
    source: str
    category: str
    grade: str
    qualifiers: tuple[str, ...]
    lat: float
    lon: float
    address: str
    town: str
    description: str
    thrive: dict[str, str]
    caller_name: str
    caller_phone: str
    callback_consent: bool
    duplicate_of: int | None = None  # another caller about this earlier call's incident

    def key(self, seed: int) -> str:
        """The call's idempotency key: a resent call is the same call."""
        return f"sim-{seed}-{self.number}-{self.at:%Y%m%d%H%M%S}"


@dataclass(frozen=True)
class Plan:
    """What will happen at a call's incident, drawn once for the call."""

    units: int  # units to send
    acknowledge_s: float  # seconds before the first unit acknowledges
    scene_minutes: float  # time at scene
    phone_minutes: float  # grade 4: minutes to resolve by phone
    crime: bool
    offence: str | None
    victim: bool  # a crime with a victim to record (not possession of drugs or weapons)
    victim_given: str
    victim_family: str
    victim_birth_year: int
    victim_gender: str
    enhanced: bool
    result: str
    summary: str


def _weighted(rnd: random.Random, options, weights):
    return rnd.choices(options, weights=weights, k=1)[0]


@cache
def _names() -> tuple[list[str], list[float], dict[str, tuple[list[str], list[float]]]]:
    """Surnames and forenames with their weights, from the records generator's tables."""
    from bluelamp.records.synthetic import tables

    found = tables()
    top = min(400, len(found.surnames))
    surnames = [str(s) for s in found.surnames[:top]]
    surname_w = [float(w) for w in found.surname_p[:top]]
    forenames = {}
    for sex in ("male", "female"):
        names, weights = found.forenames[(sex, 1)]
        forenames[sex] = ([str(n) for n in names], [float(w) for w in weights])
    return surnames, surname_w, forenames


def person_name(rnd: random.Random) -> tuple[str, str, str]:
    """(given name, family name, gender) drawn from the records generator's frequency tables."""
    surnames, surname_w, forenames = _names()
    gender = "male" if rnd.random() < 0.5 else "female"
    names, weights = forenames[gender]
    return _weighted(rnd, names, weights), _weighted(rnd, surnames, surname_w), gender


class CallGenerator:
    """The calls of a simulated force, one after another, from ``start`` on.

    Arrivals are a Poisson process whose rate follows the hour-of-week curve; each call's
    content comes from the same seeded stream, so a seed and a start give one sequence."""

    def __init__(self, seed: int, start: datetime, calls_per_year: float = CALLS_PER_YEAR) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.seed = seed
        self.calls_per_year = calls_per_year
        self.rnd = random.Random(f"{seed}:calls")
        self.at = start.astimezone(UTC)
        self.number = 0
        self.recent: deque[Call] = deque()
        self._kinds = list(CATEGORIES)

    def __iter__(self):
        return self

    def __next__(self) -> Call:
        return self.next_call()

    def next_arrival(self) -> datetime:
        """The next arrival after the last: exponential work through piecewise-constant hourly rates."""
        remaining = self.rnd.expovariate(1.0)
        at = self.at
        while True:
            rate = calls_per_hour(at, self.calls_per_year) / 3600.0  # per second
            hour_end = at.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            span = (hour_end - at).total_seconds()
            if rate * span >= remaining:
                return at + timedelta(seconds=remaining / rate)
            remaining -= rate * span
            at = hour_end

    def next_call(self) -> Call:
        self.at = self.next_arrival()
        self.number += 1
        rnd = self.rnd
        while self.recent and (self.at - self.recent[0].at) > timedelta(minutes=45):
            self.recent.popleft()
        if self.recent and rnd.random() < DUPLICATE_SHARE:
            original = rnd.choice(list(self.recent))
            call = self._duplicate(original)
        else:
            call = self._new_call()
        if call.category in REPORTED_BY_MANY and call.duplicate_of is None:
            self.recent.append(call)
        return call

    def _new_call(self) -> Call:
        rnd = self.rnd
        local = self.at.astimezone(LONDON)
        kind = _weighted(rnd, self._kinds, [k.weight * _time_factor(k, local) for k in self._kinds])
        grade = _weighted(rnd, ("1", "2", "3", "4"), kind.grades)
        qualifiers = tuple(code for code, chance in kind.qualifiers if rnd.random() < chance)
        if kind.when == "night" and "alcohol" not in qualifiers and rnd.random() < 0.2:
            qualifiers += ("alcohol",)
        lat, lon, address, town = self._place(kind)
        text = rnd.choice(kind.texts) if kind.texts else kind.code.replace("_", " ").capitalize()
        source = self._source(kind, grade)
        given, family, _ = person_name(rnd)
        return Call(
            number=self.number,
            at=self.at,
            source=source,
            category=kind.code,
            grade=grade,
            qualifiers=qualifiers,
            lat=lat,
            lon=lon,
            address=address,
            town=town,
            description=f"{text}. {address}.",
            thrive=thrive(kind, grade, qualifiers, text),
            caller_name=f"{given} {family}" if source != "alarm" else "Alarm receiving centre",
            caller_phone=f"07700 900{rnd.randrange(1000):03d}",  # Ofcom's drama range: never a real phone
            callback_consent=rnd.random() < 0.85,
        )

    def _duplicate(self, original: Call) -> Call:
        rnd = self.rnd
        lat, lon = offset(original.lat, original.lon, rnd.uniform(-0.08, 0.08), rnd.uniform(-0.08, 0.08))
        given, family, _ = person_name(rnd)
        return Call(
            number=self.number,
            at=self.at,
            source="999" if original.grade == "1" else original.source,
            category=original.category,
            grade=original.grade,
            qualifiers=original.qualifiers,
            lat=round(lat, 6),
            lon=round(lon, 6),
            address=original.address,
            town=original.town,
            description=f"Another caller about the same: {original.description}",
            thrive=original.thrive,
            caller_name=f"{given} {family}",
            caller_phone=f"07700 900{rnd.randrange(1000):03d}",
            callback_consent=rnd.random() < 0.85,
            duplicate_of=original.number,
        )

    def _source(self, kind: Kind, grade: str) -> str:
        rnd = self.rnd
        if kind.code == "alarm_activation":
            return "alarm"
        if kind.code == "abandoned_call":
            return "999"
        chances = {"1": (0.95, 0.05, 0), "2": (0.45, 0.5, 0.05), "3": (0.05, 0.7, 0.25), "4": (0.02, 0.68, 0.3)}
        return _weighted(rnd, ("999", "101", "online"), chances[grade])

    def _place(self, kind: Kind) -> tuple[float, float, str, str]:
        """A point around a town (weighted by population), or in the country between towns."""
        rnd = self.rnd
        name, lat0, lon0, _, radius = _weighted(rnd, TOWNS, [t[3] for t in TOWNS])
        if rnd.random() < RURAL_SHARE:
            for _ in range(8):
                distance = rnd.uniform(radius + 1.0, radius + 9.0)
                bearing = rnd.uniform(0, 2 * math.pi)
                lat, lon = offset(lat0, lon0, distance * math.cos(bearing), distance * math.sin(bearing))
                if inside_outline(lat, lon):
                    side = _COMPASS[int(((math.degrees(bearing) + 22.5) % 360) // 45)]
                    road = rnd.choice(RURAL_ROADS)
                    return round(lat, 6), round(lon, 6), f"{road}, {distance:.0f} km {side} of {name}", name
        # In town: nearer the centre at night (the night-time economy), spread out by day.
        spread = radius * (0.35 if kind.when == "night" else 0.5)
        lat, lon = lat0, lon0
        for _ in range(8):  # a town on the force's edge (Burton) keeps its calls inside the force
            north, east = rnd.gauss(0, spread), rnd.gauss(0, spread)
            scale = min(1.0, radius * 1.2 / max(0.001, math.hypot(north, east)))
            lat, lon = offset(lat0, lon0, north * scale, east * scale)
            if inside_outline(lat, lon):
                break
        else:
            lat, lon = lat0, lon0
        address = f"{rnd.randint(1, 180)} {rnd.choice(STREETS)}, {name}"
        return round(lat, 6), round(lon, 6), address, name


def plan_for(seed: int, call: Call, crime_factor: float = 1.0) -> Plan:
    """What will happen at a call's incident: its own stream, so a run that goes differently
    (a unit busy, a person at the screen dispatching) never shifts the calls or other plans.
    ``crime_factor`` scales the chance of a crime (tests make every crime-like call one)."""
    return _plan(
        f"{seed}:plan:{call.number}", call.category, call.grade, call.qualifiers, call.description, crime_factor
    )


def plan_for_incident(seed: int, incident_id: str, category: str, grade: str, description: str) -> Plan:
    """A plan for an incident the simulator did not make from one of its calls (taken on
    from an earlier run): no crime, the category's usual time at scene."""
    return _plan(f"{seed}:incident:{incident_id}", category, grade, (), description, 0.0)


def _plan(stream: str, category: str, grade: str, qualifiers, description: str, crime_factor: float) -> Plan:
    rnd = random.Random(stream)
    kind = CATEGORY_BY_CODE.get(category) or CATEGORY_BY_CODE["concern_for_safety"]
    units = 2 if grade == "1" and kind.two_units_at_grade_1 else 1
    scene = min(240.0, max(10.0, rnd.lognormvariate(math.log(kind.scene_minutes), 0.45)))
    crime = bool(kind.offences) and rnd.random() < min(1.0, kind.crime * crime_factor)
    offence = rnd.choices(kind.offences, weights=[2**-i for i in range(len(kind.offences))])[0] if crime else None
    given, family, gender = person_name(rnd)
    birth_year = rnd.randint(1940, 2006)
    result = "crime_recorded" if crime else rnd.choice(kind.results)
    words = {
        "crime_recorded": f"crime recorded ({offence})"
        + (f", victim {given} {family} seen" if offence not in VICTIMLESS else ", suspect reported"),
        "resolved": "dealt with at the scene",
        "advice_given": "advice given to the caller",
        "no_trace": "area searched, no trace",
        "false_report": "no evidence of the reported incident",
        "referred_to_partner": "referred to the partner agency",
    }
    return Plan(
        units=units,
        acknowledge_s=rnd.uniform(10, 60),
        scene_minutes=round(scene, 1),
        phone_minutes=round(rnd.uniform(4, 20), 1),
        crime=crime,
        offence=offence,
        victim=crime and offence not in VICTIMLESS,
        victim_given=given,
        victim_family=family,
        victim_birth_year=birth_year,
        victim_gender=gender,
        enhanced=crime and (kind.enhanced_victim or "vulnerable_person" in qualifiers),
        result=result,
        summary=f"{description} Outcome: {words.get(result, result.replace('_', ' '))}.",
    )
