"""A forecast of a grid of slots (``forecast_grid``: first slot, step, count) is the forecast of
those slots built out (``forecast``), bit for bit, as readings keep arriving between forecasts:
across clock changes, the first week's empty bins, holidays, in-day scaling and the median."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.forecasts.providers import (
    Aggregate,
    FlatForecast,
    TimeOfWeekAverage,
    forecast_slots,
)

LONDON = "Europe/London"
STARTS_S = (
    int(datetime(2018, 3, 24, 20, tzinfo=UTC).timestamp()),
    int(datetime(2018, 10, 27, 20, tzinfo=UTC).timestamp()),
    int(datetime(2018, 1, 1, tzinfo=UTC).timestamp()),
)


def _fifth_day_holiday(day: date) -> bool:
    return day.toordinal() % 5 == 0


def _slots(first_s: int, step_s: int, n: int) -> np.ndarray:
    return first_s + step_s * np.arange(n, dtype=np.int64)


@settings(max_examples=60, deadline=None)
@given(
    start=st.sampled_from(STARTS_S),
    batches=st.lists(
        st.tuples(st.integers(1, 400), st.sampled_from([300, 1800, 3600]),
                  st.integers(-1800, 7 * 86_400)),
        min_size=1, max_size=6),
    grids=st.lists(
        st.tuples(st.integers(-5000, 5000), st.sampled_from([1800, 3600, 900, 2700, 5400, 0]),
                  st.integers(0, 500)),
        min_size=1, max_size=4),
    weeks=st.integers(1, 3),
    bin_s=st.sampled_from([900, 1800, 3600]),
    aggregate=st.sampled_from(["mean", "median"]),
    holidays=st.booleans(),
    in_day=st.booleans(),
    history=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_a_grid_forecasts_what_its_slots_forecast(
    start: int, batches: list[tuple[int, int, int]], grids: list[tuple[int, int, int]],
    weeks: int, bin_s: int, aggregate: Aggregate, holidays: bool, in_day: bool, history: bool,
    seed: int,
) -> None:
    rng = np.random.default_rng(seed)
    f = TimeOfWeekAverage(LONDON, bin_s=bin_s, weeks=weeks, aggregate=aggregate,
                          is_holiday=_fifth_day_holiday if holidays else None,
                          in_day_bounds=(0.5, 2.0) if in_day else None)
    t_s = start
    if history:  # a week of readings first: every bin seen, grids take the slice
        week = t_s + 900 * np.arange(7 * 96, dtype=np.int64)
        f.observe_many(week, 300 + 900 * rng.random(week.shape[0]), np.zeros(week.shape[0]))
        t_s = int(week[-1]) + 900
    for count, step_s, gap_s in batches:
        for shift_s, grid_step_s, n in grids:
            first_s = t_s - t_s % 1800 + shift_s
            want = f.forecast(_slots(first_s, grid_step_s, n))
            got = f.forecast_grid(first_s, grid_step_s, n)
            assert got.dtype == want.dtype and np.array_equal(got, want, equal_nan=True)
        times = t_s + step_s * np.arange(count, dtype=np.int64)
        load = 300 + 900 * rng.random(count)
        f.observe_many(times, load, np.zeros(count))
        t_s = int(times[-1]) + gap_s


def test_a_grid_after_a_year_of_readings_is_a_slice_of_the_means() -> None:
    f = TimeOfWeekAverage(LONDON)
    times = STARTS_S[2] + 300 * np.arange(6 * 2016, dtype=np.int64)
    f.observe_many(times, 500 + 300 * np.sin(times / 7000.0), np.zeros(times.shape[0]))
    first_s = int(times[-1]) - int(times[-1]) % 1800 + 1800
    for n in (1, 36, 96, 336, 700):  # up to two weeks and more: the grid wraps the week
        assert np.array_equal(f.forecast_grid(first_s, 1800, n),
                              f.forecast(_slots(first_s, 1800, n)))
    out = f.forecast_grid(first_s, 1800, 4)
    out[:] = -1.0  # a caller may write into what it was given
    assert np.array_equal(f.forecast_grid(first_s, 1800, 4), f.forecast(_slots(first_s, 1800, 4)))


def test_forecast_slots_builds_the_slots_for_a_provider_without_a_grid() -> None:
    seen: list[np.ndarray] = []

    class Plain(FlatForecast):
        def forecast(self, slot_start_s: np.ndarray) -> np.ndarray:
            seen.append(slot_start_s)
            return super().forecast(slot_start_s)

    assert forecast_slots(Plain(250.0), 3600, 1800, 3).tolist() == [250.0] * 3
    assert [s.tolist() for s in seen] == [[3600, 5400, 7200]]
    f = TimeOfWeekAverage(LONDON)
    assert forecast_slots(f, STARTS_S[2], 1800, 2).tolist() == [500.0, 500.0]
