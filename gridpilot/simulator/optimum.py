"""The perfect-foresight optimum: the lowest bill any controller could reach on the same data.

A linear programme over every step, solved by HiGHS. Variables per step ``t``: AC charge power
``c_t`` and discharge power ``d_t`` [W], grid import ``i_t`` and export ``x_t`` [W], stored
energy ``e_t`` at the end of the step [kWh]; per calendar month ``p_m``, the peak import [W].

    minimise  sum_t h/1000 * (pi_t * i_t - px_t * x_t + wear * d_t) + sum_m dc/1000 * p_m
    s.t.      i_t - x_t + d_t - c_t = load_t - pv_t                  (energy balance)
              e_t - e_{t-1} - eta_c h/1000 c_t + h/(1000 eta_d) d_t = 0   (e_{-1} = initial)
              i_t - p_{m(t)} <= 0                                    (only with a demand charge)
              0 <= c_t <= max_charge_w, 0 <= d_t <= max_discharge_w, e_min <= e_t <= e_max

The end state is free, as it is for a replayed policy. Being a relaxation (it may charge and
discharge in the same step), its bill is a lower bound on every schedule the battery model can
run on the same data, which is what ``savings_captured`` needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from gridpilot.errors import GridpilotError
from gridpilot.simulator.battery import BatteryParams
from gridpilot.solver import new_highs

__all__ = ["OptimumResult", "savings_captured", "solve_optimum"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class OptimumResult:
    """The optimal schedule: per-step battery and grid power [W], end-of-step SOC [%], and the
    LP objective (bill without the standing charge, plus wear)."""

    battery_w: FloatArray
    grid_w: FloatArray
    import_w: FloatArray
    export_w: FloatArray
    soc_pct: FloatArray
    objective: float
    bill: float
    """Energy and demand charges of this schedule (no standing charge, no wear)."""
    bill_bound: float
    """The LP's bill without standing charge and wear: a lower bound on the bill (energy and
    demand charges) of every schedule the battery can run on this data."""
    solve_s: float


def solve_optimum(
    *,
    load_w: FloatArray,
    pv_w: FloatArray,
    import_price: FloatArray,
    export_price: FloatArray,
    step_s: int,
    params: BatteryParams,
    initial_soc_pct: float,
    month_idx: IntArray | None = None,
    demand_charge_per_kw: float = 0.0,
    time_limit_s: float = 300.0,
    max_export_w: float | None = None,
) -> OptimumResult:
    """Solve the LP in the module docstring. ``month_idx`` (from
    :func:`gridpilot.simulator.accounting.month_index`) is needed with a demand charge;
    ``max_export_w`` is the site's export limit, which the battery may not push export past."""
    n = int(load_w.shape[0])
    h = step_s / 3600.0
    net = np.asarray(load_w - pv_w, dtype=np.float64)
    use_peak = demand_charge_per_kw > 0 and month_idx is not None
    nm = int(month_idx.max()) + 1 if use_peak and month_idx is not None and n else 0
    # column blocks
    oc, od, oi, ox, oe, op = 0, n, 2 * n, 3 * n, 4 * n, 5 * n
    ncol = 5 * n + nm
    cap = params.capacity_kwh
    e_min = cap * params.min_soc_pct / 100.0
    e_max = cap * params.max_soc_pct / 100.0
    e0 = cap * initial_soc_pct / 100.0

    cost = np.zeros(ncol)
    cost[oi:ox] = import_price * h / 1000.0
    cost[ox:oe] = -export_price * h / 1000.0
    cost[od:oi] = params.cycle_cost_per_kwh * h / 1000.0
    if nm:
        cost[op:] = demand_charge_per_kw / 1000.0
    lower = np.zeros(ncol)
    upper = np.empty(ncol)
    upper[oc:od] = params.max_charge_w
    upper[od:oi] = params.max_discharge_w
    # Bounds the physical flows imply; they keep the LP bounded where export pays more than
    # import costs.
    upper[oi:ox] = np.maximum(net, 0.0) + params.max_charge_w
    upper[ox:oe] = np.maximum(-net, 0.0) + params.max_discharge_w
    if max_export_w is not None:
        # The site's export limit binds the battery; PV alone may exceed it (no curtailment).
        upper[ox:oe] = np.minimum(upper[ox:oe], np.maximum(max_export_w, -net))
    lower[oe:op] = e_min
    upper[oe:op] = e_max
    upper[op:] = np.inf

    t = np.arange(n, dtype=np.int64)
    rows: list[IntArray] = []
    cols: list[IntArray] = []
    vals: list[FloatArray] = []

    def add(r: IntArray, c: IntArray, v: float | FloatArray) -> None:
        rows.append(r)
        cols.append(c)
        vals.append(np.broadcast_to(np.asarray(v, dtype=np.float64), r.shape).copy())

    # balance rows 0..n-1
    add(t, oi + t, 1.0)
    add(t, ox + t, -1.0)
    add(t, od + t, 1.0)
    add(t, oc + t, -1.0)
    # energy rows n..2n-1
    add(n + t, oe + t, 1.0)
    add(n + t[1:], oe + t[1:] - 1, -1.0)
    add(n + t, oc + t, -params.charge_efficiency * h / 1000.0)
    add(n + t, od + t, h / (1000.0 * params.discharge_efficiency))
    nrow = 2 * n
    row_lo = np.concatenate([net, np.zeros(n)])
    row_hi = row_lo.copy()
    row_lo[n] = row_hi[n] = e0
    if nm and month_idx is not None:
        add(nrow + t, oi + t, 1.0)
        add(nrow + t, op + month_idx.astype(np.int64), -1.0)
        nrow += n
        row_lo = np.concatenate([row_lo, np.full(n, -np.inf)])
        row_hi = np.concatenate([row_hi, np.zeros(n)])
    # Where export pays more than import costs, the bill of grid power g, min(pi*g, px*g), is
    # concave and an import/export split would let the LP import and export at once (money the
    # meter does not pay). There g becomes one free variable billed along the chord of that cost
    # over g's reachable range: the convex envelope, so the optimum stays a lower bound.
    offset = 0.0
    k = np.flatnonzero(export_price > import_price)
    g_lo = np.maximum(net[k] - params.max_discharge_w, -upper[ox + k])
    g_hi = net[k] + params.max_charge_w
    pi_k = import_price[k]
    px_k = export_price[k]
    if k.size:
        pi_k = import_price[k]
        px_k = export_price[k]
        cost_lo = np.where(g_lo >= 0, pi_k, px_k) * g_lo
        cost_hi = np.where(g_hi >= 0, pi_k, px_k) * g_hi
        width = np.maximum(g_hi - g_lo, 1e-9)
        slope = (cost_hi - cost_lo) / width
        offset = float(((cost_lo - slope * g_lo) * h / 1000.0).sum())
        cost[oi + k] = slope * h / 1000.0
        cost[ox + k] = 0.0
        lower[oi + k] = g_lo
        upper[oi + k] = g_hi
        upper[ox + k] = 0.0
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    v = np.concatenate(vals)
    order = np.lexsort((r, c))
    r, c, v = r[order], c[order], v[order]
    start = np.zeros(ncol + 1, dtype=np.int64)
    np.cumsum(np.bincount(c, minlength=ncol), out=start[1:])

    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = nrow
    lp.col_cost_ = cost
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = ncol
    lp.a_matrix_.num_row_ = nrow
    lp.a_matrix_.start_ = start.astype(np.int32)
    lp.a_matrix_.index_ = r.astype(np.int32)
    lp.a_matrix_.value_ = v
    lp.offset_ = offset

    solver = new_highs()
    solver.setOptionValue("time_limit", float(time_limit_s))
    solver.passModel(lp)
    solver.run()
    _check(solver)
    bound = float(solver.getInfo().objective_function_value)
    x = np.asarray(solver.getSolution().col_value, dtype=np.float64)
    if k.size:
        # Second pass: each such step keeps the direction the bound chose and is billed at its
        # real price, which turns the bound into a schedule the meter would bill as computed.
        g = x[oi + k]
        exporting = g < 0
        real_cost = np.where(exporting, px_k, pi_k) * h / 1000.0
        lo = np.where(exporting, g_lo, 0.0)
        hi = np.where(exporting, 0.0, g_hi)
        idx = (oi + k).astype(np.int32)
        solver.changeColsCost(int(k.size), idx, real_cost)
        solver.changeColsBounds(int(k.size), idx, lo, hi)
        solver.changeObjectiveOffset(0.0)
        solver.run()
        _check(solver)
        x = np.asarray(solver.getSolution().col_value, dtype=np.float64)
    charge_w = x[oc:od]
    discharge_w = x[od:oi]
    battery_w = discharge_w - charge_w
    grid_w = net - battery_w
    import_w = np.maximum(grid_w, 0.0)
    export_w = np.maximum(-grid_w, 0.0)
    wear = _wear(discharge_w, h, params)
    soc = np.clip(x[oe:op] / cap * 100.0, params.min_soc_pct, params.max_soc_pct)
    return OptimumResult(
        battery_w=battery_w,
        grid_w=grid_w,
        import_w=import_w,
        export_w=export_w,
        soc_pct=soc,
        objective=float(solver.getInfo().objective_function_value),
        bill=float(solver.getInfo().objective_function_value) - wear,
        bill_bound=bound - _wear(x[od:oi], h, params),
        solve_s=float(solver.getRunTime()),
    )


def savings_captured(baseline_bill: float, policy_bill: float, optimal_bill: float) -> float | None:
    """``(baseline - policy) / (baseline - optimal)``; ``None`` when the optimum saves nothing."""
    possible = baseline_bill - optimal_bill
    if possible <= 1e-9:
        return None
    return (baseline_bill - policy_bill) / possible


def _wear(discharge_w: FloatArray, h: float, params: BatteryParams) -> float:
    return float((discharge_w * h / 1000.0 * params.cycle_cost_per_kwh).sum())


def _check(solver: highspy.Highs) -> None:
    status = solver.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise GridpilotError(f"the optimum LP did not solve: {solver.modelStatusToString(status)}")
