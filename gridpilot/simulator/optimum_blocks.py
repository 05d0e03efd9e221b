"""The long horizon's linear programme solved block by block, exactly.

A relaxation over a year of recorded minutes is one simplex over millions of columns: HiGHS's
time for it grows faster than the horizon, and its memory passes a gigabyte and a half. Yet
consecutive blocks of steps (a day or so each) only meet in one number, the energy stored at
their boundary. So the programme is solved as a dynamic programme over that number:

* **Backward.** ``g_k(s)``, the least cost of blocks ``k..K-1`` starting with ``s`` kWh stored,
  is convex and piecewise linear in ``s`` (the value of a linear programme in its right-hand
  side). Block ``k``'s programme, with one more column ``theta >= a_j + b_j e_end`` carrying the
  tangents of ``g_{k+1}`` found before, is solved at the ends of the energy range and then, by
  the sandwich method, where two neighbouring tangents meet: the value there against the
  tangents' says whether a kink lies between them. Each solve gives a new tangent (its value,
  and as slope the dual of the row that fixes the starting energy). An interval is done once the
  value where its tangents meet exceeds them by at most :data:`TANGENT_TOL`; then the tangents
  are within that of ``g_k`` over the interval (a convex function that touches a line at two
  points lies on it between them).
* **Forward.** Block 0 is solved from the initial energy with ``g_1``'s tangents, its end energy
  starts block 1, and so on: each block's schedule is optimal for its start and the tangents of
  the rest.

Why it is exact: every tangent set lies below the true cost-to-go (the tangents of a function
that itself lies below it), so block 0's value is a lower bound on every schedule; the forward
schedule costs at most that bound plus :data:`TANGENT_TOL` per block. The bound and the
schedule's own cost are both reported, so the gap is shown, as for the rest of the optimum.
Memory is one block's model at a time; the warm re-solves of a block only move one row bound.

The search's later programmes (the windows' directions fixed, the repair) are the same
relaxation with some bounds at zero. They are solved block by block through a schedule that
obeys those bounds (the windows' schedules patched into the last one): each block ends where that
schedule has it and starts from the basis the relaxation left there, so a round costs a warm
solve per block, and only for the blocks whose bounds, start or end changed since they were
last solved (the others keep their last schedule, an optimum of the same programme). The
schedule is no worse than the one patched together, but optimal only within each block; the
relaxation's bound stays the bound, and the reported gap says how close the final schedule is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt

from gridpilot.arrays import FloatArray
from gridpilot.errors import GridpilotError
from gridpilot.simulator.optimum_highs import new_lp_solver, run_lp
from gridpilot.simulator.optimum_model import OptimumModel

__all__ = ["BLOCK_RUNS", "TANGENT_TOL", "BlockModel", "BlockPlan", "block_edges",
           "resolve_through", "solve_by_blocks", "use_blocks"]

BLOCK_RUNS = 2880
"""Runs of steps per block (two days of minutes that do not repeat): small enough that HiGHS's
time per block stays near linear, long enough that a block's tangents stay few."""
TANGENT_TOL = 1e-9
"""How far above its tangents a block's cost-to-go may lie where they meet [currency]."""
_DUAL_TOL = 1e-10
"""HiGHS's default (1e-7) is a sizeable share of a minute's cost per watt (about 2.5e-6 at
15 p/kWh), and a dual that far off is no tangent: a slope of a block's cost-to-go came out 5 %
steep, and the bound with it above the optimum."""
_MAX_POINTS = 200
"""Solves of one block's cost-to-go at most; past it the tangents found still bound it below
(only the gap can grow), so a pathological block costs time, never a wrong bound."""


_OPTIMAL = highspy.HighsModelStatus.kOptimal
_NO_VALUES = np.zeros(0)


def use_blocks(runs: int) -> bool:
    """Whether a programme over ``runs`` runs of steps is solved block by block: only where it
    would be several blocks long (a half-hourly year, which merges into runs, stays whole)."""
    return runs > 8 * BLOCK_RUNS


