"""A metered controllable load (EV charger, heat pump) is excluded from what the load forecast
learns: the device reading carries it, the state keeps it, the scheduler subtracts it."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from gridpilot.clock import ManualClock
from gridpilot.devices.base import DeviceReading
from gridpilot.forecasts.providers import TimeOfWeekAverage, forecast_load_w
from gridpilot.scheduler.device import snapshot_from_reading
from gridpilot.scheduler.loop import Scheduler
from tests.scheduler.fakes import FakeDevice, load_fake_policy, write_policy

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@given(load=st.floats(0, 50_000), ev=st.one_of(st.none(), st.floats(-1000, 60_000),
                                                 st.just(math.nan)))
def test_the_learnt_load_is_never_negative_and_none_changes_nothing(load: float,
                                                                    ev: float | None) -> None:
    got = forecast_load_w(load, ev)
    assert 0.0 <= got <= load
    if ev is None or not math.isfinite(ev) or ev <= 0:
        assert got == load


def test_the_reading_reaches_the_state() -> None:
    reading = DeviceReading(time=T0, soc_pct=50, load_w=9000, pv_w=0, grid_w=9000,
                            battery_w=0, controllable_load_w=7400)
    snap = snapshot_from_reading(reading, T0)
    assert snap.site_state().controllable_load_w == 7400
    assert snap.as_dict()["controllable_load_w"] == 7400
    plain = snapshot_from_reading(dataclasses.replace(reading, controllable_load_w=None), T0)
    assert plain.site_state().controllable_load_w is None
    assert "controllable_load_w" not in plain.as_dict()


@dataclasses.dataclass
class ChargingDevice(FakeDevice):
    """Reads 500 W of house load plus an EV charging at 7 kW, metered apart."""

    async def read_state(self) -> DeviceReading:
        plain = await super().read_state()
        return dataclasses.replace(plain, load_w=7500.0, grid_w=7500.0, controllable_load_w=7000.0)


class Recording(TimeOfWeekAverage):
    def __init__(self) -> None:
        super().__init__("UTC")
        self.seen: list[float] = []

    def observe(self, t: datetime, load_w: float, pv_w: float) -> None:
        self.seen.append(load_w)
        super().observe(t, load_w, pv_w)


async def test_the_scheduler_learns_the_load_without_the_charger(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    policy: Any = load_fake_policy(write_policy(tmp_path))
    provider = Recording()
    device: Any = ChargingDevice(clock, policy.limits)
    sched = Scheduler(policy, device, clock=clock, state_dir=tmp_path / "s", forecast=provider)
    for _ in range(2):
        await sched.tick()
        clock.advance(60)
    assert provider.seen == [500.0, 500.0]
    assert sched.last_state is not None and sched.last_state.load_w == 7500.0
    assert np.allclose(provider.forecast(np.asarray([int(T0.timestamp())])), 500.0)
