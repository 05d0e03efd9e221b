"""`gridpilot device export` for a homeassistant device: the recorder's history as the plain CSV
the simulator reads, the slot means time-weighted, unknown stretches left out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gridpilot.clock import ManualClock
from gridpilot.devices.context import DeviceContext
from gridpilot.devices.homeassistant import HomeAssistantAdapter
from gridpilot.devices.homeassistant.history import slot_means
from gridpilot.devices.registry import create_device
from gridpilot.recorded import load_data
from tests.emulators.homeassistant import HomeAssistantEmulator

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def emu() -> Iterator[HomeAssistantEmulator]:
    with HomeAssistantEmulator() as e:
        yield e


def test_slot_means_are_time_weighted_and_unknown_is_none() -> None:
    samples: list[tuple[float, float | None]] = [(0, 100.0), (150, 300.0), (600, None),
                                                 (700, 50.0)]
    assert slot_means(samples, 0, 900, 300) == [200.0, 300.0, None]


async def test_export_writes_what_simulate_reads(emu: HomeAssistantEmulator,
                                                 tmp_path: Path) -> None:
    clock = ManualClock(T0)
    emu.clock = lambda: clock.now().timestamp()
    emu.simulate = False
    # An hour of recorder history: load steps 400 -> 1000 W at 00:30, PV in kW, and a
    # 10-minute stretch where the PV sensor was unavailable.
    emu.put("sensor.load_power", "400")
    emu.put("sensor.pv_power", "0.2")
    clock.advance(30 * 60)
    emu.put("sensor.load_power", "1000")
    clock.advance(10 * 60)
    emu.put("sensor.pv_power", "unavailable")
    clock.advance(10 * 60)
    emu.put("sensor.pv_power", "0.5")
    clock.advance(60 * 60)
    context = DeviceContext(name="homeassistant", clock=clock)
    adapter = create_device({
        "type": "homeassistant", "url": emu.url, "token": emu.token,
        "entities": {"soc_pct": {"entity_id": "sensor.battery_soc"},
                     "load_w": {"entity_id": "sensor.load_power"},
                     "pv_w": {"entity_id": "sensor.pv_power"}},
    }, context)
    assert isinstance(adapter, HomeAssistantAdapter)
    out = tmp_path / "history.csv"
    try:
        result = await adapter.export(T0, T0 + timedelta(hours=1), out)
    finally:
        await adapter.aclose()
    lines = out.read_text().splitlines()
    assert lines[0] == "timestamp,load_w,pv_w"
    assert lines[1] == "2026-06-01T00:00:00Z,400.0,200.0"
    assert "2026-06-01T00:30:00Z,1000.0,200.0" in lines
    assert not any(line.startswith(("2026-06-01T00:40", "2026-06-01T00:45")) for line in lines)
    assert lines[-1] == "2026-06-01T00:55:00Z,1000.0,500.0"
    assert result.records == 12 - 2 and result.format == "csv"
    series = load_data(out)  # the simulator's own loader takes it as it is
    assert series.interval_s == 300
    assert float(series.columns["load_w"][0]) == 400.0
    assert float(series.columns["pv_w"][-1]) == 500.0


SITE = """\
version: 1
site:
  name: ha house
  timezone: UTC
  battery: {{capacity_kwh: 5, max_charge_w: 3000, max_discharge_w: 3000}}
tariff:
  import: {{default: 0.25}}
device:
  type: homeassistant
  url: {url}
  token: ${{HA_TOKEN}}
  timeout_s: 2
  entities:
    soc_pct: {{entity_id: sensor.battery_soc}}
    load_w: {{entity_id: sensor.load_power}}
    pv_w: {{entity_id: sensor.pv_power}}
"""


def test_device_export_then_simulate_through_the_command_line(
    emu: HomeAssistantEmulator, tmp_path: Path
) -> None:
    import json

    from tests.cli.runner import run_cli

    clock = ManualClock(datetime(2026, 6, 30, 23, tzinfo=UTC))
    emu.clock = lambda: clock.now().timestamp()
    emu.simulate = False
    emu.put("sensor.pv_power", "unavailable")  # the night before: the recorder knows a state
    clock.advance(3600)
    for hour in range(24):  # a day of hourly changes: load 300..1450 W, PV 0..2.3 kW
        emu.put("sensor.load_power", str(300 + 50 * hour))
        emu.put("sensor.pv_power", f"{0.1 * hour:.1f}")
        clock.advance(3600)
    policy = tmp_path / "site.yaml"
    policy.write_text(SITE.format(url=emu.url))
    out = tmp_path / "history.csv"
    proc = run_cli("device", "export", str(policy), "--from", "2026-07-01", "--to", "2026-07-02",
                   "--out", str(out), env={"HA_TOKEN": emu.token})
    assert proc.returncode == 0, proc.stderr
    assert "288" in proc.stdout
    proc = run_cli("simulate", str(policy), "--data", str(out), "--json", "--no-plots",
                   env={"HA_TOKEN": "unused"})
    assert proc.returncode == 0, proc.stderr
    no_battery = json.loads(proc.stdout)["results"]["no_battery"]
    assert no_battery["load_kwh"] == pytest.approx(sum(300 + 50 * h for h in range(24)) / 1000)
    assert no_battery["pv_kwh"] == pytest.approx(sum(100 * h for h in range(24)) / 1000)