def block_edges(run_first: npt.NDArray[np.int64], n: int) -> list[int]:
    """Where the horizon is cut: block ``k`` is steps ``edges[k]..edges[k+1]-1``, each of
    :data:`BLOCK_RUNS` runs (cut at run starts, so no run is split; a short tail joins the
    block before it)."""
    edges = [*run_first[::BLOCK_RUNS].tolist(), n]
    if len(edges) > 2 and edges[-1] - edges[-2] < BLOCK_RUNS // 4:
        del edges[-2]
    return edges


def _block_cols(n: int, a: int, b: int) -> npt.NDArray[np.int64]:
    """The columns of steps ``a..b-1`` in a model of ``n`` steps (its five per-step groups)."""
    return (np.arange(5)[:, None] * n + np.arange(a, b)[None, :]).ravel()


@dataclass
class _Tangents:
    """Lines ``value + slope * (s - at)`` lying below a block's cost-to-go, and the optimal
    basis HiGHS reached at each ``at`` (the forward pass starts the same block from the nearest
    one instead of from scratch)."""

    at: list[float]
    value: list[float]
    slope: list[float]
    basis: list[highspy.HighsBasis]

    def nearest_basis(self, s: float) -> highspy.HighsBasis:
        return self.basis[int(np.argmin(np.abs(np.asarray(self.at) - s)))]

    def rows(self, theta: int, end_col: int) -> tuple[FloatArray, npt.NDArray[np.int32],
                                                      npt.NDArray[np.int32], FloatArray]:
        """``theta - slope * e_end >= value - slope * at`` for each line, as HiGHS rows."""
        k = len(self.at)
        lower = np.asarray(self.value) - np.asarray(self.slope) * np.asarray(self.at)
        start = (2 * np.arange(k)).astype(np.int32)
        index = np.tile(np.array([theta, end_col], dtype=np.int32), k)
        value = np.column_stack((np.ones(k), -np.asarray(self.slope))).ravel()
        return lower, start, index, value


