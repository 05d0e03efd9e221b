"""The load forecast's sturdiness: with ``aggregate: median`` one odd week, a spike or a day of
zeros barely moves it; a missing day is never read as zero load (mean or median)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.forecasts.providers import Aggregate, TimeOfWeekAverage

MONDAY_S = 1_704_067_200  # 2024-01-01 00:00 UTC, a Monday
STEP = 3600
WEEK = 7 * 24


def feed(aggregate: Aggregate, weeks: list[np.ndarray]) -> TimeOfWeekAverage:
    """Hourly readings, one array of 168 per week (NaN: no reading)."""
    f = TimeOfWeekAverage("UTC", bin_s=STEP, weeks=4, aggregate=aggregate)
    for w, week in enumerate(weeks):
        for h, load in enumerate(week.tolist()):
            t = datetime.fromtimestamp(MONDAY_S + (w * WEEK + h) * STEP, UTC)
            f.observe(t, load, 0.0)
    return f


def next_week(n_weeks: int) -> np.ndarray:
    return MONDAY_S + (n_weeks * WEEK + np.arange(WEEK, dtype=np.int64)) * STEP


def test_one_odd_week_does_not_move_the_median() -> None:
    normal = np.full(WEEK, 500.0)
    odd = np.full(WEEK, 5000.0)
    weeks = [normal, normal, odd, normal]
    np.testing.assert_allclose(feed("median", weeks).forecast(next_week(4)), 500.0)
    assert (feed("mean", weeks).forecast(next_week(4)) > 1500).all()


def test_a_day_of_zeros_or_a_spike_does_not_move_the_median() -> None:
    rng = np.random.default_rng(3)
    weeks = [400 + 200 * rng.random(WEEK) for _ in range(4)]
    clean = feed("median", [w.copy() for w in weeks]).forecast(next_week(4))
    weeks[1][24:48] = 0.0  # a meter fault that wrote zeros for Tuesday
    weeks[2][60] = 50_000.0  # one spike
    dirty = feed("median", weeks).forecast(next_week(4))
    # Only the two touched bins' medians can move, and only within the other weeks' values.
    moved = np.flatnonzero(np.abs(dirty - clean) > 1e-9)
    assert set(moved.tolist()) <= set(range(24, 48)) | {60}
    assert dirty.max() < 600.0 and dirty.min() > 400.0


def test_a_missing_day_is_not_zero() -> None:
    weeks = [np.full(WEEK, 700.0) for _ in range(3)]
    weeks[1][48:72] = np.nan  # Wednesday not recorded
    for aggregate in ("mean", "median"):
        f = feed(aggregate, weeks)
        np.testing.assert_allclose(f.forecast(next_week(3)), 700.0)
    only_gap = [np.full(WEEK, np.nan)]
    only_gap[0][:24] = 300.0
    # A bin never seen takes the mean of everything seen, not zero.
    np.testing.assert_allclose(feed("median", only_gap).forecast(next_week(1)), 300.0)


@settings(max_examples=20, deadline=None)
@given(good=st.lists(st.floats(0, 10_000), min_size=2, max_size=2),
       bad=st.floats(-1e6, 1e6), where=st.integers(0, 2))
def test_one_arbitrary_week_of_three_stays_within_the_others(good: list[float], bad: float,
                                                             where: int) -> None:
    values = [*good]
    values.insert(where, bad)
    weeks = [np.full(WEEK, v) for v in values]
    out = feed("median", weeks).forecast(next_week(3))
    assert (out >= min(good) - 1e-6).all() and (out <= max(good) + 1e-6).all()
