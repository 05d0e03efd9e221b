"""The battery: its facts (:class:`BatteryParams`, the one form of them) and a model that behaves
like a real inverter-battery unit under each command kind (:func:`step`).

Sign convention: battery power positive = discharging, grid power positive = importing, and at every
step ``load_w = pv_w + grid_w + battery_w`` holds exactly (the grid takes whatever the battery does
not cover).

Energy bookkeeping: the battery power is measured on the AC side. Charging ``p`` W for ``dt_s``
seconds stores ``p * charge_efficiency * dt_s / 3.6e6`` kWh; discharging ``p`` W draws
``p / discharge_efficiency * dt_s / 3.6e6`` kWh from the cells. SOC is a percentage of
``capacity_kwh``.

:func:`step` is a plain-float function: the replay loop calls it once per tick, so it avoids any
allocation beyond its result tuple.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from gridpilot.engine.commands import Command, CommandKind, DeviceLimits

__all__ = ["BatteryParams", "StepResult", "step"]

_K = CommandKind


@dataclass(frozen=True, slots=True)
class BatteryParams:
    """The physical battery.

    Attributes:
        capacity_kwh: usable energy between 0 and 100 % SOC [kWh].
        max_charge_w: largest AC charging power [W].
        max_discharge_w: largest AC discharging power [W].
        charge_efficiency: stored energy / AC energy taken in [-].
        discharge_efficiency: AC energy delivered / stored energy drawn [-].
        min_soc_pct: lowest SOC the unit allows [%].
        max_soc_pct: highest SOC the unit allows [%].
        cycle_cost_per_kwh: wear cost per kWh discharged (AC side) [currency/kWh].
    """

    capacity_kwh: float
    max_charge_w: float
    max_discharge_w: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    min_soc_pct: float = 0.0
    max_soc_pct: float = 100.0
    cycle_cost_per_kwh: float = 0.0

    def __post_init__(self) -> None:
        if not self.capacity_kwh > 0:
            raise ValueError("capacity_kwh must be positive")
        if self.max_charge_w < 0 or self.max_discharge_w < 0:
            raise ValueError("power limits must not be negative")
        if not (0 < self.charge_efficiency <= 1 and 0 < self.discharge_efficiency <= 1):
            raise ValueError("efficiencies must be in (0, 1]")
        if not 0 <= self.min_soc_pct <= self.max_soc_pct <= 100:
            raise ValueError("need 0 <= min_soc_pct <= max_soc_pct <= 100")

    def limits(
        self, max_import_w: float | None = None, max_export_w: float | None = None
    ) -> DeviceLimits:
        """The device's hard limits: this battery's, with the grid connection's caps [W]."""
        return DeviceLimits(
            capacity_kwh=self.capacity_kwh,
            max_charge_w=self.max_charge_w,
            max_discharge_w=self.max_discharge_w,
            min_soc_pct=self.min_soc_pct,
            max_soc_pct=self.max_soc_pct,
            max_import_w=max_import_w,
            max_export_w=max_export_w,
        )


class StepResult(NamedTuple):
    """What one step did: battery power [W] (+ discharge), grid power [W] (+ import), and the SOC
    at the end of the step [%]."""

    battery_w: float
    grid_w: float
    soc_pct: float


