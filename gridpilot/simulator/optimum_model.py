"""The optimum's programme over one horizon: the battery LP over runs of equal steps, the
direction binaries of one round, the repair of a relaxed schedule into one the battery can run,
and the result (:mod:`gridpilot.simulator.optimum` searches with it)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.engine.battery import BatteryParams
from gridpilot.errors import GridpilotError
from gridpilot.lp.battery import (
    BatteryLP,
    Costs,
    GridCaps,
    Horizon,
    LPColumns,
    Rows,
    Storage,
    battery_columns,
    build_battery_lp,
    direction_cuts,
)
from gridpilot.lp.runs import Counted, Runs, counted_rows, equal_runs, order_counted
from gridpilot.simulator.accounting import SiteSeries
from gridpilot.simulator.optimum_highs import new_lp_solver, new_milp_solver, run_lp

__all__ = [
    "BOTH_W",
    "LP_MIN_S",
    "MIP_ABS_GAP",
    "MIP_REL_GAP",
    "OptimumModel",
    "OptimumResult",
    "RelaxationBasis",
    "SolveTimeLimit",
    "does_both",
    "replay_soc_pct",
]



BOTH_W = 1e-3
"""A step whose charge and discharge (or import and export) both exceed this does both at once.
Far above the solver's tolerances, far below anything a meter shows."""
MIP_REL_GAP = 1e-6
MIP_ABS_GAP = 1e-6
"""Currency units: the optimum's cost is exact to far below what a bill shows."""
_FEASIBLE = 2
"""HiGHS's ``primal_solution_status`` of a feasible point (kSolutionStatusFeasible)."""
_SOC_TOL_PCT = 1e-6
"""How far the replayed SOC may stray past its bounds by float rounding before it is an error."""
LP_MIN_S = 1800.0
"""Time granted to the long horizon's relaxation and to an LP that turns a found schedule into a
runnable one, even past the limit: an LP always finishes (a demand charge over a 5-minute year
takes minutes on a small machine), and without it the limit could leave no bound or no runnable
schedule at all. Only the MILPs stop at the limit."""
_REPAIR_PASSES = 4
"""Re-solves of the repair LP, each fixing the directions of the steps that still do both."""


_EMPTY = np.zeros(0)


@dataclass(frozen=True)
class OptimumResult:
    """The optimal schedule: per-step battery and grid power [W], end-of-step SOC [%], and its
    cost (bill without the standing charge, plus wear) against the solver's lower bound."""

    battery_w: FloatArray
    grid_w: FloatArray
    import_w: FloatArray
    export_w: FloatArray
    soc_pct: FloatArray
    """End-of-step SOC of ``battery_w`` replayed through the battery equations (not clipped)."""
    objective: float
    """Cost of this schedule: ``bill + wear``."""
    bill: float
    """Energy and demand charges of this schedule (no standing charge, no wear)."""
    wear: float
    """Wear cost of this schedule: AC kWh discharged times ``cycle_cost_per_kwh``."""
    objective_bound: float
    """A lower bound on ``bill + wear`` of every schedule the battery can run on this data (the
    solver's dual bound); ``objective - objective_bound`` is the gap."""
    solve_s: float
    binary_steps: int = 0
    """Steps given a direction binary: those that did both in a round and, once one step traded,
    every step where trading may pay (the rest were shown not to need one)."""
    rounds: int = 1
    """Solves of the lazy loop (module docstring)."""
    timed_out: bool = False
    """The time limit stopped the search: the schedule is runnable but only proven within
    :attr:`gap` of the optimum."""

    @property
    def gap(self) -> float:
        """How much cheaper than this schedule any schedule could possibly be [currency]."""
        return max(0.0, self.objective - self.objective_bound)


class SolveTimeLimit(Exception):
    """A solve stopped at its time limit: its best schedule (``None`` if it found none) and the
    lower bound it proved."""

    def __init__(self, x: FloatArray | None, bound: float, solve_s: float) -> None:
        super().__init__("time limit")
        self.x, self.bound, self.solve_s = x, bound, solve_s


