"""The xStorage adapter against the emulated unit over real HTTPS on loopback."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gridpilot.clock import ManualClock
from gridpilot.devices.xstorage import ScheduleEvent, ScheduleOverlapError, XStorageAdapter
from gridpilot.engine.commands import (
    CommandKind,
    charge,
    discharge,
    hold,
    limit_export,
    peak_shave,
    self_consumption,
)
from gridpilot.engine.state import ModeSource
from gridpilot.errors import (
    CommandError,
    DeviceAuthError,
    DevicePermissionError,
    DeviceRejected,
)
from gridpilot.scheduler.device import snapshot_from_reading
from tests.emulators import XStorageEmulator


async def test_read_state_maps_signs_units_and_mode(
    adapter: XStorageAdapter, emu: XStorageEmulator
) -> None:
    emu.state.energy_flow.update(
        batteryStatus="BAT_CHARGING", batteryEnergyFlow=406, gridRole="CONSUMER", gridValue=900,
        stateOfCharge=88, acPvValue=100, dcPvValue=200,
    )
    reading = await adapter.read_state()
    assert reading.soc_pct == 88
    # Charging is negative battery power even when the unit reports a positive flow.
    assert reading.battery_w == -406
    assert reading.grid_w == 900  # CONSUMER = importing
    assert reading.pv_w == 300
    assert reading.load_w == 800
    assert reading.device_mode is not None
    assert reading.device_mode.source is ModeSource.DEFAULT
    assert reading.device_mode.kind is CommandKind.IDLE

    emu.state.energy_flow.update(batteryStatus="BAT_DISCHARGING", batteryEnergyFlow=-1500,
                                 gridRole="PRODUCER", gridValue=250)
    reading = await adapter.read_state()
    assert reading.battery_w == 1500
    assert reading.grid_w == -250


async def test_unknown_enums_are_tolerated(adapter: XStorageAdapter, emu: XStorageEmulator) -> None:
    emu.state.energy_flow.update(batteryStatus="BAT_FLOATING", gridRole="ISLANDED",
                                 gridValue=-120, batteryEnergyFlow=50)
    reading = await adapter.read_state()
    assert reading.grid_w == -120
    assert reading.battery_w == 50
    assert "energyFlow.gridRole='ISLANDED'" in reading.extra["unknown_enums"]


async def test_rating_fallbacks_and_capabilities(
    make_adapter: Callable[..., XStorageAdapter], emu: XStorageEmulator
) -> None:
    # inverterPowerRating reads 0 -> inverterVaRating.
    a = make_adapter()
    await a.read_state()
    assert a.capabilities.power_rating_w == 3600
    assert a.capabilities.capacity_kwh == 4.2
    await a.aclose()
    # No VA rating either -> the model's rating from its name.
    emu.state.device["inverterVaRating"] = 0
    emu.state.device["inverterModelName"] = "XSTH1P046P048V01"
    b = make_adapter()
    await b.read_state()
    assert b.capabilities.power_rating_w == 4600
    await b.aclose()
    # A positive power rating wins.
    emu.state.settings["inverterPowerRating"] = 6000
    c = make_adapter()
    applied = await c.apply(charge(3000, 80), valid_for_s=60)
    assert applied.native["parameters"]["power"] == 50
    await c.aclose()


async def test_apply_charge_is_read_back_as_gridpilot(
    adapter: XStorageAdapter, emu: XStorageEmulator, clock: ManualClock
) -> None:
    applied = await adapter.apply(charge(1000, 90.7), valid_for_s=60)
    body = emu.requests_to("POST", "/api/device/command")[-1].json()
    # 1000 W of 3600 W = 27.7 % -> 27 (never more than asked); the target rounds down.
    assert body == {"command": "SET_CHARGE", "duration": 1,
                    "parameters": {"power": 27, "soc": 90, "action": "ACTION_CHARGE"}}
    assert applied.confirmed
    assert applied.effective_power_w == pytest.approx(972)
    assert applied.expires_at == clock.now() + timedelta(hours=1)
    reading = await adapter.read_state()
    assert reading.device_mode is not None
    assert reading.device_mode.source is ModeSource.GRIDPILOT
    assert reading.device_mode.kind is CommandKind.CHARGE
    # createdAt is in milliseconds on modes: the expiry must land an hour on, not in 1970 or 50000.
    assert reading.device_mode.expires == clock.now() + timedelta(hours=1)


async def test_discharge_floor_rounds_up(adapter: XStorageAdapter, emu: XStorageEmulator) -> None:
    await adapter.apply(discharge(3600, 20.2), valid_for_s=60)
    body = emu.requests_to("POST", "/api/device/command")[-1].json()
    assert body["command"] == "SET_DISCHARGE"
    assert body["parameters"] == {"power": 100, "soc": 21, "action": "ACTION_DISCHARGE"}


@pytest.mark.parametrize(
    ("command", "native", "params"),
    [
        (peak_shave(2500), "SET_PEAK_SHAVING", {"maxHousePeakConsumption": 2500}),
        (limit_export(3000), "SET_VARIABLE_GRID_INJECTION", {"maximumPower": 3000}),
        (limit_export(0), "SET_VARIABLE_GRID_INJECTION", {"maximumPower": 0}),
        (self_consumption(), "SET_MAXIMIZE_AUTO_CONSUMPTION", None),
        (hold(), "SET_BASIC_MODE", None),
    ],
)
async def test_native_modes(
    adapter: XStorageAdapter, emu: XStorageEmulator, command: object, native: str,
    params: object,
) -> None:
    await adapter.apply(command, valid_for_s=60)  # type: ignore[arg-type]
    body = emu.requests_to("POST", "/api/device/command")[-1].json()
    assert body["command"] == native
    assert body["parameters"] == params
    assert emu.state.out_of_range_commands == []


async def test_duration_covers_next_decision_but_stays_short(
    make_adapter: Callable[..., XStorageAdapter], emu: XStorageEmulator
) -> None:
    a = make_adapter(max_duration_h=3, refresh_lead_s=600)
    await a.apply(charge(1000, 90), valid_for_s=60)
    await a.apply(charge(1000, 90), valid_for_s=3300)  # 3300 + 600 s lead -> 2 h
    applied = await a.apply(charge(1000, 90), valid_for_s=86_400)  # capped at 3 h
    durations = [r.json()["duration"] for r in emu.requests_to("POST", "/api/device/command")]
    assert durations == [1, 2, 3]
    assert applied.refresh_due(applied.sent_at + timedelta(hours=3) - timedelta(seconds=599))
    assert not applied.refresh_due(applied.sent_at + timedelta(hours=2))
    await a.aclose()


async def test_command_outside_limits_never_reaches_the_unit(
    adapter: XStorageAdapter, emu: XStorageEmulator
) -> None:
    with pytest.raises(CommandError):
        await adapter.apply(charge(5000, 90), valid_for_s=60)  # above max_charge_w 3600
    with pytest.raises(CommandError):
        await adapter.apply(charge(0, 90), valid_for_s=60)  # no power
    assert emu.requests_to("POST", "/api/device/command") == []


async def test_person_manual_mode_is_an_override(
    adapter: XStorageAdapter, emu: XStorageEmulator
) -> None:
    await adapter.apply(charge(1000, 90), valid_for_s=60)
    emu.person_sets_manual("SET_DISCHARGE", {"power": 50, "soc": 20,
                                             "action": "ACTION_DISCHARGE"})
    reading = await adapter.read_state()
    assert reading.device_mode is not None
    assert reading.device_mode.source is ModeSource.PERSON
    assert reading.device_mode.kind is CommandKind.DISCHARGE
    assert snapshot_from_reading(reading, reading.time).site_state().person_override


async def test_manual_mode_lapses_to_default(
    adapter: XStorageAdapter, emu: XStorageEmulator, clock: ManualClock
) -> None:
    await adapter.apply(charge(1000, 90), valid_for_s=60)
    clock.advance(3601)
    reading = await adapter.read_state()
    assert reading.device_mode is not None
    assert reading.device_mode.source is ModeSource.DEFAULT


async def test_release_runs_the_default_mode(
    adapter: XStorageAdapter, emu: XStorageEmulator
) -> None:
    emu.state.settings["defaultMode"]["command"] = "SET_MAXIMIZE_AUTO_CONSUMPTION"
    await adapter.release()
    body = emu.requests_to("POST", "/api/device/command")[-1].json()
    assert body == {"command": "SET_MAXIMIZE_AUTO_CONSUMPTION", "duration": 1, "parameters": None}
    reading = await adapter.read_state()
    assert reading.device_mode is not None
    assert reading.device_mode.source is not ModeSource.PERSON


async def test_token_under_the_empty_key(clock: ManualClock) -> None:
    from pydantic import SecretStr

    from gridpilot.devices.xstorage import XStorageSettings

    with XStorageEmulator(token_shape="empty_key") as emu:
        emu.clock = lambda: clock.now().timestamp()
        a = XStorageAdapter(
            XStorageSettings(host=f"127.0.0.1:{emu.port}", password=SecretStr(emu.password),
                             tls_fingerprint_sha256=emu.fingerprint_sha256),
            clock=clock,
        )
        reading = await a.read_state()
        await a.aclose()
    assert reading.soc_pct == 55


async def test_token_refreshed_before_it_expires(
    adapter: XStorageAdapter, emu: XStorageEmulator, clock: ManualClock
) -> None:
    await adapter.read_state()
    clock.advance(3350)  # past the 55 min refresh, before the unit's 60 min
    await adapter.read_state()
    assert len(emu.requests_to("POST", "/api/auth/signin")) == 2
    assert all(r.status != 401 for r in emu.requests)


async def test_token_expiring_mid_session_signs_in_once_and_retries(
    adapter: XStorageAdapter, emu: XStorageEmulator
) -> None:
    await adapter.read_state()
    emu.expire_tokens()
    applied = await adapter.apply(charge(1000, 90), valid_for_s=60)
    assert applied.confirmed
    assert len(emu.requests_to("POST", "/api/auth/signin")) == 2
    commands = emu.requests_to("POST", "/api/device/command")
    assert [r.status for r in commands] == [401, 200]


async def test_rejected_signin_is_never_retried(
    make_adapter: Callable[..., XStorageAdapter], emu: XStorageEmulator
) -> None:
    from pydantic import SecretStr

    a = make_adapter(password=SecretStr("wrong"))
    with pytest.raises(DeviceAuthError, match="refused"):
        await a.read_state()
    for _ in range(10):
        with pytest.raises(DeviceAuthError, match="not trying again"):
            await a.read_state()
    assert len(emu.requests_to("POST", "/api/auth/signin")) == 1
    assert not emu.state.locked
    await a.aclose()


async def test_technician_endpoint_needs_technician_login(
    adapter: XStorageAdapter, make_adapter: Callable[..., XStorageAdapter],
    emu: XStorageEmulator,
) -> None:
    from pydantic import SecretStr

    with pytest.raises(DevicePermissionError, match="needs a technician login"):
        await adapter.technical_status()
    tech = make_adapter(username=emu.tech_username, password=SecretStr(emu.tech_password),
                        user_type="tech", inverter_sn="INV123")
    status = await tech.technical_status()
    assert status["gridFrequency"] == 49.96
    assert status["bmsVoltage"] is None  # 0 means the reading failed
    await tech.aclose()


async def test_unknown_endpoint_is_a_clear_rejection(adapter: XStorageAdapter) -> None:
    with pytest.raises(DeviceRejected, match="not found \\(404\\)"):
        await adapter.client.call("GET", "/api/nothing/here")


async def test_power_off_is_confirmed_by_reading_back(
    make_adapter: Callable[..., XStorageAdapter], emu: XStorageEmulator
) -> None:
    emu.power_applies_after = 2  # the unit takes a moment to switch
    a = make_adapter()
    await a.set_power(False)
    assert emu.state.power_on is False
    power_calls = emu.requests_to("POST", "/api/device/power")
    assert power_calls[0].json() == {"parameters": {"state": False}}
    await a.aclose()


async def test_power_change_not_confirmed_is_an_error(
    adapter: XStorageAdapter, emu: XStorageEmulator
) -> None:
    from gridpilot.errors import DeviceProtocolError

    emu.power_applies_after = 100
    with pytest.raises(DeviceProtocolError, match="powerState"):
        await adapter.set_power(False, attempts=3, wait_s=0.0)


async def test_settings_setters_read_modify_write(
    adapter: XStorageAdapter, emu: XStorageEmulator
) -> None:
    before = json.loads(json.dumps(emu.state.settings))
    after = await adapter.set_backup_level(30)
    assert after["bmsBackupLevel"] == 30
    put = emu.requests_to("PUT", "/api/settings/")
    assert len(put) == 1
    assert emu.requests_to("PUT", "/api/settings") == []  # the slash-less path answers 307
    sent = put[0].json()["settings"]
    assert sent["country"] == "2635167" and sent["city"] == "2643743"
    assert sent["timezone"] == "Europe/London"
    for key in ("name", "postalCode", "energySavingMode", "updateBlockedState"):
        assert emu.state.settings[key] == before[key]
    await adapter.set_default_mode(self_consumption())
    assert emu.state.settings["defaultMode"]["command"] == "SET_MAXIMIZE_AUTO_CONSUMPTION"
    assert emu.state.settings["bmsBackupLevel"] == 30


async def test_slashless_settings_put_is_redirected(adapter: XStorageAdapter) -> None:
    from gridpilot.errors import DeviceProtocolError

    with pytest.raises(DeviceProtocolError, match="redirect 307"):
        await adapter.client.call("PUT", "/api/settings", json_body={"settings": {}})


async def test_settings_refused_out_of_range(
    adapter: XStorageAdapter, emu: XStorageEmulator
) -> None:
    with pytest.raises(CommandError, match="bmsBackupLevel"):
        await adapter.set_backup_level(140)
    assert emu.state.settings_puts == []


async def test_schedule_crud_and_overlap(adapter: XStorageAdapter, emu: XStorageEmulator) -> None:
    night = await adapter.create_schedule_event(ScheduleEvent(
        "SET_CHARGE", 2330, 430, "EVERYDAY", {"power": 50, "soc": 90, "action": "ACTION_CHARGE"}
    ))
    assert night.event_id
    with pytest.raises(ScheduleOverlapError, match="overlaps"):
        await adapter.create_schedule_event(ScheduleEvent("SET_BASIC_MODE", 100, 200))
    evening = await adapter.create_schedule_event(
        ScheduleEvent("SET_PEAK_SHAVING", 1600, 1900, "WEEK_DAYS",
                      {"maxHousePeakConsumption": 3000})
    )
    listed = await adapter.list_schedule()
    assert {e.event_id for e in listed} == {night.event_id, evening.event_id}
    moved = ScheduleEvent("SET_PEAK_SHAVING", 1700, 2000, "WEEK_DAYS",
                          {"maxHousePeakConsumption": 3000}, event_id=evening.event_id)
    await adapter.update_schedule_event(moved)
    assert [e.start_hhmm for e in await adapter.list_schedule() if e.event_id ==
            evening.event_id] == [1700]
    assert night.event_id is not None
    await adapter.delete_schedule_event(night.event_id)
    assert [e.event_id for e in await adapter.list_schedule()] == [evening.event_id]


def test_schedule_event_checked_before_sending() -> None:
    with pytest.raises(CommandError, match="HHMM"):
        ScheduleEvent("SET_BASIC_MODE", 2460, 100)
    with pytest.raises(CommandError, match="power"):
        ScheduleEvent("SET_CHARGE", 100, 200, parameters={"power": 150, "soc": 90,
                                                           "action": "ACTION_CHARGE"})


async def test_metrics_export_loads_in_the_simulator(
    adapter: XStorageAdapter, tmp_path: Path
) -> None:
    from gridpilot.recorded import load_data

    start = datetime(2026, 11, 19, 22, 0, tzinfo=UTC)
    out = tmp_path / "metrics.json"
    result = await adapter.export(start, start + timedelta(hours=30), out)
    assert result.records == 30 * 12
    records = json.loads(out.read_text())
    assert records[0]["time"] == int(start.timestamp() * 1000)  # as the unit returns them
    series = load_data(out)
    assert len(series) == 360
    assert series.interval_s == 300
    assert float(series.columns["load_w"][0]) == records[0]["totalHouseConsumption"]


async def test_csv_export_written_as_returned(
    adapter: XStorageAdapter, emu: XStorageEmulator, tmp_path: Path
) -> None:
    start = datetime(2026, 11, 19, 0, 0, tzinfo=UTC)
    out = tmp_path / "export.csv"
    result = await adapter.export(start, start + timedelta(hours=2), out)
    assert result.records == 24
    req = emu.requests_to("GET", "/api/metrics/export")[-1]
    assert req.query["field"].startswith("DATE,TOTAL_HOUSE_CONSUMPTION")
    lines = out.read_text().splitlines()
    assert lines[0].split(",") == [
        "Date", "Total House Consumption", "Critical Loads", "Non Critical Loads",
        "Photovoltaic Production Agg", "Battery State Of Charge", "Self Consumption",
        "Self Sufficiency", "Grid Injection", "Battery Temperature"]
    served = emu.metric_records(int(start.timestamp() * 1000),
                                int((start + timedelta(hours=2)).timestamp() * 1000))
    assert [line.split(",")[:2] for line in lines[1:]] == [
        [datetime.fromtimestamp(r["time"] / 1000, UTC).strftime("%d/%m/%Y %H:%M"),
         str(r["totalHouseConsumption"])] for r in served]
    from gridpilot.recorded import load_data

    series = load_data(out)  # the simulator reads the file exactly as written
    assert series.start_s[0] == int(start.timestamp())
    assert series.columns["load_w"].tolist() == [r["totalHouseConsumption"] for r in served]
    assert series.columns["pv_w"].tolist() == [r["photovoltaicProduction"] for r in served]


async def test_own_mode_remembered_across_a_restart(
    make_adapter: Callable[..., XStorageAdapter], emu: XStorageEmulator, tmp_path: Path
) -> None:
    from pydantic import SecretStr

    from gridpilot.devices.xstorage import XStorageSettings
    from tests.devices.conftest import LIMITS

    settings = XStorageSettings(host=f"127.0.0.1:{emu.port}", password=SecretStr(emu.password),
                                tls_fingerprint_sha256=emu.fingerprint_sha256)
    clock = ManualClock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    memory = tmp_path / "state" / "modes.json"
    first = XStorageAdapter(settings, limits=LIMITS, clock=clock, memory_file=memory)
    await first.apply(charge(1000, 90), valid_for_s=60)
    await first.aclose()
    again = XStorageAdapter(settings, limits=LIMITS, clock=clock, memory_file=memory)
    mode = (await again.read_state()).device_mode
    await again.aclose()
    assert mode is not None and mode.source is ModeSource.GRIDPILOT
    forgetful = XStorageAdapter(settings, limits=LIMITS, clock=clock)
    mode = (await forgetful.read_state()).device_mode
    await forgetful.aclose()
    assert mode is not None and mode.source is ModeSource.PERSON


async def test_locked_account_is_named_and_not_retried(
    adapter: XStorageAdapter, emu: XStorageEmulator
) -> None:
    emu.state.locked = True
    with pytest.raises(DeviceAuthError, match=r"the account is locked \(errCode 10\); wait"):
        await adapter.read_state()
    emu.state.locked = False
    with pytest.raises(DeviceAuthError, match="not trying again"):
        await adapter.read_state()
    assert len(emu.requests_to("POST", "/api/auth/signin")) == 1
