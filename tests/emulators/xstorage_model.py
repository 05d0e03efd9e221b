"""The emulated xStorage unit's data: defaults, documented ranges, response shapes."""

from __future__ import annotations

import uuid
from typing import Any

__all__ = [
    "GEONAMES",
    "TECH_ONLY",
    "WRITABLE_DEFAULTS",
    "command_in_range",
    "days_overlap",
    "default_settings",
    "envelope",
    "error",
    "minutes",
]

TECH_ONLY = (
    "/api/technical/status",
    "/api/device/maintenance/diagnostics",
    "/api/technical/tunnel",
    "/api/device/maintenance/date-time",
)
WRITABLE_DEFAULTS: dict[str, Any] = {
    "name": "",
    "country": "",
    "timezone": "UTC",
    "city": "",
    "postalCode": "",
    "bmsBackupLevel": 0,
    "updateBlockedState": False,
    "defaultMode": {"command": "SET_BASIC_MODE", "parameters": None},
    "energySavingMode": {"enabled": False, "houseConsumptionThreshold": 300},
}
GEONAMES = {"2635167": "United Kingdom", "2643743": "London", "2988507": "Paris",
            "3017382": "France"}


def envelope(result: Any) -> dict[str, Any]:
    return {"successful": True, "message": "Content Ready", "result": result}


def error(code: str, description: str = "", step: str = "") -> dict[str, Any]:
    err: dict[str, Any] = {"errCode": code, "description": description}
    if step:
        err["step"] = step
    return {"error": err}


def command_in_range(body: Any) -> str:
    """Why a command body is outside the unit's ranges ("" when it is fine)."""
    if not isinstance(body, dict):
        return "body is not an object"
    cmd, duration, params = body.get("command"), body.get("duration"), body.get("parameters")
    if not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= 12:
        return f"duration {duration!r}"
    if cmd in ("SET_CHARGE", "SET_DISCHARGE"):
        if not isinstance(params, dict):
            return "no parameters"
        power, soc = params.get("power"), params.get("soc")
        if not isinstance(power, int) or not 5 <= power <= 100:
            return f"power {power!r}"
        if not isinstance(soc, int) or not 0 <= soc <= 100:
            return f"soc {soc!r}"
        if params.get("action") not in ("ACTION_CHARGE", "ACTION_DISCHARGE"):
            return f"action {params.get('action')!r}"
        return ""
    if cmd == "SET_VARIABLE_GRID_INJECTION":
        value = params.get("maximumPower") if isinstance(params, dict) else None
        ok = isinstance(value, int) and -1000 <= value <= 3000
        return "" if ok else f"maximumPower {value!r}"
    if cmd == "SET_PEAK_SHAVING":
        value = params.get("maxHousePeakConsumption") if isinstance(params, dict) else None
        return "" if isinstance(value, int) and value >= 0 else f"maxHousePeakConsumption {value!r}"
    if cmd == "SET_FREQUENCY_REGULATION":
        return "" if isinstance(params, dict) else "no parameters"
    if cmd in ("SET_BASIC_MODE", "SET_MAXIMIZE_AUTO_CONSUMPTION"):
        return "" if params in (None, {}) else "unexpected parameters"
    return f"unknown command {cmd!r}"


def default_settings(now_s: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()), "updatedAt": now_s, "createdAt": now_s,
        "name": "Garage unit", "description": "", "hasPv": True, "hasBattery": True,
        "address": "", "country": {"geonameId": "2635167", "name": "United Kingdom"},
        "city": {"geonameId": "2643743", "name": "London"}, "postalCode": "SW1",
        "latitude": 0, "longitude": 0,
        "defaultMode": {"id": str(uuid.uuid4()), "updatedAt": now_s, "createdAt": now_s,
                        "user": None, "command": "SET_BASIC_MODE", "parameters": None},
        "firmwareVersion": "00.01.0017-0-g72006700", "bmsSerialNumber": "BMS123",
        "commCardFirmwareVersion": "", "inverterFirmwareVersion": "00.06.0069",
        "inverterSerialNumber": "INV123", "inverterPowerRating": 0,
        "bmsFirmwareVersion": "4004", "bmsBackupLevel": 10,
        "timezone": {"id": "Europe/London", "updatedAt": 0, "createdAt": 0,
                     "timezone": "Europe/London", "countryId": "", "name": "Europe/London",
                     "version": ""},
        "dns": "8.8.8.8", "inverterIsSinglePhase": True, "bmsCapacity": 4.2,
        "networkInterfaces": [], "powerMeters": [], "updateBlockedState": False,
        "bundleVersion": "v1.17", "localPortalRemoteId": "47221",
        "energySavingMode": {"enabled": True, "houseConsumptionThreshold": 300},
    }


def minutes(start: int, end: int) -> set[int]:
    a, b = (start // 100) * 60 + start % 100, (end // 100) * 60 + end % 100
    return set(range(a, b)) if a < b else set(range(a, 1440)) | set(range(0, b))


def days_overlap(r1: Any, r2: Any) -> bool:
    if "EVERYDAY" in (r1, r2):
        return True
    return bool(r1 == r2)
