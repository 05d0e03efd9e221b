"""A demand charge's peaks bounded through the running peak (``gridpilot.lp.battery``: past
``RUNNING_PEAK_STEPS`` steps in a month) give the optimum the direct bound gives."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gridpilot.lp import battery as lp_battery
from gridpilot.lp.battery import (
    Costs,
    GridCaps,
    Horizon,
    Storage,
    build_battery_lp,
    running_peak,
)
from gridpilot.simulator import optimum_model
from gridpilot.simulator.optimum import solve_optimum
from gridpilot.simulator.optimum_model import MIP_ABS_GAP, MIP_REL_GAP, OptimumResult

from .test_optimum_exact import _replay
from .test_optimum_runs import STEP_S, P, _site


def _solve(site: Any, soc0: float, export_limit: float | None, *, running: bool
           ) -> tuple[OptimumResult, list[bool]]:
    """The optimum with every demand charge bounded directly or through the running peak, and
    the form of each programme built."""
    built: list[bool] = []
    real = optimum_model.build_battery_lp

    def recording(*args: Any, **kwargs: Any) -> Any:
        lp = real(*args, **kwargs)
        built.append(lp.running)
        return lp

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lp_battery, "RUNNING_PEAK_STEPS", 0 if running else 10**9)
        patch.setattr(optimum_model, "build_battery_lp", recording)
        res = solve_optimum(site, P, soc0, max_export_w=export_limit)
    return res, built


@settings(max_examples=12, deadline=None)
@example(seed=39739, n=17, soc0=34.0, export_limit=1000.0, demand=40.0)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(4, 40), soc0=st.floats(20, 100),
       export_limit=st.sampled_from([None, 1000.0]), demand=st.sampled_from([8.0, 40.0]))
def test_the_running_peak_changes_no_optimum(seed: int, n: int, soc0: float,
                                             export_limit: float | None,
                                             demand: float) -> None:
    # every step different (no runs merge), from an hour before February: two months
    rng = np.random.default_rng(seed)
    load, pv = rng.uniform(0, 3000, n), rng.uniform(0, 4000, n) * (rng.random(n) < 0.5)
    site = _site(load, pv, rng.uniform(-0.05, 0.4, n), rng.uniform(0.0, 0.3, n), demand)
    direct, built_direct = _solve(site, soc0, export_limit, running=False)
    running, built_running = _solve(site, soc0, export_limit, running=True)
    assert built_direct and not any(built_direct)
    assert built_running and all(built_running)
    # The same programme: the same optimum to the optimum's stated accuracy, its MIP gap
    # (either MILP may stop once its schedule is that close to its bound: the direct form of
    # the example above stopped 5e-5 above its bound, the running peak's proved its schedule),
    # and each proven bound holds for the other's schedule.
    tol = MIP_ABS_GAP + MIP_REL_GAP * abs(direct.objective)
    assert running.objective == pytest.approx(direct.objective, abs=tol)
    for res in (direct, running):
        assert res.objective - tol <= res.objective_bound <= res.objective + MIP_ABS_GAP
    assert running.objective_bound <= direct.objective + MIP_ABS_GAP
    assert direct.objective_bound <= running.objective + MIP_ABS_GAP
    _replay(running, load, pv, P, soc0, STEP_S)


def test_a_running_peak_bounds_the_month_as_the_direct_bound_does() -> None:
    # one LP, no binaries: charged at 10/kW, the peak column must reach each month's own
    # highest import and no further, whichever form bounds it
    n = 12
    net = np.array([500.0, 2500, 800, 300, 1200, 100, 300, 900, 3000, 200, 100, 700])
    horizon = Horizon(np.full(n, 0.5), net, np.full(n, 0.2), np.zeros(n))
    storage = Storage(charge_w=0.0, discharge_w=0.0, charge_efficiency=0.9,
                      discharge_efficiency=0.9, floor_kwh=0.0, top_kwh=0.0)
    costs = Costs(demand_charge_per_kw=10.0, month_idx=np.repeat(np.arange(2), 6))
    values = []
    for steps in (10**9, 0):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(lp_battery, "RUNNING_PEAK_STEPS", steps)
            lp = build_battery_lp(horizon, storage, 0.0, GridCaps(battery_export_w=0.0), costs)
        assert lp.running == (steps == 0)
        assert lp.start.size == lp.ncol + 1 and lp.row_lo.size == lp.nrow
        highs = optimum_model.new_lp_solver("off")
        highs.passModel(lp.highs_lp())
        optimum_model.run_lp(highs)
        x = np.asarray(highs.getSolution().col_value)
        cols = lp.columns(x)
        assert cols.peak_w.tolist() == pytest.approx([2500.0, 3000.0])
        if lp.running:
            # r may sit anywhere between the imports so far and the month's peak, in order
            r = cols.peak_so_far_w
            assert (r >= cols.import_w - 1e-6).all()
            assert (np.diff(r[:6]) >= -1e-6).all() and (np.diff(r[6:]) >= -1e-6).all()
            assert r[5] <= cols.peak_w[0] + 1e-6 and r[11] <= cols.peak_w[1] + 1e-6
        values.append(highs.getInfo().objective_function_value)
    assert values[0] == pytest.approx(values[1], abs=1e-9)


def test_only_a_long_month_takes_the_running_peak() -> None:
    steps = lp_battery.RUNNING_PEAK_STEPS
    assert not running_peak(np.repeat(np.arange(12), steps), 12)
    assert running_peak(np.r_[np.zeros(steps + 1, dtype=np.int64), np.ones(5, dtype=np.int64)],
                        2)
    assert not running_peak(None, 0)
