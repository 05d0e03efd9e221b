"""The solcast type against the Solcast emulator: quantiles, sites summed, the day's 10 calls
spread over the day and never exceeded, 429 respected, the key never in a message."""

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
from gridpilot.forecasts.live import ForecastContext
from gridpilot.forecasts.registry import FORECASTS
from gridpilot.forecasts.solcast import SolcastForecast
from tests.emulators.solcast import SolcastEmulator

NOW = datetime(2024, 6, 21, 6, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
NOON = np.array([int(datetime(2024, 6, 21, 12, tzinfo=UTC).timestamp())], dtype=np.int64)


@pytest.fixture(scope="module")
def emulator() -> Iterator[SolcastEmulator]:
    with SolcastEmulator(now=NOW) as emu:
        yield emu


def provider(emulator: SolcastEmulator, **extra: object) -> SolcastForecast:
    kind = FORECASTS.get("solcast")
    made = kind(kind.Settings.model_validate({
        "latitude_deg": 51.75, "longitude_deg": -1.26, "arrays": [{"kwp": 4}],
        "resource_ids": ["aaaa-1111"], "api_key": "k3y", "base_url": emulator.url,
        "timeout_s": 2, **extra}), LONDON)
    assert isinstance(made, SolcastForecast)
    return made


def context(emulator: SolcastEmulator, tmp_path: Path) -> ForecastContext:
    client = httpx.Client(verify=ssl.create_default_context(cafile=str(emulator.ca_path)))
    return ForecastContext(client, ManualClock(NOW), tmp_path)


def test_quantiles_and_sites(emulator: SolcastEmulator, tmp_path: Path) -> None:
    emulator.calls = 0
    pv = {}
    for q in ("p10", "p50", "p90"):
        p = provider(emulator, quantile=q)
        assert p.refresh(context(emulator, tmp_path / q), NOW).outcome == "fetched"
        pv[q] = float(p.pv_w(NOON)[0])
    assert 0 < pv["p10"] < pv["p50"] < pv["p90"]
    both = provider(emulator, resource_ids=["aaaa-1111", "bbbb-2222"])
    both.refresh(context(emulator, tmp_path / "both"), NOW)
    assert float(both.pv_w(NOON)[0]) == pytest.approx(pv["p50"] * 1.5, rel=0.01)
    assert emulator.requests[-1].query["hours"] == "48"


def test_ten_calls_a_day_spread_and_never_exceeded(emulator: SolcastEmulator,
                                                   tmp_path: Path) -> None:
    emulator.calls = 0
    p = provider(emulator)
    assert p.refresh_interval_s == pytest.approx(8640)  # 10 calls over 24 h
    ctx = context(emulator, tmp_path)
    outcomes = [p.refresh(ctx, NOW + timedelta(minutes=30 * i)).outcome for i in range(48)]
    assert outcomes.count("fetched") == 10
    assert emulator.calls == 10
    two = provider(emulator, resource_ids=["aaaa-1111", "bbbb-2222"])
    assert two.refresh_interval_s == pytest.approx(17280)  # two sites share the ten


def test_429_and_a_bad_key(emulator: SolcastEmulator, tmp_path: Path) -> None:
    emulator.calls = 10  # another client spent the day
    p = provider(emulator, refresh_interval_s=60)
    with pytest.raises(ForecastFetchError, match="429"):
        p.refresh(context(emulator, tmp_path), NOW)
    assert p.refresh(context(emulator, tmp_path), NOW + timedelta(seconds=30)).outcome == \
        "skipped"
    bad = provider(emulator, api_key="wrong-secret")
    with pytest.raises(ForecastFetchError, match="401") as err:
        bad.refresh(context(emulator, tmp_path / "bad"), NOW)
    assert "wrong-secret" not in str(err.value) and "wrong-secret" not in repr(bad.settings)
    with pytest.raises(ValueError, match="api_key"):
        FORECASTS.get("solcast").Settings.model_validate({
            "latitude_deg": 51, "longitude_deg": 0, "arrays": [{"kwp": 4}],
            "resource_ids": ["x"]})
