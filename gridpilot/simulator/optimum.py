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
``z``/``y`` relaxed to [0, 1], make binary the steps whose solution charges and discharges at
once and, as soon as one step imports and exports at once, every step where trading may pay;
solve again, and repeat until no step does both. Each round is a relaxation of the exact problem,
so its bound is a lower bound on every schedule; the last round's schedule is also one the battery
can run, so it is the exact optimum up to the MILP's gap tolerance, and that gap is reported.
``y`` exists only where export pays more than import: elsewhere netting import against export
never costs more. The trading binaries come all at once because one round at a time, the
relaxation moved its trade to another step of about the same value round after round: a month
at 30 minutes took 3 to 8 MILPs, each about as dear as the one with every trading binary (HiGHS
spends a month's MILP at its root node, whatever the number of binaries). Over the 24 months of
2018 with and without a demand charge (the Agile example's battery), all at once took 11.6 s of
CPU instead of 35.9 s, none of them more than 1.1 s, to the same bills and bounds
(``python benchmarks/bench_optimum.py --months all``).

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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.engine.battery import BatteryParams
from gridpilot.errors import GridpilotError
from gridpilot.lp.battery import Columns
from gridpilot.simulator.accounting import SiteSeries, month_index
from gridpilot.simulator.optimum_blocks import BlockModel, use_blocks
from gridpilot.simulator.optimum_model import (
    BOTH_W,
    LP_MIN_S,
    MIP_ABS_GAP,
    MIP_REL_GAP,
    OptimumModel,
    OptimumResult,
    RelaxationBasis,
    SolveTimeLimit,
    does_both,
    replay_soc_pct,
)

__all__ = ["OptimumResult", "replay_soc_pct", "savings_captured", "solve_optima",
           "solve_optimum"]



_log = logging.getLogger(__name__)

_MAX_ROUNDS = 8
"""After this many lazy rounds every step that could still do both gets its binary at once, so
a pathological case costs one bigger MILP, not a round per step."""
_EXACT_STEPS = 1500
"""Up to this many steps (a month at 30 minutes) the lazy MILP runs over the whole horizon."""
_WINDOW_PAD_S = 43200
"""Time either side of a step that does both, in its window MILP [s]."""
_WINDOW_MAX_S = 1.0
"""The most time one window's MILP gets [s] (1 s is the least any solve is given); it keeps the best
schedule it found (the gap is reported as ever). On minutes that do not repeat, a half-hour price
held over thirty different minutes gives many schedules of equal cost, and one such window took
215 s of a 90-day optimum whose other windows took 0.4 s each. Over a year of recorded minutes
(``bench_optimum.py --real-minutes``), 1 s instead of 2 s took 143 s of CPU instead of 190 s, for
a gap of 0.012 GBP instead of 0.011 (5 s had taken 263 s on another day); the Economy 7 example on
the UCI home's 26 days of minutes 73 s instead of 111 s, for 0.0047 GBP instead of 0.0042 (all
with HiGHS's two workers, before :func:`gridpilot.solver.scheduler_threads` gave it one)."""
_WINDOW_MAX_STEPS = 576
"""The longest window MILP (two days at 5 minutes): nightly trading steps 24 h apart would
otherwise merge into one window as long as the horizon."""




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
    return _solve(site, params, initial_soc_pct, max_export_w, time_limit_s, None)[0]


def solve_optima(
    site: SiteSeries,
    cases: Sequence[tuple[BatteryParams, float]],
    *,
    max_export_w: float | None = None,
    time_limit_s: float = 60.0,
) -> list[OptimumResult]:
    """:func:`solve_optimum` of each case (a battery and its starting SOC) on ``site``, in turn,
    each with its own ``time_limit_s``. Each relaxation after the first starts from the basis
    the one before ended on (:class:`~gridpilot.simulator.optimum_model.RelaxationBasis`), so
    cases that differ only in their floor and starting SOC, as a backtest's two optima do, pay
    for one relaxation solved from scratch."""
    out: list[OptimumResult] = []
    start: RelaxationBasis | None = None
    for params, initial_soc_pct in cases:
        res, relaxation = _solve(site, params, initial_soc_pct, max_export_w, time_limit_s,
                                 start)
        start = relaxation or start
        out.append(res)
    return out


def _solve(site: SiteSeries, params: BatteryParams, initial_soc_pct: float,
           max_export_w: float | None, time_limit_s: float,
           start: RelaxationBasis | None) -> tuple[OptimumResult, RelaxationBasis | None]:
    month_idx = None
    if site.bill.demand_charge_per_kw > 0:
        month_idx, _ = month_index(site.start_s, site.tz)
    model = OptimumModel(site, params, initial_soc_pct, month_idx=month_idx,
                         max_export_w=max_export_w)
    clock = _Clock(time_limit_s)
    exact = model.n <= _EXACT_STEPS
    if not exact and model.nm == 0 and use_blocks(_relaxation_runs(model)):
        model = BlockModel(site, params, initial_soc_pct, month_idx=month_idx,
                           max_export_w=max_export_w)
    model.start = start
    found = _lazy_exact(model, clock) if exact else _by_windows(model, clock)
    res = model.result(found.x, found.bound, clock.solve_s, found.binaries, found.rounds,
                       timed_out=found.timed_out)
    if found.timed_out:
        _log.warning(
            "the optimum stopped at its %g s time limit: its schedule costs %.4f, at most %.4f "
            "above the best possible (proven bound %.4f)",
            time_limit_s, res.objective, res.gap, res.objective_bound,
        )
    return res, model.relaxation


@dataclass
class _Clock:
    limit_s: float
    solve_s: float = 0.0

    def left(self) -> float:
        return self.limit_s - self.solve_s


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

    model: OptimumModel
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
        return self.x is not None and self.value - self.bound <= MIP_ABS_GAP + MIP_REL_GAP * abs(
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
    model: OptimumModel, clock: _Clock, *, all_y: bool = False, repair: bool = True
) -> _Found:
    """The lazy loop of the module docstring. ``all_y`` starts with a binary on every step where
    trading may pay (cheaper than rounds on a short window). Between rounds the relaxed schedule
    is repaired into one the battery can run (:meth:`OptimumModel.repair`): where that costs no more
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
        except SolveTimeLimit as stop:
            clock.solve_s += stop.solve_s
            best.bound = max(best.bound, stop.bound)
            best.offer(stop.x if stop.x is not None and not does_both(model, stop.x) else None)
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
        if new_y.any():
            # One step trades: every step where trading may pay gets its binary now, not one
            # round at a time (the module docstring says why).
            new_y = model.may_trade & ~y_bin
        z_bin |= new_z
        y_bin |= new_y



def _by_windows(model: OptimumModel, clock: _Clock) -> _Found:
    """A long horizon: a MILP over all of it is too slow, so each step that does both at once
    gets its direction from an exact MILP over a window around it (its ends held at the current
    solution's SOC, its imports under the current monthly peaks), and then the whole horizon is
    solved again as an LP with those directions fixed. Repeat until no step does both. The
    first LP's value stays the lower bound; the gap to it is reported. The repaired relaxation
    (:meth:`OptimumModel.repair`) is the fallback when time runs out, and the answer outright
    when it costs no more than the bound."""
    n = model.n
    fix_z = np.full(n, -1, dtype=np.int8)
    fix_y = np.full(n, -1, dtype=np.int8)
    none = np.zeros(n, dtype=bool)
    best = _Best(model)
    # On data that mostly does not repeat, runs save little, and a run that the windows fix
    # unevenly would make every fixed re-solve a new model instead of the relaxation's
    # (:meth:`OptimumModel._warm_solve`): every step is its own run there.
    model.own_runs = _relaxation_runs(model) > n // 2
    try:
        x, bound, secs = model.solve(none, none, max(clock.left(), LP_MIN_S))
    except SolveTimeLimit as stop:
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
        if not does_both(model, x):
            best.offer(x)
            return best.found(binaries, rounds, timed_out=clock.left() <= 0 and not best.proven())
        if rounds > _MAX_ROUNDS or clock.left() <= 0:
            # out of rounds or time with steps still doing both: the repaired schedule is the
            # answer (one more LP, which is why it is not solved on every round)
            best.offer(model.repair(x))
            return best.found(binaries, rounds, timed_out=clock.left() <= 0)
        both_bat, both_grid = model.both(x)
        spans = _windows(np.flatnonzero(both_bat | both_grid), n, pad, _WINDOW_MAX_STEPS)
        # x with each window's schedule in place: it obeys every direction fixed below
        through = model.lp.columns(x).stored_kwh.copy()
        for w, (a, b) in enumerate(spans):
            if clock.left() <= 0:
                break
            sub = model.window(a, b, x)
            # an equal share of the time left to each window still to solve, so that one
            # window whose MILP is hard (price ties make many equal schedules) cannot take it all
            share = _Clock(min(clock.left() / (len(spans) - w), _WINDOW_MAX_S))
            try:
                got = _lazy_exact(sub, share, all_y=True, repair=False)
            except GridpilotError:
                continue  # no schedule for this window in its share: its steps stay free
            finally:
                clock.solve_s += share.solve_s
            binaries += got.binaries
            sol = sub.lp.columns(got.x)
            through[a:b] = sol.stored_kwh
            _fix_directions(sol, fix_z[a:b], fix_y[a:b], model.may_trade[a:b],
                            both_bat[a:b], both_grid[a:b])
        rounds += 1
        try:
            x, _, secs = model.solve(none, none, LP_MIN_S, fix_z=fix_z, fix_y=fix_y,
                                     through_kwh=through)
        except SolveTimeLimit as stop:
            clock.solve_s += stop.solve_s
            best.offer(model.repair(x))
            return best.found(binaries, rounds, timed_out=True)
        clock.solve_s += secs


def _relaxation_runs(model: OptimumModel) -> int:
    """How many runs of equal steps the relaxation merges ``model``'s steps into."""
    none = np.zeros(model.n, dtype=bool)
    return model._runs(model.lp.upper, none, model.may_trade, none).count


def _fix_directions(sol: Columns, fix_z: npt.NDArray[np.int8], fix_y: npt.NDArray[np.int8],
                    trade: npt.NDArray[np.bool_], both_bat: npt.NDArray[np.bool_],
                    both_grid: npt.NDArray[np.bool_]) -> None:
    """Fix (in place) the directions a window's schedule ``sol`` takes: each step's battery
    direction where it charges or discharges, its grid direction where trading may pay and it
    imports or exports. A step that did both before and where the window idles is fixed too
    (charge only, import only: idling obeys either), or the next LP could do both there again
    and the same window come back round after round."""
    c, d, i, e = sol.charge_w, sol.discharge_w, sol.import_w, sol.export_w
    fix_z[:] = np.where(c > BOTH_W, 1, np.where(d > BOTH_W, 0, fix_z))
    fix_y[:] = np.where(trade & (i > BOTH_W), 1, np.where(trade & (e > BOTH_W), 0, fix_y))
    fix_z[both_bat & (c <= BOTH_W) & (d <= BOTH_W)] = 1
    fix_y[both_grid & (i <= BOTH_W) & (e <= BOTH_W)] = 1


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


def savings_captured(baseline_bill: float, policy_bill: float, optimal_bill: float) -> float | None:
    """``(baseline - policy) / (baseline - optimal)``; ``None`` when the optimum saves nothing.
    Pass costs (bill + wear) on all three sides, or bills on all three: never a mix."""
    possible = baseline_bill - optimal_bill
    if possible <= 1e-9:
        return None
    return (baseline_bill - policy_bill) / possible
