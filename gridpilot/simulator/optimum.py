"""The perfect-foresight optimum: the lowest cost any controller could reach on the same data.

Cost is the bill (energy and demand charges; the standing charge is the same for every schedule)
plus wear (``cycle_cost_per_kwh`` per AC kWh discharged): the battery programme of
:mod:`gridpilot.lp.battery` over the whole data, with the wear as the discharge cost, the demand
charge on each calendar month's peak import, no value on the energy left at the end, and the
battery free to export up to its full power (within the site's export limit).

A battery cannot charge and discharge in the same step, and a meter does not import and export at
once. Without the binaries ``z``/``y`` the programme is a relaxation that may do both: it wastes
energy through the battery's losses where energy is worth less than nothing (negative prices, a
full battery) and trades import against export where export pays more than import costs. Making
every step binary would turn a year into a slow MILP, so the binaries are added lazily: solve with
``z``/``y`` relaxed to [0, 1], make binary only the steps whose solution does both, solve again,
and repeat until no step does. Each round is a relaxation of the exact problem, so its bound is a
lower bound on every schedule; the last round's schedule is also one the battery can run, so it is
the exact optimum up to the MILP's gap tolerance, and that gap is reported. ``y`` exists only
where export pays more than import: elsewhere netting import against export never costs more.

Where export pays more than import, valid cuts (:func:`gridpilot.lp.battery.direction_cuts`)
forbid exporting more than the battery discharges past the load (importing more than it charges
past the PV surplus): they hold for every runnable schedule and remove most of the relaxation's
free trade, so its bound is tight and few binaries are needed. Between rounds the relaxed
schedule is repaired into a runnable one (directions fixed by its net flows, then an LP); where
that costs no more than the bound, it is the optimum without a MILP. Where many schedules cost
the same (a flat tariff whose export pays more than its night import), the MILP can take very
long to prove what it has found: when the time limit runs out, the best runnable schedule found
is returned with the best proven bound, and the gap between them is reported, never an error.

Every programme is solved over runs of consecutive steps with the same data
(:mod:`gridpilot.lp.runs`), each run one step of the LP: exact, and what makes a 5- or 1-minute
year (data resampled from half-hours) cost about what the half-hourly year does. A step with a
binary stays a step of its own, except that import/export binaries over a run are counted by one
integer per run (how many of its steps import), where there is no demand charge and the energy
bounds leave room to order the steps; that is exact too and avoids a MILP over interchangeable
binaries. The relaxation with directions fixed (the repair, the windows' last LP) is that
relaxation's HiGHS model with some column bounds set to zero, so it is solved in place from the
relaxation's last basis wherever the steps still fall into the same runs; that is the same
programme, and on data that does not repeat (recorded minutes) it makes each re-solve a small
fraction of the first.

The end state is free, as it is for a replayed policy. The schedule is reported as the net
battery power per step, and its SOC is that power replayed through the battery model's equations
(:mod:`gridpilot.engine.battery`): nothing is clipped.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

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
from gridpilot.simulator.accounting import SiteSeries, month_index
from gridpilot.solver import new_highs

__all__ = ["OptimumResult", "replay_soc_pct", "savings_captured", "solve_optimum"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_log = logging.getLogger(__name__)

_BOTH_W = 1e-3
"""A step whose charge and discharge (or import and export) both exceed this does both at once.
Far above the solver's tolerances, far below anything a meter shows."""
_MAX_ROUNDS = 8
"""After this many lazy rounds every step that could still do both gets its binary at once, so
a pathological case costs one bigger MILP, not a round per step."""
_MIP_REL_GAP = 1e-6
_MIP_ABS_GAP = 1e-6
"""Currency units: the optimum's cost is exact to far below what a bill shows."""
_FEASIBLE = 2
"""HiGHS's ``primal_solution_status`` of a feasible point (kSolutionStatusFeasible)."""
_SOC_TOL_PCT = 1e-6
"""How far the replayed SOC may stray past its bounds by float rounding before it is an error."""
_EXACT_STEPS = 1500
"""Up to this many steps (a month at 30 minutes) the lazy MILP runs over the whole horizon."""
_WINDOW_PAD_S = 43200
"""Time either side of a step that does both, in its window MILP [s]."""
_WINDOW_MAX_STEPS = 576
"""The longest window MILP (two days at 5 minutes): nightly trading steps 24 h apart would
otherwise merge into one window as long as the horizon."""
_LP_MIN_S = 1800.0
"""Time granted to the long horizon's relaxation and to an LP that turns a found schedule into a
runnable one, even past the limit: an LP always finishes (a demand charge over a 5-minute year
takes minutes on a small machine), and without it the limit could leave no bound or no runnable
schedule at all. Only the MILPs stop at the limit."""
_REPAIR_PASSES = 4
_PRIMAL_TOL = 1e-9
"""How far HiGHS may leave a bound [kWh, W], in LPs and MILPs: its defaults (1e-7 and 1e-6) let
a full battery's stored energy pass its top by 1e-7 kWh, 2e-6 % of a 5 kWh battery, more than
the SOC check allows."""
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
    """Steps that needed a direction binary (the rest were proven not to need one)."""
    rounds: int = 1
    """Solves of the lazy loop (module docstring)."""
    timed_out: bool = False
    """The time limit stopped the search: the schedule is runnable but only proven within
    :attr:`gap` of the optimum."""

    @property
    def gap(self) -> float:
        """How much cheaper than this schedule any schedule could possibly be [currency]."""
        return max(0.0, self.objective - self.objective_bound)


