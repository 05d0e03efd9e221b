"""The optimum on a flat two-rate tariff whose export pays more than its night import: every
night step may trade, many schedules cost the same, and an exact MILP over them is slow. The
optimum must still come back within its time limit with a schedule the battery can run, a
proven bound and the gap, and never fail the backtest."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from gridpilot.engine.battery import BatteryParams
from gridpilot.lp.battery import Columns
from gridpilot.simulator import optimum as optimum_mod
from gridpilot.simulator.accounting import SiteSeries
from gridpilot.simulator.optimum import solve_optimum
from gridpilot.simulator.optimum_model import OptimumModel

E7 = BatteryParams(capacity_kwh=13.5, max_charge_w=5000.0, max_discharge_w=5000.0,
                   charge_efficiency=0.95, discharge_efficiency=0.95, min_soc_pct=15.0,
                   max_soc_pct=95.0)


def _economy7(days: int) -> SiteSeries:
    """Half-hours of a flat 300 W load; import 0.13 from 00:30 to 07:30 and 0.32 otherwise;
    export 0.15 throughout (so a round trip through the battery pays at night)."""
    n = days * 48
    start = 1514764800 + 1800 * np.arange(n, dtype=np.int64)
    slot = np.arange(n) % 48
    imp = np.where((slot >= 1) & (slot < 15), 0.13, 0.32)
    return SiteSeries(start_s=start, step_s=1800, load_w=np.full(n, 300.0),
                      pv_w=np.zeros(n), import_price=imp, export_price=np.full(n, 0.15),
                      tz=ZoneInfo("Europe/London"))


def _runnable(res: optimum_mod.OptimumResult) -> None:
    assert np.minimum(res.import_w, res.export_w).max() == 0.0
    assert (res.soc_pct >= E7.min_soc_pct - 1e-6).all()
    assert (res.soc_pct <= E7.max_soc_pct + 1e-6).all()
    assert res.objective_bound <= res.objective + 1e-9


def test_a_time_limit_returns_the_best_schedule_with_its_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    site = _economy7(4)
    with caplog.at_level(logging.WARNING, logger="gridpilot.simulator.optimum"):
        res = solve_optimum(site, E7, 15.0, time_limit_s=0.3)
    _runnable(res)
    # the night round trips pay: the schedule found does better than leaving the battery idle
    idle = float((site.load_w * site.import_price).sum() * 0.5 / 1000.0)
    assert res.objective < idle
    if res.timed_out:
        assert "time limit" in caplog.text and f"{res.gap:.4f}" in caplog.text
    else:
        assert res.gap <= 1e-4


def test_the_long_horizon_path_shares_its_time_and_never_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the window path with windows of at most a day: before, the nightly windows merged into
    # one window as long as the horizon, the slow MILP again, and it failed on the time limit
    monkeypatch.setattr(optimum_mod, "_EXACT_STEPS", 50)
    monkeypatch.setattr(optimum_mod, "_WINDOW_MAX_STEPS", 48)
    site = _economy7(4)
    res = solve_optimum(site, E7, 15.0, time_limit_s=0.5)
    _runnable(res)
    assert res.solve_s < 5.0  # the MILPs stopped at the limit; only LPs may run past it
    assert res.gap < 0.1 * res.objective  # a few per cent in half a second


def test_one_window_cannot_take_the_time_of_all_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Few windows and a long limit: each window's MILP is still stopped at _WINDOW_MAX_S (a
    # window whose many equal schedules keep its MILP from a proof once took 215 s of 250)
    monkeypatch.setattr(optimum_mod, "_EXACT_STEPS", 50)
    monkeypatch.setattr(optimum_mod, "_WINDOW_MAX_STEPS", 48)
    monkeypatch.setattr(optimum_mod, "_WINDOW_MAX_S", 0.05)
    limits: list[float] = []
    lazy = optimum_mod._lazy_exact

    def recorded(model: OptimumModel, clock: optimum_mod._Clock, **kw: bool) -> object:
        limits.append(clock.limit_s)
        return lazy(model, clock, **kw)

    monkeypatch.setattr(optimum_mod, "_lazy_exact", recorded)
    res = solve_optimum(_economy7(4), E7, 15.0, time_limit_s=600.0)
    _runnable(res)
    assert limits and max(limits) == 0.05
    assert res.solve_s < 30.0


def test_the_direction_cuts_close_most_of_the_free_trade() -> None:
    # Without the cuts the relaxation imports and exports at once with the battery idle at
    # every night step; with them its bound is within a few per cent of a runnable schedule.
    site = _economy7(2)
    res = solve_optimum(site, E7, 15.0, time_limit_s=0.5)
    m = OptimumModel(site, E7, 15.0, month_idx=None, max_export_w=None)
    none = np.zeros(m.n, dtype=bool)
    _, with_cuts, _ = m.solve(none, none, 10.0)

    m2 = OptimumModel(site, E7, 15.0, month_idx=None, max_export_w=None)
    m2.cut_at = np.zeros(m2.n, dtype=bool)
    _, without, _ = m2.solve(none, none, 10.0)
    assert without < with_cuts <= res.objective + 1e-9
    assert res.objective - with_cuts < 0.25 * (res.objective - without)


def test_a_window_fixes_every_step_that_did_both_even_where_it_idles() -> None:
    # steps: charges; discharges; idles where it did both; idles where it did not; exports
    flows = np.array([[900.0, 0.0, 0.0, 0.0], [0.0, 700.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                      [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 400.0]])
    sol = Columns(*flows.T.copy(), np.zeros(5), np.zeros(0), np.zeros(0))
    fix_z = np.full(5, -1, dtype=np.int8)
    fix_y = np.full(5, -1, dtype=np.int8)
    both = np.array([False, False, True, False, False])
    trade = np.array([True, True, True, True, True])
    optimum_mod._fix_directions(sol, fix_z, fix_y, trade, both, both)
    assert fix_z.tolist() == [1, 0, 1, -1, -1]
    assert fix_y.tolist() == [-1, -1, 1, -1, 0]
    # only where trading may pay does the grid direction get fixed
    fix_y[:] = -1
    optimum_mod._fix_directions(sol, fix_z, fix_y, ~trade, both & False, both & False)
    assert fix_y.tolist() == [-1, -1, -1, -1, -1]

