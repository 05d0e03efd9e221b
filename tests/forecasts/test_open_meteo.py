"""The open_meteo forecast against the Open-Meteo emulator on loopback TLS: hourly and
15-minute answers, the PV they turn into, errors, rate limits, the call budget and the cache."""

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
from gridpilot.forecasts.live import ForecastContext, LiveForecast
from gridpilot.forecasts.open_meteo import OpenMeteoForecast, parse_weather
from gridpilot.forecasts.registry import FORECASTS
from tests.emulators.open_meteo import OpenMeteoEmulator

NOW = datetime(2024, 6, 21, 6, 0, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")
ARRAYS = [{"kwp": 4, "tilt_deg": 30, "azimuth_deg": 180}]


@pytest.fixture(scope="module")
def emulator() -> Iterator[OpenMeteoEmulator]:
    with OpenMeteoEmulator(now=NOW) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _clean(emulator: OpenMeteoEmulator) -> None:
    emulator.faults.clear()
    emulator.cloud.clear()
    emulator.limit_per_minute = 600
    emulator.retry_after_s = None
    emulator.null_after_hours = None


def client(emulator: OpenMeteoEmulator) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=str(emulator.ca_path)))


def provider(emulator: OpenMeteoEmulator, **extra: object) -> OpenMeteoForecast:
    kind = FORECASTS.get("open_meteo")
    settings = kind.Settings.model_validate({
        "latitude_deg": 51.75, "longitude_deg": -1.26, "arrays": ARRAYS,
        "base_url": emulator.url, "timeout_s": 2, **extra})
    made = kind(settings, LONDON)
    assert isinstance(made, OpenMeteoForecast) and isinstance(made, LiveForecast)
    return made


def context(emulator: OpenMeteoEmulator, tmp_path: Path) -> ForecastContext:
    return ForecastContext(client(emulator), ManualClock(NOW), tmp_path)


def slots(start: datetime, n: int = 96, step: int = 1800) -> np.ndarray:
    return int(start.timestamp()) + step * np.arange(n, dtype=np.int64)


