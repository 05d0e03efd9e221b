"""backup_reserve: force-charge under the reserve, pre-charge for risk windows in cheap slots."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from gridpilot.engine.battery import BatteryParams
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.proposal import StrategyContext
from gridpilot.engine.state import SiteState
from gridpilot.strategies.registry import create_strategy
from tests.engine.support import dynamic_tariff, make_policy, policy_doc, uk_day
from tests.strategies.replay import replay

K = CommandKind
BATTERY = BatteryParams(capacity_kwh=10, max_charge_w=3000, max_discharge_w=3000, min_soc_pct=5,
                        max_soc_pct=95)
CTX = StrategyContext(limits=BATTERY.limits(), reserve_soc_pct=5, battery=BATTERY)
T = datetime(2018, 1, 10, 12, tzinfo=UTC)


@pytest.mark.parametrize(("soc", "active", "kind"), [
    (17.0, None, K.CHARGE),                              # 3 below a 20 % reserve, margin 2
    (19.0, None, None),                                  # inside the margin: nothing yet
    (19.0, Command(K.CHARGE, power_w=3000), K.CHARGE),   # charging: carry on to the reserve
    (20.0, Command(K.CHARGE, power_w=3000), None),       # reached: stop
])
def test_force_charge_below_the_reserve(soc: float, active: Command | None,
                                        kind: K | None) -> None:
    s = create_strategy("backup_reserve", {"reserve_soc_pct": 20})
    p = s.propose(SiteState(time=T, soc_pct=soc, active_command=active), CTX)
    if kind is None:
        assert p.command is None, p.reason
    else:
        assert p.command is not None and p.command.kind is kind
        assert p.command.target_soc_pct == 20


def test_risk_window_needs_a_calendar_part() -> None:
    with pytest.raises(ValidationError):
        create_strategy("backup_reserve", {"risk_windows": [{"target_soc_pct": 90}]})
    with pytest.raises(ValidationError):
        create_strategy("backup_reserve", {"risk_windows": [{"time": "16:00-19:00",
                                                             "price_below": 0.1}]})


def test_precharges_in_the_cheapest_slots_to_meet_the_target_at_window_start(
    tmp_path: Path,
) -> None:
    doc = policy_doc(
        tariff=dynamic_tariff(),
        strategies={"backup": {"type": "backup_reserve", "reserve_soc_pct": 20,
                               "risk_windows": [{"name": "storm", "cron": "0 16 * * *",
                                                 "for": "3h", "target_soc_pct": 90}]}},
        rules=[{"name": "backup", "layer": "schedule", "strategy": "backup"}],
        default={"action": {"kind": "self_consumption"}},
        control={"min_dwell_s": 0},
    )
    policy = make_policy(tmp_path, doc)
    day = uk_day("2018-01-10")
    ticks = replay(policy, day, soc_pct=25.0, tick_s=300)
    by_hhmm = {datetime.fromtimestamp(x.t_s, UTC).strftime("%H:%M"): x for x in ticks}
    assert by_hhmm["16:00"].soc_before_pct >= 89.5
    charging = [x for x in ticks if x.decision.command.kind is K.CHARGE]
    assert charging
    # Every charge happened before the window and in the cheap slots: none in the 0.12-0.14
    # morning slots, and the 0.08195 slot at 03:00 (the cheapest of the day) was used.
    assert all(datetime.fromtimestamp(x.t_s, UTC).hour < 16 for x in charging)
    charged_prices = {x.import_price for x in charging}
    assert max(charged_prices) < 0.095
    assert 0.08195 in charged_prices
    # The battery holds the charge in the window (the house runs on the grid).
    inside = [x for x in ticks if 16 <= datetime.fromtimestamp(x.t_s, UTC).hour < 19]
    assert {x.decision.command.kind for x in inside} == {K.HOLD}
    assert all(x.battery_w <= 0 for x in inside)
