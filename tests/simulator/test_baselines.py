"""The baselines and the optimum a backtest keeps for the next one with the same inputs are the
ones it would compute afresh, and a change to any input computes them again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from gridpilot.engine.battery import BatteryParams
from gridpilot.recorded import load_uk_composite
from gridpilot.rules.loader import load_policy
from gridpilot.simulator import baselines as baselines_mod
from gridpilot.simulator.accounting import BillInputs, SiteSeries
from gridpilot.simulator.backtest import run_backtest
from gridpilot.simulator.baselines import Baselines, baselines, optima, optima_key
from gridpilot.simulator.optimum import OptimumResult, solve_optimum
from tests.simulator.solves import count_solves

ROOT = Path(__file__).resolve().parents[2]
AGILE = ROOT / "examples/policies/agile-dynamic.yaml"
P = BatteryParams(capacity_kwh=5.0, max_charge_w=2500.0, max_discharge_w=2500.0,
                  min_soc_pct=10.0)


@pytest.fixture(autouse=True)
def _own_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(baselines_mod, "_kept", type(baselines_mod._kept)())
    monkeypatch.setattr(baselines_mod, "_optima", type(baselines_mod._optima)())


def _site(n: int = 96 * 3, first_s: int = 1_530_000_000) -> SiteSeries:
    rng = np.random.default_rng(7)
    start = first_s + 1800 * np.arange(n, dtype=np.int64)
    return SiteSeries(start_s=start, step_s=1800, load_w=rng.uniform(100, 3000, n),
                      pv_w=rng.uniform(0, 4000, n) * (rng.random(n) < 0.5),
                      import_price=rng.uniform(0.05, 0.4, n),
                      export_price=rng.uniform(0.0, 0.2, n), tz=ZoneInfo("Europe/London"),
                      bill=BillInputs(standing_charge_per_day=0.5, demand_charge_per_kw=2.0))


def _fresh(site: SiteSeries, params: BatteryParams, soc0: float) -> Baselines:
    baselines_mod._kept.clear()
    return baselines(site, params, soc0)


def _equal(a: Baselines, b: Baselines) -> None:
    assert a.no_battery == b.no_battery
    assert a.self_consumption == b.self_consumption
    assert np.array_equal(a.self_consumption_soc_pct, b.self_consumption_soc_pct)
    assert a.self_consumption_loss_making_kwh == b.self_consumption_loss_making_kwh


def _bumped(values: np.ndarray) -> np.ndarray:
    return values * 1.05


CHANGES: dict[str, Callable[[SiteSeries, BatteryParams, float],
                            tuple[SiteSeries, BatteryParams, float]]] = {
    "load": lambda s, p, e: (replace(s, load_w=_bumped(s.load_w)), p, e),
    "pv": lambda s, p, e: (replace(s, pv_w=_bumped(s.pv_w)), p, e),
    "import price": lambda s, p, e: (replace(s, import_price=_bumped(s.import_price)), p, e),
    "export price": lambda s, p, e: (replace(s, export_price=_bumped(s.export_price)), p, e),
    "times": lambda s, p, e: (replace(s, start_s=s.start_s + 86_400 * 120), p, e),
    "timezone": lambda s, p, e: (replace(s, tz=ZoneInfo("America/New_York")), p, e),
    "standing charge": lambda s, p, e: (
        replace(s, bill=replace(s.bill, standing_charge_per_day=0.6)), p, e),
    "demand charge": lambda s, p, e: (
        replace(s, bill=replace(s.bill, demand_charge_per_kw=3.0)), p, e),
    "capacity": lambda s, p, e: (s, replace(p, capacity_kwh=6.0), e),
    "efficiency": lambda s, p, e: (s, replace(p, discharge_efficiency=0.9), e),
    "wear": lambda s, p, e: (s, replace(p, cycle_cost_per_kwh=0.03), e),
    "floor": lambda s, p, e: (s, replace(p, min_soc_pct=20.0), max(e, 20.0)),
    "starting SOC": lambda s, p, e: (s, p, e + 30.0),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_another_input_gets_its_own_baselines(change: str) -> None:
    site, soc0 = _site(), 40.0
    first = baselines(site, P, soc0)
    other_site, other_p, other_soc0 = CHANGES[change](site, P, soc0)
    got = baselines(other_site, other_p, other_soc0)
    expected = _fresh(other_site, other_p, other_soc0)
    _equal(got, expected)
    # the change matters to what a backtest shows, so a kept result would have been wrong
    assert (got.no_battery != first.no_battery or got.self_consumption != first.self_consumption
            or not np.array_equal(got.self_consumption_soc_pct, first.self_consumption_soc_pct)
            or got.self_consumption_loss_making_kwh != first.self_consumption_loss_making_kwh)


def test_kept_baselines_are_the_ones_computed_afresh_and_shared_read_only() -> None:
    site = _site()
    first = baselines(site, P, 40.0)
    again = baselines(replace(site, load_w=site.load_w.copy()), P, 40.0)
    assert again is first
    _equal(again, _fresh(site, P, 40.0))
    with pytest.raises(ValueError):
        again.self_consumption_soc_pct[0] = 0.0


def test_a_sweeps_later_backtest_shows_the_first_ones_baselines() -> None:
    year = load_uk_composite(ROOT / "examples/data/uk-2018-halfhourly.csv")
    series = year.slice_time(int(year.start_s[0]), int(year.start_s[0]) + 21 * 86_400)
    first = run_backtest(load_policy(AGILE), series)
    assert len(baselines_mod._kept) == 1
    later = run_backtest(load_policy(AGILE), series)
    baselines_mod._kept.clear()
    fresh = run_backtest(load_policy(AGILE), series)
    for bt in (first, later):
        assert bt.no_battery == fresh.no_battery
        assert bt.self_consumption == fresh.self_consumption
        assert np.array_equal(bt.self_consumption_soc_pct, fresh.self_consumption_soc_pct)
        assert bt.loss_making_cycles_kwh == fresh.loss_making_cycles_kwh
        assert bt.policy == fresh.policy


_MONTH_END_S = 1_530_273_600
"""2018-06-29 12:00 UTC: two days from it cross a month's end (a demand charge's new peak), at
another hour in another timezone."""

OPTIMUM_CHANGES: dict[str, Callable[[SiteSeries, BatteryParams, float],
                                    tuple[SiteSeries, BatteryParams, float]]] = {
    **CHANGES, "export limit": lambda s, p, e: (s, p, e)}
"""The optimum's inputs: the baselines' and the site's export limit (``_export_limit``)."""