def test_hourly_fetch_becomes_a_pv_forecast(emulator: OpenMeteoEmulator, tmp_path: Path) -> None:
    p = provider(emulator)
    result = p.refresh(context(emulator, tmp_path), NOW)
    assert result.outcome == "fetched"
    assert result.detail["step_s"] == 3600 and result.detail["intervals"] == 72
    req = emulator.requests[-1].query
    assert req["timeformat"] == "unixtime" and req["wind_speed_unit"] == "ms"
    assert "shortwave_radiation" in req["hourly"]
    pv = p.pv_w(slots(NOW))
    assert p.sources()["live_slots"] == 96
    assert float(pv[36]) == 0.0  # midnight
    noon = int((datetime(2024, 6, 21, 12, tzinfo=UTC) - NOW).total_seconds() // 1800)
    assert 2000 < float(pv[noon]) < 3400  # a clear solstice noon on 4 kWp
    # The net load is the load forecast (flat before readings) minus the PV.
    assert float(p.forecast(slots(NOW))[noon]) == pytest.approx(500 - float(pv[noon]))


def test_cloud_lowers_the_forecast_and_15_minute_steps(emulator: OpenMeteoEmulator,
                                                        tmp_path: Path) -> None:
    emulator.cloud["2024-06-22"] = 0.3
    p = provider(emulator, resolution="minutely_15")
    assert p.refresh(context(emulator, tmp_path), NOW).detail["step_s"] == 900
    assert "minutely_15" in emulator.requests[-1].query
    pv = p.pv_w(slots(NOW, 96 + 48))
    today, tomorrow = pv[:36].sum(), pv[48:84].sum()
    assert 0.15 * today < tomorrow < 0.5 * today


def test_iso_local_times_are_refused_not_misread() -> None:
    doc = {"hourly": {"time": ["2024-06-21T01:00"], "shortwave_radiation": [0]}}
    with pytest.raises(ForecastFetchError, match="unixtime"):
        parse_weather(doc, "hourly")


def test_nulls_beyond_the_horizon_are_dropped(emulator: OpenMeteoEmulator,
                                              tmp_path: Path) -> None:
    emulator.null_after_hours = 30
    p = provider(emulator)
    assert p.refresh(context(emulator, tmp_path), NOW).detail["intervals"] == 30
    p.pv_w(slots(NOW))
    # The rest of the horizon falls back (clear_sky replay has nothing measured yet: no PV).
    assert p.sources()["live_slots"] < 96 and p.sources()["no_pv_slots"] > 0


@pytest.mark.parametrize("fault", ["server_error", "malformed_json", "reset"])
def test_faults_are_forecast_errors_and_the_held_forecast_stays(
        emulator: OpenMeteoEmulator, tmp_path: Path, fault: str) -> None:
    p = provider(emulator, refresh_interval_s=600)
    ctx = context(emulator, tmp_path)
    p.refresh(ctx, NOW)
    before = p.pv_w(slots(NOW)).copy()
    getattr(emulator.faults, fault)(path="/v1/forecast")
    with pytest.raises(ForecastFetchError, match="open_meteo") as err:
        p.refresh(ctx, NOW + timedelta(hours=1))
    assert "Traceback" not in str(err.value)
    np.testing.assert_array_equal(p.pv_w(slots(NOW)), before)


def test_timeout(emulator: OpenMeteoEmulator, tmp_path: Path) -> None:
    p = provider(emulator, timeout_s=0.2)
    emulator.faults.timeout(path="/v1/forecast", delay_s=0.5)
    with pytest.raises(ForecastFetchError, match=r"within 0.2 s"):
        p.refresh(context(emulator, tmp_path), NOW)


def test_bad_request_reason_is_shown(emulator: OpenMeteoEmulator, tmp_path: Path) -> None:
    kind = FORECASTS.get("open_meteo")
    settings = kind.Settings.model_validate({
        "latitude_deg": 51.75, "longitude_deg": -1.26, "arrays": ARRAYS,
        "base_url": emulator.url, "forecast_days": 16})
    p = kind(settings, LONDON)
    emulator.faults.clear()
    # A valid request passes; the emulator's 400 for a bad variable reads through.
    with httpx.Client(verify=ssl.create_default_context(cafile=str(emulator.ca_path))) as c:
        r = c.get(f"{emulator.url}/v1/forecast",
                  params={"latitude": "51", "longitude": "0", "hourly": "sunshine"})
    assert r.status_code == 400 and r.json()["error"] is True
    assert p.refresh(context(emulator, tmp_path), NOW).outcome == "fetched"


def test_429_is_respected(emulator: OpenMeteoEmulator, tmp_path: Path) -> None:
    emulator.limit_per_minute = 0
    emulator.retry_after_s = 120
    p = provider(emulator, refresh_interval_s=60)
    ctx = context(emulator, tmp_path)
    sent = len(emulator.requests)
    with pytest.raises(ForecastFetchError, match="429") as err:
        p.refresh(ctx, NOW)
    assert err.value.retry_after_s == 120
    # Within the wait, nothing is sent.
    for minutes in (1, 1.9):
        assert p.refresh(ctx, NOW + timedelta(minutes=minutes)).outcome == "skipped"
    assert len(emulator.requests) == sent + 1
    emulator.limit_per_minute = 600
    assert p.refresh(ctx, NOW + timedelta(minutes=2, seconds=1)).outcome == "fetched"


def test_call_budget_and_the_cache_survive_a_restart(emulator: OpenMeteoEmulator,
                                                     tmp_path: Path) -> None:
    p = provider(emulator, calls_per_hour=2, refresh_interval_s=60)
    ctx = context(emulator, tmp_path)
    sent = len(emulator.requests)
    outcomes = [p.refresh(ctx, NOW + timedelta(minutes=2 * i)).outcome for i in range(4)]
    assert outcomes == ["fetched", "fetched", "skipped", "skipped"]
    assert len(emulator.requests) == sent + 2
    # A restart within the hour: the cache holds the forecast and the calls spent.
    again = provider(emulator, calls_per_hour=2, refresh_interval_s=60)
    assert again.refresh(ctx, NOW + timedelta(minutes=10)).outcome == "skipped"
    again.pv_w(slots(NOW))
    assert again.sources()["live_slots"] == 96
    assert len(emulator.requests) == sent + 2


def test_a_stale_live_forecast_is_not_used(emulator: OpenMeteoEmulator, tmp_path: Path) -> None:
    p = provider(emulator, max_age_s=3600)
    p.refresh(context(emulator, tmp_path), NOW)
    p.pv_w(slots(NOW + timedelta(hours=2)))
    assert p.sources()["live_slots"] == 0


def test_settings_are_checked() -> None:
    kind = FORECASTS.get("open_meteo")
    with pytest.raises(ValueError, match="arrays"):
        kind.Settings.model_validate({"latitude_deg": 51, "longitude_deg": 0, "arrays": []})
    with pytest.raises(ValueError, match="latitude_deg"):
        kind.Settings.model_validate({"latitude_deg": 91, "longitude_deg": 0, "arrays": ARRAYS})


@pytest.mark.parametrize(("share", "expected"), [(0.7, 0.7), (0.2, 0.5)])
def test_self_calibration_learns_the_measured_share_within_bounds(
        emulator: OpenMeteoEmulator, tmp_path: Path, share: float, expected: float) -> None:
    p = provider(emulator)
    p.refresh(context(emulator, tmp_path), NOW)
    day = slots(NOW - timedelta(hours=6), 48)  # today from midnight, half-hourly
    raw = p._live_at(day, raw=True)
    for t_s, forecast_w in zip(day.tolist(), raw.tolist(), strict=True):
        p.observe(datetime.fromtimestamp(t_s, UTC), 400.0, share * forecast_w)
    assert p.calibration_ratio() == pytest.approx(expected, abs=0.01)
    later = slots(NOW + timedelta(hours=18), 4)
    np.testing.assert_allclose(p.pv_w(later), p._live_at(later, raw=True) * p.calibration_ratio())
    assert p.sources()["calibration_ratio"] == pytest.approx(expected, abs=0.01)
