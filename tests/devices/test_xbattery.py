"""The xBattery cloud adapter and the composite device, against the emulated API over HTTPS."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from gridpilot.clock import ManualClock
from gridpilot.devices.composite import CompositeAdapter, CompositeSettings
from gridpilot.devices.xbattery import XBatteryAdapter, XBatterySettings, reading_from_record
from gridpilot.devices.xstorage import XStorageAdapter
from gridpilot.engine.commands import charge
from gridpilot.engine.state import ModeSource
from gridpilot.errors import CommandError, DeviceAuthError, DeviceProtocolError
from tests.emulators import XBatteryEmulator, XStorageEmulator

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def xb_emu() -> Iterator[XBatteryEmulator]:
    with XBatteryEmulator() as e:
        e.clock = lambda: T0.timestamp()
        yield e


def xb_settings(emu: XBatteryEmulator, **kw: object) -> XBatterySettings:
    base: dict[str, object] = {
        "base_url": emu.url, "api_key": SecretStr(emu.api_key), "device_id": emu.device_id,
        "ca_file": emu.ca_path, "timeout_s": 1.0, "retry_backoff_s": 0.01,
    }
    base.update(kw)
    return XBatterySettings(**base)  # type: ignore[arg-type]


@pytest.fixture
async def xb(xb_emu: XBatteryEmulator) -> AsyncIterator[XBatteryAdapter]:
    a = XBatteryAdapter(xb_settings(xb_emu), name="pack",
                        clock=ManualClock(T0 + timedelta(seconds=30)))
    yield a
    await a.aclose()


async def test_latest_telemetry_maps_to_state(
    xb: XBatteryAdapter, xb_emu: XBatteryEmulator
) -> None:
    xb_emu.state.pack_current_a = 12.5
    xb_emu.state.bms_state = "CHARGING"
    reading = await xb.read_state()
    assert reading.soc_pct == pytest.approx(21.02)
    assert reading.battery_w == pytest.approx(-41.2708 * 12.5, rel=1e-3)
    assert reading.extra["temperature_c"] == pytest.approx(27.315)
    assert reading.extra["bms_state"] == "CHARGING"
    assert len(reading.extra["cell_voltages_v"]) == 15
    # The record is from the minute start: 30 s old at read time; no load/PV from this source.
    assert reading.age_s("soc_pct", reading.time) == pytest.approx(30)
    ages = reading.ages_at(reading.time)
    assert ages.load_s is None and ages.pv_s is None
    req = xb_emu.requests[-1]
    assert req.query == {"timeRange": "latest"}
    assert req.headers["apikey"] == xb_emu.api_key


def test_battery_sign_from_bms_state_or_current() -> None:
    base = {"pack_voltage": 50.0, "pack_current": 10.0, "soc": 40, "_ts": 1736784740}
    assert reading_from_record({**base, "bms_state": "DISCHARGING"}, now=T0).battery_w == 500
    assert reading_from_record({**base, "bms_state": "CHARGING"}, now=T0).battery_w == -500
    idle = {**base, "pack_current": -2.0, "bms_state": "IDLE"}
    assert reading_from_record(idle, now=T0).battery_w == -100
    ms = {**base, "_ts": 1736784740000, "bms_state": "DISCHARGING"}
    assert reading_from_record(ms, now=T0).measured_at["soc_pct"] == datetime(
        2025, 1, 13, 16, 12, 20, tzinfo=UTC)


async def test_devices_list_and_add(xb: XBatteryAdapter, xb_emu: XBatteryEmulator) -> None:
    await xb.add_device("DVC2", "Shed pack", "BESSModel-X", "Delhi")
    ids = [d["DeviceId"] for d in await xb.list_devices()]
    assert ids == ["DVC12345", "DVC2"]
    assert xb_emu.requests_to("POST", "/v1/devices")[0].json()["deviceId"] == "DVC2"


async def test_presets_and_ranges(xb: XBatteryAdapter, xb_emu: XBatteryEmulator) -> None:
    assert len(await xb.telemetry(time_range="last1hour")) == 60
    assert len(await xb.telemetry(time_range="last5mins")) == 5
    records = await xb.telemetry(start=T0 - timedelta(minutes=10), end=T0)
    assert len(records) == 11
    assert xb_emu.requests[-1].query == {"start": "2026-11-21T11:50:00Z",
                                         "end": "2026-11-21T12:00:00Z"}
    with pytest.raises(CommandError, match="timeRange"):
        await xb.telemetry(time_range="yesterday")


async def test_wrong_key_is_an_auth_error(xb_emu: XBatteryEmulator) -> None:
    a = XBatteryAdapter(xb_settings(xb_emu, api_key=SecretStr("nope")), name="pack")
    with pytest.raises(DeviceAuthError, match=r"'pack'.*401"):
        await a.read_state()
    await a.aclose()


async def test_api_key_from_file(xb_emu: XBatteryEmulator, tmp_path: Path) -> None:
    (tmp_path / "key").write_text(xb_emu.api_key + "\n")
    a = XBatteryAdapter(xb_settings(xb_emu, api_key=None, api_key_file=Path("key")),
                        name="pack", base_dir=tmp_path)
    assert (await a.read_state()).soc_pct is not None
    await a.aclose()


async def test_faults_recover_or_fail_clearly(
    xb: XBatteryAdapter, xb_emu: XBatteryEmulator
) -> None:
    path = f"/v1/devices/{xb_emu.device_id}/telemetry"
    xb_emu.faults.server_error(502, path=path)
    xb_emu.faults.reset(path=path)
    assert (await xb.read_state()).soc_pct is not None
    xb_emu.faults.malformed_json(path=path, count=3)
    with pytest.raises(DeviceProtocolError, match="not valid JSON"):
        await xb.read_state()


async def test_read_only(xb: XBatteryAdapter, xb_emu: XBatteryEmulator) -> None:
    assert xb.capabilities.read_only and not xb.capabilities.kinds
    with pytest.raises(CommandError, match=r"read-only.*composite"):
        await xb.apply(charge(1000, 80), valid_for_s=60)
    assert all(r.method == "GET" for r in xb_emu.requests)


async def test_export_loads_in_the_simulator(xb: XBatteryAdapter, tmp_path: Path) -> None:
    from gridpilot.recorded import load_data

    out = tmp_path / "telemetry.json"
    result = await xb.export(T0 - timedelta(hours=2), T0, out)
    assert result.records == 121
    records = json.loads(out.read_text())
    assert set(records[0]) >= {"pack_voltage", "pack_current", "soc", "bms_state", "_ts"}
    series = load_data(out)
    assert series.interval_s == 60
    assert len(series) == 121


def test_composite_settings_validate_both_parts() -> None:
    with pytest.raises(ValidationError, match="state"):
        CompositeSettings(state={"type": "xbattery"}, control={"type": "simulated"})
    with pytest.raises(ValidationError, match="unknown device type 'nope'"):
        CompositeSettings(state={"type": "nope"}, control={"type": "simulated"})


async def test_composite_reads_state_source_and_controls_actuator(
    xb_emu: XBatteryEmulator,
) -> None:
    from gridpilot.devices.xstorage import XStorageSettings

    clock = ManualClock(T0 + timedelta(seconds=10))
    with XStorageEmulator() as xs_emu:
        xs_emu.clock = lambda: clock.now().timestamp()
        xs = XStorageAdapter(
            XStorageSettings(host=f"127.0.0.1:{xs_emu.port}", password=SecretStr(xs_emu.password),
                             tls_fingerprint_sha256=xs_emu.fingerprint_sha256),
            name="c.control", clock=clock,
        )
        xb = XBatteryAdapter(xb_settings(xb_emu), name="c.state", clock=clock)
        combo = CompositeAdapter("c", state=xb, control=xs)
        xb_emu.state.soc_pct = 63.5
        reading = await combo.read_state()
        assert reading.soc_pct == 63.5  # from the pack
        assert reading.pv_w == 1200  # from the inverter
        assert reading.device_mode is not None
        assert reading.device_mode.source is ModeSource.DEFAULT
        await combo.apply(charge(1000, 90), valid_for_s=60)
        assert len(xs_emu.requests_to("POST", "/api/device/command")) == 1
        assert combo.capabilities.power_rating_w == 3600
        # The pack's API failing leaves the inverter's own reading, marked.
        xb_emu.faults.server_error(500, count=10)
        degraded = await combo.read_state()
        assert degraded.soc_pct == 55
        assert "500" in degraded.extra["state_source_error"]
        await combo.aclose()
