"""Settings read-modify-write: a round trip never drops or changes a field it was not asked to
change (property tests, on the payload and through the emulated unit)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpilot.devices.xstorage import XStorageAdapter
from gridpilot.devices.xstorage.devicesettings import (
    READ_ONLY_KEYS,
    compare_settings,
    put_payload,
)
from tests.emulators import XStorageEmulator
from tests.emulators.xstorage import GEONAMES

modes = st.sampled_from([
    {"command": "SET_BASIC_MODE", "parameters": None},
    {"command": "SET_MAXIMIZE_AUTO_CONSUMPTION", "parameters": None},
    {"command": "SET_PEAK_SHAVING", "parameters": {"maxHousePeakConsumption": 3500}},
    {"command": "SET_VARIABLE_GRID_INJECTION", "parameters": {"maximumPower": -200}},
    {"command": "SET_FREQUENCY_REGULATION", "parameters": {"powerAllocation": 0,
                                                           "optimalSoc": 28}},
])
geo = st.sampled_from(sorted(GEONAMES))
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)


@st.composite
def get_settings(draw: st.DrawFn) -> dict[str, Any]:
    mode = draw(modes)
    tz = draw(st.sampled_from(["Europe/London", "Europe/Paris", "UTC"]))
    doc: dict[str, Any] = {
        "id": "abc", "createdAt": 1752441080, "updatedAt": 1752441080,
        "name": draw(text), "description": draw(text), "address": draw(text),
        "country": {"geonameId": draw(geo), "name": "x"},
        "city": {"geonameId": draw(geo), "name": "y"},
        "timezone": {"id": tz, "updatedAt": 0, "createdAt": 0, "timezone": tz, "name": tz},
        "postalCode": draw(text), "latitude": draw(st.integers(-90, 90)), "longitude": 0,
        "bmsBackupLevel": draw(st.integers(0, 100)),
        "updateBlockedState": draw(st.booleans()),
        "defaultMode": {"id": "m1", "createdAt": 1, "updatedAt": 1, "user": None, **mode},
        "energySavingMode": {"enabled": draw(st.booleans()),
                             "houseConsumptionThreshold": draw(st.integers(300, 1000))},
        "firmwareVersion": "00.01.0017", "bmsCapacity": 4.2, "inverterPowerRating": 0,
        "networkInterfaces": [], "powerMeters": [],
    }
    # A writable field this client has never heard of (newer firmware) must survive too.
    if draw(st.booleans()):
        doc["gridExportLimitW"] = draw(st.integers(0, 5000))
    return doc


changes_st = st.fixed_dictionaries(
    {},
    optional={"bmsBackupLevel": st.integers(0, 100), "defaultMode": modes},
)


def _expected(key: str, value: Any) -> Any:
    if key in ("country", "city"):
        return value["geonameId"]
    if key == "timezone":
        return value["id"]
    if key == "defaultMode":
        return {"command": value["command"], "parameters": value["parameters"]}
    return value


@settings(max_examples=200, deadline=None)
@given(doc=get_settings(), changes=changes_st)
def test_payload_keeps_every_field_not_asked_to_change(
    doc: dict[str, Any], changes: dict[str, Any]
) -> None:
    original = copy.deepcopy(doc)
    sent = put_payload(doc, changes)["settings"]
    assert doc == original  # the GET answer is not mutated
    for key, value in doc.items():
        if key in READ_ONLY_KEYS:
            assert key not in sent
        elif key in changes:
            assert sent[key] == changes[key]
        else:
            assert sent[key] == _expected(key, value), key
    for key in ("country", "city", "timezone"):
        assert isinstance(sent[key], str)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=get_settings(), changes=changes_st)
async def test_round_trip_through_the_unit(
    adapter: XStorageAdapter, emu: XStorageEmulator, doc: dict[str, Any],
    changes: dict[str, Any],
) -> None:
    emu.state.settings = copy.deepcopy(doc)
    after = await adapter.update_settings(changes)
    assert compare_settings(doc, after, changes) == []
    for key, value in doc.items():
        if key in READ_ONLY_KEYS or key in changes:
            continue
        assert _expected(key, after[key]) == _expected(key, value), key
    for key, value in changes.items():
        assert _expected(key, after[key]) == value
