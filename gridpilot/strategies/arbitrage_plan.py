"""The linear programme behind ``tariff_arbitrage``: the cheapest battery schedule over the prices
known now.

The battery programme of :mod:`gridpilot.lp.battery` (the same one the perfect-foresight optimum
solves), on the price slots of one outlook, the first slot starting now:

    minimise  sum_j h_j/1000 * (pi_j i_j - px_j x_j + (wear + spread + tie) d_j + tie c_j)
                    - v e_{n-1}

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

A :class:`PlanSolver` keeps one HiGHS model. A new plan of the same size changes that model's
costs, bounds and changed coefficients in place, so HiGHS starts from the last optimal basis
instead of from scratch (a day-ahead plan then takes about a third fewer simplex iterations); a
plan of another size passes a new model. Either way HiGHS holds exactly the programme above.
Only the column bounds that differ from the ones HiGHS holds are sent (after a run, a bound
change costs HiGHS time for each column named), and HiGHS is told its scheduler's thread count
(:func:`gridpilot.solver.scheduler_threads`) so that a run does not count the machine's cores
again.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.lp.battery import BatteryLP, Costs, GridCaps, Horizon, Storage, build_battery_lp
from gridpilot.solver import new_highs, run_counting_threads

__all__ = ["PlanInputs", "PlanResult", "PlanSolver", "new_solver", "resolve_plan",
           "solve_plan"]


_TIE_PER_KWH = 1e-6
_END_MARGIN = 1e-4
"""Keeps the end value strictly below what using the energy at the cheapest price saves, so a
battery is never kept full for its own sake."""


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """The battery and grid facts one plan needs (powers in W, energies in kWh)."""

    storage: Storage
    """The battery as the plan may use it: its floor is the effective reserve."""
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
    lp: BatteryLP
    """The programme solved, for :func:`resolve_plan`."""
    from_slot: int = 0
    """The slot the plan starts acting in (see :func:`resolve_plan`)."""


class PlanSolver:
    """One quiet HiGHS instance and the plan model it holds, reused across plans."""

    __slots__ = ("_index", "_lower", "_upper", "highs", "lp", "models_passed")

    def __init__(self) -> None:
        self.highs: highspy.Highs = new_highs(presolve="off")
        self.lp: BatteryLP | None = None
        """The programme HiGHS holds, up to the bounds :func:`resolve_plan` changed."""
        self.models_passed = 0
        """How many plans needed a new model (the others changed the one held)."""
        self._index = np.zeros(0, dtype=np.int32)
        self._lower = np.zeros(0)
        self._upper = np.zeros(0)
        """The column bounds HiGHS holds (``lp``'s, as :meth:`restart` changed them)."""

    def load(self, lp: BatteryLP) -> None:
        """Make HiGHS hold ``lp``: in place when only costs, bounds and coefficient values
        differ from the model it holds (HiGHS then starts from its last basis), else anew."""
        held = self.lp
        highs = self.highs
        self.lp = lp
        if (held is None or held.n != lp.n or held.nm != lp.nm
                or not np.array_equal(held.start, lp.start)
                or not np.array_equal(held.index, lp.index)):
            highs.passModel(lp.highs_lp())
            self.models_passed += 1
            self._lower, self._upper = lp.lower.copy(), lp.upper.copy()
            return
        changed = np.flatnonzero(held.value != lp.value)
        if changed.size:
            # Only the first slot's length moves with the time of planning: a few entries.
            cols = np.searchsorted(lp.start, changed, side="right") - 1
            for e, j in zip(changed.tolist(), cols.tolist(), strict=True):
                highs.changeCoeff(int(lp.index[e]), j, float(lp.value[e]))
        ncol, nrow = lp.ncol, lp.nrow
        index = self._indices(max(ncol, nrow))
        highs.changeColsCost(ncol, index[:ncol], lp.cost)
        self._bounds(lp.lower.copy(), lp.upper.copy())
        # highspy's stubs lack changeRowsBounds; it is the row twin of changeColsBounds.
        highs.changeRowsBounds(  # type: ignore[attr-defined]
            nrow, index[:nrow], lp.row_lo, lp.row_hi)

    def restart(self, from_step: int, stored_kwh: float) -> None:
        """:meth:`BatteryLP.restart` on the model held, in one bounds change: the steps before
        ``from_step`` do nothing, the energy starts at ``stored_kwh``."""
        lp = self.lp
        assert lp is not None
        n, s = lp.n, lp.storage
        k = from_step
        lower, upper = self._lower.copy(), self._upper.copy()
        lower[:k] = upper[:k] = lower[n:n + k] = upper[n:n + k] = 0.0
        lower[4 * n:5 * n] = min(s.floor_kwh, stored_kwh)
        upper[4 * n:5 * n] = max(s.top_kwh, stored_kwh)
        self._bounds(lower, upper)
        self.highs.changeRowBounds(n, stored_kwh, stored_kwh)

    def _bounds(self, lower: FloatArray, upper: FloatArray) -> None:
        """Give HiGHS these column bounds, sending only those that differ from the ones it
        holds: after a run, a change costs HiGHS time for every column it names."""
        changed = np.flatnonzero((lower != self._lower) | (upper != self._upper))
        if changed.size:
            self.highs.changeColsBounds(changed.size, changed.astype(np.int32),
                                        lower[changed], upper[changed])
        self._lower, self._upper = lower, upper

    def _indices(self, count: int) -> npt.NDArray[np.int32]:
        if self._index.shape[0] < count:
            self._index = np.arange(count, dtype=np.int32)
        return self._index

    def solve(self) -> FloatArray | None:
        """Run HiGHS; the column values if it found an optimum."""
        highs = self.highs
        # possibly from a thread whose scheduler has another count than the one it was built in
        run_counting_threads(highs)
        if highs.getModelStatus() != _OPTIMAL:
            return None
        return np.asarray(highs.getSolution().col_value, dtype=np.float64)


_OPTIMAL = highspy.HighsModelStatus.kOptimal


def solve_plan(
    t_s: float,
    start_s: IntArray,
    end_s: int,
    import_per_kwh: FloatArray,
    export_per_kwh: FloatArray,
    net_w: FloatArray,
    stored_kwh: float,
    inputs: PlanInputs,
    solver: PlanSolver | None = None,
) -> PlanResult | None:
    """Solve the module's LP from ``t_s`` (inside the first slot) with ``stored_kwh`` in the
    battery. Returns ``None`` if HiGHS finds no optimum (the caller then has no plan)."""
    n = int(start_s.shape[0])
    ends = np.empty(n, dtype=np.float64)
    ends[:-1] = start_s[1:]
    ends[-1] = end_s
    starts = start_s.astype(np.float64)
    starts[0] = max(float(start_s[0]), min(t_s, ends[0] - 60.0))
    pi = np.asarray(import_per_kwh, dtype=np.float64)
    px = np.minimum(np.asarray(export_per_kwh, dtype=np.float64), pi)
    net = np.asarray(net_w, dtype=np.float64)
    # The tie-breaker grows along the outlook: between equal prices the earliest slot is used,
    # so the battery is charged (or used) as soon as it is worth it, not at a random slot.
    tie = _TIE_PER_KWH * (1.0 + np.arange(n) / n)
    end_value = inputs.storage.discharge_efficiency * max(
        0.0, float(pi.min()) - inputs.wear_per_kwh - inputs.min_spread_per_kwh - _END_MARGIN
    )
    lp = build_battery_lp(
        Horizon((ends - starts) * (1.0 / 3600.0), net, pi, px),
        inputs.storage,
        stored_kwh,
        GridCaps(
            battery_export_w=np.where(px > 0.0, inputs.export_w, 0.0),
            max_import_w=inputs.max_import_w,
            max_export_w=inputs.max_export_w,
        ),
        Costs(
            discharge_per_kwh=inputs.wear_per_kwh + inputs.min_spread_per_kwh + tie,
            charge_per_kwh=tie,
            end_value_per_kwh=end_value,
        ),
    )
    if solver is None:
        solver = new_solver()
    solver.load(lp)
    x = solver.solve()
    if x is None:
        return None
    return _result(x, lp, start_s, end_s, stored_kwh, net, end_value, 0)


def resolve_plan(solver: PlanSolver, plan: PlanResult, k: int,
                 stored_kwh: float) -> PlanResult | None:
    """Solve ``plan``'s LP again from slot ``k`` on, with ``stored_kwh`` in the battery.

    ``solver`` must still hold the model :func:`solve_plan` (or this function) last solved for
    ``plan``. The slots before ``k`` are fixed to doing nothing at ``stored_kwh``, so the rest is
    the same LP as a fresh plan from slot ``k``; only bounds change, so HiGHS starts from the
    last basis, several times faster than building and solving anew.
    """
    if solver.lp is not plan.lp:
        solver.load(plan.lp)
    solver.restart(k, stored_kwh)
    x = solver.solve()
    if x is None:
        return None
    return _result(x, plan.lp, plan.start_s, plan.end_s, stored_kwh, plan.net_w,
                   plan.end_value_per_kwh, k)


def _result(x: FloatArray, lp: BatteryLP, start_s: IntArray, end_s: int,
            stored_kwh: float, net: FloatArray, end_value: float, k: int) -> PlanResult:
    flows = lp.columns(x)
    floor_kwh, top_kwh = lp.storage.floor_kwh, lp.storage.top_kwh
    return PlanResult(
        start_s=start_s,
        end_s=end_s,
        start_kwh=stored_kwh,
        charge_w=flows.charge_w,
        discharge_w=flows.discharge_w,
        import_w=flows.import_w,
        export_w=flows.export_w,
        stored_kwh=np.clip(flows.stored_kwh, min(floor_kwh, stored_kwh),
                           max(top_kwh, stored_kwh)),
        net_w=net,
        end_value_per_kwh=end_value,
        floor_kwh=floor_kwh,
        top_kwh=top_kwh,
        lp=lp,
        from_slot=k,
    )


def new_solver() -> PlanSolver:
    """A quiet HiGHS instance with no model yet, reusable across plans."""
    return PlanSolver()
