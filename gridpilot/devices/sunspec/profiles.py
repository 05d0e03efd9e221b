"""Vendor profiles: where a device departs from (or leaves open) the SunSpec standard.

Each profile is taken from the vendor's public Modbus documentation; ``generic`` assumes only
the standard. What a profile can change:

- the Modbus unit id of the inverter and of its meter;
- which model 160 (MPPT) modules are PV strings and which carry the battery (Fronius reports
  the battery's charge and discharge power as modules 3 and 4 of model 160);
- whether the device takes model 124 commands at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PROFILES", "Profile"]


@dataclass(frozen=True, slots=True)
class Profile:
    """One vendor's quirks.

    Attributes:
        name: the ``profile`` setting that picks it.
        unit_id: the inverter's Modbus unit id unless ``unit_id`` is set.
        meter_unit_id: the unit id the meter model (201-204) is read from (``None`` = the
            inverter's own map).
        pv_modules: model 160 module numbers (1-based) that are PV strings (``None`` = all).
        battery_charge_module: the model 160 module whose DCW is the battery's charge power.
        battery_discharge_module: likewise for the discharge power.
        controls: the device takes storage commands through model 124.
        source: the public document the profile is taken from.
    """

    name: str
    unit_id: int = 1
    meter_unit_id: int | None = None
    pv_modules: tuple[int, ...] | None = None
    battery_charge_module: int | None = None
    battery_discharge_module: int | None = None
    controls: bool = True
    source: str = ""


PROFILES: Mapping[str, Profile] = {
    "generic": Profile("generic", source="SunSpec Information Model Reference"),
    "fronius_gen24": Profile(
        "fronius_gen24",
        unit_id=1,
        meter_unit_id=200,
        pv_modules=(1, 2),
        battery_charge_module=3,
        battery_discharge_module=4,
        source="Fronius GEN24 Modbus TCP & RTU operating instructions (42,0410,2649): the "
               "primary meter answers at unit id 200; model 160 modules 3 and 4 are the "
               "battery's charge and discharge",
    ),
    "sma": Profile(
        "sma",
        unit_id=126,
        controls=False,
        source="SMA SunSpec Modbus technical information: the inverter answers at unit id 126 "
               "and implements models 1, 101-103, 120-132, 160 and 201-204; no model 124",
    ),
}
