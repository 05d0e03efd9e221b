"""The planner's cheaper paths decide as the full ones do: a slot's kind worked out alone equals
the whole plan's vectorised kinds, and a solver given HiGHS's thread count up front finds the
same plans, also when run from a thread whose scheduler has another count."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import cast

import highspy
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.strategies.arbitrage_plan import (
    PlanInputs,
    PlanResult,
    PlanSolver,
    resolve_plan,
    scheduler_threads,
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
    assert moved._threads == 0
