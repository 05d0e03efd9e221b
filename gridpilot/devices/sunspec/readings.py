"""Decoded SunSpec models to a :class:`DeviceReading`. Pure functions.

- SOC: model 124 ``ChaState``, else model 802 ``SoC``; outside 0..100 % it is rejected.
- Grid: the meter model's (201-204) ``W``, + = import (SunSpec meters count power delivered
  to the site as positive).
- Battery: model 802 ``W`` (+ = discharge), else the profile's model 160 modules (Fronius:
  module 4 minus module 3), else the inverter's AC output minus PV (an estimate: conversion
  losses count as battery power; ``extra["battery_w_estimated"]`` says so).
- PV: the sum of model 160's PV modules ``DCW``.
- Load: the inverter's AC output plus grid import (the site's balance).

A point the device does not implement reads as unknown (``None``), never as 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gridpilot.devices.base import DeviceReading
from gridpilot.devices.sunspec.profiles import Profile
from gridpilot.engine.state import DeviceMode

__all__ = ["Models", "reading_from_models"]

Values = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Models:
    """The decoded blocks one read produced (``None`` where the device has no such model)."""

    inverter: Values | None = None
    mppt: Values | None = None
    storage: Values | None = None
    battery: Values | None = None
    meter: Values | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def _num(values: Values | None, name: str) -> float | None:
    if values is None:
        return None
    value = values.get(name)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _modules(mppt: Values | None) -> list[Values]:
    groups = mppt.get("groups") if mppt is not None else None
    return [g for g in groups if isinstance(g, Mapping)] if isinstance(groups, list) else []


def _module_w(modules: list[Values], number: int) -> float | None:
    return _num(modules[number - 1], "DCW") if 0 < number <= len(modules) else None


def pv_w(models: Models, profile: Profile) -> float | None:
    modules = _modules(models.mppt)
    if not modules:
        return None
    wanted = profile.pv_modules or tuple(range(1, len(modules) + 1))
    parts = [_module_w(modules, n) for n in wanted]
    if any(p is None for p in parts):
        return None  # half of a sum is not the sum
    return sum(p for p in parts if p is not None)


def battery_w(models: Models, profile: Profile, pv: float | None,
              ac_w: float | None) -> tuple[float | None, bool]:
    """Battery power [W] (+ discharge) and whether it is an estimate."""
    direct = _num(models.battery, "W")
    if direct is not None:
        return direct, False
    charge, discharge = profile.battery_charge_module, profile.battery_discharge_module
    if charge is not None and discharge is not None:
        modules = _modules(models.mppt)
        cha, dis = _module_w(modules, charge), _module_w(modules, discharge)
        if cha is not None and dis is not None:
            return dis - cha, False
        return None, False
    if pv is not None and ac_w is not None:
        return ac_w - pv, True
    return None, False


def soc_pct(models: Models, rejected: dict[str, str]) -> float | None:
    for values, where in ((models.storage, "124.ChaState"), (models.battery, "802.SoC")):
        key = where.split(".")[1]
        value = _num(values, key)
        if value is None:
            continue
        if not 0.0 <= value <= 100.0:
            rejected["soc_pct"] = f"{where}={value:g} is outside 0..100 %"
            return None
        return value
    return None


def reading_from_models(models: Models, profile: Profile, *, now: datetime,
                        mode: DeviceMode | None) -> DeviceReading:
    rejected: dict[str, str] = {}
    soc = soc_pct(models, rejected)
    ac_w = _num(models.inverter, "W")
    pv = pv_w(models, profile)
    battery, estimated = battery_w(models, profile, pv, ac_w)
    grid = _num(models.meter, "W")
    load = ac_w + grid if ac_w is not None and grid is not None else None
    extra: dict[str, Any] = dict(models.extra)
    if estimated:
        extra["battery_w_estimated"] = True
    if models.storage is not None:
        for key, name in (("MinRsvPct", "reserve_pct"), ("WChaMax", "max_charge_w"),
                          ("ChaSt", "charge_status"), ("ChaGriSet", "grid_charging")):
            extra[name] = models.storage.get(key)
    if models.inverter is not None:
        extra["inverter_state"] = models.inverter.get("St")
    return DeviceReading(
        time=now, soc_pct=soc, load_w=load, pv_w=pv, grid_w=grid, battery_w=battery,
        device_mode=mode, extra=extra, rejected=rejected,
    )
