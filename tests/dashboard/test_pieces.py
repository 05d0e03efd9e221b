"""The status API's pieces on their own: today's cost, the decision search, the plan ahead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.engine.decide import decide
from gridpilot.engine.state import PriceOutlook, SiteState
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy
from gridpilot.scheduler.audit_query import actuals, last_error, search_decisions
from gridpilot.scheduler.cost_today import cost_today
from gridpilot.scheduler.plan_ahead import MAX_PLAN_SLOTS, project_plan
from gridpilot.scheduler.websession import loopback_host
from tests.dashboard.live import ROOT

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 7, 1, 11, 0, tzinfo=UTC)  # 12:00 BST


def tick(ts: datetime, grid_w: float, load_w: float, pv_w: float, **extra: Any) -> dict[str, Any]:
    return {"ts": ts.isoformat(), "kind": "tick", "status": "ok",
            "state": {"grid_w": grid_w, "load_w": load_w, "pv_w": pv_w}, **extra}


def test_cost_today_counts_each_tick_until_the_next_from_local_midnight() -> None:
    midnight = datetime(2026, 6, 30, 23, 0, tzinfo=UTC)  # 00:00 BST
    records = [
        tick(midnight - timedelta(minutes=30), 9e9, 0, 0),  # yesterday: not counted
        tick(midnight, 2000, 1000, 0),                       # 1 h of 2 kW import
        tick(midnight + timedelta(hours=1), -1000, 0, 500),  # 1 h of 1 kW export
        tick(NOW - timedelta(hours=1), 1000, 1000, 0),        # gap before: capped at 2 h
    ]
    price = {True: (0.30, 0.10)}
    doc = cost_today(records, NOW, tz=LONDON, interval_s=3600.0,
                     price_at=lambda t: price[True])
    assert doc["since"] == "2026-07-01T00:00:00+01:00"
    # with: 2 kWh * 0.30 - 1 kWh... over 2 h (cap) * 0.10 + 1 kWh * 0.30
    assert doc["cost"] == round(2 * 0.30 - 2 * 0.10 + 1 * 0.30, 4)
    # without: 1 kWh * 0.30, then 0.5 kW export for 2 h * 0.10, then 1 kWh * 0.30
    assert doc["cost_without_battery"] == round(0.30 - 1.0 * 0.10 + 0.30, 4)
    assert doc["hours_covered"] == 4.0 and doc["ticks_without_price"] == 0
    unknown = cost_today(records, NOW, tz=LONDON, interval_s=3600.0, price_at=lambda t: None)
    assert unknown["cost"] == 0 and unknown["ticks_without_price"] == 3


def test_search_finds_every_word_newest_first_and_other_records_are_left_out() -> None:
    records = [
        tick(NOW, 0, 0, 0, decision={"winner": "rule:cheap night", "reason": "charge"}),
        {"ts": NOW.isoformat(), "kind": "error", "error": "read timed out",
         "stage": "read_state"},
        tick(NOW + timedelta(minutes=5), 0, 0, 0, decision={"winner": "default",
                                                            "reason": "Self consumption"}),
    ]
    assert [r["decision"]["winner"] for r in search_decisions(records)] == [
        "default", "rule:cheap night"]
    assert [r["decision"]["winner"] for r in search_decisions(records, "CHEAP charge")] == [
        "rule:cheap night"]
    assert search_decisions(records, "cheap self") == []
    assert search_decisions(records, limit=1)[0]["decision"]["winner"] == "default"
    assert last_error(records) == {"ts": NOW.isoformat(), "kind": "error",
                                   "error_kind": "read_state", "error": "read timed out"}
    assert last_error(records[2:]) is None
    assert len(actuals(records, NOW + timedelta(hours=1), hours=1)) == 2


def test_only_loopback_names_pass_the_host_check() -> None:
    for ok in ("127.0.0.1", "127.0.0.1:8787", "localhost:1", "[::1]:8787", "[::1]", "::1"):
        assert loopback_host(ok), ok
    for bad in ("", "evil.example", "localhost.evil.example", "127.0.0.1.nip.io:80",
                "[::2]:80", "0.0.0.0", "10.0.0.1:8787"):
        assert not loopback_host(bad), bad


@cache
def economy7() -> Policy:
    return load_policy(ROOT / "examples" / "policies" / "economy7.yaml")


@settings(max_examples=25, deadline=None)
@given(soc=st.floats(0, 100), slots=st.integers(1, 60),
       net=st.lists(st.floats(-8000, 8000), min_size=60, max_size=60),
       offset_s=st.integers(0, 1799))
def test_the_plan_keeps_the_battery_inside_its_limits_and_covers_the_slots(
        soc: float, slots: int, net: list[float], offset_s: int) -> None:
    policy = economy7()
    start = int(datetime(2026, 1, 14, tzinfo=UTC).timestamp())
    starts = np.arange(slots, dtype=np.int64) * 1800 + start
    prices = PriceOutlook(starts, start + slots * 1800, np.linspace(0.1, 0.3, slots),
                          np.full(slots, 0.05))
    now = datetime.fromtimestamp(start + offset_s, UTC)
    state = SiteState(time=now, soc_pct=soc, load_w=500, pv_w=0, prices=prices,
                      forecast_net_load_w=np.asarray(net[:slots]))
    plan = project_plan(policy, state, lambda t: [], decide_fn=decide, hours=48)
    assert len(plan) == min(slots, MAX_PLAN_SLOTS)
    assert plan[0].start == now and plan[-1].end.timestamp() == start + slots * 1800
    b = policy.battery
    for slot in plan:
        assert min(soc, b.min_soc_pct) - 1e-6 <= slot.soc_pct <= max(soc, b.max_soc_pct) + 1e-6
        assert -b.max_charge_w - 1e-6 <= slot.battery_w <= b.max_discharge_w + 1e-6
        # The grid carries what the battery does not: load - pv - battery.
        assert slot.grid_w == pytest.approx(
            slot.load_w - slot.pv_w - slot.battery_w, abs=1e-6)


def test_the_mode_says_failsafe_yielding_error_or_running() -> None:
    from types import SimpleNamespace

    from gridpilot.scheduler.status_view import StatusView

    def view(ok: bool, failsafe: bool = False, person: bool = False,
             status: str = "ok") -> StatusView:
        s = SimpleNamespace(health=lambda: (ok, {"status": "stalled" if not ok else "ok"}),
                            failsafe_active=failsafe, person_mode=person,
                            last_report=SimpleNamespace(status=status), tick_count=1)
        return StatusView(s)  # type: ignore[arg-type]

    assert view(True).mode() == "running"
    assert view(False, failsafe=True).mode() == "failsafe"
    assert view(True, person=True).mode() == "yielding"
    assert view(True, status="error").mode() == "error"
    assert view(False).mode() == "stalled"


def test_a_plan_that_cannot_be_projected_is_an_error_in_the_status_not_a_failure() -> None:
    from types import SimpleNamespace

    from gridpilot.scheduler.status_view import StatusView

    def broken(*args: Any) -> Any:
        raise ValueError("strategy broke")

    prices = PriceOutlook(np.array([0], dtype=np.int64), 1800, np.array([0.2]), np.array([0.0]))
    state = SiteState(time=datetime.fromtimestamp(0, UTC), soc_pct=50, prices=prices)
    s = SimpleNamespace(last_state=state, tick_count=1, policy=economy7(), decide_fn=broken,
                        overrides=SimpleNamespace(all=lambda: []))
    view = StatusView(s)  # type: ignore[arg-type]
    assert view.plan() == [] and view.plan_error == "ValueError: strategy broke"
