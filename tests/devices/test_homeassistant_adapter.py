"""The homeassistant adapter against the Home Assistant REST API emulator: readings with units
and signs, commands as service calls checked before sending and read back, 401, a person's
mode, a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gridpilot.clock import ManualClock
from gridpilot.devices.context import DeviceContext
from gridpilot.devices.homeassistant import HomeAssistantAdapter, HomeAssistantSettings
from gridpilot.devices.registry import DEVICES, create_device
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.state import ModeSource
from gridpilot.errors import CommandError, DeviceAuthError, DeviceError
from tests.emulators.homeassistant import HomeAssistantEmulator

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

CONTROLS: dict[str, Any] = {
    "charge": [
        {"service": "select.select_option", "entity_id": "select.battery_mode",
         "data": {"option": "Force Charge"}},
        {"service": "number.set_value", "entity_id": "number.battery_charge_power",
         "data": {"value": "{power_w}"}},
        {"service": "number.set_value", "entity_id": "number.battery_target_soc",
         "data": {"value": "{target_soc_pct}"}},
    ],
    "discharge": [
        {"service": "select.select_option", "entity_id": "select.battery_mode",
         "data": {"option": "Force Discharge"}},
        {"service": "number.set_value", "entity_id": "number.battery_discharge_power",
         "data": {"value": "{power_w}"}},
    ],
    "self_consumption": [
        {"service": "select.select_option", "entity_id": "select.battery_mode",
         "data": {"option": "Eco"}},
    ],
    "hold": [
        {"service": "select.select_option", "entity_id": "select.battery_mode",
         "data": {"option": "Stop"}},
    ],
}


def settings_for(emu: HomeAssistantEmulator, **over: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "type": "homeassistant",
        "url": emu.url,
        "token": emu.token,
        "timeout_s": 1,
        "read_retries": 0,
        "entities": {
            "soc_pct": {"entity_id": "sensor.battery_soc"},
            "load_w": {"entity_id": "sensor.load_power"},
            "pv_w": {"entity_id": "sensor.pv_power"},
            "grid_w": {"entity_id": "sensor.grid_power"},
            "battery_w": {"entity_id": "sensor.battery_power", "positive_means": "charging"},
        },
        "controls": CONTROLS,
    }
    raw.update(over)
    return raw


@pytest.fixture
def emu() -> Iterator[HomeAssistantEmulator]:
    with HomeAssistantEmulator() as e:
        yield e


@pytest.fixture
def clock(emu: HomeAssistantEmulator) -> ManualClock:
    c = ManualClock(T0)
    emu.clock = lambda: c.now().timestamp()
    return c


@pytest.fixture
async def make(emu: HomeAssistantEmulator, clock: ManualClock,
               tmp_path: Path) -> AsyncIterator[Callable[..., HomeAssistantAdapter]]:
    made: list[HomeAssistantAdapter] = []

    def build(**over: Any) -> HomeAssistantAdapter:
        context = DeviceContext(name="homeassistant", clock=clock, state_dir=tmp_path)
        adapter = create_device(settings_for(emu, **over), context)
        assert isinstance(adapter, HomeAssistantAdapter)
        made.append(adapter)
        return adapter

    yield build
    for adapter in made:
        await adapter.aclose()


def test_registered_as_a_device_type() -> None:
    assert "homeassistant" in DEVICES.names()
    assert DEVICES.settings_model("homeassistant") is HomeAssistantSettings


async def test_readings_in_gridpilot_units_and_signs(
    emu: HomeAssistantEmulator, clock: ManualClock, make: Callable[..., HomeAssistantAdapter]
) -> None:
    adapter = make()
    emu.simulate = False
    emu.put("sensor.pv_power", "1.25")  # kW
    emu.put("sensor.battery_power", "800")  # the integration's + = charging
    clock.advance(30)
    reading = await adapter.read_state()
    assert reading.soc_pct == 50.0
    assert reading.pv_w == 1250.0
    assert reading.battery_w == -800.0
    assert reading.rejected == {}
    assert reading.measured_at["pv_w"] == T0  # when HA last heard from the sensor
    assert reading.device_mode is not None
    assert reading.device_mode.source is ModeSource.DEFAULT  # HA's own, no person behind it


async def test_unavailable_or_foreign_unit_is_refused_by_name(
    emu: HomeAssistantEmulator, make: Callable[..., HomeAssistantAdapter]
) -> None:
    adapter = make(entities={
        "soc_pct": {"entity_id": "sensor.battery_soc"},
        "load_w": {"entity_id": "sensor.load_power", "unit": "kW"},
        "pv_w": {"entity_id": "sensor.nothing_here"},
    })
    emu.simulate = False
    emu.put("sensor.battery_soc", "unavailable")
    reading = await adapter.read_state()
    assert reading.soc_pct is None and reading.load_w is None and reading.pv_w is None
    assert "sensor.battery_soc is unavailable" in reading.rejected["soc_pct"]
    assert "reports 'W', the policy says 'kW'" in reading.rejected["load_w"]
    assert "does not exist" in reading.rejected["pv_w"]


async def test_without_the_right_token_401_names_the_device_not_the_token(
    emu: HomeAssistantEmulator, make: Callable[..., HomeAssistantAdapter]
) -> None:
    adapter = make(token="wrong-token-value")
    with pytest.raises(DeviceAuthError) as info:
        await adapter.read_state()
    assert "401" in str(info.value) and "homeassistant" in str(info.value)
    assert "wrong-token-value" not in str(info.value) + repr(adapter) + repr(adapter.settings)


async def test_a_charge_is_service_calls_in_order_read_back_and_gridpilots_own(
    emu: HomeAssistantEmulator, make: Callable[..., HomeAssistantAdapter]
) -> None:
    adapter = make()
    applied = await adapter.apply(Command(CommandKind.CHARGE, power_w=2000, target_soc_pct=90),
                                  valid_for_s=300)
    assert applied.confirmed
    assert [name for name, _ in emu.calls] == [
        "select/select_option", "number/set_value", "number/set_value"]
    assert emu.calls[1][1] == {"entity_id": "number.battery_charge_power", "value": 2000}
    assert emu.value("select.battery_mode") == "Force Charge"
    mode = (await adapter.read_state()).device_mode
    assert mode is not None and mode.source is ModeSource.GRIDPILOT
    assert mode.kind is CommandKind.CHARGE and mode.native == "Force Charge"
    assert adapter.capabilities.native[CommandKind.HOLD] == "Stop"


async def test_an_option_the_select_does_not_offer_is_refused_before_sending(
    emu: HomeAssistantEmulator, make: Callable[..., HomeAssistantAdapter]
) -> None:
    controls = {"charge": [
        {"service": "number.set_value", "entity_id": "number.battery_charge_power",
         "data": {"value": "{power_w}"}},
        {"service": "select.select_option", "entity_id": "select.battery_mode",
         "data": {"option": "Force charge"}},
    ]}
    adapter = make(controls=controls)
    with pytest.raises(CommandError, match=r"select\.battery_mode: option 'Force charge' is not"):
        await adapter.apply(Command(CommandKind.CHARGE, power_w=1000), valid_for_s=300)
    assert emu.calls == []  # not even the number call before it


async def test_a_number_outside_its_range_is_refused_before_sending(
    emu: HomeAssistantEmulator, make: Callable[..., HomeAssistantAdapter]
) -> None:
    adapter = make()
    with pytest.raises(CommandError, match=r"number\.battery_charge_power: value 3600 is outside"):
        await adapter.apply(Command(CommandKind.CHARGE, power_w=3600), valid_for_s=300)
    assert emu.calls == []


async def test_ha_refusing_a_call_is_a_device_error(
    emu: HomeAssistantEmulator, make: Callable[..., HomeAssistantAdapter]
) -> None:
    adapter = make()
    # The entity's declared options change between the check and the call.
    original = emu.entities["select.battery_mode"]["attributes"]["options"]
    emu.faults.server_error(400, path="/api/services/select/select_option")
    with pytest.raises(DeviceError, match="400"):
        await adapter.apply(Command(CommandKind.HOLD), valid_for_s=300)
    assert original == emu.entities["select.battery_mode"]["attributes"]["options"]


async def test_a_persons_change_is_theirs_and_a_restart_is_unknown_then_ours_again(
    emu: HomeAssistantEmulator, clock: ManualClock, make: Callable[..., HomeAssistantAdapter]
) -> None:
    adapter = make()
    await adapter.apply(Command(CommandKind.SELF_CONSUMPTION), valid_for_s=300)
    emu.person_selects("select.battery_mode", "Force Discharge")
    mode = (await adapter.read_state()).device_mode
    assert mode is not None and mode.source is ModeSource.PERSON
    assert mode.kind is CommandKind.DISCHARGE
    await adapter.apply(Command(CommandKind.SELF_CONSUMPTION), valid_for_s=300)
    emu.restart(60)
    reading = await adapter.read_state()
    assert reading.soc_pct is None and reading.device_mode is not None
    assert reading.device_mode.source is ModeSource.UNKNOWN  # fails closed
    clock.advance(61)
    mode = (await adapter.read_state()).device_mode
    assert mode is not None and mode.source is ModeSource.GRIDPILOT and mode.native == "Eco"
    # A new process (a restart of gridpilot) still knows its own option from the state folder.
    again = (await make().read_state()).device_mode
    assert again is not None and again.source is ModeSource.GRIDPILOT


async def test_a_device_level_service_is_sent_without_an_entity(
    emu: HomeAssistantEmulator, make: Callable[..., HomeAssistantAdapter]
) -> None:
    emu.device_services.add("huawei_solar/forcible_charge_soc")
    controls = {"charge": [
        {"service": "select.select_option", "entity_id": "select.battery_mode",
         "data": {"option": "Eco"}},
        {"service": "huawei_solar.forcible_charge_soc",
         "data": {"device_id": "abc123", "target_soc": "{target_soc_pct:.0f}",
                  "power": "{power_w:.0f}"}},
    ]}
    adapter = make(controls=controls)
    applied = await adapter.apply(Command(CommandKind.CHARGE, power_w=1500, target_soc_pct=80),
                                  valid_for_s=300)
    assert applied.confirmed
    assert emu.calls[-1] == ("huawei_solar/forcible_charge_soc",
                             {"device_id": "abc123", "target_soc": "80", "power": "1500"})


@pytest.mark.parametrize(("over", "message"), [
    ({"token": None}, "give exactly one of 'token'"),
    ({"entities": {"load_w": {"entity_id": "sensor.load_power"}}}, "entities.soc_pct is required"),
    ({"entities": {"soc_pct": {"entity_id": "Battery SOC"}}}, "is not an entity id"),
    ({"controls": {"charge": [{"service": "number.set_value", "entity_id": "number.x",
                               "data": {"value": "{power}"}}]}}, "unknown field {power}"),
    ({"entities": {"soc_pct": {"entity_id": "sensor.s"},
                   "load_w": {"entity_id": "sensor.l", "positive_means": "charging"}}},
     "entities.load_w.positive_means"),
])
def test_bad_settings_are_named(emu: HomeAssistantEmulator, over: dict[str, Any],
                                message: str) -> None:
    context = DeviceContext(name="homeassistant", clock=ManualClock(T0))
    with pytest.raises(DeviceError) as info:
        create_device(settings_for(emu, **over), context)
    assert message in str(info.value)


async def test_the_token_from_a_file_beside_the_policy(
    emu: HomeAssistantEmulator, clock: ManualClock, tmp_path: Path
) -> None:
    (tmp_path / "ha.token").write_text(emu.token + "\n")
    context = DeviceContext(name="homeassistant", clock=clock, base_dir=tmp_path)
    adapter = create_device(settings_for(emu, token=None, token_file="ha.token"), context)
    try:
        reading = await adapter.read_state()
    finally:
        await adapter.aclose()
    assert reading.soc_pct == 50.0
    assert emu.token not in repr(adapter)


async def test_home_assistant_down_is_unreachable_not_a_crash(
    emu: HomeAssistantEmulator, make: Callable[..., HomeAssistantAdapter]
) -> None:
    from gridpilot.errors import DeviceUnreachable

    adapter = make()
    emu.faults.reset(path="/api/states")
    with pytest.raises(DeviceUnreachable, match="homeassistant"):
        await adapter.read_state()
    emu.faults.server_error(502, path="/api/states")  # the reverse proxy while HA restarts
    with pytest.raises(DeviceError, match="502"):
        await adapter.read_state()
    assert (await adapter.read_state()).soc_pct is not None


async def test_https_is_verified_against_the_ca_file_and_refused_without_it(
    clock: ManualClock, tmp_path: Path
) -> None:
    from gridpilot.devices.http import CertificateError

    with HomeAssistantEmulator(tls=True) as secure:
        context = DeviceContext(name="homeassistant", clock=clock)
        trusted = create_device(settings_for(secure, ca_file=str(secure.ca_path)), context)
        unknown = create_device(settings_for(secure), context)
        try:
            assert (await trusted.read_state()).soc_pct is not None
            with pytest.raises(CertificateError, match="certificate"):
                await unknown.read_state()
        finally:
            await trusted.aclose()
            await unknown.aclose()
        # The refused connection never got as far as a request: the token was not sent.
        assert len(secure.requests_to("GET", "/api/states")) == 1


async def test_plain_http_beyond_this_machine_is_warned_about(
    emu: HomeAssistantEmulator, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    context = DeviceContext(name="homeassistant", clock=clock)
    for url in (emu.url, "http://supervisor/core"):  # loopback and the add-on's proxy: quiet
        await create_device(settings_for(emu, url=url), context).aclose()
    assert "unencrypted" not in caplog.text
    # Only built, never connected: the address is a documentation one.
    await create_device(settings_for(emu, url="http://192.0.2.10:8123"), context).aclose()
    assert "plain http, so the access token crosses the network unencrypted" in caplog.text
    assert emu.token not in caplog.text
