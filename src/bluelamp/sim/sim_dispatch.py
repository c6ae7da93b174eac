"""Who goes where: the simulator's own dispatch decisions and those of the people at the
screens. With auto-dispatch, each waiting incident (grade, then age) gets the recommended
units that are free, up to the number it needs, looked at again whenever a unit frees up
or a minute passes. Whatever the dispatchers do is read from the units list and followed:
a unit a person assigned sets off, one released goes back on patrol, an incident left
without units waits again or closes.
"""

from __future__ import annotations

from bluelamp.sim.sim_client import ApiError
from bluelamp.sim.sim_world import COMMITTED, DEPLOYABLE, FREE, SimIncident, SimUnit, SimWorld


class Dispatching(SimWorld):
    """Sending units: the recommended ones (auto-dispatch), and following the people who send them."""

    # ------------------------------------------------------------ auto-dispatch

    def _wait_for_units(self, incident: SimIncident) -> None:
        incident.state = "waiting"
        incident.tried_epoch = -1
        self._want_dispatch()

    def _want_dispatch(self) -> None:
        if self.config.auto_dispatch and not self._dispatch_pending:
            self._dispatch_pending = True
            self._at(self.t, "dispatch")

    def _on_dispatch_sweep(self) -> None:
        self._at(self.t + 60, "dispatch_sweep")
        self.epoch += 1  # units move: a minute on, the recommendations may differ
        self._want_dispatch()
        self._forget_long_closed()

    def _on_dispatch(self) -> None:
        """Auto-dispatch: for each incident waiting (grade, then age), send the recommended
        units that are free, up to the number the incident needs."""
        self._dispatch_pending = False
        if not self.config.auto_dispatch:
            return
        waiting = sorted(
            (i for i in self.incidents.values() if i.owned and i.state == "waiting"),
            key=lambda i: (i.grade, i.created_t),
        )
        asked = 0
        for incident in waiting:
            if asked >= 12 or not any(self._free(u) for u in self.units.values()):
                return  # the rest wait for the next unit to come free, or the next sweep
            if incident.tried_epoch == self.epoch:
                continue
            incident.tried_epoch = self.epoch
            asked += 1
            self._assign_recommended(incident)

    @staticmethod
    def _free(unit: SimUnit) -> bool:
        return unit.activity in FREE and unit.status in DEPLOYABLE

    def _assign_recommended(self, incident: SimIncident) -> None:
        try:
            found = self.api.get(f"/api/v1/incidents/{incident.id}/recommendations")
        except ApiError as exc:
            if exc.status in (404, 409):
                incident.state = "closed"  # no longer ours to dispatch (closed or merged by a person)
                return
            raise
        for rec in found["recommendations"]:
            if len(incident.assigned) >= incident.needed:
                break
            unit = self.units.get(rec["unit_id"])
            if rec["committed"] or unit is None or unit.id in incident.assigned or not self._free(unit):
                continue
            try:
                self.api.post(
                    f"/api/v1/incidents/{incident.id}/assignments",
                    {"unit_id": unit.id, "recommended_rank": rec["rank"], "eta_seconds": rec["eta_seconds"]},
                )
            except ApiError as exc:
                self._error(f"assigning {unit.call_sign} to {incident.reference}: {exc.detail}")
                continue
            self.stats.assigned += 1
            self._note("assign", incident.label, unit.call_sign, rec["rank"])
            unit.status = "assigned"
            incident.assigned.add(unit.id)
            self._start_job(unit, incident)
        if incident.assigned:
            incident.state = "dispatched"

    # ------------------------------------------------------------ what the people at the screens did

    def _on_poll(self) -> None:
        """Read the units as the control room sees them and follow what people changed:
        a unit a dispatcher assigned sets off; one released goes back on patrol."""
        self._at(self.t + self.config.poll_every, "poll")
        rows = self.api.get("/api/v1/units")
        for row in rows:
            unit = self.units.get(row["id"])
            if unit is None:
                unit = self._add_unit(row)
                self._start_reports(unit, self.t)
                self._settle(unit)
                continue
            self._follow(unit, row)
        waiting = [u for u in self.units.values() if u.awaiting_acknowledgement]
        if waiting:
            open_units = {e["unit_id"] for e in self.api.get("/api/v1/emergencies")}
            for unit in waiting:
                if unit.id not in open_units:
                    unit.awaiting_acknowledgement = False
                    self._at(self.t + unit.rnd.uniform(30, 180), "emergency_end", unit.id, unit.token)

    def _follow(self, unit: SimUnit, row: dict) -> None:
        status, incident_id = row["status"], row.get("incident_id")
        unit.status = status
        if unit.activity == "emergency":
            if status == "emergency":
                return
            unit.awaiting_acknowledgement = False  # someone else brought it back
        if status == "off_duty":
            if unit.activity != "off":
                self._leave_job(unit)
                self._settle(unit)
            return
        if status == "emergency":
            if unit.activity != "held":
                self._new_activity(unit, "held")  # pressed on the officer's own phone: stand still
            return
        if status in COMMITTED and incident_id:
            if unit.incident_id == incident_id and unit.activity in ("assigned", "en_route", "at_scene"):
                return
            incident = self._incident(incident_id)
            if incident is None:
                return
            self._leave_job(unit)
            incident.assigned.add(unit.id)
            if incident.state in ("waiting", "scheduled", "new"):
                incident.state = "dispatched"
            self.stats.followed += 1
            self._note("followed", incident.label, unit.call_sign, status)
            if status == "assigned":
                self._start_job(unit, incident)
            elif status == "en_route":
                unit.incident_id = incident.id
                self._drive(unit, incident)
            else:
                incident.arrived_any = True
                self._on_scene(unit, incident, self.t + incident.plan.scene_minutes * 60)
            return
        if status == "refreshments":
            if unit.activity != "break":
                self._leave_job(unit)
                self._new_activity(unit, "break")  # parked for a meal until someone makes it available
            return
        if status == "available" and unit.activity not in ("patrol", "pause"):
            self._leave_job(unit)
            self._patrol(unit)
            self.epoch += 1
            self._want_dispatch()

    def _leave_job(self, unit: SimUnit) -> None:
        """The unit is no longer on the incident the simulator thought (released or diverted by a person)."""
        incident = self.incidents.get(unit.incident_id) if unit.incident_id else None
        unit.incident_id = None
        if incident is None or unit.id not in incident.assigned:
            return
        incident.assigned.discard(unit.id)
        if not incident.owned or incident.assigned or incident.state != "dispatched":
            return
        if incident.arrived_any:
            incident.state = "closing"
            self._at(self.t + 120, "close", incident.id)
        else:
            self._wait_for_units(incident)  # the server put it back on the queue
