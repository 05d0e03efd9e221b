"""The generic ``mqtt`` device against a real Mosquitto broker: a bridge's retained readings in
kW with its own sign and a JSON payload, commands published from templates and confirmed by the
mode topic, a person's mode, bad payloads and refused commands."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from gridpilot.clock import ManualClock
from gridpilot.devices.context import DeviceContext
from gridpilot.devices.mqtt import MqttDevice
from gridpilot.devices.registry import create_device
from gridpilot.engine.commands import Command, CommandKind, DeviceLimits
from gridpilot.engine.state import ModeSource
from gridpilot.errors import CommandError, DeviceError
from tests.mqtt.conftest import Broker, Subscriber, wait_for

pytestmark = pytest.mark.xdist_group("mqtt")

T0 = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
LIMITS = DeviceLimits(10.0, 3000.0, 3000.0, 10.0, 95.0)
P = "bridge/inverter"


def settings(port: int, **over: Any) -> dict[str, Any]:
    return {
        "type": "mqtt", "host": "127.0.0.1", "port": port, "client_id": "gp-device-test",
        "readings": {
            "soc_pct": {"topic": f"{P}/soc"},
            "load_w": {"topic": f"{P}/load", "scale": 1000},
            "battery_w": {"topic": f"{P}/state", "json_key": "battery.power", "invert": True},
            "grid_w": {"topic": f"{P}/grid"},
        },
        "mode": {"topic": f"{P}/mode"},
        "modes": {"Self Use": "self_consumption", "Force Charge": "charge"},
        "default_mode": "Self Use",
        "commands": {"charge": [{"topic": f"{P}/set/mode", "payload": "Force Charge"},
                                {"topic": f"{P}/set/charge_power",
                                 "payload": '{{"watts": {power_w}}}'}]},
        "confirm_s": 1.0,
        **over,
    }


def device(port: int, **over: Any) -> MqttDevice:
    made = create_device(settings(port, **over),
                         DeviceContext("bridge", ManualClock(T0), limits=LIMITS))
    assert isinstance(made, MqttDevice)
    return made


def publish(sub: Subscriber, topic: str, payload: str) -> None:
    sub.client.publish(topic, payload, qos=1, retain=True).wait_for_publish(2)


async def test_readings_commands_and_a_persons_mode(broker: Broker) -> None:
    bridge = Subscriber(broker.port, [f"{P}/set/#"])
    for topic, payload in (("soc", "55.5"), ("load", "1.2"), ("grid", "not a number"),
                           ("state", json.dumps({"battery": {"power": -800}})),
                           ("mode", "Self Use")):
        publish(bridge, f"{P}/{topic}", payload)
    dev = device(broker.port)
    try:
        r = await dev.read_state()
        assert (r.soc_pct, r.load_w, r.battery_w, r.grid_w) == (55.5, 1200.0, 800.0, None)
        assert "bridge/inverter/grid" in r.rejected["grid_w"]
        assert r.device_mode is not None
        assert (r.device_mode.kind, r.device_mode.source) == (
            CommandKind.SELF_CONSUMPTION, ModeSource.DEFAULT)

        # The bridge follows the command after a moment; the adapter waits to see it.
        async def follow() -> None:
            await wait_for(lambda: bridge.last(f"{P}/set/mode") == "Force Charge")
            publish(bridge, f"{P}/mode", "Force Charge")
        follower = asyncio.create_task(follow())
        applied = await dev.apply(Command(CommandKind.CHARGE, power_w=2500.0), valid_for_s=600)
        await follower
        assert applied.confirmed
        assert bridge.last(f"{P}/set/charge_power") == '{"watts": 2500}'
        r = await dev.read_state()
        assert r.device_mode is not None and r.device_mode.source is ModeSource.GRIDPILOT

        publish(bridge, f"{P}/mode", "Self Use")  # a person switched it back by hand
        await asyncio.sleep(0.2)
        r = await dev.read_state()
        assert r.device_mode is not None and r.device_mode.source is ModeSource.PERSON
        publish(bridge, f"{P}/mode", "Turbo")  # a mode the policy does not know
        await asyncio.sleep(0.2)
        r = await dev.read_state()
        assert r.device_mode is not None and r.device_mode.source is ModeSource.UNKNOWN

        with pytest.raises(CommandError, match="no 'commands' for discharge"):
            await dev.apply(Command(CommandKind.DISCHARGE, power_w=100.0), valid_for_s=600)
        with pytest.raises(CommandError, match="outside 0-3000 W"):
            await dev.apply(Command(CommandKind.CHARGE, power_w=5000.0), valid_for_s=600)
        # The bridge never shows the mode: the command is not confirmed.
        applied = await dev.apply(Command(CommandKind.CHARGE, power_w=1000.0), valid_for_s=600)
        assert not applied.confirmed
    finally:
        await dev.aclose()
        bridge.close()


@pytest.mark.parametrize(("over", "message"), [
    ({"mode": None}, "commands need 'mode'"),
    ({"modes": {"Self Use": "self_consumption"}}, "no mode payload maps to charge"),
    ({"commands": {"charge": [{"topic": "x/#", "payload": "1"}]}}, "wildcards"),
    ({"commands": {"charge": [{"topic": "x", "payload": "{watts}"}]}}, "payload names watts"),
    ({"readings": {"load_w": {"topic": "x"}}}, "soc_pct is required"),
])
def test_settings_mistakes_are_named(over: dict[str, Any], message: str) -> None:
    with pytest.raises(DeviceError, match=message):
        create_device(settings(1883, **over), DeviceContext("bridge", ManualClock(T0)))


async def test_no_broker_is_a_device_error(broker: Broker) -> None:
    dev = device(broker.port + 1 if broker.port < 65535 else 1)
    try:
        with pytest.raises(DeviceError, match="cannot connect to the broker"):
            await asyncio.wait_for(dev.read_state(), 8)
    finally:
        await dev.aclose()
