"""No password, token or API key in any log line, repr or error message of a whole session."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from gridpilot.clock import ManualClock
from gridpilot.devices.composite import CompositeAdapter
from gridpilot.devices.xbattery import XBatteryAdapter, XBatterySettings
from gridpilot.devices.xstorage import XStorageAdapter, XStorageSettings
from gridpilot.engine.commands import charge, self_consumption
from gridpilot.errors import DeviceError
from tests.emulators import XBatteryEmulator, XStorageEmulator


async def test_session_leaks_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # httpx and httpcore included
    clock = ManualClock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    seen: list[str] = []
    with XStorageEmulator(password="pw-Zq81-never-show") as xs, \
            XBatteryEmulator(api_key="key-Hx42-never-show") as xbe:
        xs.clock = lambda: clock.now().timestamp()
        settings = XStorageSettings(host=f"127.0.0.1:{xs.port}", password=SecretStr(xs.password),
                                    tls_fingerprint_sha256=xs.fingerprint_sha256,
                                    timeout_s=0.5, retry_backoff_s=0.0)
        unit = XStorageAdapter(settings, name="unit", clock=clock)
        pack = XBatteryAdapter(
            XBatterySettings(base_url=xbe.url, api_key=SecretStr(xbe.api_key),
                             device_id=xbe.device_id, ca_file=xbe.ca_path),
            name="pack", clock=clock,
        )
        combo = CompositeAdapter("site", state=pack, control=unit)
        seen += [repr(settings), str(settings), repr(settings.model_dump()), repr(unit),
                 repr(unit.client), repr(combo), repr(pack), repr(pack.settings)]
        await combo.read_state()
        await combo.apply(charge(1000, 90), valid_for_s=60)
        xs.expire_tokens()
        await unit.set_backup_level(20)
        clock.advance(3400)
        await unit.apply(self_consumption(), valid_for_s=60)
        xs.faults.server_error(500, count=5)
        xs.faults.malformed_json(path="/api/auth/signin")
        for _ in range(2):
            try:
                await unit.read_state()
            except DeviceError as exc:
                seen.append(str(exc))
        seen.append(repr(unit.client._tokens))
        bad = XStorageAdapter(
            settings.model_copy(update={"password": SecretStr("wrong-pw-Kk9-never-show")}),
            name="bad", clock=clock,
        )
        for _ in range(3):
            try:
                await bad.read_state()
            except DeviceError as exc:
                seen.append(str(exc))
                seen.append(repr(exc.__cause__))
        await bad.aclose()
        await combo.aclose()
        tokens = list(xs.state.issued_tokens)
    assert len(tokens) >= 3
    text = caplog.text + "\n".join(seen)
    for record in caplog.records:
        text += repr(record.args) + repr(record.__dict__)
    assert "device 'unit'" in text  # the capture did see the session
    for secret in ("pw-Zq81-never-show", "key-Hx42-never-show", "wrong-pw-Kk9-never-show",
                   *tokens):
        assert secret not in text
