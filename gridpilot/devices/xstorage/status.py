"""``GET /api/device/status`` to a :class:`DeviceReading`. Pure functions.

Units report some enum values their documents never listed (``PRODUCER``, ``CONSUMER``,
``BASIC``, ``DEFAULT_EVENT``); an unknown value is kept in ``extra["unknown_enums"]`` and the
reading falls back to the numeric sign instead of failing. Timestamps come in seconds on some
endpoints and milliseconds on others, with nothing but the digit count to tell them apart.

The running mode fails closed: only a MANUAL record gridpilot created, or the unit's own
SCHEDULE or DEFAULT layer running a command the adapter knows, may be commanded over. Any other
shape (no ``currentMode``, ``null``, ``{}``, no ``type``, a ``type`` the documents do not name,
``"manual"`` in lower case) is reported as an unknown mode, and the scheduler sends nothing.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from gridpilot.devices.base import DeviceReading
from gridpilot.devices.xstorage.commands import KNOWN_COMMANDS
from gridpilot.engine.commands import CommandKind
from gridpilot.engine.state import DeviceMode, ModeSource
from gridpilot.errors import DeviceProtocolError
from gridpilot.timeutil import epoch_seconds

__all__ = ["epoch_to_datetime", "mode_from_record", "reading_from_status"]

_IMPORT_ROLES = frozenset({"CONSUMER", "CONSUMING"})
_EXPORT_ROLES = frozenset({"PRODUCER", "SUPPLYING"})
_IDLE_ROLES = frozenset({"NONE", "DISCONNECTED"})
_BATTERY_STATES = frozenset({"BAT_CHARGING", "BAT_DISCHARGING", "BAT_IDLE"})
_TAKEOVER_TYPES = {"SCHEDULE": ModeSource.SCHEDULE, "DEFAULT": ModeSource.DEFAULT}
"""The unit's own standing layers: gridpilot's MANUAL commands run above them by design."""


def epoch_to_datetime(value: Any) -> datetime | None:
    """A UTC datetime from epoch seconds or milliseconds; ``None`` for missing or zero."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    seconds = epoch_seconds(value)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def kind_of(command: Any, parameters: Any) -> CommandKind | None:
    action = parameters.get("action") if isinstance(parameters, Mapping) else None
    if command in ("SET_CHARGE", "SET_DISCHARGE"):
        # Older firmware sends discharges as SET_CHARGE with ACTION_DISCHARGE.
        if action == "ACTION_DISCHARGE" or (command == "SET_DISCHARGE" and action is None):
            return CommandKind.DISCHARGE
        return CommandKind.CHARGE
    return {
        "SET_BASIC_MODE": CommandKind.IDLE,
        "SET_MAXIMIZE_AUTO_CONSUMPTION": CommandKind.SELF_CONSUMPTION,
        "SET_PEAK_SHAVING": CommandKind.PEAK_SHAVE,
        "SET_VARIABLE_GRID_INJECTION": CommandKind.LIMIT_EXPORT,
    }.get(command) if isinstance(command, str) else None


def _source(record: Mapping[str, Any], own_ids: Collection[str]) -> tuple[ModeSource, str]:
    """Who set ``record``, and why it is unknown when it cannot be told ("" otherwise)."""
    mode_type = record.get("type")
    command = record.get("command")
    if mode_type == "MANUAL":
        record_id = record.get("id")
        if isinstance(record_id, str) and record_id and record_id in own_ids:
            return ModeSource.GRIDPILOT, ""
        # Everything on the MANUAL layer that gridpilot did not create is a person's.
        return ModeSource.PERSON, ""
    if isinstance(mode_type, str) and mode_type in _TAKEOVER_TYPES:
        if isinstance(command, str) and command in KNOWN_COMMANDS:
            return _TAKEOVER_TYPES[mode_type], ""
        return ModeSource.UNKNOWN, f"currentMode.command={command!r} (type {mode_type})"
    if "type" not in record:
        return ModeSource.UNKNOWN, "currentMode has no type"
    return ModeSource.UNKNOWN, f"currentMode.type={mode_type!r}"


def mode_from_record(
    record: Any, *, own_ids: Collection[str] = (), unknown: list[str] | None = None,
    present: bool = True,
) -> DeviceMode:
    """The running mode. A MANUAL record whose id gridpilot did not create is a person's;
    anything the adapter cannot place is :attr:`ModeSource.UNKNOWN` (see the module text).
    ``present=False`` says the status had no ``currentMode`` at all."""
    if not isinstance(record, Mapping):
        if unknown is not None:
            unknown.append("currentMode missing" if not present
                           else f"currentMode={record!r} is not an object")
        return DeviceMode(kind=None, source=ModeSource.UNKNOWN)
    source, why = _source(record, own_ids)
    if why and unknown is not None:
        unknown.append(why)
    command = record.get("command")
    expires = None
    created = epoch_to_datetime(record.get("createdAt"))
    duration = _num(record.get("duration"))
    if created is not None and duration is not None and duration > 0:
        expires = created + timedelta(hours=duration)
    params = record.get("parameters")
    return DeviceMode(
        kind=kind_of(command, params),
        source=source,
        native=command if isinstance(command, str) else "",
        expires=expires,
        parameters=dict(params) if isinstance(params, Mapping) else {},
    )


