"""Billing and energy totals of a simulated (or recorded) run, and the two baselines.

All inputs are per-step arrays on one regular grid: powers in average W over the step (grid
positive = import, battery positive = discharge), prices per kWh in the tariff's currency. The
bill is ``energy cost - export revenue + standing charge + demand charge``; the demand charge is
``demand_charge_per_kw`` times the highest grid import of each calendar month in the site's
timezone, in kW at the step's resolution. Wear (``cycle_cost_per_kwh`` per kWh discharged) is
reported beside the bill, not in it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from gridpilot.engine.commands import Command, CommandKind
from gridpilot.simulator.battery import BatteryParams, step

__all__ = [
    "BillInputs",
    "MonthTotals",
    "Totals",
    "compute_totals",
    "month_index",
    "no_battery_flows",
    "run_fixed_command",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
    """Share of PV used on site: export is attributed to PV first, each step."""
    self_sufficiency: float
    """Share of the load not met by grid import: import is attributed to the load first."""
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


def compute_totals(
    *,
    start_s: IntArray,
    step_s: int,
    load_w: FloatArray,
    pv_w: FloatArray,
    grid_w: FloatArray,
    battery_w: FloatArray,
    import_price: FloatArray,
    export_price: FloatArray,
    bill: BillInputs,
    tz: ZoneInfo,
    battery: BatteryParams | None = None,
    import_w: FloatArray | None = None,
    export_w: FloatArray | None = None,
) -> Totals:
    """Bill and energy totals of one run (see the module docstring).

    ``import_w``/``export_w`` default to the positive and negative parts of ``grid_w``; the
    optimum passes its own split.
    """
    h = step_s / 3600.0
    imp_w = np.maximum(grid_w, 0.0) if import_w is None else import_w
    exp_w = np.maximum(-grid_w, 0.0) if export_w is None else export_w
    imp_kwh = imp_w * h / 1000.0
    exp_kwh = exp_w * h / 1000.0
    cost = imp_kwh * import_price
    revenue = exp_kwh * export_price
    midx, labels = month_index(start_s, tz)
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
    pv_exported = float(np.minimum(exp_kwh, np.maximum(pv_w, 0.0) * h / 1000.0).sum())
    load_imported = float(np.minimum(imp_kwh, np.maximum(load_w, 0.0) * h / 1000.0).sum())
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
        self_consumption=1.0 - pv_exported / pv_kwh if pv_kwh > 0 else 0.0,
        self_sufficiency=1.0 - load_imported / load_kwh if load_kwh > 0 else 0.0,
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
