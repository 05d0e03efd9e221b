"""The linear programme behind ``tariff_arbitrage``: the cheapest battery schedule over the prices
known now.

The same battery model as the perfect-foresight optimum (:mod:`gridpilot.simulator.optimum`), on
the price slots of one outlook. Per slot ``j`` (``h_j`` hours long): AC charge ``c_j`` and
discharge ``d_j`` [W], grid import ``i_j`` and export ``x_j`` [W], stored energy ``e_j`` at the
slot's end [kWh].

    minimise  sum_j h_j/1000 * (pi_j i_j - px_j x_j + (wear + spread + tie) d_j + tie c_j)
                    - v e_{n-1}
    s.t.      i_j - x_j + d_j - c_j = net_j
              e_j - e_{j-1} - eta_c h_j/1000 c_j + h_j/(1000 eta_d) d_j = 0   (e_{-1} = now)
              0 <= c_j <= charge_w, 0 <= d_j <= max_discharge_w, floor <= e_j <= top

``spread`` (``min_spread_per_kwh``) is charged like wear, so a cycle is only planned when its
spread beats the losses, the wear and that margin; ``tie`` (about a millionth of a currency unit
per kWh) breaks ties against cycling at equal prices. Export is only open to the battery where the
export price is positive (and only with ``allow_export``), and never past the site's export
limit. Where export pays more than import costs, the export price is capped at the import price
(the meter does not pay for importing and exporting at once).

The energy left at the end of the outlook is worth ``v`` per stored kWh: what it saves if used
at the cheapest import price of the outlook, net of wear and margin (never below zero). That is
conservative (the battery can be refilled at about that price, so it does not hoard) without
valuing it at zero (which would dump it into the last known slots).
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from gridpilot.solver import new_highs

__all__ = ["PlanInputs", "PlanResult", "new_solver", "resolve_plan", "solve_plan"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_TIE_PER_KWH = 1e-6
_END_MARGIN = 1e-4
"""Keeps the end value strictly below what using the energy at the cheapest price saves, so a
battery is never kept full for its own sake."""


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """The battery and grid facts one plan needs (powers in W, energies in kWh)."""

    capacity_kwh: float
    charge_w: float
    discharge_w: float
    charge_efficiency: float
    discharge_efficiency: float
    floor_kwh: float
    top_kwh: float
    wear_per_kwh: float
    min_spread_per_kwh: float
    export_w: float
    """The most the battery may push to the grid [W]; 0 keeps battery energy off the grid."""
    max_import_w: float | None = None
    max_export_w: float | None = None
    """The site's export limit [W]: the battery may not push export past it (PV alone may)."""


@dataclass(frozen=True, slots=True)
class PlanResult:
    """One plan: per slot of the outlook, the planned flows [W] and stored energy [kWh].

    ``stored_kwh[j]`` is the energy at the end of slot ``j``; ``start_kwh`` the energy at the
    moment of planning.
    """

    start_s: IntArray
    end_s: int
    start_kwh: float
    charge_w: FloatArray
    discharge_w: FloatArray
    import_w: FloatArray
    export_w: FloatArray
    stored_kwh: FloatArray
    net_w: FloatArray
    end_value_per_kwh: float
    floor_kwh: float
    top_kwh: float
    from_slot: int = 0
    """The slot the plan starts acting in (see :func:`resolve_plan`)."""