class _Block:
    """One block's programme in HiGHS: the optimum's relaxation over its steps (the same
    columns, bounds, costs and cuts as the whole horizon's), its starting energy a row bound,
    and ``theta`` standing for the cost of the blocks after it."""

    def __init__(self, model: OptimumModel, a: int, b: int, upper: FloatArray,
                 has_y: npt.NDArray[np.bool_], after: _Tangents | None) -> None:
        n = model.n
        p = model.params
        sub = OptimumModel(model.site.steps(a, b), p, p.min_soc_pct, month_idx=None,
                           max_export_w=model.max_export_w)
        cols = _block_cols(n, a, b)
        sub.lp.lower[:] = model.lp.lower[cols]
        sub_upper = upper[cols]
        # inside the bounds, as every starting energy is (they widen to take in the first)
        sub.e0_kwh = model.e0_kwh if a == 0 else float(sub.lp.lower[4 * (b - a)])
        none = np.zeros(b - a, dtype=bool)
        self.runs = runs = sub._runs(sub_upper, none, has_y[a:b], none)
        lp, cuts = sub._run_lp(runs, sub_upper)
        ys = np.flatnonzero(has_y[a:b][runs.first]).astype(np.int64)
        self.sub, self.lp = sub, lp
        # presolve off: a block is small, and 30 days of minutes took 5 % less without it
        self.solver = solver = new_lp_solver("off")
        solver.setOptionValue("dual_feasibility_tolerance", _DUAL_TOL)
        solver.passModel(lp.highs_lp(y_steps=ys, y_integer=np.zeros(ys.size, dtype=bool)))
        solver.addRows(cuts.count, cuts.lower, cuts.upper, int(cuts.index.size), cuts.start,
                       cuts.index, cuts.value)
        self.start_row = lp.n  # the first energy row: e_0 - (flows) = the starting energy
        self.end_col = 5 * lp.n - 1  # the energy stored at the end of the last run
        if after is not None:
            theta = lp.ncol + int(ys.size)
            solver.addCol(1.0, -highspy.kHighsInf, highspy.kHighsInf, 0,
                          np.zeros(0, dtype=np.int32), np.zeros(0))
            lower, start, index, value = after.rows(theta, self.end_col)
            solver.addRows(len(after.at), lower, np.full(len(after.at), highspy.kHighsInf),
                           int(index.size), start, index, value)
        self.solve_s = 0.0

    def solve(self, stored_kwh: float, *, values: bool = True
              ) -> tuple[float, float, FloatArray]:
        """The block's least cost (with ``theta``) from ``stored_kwh``, its slope in the
        starting energy, and the column values (empty unless ``values``: a tangent needs only
        the first two, and copying the columns out costs a sixth of a warm re-solve)."""
        solver = self.solver
        solver.changeRowBounds(self.start_row, stored_kwh, stored_kwh)
        wall0 = time.perf_counter()
        status = run_lp(solver)
        self.solve_s += time.perf_counter() - wall0
        if status != _OPTIMAL:
            raise GridpilotError(
                f"the optimum did not solve: {solver.modelStatusToString(status)}")
        sol = solver.getSolution()
        value = float(solver.getInfo().objective_function_value)
        x = np.asarray(sol.col_value) if values else _NO_VALUES
        return value, float(sol.row_dual[self.start_row]), x

    def cost_to_go(self, lo_kwh: float, hi_kwh: float) -> _Tangents:
        """Tangents within :data:`TANGENT_TOL` of this block's cost-to-go over
        ``[lo_kwh, hi_kwh]`` (the sandwich method of the module docstring)."""
        out = _Tangents([], [], [], [])

        def point(s: float) -> tuple[float, float, float]:
            v, g, _ = self.solve(s, values=False)
            out.at.append(s)
            out.value.append(v)
            out.slope.append(g)
            out.basis.append(self.solver.getBasis())
            return s, v, g

        first = point(lo_kwh)
        if hi_kwh <= lo_kwh:
            return out
        todo = [(first, point(hi_kwh))]
        while todo and len(out.at) < _MAX_POINTS:
            (sa, va, ga), (sb, vb, gb) = todo.pop()
            if gb - ga <= 1e-12:
                continue  # one line over the interval
            s = (vb - va + ga * sa - gb * sb) / (ga - gb)
            if not sa < s < sb:
                continue
            under = va + ga * (s - sa)
            mid = point(s)
            if mid[1] - under > TANGENT_TOL:
                todo.append(((sa, va, ga), mid))
                todo.append((mid, (sb, vb, gb)))
        return out

    def hold_end(self, stored_kwh: float) -> None:
        """End the block with ``stored_kwh`` stored."""
        self.solver.changeColBounds(self.end_col, stored_kwh, stored_kwh)

    def release_end(self, lo_kwh: float, hi_kwh: float) -> None:
        """Let the block end anywhere in ``[lo_kwh, hi_kwh]`` again."""
        self.solver.changeColBounds(self.end_col, lo_kwh, hi_kwh)

    def place(self, x_runs: FloatArray, stored_kwh: float, model: OptimumModel, x: FloatArray,
              a: int, b: int) -> float:
        """Write the block's solution from ``stored_kwh`` into ``x`` (``model``'s columns, the
        block being its steps ``a..b-1``); the energy stored at the block's end."""
        self.sub.e0_kwh = stored_kwh
        got = self.sub.lp.columns(self.sub._spread(self.runs, self.lp, x_runs, None))
        full = model.lp.columns(x)
        full.charge_w[a:b] = got.charge_w
        full.discharge_w[a:b] = got.discharge_w
        full.import_w[a:b] = got.import_w
        full.export_w[a:b] = got.export_w
        full.stored_kwh[a:b] = got.stored_kwh
        return float(got.stored_kwh[-1])


