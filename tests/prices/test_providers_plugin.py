"""The example price provider plugin (examples/price-plugin), pip-installed as a user would, is
found through the ``gridpilot.prices`` entry point and fetches from a loopback server."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridpilot.prices.registry import PRICE_PROVIDERS
from tests.emulators._server import EmulatorBase, RecordedRequest, Reply
from tests.prices.providers_support import make_provider, utc

PLUGIN = Path(__file__).resolve().parents[2] / "examples" / "price-plugin"


class SlotsServer(EmulatorBase):
    def route(self, req: RecordedRequest) -> Reply:
        slots = [{"start": f"2025-06-01T{h:02d}:00:00+00:00",
                  "end": f"2025-06-01T{h + 1:02d}:00:00+00:00", "price": 0.1 * h - 0.5}
                 for h in range(23)]
        return Reply(200, json.dumps(slots).encode())


@pytest.fixture(scope="module")
def installed() -> Iterator[None]:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet",
         "--disable-pip-version-check", "--force-reinstall", str(PLUGIN)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    PRICE_PROVIDERS.reset()
    yield
    PRICE_PROVIDERS.reset()


def test_the_example_plugin_is_found_and_fetches(installed: None) -> None:
    assert "json_slots" in PRICE_PROVIDERS.names()
    assert PRICE_PROVIDERS.problems() == {}
    with SlotsServer() as server:
        provider = make_provider("json_slots", server, unit="per_kwh", currency="EUR")
        slots = provider.fetch(utc(2025, 6, 1, 6), utc(2025, 6, 1, 12))
    assert len(slots) == 6 and slots.value[0] == pytest.approx(0.1)
    assert slots.source == "json_slots /prices.json"
