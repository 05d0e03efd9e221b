"""The pure tick helpers and what the loop hands to decide(): month peak, forecast, health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gridpilot.clock import ManualClock
from gridpilot.engine.commands import CommandKind, self_consumption
from gridpilot.engine.state import DeviceMode, ModeSource, PriceOutlook, ReadingAges
from gridpilot.scheduler.device import Snapshot
from gridpilot.scheduler.loop import Scheduler
from gridpilot.scheduler.persist import RunMemory
from gridpilot.scheduler.tick import note_month_peak, recognise_own_mode
from tests.scheduler.fakes import FakeDevice, fake_decide, load_fake_policy, write_policy

T0 = datetime(2026, 3, 31, 22, 0, tzinfo=UTC)


@given(st.lists(st.tuples(st.sampled_from(["2026-03", "2026-04", "2026-05"]),
                          st.floats(-5000, 20_000)), max_size=30))
def test_month_peak_is_the_highest_import_of_the_current_month(
    readings: list[tuple[str, float]],
) -> None:
    mem = RunMemory()
    for i, (month, grid_w) in enumerate(readings):
        note_month_peak(mem, month, grid_w)
        # The readings since the month last changed, and nothing older.
        start = i
        while start > 0 and readings[start - 1][0] == month:
            start -= 1
        expected = max([0.0] + [g for _, g in readings[start: i + 1]])
        assert mem.peak_month == month and mem.month_peak_import_w == expected


def _snap(mode: DeviceMode) -> Snapshot:
    return Snapshot(T0, 50, 0, 0, 0, 0, ReadingAges(), mode)


def test_own_mode_is_recognised_only_when_kind_and_expiry_match() -> None:
    expires = T0 + timedelta(hours=1)
    mem = RunMemory(sent_command=self_consumption(), sent_expires=expires)
    ours = DeviceMode(CommandKind.SELF_CONSUMPTION, ModeSource.PERSON, "X", expires + timedelta(
        seconds=30))
    assert recognise_own_mode(_snap(ours), mem).device_mode.source is ModeSource.GRIDPILOT  # type: ignore[union-attr]
    for other in (
        DeviceMode(CommandKind.CHARGE, ModeSource.PERSON, "X", expires),
        DeviceMode(CommandKind.SELF_CONSUMPTION, ModeSource.PERSON, "X",
                   expires + timedelta(minutes=30)),
        DeviceMode(CommandKind.SELF_CONSUMPTION, ModeSource.PERSON, "X", None),
    ):
        assert recognise_own_mode(_snap(other), mem).device_mode is other
    assert recognise_own_mode(_snap(ours), RunMemory()).device_mode is ours


class PricedTariff:
    """Four half-hour slots from the tick on."""

    def outlook(self, t: datetime, horizon_s: float = 86_400) -> PriceOutlook:
        start = int(t.timestamp()) // 1800 * 1800
        starts = np.arange(start, start + 4 * 1800, 1800, dtype=np.int64)
        prices = np.array([0.3, 0.1, 0.2, 0.4])
        return PriceOutlook(starts, int(starts[-1]) + 1800, prices, prices / 2)


async def test_decide_gets_prices_forecast_peak_and_the_remembered_layer(tmp_path: Path) -> None:
    seen: list[Any] = []

    def spy(policy: Any, state: Any, overrides: Any) -> Any:
        seen.append(state)
        return fake_decide(policy, state, overrides)

    clock = ManualClock(T0)
    policy = load_fake_policy(write_policy(tmp_path))
    policy.tariff = PricedTariff()
    device = FakeDevice(clock, policy.limits)
    sched = Scheduler(policy, device, clock=clock, state_dir=tmp_path / "s", decide_fn=spy)
    for _ in range(3):
        await sched.tick()
        clock.advance(3600)  # crosses into April (site time: Europe/London, BST)
    first, _second, third = seen
    assert len(first.prices) == 4
    assert first.forecast_net_load_w is not None and first.forecast_net_load_w.shape == (4,)
    # FakeDevice reads load 500 W, no PV: the learnt forecast is that net load.
    assert np.allclose(third.forecast_net_load_w, 500.0)
    assert first.month_peak_import_w == 500.0
    assert first.active_command is None and third.active_command is not None
    assert third.active_layer == "default"
    assert third.active_since == T0


async def test_health_says_stalled_and_failsafe(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    policy = load_fake_policy(write_policy(tmp_path))
    device = FakeDevice(clock, policy.limits)
    sched = Scheduler(policy, device, clock=clock, state_dir=tmp_path / "s",
                      decide_fn=fake_decide)
    ok, doc = sched.health()
    assert not ok and doc["status"] == "starting"
    await sched.tick()
    ok, doc = sched.health()
    assert ok and doc["status"] == "ok" and doc["current_command"] == "self_consumption"
    clock.advance(60 * 4)
    ok, doc = sched.health()
    assert not ok and doc["status"] == "stalled"
    device.read_faults = ["unreachable"] * 10
    for _ in range(7):
        clock.advance(60)
        await sched.tick()
    ok, doc = sched.health()
    assert not ok and doc["status"] == "failsafe"