@dataclass
class _Solved:
    """One block as last solved: what it was solved with (its column bounds, its starting
    energy, the end it was held to, ``None`` for none) and the schedule that came back (its
    steps' charge, discharge, import, export and stored energy)."""

    upper: FloatArray
    start_kwh: float
    held_kwh: float | None
    flows: tuple[FloatArray, ...]

    @property
    def end_kwh(self) -> float:
        return float(self.flows[-1][-1])

    def fits(self, upper: FloatArray, start_kwh: float, held_kwh: float | None) -> bool:
        """Whether this schedule is an optimum of the block solved with these: the same
        programme from the same energy, held to the same end, or solved free before and
        ending where it is now held (an optimum free to end anywhere that ends there is one
        held there)."""
        return (start_kwh == self.start_kwh
                and (held_kwh == self.held_kwh
                     or (self.held_kwh is None and held_kwh == self.end_kwh))
                and np.array_equal(upper, self.upper))


@dataclass
class BlockPlan:
    """What a relaxation solved by blocks leaves for re-solving the same programme with some
    directions fixed (:func:`resolve_through`): its block edges, the tangents each block was
    solved with, and the optimal basis each block ended on."""

    edges: list[int]
    after: list[_Tangents | None]
    basis: list[highspy.HighsBasis]
    has_y: npt.NDArray[np.bool_]
    """The steps with a relaxed ``y``: a re-solve keeps them (where a direction is fixed the
    zero cap makes ``y`` redundant), so that each block is the same model and its basis fits."""
    solved: list[_Solved]
    """Each block as last solved: a re-solve keeps the schedule of a block whose programme,
    starting energy and end are those it was solved with (the windows change a few blocks of a
    year's 183 in a round; the rounds after the first change almost none)."""


def _record(model: OptimumModel, x: FloatArray, a: int, b: int, upper: FloatArray,
            start_kwh: float, held_kwh: float | None) -> _Solved:
    cols = model.lp.columns(x)
    flows = tuple(c[a:b].copy() for c in (cols.charge_w, cols.discharge_w, cols.import_w,
                                          cols.export_w, cols.stored_kwh))
    return _Solved(upper[_block_cols(model.n, a, b)], start_kwh, held_kwh, flows)


def _replay_block(model: OptimumModel, x: FloatArray, a: int, b: int, got: _Solved) -> float:
    """Write the schedule ``got`` of steps ``a..b-1`` into ``x``; the energy it ends with."""
    cols = model.lp.columns(x)
    for into, flow in zip((cols.charge_w, cols.discharge_w, cols.import_w, cols.export_w,
                           cols.stored_kwh), got.flows, strict=True):
        into[a:b] = flow
    return got.end_kwh


def solve_by_blocks(model: OptimumModel, upper: FloatArray, has_y: npt.NDArray[np.bool_]
                    ) -> tuple[FloatArray, float, float, BlockPlan]:
    """The relaxation of ``model`` with column bounds ``upper`` and relaxed ``y`` on ``has_y``,
    block by block (module docstring): the column values on every step, the proven lower bound,
    the solve time [s] and the plan for later re-solves."""
    n = model.n
    first = model._runs(upper, np.zeros(n, dtype=bool), has_y, np.zeros(n, dtype=bool)).first
    edges = block_edges(first, n)
    count = len(edges) - 1
    e_lo, e_hi = model.lp.lower[4 * n:5 * n], upper[4 * n:5 * n]
    solve_s = 0.0
    # backward: the tangents of each block's cost-to-go, from the last block to the second
    after: list[_Tangents | None] = [None] * (count + 1)
    for k in range(count - 1, 0, -1):
        a, b = edges[k], edges[k + 1]
        block = _Block(model, a, b, upper, has_y, after[k + 1])
        after[k] = block.cost_to_go(float(e_lo[a - 1]), float(e_hi[a - 1]))
        solve_s += block.solve_s
        del block
    # forward: each block from where the one before ended
    x = np.empty(model.ncol)
    stored = model.e0_kwh
    bound = 0.0
    bases: list[highspy.HighsBasis] = []
    solved: list[_Solved] = []
    for k in range(count):
        a, b = edges[k], edges[k + 1]
        block = _Block(model, a, b, upper, has_y, after[k + 1])
        here = after[k]
        if here is not None:
            # the same programme as in the backward pass: start from its nearest basis
            block.solver.setBasis(here.nearest_basis(stored))
            here.basis.clear()
        value, _, x_runs = block.solve(stored)
        solve_s += block.solve_s
        if k == 0:
            bound = value
        start = stored
        stored = block.place(x_runs, stored, model, x, a, b)
        solved.append(_record(model, x, a, b, upper, start, None))
        bases.append(block.solver.getBasis())
        del block
    return x, bound, solve_s, BlockPlan(edges, after, bases, has_y, solved)


