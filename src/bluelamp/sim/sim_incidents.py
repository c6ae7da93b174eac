"""The simulator's incidents from call to close: each call goes in through the incidents API
as a call handler would put it (THRIVE and a grade; another caller's call attached to the
incident already open); grades 1 and 2 wait for units, a grade 3 for its appointment, a
grade 4 is dealt with by phone; an incident closes with its plan's result. Open incidents
an earlier run made are this run's to finish.

The calls themselves and their plans come from ``sim_calls``; units are sent by
``sim_dispatch``.
"""

from __future__ import annotations

import math
from datetime import datetime

from bluelamp.sim.sim_calls import Call, plan_for, plan_for_incident
from bluelamp.sim.sim_client import ApiError
from bluelamp.sim.sim_world import ACTIVE_INCIDENT, COMMITTED, SimIncident, SimWorld


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class IncidentHandling(SimWorld):
    """The control room's side of an incident: taking the call, the visit or the call-back, closing."""

    # ------------------------------------------------------------ incidents known

    def _take_on_incidents(self) -> None:
        """Open incidents an earlier run made are this run's to finish."""
        attended = {row.get("incident_id") for row in self._initial.values() if row["status"] in COMMITTED}
        for row in self.api.call("GET", "/api/v1/incidents", params={"status": list(ACTIVE_INCIDENT), "limit": 1000}):
            incident = self._remember(row)
            if not incident.owned:
                continue
            if row["status"] in ("dispatched", "at_scene") and row["id"] not in attended:
                # Its units have all gone: close it if one got there, else send another.
                if row["status"] == "at_scene":
                    incident.arrived_any = True
                    incident.state = "closing"
                    self._at(self.t + 60, "close", incident.id)
                else:
                    self._wait_for_units(incident)
                continue
            if row["status"] == "open":
                if incident.grade in ("1", "2", "3"):
                    self._wait_for_units(incident)
                else:
                    incident.state = "phone"
                    self._at(self.t + 60, "phone", incident.id)
            elif row["status"] == "scheduled":
                incident.state = "scheduled"  # its slot is not known here: visit within a few hours
                self._at(self.t + 3600 * (1 + incident.plan.phone_minutes / 10), "visit", incident.id)
            elif row["status"] == "at_scene":
                incident.arrived_any = True
                incident.state = "dispatched"
            else:
                incident.state = "dispatched"

    def _remember(self, row: dict, call: Call | None = None) -> SimIncident:
        found = self.incidents.get(row["id"])
        if found is not None:
            return found
        owned = row.get("created_by") == self.username
        plan = (
            plan_for(self.config.seed, call, self.config.crime_factor)
            if call
            else plan_for_incident(
                self.config.seed, row["id"], row.get("category", ""), row["grade"], row.get("description", "")
            )
        )
        incident = SimIncident(
            id=row["id"],
            reference=row["reference"],
            grade=row["grade"],
            category=row.get("category", ""),
            lat=row["lat"],
            lon=row["lon"],
            owned=owned,
            plan=plan,
            call=call,
            needed=plan.units if row["grade"] in ("1", "2") else 1,
            created_t=self.t,
        )
        self.incidents[incident.id] = incident
        return incident

    def _incident(self, incident_id: str) -> SimIncident | None:
        found = self.incidents.get(incident_id)
        if found is not None:
            return found
        rows = self.api.call("GET", "/api/v1/incidents", params={"status": list(ACTIVE_INCIDENT), "limit": 1000})
        for row in rows:
            if row["id"] not in self.incidents:
                self._remember(row)
        return self.incidents.get(incident_id)

    def _forget_long_closed(self) -> None:
        """A long run forgets what is long closed (a run keeping its journal forgets nothing)."""
        if not self.config.journal and len(self.incidents) > 2000:
            old = [i.id for i in self.incidents.values() if i.state == "closed" and i.created_t < self.t - 6 * 3600]
            for incident_id in old:
                incident = self.incidents.pop(incident_id)
                if incident.call is not None:
                    self.by_call.pop(incident.call.number, None)

    # ------------------------------------------------------------ calls

    def _next_call(self) -> None:
        call = self.generator.next_call()
        self._at((call.at - self.start).total_seconds(), "call", call)

    def _on_call(self, call: Call) -> None:
        self._next_call()
        self.stats.calls += 1
        self._note("call", call.number, call.category, call.grade, call.source)
        original = self.by_call.get(call.duplicate_of) if call.duplicate_of else None
        if original is not None and original.state not in ("closed", "closing"):
            offered = self.api.get("/api/v1/incidents/duplicates", category=call.category, lat=call.lat, lon=call.lon)
            if any(d["incident"]["id"] == original.id for d in offered):
                if self._intake(call, attach_to=original.id) is not None:
                    self.stats.attached += 1
                    self._note("attach", call.number, original.label)
                return
        answer = self._intake(call)
        if answer is None:
            return
        row = answer["incident"]
        if not answer.get("created", True):
            return  # the same call was received before (a rerun with the same seed and start)
        incident = self._remember(row, call)
        incident.owned = True
        self.by_call[call.number] = incident
        self.stats.incidents += 1
        if incident.grade in ("1", "2"):
            self._wait_for_units(incident)
        elif incident.grade == "3":
            incident.state = "scheduled"
            self._at(self._visit_time(answer.get("appointment"), row["created_at"]), "visit", incident.id)
        else:
            incident.state = "phone"
            self._at(self.t + incident.plan.phone_minutes * 60, "phone", incident.id)

    def _intake(self, call: Call, attach_to: str | None = None) -> dict | None:
        body = {
            "source": call.source,
            "category": call.category,
            "lat": call.lat,
            "lon": call.lon,
            "address": call.address,
            "description": call.description,
            "qualifiers": list(call.qualifiers),
            "grade": call.grade,
            "thrive": call.thrive,
            "caller": {"name": call.caller_name, "phone": call.caller_phone, "callback_consent": call.callback_consent},
            "attach_to": attach_to,
        }
        try:
            return self.api.post("/api/v1/incidents", body, headers={"Idempotency-Key": call.key(self.config.seed)})
        except ApiError as exc:
            self._error(f"call {call.number} ({call.category}) refused: {exc.detail}")
            return None

    def _visit_time(self, appointment: dict | None, created_at: str) -> float:
        """A grade 3 visit in the slot the server booked, read on the simulated clock: a slot
        starting two hours after the call is twenty simulated hours away at speed 10. Counted
        in whole hours from the call, so that a rerun a few seconds later visits at the same
        simulated time (the server books slots on its own, real clock)."""
        if not appointment:
            return self.t + 24 * 3600
        starts = _parse_time(appointment["starts_at"])
        hours = math.ceil(max(0.0, (starts - _parse_time(created_at)).total_seconds()) / 3600)
        return self.t + max(1, hours) * 3600 * self.config.speed

    def _on_visit(self, incident_id: str) -> None:
        incident = self.incidents.get(incident_id)
        if incident and incident.state == "scheduled":
            self._wait_for_units(incident)

    def _on_phone(self, incident_id: str) -> None:
        """Grade 4: dealt with by phone (a crime recorded by phone when there is one), resolved, closed."""
        incident = self.incidents.get(incident_id)
        if incident is None or incident.state != "phone":
            return
        if incident.plan.crime:
            self._record_crime(incident)
        self.api.post(
            f"/api/v1/incidents/{incident.id}/status",
            {"status": "resolved", "reason": "resolved by phone without deployment"},
        )
        self.stats.resolved_by_phone += 1
        self._close(incident)

    # ------------------------------------------------------------ closing

    def _on_close(self, incident_id: str) -> None:
        incident = self.incidents.get(incident_id)
        if incident is not None and incident.state == "closing":
            self._close(incident)

    def _close(self, incident: SimIncident) -> None:
        """Close with the plan's result; call-back tasks opened on the way are closed first."""
        plan = incident.plan
        result = "crime_recorded" if incident.crime_reference else plan.result
        if result == "crime_recorded" and not incident.crime_reference:
            result = "resolved"
        body = {
            "closing_category": incident.category,
            "result": result,
            "summary": plan.summary,
            "crime_reference": incident.crime_reference,
        }
        incident.close_attempts += 1
        try:
            self.api.post(f"/api/v1/incidents/{incident.id}/close", body)
        except ApiError as exc:
            if exc.code == "incident.open_call_backs" and incident.close_attempts < 4:
                for task_id in exc.body.get("tasks", []):
                    self.api.post(f"/api/v1/tasks/{task_id}/close", {"outcome": "caller called back and updated"})
                self._close(incident)
                return
            if exc.code == "incident.appointment_booked" or (
                exc.code == "incident.units_assigned" and incident.close_attempts < 6
            ):
                incident.state = "closing"  # the slot is not over on the server's clock yet, or a unit is still on it
                self._at(self.t + 1800, "close", incident.id)
                return
            incident.state = "closed"
            self._error(f"closing {incident.reference}: {exc.detail}")
            return
        incident.state = "closed"
        self.stats.closed += 1
        self._note("close", incident.label, result)
