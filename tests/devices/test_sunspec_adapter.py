"""The sunspec adapter against the SunSpec emulator (pymodbus's server on 127.0.0.1): discovery,
scaled reads, not-implemented values, commands with read-back, the revert timer, another
master's override, and the faults: timeout, exception response, reboot, dropped connection."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gridpilot.clock import ManualClock
from gridpilot.devices.context import DeviceContext
from gridpilot.devices.registry import create_device
from gridpilot.devices.sunspec import factory
from gridpilot.devices.sunspec.adapter import SunSpecAdapter
from gridpilot.devices.sunspec.settings import SunSpecSettings
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.state import ModeSource
from gridpilot.errors import CommandError, DeviceError, DeviceRejected, DeviceUnreachable
from tests.emulators.sunspec import Site, SunSpecEmulator

START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CHARGE = Command(CommandKind.CHARGE, power_w=2000, target_soc_pct=90)


@pytest.fixture(scope="module")
def emu() -> Iterator[SunSpecEmulator]:
    with SunSpecEmulator() as e:
        yield e


@pytest.fixture
def clock(emu: SunSpecEmulator) -> ManualClock:
    c = ManualClock(START)
    emu.clock = lambda: c.now().timestamp()
    emu.faults.clear()
    emu.site.soc_pct, emu.site.pv_w, emu.site.load_w = 50.0, 0.0, 1000.0
    emu.reboot()  # a known state: no window, fresh connections
    emu._last = None
    return c


@pytest.fixture
async def make(emu: SunSpecEmulator, clock: ManualClock
               ) -> AsyncIterator[Callable[..., SunSpecAdapter]]:
    made: list[SunSpecAdapter] = []

    def build(**overrides: Any) -> SunSpecAdapter:
        settings = {"host": "127.0.0.1", "port": emu.port, "timeout_s": 0.3,
                    "retry_backoff_s": 5.0, "read_retries": 1, **overrides}
        state_file = settings.pop("state_file", None)
        adapter = SunSpecAdapter(SunSpecSettings(**settings), name="inverter", clock=clock,
                                 state_file=state_file)
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        await adapter.aclose()


async def test_discovery_and_scaled_reads(make: Callable[..., SunSpecAdapter],
                                          emu: SunSpecEmulator) -> None:
    emu.site.pv_w = 3000.0  # 2000 W surplus: the battery charges at 2000 W by itself
    adapter = make()
    reading = await adapter.read_state()
    assert reading.extra["models"] == [1, 103, 160, 124, 802, 203]
    assert reading.soc_pct == pytest.approx(50.0)
    assert reading.pv_w == pytest.approx(3000.0)
    assert reading.battery_w == pytest.approx(-2000.0)  # from model 802, + = discharge
    assert reading.grid_w == pytest.approx(0.0)
    assert reading.load_w == pytest.approx(1000.0)
    assert reading.device_mode is not None
    assert reading.device_mode.source is ModeSource.DEFAULT
    caps = adapter.capabilities
    assert caps.power_rating_w == 5000.0 and caps.capacity_kwh == pytest.approx(10.0)
    assert CommandKind.PEAK_SHAVE not in caps.kinds and CommandKind.CHARGE in caps.kinds
    models = await adapter.probe_models()
    assert models["124 @40172 (unit 1)"]["WChaMax"] == 5000.0
    assert models["1 @40002 (unit 1)"]["Mn"] == "Emulated"


async def test_a_map_at_another_base_is_found_by_the_scan(clock: ManualClock) -> None:
    with SunSpecEmulator(base=50000, clock=lambda: clock.now().timestamp()) as other:
        adapter = SunSpecAdapter(SunSpecSettings(host="127.0.0.1", port=other.port,
                                                 timeout_s=0.3), clock=clock)
        reading = await adapter.read_state()
        await adapter.aclose()
    assert reading.soc_pct == pytest.approx(50.0)


async def test_not_implemented_values_read_as_unknown(make: Callable[..., SunSpecAdapter],
                                                      emu: SunSpecEmulator) -> None:
    emu.set_point(203, "W", None)
    emu.set_point(124, "ChaState", None)
    emu.set_point(802, "SoC", None)
    emu.set_point(103, "W_SF", None)
    adapter = make()
    emu.site.load_w = 1000.0
    # The emulator republishes on every request, so block that for the checked points.
    original = emu._publish
    emu._publish = lambda: None  # type: ignore[method-assign]
    try:
        reading = await adapter.read_state()
    finally:
        emu._publish = original  # type: ignore[method-assign]
    assert reading.grid_w is None and reading.soc_pct is None and reading.load_w is None
    assert reading.rejected == {}


async def test_charge_runs_raises_the_soc_and_reverts_by_itself(
        make: Callable[..., SunSpecAdapter], emu: SunSpecEmulator, clock: ManualClock) -> None:
    adapter = make()
    await adapter.read_state()
    applied = await adapter.apply(CHARGE, valid_for_s=300)
    assert applied.confirmed and applied.effective_power_w == 2000.0
    assert applied.native["InOutWRte_RvrtTms"] == 900
    assert applied.expires_at == START.replace(minute=15)
    reading = await adapter.read_state()
    assert reading.battery_w == pytest.approx(-2000.0)
    assert reading.grid_w == pytest.approx(3000.0)  # the house and the charge from the grid
    mode = reading.device_mode
    assert mode is not None and (mode.source, mode.kind) == (ModeSource.GRIDPILOT,
                                                             CommandKind.CHARGE)
    clock.advance(600)
    reading = await adapter.read_state()
    assert reading.soc_pct == pytest.approx(50.0 + 2000 / 6 / 10_000 * 100, abs=0.02)
    clock.advance(400)  # past the 900 s revert time: the device dropped the window
    reading = await adapter.read_state()
    assert reading.device_mode is not None
    assert reading.device_mode.source is ModeSource.DEFAULT
    assert reading.battery_w == pytest.approx(1000.0)  # back to covering the house
    assert emu.out_of_range_writes == []


async def test_every_write_is_read_back_in_order(make: Callable[..., SunSpecAdapter],
                                                 emu: SunSpecEmulator) -> None:
    adapter = make()
    await adapter.read_state()
    before = len(emu.writes)
    reads = emu.reads
    await adapter.apply(Command(CommandKind.DISCHARGE, power_w=1500, floor_soc_pct=20),
                        valid_for_s=300)
    written = [address for _, address, _ in emu.writes[before:]]
    assert written == [40187, 40179, 40189, 40184, 40185, 40177]  # timer ... mode last
    assert emu.reads - reads >= len(written) + 1
    assert emu.point(124, "MinRsvPct") == pytest.approx(20.0)


async def test_another_masters_rate_is_a_persons_override(
        make: Callable[..., SunSpecAdapter], emu: SunSpecEmulator) -> None:
    adapter = make()
    await adapter.apply(CHARGE, valid_for_s=300)
    emu.other_master_writes(OutWRte=-80.0, InWRte=80.0)
    mode = (await adapter.read_state()).device_mode
    assert mode is not None and (mode.source, mode.kind) == (ModeSource.PERSON,
                                                             CommandKind.CHARGE)


async def test_a_restart_remembers_its_own_window(make: Callable[..., SunSpecAdapter],
                                                  tmp_path: Path) -> None:
    state = tmp_path / "window.json"
    await make(state_file=state).apply(CHARGE, valid_for_s=300)
    mode = (await make(state_file=state).read_state()).device_mode
    assert mode is not None and mode.source is ModeSource.GRIDPILOT
    mode = (await make().read_state()).device_mode  # no memory: someone else's window
    assert mode is not None and mode.source is ModeSource.PERSON


async def test_exception_response_names_register_and_code(
        make: Callable[..., SunSpecAdapter], emu: SunSpecEmulator) -> None:
    adapter = make()
    await adapter.read_state()
    emu.faults.exception(4, writes_only=True)
    with pytest.raises(DeviceRejected) as info:
        await adapter.apply(CHARGE, valid_for_s=300)
    text = str(info.value)
    assert "124.InOutWRte_RvrtTms @40187" in text
    assert "Modbus exception 4 (SERVER DEVICE FAILURE)" in text
    # Nothing was half-applied: the mode register was never written.
    assert emu.point(124, "StorCtl_Mod") == 0
    assert (await adapter.apply(CHARGE, valid_for_s=300)).confirmed


async def test_timeout_then_backoff_then_recovery(make: Callable[..., SunSpecAdapter],
                                                  emu: SunSpecEmulator,
                                                  clock: ManualClock) -> None:
    adapter = make(read_retries=0)
    await adapter.read_state()
    emu.faults.timeout(delay_s=0.6)
    with pytest.raises(DeviceUnreachable, match="timed out"):
        await adapter.read_state()
    with pytest.raises(DeviceUnreachable, match="next connection attempt in 5 s"):
        await adapter.read_state()  # no reconnect storm
    clock.advance(5)
    assert (await adapter.read_state()).soc_pct is not None


async def test_a_read_retry_survives_a_dropped_connection(
        make: Callable[..., SunSpecAdapter], emu: SunSpecEmulator) -> None:
    adapter = make(read_retries=2)
    await adapter.read_state()
    connects = adapter.link.connects
    emu.faults.drop()
    reading = await adapter.read_state()
    assert reading.soc_pct is not None and adapter.link.connects > connects


async def test_a_reboot_drops_the_window_and_the_map_is_read_again(
        make: Callable[..., SunSpecAdapter], emu: SunSpecEmulator) -> None:
    adapter = make(read_retries=2)
    await adapter.apply(CHARGE, valid_for_s=300)
    emu.reboot()
    reading = await adapter.read_state()
    assert reading.device_mode is not None
    assert reading.device_mode.source is ModeSource.DEFAULT
    assert (await adapter.apply(CHARGE, valid_for_s=300)).confirmed


async def test_kinds_without_a_mapping_are_refused_before_sending(
        make: Callable[..., SunSpecAdapter], emu: SunSpecEmulator) -> None:
    adapter = make()
    before = len(emu.writes)
    with pytest.raises(CommandError, match="grid-power target"):
        await adapter.apply(Command(CommandKind.PEAK_SHAVE, max_import_w=3000), valid_for_s=60)
    assert len(emu.writes) == before


async def test_the_sma_profile_reads_but_never_commands(emu: SunSpecEmulator,
                                                        clock: ManualClock) -> None:
    adapter = SunSpecAdapter(SunSpecSettings(host="127.0.0.1", port=emu.port, unit_id=1,
                                             profile="sma", timeout_s=0.3), clock=clock)
    assert adapter.capabilities.read_only
    with pytest.raises(CommandError, match="no model 124"):
        await adapter.apply(CHARGE, valid_for_s=60)
    await adapter.aclose()


async def test_the_fronius_profile(clock: ManualClock) -> None:
    site = Site(pv_w=4000.0, load_w=1000.0)
    with SunSpecEmulator(layout="fronius", site=site,
                         clock=lambda: clock.now().timestamp()) as fronius:
        adapter = SunSpecAdapter(SunSpecSettings(host="127.0.0.1", port=fronius.port,
                                                 profile="fronius_gen24", timeout_s=0.3),
                                 clock=clock)
        await adapter.read_state()
        reading = await adapter.read_state()
        await adapter.aclose()
    assert reading.extra["models"] == [1, 103, 160, 124, 1, 203]  # the meter at unit 200
    assert reading.pv_w == pytest.approx(4000.0)  # modules 1 and 2 only
    assert reading.battery_w == pytest.approx(-3000.0)  # module 4 minus module 3
    assert reading.grid_w == pytest.approx(0.0)


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(factory, "missing_extra", lambda: ["pymodbus"])
    context = DeviceContext(name="inverter", clock=ManualClock(START))
    with pytest.raises(DeviceError, match=r"pip install 'gridpilot\[modbus\]'"):
        create_device({"type": "sunspec", "host": "127.0.0.1"}, context)


def test_settings_errors_name_the_field() -> None:
    context = DeviceContext(name="inverter", clock=ManualClock(START))
    with pytest.raises(DeviceError, match="port"):
        create_device({"type": "sunspec", "host": "127.0.0.1", "port": 70000}, context)
    with pytest.raises(DeviceError, match="profile"):
        create_device({"type": "sunspec", "host": "h", "profile": "huawei"}, context)
