"""The planner's reused HiGHS model: a plan solved on a solver that held another plan of the same
size (changed in place) is as cheap as the same plan solved on a fresh solver, and obeys the
programme; so is a re-solve after another plan took the solver."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpilot.lp.battery import BatteryLP, Storage
from gridpilot.strategies.arbitrage_plan import (
    PlanInputs,
    PlanResult,
    new_solver,
    resolve_plan,
    solve_plan,
)

T0 = 1_515_542_400  # 2018-01-10 00:00 UTC
SLOT_S = 1800


@st.composite
def instances(draw: st.DrawFn, n: int) -> tuple[float, np.ndarray, np.ndarray, np.ndarray,
                                                float, PlanInputs]:
    """One plan's data over ``n`` half-hour slots: the time of planning inside the first slot
    (so the first slot's length, a matrix coefficient, varies), prices with ties and negative
    values, a net load either way, the energy stored and the battery."""
    price = st.integers(-5, 40).map(lambda p: p / 100)
    imp = np.array(draw(st.lists(price, min_size=n, max_size=n)))
    exp = np.array(draw(st.lists(price, min_size=n, max_size=n)))
    net = np.array(draw(st.lists(st.integers(-4000, 4000).map(float), min_size=n, max_size=n)))
    offset_s = draw(st.sampled_from([0, 600, 1500]))
    storage = Storage(charge_w=draw(st.sampled_from([2000.0, 3300.0])), discharge_w=3300.0,
                      charge_efficiency=0.95,
                      discharge_efficiency=draw(st.sampled_from([0.9, 0.95])),
                      floor_kwh=1.0, top_kwh=9.5)
    inputs = PlanInputs(storage, wear_per_kwh=draw(st.sampled_from([0.0, 0.02])),
                        min_spread_per_kwh=draw(st.sampled_from([0.0, 0.01])),
                        export_w=draw(st.sampled_from([0.0, 3300.0])), max_import_w=15000.0,
                        max_export_w=draw(st.sampled_from([None, 3680.0])))
    stored_kwh = draw(st.integers(0, 95)) / 10
    return float(T0 + offset_s), imp, exp, net, stored_kwh, inputs


def solve(data: tuple[float, np.ndarray, np.ndarray, np.ndarray, float, PlanInputs],
          solver: object = None) -> PlanResult:
    t_s, imp, exp, net, stored_kwh, inputs = data
    n = int(imp.shape[0])
    start = T0 + SLOT_S * np.arange(n, dtype=np.int64)
    plan = solve_plan(t_s, start, T0 + SLOT_S * n, imp, exp, net, stored_kwh, inputs,
                      solver)  # type: ignore[arg-type]
    assert plan is not None
    return plan


def columns(plan: PlanResult) -> np.ndarray:
    return np.concatenate((plan.charge_w, plan.discharge_w, plan.import_w, plan.export_w,
                           plan.stored_kwh))


def assert_solves(lp: BatteryLP, plan: PlanResult, cost: float) -> None:
    """``plan`` is feasible for ``lp`` (from its slot on) and costs ``cost``."""
    x = columns(plan)
    assert float(lp.cost @ x) == pytest.approx(cost, rel=1e-7, abs=1e-7)
    k = plan.from_slot
    n = lp.n
    lower, upper = lp.lower.copy(), lp.upper.copy()
    upper[:k] = upper[n:n + k] = 0.0
    lower[4 * n:] = min(lp.storage.floor_kwh, plan.start_kwh)
    upper[4 * n:] = max(lp.storage.top_kwh, plan.start_kwh)
    assert (x >= lower - 1e-6).all() and (x <= upper + 1e-6).all()
    flows = x[:4 * n].reshape(4, n)
    np.testing.assert_allclose(flows[2] - flows[3] + flows[1] - flows[0], plan.net_w, atol=1e-6)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.integers(2, 12).flatmap(lambda n: st.tuples(instances(n), instances(n))))
def test_a_plan_changed_in_place_costs_what_a_fresh_model_costs(data: tuple[
        tuple[float, np.ndarray, np.ndarray, np.ndarray, float, PlanInputs],
        tuple[float, np.ndarray, np.ndarray, np.ndarray, float, PlanInputs]]) -> None:
    first, second = data
    reused = new_solver()
    solve(first, reused)
    again = solve(second, reused)
    if first[5].storage == second[5].storage:
        # Same size and structure: the second plan changed the model held, not passed a new one.
        assert reused.models_passed == 1
    fresh = solve(second, new_solver())
    cost = float(fresh.lp.cost @ columns(fresh))
    assert_solves(fresh.lp, again, cost)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.integers(3, 10).flatmap(lambda n: st.tuples(instances(n), instances(n))),
       k=st.integers(1, 2), stored_tenths=st.integers(0, 95))
def test_a_resolve_after_another_plan_took_the_solver_is_the_fresh_resolve(
        data: tuple[tuple[float, np.ndarray, np.ndarray, np.ndarray, float, PlanInputs],
                    tuple[float, np.ndarray, np.ndarray, np.ndarray, float, PlanInputs]],
        k: int, stored_tenths: int) -> None:
    first, other = data
    stored_kwh = stored_tenths / 10
    shared = new_solver()
    plan = solve(first, shared)
    solve(other, shared)
    again = resolve_plan(shared, plan, k, stored_kwh)
    alone = new_solver()
    expected = resolve_plan(alone, solve(first, alone), k, stored_kwh)
    assert again is not None and expected is not None
    assert again.from_slot == k
    assert_solves(plan.lp, again, float(plan.lp.cost @ columns(expected)))
