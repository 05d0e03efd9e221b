"""An emulator of the xBattery cloud device API (``/v1/devices``...), HTTPS on 127.0.0.1.

``ApiKey`` header auth; ``GET/POST /devices``; ``GET /devices/{id}/telemetry`` with ``timeRange``
(``latest``, ``last5mins``, ``last1hour``, ``last7days``) or ISO 8601 ``start``/``end``.
Telemetry is one record a minute with ``_ts`` in epoch seconds.

Usage::

    with XBatteryEmulator(api_key="k") as emu:
        emu.url                  # ends in /v1
        emu.state.soc_pct = 40; emu.state.pack_current_a = -12.5; emu.state.bms_state = "CHARGING"
        emu.faults.server_error(path="/v1/devices/DVC1/telemetry")
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.emulators._server import EmulatorBase, RecordedRequest, Reply

__all__ = ["XBatteryEmulator", "XBatteryState"]

RANGES_S = {"last5mins": 300, "last1hour": 3600, "last7days": 7 * 86400}


def _stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y%m%dT%H%M%S.%f")[:-3] + "Z"


@dataclass
class XBatteryState:
    devices: list[dict[str, Any]] = field(default_factory=list)
    soc_pct: float = 21.02
    pack_voltage_v: float = 41.2708
    pack_current_a: float = 0.0
    temperature_c: float = 27.315
    bms_state: str = "DISCHARGING"
    last_ts: float | None = None
    """Epoch seconds of the newest record (default: the emulator clock, to the minute)."""


class XBatteryEmulator(EmulatorBase):
    base_path = "/v1"

    def __init__(self, *, api_key: str = "xb-secret-key", device_id: str = "DVC12345") -> None:
        super().__init__()
        self.api_key = api_key
        self.device_id = device_id
        self.state = XBatteryState(devices=[{
            "DeviceId": device_id, "OrganizationId": 1, "Name": "Battery Storage Unit",
            "Model": "BESSModel-X", "Location": "Delhi", "LastConnected": _stamp(self.clock()),
            "Status": "enabled", "CreatedAt": _stamp(self.clock()),
            "UpdatedAt": _stamp(self.clock()),
        }])

    def record(self, ts: float, i: int = 0) -> dict[str, Any]:
        s = self.state
        wobble = 0.01 * math.sin(i)
        return {
            "deviceId": "STM32H753ZI", "Device_id": self.device_id,
            "pack_voltage": round(s.pack_voltage_v + wobble, 4),
            "cell_voltage": [round(s.pack_voltage_v / 15, 4)] * 15,
            "temperature": s.temperature_c, "pack_current": s.pack_current_a,
            "soc": s.soc_pct, "ocv_soc": s.soc_pct + 0.8, "soh": 0,
            "bms_state": s.bms_state, "main_contactor_state": True,
            "charger_contactor_state": False, "id": f"rec-{int(ts)}", "_ts": int(ts),
        }

    def route(self, req: RecordedRequest) -> Reply:
        if req.headers.get("apikey") != self.api_key:
            return Reply.json({"success": False, "message": "Invalid API key"}, 401)
        path = req.path.removeprefix(self.base_path)
        if path == "/devices" and req.method == "GET":
            return Reply.json({"success": True, "data": self.state.devices})
        if path == "/devices" and req.method == "POST":
            body = req.json() or {}
            if not body.get("deviceId"):
                return Reply.json({"success": False, "message": "deviceId is required"}, 400)
            self.state.devices.append({
                "DeviceId": body["deviceId"], "OrganizationId": 1, "Name": body.get("name"),
                "Model": body.get("model"), "Location": body.get("location"),
                "LastConnected": None, "Status": "enabled", "CreatedAt": _stamp(self.clock()),
                "UpdatedAt": _stamp(self.clock()),
            })
            return Reply.json({"success": True})
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "devices" and parts[2] == "telemetry":
            return self._telemetry(req, parts[1])
        return Reply.json({"success": False, "message": "Not found"}, 404)

    def _telemetry(self, req: RecordedRequest, device_id: str) -> Reply:
        if not any(d["DeviceId"] == device_id for d in self.state.devices):
            return Reply.json({"success": False, "message": "Device not found"}, 404)
        newest = self.state.last_ts if self.state.last_ts is not None else (
            self.clock() // 60 * 60)
        q = req.query
        if "timeRange" in q:
            name = q["timeRange"]
            if name == "latest":
                start = newest
            elif name in RANGES_S:
                start = newest - RANGES_S[name] + 60
            else:
                return Reply.json({"success": False, "message": "invalid timeRange"}, 400)
            end = newest
        elif "start" in q and "end" in q:
            try:
                start = datetime.fromisoformat(q["start"].replace("Z", "+00:00")).timestamp()
                end = min(newest, datetime.fromisoformat(
                    q["end"].replace("Z", "+00:00")).timestamp())
            except ValueError:
                return Reply.json({"success": False, "message": "invalid date"}, 400)
        else:
            return Reply.json({"success": False, "message": "timeRange or start/end"}, 400)
        first = math.ceil(start / 60) * 60
        data = [self.record(t, i) for i, t in enumerate(range(int(first), int(end) + 1, 60))]
        meta = {"organizationId": 1, "deviceId": device_id, "timeRange": q.get("timeRange"),
                "timestamp": _stamp(self.clock())}
        return Reply.json({"success": True, "data": data, "meta": meta})