def _signed_battery(value: float | None, status: Any, unknown: list[str]) -> float | None:
    if value is None:
        return None
    if status == "BAT_CHARGING":
        return -abs(value)
    if status == "BAT_DISCHARGING":
        return abs(value)
    if status not in _BATTERY_STATES and status is not None:
        unknown.append(f"energyFlow.batteryStatus={status!r}")
    return value


def _signed_grid(value: float | None, role: Any, unknown: list[str]) -> float | None:
    if value is None:
        return None
    if role in _IMPORT_ROLES:
        return abs(value)
    if role in _EXPORT_ROLES:
        return -abs(value)
    if role not in _IDLE_ROLES and role is not None:
        unknown.append(f"energyFlow.gridRole={role!r}")
    return value


def _field(flow: Mapping[str, Any], key: str, name: str, rejected: dict[str, str], *,
           required: bool = False) -> float | None:
    """``energyFlow.<key>`` as a number. A value that is there but not a finite number is
    rejected under ``name`` (so it is never read as 0); a missing or ``null`` one is simply not
    reported, unless ``required``."""
    value = flow.get(key)
    if value is None:
        if required:
            rejected[name] = f"energyFlow.{key} is {'null' if key in flow else 'missing'}"
        return None
    number = _num(value)
    if number is None:
        rejected.setdefault(name, f"energyFlow.{key}={value!r:.40} is not a number")
    return number


def _sum(*values: float | None) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def reading_from_status(
    device: str, result: Any, *, now: datetime, own_ids: Collection[str] = ()
) -> DeviceReading:
    """Map the ``result`` of ``GET /api/device/status``.

    Battery power is signed by ``batteryStatus`` when it says charging or discharging (units
    have been seen reporting a positive flow while charging), else taken as + discharge.
    """
    if not isinstance(result, Mapping):
        raise DeviceProtocolError(device, "GET /api/device/status: result is not an object")
    flow = result.get("energyFlow")
    if not isinstance(flow, Mapping):
        raise DeviceProtocolError(device, "GET /api/device/status: no energyFlow in the answer")
    unknown: list[str] = []
    rejected: dict[str, str] = {}
    soc = _field(flow, "stateOfCharge", "soc_pct", rejected, required=True)
    if soc is not None and not 0 <= soc <= 100:
        rejected["soc_pct"] = f"energyFlow.stateOfCharge={soc:g} is outside 0..100 %"
        soc = None
    battery_w = _signed_battery(_field(flow, "batteryEnergyFlow", "battery_w", rejected),
                                flow.get("batteryStatus"), unknown)
    grid_w = _signed_grid(_field(flow, "gridValue", "grid_w", rejected), flow.get("gridRole"),
                          unknown)
    load_w = _sum(_field(flow, "criticalLoadValue", "load_w", rejected),
                  _field(flow, "nonCriticalLoadValue", "load_w", rejected))
    pv_w = _sum(_field(flow, "acPvValue", "pv_w", rejected),
                _field(flow, "dcPvValue", "pv_w", rejected))
    for name in rejected:
        # Half of a sum is not the sum: a field with a rejected part is unknown as a whole.
        if name == "load_w":
            load_w = None
        elif name == "pv_w":
            pv_w = None
    mode = mode_from_record(result.get("currentMode"), own_ids=own_ids, unknown=unknown,
                            present="currentMode" in result)
    extra: dict[str, Any] = {
        "battery_status": flow.get("batteryStatus"),
        "operation_mode": flow.get("operationMode") or result.get("operationMode"),
        "backup_level_pct": _num(flow.get("batteryBackupLevel")),
    }
    for key, name in (("today", "today_wh"), ("last30daysEnergyFlow", "last_30_days_wh")):
        block = result.get(key)
        if isinstance(block, Mapping):
            extra[name] = {k: v for k, v in block.items() if _num(v) is not None}
    if unknown:
        extra["unknown_enums"] = tuple(unknown)
    return DeviceReading(
        time=now,
        soc_pct=soc,
        load_w=load_w,
        pv_w=pv_w,
        grid_w=grid_w,
        battery_w=battery_w,
        device_mode=mode,
        extra=extra,
        rejected=rejected,
    )