def does_both(model: OptimumModel, x: FloatArray) -> bool:
    both_bat, both_grid = model.both(x)
    return bool(both_bat.any() or both_grid.any())



def replay_soc_pct(
    battery_w: FloatArray, step_s: int, params: BatteryParams, initial_soc_pct: float
) -> FloatArray:
    """End-of-step SOC [%] of a net battery schedule (+ discharge) under the battery model's
    equations, without any limit: what the schedule really does to the cells."""
    h = step_s / 3600.0
    stored_pct = np.where(
        battery_w > 0.0,
        -battery_w / params.discharge_efficiency,
        -battery_w * params.charge_efficiency,
    ) * h / 1000.0 / params.capacity_kwh * 100.0
    return np.asarray(initial_soc_pct + np.cumsum(stored_pct), dtype=np.float64)


@dataclass(frozen=True)
class RelaxationBasis:
    """The simplex basis the relaxation ended on, over its runs: where another optimum of the
    same site falls into the same runs (a backtest's optimum down to the device's minimum after
    the one that keeps the reserve: they differ only in energy bounds), its relaxation starts
    there. That took the 30-minute year's relaxation from about 57,000 simplex iterations and
    1.0 s of CPU to 1,200 and 0.1 s (2.1 s to 0.28 s with a demand charge), to the same value."""

    first: IntArray
    """The first step of each run."""
    basis: highspy.HighsBasis


@dataclass
class _Warm:
    """The relaxation's HiGHS model, kept so that the same programme with directions fixed is
    solved from its basis: its runs and the bounds it holds on their columns."""

    runs: Runs
    upper: FloatArray
    solver: highspy.Highs
    running: bool
    """Its demand charge's peaks are bounded through the running peak (its columns' layout)."""


