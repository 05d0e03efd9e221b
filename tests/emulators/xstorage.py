"""An emulator of the Eaton xStorage Home local API: a real HTTPS server on 127.0.0.1.

It behaves as ``shared/reference/xstorage-local-api.md`` describes live units: tokens under
``result.token`` (or the old empty key), ~60 min token life, 403 on technician endpoints for a
customer, 404 plain text for unknown paths, 307 on the slash-less settings PUT, a settings PUT
that replaces every field (fields left out are reset), the bare ``""`` body of the power call,
seconds on device/settings timestamps and milliseconds on modes, overlap errors on the schedule.

Usage::

    with XStorageEmulator(password="pw") as emu:
        emu.url, emu.ca_path, emu.fingerprint_sha256
        emu.faults.timeout(path="/api/device/status")     # fault injection
        emu.expire_tokens(); emu.reboot(); emu.person_sets_manual("SET_DISCHARGE", {...})
        emu.fault_current_mode(None)                      # status with currentMode: null
        emu.fault_current_mode(OMIT)                      # status without currentMode
        emu.fault_current_mode(lambda m: {**m, "type": "manual"})  # the running record, altered
        emu.state.energy_flow["stateOfCharge"] = 42
        emu.requests_to("POST", "/api/device/command")
"""

from __future__ import annotations

import copy
import csv
import io
import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.emulators._server import EmulatorBase, RecordedRequest, Reply
from tests.emulators.xstorage_model import (
    GEONAMES,
    TECH_ONLY,
    WRITABLE_DEFAULTS,
    command_in_range,
    days_overlap,
    default_settings,
    envelope,
    error,
    minutes,
)

__all__ = ["NO_FAULT", "OMIT", "XStorageEmulator", "XStorageState", "command_in_range"]

NO_FAULT: Any = object()
"""``XStorageState.current_mode_fault`` when the status answers as a unit does."""
OMIT: Any = object()
"""A ``currentMode`` fault that leaves the key out of the status answer."""

@dataclass
class XStorageState:
    """Everything the emulated unit holds; tests may change it between requests."""

    device: dict[str, Any]
    settings: dict[str, Any]
    energy_flow: dict[str, Any]
    current_mode: dict[str, Any] | None = None
    """The MANUAL or SCHEDULE record running, ``None`` = the default mode."""
    schedule: list[dict[str, Any]] = field(default_factory=list)
    power_on: bool = True
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    failed_signins: int = 0
    locked: bool = False
    out_of_range_commands: list[Any] = field(default_factory=list)
    """Every command body received that lies outside the unit's ranges (tests assert empty)."""
    settings_puts: list[Any] = field(default_factory=list)
    issued_tokens: list[str] = field(default_factory=list)
    """Every token ever handed out (tests check none of them leaks into logs)."""
    current_mode_fault: Any = NO_FAULT
    """What the status serves as ``currentMode`` instead of the running record: a JSON value,
    :data:`OMIT`, or a function of the running record (see ``fault_current_mode``)."""