def step(
    command: Command,
    soc_pct: float,
    load_w: float,
    pv_w: float,
    dt_s: float,
    params: BatteryParams,
) -> StepResult:
    """Apply ``command`` for ``dt_s`` seconds starting at ``soc_pct`` [%].

    ``load_w`` and ``pv_w`` [W] are the average powers over the step. Each kind behaves as a unit
    would: ``charge``/``discharge`` run at their setpoint (default: the unit's maximum) until the
    target/floor; ``self_consumption`` and ``limit_export`` cover the net load and charge from PV
    surplus; ``peak_shave`` discharges only the import above ``max_import_w`` and charges from PV
    surplus; ``hold`` charges from PV surplus and never discharges; ``idle`` does nothing. The
    command's ``power_w`` (for the other kinds), ``max_import_w`` and ``max_export_w`` caps and its
    SOC envelope (``floor_soc_pct``, ``target_soc_pct``) are honoured within the unit's limits.
    """
    net_w = load_w - pv_w
    kind = command.kind
    cmd_power = command.power_w

    # What the command asks for, before limits (+ discharge, - charge).
    if kind is _K.SELF_CONSUMPTION or kind is _K.LIMIT_EXPORT:
        want_w = net_w
    elif kind is _K.CHARGE:
        want_w = -(params.max_charge_w if cmd_power is None else cmd_power)
    elif kind is _K.DISCHARGE:
        want_w = params.max_discharge_w if cmd_power is None else cmd_power
    elif kind is _K.PEAK_SHAVE:
        threshold_w = command.max_import_w if command.max_import_w is not None else 0.0
        if net_w > threshold_w:
            want_w = net_w - threshold_w
        elif net_w < 0.0:
            want_w = net_w
        else:
            want_w = 0.0
    elif kind is _K.HOLD:
        want_w = net_w if net_w < 0.0 else 0.0
    else:  # IDLE
        want_w = 0.0

    may_discharge = kind is not _K.HOLD and kind is not _K.IDLE and kind is not _K.CHARGE
    may_charge = kind is not _K.IDLE and kind is not _K.DISCHARGE

    # Grid caps carried by the command: import cap first reduces charging, then (kinds that may
    # discharge) adds discharge; export cap reduces discharge, then (kinds that may charge) adds
    # charging.
    cap_import = command.max_import_w
    if cap_import is not None and kind is not _K.PEAK_SHAVE and net_w - want_w > cap_import:
        need_w = net_w - cap_import
        if want_w < 0.0:
            want_w = min(need_w, 0.0) if need_w < 0.0 else 0.0
        if may_discharge and need_w > want_w:
            want_w = need_w
    cap_export = command.max_export_w
    if cap_export is not None and net_w - want_w < -cap_export:
        limit_w = net_w + cap_export  # battery power at which export equals the cap
        if want_w > 0.0:
            want_w = max(limit_w, 0.0)
        if may_charge and want_w > limit_w:
            want_w = limit_w

    # Power limits of the unit and of the command.
    if want_w > 0.0:
        top_w = params.max_discharge_w
        if cmd_power is not None and kind is not _K.DISCHARGE and cmd_power < top_w:
            top_w = cmd_power
        if want_w > top_w:
            want_w = top_w
        floor_pct = command.floor_soc_pct
        if floor_pct < params.min_soc_pct:
            floor_pct = params.min_soc_pct
        avail_kwh = (soc_pct - floor_pct) * 0.01 * params.capacity_kwh
        if avail_kwh <= 0.0:
            want_w = 0.0
        else:
            top_w = avail_kwh * params.discharge_efficiency * 3.6e6 / dt_s
            if want_w > top_w:
                want_w = top_w
        battery_w = want_w
        new_soc = soc_pct - battery_w / params.discharge_efficiency * dt_s / 3.6e4 / (
            params.capacity_kwh
        )
        if battery_w == 0.0:
            new_soc = soc_pct
        elif new_soc < floor_pct:
            new_soc = floor_pct  # rounding only: the power was already limited to reach it
    elif want_w < 0.0:
        top_w = params.max_charge_w
        if cmd_power is not None and kind is not _K.CHARGE and cmd_power < top_w:
            top_w = cmd_power
        if -want_w > top_w:
            want_w = -top_w
        ceil_pct = command.target_soc_pct
        if ceil_pct > params.max_soc_pct:
            ceil_pct = params.max_soc_pct
        room_kwh = (ceil_pct - soc_pct) * 0.01 * params.capacity_kwh
        if room_kwh <= 0.0:
            want_w = 0.0
        else:
            top_w = room_kwh / params.charge_efficiency * 3.6e6 / dt_s
            if -want_w > top_w:
                want_w = -top_w
        battery_w = want_w
        new_soc = soc_pct - battery_w * params.charge_efficiency * dt_s / 3.6e4 / (
            params.capacity_kwh
        )
        if battery_w == 0.0:
            new_soc = soc_pct
        elif new_soc > ceil_pct:
            new_soc = ceil_pct
    else:
        battery_w = 0.0
        new_soc = soc_pct
    return StepResult(battery_w, net_w - battery_w, new_soc)