def solve_optimum(
    site: SiteSeries,
    params: BatteryParams,
    initial_soc_pct: float,
    *,
    max_export_w: float | None = None,
    time_limit_s: float = 60.0,
) -> OptimumResult:
    """Solve the programme in the module docstring on ``site``'s steps, loads, prices and
    demand charge (billed on each calendar month's peak in ``site.tz``); ``max_export_w`` is the
    site's export limit, which the battery may not push export past. When ``time_limit_s`` of
    solving runs out, the best schedule found so far is returned with its proven bound (a
    warning is logged and :attr:`OptimumResult.timed_out` is set): a backtest never fails on
    time."""
    month_idx = None
    if site.bill.demand_charge_per_kw > 0:
        month_idx, _ = month_index(site.start_s, site.tz)
    model = _Model(site, params, initial_soc_pct, month_idx=month_idx, max_export_w=max_export_w)
    clock = _Clock(time_limit_s)
    exact = model.n <= _EXACT_STEPS
    found = _lazy_exact(model, clock) if exact else _by_windows(model, clock)
    res = model.result(found.x, found.bound, clock.solve_s, found.binaries, found.rounds,
                       timed_out=found.timed_out)
    if found.timed_out:
        _log.warning(
            "the optimum stopped at its %g s time limit: its schedule costs %.4f, at most %.4f "
            "above the best possible (proven bound %.4f)",
            time_limit_s, res.objective, res.gap, res.objective_bound,
        )
    return res


@dataclass
class _Clock:
    limit_s: float
    solve_s: float = 0.0

    def left(self) -> float:
        return self.limit_s - self.solve_s


class _TimeLimit(Exception):
    """A solve stopped at its time limit: its best schedule (``None`` if it found none) and the
    lower bound it proved."""

    def __init__(self, x: FloatArray | None, bound: float, solve_s: float) -> None:
        super().__init__("time limit")
        self.x, self.bound, self.solve_s = x, bound, solve_s


@dataclass
class _Found:
    """A schedule the battery can run (no step does both at once) and what is known of it."""

    x: FloatArray
    bound: float
    binaries: int
    rounds: int
    timed_out: bool = False


@dataclass
class _Best:
    """The cheapest runnable schedule seen so far and the highest proven lower bound."""

    model: _Model
    bound: float = -np.inf
    x: FloatArray | None = None
    value: float = np.inf

    def offer(self, x: FloatArray | None) -> None:
        if x is None:
            return
        value = self.model.value(x)
        if value < self.value:
            self.x, self.value = x, value

    def proven(self) -> bool:
        """The best schedule is within the MILP tolerance of the bound: it is the optimum."""
        return self.x is not None and self.value - self.bound <= _MIP_ABS_GAP + _MIP_REL_GAP * abs(
            self.value
        )

    def found(self, binaries: int, rounds: int, *, timed_out: bool) -> _Found:
        if self.x is None:
            raise GridpilotError(
                "the optimum found no schedule the battery can run within its time limit; "
                "raise the limit or shorten the backtest (--from/--to)"
            )
        return _Found(self.x, min(self.bound, self.value), binaries, rounds, timed_out)


