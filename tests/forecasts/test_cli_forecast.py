"""``gridpilot forecast show`` and ``forecast evaluate`` on the bundled data and the emulator."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from gridpilot.cli import forecast as forecast_cli
from tests.cli.runner import REPO, run_cli
from tests.emulators.open_meteo import OpenMeteoEmulator

DATA = REPO / "examples" / "data" / "uk-2018-halfhourly.csv"
POLICY = """\
version: 1
site:
  name: pv site
  timezone: Europe/London
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000}
tariff:
  import: {default: 0.25}
strategies:
  arbitrage: {type: tariff_arbitrage}
default:
  strategy: arbitrage
run: {state_dir: state}
forecast:
  latitude_deg: 51.75
  longitude_deg: -1.26
  arrays:
    - {kwp: 4, tilt_deg: 35, azimuth_deg: 180}
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[OpenMeteoEmulator]:
    with OpenMeteoEmulator(now=datetime(2018, 1, 10, 12, tzinfo=UTC)) as emu:
        yield emu


def policy(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "pv.yaml"
    path.write_text(POLICY + extra, encoding="utf-8")
    return path


def test_evaluate_reports_errors_per_lead_hour_and_skill(tmp_path: Path) -> None:
    plot = tmp_path / "eval.png"
    done = run_cli("forecast", "evaluate", str(policy(tmp_path)), "--data", str(DATA),
                   "--from", "2018-01-09", "--to", "2018-01-11", "--json", "--plot", str(plot))
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["forecast"] == "open_meteo"
    assert [row["lead_hour"] for row in doc["per_lead_hour"]] == list(range(24))
    assert doc["pv_mae_w"] > 0 and doc["skill_vs_persistence"] is not None
    assert plot.stat().st_size > 1000


def test_show_learns_from_data_and_fetches_through_the_cache(
        tmp_path: Path, emulator: OpenMeteoEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forecast_cli, "http_client", lambda: httpx.Client(
        verify=ssl.create_default_context(cafile=str(emulator.ca_path))))
    path = policy(tmp_path, f"  base_url: {emulator.url}\n")
    args = ("forecast", "show", str(path), "--data", str(DATA), "--at", "2018-01-10T12:00",
            "--json")
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["fetch"]["outcome"] == "fetched"
    assert len(doc["slots"]) == 96 and doc["sources"]["live_slots"] > 0
    assert (tmp_path / "state" / "forecasts").is_dir()
    # Offline: the cache only, no call.
    sent = len(emulator.requests)
    done = run_cli(*args[:-1], "--offline")
    assert done.returncode == 0, done.stderr
    assert "net" in done.stdout and len(emulator.requests) == sent


def test_show_says_when_the_service_fails(tmp_path: Path, emulator: OpenMeteoEmulator,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forecast_cli, "http_client", lambda: httpx.Client(
        verify=ssl.create_default_context(cafile=str(emulator.ca_path))))
    emulator.faults.server_error(path="/v1/forecast")
    done = run_cli("forecast", "show", str(policy(tmp_path, f"  base_url: {emulator.url}\n")),
                   "--data", str(DATA), "--at", "2018-01-10T12:00")
    assert done.returncode == 0, done.stderr
    assert "outcome=error" in done.stdout and "503" in done.stdout
    assert "Traceback" not in done.stderr