def _export_limit(change: str) -> float | None:
    return 0.0 if change == "export limit" else None


def optimum(site: SiteSeries, params: BatteryParams, soc0: float, *,
            max_export_w: float | None = None) -> OptimumResult:
    """The kept optimum of one case."""
    (res,) = optima(site, [(params, soc0)], max_export_w=max_export_w)
    return res


def _same_optimum(a: OptimumResult, b: OptimumResult) -> bool:
    return (a.objective == b.objective and a.objective_bound == b.objective_bound
            and all(np.array_equal(x, y) for x, y in (
                (a.battery_w, b.battery_w), (a.grid_w, b.grid_w), (a.import_w, b.import_w),
                (a.export_w, b.export_w), (a.soc_pct, b.soc_pct))))


@pytest.mark.parametrize("change", list(OPTIMUM_CHANGES))
def test_another_input_gets_its_own_optimum(change: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    site, soc0 = _site(96, _MONTH_END_S), 40.0
    first = optimum(site, P, soc0)
    other_site, other_p, other_soc0 = OPTIMUM_CHANGES[change](site, P, soc0)
    limit = _export_limit(change)
    solves = count_solves(monkeypatch)
    got = optimum(other_site, other_p, other_soc0, max_export_w=limit)
    assert solves == [1]
    assert _same_optimum(got, solve_optimum(other_site, other_p, other_soc0, max_export_w=limit))
    if change != "standing charge":  # the optimum's cost leaves the standing charge out
        # the change matters to the optimum, so a kept result would have been wrong
        assert not _same_optimum(got, first)


@pytest.mark.parametrize("change", list(OPTIMUM_CHANGES))
def test_every_input_of_the_optimum_is_in_its_key(change: str) -> None:
    """The key a fleet's row keeps with its optimum's figures, which a site's report checks
    before it shows them instead of solving."""
    site, soc0 = _site(96, _MONTH_END_S), 40.0
    key = optima_key(site, [(P, soc0)])
    copied = replace(site, load_w=site.load_w.copy(), pv_w=site.pv_w.copy())
    assert optima_key(copied, [(P, soc0)]) == key
    other_site, other_p, other_soc0 = OPTIMUM_CHANGES[change](site, P, soc0)
    assert optima_key(other_site, [(other_p, other_soc0)],
                      max_export_w=_export_limit(change)) != key
    # the second case of a backtest (down to the minimum) is part of it too
    assert optima_key(site, [(P, soc0), (other_p, other_soc0)]) != key


def test_a_kept_optimum_is_solved_once_and_shared_read_only(
        monkeypatch: pytest.MonkeyPatch) -> None:
    site = _site(96)
    solves = count_solves(monkeypatch)
    first = optimum(site, P, 40.0, max_export_w=800.0)
    again = optimum(replace(site, import_price=site.import_price.copy()), P, 40.0,
                    max_export_w=800.0)
    assert again is first
    assert solves == [1]
    assert _same_optimum(again, solve_optimum(site, P, 40.0, max_export_w=800.0))
    for arr in (again.battery_w, again.grid_w, again.import_w, again.export_w, again.soc_pct):
        with pytest.raises(ValueError):
            arr[0] = 0.0


def test_a_sweeps_later_backtest_shows_the_first_ones_optimum(
        monkeypatch: pytest.MonkeyPatch) -> None:
    year = load_uk_composite(ROOT / "examples/data/uk-2018-halfhourly.csv")
    series = year.slice_time(int(year.start_s[0]), int(year.start_s[0]) + 7 * 86_400)
    solves = count_solves(monkeypatch)
    first = run_backtest(load_policy(AGILE), series, optimal=True)
    # the optimum that keeps the example's 20 % reserve, and the one down to the minimum
    assert len(solves) == 2
    later = run_backtest(load_policy(AGILE), series, optimal=True)
    assert len(solves) == 2
    baselines_mod._optima.clear()
    fresh = run_backtest(load_policy(AGILE), series, optimal=True)
    assert len(solves) == 4
    for bt in (first, later):
        assert bt.optimum == fresh.optimum
        assert bt.optimum_full_range == fresh.optimum_full_range
        assert bt.optimal_cost_bound == fresh.optimal_cost_bound
        assert bt.loss_making_cycles_kwh == fresh.loss_making_cycles_kwh
        assert bt.savings_captured == fresh.savings_captured
