"""Billing and energy totals of a simulated (or recorded) run, and the two baselines.

All inputs are per-step arrays on one regular grid: powers in average W over the step (grid
positive = import, battery positive = discharge), prices per kWh in the tariff's currency. The
bill is ``energy cost - export revenue + standing charge + demand charge``; the demand charge is
``demand_charge_per_kw`` times the highest grid import of each calendar month in the site's
timezone, in kW at the step's resolution. Wear (``cycle_cost_per_kwh`` per kWh discharged) is
reported beside the bill, not in it.

Self-sufficiency and self-consumption follow the energy's origin (see
:mod:`gridpilot.simulator.selfsupply`):

- ``self_sufficiency = 1 - grid_origin_to_load / load``: the share of the load the house did not
  take from the grid. Battery energy counts only by its PV-origin share, tracked tick by tick:
  energy charged from the grid and discharged later is grid energy, so a battery charged only
  from the grid never raises self-sufficiency above the figure without a battery.
- ``self_consumption = 1 - pv_exported / pv``: the share of PV used on site, directly or through
  the battery; PV stored and later exported by the battery counts as exported.

Energy in the battery at the start of a run has an unknown origin and counts as grid energy
(``initial_pv_share``); the simulator starts at the battery's minimum SOC unless told otherwise.
With neither grid charging nor battery export both figures equal the simple ones
(``1 - import / load`` and ``1 - export / pv``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.engine.battery import BatteryParams, step
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.jsontext import finite
from gridpilot.simulator.selfsupply import self_supply

__all__ = [
    "BillInputs",
    "MonthTotals",
    "SiteSeries",
    "Totals",
    "compute_totals",
    "month_index",
    "no_battery_flows",
    "run_fixed_command",
]


@dataclass(frozen=True)
class BillInputs:
    """The tariff facts the bill needs beyond the per-step prices."""

    standing_charge_per_day: float = 0.0
    demand_charge_per_kw: float = 0.0
    currency: str = "GBP"


@dataclass(frozen=True)
class MonthTotals:
    month: str
    """``YYYY-MM`` in the site's timezone."""
    import_kwh: float
    export_kwh: float
    energy_cost: float
    export_revenue: float
    standing_charge: float
    demand_charge: float
    bill: float
    peak_import_w: float


@dataclass(frozen=True)
class Totals:
    """Totals of one run. Fractions are 0..1."""

    import_kwh: float
    export_kwh: float
    load_kwh: float
    pv_kwh: float
    energy_cost: float
    export_revenue: float
    standing_charge: float
    demand_charge: float
    bill: float
    peak_import_w: float
    self_consumption: float
    """Share of PV used on site, directly or through the battery (module docstring)."""
    self_sufficiency: float
    """Share of the load not taken from the grid, directly or through the battery (module
    docstring): grid energy stored and discharged later is not self-supplied."""
    grid_to_load_kwh: float
    """Grid import that served the load directly."""
    grid_to_battery_kwh: float
    """Grid import that charged the battery."""
    pv_to_battery_kwh: float
    """PV that charged the battery."""
    battery_pv_to_load_kwh: float
    """Battery discharge to the load that came from PV (by the tracked PV share)."""
    battery_charge_kwh: float
    battery_discharge_kwh: float
    equivalent_full_cycles: float
    """AC energy discharged divided by the usable capacity."""
    wear_cost: float
    months: tuple[MonthTotals, ...]

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["months"] = [asdict(m) for m in self.months]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Totals:
        """The inverse of :meth:`as_dict` (a JSON round trip keeps every float exactly); raises
        ``TypeError``, ``KeyError`` or ``ValueError`` for anything else."""
        months = d["months"]
        if not isinstance(months, list) or not months:
            raise TypeError("months: not a list of months")
        return cls(**{k: finite(v, k) for k, v in d.items() if k != "months"},
                   months=tuple(_month_totals(m) for m in months))


def _month_totals(d: dict[str, Any]) -> MonthTotals:
    month = d["month"]
    if not isinstance(month, str):
        raise TypeError(f"month: {month!r} is not YYYY-MM")
    return MonthTotals(month, **{k: finite(v, k) for k, v in d.items() if k != "month"})


def month_index(start_s: IntArray, tz: ZoneInfo) -> tuple[IntArray, list[str]]:
    """For each step, the index of its calendar month in ``tz``, and the ``YYYY-MM`` labels."""
    if start_s.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), []
    first = datetime.fromtimestamp(int(start_s[0]), UTC).astimezone(tz)
    last = datetime.fromtimestamp(int(start_s[-1]), UTC).astimezone(tz)
    labels: list[str] = []
    bounds: list[int] = []
    y, m = first.year, first.month
    while (y, m) <= (last.year, last.month):
        labels.append(f"{y:04d}-{m:02d}")
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        bounds.append(int(datetime(ny, nm, 1, tzinfo=tz).timestamp()))
        y, m = ny, nm
    idx = np.searchsorted(np.asarray(bounds, dtype=np.int64), start_s, side="right")
    return idx.astype(np.int64), labels


@dataclass(frozen=True)
class SiteSeries:
    """What every run on the same data shares: the steps, the site's load and PV, the prices and
    the tariff's other charges, and the timezone its months are counted in."""

    start_s: IntArray
    step_s: int
    load_w: FloatArray
    pv_w: FloatArray
    import_price: FloatArray
    export_price: FloatArray
    tz: ZoneInfo
    bill: BillInputs = BillInputs()

    def steps(self, a: int, b: int) -> SiteSeries:
        """Steps ``a..b-1`` alone."""
        return replace(
            self, start_s=self.start_s[a:b], load_w=self.load_w[a:b], pv_w=self.pv_w[a:b],
            import_price=self.import_price[a:b], export_price=self.export_price[a:b],
        )


