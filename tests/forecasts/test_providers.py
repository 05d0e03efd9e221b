"""The time-of-week forecast on real UK 2018 load and PV."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from gridpilot.forecasts.providers import FlatForecast, ForecastProvider, TimeOfWeekAverage
from tests.engine.support import uk_series


def test_flat_before_anything_is_seen() -> None:
    f = TimeOfWeekAverage("Europe/London", flat_w=420.0)
    assert isinstance(f, ForecastProvider)
    out = f.forecast(np.array([1_515_542_400, 1_515_544_200], dtype=np.int64))
    assert out.tolist() == [420.0, 420.0]
    assert FlatForecast(300).forecast(np.zeros(3, dtype=np.int64)).tolist() == [300.0] * 3


def test_learns_the_weekly_shape_of_real_data() -> None:
    data = uk_series("2018-01-01", 28)
    f = TimeOfWeekAverage("Europe/London", weeks=3)
    for t_s, load, pv in zip(data["start_s"], data["load_w"], data["pv_w"], strict=True):
        f.observe(datetime.fromtimestamp(int(t_s), UTC), float(load), float(pv))
    nxt = uk_series("2018-01-29", 7)
    pred = f.forecast(nxt["start_s"])
    actual = nxt["load_w"] - nxt["pv_w"]
    flat = np.full_like(actual, actual.mean())
    # Beats the best flat profile (which even knows the future mean) clearly.
    err = np.abs(pred - actual).mean()
    assert err < 0.6 * np.abs(flat - actual).mean()
    # The evening is forecast higher than the small hours.
    t = nxt["start_s"]
    hour = (t % 86_400) // 3600
    assert pred[hour == 18].mean() > 1.5 * pred[hour == 3].mean()


def test_old_weeks_drop_out() -> None:
    f = TimeOfWeekAverage("UTC", weeks=1)
    t0 = datetime(2018, 1, 1, tzinfo=UTC)  # a Monday
    f.observe(t0, 1000.0, 0.0)
    f.observe(datetime(2018, 1, 8, tzinfo=UTC), 200.0, 0.0)
    assert f.forecast(np.array([int(t0.timestamp())], dtype=np.int64))[0] == pytest.approx(200.0)


def test_uses_local_time_across_dst() -> None:
    f = TimeOfWeekAverage("Europe/London")
    # 18:00 local in winter is 18:00 UTC; in summer it is 17:00 UTC.
    f.observe(datetime(2018, 1, 8, 18, tzinfo=UTC), 2000.0, 0.0)
    summer = int(datetime(2018, 7, 2, 17, tzinfo=UTC).timestamp())
    other = int(datetime(2018, 7, 2, 18, tzinfo=UTC).timestamp())
    out = f.forecast(np.array([summer, other], dtype=np.int64))
    assert out[0] == pytest.approx(2000.0)


def test_rejects_naive_times_and_bad_bins() -> None:
    with pytest.raises(ValueError):
        TimeOfWeekAverage(bin_s=7000)
    with pytest.raises(ValueError):
        TimeOfWeekAverage().observe(datetime(2018, 1, 1), 1.0, 0.0)
