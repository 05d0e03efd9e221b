"""Fault injection against the emulated unit: the adapter recovers or fails with a clear
DeviceError, and never sends a command outside the unit's ranges."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpilot.devices.xstorage import XStorageAdapter
from gridpilot.devices.xstorage.commands import map_command, validate_payload
from gridpilot.engine.commands import Command, CommandKind, charge
from gridpilot.errors import (
    CommandError,
    DeviceProtocolError,
    DeviceUnreachable,
)
from tests.emulators import XStorageEmulator

STATUS = "/api/device/status"
COMMAND = "/api/device/command"


async def test_read_timeout_is_retried(adapter: XStorageAdapter, emu: XStorageEmulator) -> None:
    await adapter.read_state()
    emu.faults.timeout(path=STATUS, delay_s=1.0)
    reading = await adapter.read_state()
    assert reading.soc_pct == 55
    assert len(emu.requests_to("GET", STATUS)) == 3


async def test_reads_give_up_with_a_clear_error(
    adapter: XStorageAdapter, emu: XStorageEmulator
) -> None:
    await adapter.read_state()
    emu.faults.server_error(503, path=STATUS, count=3)
    with pytest.raises(DeviceProtocolError, match=r"device 'garage': GET /api/device/status: "
                                                  r"device error \(503\)"):
        await adapter.read_state()
    assert len(emu.requests_to("GET", STATUS)) == 1 + 3  # first read, then 1 + 2 retries
    assert (await adapter.read_state()).soc_pct == 55  # and recovers afterwards


async def test_connection_reset_on_read_recovers(
    adapter: XStorageAdapter, emu: XStorageEmulator
) -> None:
    await adapter.read_state()
    emu.faults.reset(path=STATUS)
    assert (await adapter.read_state()).soc_pct == 55


async def test_malformed_json_on_read_recovers(
    adapter: XStorageAdapter, emu: XStorageEmulator
) -> None:
    await adapter.read_state()
    emu.faults.malformed_json(path=STATUS, count=3)
    with pytest.raises(DeviceProtocolError, match="not valid JSON"):
        await adapter.read_state()
    emu.faults.malformed_json(path=STATUS)
    assert (await adapter.read_state()).soc_pct == 55


@pytest.mark.parametrize(
    ("inject", "error"),
    [
        (lambda f: f.timeout(path=COMMAND, delay_s=1.0), DeviceUnreachable),
        (lambda f: f.reset(path=COMMAND), DeviceUnreachable),
        (lambda f: f.server_error(500, path=COMMAND), DeviceProtocolError),
        (lambda f: f.malformed_json(path=COMMAND), DeviceProtocolError),
    ],
)
async def test_writes_are_not_retried(
    adapter: XStorageAdapter, emu: XStorageEmulator, inject: Callable[..., None],
    error: type[Exception],
) -> None:
    await adapter.read_state()
    inject(emu.faults)
    with pytest.raises(error, match="garage"):
        await adapter.apply(charge(1000, 90), valid_for_s=60)
    assert len(emu.requests_to("POST", COMMAND)) == 1
    # The next tick's attempt goes through.
    assert (await adapter.apply(charge(1000, 90), valid_for_s=60)).confirmed


async def test_reboot_mid_session(adapter: XStorageAdapter, emu: XStorageEmulator) -> None:
    await adapter.apply(charge(1000, 90), valid_for_s=60)
    emu.reboot(down_requests=2)  # the retries of one read ride it out
    reading = await adapter.read_state()
    assert reading.device_mode is not None
    assert reading.device_mode.kind is not CommandKind.CHARGE  # the manual mode is gone
    assert len(emu.requests_to("POST", "/api/auth/signin")) == 2


async def test_unreachable_unit(make_adapter: Callable[..., XStorageAdapter]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    a = make_adapter(host=f"127.0.0.1:{port}", read_retries=0)
    with pytest.raises(DeviceUnreachable, match="cannot connect"):
        await a.read_state()
    await a.aclose()


commands = st.builds(
    Command,
    kind=st.sampled_from(list(CommandKind)),
    power_w=st.one_of(st.none(), st.floats(0.1, 3600)),
    target_soc_pct=st.floats(0, 100),
    floor_soc_pct=st.floats(0, 100),
    max_import_w=st.one_of(st.none(), st.floats(0, 50_000)),
    max_export_w=st.one_of(st.none(), st.floats(0, 50_000)),
)


@settings(max_examples=300, deadline=None)
@given(command=commands, rating=st.sampled_from([3600.0, 4600.0, 6000.0]),
       hours=st.integers(1, 12))
def test_every_mapped_payload_is_within_the_unit_ranges(
    command: Command, rating: float, hours: int
) -> None:
    try:
        native = map_command(command, rating=rating, duration_h=hours)
    except CommandError:
        return  # refused before sending: fine
    payload = native.payload()
    validate_payload(payload)
    from tests.emulators.xstorage import command_in_range

    assert command_in_range(payload) == ""
    params = payload["parameters"]
    # SOC rounding is safe-side up to float noise (1e-9 %), so 20.0000000001 stays 20.
    if command.kind is CommandKind.CHARGE:
        assert params["soc"] <= command.target_soc_pct + 1e-9
    if command.kind is CommandKind.DISCHARGE:
        assert params["soc"] >= command.floor_soc_pct - 1e-9
    # Never more power than asked, not even at the unit's smallest step (that is refused).
    if native.effective_power_w is not None:
        assert native.effective_power_w <= (command.power_w or 0) + 1e-6


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(command=commands)
async def test_unit_never_sees_an_out_of_range_command(
    adapter: XStorageAdapter, emu: XStorageEmulator, command: Command
) -> None:
    with contextlib.suppress(CommandError):
        await adapter.apply(command, valid_for_s=120)
    assert emu.state.out_of_range_commands == []
