"""An emulator of Home Assistant's REST API, on 127.0.0.1 (plain HTTP like a default install;
``tls=True`` for HTTPS with its own CA), written from the developer docs
(developers.home-assistant.io/docs/api/rest) and core's ``homeassistant/components/api``.

- ``GET /api/`` ``{"message": "API running."}``; ``GET /api/states``, ``GET /api/states/<id>``
  (404 ``{"message": "Entity not found."}``); state objects carry ``entity_id``, ``state`` (a
  string), ``attributes``, ``last_changed``, ``last_reported``, ``last_updated`` and ``context``
  ``{id, parent_id, user_id}``.
- ``POST /api/services/<domain>/<service>`` answers the list of states it changed:
  ``select.select_option``/``input_select.select_option`` (400 for an option not in
  ``options``), ``number.set_value``/``input_number.set_value`` (400 outside ``min``..``max``);
  an unknown service is 400 ``Service not found``.
- 401 ``401: Unauthorized`` (text) without the bearer token.
- ``restart(s)``: every entity ``unavailable`` for ``s`` seconds of the emulator clock, then
  restored with fresh contexts that carry no user (as HA's restore does).
- ``person_selects(entity, option)``: a person's click in the UI (the context has their user id).

A small site runs behind the entities (``step`` on every request, on the emulator clock): a
constant load, no PV, a battery driven by the mode select and the charge/discharge numbers.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.emulators._server import EmulatorBase, RecordedRequest, Reply

__all__ = ["GRIDPILOT_USER", "PERSON_USER", "HomeAssistantEmulator"]

GRIDPILOT_USER = "9f1c1b6e6c2a4a0a8f8a5f2b7e1d0c01"
PERSON_USER = "c0ffee00c0ffee00c0ffee00c0ffee00"
MODES = ["Eco", "Force Charge", "Force Discharge", "Stop"]


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


class HomeAssistantEmulator(EmulatorBase):
    def __init__(self, *, token: str = "ha-long-lived-token", tls: bool = False,
                 capacity_kwh: float = 5.0, load_w: float = 600.0) -> None:
        super().__init__()
        self.tls = tls
        self.token = token
        self.capacity_kwh = capacity_kwh
        self.load_w = load_w
        self.soc_pct = 50.0
        self.battery_w = 0.0
        self.restart_until: float | None = None
        self.simulate = True
        """False freezes the sensors at what the test put there."""
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.device_services: set[str] = set()
        """Services that name a device in their data (``huawei_solar/forcible_charge_soc``)."""
        now = self.clock()
        self._last_step = now
        self.entities: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        """Every state change of each entity, as the recorder keeps them."""
        self.put("sensor.battery_soc", "50", {"unit_of_measurement": "%",
                                              "device_class": "battery"})
        self.put("sensor.load_power", "600", {"unit_of_measurement": "W"})
        self.put("sensor.pv_power", "0.0", {"unit_of_measurement": "kW"})
        self.put("sensor.grid_power", "600", {"unit_of_measurement": "W"})
        # Like many integrations: positive means charging.
        self.put("sensor.battery_power", "0", {"unit_of_measurement": "W"})
        self.put("select.battery_mode", "Eco", {"options": list(MODES)})
        self.put("number.battery_charge_power", "3000",
                 {"min": 0, "max": 3000, "step": 100, "unit_of_measurement": "W",
                  "mode": "slider"})
        self.put("number.battery_discharge_power", "3000",
                 {"min": 0, "max": 3000, "step": 100, "unit_of_measurement": "W"})
        self.put("number.battery_target_soc", "100",
                 {"min": 10, "max": 100, "step": 1, "unit_of_measurement": "%"})

    # -- the state machine -------------------------------------------------------------------

    def put(self, entity_id: str, state: str, attributes: dict[str, Any] | None = None, *,
            user_id: str | None = None, context_id: str | None = None) -> dict[str, Any]:
        """Set a state as HA's state machine does: ``last_changed`` moves only when the state
        string changes, ``last_updated`` when it or an attribute does."""
        now = _iso(self.clock())
        old = self.entities.get(entity_id)
        attrs = dict(attributes if attributes is not None else (old or {}).get("attributes", {}))
        attrs.setdefault("friendly_name", entity_id.split(".", 1)[1].replace("_", " ").title())
        changed = old is None or old["state"] != state
        new = {
            "entity_id": entity_id,
            "state": state,
            "attributes": attrs,
            "last_changed": now if changed else old["last_changed"],  # type: ignore[index]
            "last_reported": now,
            "last_updated": now if changed or old["attributes"] != attrs else old["last_updated"],  # type: ignore[index]
            "context": {"id": context_id or uuid.uuid4().hex.upper()[:26], "parent_id": None,
                        "user_id": user_id},
        }
        self.entities[entity_id] = new
        if changed:
            self.history.setdefault(entity_id, []).append(new)
        return new

    def value(self, entity_id: str) -> str:
        with self.lock:
            return str(self.entities[entity_id]["state"])

    def person_selects(self, entity_id: str, option: str) -> None:
        with self.lock:
            self.put(entity_id, option, user_id=PERSON_USER)

    def restart(self, duration_s: float) -> None:
        """HA goes down and comes back: every entity unavailable until the clock passes
        ``duration_s`` from now."""
        with self.lock:
            self.restart_until = self.clock() + duration_s
            self._saved = {k: (v["state"], v["attributes"]) for k, v in self.entities.items()}
            for entity_id, entity in list(self.entities.items()):
                self.put(entity_id, "unavailable",
                         {"friendly_name": entity["attributes"].get("friendly_name"),
                          "restored": True})

    def _restore_if_up(self) -> None:
        if self.restart_until is None or self.clock() < self.restart_until:
            return
        self.restart_until = None
        for entity_id, (state, attrs) in self._saved.items():
            self.put(entity_id, state, attrs)

    def step(self) -> None:
        """Advance the site to the emulator clock."""
        now = self.clock()
        dt = max(0.0, now - self._last_step)
        self._last_step = now
        self._restore_if_up()
        if self.restart_until is not None or not self.simulate:
            return
        mode = self.entities["select.battery_mode"]["state"]
        charge = float(self.entities["number.battery_charge_power"]["state"])
        discharge = float(self.entities["number.battery_discharge_power"]["state"])
        target = float(self.entities["number.battery_target_soc"]["state"])
        if mode == "Force Charge":
            power = -charge if self.soc_pct < target else 0.0
        elif mode == "Force Discharge":
            power = discharge if self.soc_pct > 10 else 0.0
        elif mode == "Eco":
            power = min(self.load_w, discharge) if self.soc_pct > 10 else 0.0
        else:
            power = 0.0
        energy_kwh = -power * dt / 3600 / 1000
        self.soc_pct = min(100.0, max(0.0, self.soc_pct + 100 * energy_kwh / self.capacity_kwh))
        self.battery_w = power
        grid = self.load_w - power
        self.put("sensor.battery_soc", f"{self.soc_pct:.1f}")
        self.put("sensor.battery_power", f"{-power:.0f}")
        self.put("sensor.grid_power", f"{grid:.0f}")
        self.put("sensor.load_power", f"{self.load_w:.0f}")
        # The integration reports every sensor on each poll, changed or not (last_reported).
        self.put("sensor.pv_power", self.entities["sensor.pv_power"]["state"])

    # -- the HTTP API --------------------------------------------------------------------------

    def route(self, req: RecordedRequest) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Reply.text("401: Unauthorized", 401)
        self.step()
        path = req.path
        if path == "/api/" and req.method == "GET":
            return Reply.json({"message": "API running."})
        if path == "/api/states" and req.method == "GET":
            return Reply.json(list(self.entities.values()))
        if path.startswith("/api/states/") and req.method == "GET":
            entity = self.entities.get(path.removeprefix("/api/states/"))
            if entity is None:
                return Reply.json({"message": "Entity not found."}, 404)
            return Reply.json(entity)
        if path.startswith("/api/history/period/") and req.method == "GET":
            return self._history(path.removeprefix("/api/history/period/"), req.query)
        if path.startswith("/api/services/") and req.method == "POST":
            return self._service(path.removeprefix("/api/services/"), req)
        return Reply.text("404: Not Found", 404)

    def _history(self, start_text: str, query: dict[str, str]) -> Reply:
        """``/api/history/period/<start>?end_time=&filter_entity_id=a,b&minimal_response``: per
        entity, the state in force at ``start`` (its time moved to ``start``, as HA's
        include_start_time_state does) then every change up to ``end_time``; with
        ``minimal_response`` only the first object is whole."""
        try:
            start = datetime.fromisoformat(start_text)
            end = datetime.fromisoformat(query["end_time"]) if "end_time" in query else (
                start + timedelta(days=1))
        except ValueError:
            return Reply.json({"message": "Invalid datetime"}, 400)
        if "filter_entity_id" not in query:
            return Reply.json({"message": "filter_entity_id is missing"}, 400)
        minimal = "minimal_response" in query
        out = []
        for entity_id in query["filter_entity_id"].split(","):
            changes = self.history.get(entity_id, [])
            before = [c for c in changes if datetime.fromisoformat(c["last_changed"]) <= start]
            inside = [c for c in changes if start < datetime.fromisoformat(c["last_changed"]) < end]
            series = []
            if before:
                series.append({**before[-1], "last_changed": start.isoformat(),
                               "last_updated": start.isoformat()})
            series.extend(inside)
            if not series:
                continue
            if minimal:
                series = [series[0]] + [{"state": c["state"], "last_changed": c["last_changed"]}
                                        for c in series[1:]]
            out.append(series)
        return Reply.json(out)

    def _service(self, name: str, req: RecordedRequest) -> Reply:
        try:
            data = json.loads(req.body) if req.body else {}
        except ValueError:
            return Reply.json({"message": "Data should be valid JSON."}, 400)
        if not isinstance(data, dict):
            return Reply.json({"message": "Data should be a JSON object."}, 400)
        self.calls.append((name, data))
        domain, _, service = name.partition("/")
        entity_id = data.get("entity_id")
        entity = self.entities.get(entity_id) if isinstance(entity_id, str) else None
        if (domain, service) in (("select", "select_option"), ("input_select", "select_option")):
            if entity is None or not entity_id.startswith(domain + "."):  # type: ignore[union-attr]
                return Reply.json([])
            option = data.get("option")
            if option not in entity["attributes"].get("options", []):
                return Reply.json({"message": f"Option {option} is not valid for {entity_id}"},
                                  400)
            return Reply.json([self.put(entity_id, str(option), user_id=GRIDPILOT_USER)])  # type: ignore[arg-type]
        if (domain, service) in (("number", "set_value"), ("input_number", "set_value")):
            if entity is None or not entity_id.startswith(domain + "."):  # type: ignore[union-attr]
                return Reply.json([])
            try:
                value = float(data.get("value"))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return Reply.text("400: Bad Request", 400)
            attrs = entity["attributes"]
            if not attrs["min"] <= value <= attrs["max"]:
                return Reply.json({"message": (
                    f"Value {value} for {entity_id} is outside valid range "
                    f"{attrs['min']} - {attrs['max']}")}, 400)
            return Reply.json([self.put(entity_id, f"{value:g}", user_id=GRIDPILOT_USER)])  # type: ignore[arg-type]
        if name in self.device_services:
            return Reply.json([])
        return Reply.json({"message": f"Service {domain}.{service} not found."}, 400)
