"""The planner's cheaper paths decide as the full ones do: a slot's kind worked out alone equals
the whole plan's vectorised kinds, the planner's matrix is the general one, HiGHS holds the bounds
of the programme after each restart, and a solver given HiGHS's thread count up front finds the
same plans, also when run from a thread whose scheduler has another count (the optimum's solvers
too); a thread's scheduler starts with one worker."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import cast

import highspy
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.lp.battery import Storage, _matrix, _matrix_without_demand
from gridpilot.simulator.optimum_highs import new_lp_solver, run_lp
from gridpilot.solver import _probe_model, new_highs, scheduler_threads
from gridpilot.strategies.arbitrage_plan import (
    PlanInputs,
    PlanResult,
    PlanSolver,
    resolve_plan,
    solve_plan,
)
from gridpilot.strategies.tariff_arbitrage import slot_kind, slot_kinds

from .test_arbitrage_plan_reuse import SLOT_S, T0, columns, instances, solve

# Flows and net loads on and around the 20 W thresholds the kinds are cut at, either way.
_W = st.sampled_from([0.0, 1e-9, 19.999, 20.0, 20.001, 40.0, 500.0, 3300.0]) | st.floats(0, 5000)
_NET = _W | _W.map(lambda w: -w)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_W, _W, _NET, st.integers(0, 2)), min_size=1, max_size=48))
def test_a_slot_alone_has_the_kind_of_the_whole_plan(
        slots: list[tuple[float, float, float, int]]) -> None:
    charge, discharge, net, opportunity = (np.array(c) for c in zip(*slots, strict=True))
    plan = cast(PlanResult, SimpleNamespace(charge_w=charge, discharge_w=discharge, net_w=net))
    whole = slot_kinds(plan, opportunity.astype(np.int8)).tolist()
    alone = [slot_kind(c, d, x, o) for c, d, x, o in slots]
    assert alone == whole


def _in_thread(fn: object) -> object:
    out: list[object] = []

    def run() -> None:
        try:
            out.append(fn())  # type: ignore[operator]
        finally:
            highspy.Highs.resetGlobalScheduler(True)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out[0]


def test_the_thread_count_is_the_schedulers() -> None:
    main = scheduler_threads()
    assert main >= 1

    def other() -> int:
        # Another solver in this thread set its scheduler up with one more thread.
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", main + 1)
        h.passModel(highspy.HighsLp())
        h.run()
        return scheduler_threads()

    assert _in_thread(other) == main + 1


def test_a_thread_s_scheduler_starts_with_one_worker() -> None:
    # HiGHS's default (two workers on a 2-core machine) spins the second beside the simplex.
    def fresh() -> tuple[int, object]:
        solver = new_highs()
        return scheduler_threads(), solver.getOptionValue("threads")

    threads, option = cast(tuple[int, object], _in_thread(fresh))
    assert threads == 1
    assert option == (highspy.HighsStatus.kOk, 1)


def test_the_optimum_prices_with_devex_and_the_planner_keeps_highs_default() -> None:
    # Devex: the optimum's long relaxations (gridpilot.simulator.optimum_highs). The planner's
    # pick among equal plans decides its command, so its pricing stays HiGHS's default.
    option = "simplex_dual_edge_weight_strategy"
    assert new_lp_solver("off").getOptionValue(option) == (highspy.HighsStatus.kOk, 1)
    assert PlanSolver().highs.getOptionValue(option) == (highspy.HighsStatus.kOk, -1)


def test_an_optimum_solver_run_where_the_scheduler_has_another_count_still_solves() -> None:
    solver = new_lp_solver("off")  # told this thread's count
    solver.passModel(_probe_model())
    other_threads = scheduler_threads() + 1

    def elsewhere() -> highspy.HighsModelStatus:
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", other_threads)
        h.passModel(highspy.HighsLp())
        h.run()
        return run_lp(solver)

    assert _in_thread(elsewhere) == highspy.HighsModelStatus.kOptimal


@settings(max_examples=10, deadline=None)
@given(instances(12))
def test_a_solver_run_from_another_thread_finds_the_same_plans(
        data: tuple[float, np.ndarray, np.ndarray, np.ndarray, float, PlanInputs]) -> None:
    alone = solve(data, PlanSolver())
    moved = PlanSolver()
    solve(data, moved)
    other_threads = scheduler_threads() + 1

    def elsewhere() -> tuple[PlanResult, PlanResult | None]:
        h = highspy.Highs()  # type: ignore[no-untyped-call]
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", other_threads)
        h.passModel(highspy.HighsLp())
        h.run()
        t_s, imp, exp, net, stored_kwh, inputs = data
        n = int(imp.shape[0])
        start = T0 + SLOT_S * np.arange(n, dtype=np.int64)
        plan = solve_plan(t_s, start, T0 + SLOT_S * n, imp, exp, net, stored_kwh, inputs, moved)
        assert plan is not None
        return plan, resolve_plan(moved, plan, n // 2, 5.0)

    plan, again = cast(tuple[PlanResult, PlanResult | None], _in_thread(elsewhere))
    assert np.allclose(columns(plan), columns(alone), atol=1e-6)
    assert again is not None
    assert moved.highs.getOptionValue("threads") == (highspy.HighsStatus.kOk, 0)


@settings(max_examples=30, deadline=None)
@given(st.tuples(instances(8), instances(8)), st.lists(st.tuples(st.integers(0, 7),
                                                                 st.integers(0, 95)),
                                                       min_size=1, max_size=4),
       st.booleans())
def test_the_bounds_held_are_the_programmes_from_its_latest_restart(
        data: tuple[tuple[float, np.ndarray, np.ndarray, np.ndarray, float, PlanInputs],
                    tuple[float, np.ndarray, np.ndarray, np.ndarray, float, PlanInputs]],
        restarts: list[tuple[int, int]], other_between: bool) -> None:
    """Only the bounds that change are sent to HiGHS; what it holds is still every bound of
    the plan's programme with the slots before the latest restart idle (and those of earlier
    restarts of the same plan), and the energy bounds widened to the latest energy."""
    first, other = data
    solver = PlanSolver()
    plan = solve(first, solver)
    lp = plan.lp
    n = lp.n
    idle = 0
    for i, (k, tenths) in enumerate(sorted(restarts)):
        if other_between and i == 1:
            solve(other, solver)
            idle = 0
        stored_kwh = tenths / 10
        again = resolve_plan(solver, plan, k, stored_kwh)
        assert again is not None
        idle = max(idle, k)
        lower, upper = lp.lower.copy(), lp.upper.copy()
        upper[:idle] = upper[n:n + idle] = 0.0
        lower[4 * n:] = min(lp.storage.floor_kwh, stored_kwh)
        upper[4 * n:] = max(lp.storage.top_kwh, stored_kwh)
        held = solver.highs.getLp()
        assert np.array_equal(np.asarray(held.col_lower_), lower)
        assert np.array_equal(np.asarray(held.col_upper_), upper)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 60), st.data())
def test_the_matrix_without_demand_rows_is_the_general_one(n: int, data: st.DataObject) -> None:
    """The planner's matrix, written block by block, is the general construction's, entry for
    entry and type for type."""
    hours = data.draw(st.lists(st.floats(1 / 60, 2.0), min_size=n, max_size=n))
    eta_c, eta_d = data.draw(st.tuples(st.floats(0.5, 1.0), st.floats(0.5, 1.0)))
    storage = Storage(3300.0, 3300.0, eta_c, eta_d, 1.0, 9.5)
    hk = np.array(hours) * 1e-3
    general = _matrix(n, 0, hk, storage, None, False)
    fast = _matrix_without_demand(n, hk, storage)
    for a, b in zip(general, fast, strict=True):
        assert a.dtype == b.dtype
        assert np.array_equal(a, b)
