"""Shared by the live-tariff tests: a policy whose tariff takes its prices from an emulator, and
an HTTP client that verifies the emulators' certificates (one CA each)."""

from __future__ import annotations

import json
import ssl
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.emulators._server import EmulatorBase, RecordedRequest, Reply
from tests.emulators.octopus import LONDON, OctopusEmulator

__all__ = ["PublishingOctopus", "client_for", "write_live_policy"]


def client_for(*emulators: EmulatorBase) -> httpx.Client:
    """A client trusting exactly the CAs of ``emulators`` (TLS stays verified)."""
    context = ssl.create_default_context(cafile=str(emulators[0].ca_path))
    for emu in emulators[1:]:
        context.load_verify_locations(cafile=str(emu.ca_path))
    return httpx.Client(verify=context, trust_env=False)


def write_live_policy(directory: Path, import_: Mapping[str, Any], *,
                      export: Mapping[str, Any] | None = None, currency: str = "EUR",
                      timezone: str = "Europe/Berlin", default: Mapping[str, Any] | None = None,
                      extra: Mapping[str, Any] | None = None) -> Path:
    """A policy file whose import (and export) schedule is ``import_`` (``export``)."""
    doc: dict[str, Any] = {
        "version": 1,
        "site": {"name": "live prices", "timezone": timezone,
                 "battery": {"capacity_kwh": 10, "max_charge_w": 3000,
                             "max_discharge_w": 3000}},
        "tariff": {"currency": currency, "import": dict(import_),
                   "export": dict(export or {"default": 0.05})},
        "default": dict(default or {"action": {"kind": "self_consumption"}}),
        **dict(extra or {}),
    }
    path = directory / "policy.yaml"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")  # JSON is YAML
    return path


class PublishingOctopus(OctopusEmulator):
    """The Octopus emulator publishing as Agile does, by the test's clock: at 16:00 UK time the
    next day's rates up to 23:00 UK appear (``late_by_s`` later for a late publication)."""

    def __init__(self) -> None:
        super().__init__()
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        self.late_by_s = 0

    def route(self, req: RecordedRequest) -> Reply:
        local = (self.now() - timedelta(seconds=self.late_by_s)).astimezone(LONDON)
        last_day = local.date() + timedelta(days=1 if local.time() >= time(16) else 0)
        self.publish_until_s = int(datetime.combine(last_day, time(23),
                                                    tzinfo=LONDON).timestamp())
        return super().route(req)
