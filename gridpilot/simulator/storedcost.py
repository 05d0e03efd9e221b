"""What the energy in the battery cost, and the discharges that earned less than that.

The battery's content carries an **average cost** per stored kWh, updated step by step (powers
in average W over the step, prices per kWh, battery power positive = discharging):

- a charging step adds its AC energy's cost: the part PV covered (PV surplus charges first, as
  in :mod:`gridpilot.simulator.selfsupply`) at the step's export price, which is what that PV
  would have earned exported; the rest from the grid at the import price. The stored energy is
  the AC energy times ``charge_efficiency``, so the cost per stored kWh includes the charging
  loss;
- a discharging step of AC energy ``e`` draws ``e / discharge_efficiency`` from the cells at the
  average cost (so the discharging loss is paid too): that is its **stored energy cost**. It
  **earned** the import price for the part that served the load left after PV and the export
  price for the rest, which left the site;
- the content at the start counts as charged from the grid in the first step (its import price
  over ``charge_efficiency``).

``loss_making_cycles_kwh`` is the AC energy discharged in the steps that earned less than their
stored energy cost. Wear (``cycle_cost_per_kwh``) is not part of it: it is reported on its own.
"""

from __future__ import annotations

import numpy as np

from gridpilot.arrays import FloatArray
from gridpilot.engine.battery import BatteryParams
from gridpilot.simulator.accounting import SiteSeries

__all__ = ["loss_making_discharge_kwh"]

# Earnings this close to the cost are a tie (float noise), not a loss.
_TIE_PER_KWH = 1e-9


def loss_making_discharge_kwh(
    site: SiteSeries, battery_w: FloatArray, params: BatteryParams, initial_soc_pct: float
) -> float:
    """AC energy [kWh] discharged in steps of a run on ``site`` that earned less than the stored
    energy cost (module docstring)."""
    load_w, pv_w, step_s = site.load_w, site.pv_w, site.step_s
    import_price, export_price = site.import_price, site.export_price
    n = battery_w.shape[0]
    if n == 0:
        return 0.0
    kwh_per_w = step_s / 3.6e6
    charge_kwh = np.maximum(-battery_w, 0.0) * kwh_per_w
    discharge_kwh = np.maximum(battery_w, 0.0) * kwh_per_w
    surplus_kwh = np.maximum(pv_w - load_w, 0.0) * kwh_per_w
    deficit_kwh = np.maximum(load_w - pv_w, 0.0) * kwh_per_w
    from_pv = np.minimum(charge_kwh, surplus_kwh)
    charge_cost = from_pv * export_price + (charge_kwh - from_pv) * import_price
    to_load = np.minimum(discharge_kwh, deficit_kwh)
    earned = to_load * import_price + (discharge_kwh - to_load) * export_price

    eta_c = params.charge_efficiency
    eta_d = params.discharge_efficiency
    stored = params.capacity_kwh * initial_soc_pct / 100.0
    cost = stored * float(import_price[0]) / eta_c
    avg = float(import_price[0]) / eta_c
    lost = 0.0
    # The average cost is a recurrence over the steps where the battery moves; the others
    # change nothing.
    moving = np.flatnonzero(battery_w != 0.0).tolist()
    c_kwh = charge_kwh.tolist()
    c_cost = charge_cost.tolist()
    d_kwh = discharge_kwh.tolist()
    gain = earned.tolist()
    for i in moving:
        if c_kwh[i] > 0.0:
            stored += c_kwh[i] * eta_c
            cost += c_cost[i]
            if stored > 0.0:
                avg = cost / stored
            continue
        drawn = d_kwh[i] / eta_d
        used = drawn * avg
        if gain[i] < used - _TIE_PER_KWH * d_kwh[i]:
            lost += d_kwh[i]
        stored -= drawn
        cost -= used
        if stored <= 0.0:
            # Rounding at an empty battery: nothing left to carry a cost.
            stored = cost = 0.0
    return lost
