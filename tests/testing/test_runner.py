"""The runner against the real decide() and battery model, on a small fixed-tariff policy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.engine.decision import Decision
from gridpilot.engine.program import CompiledOverride
from gridpilot.engine.state import SiteState
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy
from gridpilot.rules.scenario import ScenarioCase
from gridpilot.rules.scenario_state import PricesSpec
from gridpilot.testing.build_state import _fixed_prices
from gridpilot.testing.runner import CaseResult, Engine, default_engine, run_case
from tests.testing.conftest import BASE_POLICY


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    path = tmp_path_factory.mktemp("runner") / "policy.yaml"
    path.write_text(BASE_POLICY, encoding="utf-8")
    return load_policy(path)


def run(policy: Policy, case: dict[str, object], engine: Engine | None = None) -> CaseResult:
    return run_case(policy, ScenarioCase.model_validate(case), file="p.yaml", line=7,
                    engine=engine)


EVENING = {"at": "2026-01-15 17:30", "state": {"soc_pct": 80, "load_w": 900}}


def test_a_true_expectation_passes(policy: Policy) -> None:
    r = run(policy, {"name": "ok", **EVENING,
                     "expect": {"kind": "discharge", "power_w": "3000 +- 1",
                                "winner": "evening peak", "layer": "schedule",
                                "floor_soc_pct": 30, "bound_by": "reserve"}})
    assert r.outcome == "passed", r
    assert r.decision is not None and r.decision.command.kind.value == "discharge"
    assert r.at == datetime(2026, 1, 15, 17, 30, tzinfo=UTC)


def test_a_broken_case_fails_with_the_right_diff(policy: Policy) -> None:
    r = run(policy, {"name": "broken", **EVENING,
                     "expect": {"kind": "charge", "power_w": 3000, "winner": "night charge"}})
    assert r.outcome == "failed"
    (failure,) = r.failures
    rows = {row.field: row for row in failure.rows}
    assert (rows["kind"].expected, rows["kind"].actual, rows["kind"].ok) == (
        "charge", "discharge", False)
    assert rows["power_w"].ok and rows["power_w"].actual == "3000"
    assert (rows["winner"].expected, rows["winner"].actual) == (
        "rule:night charge", "rule:evening peak")
    assert failure.decision is r.decision and failure.line == 7


def test_expect_not_fails_when_the_decision_matches(policy: Policy) -> None:
    bad = run(policy, {"name": "n", **EVENING, "expect_not": [{"kind": "charge"},
                                                              {"kind": "discharge"}]})
    assert bad.outcome == "failed"
    assert [f.title for f in bad.failures] == ["expect_not [1]"]
    assert "matches what expect_not rules out" in bad.failures[0].message
    good = run(policy, {"name": "n", **EVENING, "expect_not": ["charge", "idle"]})
    assert good.outcome == "passed"


def test_trace_expectations(policy: Policy) -> None:
    low = {"at": "2026-01-15 17:30", "state": {"soc_pct": 25}}
    assert run(policy, {"name": "a", **low, "expect": {"bound_by": "guard:reserve"}}).passed
    r = run(policy, {"name": "b", **low, "expect": {"not_bound_by": "reserve"}})
    assert r.outcome == "failed"
    assert "guard:reserve" in r.failures[0].rows[0].actual
    r = run(policy, {"name": "c", **low,
                     "expect": {"outcomes": {"night charge": "not_active", "default": "won"}}})
    rows = {row.field: row for row in r.failures[0].rows}
    assert rows["outcome of rule:night charge"].ok
    assert not rows["outcome of default"].ok and rows["outcome of default"].actual == "outranked"


def test_override_wins_in_the_manual_layer(policy: Policy) -> None:
    r = run(policy, {"name": "o", **EVENING,
                     "overrides": [{"name": "boost", "action": {"kind": "charge",
                                                                "power_w": 1000}}],
                     "expect": {"kind": "charge", "power_w": 1000, "winner": "override:boost",
                                "layer": "manual"}})
    assert r.passed, r.failures
    expired = run(policy, {"name": "o", **EVENING,
                           "overrides": [{"name": "boost", "for": "30m",
                                          "start": "2026-01-15 16:00",
                                          "action": {"kind": "charge"}}],
                           "expect": "discharge"})
    assert expired.passed, expired.failures


def test_a_person_on_the_device_makes_it_yield(policy: Policy) -> None:
    r = run(policy, {"name": "y", **EVENING,
                     "state": {"device_mode": {"kind": "hold", "source": "person"}},
                     "expect": {"yielded": True, "winner": "device"}})
    assert r.passed, r.failures
    r = run(policy, {"name": "y", **EVENING, "expect": {"yielded": True}})
    assert r.outcome == "failed"


def test_sequence_follows_the_battery_model(policy: Policy) -> None:
    # 2500 W charging for 30 min at 95 % efficiency stores 1.1875 kWh: 11.875 % of 10 kWh.
    r = run(policy, {
        "name": "night", "at": "2026-01-15 00:30", "until": "07:30", "step": "30m",
        "state": {"soc_pct": 20},
        "checks": [
            {"by": "01:30", "soc_pct": "43.75 +- 0.001"},
            {"by": "07:30", "soc_pct": 90},
            {"during": "00:30-07:30", "expect": {"kind": ["charge", "hold"]}},
            {"at": "01:00", "expect": {"kind": "charge", "winner": "night charge"}},
        ],
    })
    assert r.passed, r.failures
    assert len(r.ticks) == 14
    assert r.ticks[1].soc_pct == pytest.approx(31.875)


def test_sequence_failures_name_the_check_and_time(policy: Policy) -> None:
    r = run(policy, {
        "name": "too greedy", "at": "2026-01-15 06:00", "until": "09:00", "step": "15m",
        "state": {"soc_pct": 20},
        "checks": [
            {"by": "07:00", "soc_pct": ">= 95"},
            {"max_changes": 0},
            {"during": "06:00-09:00", "expect": "charge"},
        ],
    })
    assert r.outcome == "failed"
    titles = [f.title for f in r.failures]
    assert titles == ["check 1 (by 07:00)", "check 2 (max_changes 0)",
                      "check 3 (during 06:00-09:00)"]
    by, changes, during = r.failures
    assert by.rows[0].expected == ">= 95" and float(by.rows[0].actual) < 95
    assert "charge→" in changes.message
    assert during.at is not None and during.at.astimezone(policy.tz).hour == 7
    assert "ticks in the window fail" in during.message


def test_min_dwell_is_checked_between_changes(policy: Policy) -> None:
    case = {
        "name": "dwell", "at": "2026-01-15 07:00", "until": "08:00", "step": "5m",
        "state": {"soc_pct": 50, "active_command": {"kind": "charge", "power_w": 2500,
                                                    "target_soc_pct": 90, "for": "10m"}},
    }
    # charge since 06:50, self-consumption from 07:30 when the night window closes: 40 min
    ok = run(policy, {**case, "checks": [{"min_dwell": "30m"}, {"max_changes": 1}]})
    assert ok.passed, ok.failures
    bad = run(policy, {**case, "checks": [{"min_dwell": "1h"}]})
    assert bad.outcome == "failed"
    assert "after the previous change" in bad.failures[0].message


def test_bad_times_are_errors_not_crashes(policy: Policy) -> None:
    r = run(policy, {"name": "dst", "at": "2026-03-29 01:30", "expect": "hold"})
    assert r.outcome == "error" and "does not exist" in r.message
    r = run(policy, {"name": "order", "at": "2026-01-15 10:00", "until": "2026-01-15 09:00",
                     "checks": [{"max_changes": 1}]})
    assert r.outcome == "error" and "after 'at'" in r.message


def test_an_engine_bug_is_an_error_result(policy: Policy) -> None:
    def boom(policy: Policy, state: SiteState, overrides: Sequence[CompiledOverride]) -> Decision:
        raise RuntimeError("strategy exploded")

    real = default_engine()
    engine = Engine(decide=boom, step=real.step, battery_params=real.battery_params)
    r = run(policy, {"name": "x", **EVENING, "expect": "hold"}, engine=engine)
    assert r.outcome == "error" and r.message == "RuntimeError: strategy exploded"


def test_skip(policy: Policy) -> None:
    r = run(policy, {"name": "s", **EVENING, "expect": "hold", "skip": "not yet"})
    assert r.outcome == "skipped" and r.message == "not yet"


@settings(max_examples=60, deadline=None)
@given(
    prices=st.lists(st.floats(-1, 1, allow_nan=False), min_size=1, max_size=96),
    offset_s=st.integers(-3600, 60 * 60 * 60),
)
def test_own_prices_always_start_at_the_current_slot(prices: list[float], offset_s: int) -> None:
    at = datetime(2026, 1, 15, 17, 10, tzinfo=UTC)
    source = _fixed_prices(PricesSpec.model_validate({"import": prices, "slot": "30m"}), at, UTC)
    t = datetime.fromtimestamp(at.timestamp() + offset_s, UTC)
    outlook, first = source(t)
    start = int(at.timestamp()) // 1800 * 1800
    index = (int(t.timestamp()) - start) // 1800
    if 0 <= index < len(prices):
        assert first == index and len(outlook) == len(prices) - index
        assert outlook.start_s[0] <= t.timestamp() < outlook.slot_end_s[0]
        np.testing.assert_array_equal(outlook.import_per_kwh, np.asarray(prices[index:]))
    else:
        assert len(outlook) == 0



PRICED = BASE_POLICY.replace(
    "rules:\n",
    "rules:\n  - name: paid to import\n    layer: schedule\n    when: {price_below: 0.0}\n"
    "    action: {kind: charge, target_soc_pct: 95}\n",
    1,
)


@pytest.fixture(scope="module")
def priced(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    path = tmp_path_factory.mktemp("priced") / "policy.yaml"
    path.write_text(PRICED, encoding="utf-8")
    return load_policy(path)


def test_own_prices_replace_the_tariff(priced: Policy) -> None:
    noon = {"at": "2026-01-15 12:10"}
    negative = run(priced, {"name": "p", **noon, "prices": {"import": [-0.05, 0.2]},
                            "expect": {"kind": "charge", "winner": "paid to import"}})
    assert negative.passed, negative.failures
    positive = run(priced, {"name": "p", **noon, "prices": {"import": [0.05, -0.2]},
                            "expect": {"winner": "paid to import"}})
    assert positive.outcome == "failed"  # the negative slot is the next one, not this one
    tariff = run(priced, {"name": "p", **noon, "expect_not": {"winner": "paid to import"}})
    assert tariff.passed, tariff.failures


def test_a_sequence_walks_through_its_own_price_slots(priced: Policy) -> None:
    r = run(priced, {
        "name": "slots", "at": "2026-01-15 12:00", "until": "14:00", "step": "10m",
        "prices": {"import": [0.3, -0.1, 0.3, -0.1], "slot": "30m"},
        "checks": [
            {"during": "12:30-13:00", "expect": {"winner": "paid to import"}},
            {"during": "13:30-14:00", "expect": {"winner": "paid to import"}},
            {"during": "12:00-12:30", "expect_not": {"winner": "paid to import"}},
            {"during": "13:00-13:30", "expect_not": {"winner": "paid to import"}},
        ],
    })
    assert r.passed, r.failures


def test_forecast_lists_align_with_the_case_prices(policy: Policy) -> None:
    from gridpilot.testing.build_state import build_state, price_source

    case = ScenarioCase.model_validate({
        "name": "f", "at": "2026-01-15 12:00", "until": "13:00",
        "prices": {"import": [0.1, 0.2, 0.3]},
        "state": {"forecast_net_load_w": [100, 200, 300]},
        "checks": [{"max_changes": 9}],
    })
    at = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    prices = price_source(policy, case, at)
    later = datetime(2026, 1, 15, 12, 40, tzinfo=UTC)
    state = build_state(case, later, prices=prices, soc_pct=50, load_w=0, pv_w=0, battery_w=0,
                        grid_w=None, active=None, active_since=None, month_peak_import_w=0)
    assert state.forecast_net_load_w is not None
    np.testing.assert_array_equal(state.forecast_net_load_w, [200.0, 300.0])
    np.testing.assert_array_equal(state.prices.import_per_kwh, [0.2, 0.3])
    bad = ScenarioCase.model_validate({
        "name": "f", "at": "2026-01-15 12:00", "state": {"forecast_net_load_w": [1, 2]},
        "expect": "hold",
    })
    r = run_case(policy, bad)
    assert r.outcome == "error" and "needs the case's own 'prices'" in r.message
