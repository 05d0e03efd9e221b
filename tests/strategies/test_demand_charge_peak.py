"""Under a demand charge no strategy, and no charge rule, bills a higher monthly peak than the
same site without a battery: a grid charge is capped at the month's peak so far."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.engine.decide import decide
from gridpilot.engine.state import SiteState
from gridpilot.recorded.base import LoadReport, TimeSeries
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy
from gridpilot.simulator.replay import replay

HEAD = """\
version: 1
site:
  name: demand test
  timezone: Europe/Berlin
  battery: {capacity_kwh: 10, max_charge_w: 6000, max_discharge_w: 6000, min_soc_pct: 5}
tariff:
  currency: EUR
  demand_charge_per_kw: 14.5
  import:
    default: 0.30
    periods:
      - {name: night, time: "22:00-06:00", price: 0.10}
  export: {default: 0.05}
"""

POLICIES = {
    "self_consumption": "default: {strategy: self_consumption}\n",
    "peak_shaving": (
        "strategies:\n  shave: {type: peak_shaving, max_import_w: 3000}\n"
        "default: {strategy: shave}\n"
    ),
    "peak_shaving_low": (
        "strategies:\n  shave: {type: peak_shaving, max_import_w: 500, recharge_below_w: 400}\n"
        "default: {strategy: shave}\n"
    ),
    "tariff_arbitrage": (
        "strategies:\n  arb: {type: tariff_arbitrage}\ndefault: {strategy: arb}\n"
    ),
    "backup_reserve": (
        "strategies:\n  backup: {type: backup_reserve, reserve_soc_pct: 60}\n"
        "default: {strategy: backup}\n"
    ),
    "charge_rule": (
        "rules:\n  - name: refill\n    layer: schedule\n    when: {time: \"22:00-06:00\"}\n"
        "    action: {kind: charge, power_w: 6000, target_soc_pct: 100}\n"
        "default: {action: {kind: self_consumption}}\n"
    ),
}


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Policy]:
    root: Path = tmp_path_factory.mktemp("demand")
    out = {}
    for name, body in POLICIES.items():
        path = root / f"{name}.yaml"
        path.write_text(HEAD + body)
        out[name] = load_policy(path)
    return out


START_S = int(datetime(2026, 1, 12, 18, 0, tzinfo=UTC).timestamp())


@settings(max_examples=12, deadline=None)
@given(
    load=st.lists(st.floats(0, 5000), min_size=8, max_size=40),
    pv=st.lists(st.floats(0, 3000), min_size=8, max_size=40),
    soc0=st.floats(5, 100),
)
def test_no_strategy_bills_a_higher_peak_than_no_battery(
    policies: dict[str, Policy], load: list[float], pv: list[float], soc0: float
) -> None:
    n = min(len(load), len(pv))
    ld = np.asarray(load[:n], dtype=np.float64)
    p = np.asarray(pv[:n], dtype=np.float64)
    series = TimeSeries(START_S + np.arange(n, dtype=np.int64) * 1800, 1800,
                        {"load_w": ld, "pv_w": p}, LoadReport("generated"))
    no_battery_peak = float(np.maximum(ld - p, 0.0).max())
    for name, policy in policies.items():
        rep = replay(policy, series, initial_soc_pct=soc0)
        peak = float(np.maximum(rep.grid_w, 0.0).max())
        assert peak <= no_battery_peak + 1e-6, name


def test_the_cap_is_in_the_trace(policies: dict[str, Policy]) -> None:
    state = SiteState(time=datetime(2026, 1, 14, 23, 0, tzinfo=UTC), soc_pct=40.0,
                      load_w=1000.0, month_peak_import_w=2500.0)
    d = decide(policies["charge_rule"], state)
    assert d.command.kind.value == "charge"
    assert d.command.power_w == pytest.approx(1500.0)
    assert d.command.max_import_w == pytest.approx(2500.0)
    assert any(h.limit == "tariff.demand_charge_per_kw" for h in d.limits)
    # at the start of a month nothing is paid for yet: no grid charge
    first = SiteState(time=datetime(2026, 2, 1, 0, 0, tzinfo=UTC), soc_pct=40.0, load_w=1000.0)
    assert decide(policies["charge_rule"], first).command.kind.value == "hold"