def solve_plan(
    t_s: float,
    start_s: IntArray,
    end_s: int,
    import_per_kwh: FloatArray,
    export_per_kwh: FloatArray,
    net_w: FloatArray,
    stored_kwh: float,
    inputs: PlanInputs,
    solver: highspy.Highs | None = None,
) -> PlanResult | None:
    """Solve the module's LP from ``t_s`` (inside the first slot) with ``stored_kwh`` in the
    battery. Returns ``None`` if HiGHS finds no optimum (the caller then has no plan)."""
    n = int(start_s.shape[0])
    ends = np.empty(n, dtype=np.float64)
    ends[:-1] = start_s[1:]
    ends[-1] = end_s
    starts = start_s.astype(np.float64)
    starts[0] = max(float(start_s[0]), min(t_s, ends[0] - 60.0))
    h = (ends - starts) * (1.0 / 3600.0)
    hk = h * 1e-3
    pi = np.asarray(import_per_kwh, dtype=np.float64)
    px = np.minimum(np.asarray(export_per_kwh, dtype=np.float64), pi)
    net = np.asarray(net_w, dtype=np.float64)
    eta_c = inputs.charge_efficiency
    eta_d = inputs.discharge_efficiency

    oc, od, oi, ox, oe = 0, n, 2 * n, 3 * n, 4 * n
    ncol = 5 * n
    cost = np.empty(ncol)
    # The tie-breaker grows along the outlook: between equal prices the earliest slot is used,
    # so the battery is charged (or used) as soon as it is worth it, not at a random slot.
    tie = _TIE_PER_KWH * (1.0 + np.arange(n) / n)
    cost[oc:od] = tie * hk
    cost[od:oi] = (inputs.wear_per_kwh + inputs.min_spread_per_kwh + tie) * hk
    cost[oi:ox] = pi * hk
    cost[ox:oe] = -px * hk
    cost[oe:] = 0.0
    end_value = eta_d * max(
        0.0, float(pi.min()) - inputs.wear_per_kwh - inputs.min_spread_per_kwh - _END_MARGIN
    )
    cost[-1] = -end_value

    lower = np.zeros(ncol)
    upper = np.empty(ncol)
    upper[oc:od] = inputs.charge_w
    upper[od:oi] = inputs.discharge_w
    pos = np.maximum(net, 0.0)
    surplus = np.maximum(-net, 0.0)
    imp_hi = pos + inputs.charge_w
    if inputs.max_import_w is not None:
        imp_hi = np.minimum(imp_hi, np.maximum(inputs.max_import_w, pos))
    upper[oi:ox] = imp_hi
    battery_out = np.where(px > 0.0, inputs.export_w, 0.0)
    x_hi = surplus + battery_out
    if inputs.max_export_w is not None:
        x_hi = np.minimum(x_hi, np.maximum(inputs.max_export_w, surplus))
    upper[ox:oe] = x_hi
    floor = min(inputs.floor_kwh, stored_kwh)
    top = max(inputs.top_kwh, stored_kwh)
    lower[oe:] = floor
    upper[oe:] = top

    # Column-wise matrix: c_j, d_j -> (balance j, energy j); i_j, x_j -> balance j;
    # e_j -> energy j (+1) and energy j+1 (-1).
    j = np.arange(n, dtype=np.int32)
    two = np.column_stack((j, n + j)).ravel()
    c_val = np.column_stack((np.full(n, -1.0), -eta_c * hk)).ravel()
    d_val = np.column_stack((np.ones(n), hk / eta_d)).ravel()
    e_idx = np.column_stack((n + j, n + j + 1)).ravel()[:-1]
    e_val = np.column_stack((np.ones(n), -np.ones(n))).ravel()[:-1]
    index = np.concatenate((two, two, j, j, e_idx)).astype(np.int32)
    value = np.concatenate((c_val, d_val, np.ones(n), -np.ones(n), e_val))
    counts = np.concatenate((np.full(2 * n, 2), np.ones(2 * n, dtype=np.int64),
                             np.full(n, 2)))
    counts[-1] = 1
    start = np.zeros(ncol + 1, dtype=np.int32)
    np.cumsum(counts, out=start[1:])

    row_lo = np.concatenate((net, np.zeros(n)))
    row_lo[n] = stored_kwh
    lp = highspy.HighsLp()
    lp.num_col_ = ncol
    lp.num_row_ = 2 * n
    lp.col_cost_ = cost
    lp.col_lower_ = lower
    lp.col_upper_ = upper
    lp.row_lower_ = row_lo
    lp.row_upper_ = row_lo
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = ncol
    lp.a_matrix_.num_row_ = 2 * n
    lp.a_matrix_.start_ = start
    lp.a_matrix_.index_ = index
    lp.a_matrix_.value_ = value

    if solver is None:
        solver = new_solver()
    solver.passModel(lp)
    solver.run()
    if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return _result(solver, start_s, end_s, stored_kwh, net, end_value, inputs.floor_kwh,
                   inputs.top_kwh, 0)


def resolve_plan(solver: highspy.Highs, plan: PlanResult, k: int,
                 stored_kwh: float) -> PlanResult | None:
    """Solve ``plan``'s LP again from slot ``k`` on, with ``stored_kwh`` in the battery.

    ``solver`` must still hold the model :func:`solve_plan` (or this function) last solved for
    ``plan``. The slots before ``k`` are fixed to doing nothing at ``stored_kwh``, so the rest is
    the same LP as a fresh plan from slot ``k``; only bounds change, so HiGHS starts from the
    last basis, several times faster than building and solving anew.
    """
    n = int(plan.start_s.shape[0])
    floor = min(plan.floor_kwh, stored_kwh)
    top = max(plan.top_kwh, stored_kwh)
    if k > 0:
        idx = np.concatenate((np.arange(k), n + np.arange(k))).astype(np.int32)
        zeros = np.zeros(2 * k)
        solver.changeColsBounds(2 * k, idx, zeros, zeros)
    e_idx = (4 * n + np.arange(n)).astype(np.int32)
    solver.changeColsBounds(n, e_idx, np.full(n, floor), np.full(n, top))
    solver.changeRowBounds(n, stored_kwh, stored_kwh)
    solver.run()
    if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return _result(solver, plan.start_s, plan.end_s, stored_kwh, plan.net_w,
                   plan.end_value_per_kwh, plan.floor_kwh, plan.top_kwh, k)


def _result(solver: highspy.Highs, start_s: IntArray, end_s: int, stored_kwh: float,
            net: FloatArray, end_value: float, floor_kwh: float, top_kwh: float,
            k: int) -> PlanResult:
    n = int(start_s.shape[0])
    x = np.asarray(solver.getSolution().col_value, dtype=np.float64)
    lo = min(floor_kwh, stored_kwh)
    hi = max(top_kwh, stored_kwh)
    return PlanResult(
        start_s=start_s,
        end_s=end_s,
        start_kwh=stored_kwh,
        charge_w=x[:n],
        discharge_w=x[n : 2 * n],
        import_w=x[2 * n : 3 * n],
        export_w=x[3 * n : 4 * n],
        stored_kwh=np.clip(x[4 * n :], lo, hi),
        net_w=net,
        end_value_per_kwh=end_value,
        floor_kwh=floor_kwh,
        top_kwh=top_kwh,
        from_slot=k,
    )


def new_solver() -> highspy.Highs:
    """A quiet HiGHS instance, reusable across plans."""
    return new_highs(presolve="off")