def _lazy_exact(
    model: _Model, clock: _Clock, *, all_y: bool = False, repair: bool = True
) -> _Found:
    """The lazy loop of the module docstring. ``all_y`` starts with a binary on every step where
    trading may pay (cheaper than rounds on a short window). Between rounds the relaxed schedule
    is repaired into one the battery can run (:meth:`_Model.repair`): where that costs no more
    than the bound, it is the optimum and no MILP is needed. On the time limit, the best
    schedule so far comes back with ``timed_out`` set. ``repair`` off skips the repair between
    rounds (a window's MILP is short; the repair LPs would cost more than they save)."""
    n = model.n
    z_bin = np.zeros(n, dtype=bool)
    y_bin = model.may_trade.copy() if all_y else np.zeros(n, dtype=bool)
    best = _Best(model)
    rounds = 0
    while True:
        rounds += 1
        binaries = int(z_bin.sum() + y_bin.sum())
        try:
            x, bound, secs = model.solve(z_bin, y_bin, clock.left())
        except _TimeLimit as stop:
            clock.solve_s += stop.solve_s
            best.bound = max(best.bound, stop.bound)
            best.offer(stop.x if stop.x is not None and not _does_both(model, stop.x) else None)
            if best.x is None and stop.x is not None:
                best.offer(model.repair(stop.x))
            return best.found(binaries, rounds, timed_out=not best.proven())
        clock.solve_s += secs
        # every round is a relaxation of the exact problem: its bound holds for all schedules
        best.bound = max(best.bound, bound)
        both_bat, both_grid = model.both(x)
        new_z = both_bat & ~z_bin
        new_y = both_grid & ~y_bin
        if not both_bat.any() and not both_grid.any():
            best.offer(x)
            return best.found(binaries, rounds, timed_out=False)
        if repair:
            best.offer(model.repair(x))
            if best.proven():
                return best.found(binaries, rounds, timed_out=False)
        if rounds >= _MAX_ROUNDS:
            new_z = model.may_waste & ~z_bin
            new_y = model.may_trade & ~y_bin
            if not new_z.any() and not new_y.any():
                raise GridpilotError(
                    "the optimum did not converge: a step still charges and discharges (or "
                    "imports and exports) with every direction binary in place"
                )
        z_bin |= new_z
        y_bin |= new_y


def _does_both(model: _Model, x: FloatArray) -> bool:
    both_bat, both_grid = model.both(x)
    return bool(both_bat.any() or both_grid.any())


