"""A replay that reads the forecasts an earlier replay of the same data kept gets what forecasting
afresh gives: the same decisions on every tick and the same forecast score."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from gridpilot.forecasts.providers import TimeOfWeekAverage
from gridpilot.recorded import load_uk_composite
from gridpilot.recorded.base import TimeSeries
from gridpilot.rules.loader import load_policy
from gridpilot.simulator import forecast_track
from gridpilot.simulator.replay import ReplayResult, replay

ROOT = Path(__file__).resolve().parents[2]
AGILE = ROOT / "examples/policies/agile-dynamic.yaml"


@pytest.fixture(scope="module")
def winter() -> TimeSeries:
    year = load_uk_composite(ROOT / "examples/data/uk-2018-halfhourly.csv")
    return year.slice_time(int(datetime(2018, 1, 1, tzinfo=UTC).timestamp()),
                           int(datetime(2018, 2, 15, tzinfo=UTC).timestamp()))


def _equal(a: ReplayResult, b: ReplayResult) -> None:
    for name in ("battery_w", "grid_w", "soc_pct", "kind_code"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.forecast == b.forecast


def test_a_kept_track_decides_as_a_fresh_forecast(winter: TimeSeries,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forecast_track, "_tracks", type(forecast_track._tracks)())
    fresh = replay(load_policy(AGILE), winter)
    assert len(forecast_track._tracks) == 1
    again = replay(load_policy(AGILE), winter)
    # An explicit provider object is never replaced by a track.
    policy = load_policy(AGILE)
    own = replay(policy, winter, forecast=TimeOfWeekAverage(policy.tz))
    _equal(fresh, again)
    _equal(fresh, own)
    assert fresh.forecast is not None and fresh.forecast["forecasts_scored"] > 0


def test_other_data_or_settings_get_their_own_track(winter: TimeSeries,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forecast_track, "_tracks", type(forecast_track._tracks)())
    replay(load_policy(AGILE), winter)
    shorter = winter.slice_time(None, int(winter.start_s[0]) + 20 * 86_400)
    replay(load_policy(AGILE), shorter)
    assert len(forecast_track._tracks) == 2
    assert forecast_track.provider_key({"type": "time_of_week", "weeks": 2}) != (
        forecast_track.provider_key({"type": "time_of_week"}))
    # Forecasts that may read more than the recorded data are never kept.
    assert forecast_track.provider_key({"type": "open_meteo"}) is None
    assert forecast_track.provider_key({"type": "time_of_week", "holidays_file": "x"}) is None