class OptimumModel:
    """The optimum's programme (:mod:`gridpilot.lp.battery`) and the steps that may need a
    direction binary; :meth:`solve` adds the binaries of one round."""

    def __init__(
        self,
        site: SiteSeries,
        params: BatteryParams,
        initial_soc_pct: float,
        *,
        month_idx: IntArray | None,
        max_export_w: float | None,
    ) -> None:
        n = int(site.load_w.shape[0])
        self.n = n
        self.site, self.max_export_w = site, max_export_w
        self.params = params
        self.step_s = step_s = site.step_s
        self.initial_soc_pct = float(initial_soc_pct)
        self.h = step_s / 3600.0
        self.net = net = np.asarray(site.load_w - site.pv_w, dtype=np.float64)
        self.import_price = np.asarray(site.import_price, dtype=np.float64)
        self.export_price = np.asarray(site.export_price, dtype=np.float64)
        self.month_idx = month_idx
        self.demand_charge_per_kw = site.bill.demand_charge_per_kw
        cap = params.capacity_kwh
        self.e0_kwh = cap * initial_soc_pct / 100.0
        self.storage = Storage(
            charge_w=params.max_charge_w,
            discharge_w=params.max_discharge_w,
            charge_efficiency=params.charge_efficiency,
            discharge_efficiency=params.discharge_efficiency,
            floor_kwh=cap * params.min_soc_pct / 100.0,
            top_kwh=cap * params.max_soc_pct / 100.0,
        )
        self.grid = GridCaps(battery_export_w=params.max_discharge_w, max_export_w=max_export_w)
        # only the columns over every step: the programme solved is the one over runs
        # (:meth:`_run_lp`), so the long one's matrix is never built, nor a running peak's
        # columns (a schedule is carried over every step by name)
        self.lp = lp = battery_columns(
            Horizon(np.full(n, self.h), net, self.import_price, self.export_price),
            self.storage,
            self.e0_kwh,
            self.grid,
            self._costs(month_idx),
            running=False,
        )
        self.nm = lp.nm
        self.ncol = lp.ncol
        # Where export pays more than import costs and the step can reach both directions, the
        # relaxation may import and export at once: those steps carry a relaxed y from round 1
        # (its relaxation is the convex envelope of the real cost, a valid bound).
        caps = lp.columns(lp.upper)
        self.may_trade = (
            (self.export_price > self.import_price) & (caps.import_w > 0) & (caps.export_w > 0)
        )
        self.presolve = "choose"
        self._warm: _Warm | None = None
        self.own_runs = False
        """Every step a run of its own (:func:`_by_windows`)."""
        self.capped = False
        """Its MILPs stop at a short time cap (a window's, :func:`_by_windows`)."""
        self.start: RelaxationBasis | None = None
        """Another optimum's relaxation basis for this one's relaxation to start from."""
        self.relaxation: RelaxationBasis | None = None
        """Where this one's relaxation ended (:class:`RelaxationBasis`)."""
        # the direction cuts (:func:`direction_cuts`) go on these steps
        self.cut_at = self.may_trade.copy()
        # Wasting energy through the losses pays only where some energy is worth less than
        # nothing or where the battery is full; any step may need z in a degenerate case.
        self.may_waste = (params.max_charge_w > 0) & (params.max_discharge_w > 0) & np.ones(
            n, dtype=bool
        )

    def _costs(self, month_idx: IntArray | None) -> Costs:
        return Costs(
            discharge_per_kwh=self.params.cycle_cost_per_kwh,
            demand_charge_per_kw=self.demand_charge_per_kw,
            month_idx=month_idx,
        )

    def window(self, a: int, b: int, x: FloatArray) -> OptimumModel:
        """The steps ``a..b-1`` as a model of their own: it starts from the SOC that ``x`` has
        before ``a`` and must end on the SOC ``x`` has at ``b - 1`` (free at the horizon's end),
        and imports no more than ``x``'s monthly peaks, so that any schedule of it fits back
        into ``x`` without changing the rest. Its cost has no demand charge."""
        p = self.params
        sol = self.lp.columns(x)
        e_start = self.initial_soc_pct if a == 0 else sol.stored_kwh[a - 1] / p.capacity_kwh * 100
        sub = OptimumModel(
            self.site.steps(a, b), p, float(min(max(e_start, p.min_soc_pct), p.max_soc_pct)),
            month_idx=None, max_export_w=self.max_export_w,
        )
        # a window's MILP is small: HiGHS's presolve costs more there than it saves (a
        # 5-minute year's windows: 2.9 -> 2.1 s)
        sub.presolve = "off"
        sub.capped = True
        lower, upper = sub.lp.columns(sub.lp.lower), sub.lp.columns(sub.lp.upper)
        if b < self.n:
            lower.stored_kwh[-1] = upper.stored_kwh[-1] = float(sol.stored_kwh[b - 1])
        if self.nm and self.month_idx is not None:
            upper.import_w[:] = np.minimum(upper.import_w, sol.peak_w[self.month_idx[a:b]])
        return sub

    def solve(
        self,
        z_bin: npt.NDArray[np.bool_],
        y_bin: npt.NDArray[np.bool_],
        time_left_s: float,
        *,
        fix_z: npt.NDArray[np.int8] | None = None,
        fix_y: npt.NDArray[np.int8] | None = None,
        through_kwh: FloatArray | None = None,
    ) -> tuple[FloatArray, float, float]:
        """Solve with binaries on ``z_bin``/``y_bin`` (``y`` relaxed wherever trading may pay)
        and the directions ``fix_z`` (1 charge only, 0 discharge only, -1 free) and ``fix_y``
        (1 import only, 0 export only): the column values, the proven lower bound on the
        objective and the solve time. ``through_kwh``, the stored energy per step of a
        schedule that obeys the fixed directions, is for a model that solves by parts
        (:class:`gridpilot.simulator.optimum_blocks.BlockModel`); this one has no use for it."""
        upper, free_y = self.fixed_upper(fix_z, fix_y)
        fixed = fix_z is not None or fix_y is not None
        relaxed = not z_bin.any() and not y_bin.any()
        if fixed and relaxed:
            got = self._warm_solve(upper, time_left_s)
            if got is not None:
                return got
        # a model kept for warm starts is let go before another is built: both at once would
        # double the peak memory of a long horizon
        self._warm = None
        has_y = (self.may_trade & free_y) | y_bin
        # import/export binaries on steps that merge into runs are counted per run instead
        count = y_bin & ~z_bin & self._countable(upper)
        runs = self._runs(upper, z_bin | (y_bin & ~count), has_y, count)
        lp, cuts = self._run_lp(runs, upper)
        first = runs.first
        zs = np.flatnonzero(z_bin[first]).astype(np.int64)
        ys = np.flatnonzero((has_y & ~count)[first]).astype(np.int64)
        y_integer = y_bin[first[ys]]
        counted_runs = np.flatnonzero(count[first]).astype(np.int64)
        integer = int(zs.size) + int(y_integer.sum()) + int(counted_runs.size)
        solver = (new_milp_solver(capped=self.capped) if integer
                  else new_lp_solver(self.presolve))
        solver.setOptionValue("time_limit", max(float(time_left_s), 1.0))
        solver.setOptionValue("mip_rel_gap", MIP_REL_GAP)
        solver.setOptionValue("mip_abs_gap", MIP_ABS_GAP)
        solver.passModel(lp.highs_lp(z_steps=zs, y_steps=ys, y_integer=y_integer))
        solver.addRows(cuts.count, cuts.lower, cuts.upper, int(cuts.index.size), cuts.start,
                       cuts.index, cuts.value)
        start = self.start
        if relaxed and not fixed and start is not None and np.array_equal(start.first, first):
            # HiGHS checks the basis against the model and starts from scratch if it does not
            # fit; one that fits leaves out its presolve too.
            solver.setBasis(start.basis)
        counted = None
        if counted_runs.size:
            counted, col_lo, col_hi, rows = counted_rows(
                lp, lp.upper, counted_runs, runs.length[counted_runs],
                lp.ncol + int(zs.size) + int(ys.size))
            q = counted.count
            solver.addCols(3 * q, np.zeros(3 * q), col_lo, col_hi, 0,
                           np.zeros(3 * q, dtype=np.int32), np.zeros(0, dtype=np.int32),
                           np.zeros(0))
            solver.changeColsIntegrality(
                q, (counted.offset + 2 * q + np.arange(q)).astype(np.int32),
                np.full(q, int(highspy.HighsVarType.kInteger), dtype=np.uint8))
            solver.addRows(rows.count, rows.lower, rows.upper, int(rows.index.size), rows.start,
                           rows.index, rows.value)
        status = run_lp(solver)
        info = solver.getInfo()
        if status == highspy.HighsModelStatus.kTimeLimit:
            has_x = info.primal_solution_status == _FEASIBLE and integer > 0
            raise SolveTimeLimit(
                self._spread(runs, lp, np.asarray(solver.getSolution().col_value,
                                                  dtype=np.float64), counted) if has_x else None,
                float(info.mip_dual_bound) if integer else -np.inf,
                float(solver.getRunTime()),
            )
        if status != highspy.HighsModelStatus.kOptimal:
            raise GridpilotError(
                f"the optimum did not solve: {solver.modelStatusToString(status)}"
            )
        x = self._spread(runs, lp, np.asarray(solver.getSolution().col_value, dtype=np.float64),
                         counted)
        value = float(info.objective_function_value)
        bound = float(info.mip_dual_bound) if integer else value
        if relaxed and not fixed:
            self._warm = _Warm(runs, lp.upper[:5 * runs.count].copy(), solver, lp.running)
            if self.relaxation is None:
                self.relaxation = RelaxationBasis(first.copy(), solver.getBasis())
        return x, min(bound, value), float(solver.getRunTime())

    def fixed_upper(
        self, fix_z: npt.NDArray[np.int8] | None, fix_y: npt.NDArray[np.int8] | None
    ) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
        """The column bounds with the directions ``fix_z``/``fix_y`` fixed (see :meth:`solve`),
        and the steps whose grid direction is still free."""
        upper = self.lp.upper
        free_y = np.ones(self.n, dtype=bool)
        if fix_z is None and fix_y is None:
            return upper, free_y
        upper = upper.copy()
        caps = self.lp.columns(upper)
        if fix_z is not None:
            caps.discharge_w[fix_z == 1] = 0.0
            caps.charge_w[fix_z == 0] = 0.0
        if fix_y is not None:
            caps.export_w[fix_y == 1] = 0.0
            caps.import_w[fix_y == 0] = 0.0
            free_y = fix_y < 0
        return upper, free_y

    def _warm_solve(self, upper: FloatArray,
                    time_left_s: float) -> tuple[FloatArray, float, float] | None:
        """The relaxation with the directions in ``upper`` fixed, solved by changing the column
        bounds of the kept relaxation (:class:`_Warm`) so that HiGHS starts from its last basis;
        ``None`` when none is kept or the fixed bounds split the steps into other runs. It is
        the programme :meth:`solve` builds for the same directions, except that a step whose
        import or export is fixed keeps its relaxed ``y``, which the zero cap makes redundant."""
        warm = self._warm
        if warm is None:
            return None
        n = self.n
        none = np.zeros(n, dtype=bool)
        runs = self._runs(upper, none, self.may_trade, none)
        if not np.array_equal(runs.first, warm.runs.first):
            return None
        m = runs.count
        cols = (np.arange(5)[:, None] * n + runs.first[None, :]).ravel()
        idx = np.flatnonzero(upper[cols] != warm.upper)
        solver = warm.solver
        if idx.size:
            solver.changeColsBounds(int(idx.size), idx.astype(np.int32),
                                    self.lp.lower[cols[idx]], upper[cols[idx]])
            warm.upper[idx] = upper[cols[idx]]
        solver.setOptionValue("time_limit", max(float(time_left_s), 1.0))
        wall0 = time.perf_counter()
        status = run_lp(solver)
        secs = time.perf_counter() - wall0
        if status == highspy.HighsModelStatus.kTimeLimit:
            raise SolveTimeLimit(None, -np.inf, secs)
        if status != highspy.HighsModelStatus.kOptimal:
            raise GridpilotError(
                f"the optimum did not solve: {solver.modelStatusToString(status)}"
            )
        got = np.asarray(solver.getSolution().col_value, dtype=np.float64)
        shape = LPColumns(n=m, nm=self.nm, cost=_EMPTY, lower=_EMPTY, upper=_EMPTY,
                          running=warm.running)
        x = self._spread(runs, shape, got, None)
        return x, float(solver.getInfo().objective_function_value), secs

    def _countable(self, upper: FloatArray) -> npt.NDArray[np.bool_]:
        """Steps whose import/export binary may be counted over a run (:mod:`gridpilot.lp.runs`):
        no demand charge (a count bounds the run's average import, not each step's), and
        energy bounds at least one importing and one exporting step's energy apart."""
        n, s = self.n, self.storage
        if self.nm:
            return np.zeros(n, dtype=bool)
        most_kwh = self.h / 1000.0 * max(s.charge_w * s.charge_efficiency,
                                         s.discharge_w / s.discharge_efficiency)
        return np.asarray(upper[4 * n:5 * n] - self.lp.lower[4 * n:5 * n] >= 2.0 * most_kwh)

    def _runs(self, upper: FloatArray, binary: npt.NDArray[np.bool_],
              has_y: npt.NDArray[np.bool_], count: npt.NDArray[np.bool_]) -> Runs:
        """The runs of steps that are the same programme (:mod:`gridpilot.lp.runs`): equal
        data, costs and bounds, equal energy bounds on the step before, no binary (a counted
        run holds only counted steps)."""
        n, lp = self.n, self.lp
        e_lo, e_hi = lp.lower[4 * n:5 * n], upper[4 * n:5 * n]
        # the energy before the first step is e0 itself: it shares the first step's bounds
        # only where it lies within them
        e0_in = bool(n) and bool(e_lo[0] <= self.e0_kwh <= e_hi[0])
        lo_before = np.concatenate(([e_lo[0] if e0_in else self.e0_kwh], e_lo[:-1]))
        hi_before = np.concatenate(([e_hi[0] if e0_in else self.e0_kwh], e_hi[:-1]))
        keys: list[npt.NDArray[np.generic]] = [
            self.net, self.import_price, self.export_price, has_y, count, self.cut_at,
            lo_before, hi_before,
            np.where(binary, np.arange(1, n + 1), 0),
        ]
        keys += [col[k * n:(k + 1) * n] for col in (lp.cost, lp.lower, upper) for k in range(5)]
        if self.month_idx is not None:
            keys.append(self.month_idx)
        if self.own_runs:
            keys.append(np.arange(n))
        return equal_runs(keys, n)

    def _run_lp(self, runs: Runs, upper: FloatArray) -> tuple[BatteryLP, Rows]:
        """The programme with one step per run, its bounds those of the run's steps, and the
        direction cuts where trading may pay."""
        first, n = runs.first, self.n
        lp = build_battery_lp(
            Horizon(self.h * runs.length.astype(np.float64), self.net[first],
                    self.import_price[first], self.export_price[first]),
            self.storage,
            self.e0_kwh,
            self.grid,
            self._costs(None if self.month_idx is None else self.month_idx[first]),
        )
        cuts = direction_cuts(lp, self.net[first], np.flatnonzero(self.cut_at[first]))
        cols = (np.arange(5)[:, None] * n + first[None, :]).ravel()
        m = runs.count
        lp.lower[:5 * m] = self.lp.lower[cols]
        lp.upper[:5 * m] = upper[cols]
        return lp, cuts

    def _spread(self, runs: Runs, lp: BatteryLP | LPColumns, x_runs: FloatArray,
                counted: Counted | None) -> FloatArray:
        """A solution of the programme over runs (:meth:`_run_lp`) on every step; a counted
        run's steps each import or export (:func:`order_counted`)."""
        x = np.empty(self.ncol)
        sol, got = self.lp.columns(x), lp.columns(x_runs[: lp.ncol])
        sol.charge_w[:] = runs.spread(got.charge_w)
        sol.discharge_w[:] = runs.spread(got.discharge_w)
        sol.import_w[:] = runs.spread(got.import_w)
        sol.export_w[:] = runs.spread(got.export_w)
        sol.stored_kwh[:] = runs.spread_energy(got.stored_kwh, self.e0_kwh)
        sol.peak_w[:] = got.peak_w
        if counted is None:
            return x
        s, hk = self.storage, self.h / 1000.0
        c1_all, d1_all, m_all = counted.columns(x_runs)
        flows_all = np.column_stack((got.charge_w, got.discharge_w, got.import_w, got.export_w))
        for j, r in enumerate(counted.runs.tolist()):
            k, a = int(runs.length[r]), int(runs.first[r])
            m = min(max(round(float(m_all[j])), 0), k)
            c, d, i, e = flows_all[r] * k
            c1, d1 = float(c1_all[j]) * k, float(d1_all[j]) * k
            importing = np.array([c1, d1, i, 0.0]) / max(m, 1)
            exporting = np.array([c - c1, d - d1, 0.0, e]) / max(k - m, 1)
            gains = [hk * (s.charge_efficiency * f[0] - f[1] / s.discharge_efficiency)
                     for f in (importing, exporting)]
            before = self.e0_kwh if a == 0 else float(sol.stored_kwh[a - 1])
            flows, stored = order_counted(
                k, m, importing, exporting, gains[0], gains[1], before,
                float(self.lp.lower[4 * self.n + a]), float(lp.upper[4 * lp.n + r]))
            sol.charge_w[a:a + k], sol.discharge_w[a:a + k] = flows[:, 0], flows[:, 1]
            sol.import_w[a:a + k], sol.export_w[a:a + k] = flows[:, 2], flows[:, 3]
            sol.stored_kwh[a:a + k] = stored
        return x

    def value(self, x: FloatArray) -> float:
        """The programme's objective at ``x``: bill + wear where no step does both."""
        return float(self.lp.cost @ x[: self.ncol])

    def repair(self, x: FloatArray) -> FloatArray | None:
        """A schedule the battery can run, near the relaxed ``x``: every step where trading may
        pay gets the direction of its net grid flow, and every step that charges and discharges
        the direction of its net stored energy (netting the two at the same stored energy
        only moves AC power toward the grid, which never costs more where no price is
        negative and no export limit binds: there the repair keeps the relaxation's cost and
        proves it optimal). The LP is solved again with those directions, and again for steps
        that still do both; ``None`` when that fails."""
        p = self.params
        fix_z = np.full(self.n, -1, dtype=np.int8)
        fix_y = np.full(self.n, -1, dtype=np.int8)
        none = np.zeros(self.n, dtype=bool)
        cur = x
        for _ in range(_REPAIR_PASSES):
            sol = self.lp.columns(cur)
            both_bat, _ = self.both(cur)
            stored = p.charge_efficiency * sol.charge_w - sol.discharge_w / p.discharge_efficiency
            fix_z[both_bat] = np.where(stored[both_bat] >= 0.0, 1, 0)
            # y where trading may pay; elsewhere netting import against export never costs more
            fix_y[self.may_trade] = np.where(
                sol.import_w[self.may_trade] >= sol.export_w[self.may_trade], 1, 0
            )
            try:
                # netting a step's flows keeps its stored energy: ``cur`` passes through
                cur, _, _ = self.solve(none, none, LP_MIN_S, fix_z=fix_z, fix_y=fix_y,
                                       through_kwh=sol.stored_kwh)
            except (GridpilotError, SolveTimeLimit):
                return None
            if not does_both(self, cur):
                return cur
        return None

    def both(self, x: FloatArray) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Steps whose solution charges and discharges, and steps that import and export."""
        sol = self.lp.columns(x)
        both_bat = np.minimum(sol.charge_w, sol.discharge_w) > BOTH_W
        both_grid = self.may_trade & (np.minimum(sol.import_w, sol.export_w) > BOTH_W)
        return both_bat, both_grid

    def result(
        self, x: FloatArray, bound: float, solve_s: float, binary_steps: int, rounds: int,
        *, timed_out: bool = False,
    ) -> OptimumResult:
        p, h = self.params, self.h
        sol = self.lp.columns(x)
        battery_w = sol.discharge_w - sol.charge_w
        grid_w = self.net - battery_w
        import_w = np.maximum(grid_w, 0.0)
        export_w = np.maximum(-grid_w, 0.0)
        soc = replay_soc_pct(battery_w, self.step_s, p, self.initial_soc_pct)
        if soc.size and (
            soc.min() < p.min_soc_pct - _SOC_TOL_PCT or soc.max() > p.max_soc_pct + _SOC_TOL_PCT
        ):
            raise GridpilotError(
                f"the optimum's schedule leaves the SOC range {p.min_soc_pct:g}-"
                f"{p.max_soc_pct:g} % when replayed ({soc.min():.6f}-{soc.max():.6f} %)"
            )
        bill = float(
            (import_w * self.import_price - export_w * self.export_price).sum() * h / 1000.0
        )
        if self.nm and self.month_idx is not None:
            peaks = np.zeros(self.nm)
            np.maximum.at(peaks, self.month_idx, import_w)
            bill += float(peaks.sum()) / 1000.0 * self.demand_charge_per_kw
        wear = float(np.maximum(battery_w, 0.0).sum() * h / 1000.0 * p.cycle_cost_per_kwh)
        return OptimumResult(
            battery_w=battery_w,
            grid_w=grid_w,
            import_w=import_w,
            export_w=export_w,
            soc_pct=soc,
            objective=bill + wear,
            bill=bill,
            wear=wear,
            objective_bound=min(bound, bill + wear),
            solve_s=solve_s,
            binary_steps=binary_steps,
            rounds=rounds,
            timed_out=timed_out,
        )
