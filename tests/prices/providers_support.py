"""Shared by the provider tests: a TLS-verifying client that trusts an emulator's CA, and a
provider built from settings the way the policy will build it."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np

from gridpilot.clock import ManualClock
from gridpilot.prices.base import PriceProvider, PriceSlots, ProviderContext
from gridpilot.prices.registry import build_provider
from tests.emulators._server import EmulatorBase

__all__ = ["assert_well_formed", "make_provider", "utc"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def make_provider(
    name: str, emulator: EmulatorBase, base_dir: Path | None = None, **settings: Any
) -> PriceProvider:
    client = httpx.Client(verify=ssl.create_default_context(cafile=str(emulator.ca_path)))
    context = ProviderContext(
        client=client, clock=ManualClock(utc(2025, 1, 1)), tz=ZoneInfo("Europe/Berlin"),
        base_dir=base_dir or Path("."),
    )
    return build_provider(name, {"base_url": emulator.url, **settings}, context)


def assert_well_formed(slots: PriceSlots, start: datetime, end: datetime) -> None:
    """Ascending, not overlapping, every slot inside ``[start, end)``, finite."""
    s, e = slots.start_s, slots.end_s
    assert len(s) == len(e) == len(slots.value)
    if len(s):
        assert int(s[0]) >= start.timestamp() and int(e[-1]) <= end.timestamp()
        assert bool(np.all(e > s))
        assert bool(np.all(s[1:] >= e[:-1]))
        assert bool(np.all(np.isfinite(slots.value)))
