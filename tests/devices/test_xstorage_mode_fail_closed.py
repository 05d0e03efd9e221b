"""The xStorage adapter fails closed on modes and readings it cannot place, and refuses commands
the unit cannot carry out as asked instead of adjusting them silently."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from gridpilot.clock import ManualClock
from gridpilot.devices.base import DeviceReading
from gridpilot.devices.composite import CompositeAdapter
from gridpilot.devices.xbattery import reading_from_record
from gridpilot.devices.xstorage import XStorageAdapter, XStorageSettings
from gridpilot.devices.xstorage.commands import map_command
from gridpilot.devices.xstorage.modememory import ModeMemory
from gridpilot.devices.xstorage.status import mode_from_record, reading_from_status
from gridpilot.engine.commands import (
    Command,
    CommandKind,
    charge,
    discharge,
    limit_export,
    peak_shave,
)
from gridpilot.engine.state import DeviceMode, ModeSource
from gridpilot.errors import CommandError
from tests.emulators.xstorage import OMIT
from tests.emulators.xstorage_mock import ENERGY_FLOW, MockUnit

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PERSON_CHARGE = {"id": "p-1", "type": "MANUAL", "command": "SET_CHARGE", "duration": 1,
                 "parameters": {"action": "ACTION_CHARGE", "power": 15, "soc": 90}}


@pytest.mark.parametrize(
    ("record", "why"),
    [
        (None, "currentMode=None is not an object"),
        ({}, "currentMode has no type"),
        ({"command": "SET_CHARGE", "id": "own"}, "currentMode has no type"),
        ({**PERSON_CHARGE, "type": "OVERRIDE"}, "currentMode.type='OVERRIDE'"),
        ({**PERSON_CHARGE, "type": "manual"}, "currentMode.type='manual'"),
        ({**PERSON_CHARGE, "type": "Manual", "id": "own"}, "currentMode.type='Manual'"),
        ({**PERSON_CHARGE, "type": None}, "currentMode.type=None"),
        ({"type": "DEFAULT", "command": None}, "currentMode.command=None (type DEFAULT)"),
        ({"type": "SCHEDULE", "command": "SET_TURBO"},
         "currentMode.command='SET_TURBO' (type SCHEDULE)"),
        (["SET_CHARGE"], "currentMode=['SET_CHARGE'] is not an object"),
    ],
)
def test_a_mode_that_cannot_be_placed_is_unknown_and_says_why(record: Any, why: str) -> None:
    unknown: list[str] = []
    mode = mode_from_record(record, own_ids={"own"}, unknown=unknown)
    assert mode.source is ModeSource.UNKNOWN
    assert unknown == [why]


def test_only_documented_layers_and_own_records_are_placed() -> None:
    own = {"own"}
    assert mode_from_record(PERSON_CHARGE, own_ids=own).source is ModeSource.PERSON
    assert mode_from_record({**PERSON_CHARGE, "id": "own"}, own_ids=own).source is (
        ModeSource.GRIDPILOT)
    # A record without an id, or with an empty one, is never gridpilot's.
    for bad_id in (None, "", 7):
        mode = mode_from_record({**PERSON_CHARGE, "id": bad_id}, own_ids={"", "own"})
        assert mode.source is ModeSource.PERSON
    default = mode_from_record({"type": "DEFAULT", "command": "SET_BASIC_MODE"})
    assert default.source is ModeSource.DEFAULT
    # What actually runs is kept, in the unit's own terms.
    assert mode_from_record(PERSON_CHARGE).parameters == PERSON_CHARGE["parameters"]


def test_a_status_without_current_mode_reads_as_unknown_not_as_none() -> None:
    reading = reading_from_status("u", {"energyFlow": ENERGY_FLOW}, now=NOW)
    assert reading.device_mode == DeviceMode(None, ModeSource.UNKNOWN)
    assert "currentMode missing" in reading.extra["unknown_enums"]


def test_mode_memory_never_holds_an_empty_id(tmp_path: Any) -> None:
    path = tmp_path / "modes.json"
    path.write_text('["", "a", 3]')
    memory = ModeMemory(path)
    memory.add("")
    assert list(memory) == ["a"]


def _adapter(unit: MockUnit) -> XStorageAdapter:
    settings = XStorageSettings(host="unit.example", password=SecretStr("pw"),
                                tls_fingerprint_sha256="ab" * 32)
    return XStorageAdapter(settings, name="u", clock=ManualClock(NOW),
                           transport=unit.transport())


def test_a_record_that_does_not_echo_the_command_never_becomes_gridpilots() -> None:
    unit = MockUnit(current_mode=PERSON_CHARGE)

    async def go() -> DeviceReading:
        # A unit that answers a command with the record it keeps running (a person's).
        unit.handle = _answer_with(unit, PERSON_CHARGE)  # type: ignore[method-assign]
        adapter = _adapter(unit)
        applied = await adapter.apply(discharge(2000, 20), valid_for_s=60)
        assert not applied.confirmed
        reading = await adapter.read_state()
        await adapter.aclose()
        return reading

    reading = asyncio.run(go())
    assert reading.device_mode is not None and reading.device_mode.source is ModeSource.PERSON


def _answer_with(unit: MockUnit, record: dict[str, Any]) -> Any:
    import httpx

    plain = MockUnit.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/device/command":
            unit.commands.append(request.content)
            return httpx.Response(200, json={"successful": True, "result": record})
        return plain(unit, request)

    return handle


# -- rejected readings ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "why"),
    [
        (150, "energyFlow.stateOfCharge=150 is outside 0..100 %"),
        (-3, "energyFlow.stateOfCharge=-3 is outside 0..100 %"),
        ("n/a", "energyFlow.stateOfCharge='n/a' is not a number"),
        (True, "energyFlow.stateOfCharge=True is not a number"),
        (None, "energyFlow.stateOfCharge is null"),
        (OMIT, "energyFlow.stateOfCharge is missing"),
    ],
)
def test_a_rejected_soc_is_unknown_and_named(value: Any, why: str) -> None:
    flow = dict(ENERGY_FLOW)
    if value is OMIT:
        del flow["stateOfCharge"]
    else:
        flow["stateOfCharge"] = value
    reading = reading_from_status("u", {"energyFlow": flow}, now=NOW)
    assert reading.soc_pct is None
    assert reading.rejected == {"soc_pct": why}


def test_a_rejected_power_is_unknown_and_named_never_zero() -> None:
    flow = {**ENERGY_FLOW, "gridValue": "ERR", "criticalLoadValue": [1]}
    reading = reading_from_status("u", {"energyFlow": flow}, now=NOW)
    assert reading.grid_w is None and reading.load_w is None  # half a load is not the load
    assert reading.rejected == {"grid_w": "energyFlow.gridValue='ERR' is not a number",
                                "load_w": "energyFlow.criticalLoadValue=[1] is not a number"}
    assert reading.soc_pct == 55


def test_xbattery_names_a_rejected_soc_too() -> None:
    assert reading_from_record({"soc": 250}, now=NOW).rejected == {
        "soc_pct": "soc=250 is outside 0..100 %"}
    assert reading_from_record({"soc": 80}, now=NOW).rejected == {}


class _Part:
    """A minimal adapter reporting a fixed reading."""

    def __init__(self, name: str, reading: DeviceReading) -> None:
        self.name, self.reading = name, reading
        self.applied: list[Command] = []

    capabilities: Any = None

    async def read_state(self) -> DeviceReading:
        return self.reading

    async def apply(self, command: Command, *, valid_for_s: float) -> Any:
        self.applied.append(command)

    async def release(self) -> None: ...

    async def aclose(self) -> None: ...


def test_composite_takes_the_mode_from_the_device_it_commands() -> None:
    # The state source says "default"; the actuator cannot tell who set its mode. Only the
    # actuator's mode can make commanding it safe.
    state = _Part("s", DeviceReading(time=NOW, soc_pct=60.0,
                                     device_mode=DeviceMode(CommandKind.IDLE, ModeSource.DEFAULT)))
    control = _Part("c", DeviceReading(time=NOW, soc_pct=None, load_w=300.0,
                                       device_mode=DeviceMode(None, ModeSource.UNKNOWN),
                                       rejected={"soc_pct": "soc is missing"}))
    combo = CompositeAdapter("combo", state=state, control=control)  # type: ignore[arg-type]
    reading = asyncio.run(combo.read_state())
    assert reading.device_mode == DeviceMode(None, ModeSource.UNKNOWN)
    # The state source's SOC fills the actuator's gap: no longer rejected.
    assert reading.soc_pct == 60.0 and reading.rejected == {}
    control.reading = DeviceReading(time=NOW, soc_pct=50.0, device_mode=None)
    assert asyncio.run(combo.read_state()).device_mode is None


# -- commands the unit cannot carry out as asked -------------------------------------------------

@pytest.mark.parametrize(
    ("command", "rating", "message"),
    [
        (charge(100, 90), 4600.0,
         "charge power_w 100 W is below the unit's smallest setting, 5 % of its 4600 W rating "
         "= 230 W; give power_w of at least 230 W, or idle to keep the battery still"),
        (discharge(179, 20), 3600.0, "below the unit's smallest setting"),
        (charge(4000, 90), 3600.0, "charge power_w 4000 W is above the unit's 3600 W rating"),
        (limit_export(50_000), 3600.0,
         "limit_export max_export_w 50000 W is outside the unit's range -1000..3000 W"),
        (peak_shave(200_000), 3600.0, "peak_shave max_import_w 200000 W is outside"),
    ],
)
def test_values_outside_the_units_range_are_refused_naming_the_field(
    command: Command, rating: float, message: str
) -> None:
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        map_command(command, rating=rating, duration_h=1)


def test_rounding_inside_the_range_says_what_was_sent() -> None:
    native = map_command(charge(1000, 90.7), rating=3600, duration_h=1)
    assert native.parameters == {"power": 27, "soc": 90, "action": "ACTION_CHARGE"}
    assert native.notes == ("power_w 1000 W sent as 27 % of 3600 W = 972 W",
                            "target_soc_pct 90.7 % sent as 90 %")
    exact = map_command(charge(1800, 90), rating=3600, duration_h=1)
    assert exact.notes == ()
    cap = map_command(limit_export(2500.6), rating=3600, duration_h=1)
    assert cap.parameters == {"maximumPower": 2500}
    assert cap.notes == ("max_export_w 2500.6 W sent as 2500 W",)


def test_the_smallest_setting_itself_is_sent() -> None:
    native = map_command(charge(180, 90), rating=3600, duration_h=1)
    assert native.parameters is not None and native.parameters["power"] == 5
    assert native.effective_power_w == pytest.approx(180)
