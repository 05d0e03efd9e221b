"""self_consumption as a policy's default, on a real sunny UK day."""

from __future__ import annotations

from pathlib import Path

from gridpilot.engine.commands import CommandKind
from tests.engine.support import dynamic_tariff, make_policy, policy_doc, uk_day
from tests.strategies.replay import replay

K = CommandKind


def test_covers_the_house_and_stores_pv_surplus(tmp_path: Path) -> None:
    policy = make_policy(tmp_path, policy_doc(
        tariff=dynamic_tariff(),
        strategies={"solar": {"type": "self_consumption"}},
        default={"strategy": "solar"},
    ))
    ticks = replay(policy, uk_day("2018-06-21"), soc_pct=30.0)
    assert {x.decision.command.kind for x in ticks} == {K.SELF_CONSUMPTION}
    surplus = [x for x in ticks if x.battery_w < 0]
    assert surplus, "a 4 kWp June day has PV surplus to store"
    for x in ticks:
        # Never imports while the battery could cover the load, never charges from the grid.
        if x.soc_before_pct > 6 and x.battery_w >= 0:
            assert x.grid_w <= 1e-6 or x.battery_w >= 2999
        if x.battery_w < 0:
            assert x.grid_w <= 1e-6


def test_zero_export_variant(tmp_path: Path) -> None:
    policy = make_policy(tmp_path, policy_doc(
        strategies={"solar": {"type": "self_consumption", "max_export_w": 0}},
        default={"strategy": "solar"},
    ))
    ticks = replay(policy, uk_day("2018-06-21"), soc_pct=30.0, forecast=False)
    assert {x.decision.command.kind for x in ticks} == {K.LIMIT_EXPORT}
    assert all(x.decision.command.max_export_w == 0 for x in ticks)