class XStorageEmulator(EmulatorBase):
    def __init__(
        self,
        *,
        username: str = "user",
        password: str = "user-secret-pw",
        tech_username: str = "admin",
        tech_password: str = "tech-secret-pw",
        token_shape: str = "result",
        token_ttl_s: float = 3600.0,
        lock_after: int = 5,
        power_applies_after: int = 0,
    ) -> None:
        super().__init__()
        self.username, self.password = username, password
        self.tech_username, self.tech_password = tech_username, tech_password
        self.token_shape = token_shape
        self.token_ttl_s = token_ttl_s
        self.lock_after = lock_after
        self.power_applies_after = power_applies_after
        self._power_pending: tuple[bool, int] | None = None
        now_s = int(self.clock())
        self.state = XStorageState(
            device={
                "id": "", "updatedAt": now_s, "createdAt": now_s, "name": "Garage unit",
                "country": {"geonameId": "2635167", "name": "United Kingdom"},
                "city": {"geonameId": "2643743", "name": "London"},
                "firmwareVersion": "00.01.0017-0-g72006700", "bmsCapacity": 4.2,
                "bmsBackupLevel": 10, "inverterManufacturer": "EATON",
                "inverterModelName": "XSTH1P036P048V01", "inverterVaRating": 3600,
                "inverterNominalVpv": 3600, "hasPv": True, "hasBattery": True,
                "powerState": True,
            },
            settings=default_settings(now_s),
            energy_flow={
                "acPvRole": "DISCONNECTED", "acPvValue": 0, "batteryBackupLevel": 10,
                "batteryStatus": "BAT_IDLE", "batteryEnergyFlow": 0,
                "criticalLoadRole": "CONSUMER", "criticalLoadValue": 300,
                "dcPvRole": "PRODUCER", "dcPvValue": 1200, "gridRole": "PRODUCER",
                "gridValue": 400, "nonCriticalLoadRole": "CONSUMER",
                "nonCriticalLoadValue": 500, "operationMode": "BASIC",
                "selfConsumption": 80, "selfSufficiency": 60, "stateOfCharge": 55,
                "energySavingModeEnabled": True, "energySavingModeActivated": False,
            },
        )

    # -- hooks for tests ---------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as after ~60 minutes)."""
        with self.lock:
            self.state.tokens.clear()

    def reboot(self, *, down_requests: int = 0) -> None:
        """The unit restarts: tokens are gone, the running manual mode is dropped, and the next
        ``down_requests`` connections are reset while it boots."""
        with self.lock:
            self.state.tokens.clear()
            self.state.current_mode = None
        if down_requests:
            self.faults.reset(count=down_requests)

    def person_sets_manual(self, command: str, parameters: dict[str, Any] | None,
                           duration_h: int = 2) -> dict[str, Any]:
        """Someone sets a mode on the unit's own dashboard."""
        with self.lock:
            return self._store_manual(command, parameters, duration_h)

    def fault_current_mode(self, fault: Any = NO_FAULT) -> None:
        """Serve odd ``currentMode`` shapes in the status from now on, as units and firmware
        the documents do not cover might: a value (``None``, ``{}``, a record without
        ``type``...), :data:`OMIT` for no key at all, or a function that alters the running
        record (``lambda m: {**m, "type": "OVERRIDE"}``). No argument ends the fault. Commands
        still work: the unit runs what it is told, only its status reads oddly."""
        with self.lock:
            self.state.current_mode_fault = fault

    # -- the API -----------------------------------------------------------------------------

    def _now_ms(self) -> int:
        return int(self.clock() * 1000)

    def _store_manual(self, command: str, parameters: Any, duration_h: int) -> dict[str, Any]:
        now = datetime.fromtimestamp(self.clock(), UTC)
        start = now.hour * 100 + now.minute
        end = ((now.hour + duration_h) % 24) * 100 + now.minute
        record = {
            "id": str(uuid.uuid4()), "command": command, "createdAt": self._now_ms(),
            "updatedAt": self._now_ms(), "duration": duration_h, "startTime": start,
            "endTime": end, "recurrence": "MANUAL_EVENT", "type": "MANUAL",
            "parameters": parameters,
            "user": {"id": "00000000-0000-0000-0000-000000000000", "firstName": "Local",
                     "lastName": "User"},
        }
        self.state.current_mode = record
        return record

    def _current_mode(self) -> dict[str, Any]:
        mode = self.state.current_mode
        if mode is not None and mode.get("type") == "MANUAL":
            ends_ms = mode["createdAt"] + mode["duration"] * 3_600_000
            if self._now_ms() >= ends_ms:
                self.state.current_mode = mode = None
        if mode is not None:
            return mode
        default = self.state.settings.get("defaultMode") or {}
        return {
            "id": default.get("id", ""), "command": default.get("command", "SET_BASIC_MODE"),
            "createdAt": self._now_ms(), "updatedAt": self._now_ms(), "duration": None,
            "startTime": None, "endTime": None, "recurrence": "DEFAULT_EVENT",
            "type": "DEFAULT", "parameters": None,
        }

    def _auth(self, req: RecordedRequest) -> str | Reply:
        header = req.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip()
        entry = self.state.tokens.get(token)
        if not header.startswith("Bearer ") or entry is None:
            return Reply.json(error("401", "invalid or expired token"), 401)
        user_type, issued = entry
        if self.clock() - issued >= self.token_ttl_s:
            del self.state.tokens[token]
            return Reply.json(error("401", "token expired"), 401)
        return user_type

    def route(self, req: RecordedRequest) -> Reply:
        m, p = req.method, req.path
        if (m, p) == ("POST", "/api/auth/signin"):
            return self._signin(req)
        user = self._auth(req)
        if isinstance(user, Reply):
            return user
        if p in TECH_ONLY and m == "GET":
            if user != "tech":
                return Reply.json(error("403", "forbidden"), 403)
            return Reply.json(envelope(self._technical(p)))
        handler = {
            ("GET", "/api/config/state"): lambda: Reply.json(
                {"setupComplete": True, "missingSteps": [], "version": "00.01.0017"}),
            ("GET", "/api/device"): self._device,
            ("GET", "/api/device/status"): self._status,
            ("GET", "/api/settings"): lambda: Reply.json(envelope(self.state.settings)),
            ("GET", "/api/settings/"): lambda: Reply.json(envelope(self.state.settings)),
            ("PUT", "/api/settings"): lambda: Reply(
                307, b"", "text/plain", {"Location": "/api/settings/"}),
            ("PUT", "/api/settings/"): lambda: self._put_settings(req),
            ("POST", "/api/device/command"): lambda: self._command(req),
            ("POST", "/api/device/power"): lambda: self._power(req),
            ("GET", "/api/schedule/"): lambda: Reply.json(envelope(
                {"events": copy.deepcopy(self.state.schedule)})),
            ("POST", "/api/schedule/event"): lambda: self._schedule_write(req, None),
            ("GET", "/api/metrics/"): lambda: self._metrics(req),
            ("GET", "/api/metrics"): lambda: self._metrics(req),
            ("GET", "/api/metrics/export"): lambda: self._export(req),
        }.get((m, p))
        if handler is not None:
            return handler()
        if p.startswith("/api/schedule/event/"):
            event_id = p.rsplit("/", 1)[-1]
            if m == "PUT":
                return self._schedule_write(req, event_id)
            if m == "DELETE":
                before = len(self.state.schedule)
                self.state.schedule = [e for e in self.state.schedule if e["id"] != event_id]
                if len(self.state.schedule) == before:
                    return Reply.json(error("err_schedule_event_not_found"), 400)
                return Reply.json(envelope(None))
        return Reply.text("404 page not found", 404)

    def _signin(self, req: RecordedRequest) -> Reply:
        body = req.json() or {}
        if self.state.locked:
            return Reply.json(error("10", "account locked"), 401)
        user_type = body.get("userType")
        ok = (user_type == "customer" and body.get("username") == self.username
              and body.get("pwd") == self.password) or (
            user_type == "tech" and body.get("username") == self.tech_username
            and body.get("pwd") == self.tech_password and body.get("inverterSn"))
        if not ok:
            self.state.failed_signins += 1
            if self.state.failed_signins >= self.lock_after:
                self.state.locked = True
            return Reply.json(error("2", "invalid credentials"), 401)
        token = "eyJ" + secrets.token_urlsafe(24)
        self.state.tokens[token] = (str(user_type), self.clock())
        self.state.issued_tokens.append(token)
        if self.token_shape == "empty_key":
            return Reply.json({"": token})
        return Reply.json({"successful": True, "result": {"token": token}})

    def _status(self) -> Reply:
        flow = dict(self.state.energy_flow)
        result = {
            "currentMode": self._current_mode(),
            "energyFlow": flow,
            "last30daysEnergyFlow": {"gridConsumption": 120000, "photovoltaicProduction": 90000,
                                     "selfConsumption": 70, "selfSufficiency": 40},
            "today": {"gridConsumption": 4200, "photovoltaicProduction": 3100,
                      "selfConsumption": 70, "selfSufficiency": 40},
        }
        fault = self.state.current_mode_fault
        if fault is OMIT:
            del result["currentMode"]
        elif callable(fault):
            result["currentMode"] = fault(copy.deepcopy(result["currentMode"]))
        elif fault is not NO_FAULT:
            result["currentMode"] = copy.deepcopy(fault)
        return Reply.json(envelope(result))

    def _command(self, req: RecordedRequest) -> Reply:
        try:
            body = req.json()
        except ValueError:
            return Reply.json(error("bad_json", step="set_manual_command"), 400)
        why = command_in_range(body)
        if why:
            self.state.out_of_range_commands.append(body)
            return Reply.json(error("err_invalid_command", why, "set_manual_command"), 400)
        record = self._store_manual(body["command"], body.get("parameters"), body["duration"])
        return Reply.json(envelope(record))

    def _power(self, req: RecordedRequest) -> Reply:
        params = (req.json() or {}).get("parameters") or {}
        state = params.get("state")
        if not isinstance(state, bool):
            return Reply.json(error("err_invalid_power_state"), 400)
        if self.power_applies_after:
            self._power_pending = (state, self.power_applies_after)
        else:
            self.state.power_on = state
        return Reply.json("")

    def _device(self) -> Reply:
        self._tick_power()
        return Reply.json(envelope({**self.state.device, "powerState": self.state.power_on}))

    def _tick_power(self) -> None:
        if self._power_pending is not None:
            state, left = self._power_pending
            if left <= 1:
                self.state.power_on, self._power_pending = state, None
            else:
                self._power_pending = (state, left - 1)

    def _put_settings(self, req: RecordedRequest) -> Reply:
        body = req.json() or {}
        new = body.get("settings")
        self.state.settings_puts.append(copy.deepcopy(body))
        if not isinstance(new, dict):
            return Reply.json(error("err_invalid_settings", "settings missing"), 400)
        for key in ("country", "city", "timezone"):
            if key in new and not isinstance(new[key], str):
                return Reply.json(error("err_invalid_settings", f"{key} must be a string"), 400)
        level = new.get("bmsBackupLevel", 0)
        if not isinstance(level, int) or not 0 <= level <= 100:
            return Reply.json(error("err_invalid_settings", "bmsBackupLevel"), 400)
        old = self.state.settings
        now_s = int(self.clock())
        stored = {k: v for k, v in old.items() if k not in WRITABLE_DEFAULTS}
        # A PUT replaces every writable field: whatever was left out is reset.
        for key, default in WRITABLE_DEFAULTS.items():
            stored[key] = copy.deepcopy(new.get(key, default))
        for key, value in new.items():
            if key not in WRITABLE_DEFAULTS:
                stored[key] = copy.deepcopy(value)
        for key in ("country", "city"):
            gid = stored[key]
            stored[key] = {"geonameId": gid, "name": GEONAMES.get(gid, gid)}
        tz = stored["timezone"]
        stored["timezone"] = {"id": tz, "updatedAt": 0, "createdAt": 0, "timezone": tz,
                              "countryId": "", "name": tz, "version": ""}
        mode = stored["defaultMode"] or {}
        stored["defaultMode"] = {"id": str(uuid.uuid4()), "updatedAt": now_s,
                                 "createdAt": now_s, "user": None,
                                 "command": mode.get("command"),
                                 "parameters": mode.get("parameters") or None}
        stored.update({"id": str(uuid.uuid4()), "createdAt": now_s, "updatedAt": now_s})
        self.state.settings = stored
        return Reply.json(envelope(stored))

    def _schedule_write(self, req: RecordedRequest, event_id: str | None) -> Reply:
        body = req.json() or {}
        start, end = body.get("startTime"), body.get("endTime")
        if not isinstance(start, int) or not isinstance(end, int):
            return Reply.json(error("err_schedule_invalid_event"), 400)
        if event_id is not None and not any(e["id"] == event_id for e in self.state.schedule):
            return Reply.json(error("err_schedule_event_not_found"), 400)
        mine = minutes(start, end)
        for other in self.state.schedule:
            if other["id"] == event_id:
                continue
            if days_overlap(body.get("recurrence"), other.get("recurrence")) and (
                mine & minutes(other["startTime"], other["endTime"])
            ):
                return Reply.json(error("err_schedule_add_event_overlap"), 400)
        record = {**body, "id": event_id or str(uuid.uuid4()), "createdAt": self._now_ms(),
                  "updatedAt": self._now_ms(), "type": "SCHEDULE"}
        self.state.schedule = [e for e in self.state.schedule if e["id"] != event_id]
        self.state.schedule.append(record)
        return Reply.json(envelope(record))

    def metric_records(self, from_ms: int, to_ms: int) -> list[dict[str, Any]]:
        step = 300_000
        first = -(-from_ms // step) * step
        out = []
        for t in range(first, to_ms, step):
            minute = (t // 60_000) % 1440
            pv = max(0, 2000 - abs(minute - 720) * 4)
            out.append({
                "totalHouseConsumption": 400 + (minute % 97) * 5, "totalGridInjection": 0,
                "criticalLoads": 200, "nonCriticalLoads": 200 + (minute % 97) * 5,
                "photovoltaicProduction": pv, "batteryStateOfCharge": 20 + minute % 60,
                "selfConsumption": 80, "selfSufficiency": 50, "time": t,
            })
        return out

    def _range(self, req: RecordedRequest) -> tuple[int, int] | Reply:
        try:
            return int(req.query["from"]), int(req.query["to"])
        except (KeyError, ValueError):
            return Reply.json(error("err_metrics_invalid_range", "from and to are required"), 400)

    def _metrics(self, req: RecordedRequest) -> Reply:
        rng = self._range(req)
        if isinstance(rng, Reply):
            return rng
        records = self.metric_records(*rng)
        return Reply.json(envelope({"metrics": records, "total": {}}))

    def _export(self, req: RecordedRequest) -> Reply:
        rng = self._range(req)
        if isinstance(rng, Reply):
            return rng
        fields = req.query.get("field", "").split(",")
        if not fields or fields[0] != "DATE":
            return Reply.json(error("err_export_invalid_fields"), 400)
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(["Date", *(f.replace("_", " ").title() for f in fields[1:])])
        keys = {"TOTAL_HOUSE_CONSUMPTION": "totalHouseConsumption",
                "PHOTOVOLTAIC_PRODUCTION_AGG": "photovoltaicProduction",
                "BATTERY_STATE_OF_CHARGE": "batteryStateOfCharge",
                "GRID_INJECTION": "totalGridInjection"}
        for rec in self.metric_records(*rng):
            when = datetime.fromtimestamp(rec["time"] / 1000, UTC).strftime("%d/%m/%Y %H:%M")
            writer.writerow([when, *(rec.get(keys.get(f, ""), 0) for f in fields[1:])])
        return Reply(200, buf.getvalue().encode(), "text/csv")

    def _technical(self, path: str) -> dict[str, Any]:
        if path == "/api/technical/status":
            return {"operationMode": "CHARGING", "gridFrequency": 49.96, "bmsVoltage": 0,
                    "bmsTemperature": 0, "inverterTemperature": 43.4, "bmsState": "BAT_IDLE",
                    "inverterPowerRating": 0}
        return {"updatedAt": int(self.clock()), "createdAt": int(self.clock())}

    def dump(self) -> str:
        return json.dumps(self.state.settings, indent=1)