def compute_totals(
    site: SiteSeries,
    grid_w: FloatArray,
    battery_w: FloatArray,
    battery: BatteryParams | None = None,
    *,
    initial_pv_share: float = 0.0,
) -> Totals:
    """Bill and energy totals of one run on ``site`` (see the module docstring): its grid and
    battery power [W], and the battery that ran it (``None``: no battery).

    ``initial_pv_share`` is the PV share credited to energy the battery held at the start (0: its
    origin is unknown, so it is not claimed as self-supplied).
    """
    step_s, load_w, pv_w, bill = site.step_s, site.load_w, site.pv_w, site.bill
    h = step_s / 3600.0
    imp_w = np.maximum(grid_w, 0.0)
    exp_w = np.maximum(-grid_w, 0.0)
    imp_kwh = imp_w * h / 1000.0
    exp_kwh = exp_w * h / 1000.0
    cost = imp_kwh * site.import_price
    revenue = exp_kwh * site.export_price
    midx, labels = month_index(site.start_s, site.tz)
    nm = len(labels)
    m_imp = np.bincount(midx, imp_kwh, minlength=nm)
    m_exp = np.bincount(midx, exp_kwh, minlength=nm)
    m_cost = np.bincount(midx, cost, minlength=nm)
    m_rev = np.bincount(midx, revenue, minlength=nm)
    m_days = np.bincount(midx, minlength=nm) * step_s / 86400.0
    m_peak = np.zeros(nm)
    np.maximum.at(m_peak, midx, imp_w)
    m_standing = m_days * bill.standing_charge_per_day
    m_demand = m_peak / 1000.0 * bill.demand_charge_per_kw
    m_bill = m_cost - m_rev + m_standing + m_demand
    months = tuple(
        MonthTotals(
            month=labels[i],
            import_kwh=float(m_imp[i]),
            export_kwh=float(m_exp[i]),
            energy_cost=float(m_cost[i]),
            export_revenue=float(m_rev[i]),
            standing_charge=float(m_standing[i]),
            demand_charge=float(m_demand[i]),
            bill=float(m_bill[i]),
            peak_import_w=float(m_peak[i]),
        )
        for i in range(nm)
    )
    pv_kwh = float(pv_w.sum() * h / 1000.0)
    load_kwh = float(load_w.sum() * h / 1000.0)
    origin = self_supply(
        load_w, pv_w, battery_w, step_s,
        charge_efficiency=1.0 if battery is None else battery.charge_efficiency,
        discharge_efficiency=1.0 if battery is None else battery.discharge_efficiency,
        initial_pv_share=initial_pv_share,
    )
    dis_kwh = float(np.maximum(battery_w, 0.0).sum() * h / 1000.0)
    chg_kwh = float(np.maximum(-battery_w, 0.0).sum() * h / 1000.0)
    usable = 0.0
    wear = 0.0
    if battery is not None:
        usable = battery.capacity_kwh * (battery.max_soc_pct - battery.min_soc_pct) / 100.0
        wear = dis_kwh * battery.cycle_cost_per_kwh
    return Totals(
        import_kwh=float(imp_kwh.sum()),
        export_kwh=float(exp_kwh.sum()),
        load_kwh=load_kwh,
        pv_kwh=pv_kwh,
        energy_cost=float(cost.sum()),
        export_revenue=float(revenue.sum()),
        standing_charge=float(m_standing.sum()),
        demand_charge=float(m_demand.sum()),
        bill=float(m_bill.sum()),
        peak_import_w=float(m_peak.max()) if nm else 0.0,
        self_consumption=origin.self_consumption,
        self_sufficiency=origin.self_sufficiency,
        grid_to_load_kwh=origin.grid_to_load_kwh,
        grid_to_battery_kwh=origin.grid_to_battery_kwh,
        pv_to_battery_kwh=origin.pv_to_battery_kwh,
        battery_pv_to_load_kwh=origin.battery_pv_to_load_kwh,
        battery_charge_kwh=chg_kwh,
        battery_discharge_kwh=dis_kwh,
        equivalent_full_cycles=dis_kwh / usable if usable > 0 else 0.0,
        wear_cost=wear,
        months=months,
    )


def no_battery_flows(load_w: FloatArray, pv_w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Battery and grid power [W] of the site without a battery."""
    return np.zeros_like(load_w), load_w - pv_w


def run_fixed_command(
    command: Command | CommandKind,
    load_w: FloatArray,
    pv_w: FloatArray,
    step_s: int,
    params: BatteryParams,
    initial_soc_pct: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Battery power, grid power [W] and end-of-step SOC [%] when the battery runs one command
    all the time (the plain self-consumption baseline, the device's default mode)."""
    cmd = command if isinstance(command, Command) else Command(command)
    n = load_w.shape[0]
    bat = np.empty(n)
    grid = np.empty(n)
    soc = np.empty(n)
    s = initial_soc_pct
    loads = load_w.tolist()
    pvs = pv_w.tolist()
    dt = float(step_s)
    for i in range(n):
        r = step(cmd, s, loads[i], pvs[i], dt, params)
        bat[i] = r.battery_w
        grid[i] = r.grid_w
        s = r.soc_pct
        soc[i] = s
    return bat, grid, soc