def _by_windows(model: _Model, clock: _Clock) -> _Found:
    """A long horizon: a MILP over all of it is too slow, so each step that does both at once
    gets its direction from an exact MILP over a window around it (its ends held at the current
    solution's SOC, its imports under the current monthly peaks), and then the whole horizon is
    solved again as an LP with those directions fixed. Repeat until no step does both. The
    first LP's value stays the lower bound; the gap to it is reported. The repaired relaxation
    (:meth:`_Model.repair`) is the fallback when time runs out, and the answer outright when it
    costs no more than the bound."""
    n = model.n
    fix_z = np.full(n, -1, dtype=np.int8)
    fix_y = np.full(n, -1, dtype=np.int8)
    none = np.zeros(n, dtype=bool)
    best = _Best(model)
    # On data that mostly does not repeat, runs save little, and a run that the windows fix
    # unevenly would make every fixed re-solve a new model instead of the relaxation's
    # (:meth:`_Model._warm_solve`): every step is its own run there.
    model.own_runs = model._runs(model.lp.upper, none, model.may_trade, none).count > n // 2
    try:
        x, bound, secs = model.solve(none, none, max(clock.left(), _LP_MIN_S))
    except _TimeLimit as stop:
        raise GridpilotError(
            "the optimum's linear relaxation did not solve within its time limit; raise the "
            "limit or shorten the backtest (--from/--to)"
        ) from stop
    clock.solve_s += secs
    best.bound = bound
    rounds = 1
    binaries = 0
    pad = max(2, round(_WINDOW_PAD_S / model.step_s))
    while True:
        if not _does_both(model, x):
            best.offer(x)
            return best.found(binaries, rounds, timed_out=clock.left() <= 0 and not best.proven())
        if rounds > _MAX_ROUNDS or clock.left() <= 0:
            # out of rounds or time with steps still doing both: the repaired schedule is the
            # answer (one more LP, which is why it is not solved on every round)
            best.offer(model.repair(x))
            return best.found(binaries, rounds, timed_out=clock.left() <= 0)
        both_bat, both_grid = model.both(x)
        spans = _windows(np.flatnonzero(both_bat | both_grid), n, pad, _WINDOW_MAX_STEPS)
        for w, (a, b) in enumerate(spans):
            if clock.left() <= 0:
                break
            sub = model.window(a, b, x)
            # an equal share of the time left to each window still to solve, so that one
            # window whose MILP is hard (price ties make many equal schedules) cannot take it all
            share = _Clock(clock.left() / (len(spans) - w))
            try:
                got = _lazy_exact(sub, share, all_y=True, repair=False)
            except GridpilotError:
                continue  # no schedule for this window in its share: its steps stay free
            finally:
                clock.solve_s += share.solve_s
            binaries += got.binaries
            sol = sub.lp.columns(got.x)
            c, d, i, e = sol.charge_w, sol.discharge_w, sol.import_w, sol.export_w
            fix_z[a:b] = np.where(c > _BOTH_W, 1, np.where(d > _BOTH_W, 0, fix_z[a:b]))
            trade = model.may_trade[a:b]
            fix_y[a:b] = np.where(
                trade & (i > _BOTH_W), 1, np.where(trade & (e > _BOTH_W), 0, fix_y[a:b])
            )
        rounds += 1
        try:
            x, _, secs = model.solve(none, none, _LP_MIN_S, fix_z=fix_z, fix_y=fix_y)
        except _TimeLimit as stop:
            clock.solve_s += stop.solve_s
            best.offer(model.repair(x))
            return best.found(binaries, rounds, timed_out=True)
        clock.solve_s += secs


def _windows(steps: IntArray, n: int, pad: int, most: int) -> list[tuple[int, int]]:
    """Merged ``[a, b)`` ranges of ``pad`` steps either side of each of ``steps``, none longer
    than ``most`` steps (a window as long as the horizon would be the slow MILP again)."""
    out: list[tuple[int, int]] = []
    for t in steps.tolist():
        a, b = max(0, t - pad), min(n, t + pad + 1)
        if out and a <= out[-1][1] and b - out[-1][0] <= most:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        elif not out or b > out[-1][1]:
            out.append((max(a, out[-1][1]) if out else a, b))
    return out


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


def savings_captured(baseline_bill: float, policy_bill: float, optimal_bill: float) -> float | None:
    """``(baseline - policy) / (baseline - optimal)``; ``None`` when the optimum saves nothing.
    Pass costs (bill + wear) on all three sides, or bills on all three: never a mix."""
    possible = baseline_bill - optimal_bill
    if possible <= 1e-9:
        return None
    return (baseline_bill - policy_bill) / possible


@dataclass
class _Warm:
    """The relaxation's HiGHS model, kept so that the same programme with directions fixed is
    solved from its basis: its runs and the bounds it holds on their columns."""

    runs: Runs
    upper: FloatArray
    solver: highspy.Highs


