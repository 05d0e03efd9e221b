"""Readings learnt in batches (``observe_many``) leave the time-of-week forecast exactly where
learning them one at a time (``observe``) leaves it: the same state and the same forecasts, bit
for bit, across DST days, gaps, readings that are not finite and the first week with no history."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import pairwise

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.forecasts.providers import (
    Aggregate,
    FlatForecast,
    TimeOfWeekAverage,
    observe_readings,
)

LONDON = "Europe/London"
# Hours before each of London's 2018 clock changes, and a plain winter Monday.
STARTS_S = (
    int(datetime(2018, 3, 24, 20, tzinfo=UTC).timestamp()),
    int(datetime(2018, 10, 27, 20, tzinfo=UTC).timestamp()),
    int(datetime(2018, 1, 1, tzinfo=UTC).timestamp()),
)


def _odd_day_holiday(day: date) -> bool:
    return day.toordinal() % 5 == 0


def _state(f: TimeOfWeekAverage) -> tuple[object, ...]:
    return (f._sum, f._count, list(f._week_of_row), f._rows, f._total, f._agg_sum,
            f._agg_count, f._today, f._today_measured, f._today_expected, f._today_first,
            f._today_last)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


readings = st.lists(
    st.tuples(
        # Mostly forward steps, some jumps of days (gaps), a few steps back in time.
        st.one_of(st.sampled_from([300, 600, 1800, 3600]), st.integers(-7200, 4 * 86_400)),
        st.one_of(st.floats(-2000, 8000), st.just(float("nan")), st.just(float("inf"))),
        st.floats(0, 4000),
    ),
    min_size=1,
    max_size=160,
)


@settings(max_examples=60, deadline=None)
@given(
    steps=readings,
    start=st.sampled_from(STARTS_S),
    cuts=st.lists(st.integers(0, 160), max_size=12),
    weeks=st.integers(1, 3),
    bin_s=st.sampled_from([900, 1800, 3600]),
    aggregate=st.sampled_from(["mean", "median"]),
    corrections=st.booleans(),
    as_arrays=st.booleans(),
)
def test_batches_learn_what_single_readings_learn(
    steps: list[tuple[int, float, float]], start: int, cuts: list[int], weeks: int, bin_s: int,
    aggregate: Aggregate, corrections: bool, as_arrays: bool,
) -> None:
    def make() -> TimeOfWeekAverage:
        return TimeOfWeekAverage(
            LONDON, bin_s=bin_s, weeks=weeks, aggregate=aggregate,
            is_holiday=_odd_day_holiday if corrections else None,
            in_day_bounds=(0.5, 2.0) if corrections else None)

    one, many = make(), make()
    times: list[int] = []
    t_s = start
    for gap_s, _, _ in steps:
        t_s += gap_s
        times.append(t_s)
    loads = [load for _, load, _ in steps]
    pvs = [pv for _, _, pv in steps]
    bounds = sorted({0, len(steps), *(c for c in cuts if c < len(steps))})
    for lo, hi in pairwise(bounds):
        for k in range(lo, hi):
            one.observe(datetime.fromtimestamp(times[k], UTC), loads[k], pvs[k])
        if as_arrays:
            many.observe_many(np.asarray(times[lo:hi], dtype=np.int64),
                              np.asarray(loads[lo:hi]), np.asarray(pvs[lo:hi]))
        else:
            many.observe_many(times[lo:hi], loads[lo:hi], pvs[lo:hi])
        assert _state(one) == _state(many)
        # Two days ahead in 30-minute slots: crosses the clock change after a DST start.
        slots = times[hi - 1] - times[hi - 1] % 1800 + 1800 * np.arange(96, dtype=np.int64)
        assert _same(one.forecast(slots), many.forecast(slots))


def test_an_empty_batch_changes_nothing() -> None:
    f = TimeOfWeekAverage(LONDON)
    f.observe_many([], [], [])
    assert f.forecast(np.asarray([STARTS_S[2]])).tolist() == [500.0]
    f.observe_many(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
    assert f._total == 0


def test_batches_need_one_load_and_pv_per_time() -> None:
    f = TimeOfWeekAverage(LONDON)
    try:
        f.observe_many([STARTS_S[2], STARTS_S[2] + 300], [1.0], [0.0, 0.0])
    except ValueError:
        return
    raise AssertionError("a batch with fewer loads than times was accepted")


class Watching(TimeOfWeekAverage):
    """A subclass that overrides observe: a batch must still pass each reading through it."""

    def __init__(self) -> None:
        super().__init__(LONDON)
        self.seen: list[tuple[datetime, float, float]] = []

    def observe(self, t: datetime, load_w: float, pv_w: float) -> None:
        self.seen.append((t, load_w, pv_w))
        super().observe(t, load_w, pv_w)


def test_a_subclass_that_overrides_observe_sees_every_reading_of_a_batch() -> None:
    f = Watching()
    times = np.asarray([STARTS_S[2], STARTS_S[2] + 300], dtype=np.int64)
    f.observe_many(times, np.asarray([700.0, 900.0]), np.asarray([100.0, 0.0]))
    assert [(int(t.timestamp()), load, pv) for t, load, pv in f.seen] == [
        (STARTS_S[2], 700.0, 100.0), (STARTS_S[2] + 300, 900.0, 0.0)]
    assert f.forecast(times[:1]).tolist() == [750.0]


class OneAtATime:
    """A provider with only the protocol's observe."""

    def __init__(self) -> None:
        self.seen: list[tuple[datetime, float, float]] = []

    def observe(self, t: datetime, load_w: float, pv_w: float) -> None:
        self.seen.append((t, load_w, pv_w))

    def forecast(self, slot_start_s: np.ndarray) -> np.ndarray:
        return np.zeros(len(slot_start_s))


def test_observe_readings_falls_back_to_one_observe_per_reading() -> None:
    p = OneAtATime()
    observe_readings(p, np.asarray([STARTS_S[0], STARTS_S[0] + 60]), np.asarray([1.0, 2.0]),
                     [0.5, 0.0])
    assert p.seen == [(datetime.fromtimestamp(STARTS_S[0], UTC), 1.0, 0.5),
                      (datetime.fromtimestamp(STARTS_S[0] + 60, UTC), 2.0, 0.0)]
    assert all(type(load) is float for _, load, _ in p.seen)
    flat = FlatForecast(300.0)
    observe_readings(flat, np.asarray([STARTS_S[0]]), [1.0], [0.0])
    assert flat.forecast(np.asarray([STARTS_S[0]])).tolist() == [300.0]


def test_observe_readings_uses_the_batch_path_of_the_time_of_week_average() -> None:
    times = STARTS_S[2] + 300 * np.arange(4 * 2016, dtype=np.int64)
    rng = np.random.default_rng(5)
    load, pv = 400 + 600 * rng.random(times.shape[0]), 300 * rng.random(times.shape[0])
    one, many = TimeOfWeekAverage(LONDON), TimeOfWeekAverage(LONDON)
    for t, ld, p in zip(times.tolist(), load.tolist(), pv.tolist(), strict=True):
        one.observe(datetime.fromtimestamp(t, UTC), ld, p)
    observe_readings(many, times, load, pv)
    slots = int(times[-1]) + 1800 * np.arange(1, 97, dtype=np.int64)
    assert _state(one) == _state(many)
    assert _same(one.forecast(slots), many.forecast(slots))
