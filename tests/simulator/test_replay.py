"""Replay through the real decide(): energy balance, SOC bounds, DST days, no look-ahead."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from gridpilot.engine.battery import BatteryParams
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.decision import Decision
from gridpilot.engine.state import SiteState
from gridpilot.recorded import load_uk_composite
from gridpilot.recorded.base import TimeSeries
from gridpilot.recorded.resample import resample
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy
from gridpilot.simulator.accounting import run_fixed_command
from gridpilot.simulator.backtest import run_backtest
from gridpilot.simulator.replay import KINDS, ReplayResult, replay

ROOT = Path(__file__).resolve().parents[2]
AGILE = ROOT / "tests/engine/data/agile-home.yaml"  # the rules-only Agile policy
DATA = ROOT / "examples/data/uk-2018-halfhourly.csv"
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(AGILE)


@pytest.fixture(scope="module")
def year() -> TimeSeries:
    return load_uk_composite(DATA)


def _local_day(series: TimeSeries, day: str, step_s: int = 300) -> TimeSeries:
    d = datetime.fromisoformat(day)
    start = int(d.replace(tzinfo=LONDON).timestamp())
    end = int(d.replace(day=d.day + 1, tzinfo=LONDON).timestamp())
    return resample(series.slice_time(start - 1800, end + 1800), step_s).slice_time(start, end)


def _check_physics(r: ReplayResult, params: BatteryParams) -> None:
    assert np.allclose(r.load_w, r.pv_w + r.grid_w + r.battery_w, atol=1e-6)
    assert (r.soc_pct >= params.min_soc_pct - 1e-9).all()
    assert (r.soc_pct <= params.max_soc_pct + 1e-9).all()
    # SOC continuity: each step starts where the last ended
    assert np.array_equal(r.soc_start_pct[1:], r.soc_pct[:-1])


@pytest.mark.parametrize(("day", "hours"), [("2018-03-25", 23), ("2018-10-28", 25)])
def test_dst_days(policy: Policy, year: TimeSeries, day: str, hours: int) -> None:
    s = _local_day(year, day)
    assert len(s) == hours * 12
    r = replay(policy, s, initial_soc_pct=50.0)
    _check_physics(r, policy.battery)
    local_h = np.array([datetime.fromtimestamp(int(t), UTC).astimezone(LONDON).hour
                        for t in r.start_s])
    winners = np.array(r.winners)[r.winner_code]
    in_peak = (local_h >= 16) & (local_h < 19)
    # The evening-peak rule follows the wall clock through the clock change: 36 ticks of
    # 5 minutes between 16:00 and 19:00 local, whatever the day's length.
    assert int(in_peak.sum()) == 36
    won_peak = winners == "rule:evening peak"
    assert not (won_peak & ~in_peak).any()
    assert (won_peak | (winners == "rule:plunge pricing"))[in_peak].all()
    # Overnight charging only inside 00:00-06:00 local.
    night = winners == "rule:cheap overnight charge"
    assert (local_h[night] < 6).all()


def test_a_real_week_balances_every_tick(policy: Policy, year: TimeSeries) -> None:
    s = resample(year.slice_time(int(datetime(2018, 6, 4, tzinfo=UTC).timestamp()),
                                 int(datetime(2018, 6, 11, tzinfo=UTC).timestamp())), 300)
    r = replay(policy, s)
    _check_physics(r, policy.battery)
    kinds = {KINDS[k] for k in np.unique(r.kind_code)}
    assert CommandKind.SELF_CONSUMPTION in kinds
    # a 20 % outage reserve guards every discharge: SOC never drains below it by discharging
    dis = r.battery_w > 1e-9
    assert (r.soc_pct[dis] >= 20.0 - 1e-6).all()


def test_replay_matches_the_model_with_a_fixed_command(policy: Policy,
                                                       year: TimeSeries) -> None:
    s = resample(year.slice_time(year.start_s[0], year.start_s[0] + 3 * 86400), 900)
    params = policy.battery
    cmd = Command(CommandKind.SELF_CONSUMPTION)

    def fixed(_p: Policy, _s: SiteState) -> Decision:
        return Decision(command=cmd, winner="fixed", layer="default", reason="test")

    r = replay(policy, s, initial_soc_pct=30.0, decide_fn=fixed)
    bat, grid, soc = run_fixed_command(cmd, s.columns["load_w"], s.columns["pv_w"], 900, params,
                                       30.0)
    np.testing.assert_array_equal(r.battery_w, bat)
    np.testing.assert_array_equal(r.soc_pct, soc)
    np.testing.assert_array_equal(r.grid_w, grid)


def test_states_see_only_published_prices_and_carry_memory(policy: Policy,
                                                          year: TimeSeries) -> None:
    s = resample(year.slice_time(int(datetime(2018, 1, 15, tzinfo=UTC).timestamp()),
                                 int(datetime(2018, 1, 17, tzinfo=UTC).timestamp())), 1800)
    seen: list[SiteState] = []
    from gridpilot.engine.decide import decide

    def spy(p: Policy, st: SiteState) -> Decision:
        seen.append(st)
        return decide(p, st)

    replay(policy, s, initial_soc_pct=50.0, decide_fn=spy)
    for st in seen:
        known = policy.tariff.known_until(st.time)
        assert known is not None
        assert st.prices.end_s <= int(known.timestamp())
        assert st.prices.start_s[0] <= st.time.timestamp() < st.prices.start_s[0] + 1800
        assert st.forecast_net_load_w is None  # no strategy in this policy reads one
    # before 16:00 local only today's prices (to 23:00), after it also tomorrow's
    morning = next(st for st in seen if st.time.hour == 10)
    evening = next(st for st in seen if st.time.hour == 17)
    assert morning.prices.end_s - morning.time.timestamp() <= 13 * 3600
    assert evening.prices.end_s - evening.time.timestamp() > 24 * 3600
    # anti-flap memory and the month peak travel from tick to tick
    assert seen[0].active_command is None
    assert all(st.active_command is not None for st in seen[1:])
    peaks = [st.month_peak_import_w for st in seen]
    assert peaks == sorted(peaks) and peaks[-1] > 0


def test_backtest_bills_policy_baselines_and_optimum(policy: Policy, year: TimeSeries) -> None:
    s = resample(year.slice_time(int(datetime(2018, 7, 1, tzinfo=UTC).timestamp()),
                                 int(datetime(2018, 7, 15, tzinfo=UTC).timestamp())), 1800)
    bt = run_backtest(policy, s, optimal=True)
    assert bt.optimum is not None and bt.optimal_cost_bound is not None
    assert bt.optimal_cost_bound <= bt.optimum.bill + bt.optimum.wear_cost + 1e-6
    assert bt.optimal_cost_bound <= bt.policy.bill + bt.policy.wear_cost
    assert bt.optimal_cost_bound <= bt.self_consumption.bill + bt.self_consumption.wear_cost
    assert bt.self_consumption.bill < bt.no_battery.bill
    sc = bt.savings_captured_vs_bound
    assert sc is not None and sc <= 1.0
    # the example's always-on 20 % outage reserve binds the optimum as it binds the policy
    assert bt.optimum_floor_soc_pct == 20.0
    assert bt.optimum_result is not None
    assert bt.optimum_result.soc_pct.min() >= 20.0 - 1e-6
    assert bt.optimum_result.soc_pct.min() < 20.5  # and it is used down to the reserve


def test_hourly_steps_bill_the_mean_of_their_half_hour_prices(policy: Policy,
                                                              year: TimeSeries) -> None:
    from gridpilot.simulator.replay import tick_prices

    t_s = year.start_s[:48:2]
    imp, exp = tick_prices(policy.tariff, t_s, 3600)
    halves = policy.tariff.import_prices(year.start_s[:48]).reshape(-1, 2).mean(axis=1)
    np.testing.assert_allclose(imp, halves)
    np.testing.assert_allclose(exp, policy.tariff.export_prices(year.start_s[:48])
                               .reshape(-1, 2).mean(axis=1))
    # 01:00-02:00 UTC on 1 January 2018: 0.13847 and 0.06820 GBP/kWh in the data file
    assert imp[1] == pytest.approx((0.13847 + 0.06820) / 2)


def test_strategies_get_a_forecast_aligned_with_the_prices(year: TimeSeries) -> None:
    bench = load_policy(ROOT / "benchmarks/policies/bench-decide.yaml")
    s = resample(year.slice_time(int(datetime(2018, 2, 1, tzinfo=UTC).timestamp()),
                                 int(datetime(2018, 2, 10, tzinfo=UTC).timestamp())), 1800)
    seen: list[SiteState] = []
    from gridpilot.engine.decide import decide

    def spy(p: Policy, st: SiteState) -> Decision:
        seen.append(st)
        return decide(p, st)

    replay(bench, s, initial_soc_pct=50.0, decide_fn=spy)
    for st in seen:
        assert st.forecast_net_load_w is not None
        assert st.forecast_net_load_w.shape == st.prices.start_s.shape
    # after a week the forecast has learnt the daily shape: the evening needs more than 4 am
    late = seen[-1]
    fc = late.forecast_net_load_w
    assert fc is not None
    local_h = [datetime.fromtimestamp(int(t), UTC).astimezone(LONDON).hour
               for t in late.prices.start_s]
    evening = [f for f, h in zip(fc, local_h, strict=True) if h == 18]
    night = [f for f, h in zip(fc, local_h, strict=True) if h == 4]
    assert evening and night and min(evening) > max(night)


def test_run_time_overrides_win_while_they_last(policy: Policy, year: TimeSeries) -> None:
    from gridpilot.engine.program import CompiledOverride
    from gridpilot.rules.schema import Action

    start = int(datetime(2018, 1, 17, 12, tzinfo=UTC).timestamp())
    s = resample(year.slice_time(start, start + 6 * 3600), 300)
    ov = CompiledOverride("away", Action(kind=CommandKind.IDLE), float(start + 3600),
                          float(start + 7200))
    r = replay(policy, s, initial_soc_pct=60.0, overrides=[ov])
    winners = np.array(r.winners)[r.winner_code]
    inside = (r.start_s >= start + 3600) & (r.start_s < start + 7200)
    assert (winners[inside] == "override:away").all()
    assert not (winners[~inside] == "override:away").any()
    assert (r.battery_w[inside] == 0.0).all()
