"""The forecast_solar type against the forecast.solar emulator: PV per array summed, the
12-calls-an-hour budget across arrays, 429's Retry-At honoured, the key kept out of messages."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest

from gridpilot.clock import ManualClock
from gridpilot.errors import ForecastFetchError
from gridpilot.forecasts.forecast_solar import ForecastSolarForecast
from gridpilot.forecasts.live import ForecastContext
from gridpilot.forecasts.registry import FORECASTS
from tests.emulators.forecast_solar import ForecastSolarEmulator

NOW = datetime(2024, 6, 21, 6, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
TWO = [{"kwp": 4, "tilt_deg": 30, "azimuth_deg": 180},
       {"kwp": 2, "tilt_deg": 30, "azimuth_deg": 270}]


@pytest.fixture(scope="module")
def emulator() -> Iterator[ForecastSolarEmulator]:
    with ForecastSolarEmulator(now=NOW) as emu:
        yield emu


def provider(emulator: ForecastSolarEmulator, **extra: object) -> ForecastSolarForecast:
    kind = FORECASTS.get("forecast_solar")
    made = kind(kind.Settings.model_validate({
        "latitude_deg": 51.75, "longitude_deg": -1.26, "arrays": TWO,
        "base_url": emulator.url, "timeout_s": 2, **extra}), LONDON)
    assert isinstance(made, ForecastSolarForecast)
    return made


def context(emulator: ForecastSolarEmulator, tmp_path: Path, now: datetime) -> ForecastContext:
    client = httpx.Client(verify=ssl.create_default_context(cafile=str(emulator.ca_path)))
    return ForecastContext(client, ManualClock(now), tmp_path)


def test_arrays_are_summed_hour_by_hour(emulator: ForecastSolarEmulator, tmp_path: Path) -> None:
    emulator.now = NOW
    p = provider(emulator)
    result = p.refresh(context(emulator, tmp_path, NOW), NOW)
    assert result.outcome == "fetched" and result.detail["step_s"] == 3600
    paths = [r.path for r in emulator.requests[-2:]]
    assert paths[0].endswith("/30/0/4") and paths[1].endswith("/30/90/2")  # south 0, west 90
    noon = int(datetime(2024, 6, 21, 11, 30, tzinfo=UTC).timestamp())
    pv = p.pv_w(np.array([noon], dtype=np.int64))
    assert 3000 < float(pv[0]) < 6500


def test_the_budget_counts_every_array_and_429_waits(emulator: ForecastSolarEmulator,
                                                     tmp_path: Path) -> None:
    emulator.now = NOW + timedelta(days=1)
    p = provider(emulator, calls_per_hour=5, refresh_interval_s=60)
    outcomes = []
    for minutes in range(0, 10, 2):
        now = emulator.now + timedelta(minutes=minutes)
        outcomes.append(p.refresh(context(emulator, tmp_path, now), now).outcome)
    # Two arrays a refresh, five calls an hour: two refreshes, then none.
    assert outcomes == ["fetched", "fetched", "skipped", "skipped", "skipped"]
    # Another client spent the service's own limit: 429 and its Retry-At are honoured.
    emulator.now = NOW + timedelta(days=2)
    other = provider(emulator, refresh_interval_s=60)
    ctx = context(emulator, tmp_path / "other", emulator.now)
    emulator.limit = 1
    try:
        with pytest.raises(ForecastFetchError, match="429") as err:
            other.refresh(ctx, emulator.now)
        assert err.value.retry_after_s == pytest.approx(3600)
        sent = len(emulator.requests)
        later = emulator.now + timedelta(minutes=30)
        assert other.refresh(ctx, later).outcome == "skipped"
        assert len(emulator.requests) == sent
    finally:
        emulator.limit = 12


def test_the_key_travels_in_the_path_but_never_in_a_message(
        emulator: ForecastSolarEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.now = NOW + timedelta(days=3)
    monkeypatch.setenv("FS_KEY", "s3cr3t-key")
    p = provider(emulator, api_key="s3cr3t-key")
    with pytest.raises(ForecastFetchError) as err:
        p.refresh(context(emulator, tmp_path, emulator.now), emulator.now)
    assert "401" in str(err.value) and "s3cr3t" not in str(err.value)
    assert "s3cr3t" not in repr(p.settings)
    emulator.keys.add("s3cr3t-key")
    later = emulator.now + timedelta(hours=2)
    assert p.refresh(context(emulator, tmp_path, later), later).outcome == "fetched"
    assert emulator.requests[-1].path.startswith("/s3cr3t-key/estimate/")