class _Model:
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
        # (:meth:`_run_lp`), so the long one's matrix is never built
        self.lp = lp = battery_columns(
            Horizon(np.full(n, self.h), net, self.import_price, self.export_price),
            self.storage,
            self.e0_kwh,
            self.grid,
            self._costs(month_idx),
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

    def window(self, a: int, b: int, x: FloatArray) -> _Model:
        """The steps ``a..b-1`` as a model of their own: it starts from the SOC that ``x`` has
        before ``a`` and must end on the SOC ``x`` has at ``b - 1`` (free at the horizon's end),
        and imports no more than ``x``'s monthly peaks, so that any schedule of it fits back
        into ``x`` without changing the rest. Its cost has no demand charge."""
        p = self.params
        sol = self.lp.columns(x)
        e_start = self.initial_soc_pct if a == 0 else sol.stored_kwh[a - 1] / p.capacity_kwh * 100
        sub = _Model(
            self.site.steps(a, b), p, float(min(max(e_start, p.min_soc_pct), p.max_soc_pct)),
            month_idx=None, max_export_w=self.max_export_w,
        )
        # a window's MILP is small: HiGHS's presolve costs more there than it saves (a
        # 5-minute year's windows: 2.9 -> 2.1 s)
        sub.presolve = "off"
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
    ) -> tuple[FloatArray, float, float]:
        """Solve with binaries on ``z_bin``/``y_bin`` (``y`` relaxed wherever trading may pay)
        and the directions ``fix_z`` (1 charge only, 0 discharge only, -1 free) and ``fix_y``
        (1 import only, 0 export only): the column values, the proven lower bound on the
        objective and the solve time."""
        upper = self.lp.upper
        free_y = np.ones(self.n, dtype=bool)
        fixed = fix_z is not None or fix_y is not None
        if fixed:
            upper = upper.copy()
            caps = self.lp.columns(upper)
            if fix_z is not None:
                caps.discharge_w[fix_z == 1] = 0.0
                caps.charge_w[fix_z == 0] = 0.0
            if fix_y is not None:
                caps.export_w[fix_y == 1] = 0.0
                caps.import_w[fix_y == 0] = 0.0
                free_y = fix_y < 0
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
        solver = new_highs(presolve=self.presolve)
        solver.setOptionValue("time_limit", max(float(time_left_s), 1.0))
        solver.setOptionValue("mip_rel_gap", _MIP_REL_GAP)
        solver.setOptionValue("mip_abs_gap", _MIP_ABS_GAP)
        solver.setOptionValue("primal_feasibility_tolerance", _PRIMAL_TOL)
        solver.setOptionValue("mip_feasibility_tolerance", _PRIMAL_TOL)
        solver.passModel(lp.highs_lp(z_steps=zs, y_steps=ys, y_integer=y_integer))
        solver.addRows(cuts.count, cuts.lower, cuts.upper, int(cuts.index.size), cuts.start,
                       cuts.index, cuts.value)
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
        solver.run()
        status = solver.getModelStatus()
        info = solver.getInfo()
        if status == highspy.HighsModelStatus.kTimeLimit:
            has_x = info.primal_solution_status == _FEASIBLE and integer > 0
            raise _TimeLimit(
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
            self._warm = _Warm(runs, lp.upper[:5 * runs.count].copy(), solver)
        return x, min(bound, value), float(solver.getRunTime())

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
        solver.run()
        secs = time.perf_counter() - wall0
        status = solver.getModelStatus()
        if status == highspy.HighsModelStatus.kTimeLimit:
            raise _TimeLimit(None, -np.inf, secs)
        if status != highspy.HighsModelStatus.kOptimal:
            raise GridpilotError(
                f"the optimum did not solve: {solver.modelStatusToString(status)}"
            )
        got = np.asarray(solver.getSolution().col_value, dtype=np.float64)
        shape = LPColumns(n=m, nm=self.nm, cost=_EMPTY, lower=_EMPTY, upper=_EMPTY)
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
                cur, _, _ = self.solve(none, none, _LP_MIN_S, fix_z=fix_z, fix_y=fix_y)
            except (GridpilotError, _TimeLimit):
                return None
            if not _does_both(self, cur):
                return cur
        return None

    def both(self, x: FloatArray) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Steps whose solution charges and discharges, and steps that import and export."""
        sol = self.lp.columns(x)
        both_bat = np.minimum(sol.charge_w, sol.discharge_w) > _BOTH_W
        both_grid = self.may_trade & (np.minimum(sol.import_w, sol.export_w) > _BOTH_W)
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
