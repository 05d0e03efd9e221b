"""Property: whatever the entity mapping and the command, the adapter never sends a value outside
an entity's declared range, nor an option the select does not offer."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.clock import ManualClock
from gridpilot.devices.homeassistant import HomeAssistantAdapter, HomeAssistantSettings
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.errors import CommandError

TEMPLATES = ("{power_w}", "{power_kw}", "{target_soc_pct}", "{floor_soc_pct}", "{power_w:.0f}")
OPTIONS = ("Eco", "Force Charge", "Force Discharge", "Stop", "force charge", "")


def _state(entity_id: str, state: str, attributes: dict[str, Any]) -> dict[str, Any]:
    stamp = "2026-06-01T12:00:00+00:00"
    return {"entity_id": entity_id, "state": state, "attributes": attributes,
            "last_changed": stamp, "last_updated": stamp,
            "context": {"id": "01J0000000000000000000000", "parent_id": None, "user_id": None}}


numbers = st.fixed_dictionaries({
    "min": st.floats(-5000, 5000, allow_nan=False),
    "span": st.floats(0, 10000, allow_nan=False),
    "template": st.sampled_from(TEMPLATES),
})


@settings(max_examples=60, deadline=None)
@given(
    entities=st.lists(numbers, min_size=1, max_size=3),
    option=st.sampled_from(OPTIONS),
    offered=st.lists(st.sampled_from(OPTIONS[:4]), min_size=1, max_size=4, unique=True),
    power_w=st.floats(0, 20000, allow_nan=False),
    target=st.floats(0, 100, allow_nan=False),
)
def test_never_sends_outside_the_declared_range(
    entities: list[dict[str, Any]], option: str, offered: list[str], power_w: float,
    target: float,
) -> None:
    states = [_state("select.mode", "Eco", {"options": offered})]
    calls: list[dict[str, Any]] = [
        {"service": "select.select_option", "entity_id": "select.mode", "data": {"option": option}}]
    for i, spec in enumerate(entities):
        low, high = spec["min"], spec["min"] + spec["span"]
        states.append(_state(f"number.n{i}", str(low), {"min": low, "max": high, "step": 1}))
        calls.append({"service": "number.set_value", "entity_id": f"number.n{i}",
                      "data": {"value": spec["template"]}})
    by_id = {s["entity_id"]: s for s in states}
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=states)
        body = json.loads(request.content)
        sent.append(body)
        return httpx.Response(200, json=[by_id[body["entity_id"]]])

    model = HomeAssistantSettings.model_validate({
        "url": "http://127.0.0.1:8123", "token": "t",
        "entities": {"soc_pct": {"entity_id": "sensor.soc"}},
        "controls": {"charge": calls},
    })
    adapter = HomeAssistantAdapter(model, clock=ManualClock(datetime(2026, 6, 1, tzinfo=UTC)),
                                   transport=httpx.MockTransport(handler))
    command = Command(CommandKind.CHARGE, power_w=power_w, target_soc_pct=target)

    async def run() -> None:
        try:
            await adapter.apply(command, valid_for_s=300)
        except CommandError:
            assert sent == []  # refused before anything was sent
        finally:
            await adapter.aclose()

    asyncio.run(run())
    for body in sent:
        attrs = by_id[body["entity_id"]]["attributes"]
        if "option" in body:
            assert body["option"] in attrs["options"]
        else:
            value = float(body["value"])
            assert attrs["min"] <= value <= attrs["max"]
