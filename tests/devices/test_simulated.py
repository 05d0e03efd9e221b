"""The simulated battery on the bundled real data (UK 2018), at manual and accelerated time."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gridpilot.clock import AcceleratedClock, ManualClock
from gridpilot.devices.simulated import SimulatedAdapter
from gridpilot.engine.commands import charge, discharge, idle
from gridpilot.engine.state import ModeSource
from gridpilot.errors import CommandError
from gridpilot.rules.loader import load_policy
from gridpilot.rules.policy import Policy
from gridpilot.scheduler.site_device import device_for_policy

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "examples" / "data" / "uk-2018-halfhourly.csv"

POLICY = """\
version: 1
site:
  name: test house
  timezone: Europe/London
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000, min_soc_pct: 10}
tariff:
  import: {default: 0.25}
device:
  type: simulated
  initial_soc_pct: 40
"""


def policy(tmp_path: Path, extra: str = "") -> Policy:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY + extra)
    return load_policy(path)


def rows() -> dict[str, tuple[float, float]]:
    with DATA.open() as f:
        return {r["timestamp"]: (float(r["load_w"]), float(r["pv_w"])) for r in csv.DictReader(f)}


async def test_reads_the_recorded_data_at_the_same_time_of_year(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 6, 21, 12, 10, tzinfo=UTC))
    device = device_for_policy(policy(tmp_path), clock=clock)
    assert isinstance(device, SimulatedAdapter)
    reading = await device.read_state()
    load_w, pv_w = rows()["2018-06-21T12:00:00Z"]
    assert (reading.load_w, reading.pv_w) == (load_w, pv_w)
    assert reading.soc_pct == 40
    assert reading.device_mode is not None
    assert reading.device_mode.source is ModeSource.DEFAULT
    assert reading.load_w == pytest.approx(
        (reading.pv_w or 0) + (reading.grid_w or 0) + (reading.battery_w or 0))


async def test_charging_raises_the_soc_by_the_energy_stored(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 1, 15, 2, 0, tzinfo=UTC))
    device = device_for_policy(policy(tmp_path), clock=clock)
    await device.read_state()
    applied = await device.apply(charge(2000, 90).with_(floor_soc_pct=10), valid_for_s=60)
    assert applied.confirmed
    clock.advance(1800)
    reading = await device.read_state()
    # 2000 W for 30 min at 95 % charge efficiency into 10 kWh = +9.5 %.
    assert reading.soc_pct == pytest.approx(49.5, abs=1e-6)
    assert reading.battery_w == pytest.approx(-2000)
    assert reading.device_mode is not None
    assert reading.device_mode.source is ModeSource.GRIDPILOT


async def test_discharge_stops_at_the_floor_and_release_hands_back(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 1, 15, 18, 0, tzinfo=UTC))
    device = device_for_policy(policy(tmp_path), clock=clock)
    await device.apply(discharge(3000, 20), valid_for_s=60)
    clock.advance(6 * 3600)
    reading = await device.read_state()
    assert reading.soc_pct == pytest.approx(20, abs=0.01)
    await device.release()
    reading = await device.read_state()
    assert reading.device_mode is not None
    assert reading.device_mode.source is ModeSource.DEFAULT


async def test_command_outside_limits_is_refused(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    device = device_for_policy(policy(tmp_path), clock=clock)
    with pytest.raises(CommandError, match="max_charge_w"):
        await device.apply(charge(9000, 90).with_(floor_soc_pct=10), valid_for_s=60)


async def test_accelerated_time_replays_a_day(tmp_path: Path) -> None:
    base = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    start = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
    clock = AcceleratedClock(start, speed=3600.0, base=base)
    device = device_for_policy(policy(tmp_path), clock=clock)
    await device.apply(idle().with_(floor_soc_pct=10), valid_for_s=60)
    await device.read_state()
    base.advance(24)  # 24 real seconds = one simulated day
    reading = await device.read_state()
    assert reading.time == start + timedelta(days=1)
    assert reading.extra["data_time"] == "2018-03-11T00:00:00+00:00"
    assert reading.soc_pct == pytest.approx(40)  # idle: nothing moved


async def test_start_setting_and_export(tmp_path: Path) -> None:
    from gridpilot.recorded import load_data

    clock = ManualClock(datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    pol = policy(tmp_path, "  start: 2018-07-01T00:00:00+00:00\n")
    device = device_for_policy(pol, clock=clock)
    reading = await device.read_state()
    assert reading.extra["data_time"] == "2018-07-01T00:00:00+00:00"
    out = tmp_path / "slice.csv"
    start = datetime(2018, 7, 1, tzinfo=UTC)
    result = await device.export(start, start + timedelta(days=2), out)  # type: ignore[attr-defined]
    assert result.records == 96
    series = load_data(out)
    assert len(series) == 96
    assert float(series.columns["load_w"][0]) == rows()["2018-07-01T00:00:00Z"][0]
