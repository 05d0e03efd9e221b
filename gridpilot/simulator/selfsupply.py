"""Where the energy of each step came from and went to, and the origin of the stored energy.

Each step's flows are split by a fixed priority (powers in average W, energies in kWh):

- PV serves the load first, then charges the battery, and the rest is exported;
- the battery's discharge serves what load is left, and the rest is exported;
- the grid serves the load that is still left, then charges the battery with whatever charge PV
  did not cover.

The battery's content carries a PV share: charging adds ``pv_to_battery`` and ``grid_to_battery``
(times the charge efficiency) to the pool, discharging takes both out in proportion. This is a
scalar recurrence over the steps where the battery moves. Energy discharged beyond what the run
stored (the battery's content at the start) has an unknown origin and counts with
``initial_pv_share`` (default 0: never claimed as self-supplied). A run that starts at the
battery's minimum SOC, the simulator's default, has none.

From these:

- ``self_sufficiency = 1 - grid_origin_to_load / load``: the share of the load that did not come
  from the grid, directly or through the battery;
- ``self_consumption = 1 - pv_exported / pv``: the share of PV that did not leave the site,
  directly or through the battery. PV lost in the battery's conversion, or still stored at the
  end, did not leave the site and counts as used on site.

With no grid charging and no battery export these equal the simple figures (``1 - import /
load`` and ``1 - export / pv``, attributing import to the load and export to PV). With grid
charging the simple self-sufficiency counts grid energy stored and discharged later as
self-supplied; with battery export the simple self-consumption counts PV used in the house as
exported whenever the battery exports at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridpilot.arrays import FloatArray

__all__ = ["SelfSupply", "self_supply", "stored_pv_share"]


@dataclass(frozen=True)
class SelfSupply:
    """Energy flows of a run [kWh] and the two shares [0..1]."""

    load_kwh: float
    pv_kwh: float
    pv_to_load_kwh: float
    pv_to_battery_kwh: float
    pv_to_grid_kwh: float
    grid_to_load_kwh: float
    grid_to_battery_kwh: float
    battery_to_load_kwh: float
    battery_to_grid_kwh: float
    battery_pv_to_load_kwh: float
    """The PV-origin part of ``battery_to_load_kwh``."""
    battery_pv_to_grid_kwh: float
    """The PV-origin part of ``battery_to_grid_kwh``."""
    self_sufficiency: float
    self_consumption: float


def stored_pv_share(
    stored_kwh: FloatArray,
    pv_stored_kwh: FloatArray,
    drawn_kwh: FloatArray,
    *,
    initial_pv_share: float = 0.0,
) -> FloatArray:
    """The PV share of the energy drawn from the cells in each step (0 where none is drawn).

    Per step, all >= 0 [kWh]: ``stored_kwh`` is what charging put into the cells (after the
    charge losses), ``pv_stored_kwh`` the part of it that came from PV, ``drawn_kwh`` what
    discharging took out of them (before the discharge losses).
    """
    share = np.zeros(drawn_kwh.shape[0], dtype=np.float64)
    active = np.flatnonzero((stored_kwh > 0) | (drawn_kwh > 0))
    if active.size == 0:
        return share
    stored_in = stored_kwh[active].tolist()
    pv_in = pv_stored_kwh[active].tolist()
    taken = drawn_kwh[active].tolist()
    out = [0.0] * active.size
    stored = 0.0
    pv_stored = 0.0
    for k in range(active.size):
        cell = taken[k]
        if cell <= 0.0:
            stored += stored_in[k]
            pv_stored += pv_in[k]
            continue
        take = cell if cell < stored else stored
        pv_part = pv_stored * (take / stored) if take > 0.0 else 0.0
        stored -= take
        pv_stored = min(max(pv_stored - pv_part, 0.0), stored)
        out[k] = (pv_part + (cell - take) * initial_pv_share) / cell
    share[active] = out
    return share


def self_supply(
    load_w: FloatArray,
    pv_w: FloatArray,
    battery_w: FloatArray,
    step_s: float,
    *,
    charge_efficiency: float = 1.0,
    discharge_efficiency: float = 1.0,
    initial_pv_share: float = 0.0,
) -> SelfSupply:
    """Split a run's flows by origin (see the module docstring). ``battery_w`` is positive when
    discharging; the grid takes the rest of ``load_w = pv_w + grid_w + battery_w``."""
    h = step_s / 3600.0 / 1000.0
    load = np.maximum(load_w, 0.0)
    pv = np.maximum(pv_w, 0.0)
    charge = np.maximum(-battery_w, 0.0)
    discharge = np.maximum(battery_w, 0.0)
    pv_to_load = np.minimum(pv, load)
    load_left = load - pv_to_load
    pv_surplus = pv - pv_to_load
    pv_to_battery = np.minimum(charge, pv_surplus)
    battery_to_load = np.minimum(discharge, load_left)
    share = stored_pv_share(
        charge * (h * charge_efficiency),
        pv_to_battery * (h * charge_efficiency),
        discharge * (h / discharge_efficiency),
        initial_pv_share=initial_pv_share,
    )
    battery_to_grid = discharge - battery_to_load

    def kwh(values: FloatArray) -> float:
        return float(values.sum() * h)

    load_kwh = kwh(load)
    pv_kwh = kwh(pv)
    grid_to_load = kwh(load_left - battery_to_load)
    bat_to_load = kwh(battery_to_load)
    bat_pv_to_load = kwh(share * battery_to_load)
    pv_to_grid = kwh(pv_surplus - pv_to_battery)
    bat_pv_to_grid = kwh(share * battery_to_grid)
    return SelfSupply(
        load_kwh=load_kwh,
        pv_kwh=pv_kwh,
        pv_to_load_kwh=kwh(pv_to_load),
        pv_to_battery_kwh=kwh(pv_to_battery),
        pv_to_grid_kwh=pv_to_grid,
        grid_to_load_kwh=grid_to_load,
        grid_to_battery_kwh=kwh(charge - pv_to_battery),
        battery_to_load_kwh=bat_to_load,
        battery_to_grid_kwh=kwh(battery_to_grid),
        battery_pv_to_load_kwh=bat_pv_to_load,
        battery_pv_to_grid_kwh=bat_pv_to_grid,
        self_sufficiency=(
            1.0 - (grid_to_load + bat_to_load - bat_pv_to_load) / load_kwh if load_kwh > 0 else 0.0
        ),
        self_consumption=1.0 - (pv_to_grid + bat_pv_to_grid) / pv_kwh if pv_kwh > 0 else 0.0,
    )