def resolve_through(model: OptimumModel, plan: BlockPlan, upper: FloatArray,
                    through_kwh: FloatArray) -> tuple[FloatArray, float]:
    """The programme with column bounds ``upper`` (some directions fixed), each block solved
    on its own with its stored energy at the block edges held where ``through_kwh`` (a
    schedule that obeys ``upper``) has it, from the basis the relaxation left: a schedule that
    obeys ``upper``, optimal within each block, and the solve time [s]. Not the programme's
    optimum across blocks; the relaxation's bound stays the bound, and the gap says how close.
    A block whose bounds, starting energy and end are those it was last solved with keeps
    that schedule (``plan.solved``) instead of being solved again."""
    n = model.n
    x = np.empty(model.ncol)
    solve_s = 0.0
    edges = plan.edges
    e_lo = model.lp.lower[4 * n:5 * n]
    stored = model.e0_kwh
    for k in range(len(edges) - 1):
        a, b = edges[k], edges[k + 1]
        held = float(through_kwh[b - 1]) if b < n else None
        last = plan.solved[k]
        if last.fits(upper[_block_cols(n, a, b)], stored, held):
            stored = _replay_block(model, x, a, b, last)
            continue
        block = _Block(model, a, b, upper, plan.has_y, plan.after[k + 1])
        basis = plan.basis[k]
        if len(basis.col_status) == block.solver.getNumCol():
            block.solver.setBasis(basis)
        x_runs = None
        if held is not None:
            block.hold_end(held)
            try:
                _, _, x_runs = block.solve(stored)
            except GridpilotError:
                # The blocks before ended elsewhere than ``through_kwh`` and this one cannot
                # reach its end from there: its end is left to the tangents of the rest.
                block.release_end(float(e_lo[b - 1]), float(upper[4 * n + b - 1]))
        if x_runs is None:
            _, _, x_runs = block.solve(stored)
        solve_s += block.solve_s
        start = stored
        stored = block.place(x_runs, stored, model, x, a, b)
        plan.solved[k] = _record(model, x, a, b, upper, start, held)
        del block
    return x, solve_s


class BlockModel(OptimumModel):
    """The optimum's programme whose relaxations (with or without directions fixed) are
    solved block by block: the first by :func:`solve_by_blocks`, exactly; each later one, with
    directions fixed and a schedule ``through_kwh`` that obeys them, by
    :func:`resolve_through` from the bases the first left. MILPs (the windows') are never
    this long and go to :class:`OptimumModel`."""

    _plan: BlockPlan | None = None

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
        if z_bin.any() or y_bin.any():
            return super().solve(z_bin, y_bin, time_left_s, fix_z=fix_z, fix_y=fix_y)
        upper, free_y = self.fixed_upper(fix_z, fix_y)
        fixed = fix_z is not None or fix_y is not None
        if fixed and self._plan is not None and through_kwh is not None:
            x, secs = resolve_through(self, self._plan, upper, through_kwh)
            return x, self.value(x), secs
        x, bound, secs, self._plan = solve_by_blocks(self, upper, self.may_trade & free_y)
        return x, bound, secs
