"""Pure status mapping details, vendor error bodies, and the injectable transport."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import SecretStr

from gridpilot.clock import ManualClock
from gridpilot.devices.http import RejectedRequest
from gridpilot.devices.xstorage import XStorageAdapter, XStorageSettings
from gridpilot.devices.xstorage.status import epoch_to_datetime, mode_from_record
from gridpilot.engine.commands import CommandKind
from gridpilot.engine.state import ModeSource
from gridpilot.errors import DeviceProtocolError
from tests.emulators import XStorageEmulator


def test_seconds_and_milliseconds_by_digit_count() -> None:
    seconds = epoch_to_datetime(1752441080)
    millis = epoch_to_datetime(1752584987000)
    assert seconds == datetime(2025, 7, 13, 21, 11, 20, tzinfo=UTC)
    assert millis == datetime(2025, 7, 15, 13, 9, 47, tzinfo=UTC)
    assert epoch_to_datetime(0) is None and epoch_to_datetime(None) is None


def test_default_mode_with_null_fields_and_old_discharge_shape() -> None:
    default = mode_from_record({"command": "SET_BASIC_MODE", "type": "DEFAULT", "duration": None,
                                "startTime": None, "endTime": None, "parameters": None,
                                "recurrence": "DEFAULT_EVENT"})
    assert default is not None
    assert (default.kind, default.source, default.expires) == (
        CommandKind.IDLE, ModeSource.DEFAULT, None)
    # Older documents send a discharge as SET_CHARGE with ACTION_DISCHARGE.
    old = mode_from_record({"command": "SET_CHARGE", "type": "SCHEDULE",
                            "parameters": {"power": 5, "soc": 10, "action": "ACTION_DISCHARGE"}})
    assert old is not None and old.kind is CommandKind.DISCHARGE
    assert old.source is ModeSource.SCHEDULE
    unknown: list[str] = []
    odd = mode_from_record({"command": "SET_FREQUENCY_REGULATION", "type": "REMOTE"},
                           unknown=unknown)
    assert odd is not None and odd.kind is None and odd.source is ModeSource.UNKNOWN
    assert unknown == ["currentMode.type='REMOTE'"]


async def test_refused_command_carries_the_vendor_reason(
    adapter: XStorageAdapter,
) -> None:
    with pytest.raises(RejectedRequest, match="refused \\(400\\)") as info:
        await adapter.client.call("POST", "/api/device/command", json_body={})
    assert info.value.err_code == "err_invalid_command"
    assert "set_manual_command" in str(info.value)


async def test_the_transport_is_injected() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        if request.url.path == "/api/auth/signin":
            return httpx.Response(200, json={"successful": True, "result": {"token": "t"}})
        return httpx.Response(502, text="bad gateway")

    settings = XStorageSettings(host="unit.example", password=SecretStr("pw"),
                                tls_fingerprint_sha256="ab" * 32, read_retries=1,
                                retry_backoff_s=5.0)
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    adapter = XStorageAdapter(settings, clock=clock, transport=httpx.MockTransport(handler))
    with pytest.raises(DeviceProtocolError, match="502"):
        await adapter.read_state()
    await adapter.aclose()
    assert seen == ["POST /api/auth/signin", "GET /api/device", "GET /api/device"]
    # The backoff waited on the injected clock, not the wall clock.
    assert clock.now() == datetime(2026, 1, 1, 0, 0, 5, tzinfo=UTC)


async def test_answers_without_the_envelope_are_returned_as_they_are(
    make_adapter: Callable[..., XStorageAdapter], emu: XStorageEmulator
) -> None:
    # /api/config/state answers without {"successful", "result"}.
    a = make_adapter()
    state = await a.client.call("GET", "/api/config/state")
    assert state["setupComplete"] is True
    await a.aclose()
