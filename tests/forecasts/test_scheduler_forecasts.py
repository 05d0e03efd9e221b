"""The live scheduler's forecast keeper: refreshes at the interval, audits each one, and never
fails a tick: provider -> time_of_week -> flat."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest

from gridpilot.clock import ManualClock
from gridpilot.forecasts.open_meteo import OpenMeteoForecast, OpenMeteoSettings
from gridpilot.forecasts.providers import FlatForecast
from gridpilot.scheduler.forecasts import ForecastKeeper
from tests.emulators.open_meteo import OpenMeteoEmulator

NOW = datetime(2024, 6, 21, 6, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


class Audit:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, kind: str, time: datetime, **fields: Any) -> None:
        self.records.append({"kind": kind, "time": time, **fields})

    def kinds(self, kind: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == kind]


@pytest.fixture(scope="module")
def emulator() -> Iterator[OpenMeteoEmulator]:
    with OpenMeteoEmulator(now=NOW) as emu:
        yield emu


def keeper(emulator: OpenMeteoEmulator, tmp_path: Path, audit: Audit) -> ForecastKeeper:
    provider = OpenMeteoForecast(OpenMeteoSettings(
        latitude_deg=51.75, longitude_deg=-1.26, arrays=({"kwp": 4},),  # type: ignore[arg-type]
        base_url=emulator.url, timeout_s=1, refresh_interval_s=3600), LONDON)
    client = httpx.Client(verify=ssl.create_default_context(cafile=str(emulator.ca_path)))
    return ForecastKeeper(provider, tmp_path, ManualClock(NOW), LONDON, client=client,
                          audit=audit, retry_s=300)


def slots(now: datetime) -> np.ndarray:
    return int(now.timestamp()) + 1800 * np.arange(96, dtype=np.int64)


def test_refresh_at_the_interval_audited_and_faults_fall_back(
        emulator: OpenMeteoEmulator, tmp_path: Path) -> None:
    audit = Audit()
    k = keeper(emulator, tmp_path, audit)
    sent = len(emulator.requests)
    # Eight hours of 10-minute ticks; the service fails three times from 08:00.

    async def day() -> None:
        for i in range(0, 8 * 6):
            now = NOW + timedelta(minutes=10 * i)
            if now == NOW + timedelta(hours=2):
                emulator.faults.server_error(path="/v1/forecast", count=3)
            await k.refresh(now)
            out = k.predict(now, 600.0, 0.0, slots(now))
            assert out is not None and np.isfinite(out).all()

    asyncio.run(day())
    refreshes = audit.kinds("forecast_refresh")
    outcomes = [r["outcome"] for r in refreshes]
    assert outcomes[0] == "fetched"
    assert "error" in outcomes
    errors = [r for r in refreshes if r["outcome"] == "error"]
    assert all("open_meteo" in r["error"] and "503" in r["error"] for r in errors)
    assert [r["retry_in_s"] for r in errors[:2]] == [300, 600]  # backoff doubles
    # Hourly at most, plus the retries: no hammering.
    assert len(emulator.requests) - sent <= 8 + 3
    trace = k.trace()["forecast"]
    assert trace["source"] == "provider" and trace["pv"]["live_slots"] > 0


class Broken(FlatForecast):
    def __init__(self, fail: str) -> None:
        super().__init__(300.0)
        self.fail = fail

    def forecast(self, slot_start_s: Any) -> Any:
        if self.fail == "raise":
            raise RuntimeError("model blew up")
        return np.full(len(slot_start_s), np.nan)


@pytest.mark.parametrize("fail", ["raise", "nan"])
def test_a_failing_provider_falls_back_to_time_of_week(tmp_path: Path, fail: str) -> None:
    audit = Audit()
    k = ForecastKeeper(Broken(fail), tmp_path, ManualClock(NOW), LONDON, audit=audit)
    out = k.predict(NOW, 700.0, 100.0, slots(NOW))
    assert out is not None and np.allclose(out, 600.0)  # the one net reading so far
    assert k.trace()["forecast"]["source"] == "time_of_week"
    assert audit.kinds("forecast_fallback")[0]["source"] == "time_of_week"
    # Only one fallback record while it stays fallen back.
    k.predict(NOW + timedelta(minutes=5), 700.0, 100.0, slots(NOW))
    assert len(audit.kinds("forecast_fallback")) == 1


def test_then_flat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    k = ForecastKeeper(Broken("raise"), tmp_path, ManualClock(NOW), LONDON)
    monkeypatch.setattr(k._backup, "forecast", lambda s: np.full(len(s), np.inf))
    out = k.predict(NOW, 700.0, 100.0, slots(NOW))
    assert out is not None and np.allclose(out, 500.0)
    assert k.trace()["forecast"]["source"] == "flat"


def test_a_plain_provider_adds_nothing_to_the_trace(tmp_path: Path) -> None:
    k = ForecastKeeper(FlatForecast(), tmp_path, ManualClock(NOW), LONDON)
    asyncio.run(k.refresh(NOW))  # nothing to fetch
    k.predict(NOW, 1.0, 0.0, slots(NOW))
    assert k.trace() == {}
