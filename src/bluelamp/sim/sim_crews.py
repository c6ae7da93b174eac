"""What the simulator's crews do: patrol their beat, take a job (acknowledge, drive there,
stay at the scene, record a crime with its victim, clear), report their positions through
the OsmAnd ingest as a phone or tracker would, and now and then press the emergency button.

A crew's choices come from its unit's own seeded stream (``SimUnit.rnd``) and the button
presses from the emergencies' stream: what one crew does never shifts another's draws.
How they move is ``sim_units``; who sends them, ``sim_dispatch``.
"""

from __future__ import annotations

import random

from bluelamp.sim.sim_calls import TOWN_RADIUS_KM
from bluelamp.sim.sim_client import ApiError, Fix, Unreachable
from bluelamp.sim.sim_units import Leg, patrol_leg, patrol_radius_km
from bluelamp.sim.sim_world import SimIncident, SimUnit, SimWorld
from bluelamp.tracking.index import haversine_km


class Crews(SimWorld):
    """The units' crews: their beat, their jobs, their positions and their emergencies."""

    # ------------------------------------------------------------ a crew and its beat

    def _add_unit(self, row: dict) -> SimUnit:
        where = (row["lat"], row["lon"]) if row.get("lat") is not None else None
        station = self._nearest_station(where) if where else None
        home = (station["lat"], station["lon"]) if station else where or (52.85, -2.0)
        town_radius = TOWN_RADIUS_KM.get(station["name"], 2.5) if station else 2.5
        unit = SimUnit(
            id=row["id"],
            call_sign=row["call_sign"],
            unit_type=row["unit_type"],
            device_id=f"{self.config.device_prefix}{row['call_sign']}",
            home=home,
            radius_km=patrol_radius_km(row["unit_type"], town_radius),
            rnd=random.Random(f"{self.config.seed}:unit:{row['call_sign']}"),
            leg=Leg.still(where or home, self.t),
            status=row["status"],
        )
        self.units[unit.id] = unit
        return unit

    def _nearest_station(self, where: tuple[float, float]) -> dict | None:
        if not self.stations:
            return None
        return min(self.stations, key=lambda s: haversine_km(where[0], where[1], s["lat"], s["lon"]))

    # ------------------------------------------------------------ patrol

    def _settle(self, unit: SimUnit, first: bool = False) -> None:
        """Start a unit on what its status says: patrol when available; parked at a meal
        break, off duty or in an emergency someone else raised."""
        if unit.status == "available":
            self._patrol(unit, pause_first=first)
        else:
            parked = {"refreshments": "break", "off_duty": "off", "emergency": "held"}
            self._new_activity(unit, parked.get(unit.status, "held"))

    def _patrol(self, unit: SimUnit, pause_first: bool = False) -> None:
        self._new_activity(unit, "pause")
        unit.leg = Leg.still(self._where(unit), self.t)
        wait = unit.rnd.uniform(0, 240) if pause_first else unit.rnd.uniform(20, 90)
        self._at(self.t + wait, "patrol_leg", unit.id, unit.token)

    def _on_patrol_leg(self, unit_id: str, token: int) -> None:
        """Drive (or walk) to another point of the beat; stop a while; again."""
        unit = self.units[unit_id]
        if unit.token != token:
            return
        here = self._where(unit)
        if unit.activity == "pause":
            unit.activity = "patrol"
            unit.leg = patrol_leg(here, unit.home, unit.radius_km, unit.unit_type, self.t, unit.rnd)
            self._report_soon(unit)
            self._at(unit.leg.end, "patrol_leg", unit.id, unit.token)
        else:
            unit.activity = "pause"
            unit.leg = Leg.still(here, self.t)
            stop = unit.rnd.uniform(1, 4) if unit.unit_type == "foot_patrol" else unit.rnd.uniform(3, 15)
            self._at(self.t + stop * 60, "patrol_leg", unit.id, unit.token)

    def _new_activity(self, unit: SimUnit, activity: str) -> None:
        here = self._where(unit)
        unit.token += 1
        unit.activity = activity
        unit.leg = Leg.still(here, self.t)

    def _where(self, unit: SimUnit) -> tuple[float, float]:
        lat, lon, _ = unit.leg.at(self.t)
        return lat, lon

    # ------------------------------------------------------------ a job

    def _start_job(self, unit: SimUnit, incident: SimIncident) -> None:
        """Assigned: the crew acknowledges after a little while and sets off."""
        self._new_activity(unit, "assigned")
        unit.incident_id = incident.id
        first = len(incident.assigned) <= 1
        delay = incident.plan.acknowledge_s if first else unit.rnd.uniform(10, 60)
        self._at(self.t + delay, "acknowledge", unit.id, incident.id, unit.token)

    def _on_acknowledge(self, unit_id: str, incident_id: str, token: int) -> None:
        unit, incident = self.units[unit_id], self.incidents.get(incident_id)
        if unit.token != token or incident is None:
            return
        self.api.post(f"/api/v1/incidents/{incident.id}/assignments/{unit.id}/acknowledge")
        unit.status = "en_route"
        self._drive(unit, incident)

    def _drive(self, unit: SimUnit, incident: SimIncident) -> None:
        self._new_activity(unit, "en_route")
        here = self._where(unit)
        unit.leg = self.router.drive(
            here, (incident.lat, incident.lon), unit.unit_type, incident.grade, self.t, unit.rnd
        )
        self._report_soon(unit)
        self._at(unit.leg.end, "arrive", unit.id, incident.id, unit.token)

    def _on_arrive(self, unit_id: str, incident_id: str, token: int) -> None:
        unit, incident = self.units[unit_id], self.incidents.get(incident_id)
        if unit.token != token or incident is None:
            return
        unit.leg = Leg.still((incident.lat, incident.lon), self.t)
        self._flush([self._fix(unit)])  # the server sees the unit at the scene before it says so
        self.api.post(f"/api/v1/incidents/{incident.id}/assignments/{unit.id}/arrive")
        self.stats.arrived += 1
        unit.status = "at_scene"
        first = not incident.arrived_any
        incident.arrived_any = True
        minutes = incident.plan.scene_minutes if first else incident.plan.scene_minutes * unit.rnd.uniform(0.4, 0.9)
        self._on_scene(unit, incident, self.t + minutes * 60)

    def _on_scene(self, unit: SimUnit, incident: SimIncident, until: float) -> None:
        self._new_activity(unit, "at_scene")
        unit.incident_id = incident.id
        unit.scene_until = until
        self._at(until, "clear", unit.id, incident.id, unit.token)

    def _on_clear(self, unit_id: str, incident_id: str, token: int) -> None:
        """The work at the scene is done: a crime recorded where there is one, the unit released."""
        unit, incident = self.units[unit_id], self.incidents.get(incident_id)
        if unit.token != token or incident is None:
            return
        if incident.owned and incident.plan.crime and incident.crime_reference is None:
            self._record_crime(incident)
        try:
            self.api.post(f"/api/v1/incidents/{incident.id}/assignments/{unit.id}/release")
        except ApiError as exc:
            if exc.status != 409:
                raise
            self._error(f"releasing {unit.call_sign} from {incident.reference}: {exc.detail}")
        unit.status = "available"
        incident.assigned.discard(unit.id)
        unit.incident_id = None
        self._patrol(unit)
        self.epoch += 1
        self._want_dispatch()
        if incident.owned and not incident.assigned and incident.state == "dispatched":
            incident.state = "closing"
            self._at(self.t + unit.rnd.uniform(60, 300), "close", incident.id)

    def _record_crime(self, incident: SimIncident) -> None:
        """The officer records the crime from the incident, then its victim (a new person)."""
        plan = incident.plan
        answer = self.api.post(
            "/api/v1/crimes",
            {
                "source": "incident",
                "incident_id": incident.id,
                "offence_code": plan.offence,
                "summary": plan.summary[:200],
                "narrative": f"Recorded by the attending officer. {plan.summary}",
            },
        )
        crime = answer["crime"]
        incident.crime_reference = crime["reference"]
        self.stats.crimes += 1
        self._note("crime", incident.label, plan.offence)
        if not plan.victim:
            return
        person = self.api.post(
            "/api/v1/persons",
            {
                "given_names": plan.victim_given,
                "family_name": plan.victim_family,
                "dob_year": plan.victim_birth_year,
                "gender": plan.victim_gender,
                "confirm_new": True,
            },
        )["person"]
        victim = {"person_id": person["id"], "enhanced": plan.enhanced}
        if plan.enhanced:
            victim["enhanced_reason"] = "victim of a serious or domestic offence, or vulnerable"
        self.api.post(f"/api/v1/crimes/{crime['id']}/victims", victim)
        self.stats.victims += 1

    # ------------------------------------------------------------ positions

    def _start_reports(self, unit: SimUnit, at: float) -> None:
        unit.report_token += 1
        unit.next_report = at
        self._at(at, "report", unit.id, unit.report_token)

    def _report_soon(self, unit: SimUnit) -> None:
        """A unit that sets off reports within a moving interval, not a standing one."""
        if unit.next_report > self.t + self.config.moving_every:
            self._start_reports(unit, self.t + 1.0)

    def _on_report(self, unit_id: str, token: int) -> tuple[SimUnit, Fix] | None:
        unit = self.units.get(unit_id)
        if unit is None or unit.report_token != token:
            return None
        moving = unit.leg.moving and unit.leg.start <= self.t < unit.leg.end
        unit.next_report = self.t + (self.config.moving_every if moving else self.config.still_every)
        self._at(unit.next_report, "report", unit.id, token)
        if not unit.tracked:
            return None
        return unit, self._fix(unit)[1]

    def _fix(self, unit: SimUnit, alarm: str | None = None) -> tuple[SimUnit, Fix]:
        lat, lon, bearing = unit.leg.at(self.t)
        battery = None
        if unit.unit_type in ("foot_patrol", "cycle_patrol"):  # a phone, not a vehicle's supply
            battery = max(15.0, 100.0 - (self.t / 3600.0) * 6.0 % 85.0)
        return unit, Fix(
            unit.device_id,
            round(lat, 6),
            round(lon, 6),
            unit.leg.speed_mps(self.t),
            bearing,
            battery=battery,
            alarm=alarm,
        )

    def _flush(self, pending: list[tuple[SimUnit, Fix]]) -> None:
        if not pending:
            return
        results = self.api.report([fix for _, fix in pending])
        for (unit, _), result in zip(pending, results, strict=True):
            if result.ok:
                self.stats.fixes += 1
                continue
            if result.code == "unreachable":
                raise Unreachable(result.detail or "no answer")
            self.stats.fixes_refused += 1
            if result.code == "device.unknown":
                unit.tracked = False  # no tracker registered for it: statuses only
                self._error(f"{unit.call_sign} has no device {unit.device_id}; its positions are not reported")

    # ------------------------------------------------------------ the emergency button

    def _next_emergency(self) -> None:
        hours = self.config.emergency_every_hours
        if hours and hours > 0:
            self._at(self.t + self.emergency_rnd.expovariate(1.0 / (hours * 3600)), "emergency")

    def _on_emergency(self) -> None:
        """An officer presses the emergency button on a tracked unit's device."""
        self._next_emergency()
        candidates = sorted(
            (
                u
                for u in self.units.values()
                if u.tracked and u.activity in ("patrol", "pause", "at_scene") and u.status in ("available", "at_scene")
            ),
            key=lambda u: u.call_sign,
        )
        if not candidates:
            return
        unit = self.emergency_rnd.choice(candidates)
        resume = "at_scene" if unit.activity == "at_scene" else "available"
        remaining = max(60.0, unit.scene_until - self.t) if resume == "at_scene" else 0.0
        self._new_activity(unit, "emergency")
        unit.resume_status = resume
        unit.scene_until = remaining
        self._flush([self._fix(unit, alarm="sos")])
        unit.status = "emergency"
        self.stats.emergencies += 1
        self._note("emergency", unit.call_sign, self.t)
        if self.config.auto_dispatch:
            self._at(self.t + self.emergency_rnd.uniform(45, 150), "emergency_acknowledge", unit.id, unit.token)
        else:
            unit.awaiting_acknowledgement = True  # the person at the screen acknowledges it

    def _on_emergency_acknowledge(self, unit_id: str, token: int) -> None:
        unit = self.units[unit_id]
        if unit.token != token:
            return
        for emergency in self.api.get("/api/v1/emergencies"):
            if emergency["unit_id"] == unit.id:
                self.api.post(
                    f"/api/v1/emergencies/{emergency['id']}/acknowledge",
                    {"note": "Officer answered on the radio: safe, assistance not needed (simulated)"},
                )
        self._at(self.t + unit.rnd.uniform(60, 240), "emergency_end", unit.id, unit.token)

    def _on_emergency_end(self, unit_id: str, token: int) -> None:
        """Acknowledged and safe: back to the scene, or back on patrol."""
        unit = self.units[unit_id]
        if unit.token != token or unit.activity != "emergency":
            return
        resume = unit.resume_status or "available"
        self.api.post(f"/api/v1/units/{unit.id}/status", {"status": resume, "reason": "officer safe"})
        unit.status = resume
        incident = self.incidents.get(unit.incident_id) if unit.incident_id else None
        if resume == "at_scene" and incident is not None:
            self._on_scene(unit, incident, self.t + unit.scene_until)
        else:
            self._patrol(unit)
