from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr

from gridpilot.clock import ManualClock
from gridpilot.devices.xstorage import XStorageAdapter, XStorageSettings
from gridpilot.engine.commands import DeviceLimits
from tests.emulators import XStorageEmulator

LIMITS = DeviceLimits(
    capacity_kwh=4.2, max_charge_w=3600, max_discharge_w=3600, min_soc_pct=0, max_soc_pct=100
)


@pytest.fixture
def emu() -> Iterator[XStorageEmulator]:
    with XStorageEmulator() as e:
        yield e


@pytest.fixture
def clock(emu: XStorageEmulator) -> ManualClock:
    c = ManualClock(datetime(2026, 11, 21, 12, 0, tzinfo=UTC))
    # The emulated unit keeps the same time as the adapter, so token life and mode expiry agree.
    emu.clock = lambda: c.now().timestamp()
    return c


@pytest.fixture
def make_adapter(
    emu: XStorageEmulator, clock: ManualClock
) -> Iterator[Callable[..., XStorageAdapter]]:
    made: list[XStorageAdapter] = []

    def make(**overrides: Any) -> XStorageAdapter:
        settings: dict[str, Any] = {
            "host": f"127.0.0.1:{emu.port}",
            "password": SecretStr(emu.password),
            "tls_fingerprint_sha256": emu.fingerprint_sha256,
            "timeout_s": 0.5,
            "retry_backoff_s": 0.01,
        }
        settings.update(overrides)
        adapter = XStorageAdapter(
            XStorageSettings(**settings), name="garage", limits=LIMITS, clock=clock
        )
        made.append(adapter)
        return adapter

    yield make


@pytest.fixture
async def adapter(make_adapter: Callable[..., XStorageAdapter]) -> AsyncIterator[XStorageAdapter]:
    a = make_adapter()
    yield a
    await a.aclose()
