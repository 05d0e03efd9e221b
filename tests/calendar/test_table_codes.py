"""A replay's calendar codes taken all at once (``CalendarTable.codes_at``) are the codes the tick
reads minute by minute (``code_at``), and each bit is its window's own answer: across DST days,
cron windows, windows that share a calendar, and more windows than an int64 holds."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.calendar.table import CalendarTable
from gridpilot.calendar.when import When
from gridpilot.calendar.window import Window

LONDON = ZoneInfo("Europe/London")
SPECS = [
    When(time="16:00-19:00", days="mon-fri"),
    When(time="22:00-06:00", days="fri"),
    When(time="01:30-04:00"),
    When(months="nov-feb", time="00:00-07:00"),
    When(cron="30 16 * * *", **{"for": "90m"}),
    When(dates="2018-03-20..2018-04-02"),
    When(dates="12-24..12-26"),
    When(time="10:00-12:00", soc_below_pct=50, price_above=0.1),
    When(time="16:00-19:00", days="mon-fri", price_below=0.2),  # shares the first's calendar
    When(time="00:00-01:30"),
    When(soc_above_pct=30),  # no calendar: always open
]
YEAR_S = int(datetime(2018, 1, 1, tzinfo=UTC).timestamp())
# Two hours before each of London's 2018 clock changes.
DST_S = (int(datetime(2018, 3, 25, tzinfo=UTC).timestamp()) - 7200,
         int(datetime(2018, 10, 28, tzinfo=UTC).timestamp()) - 7200)


def _windows(picks: list[int], tz: ZoneInfo = LONDON) -> list[Window]:
    return [Window(SPECS[i], tz) for i in picks]


def _per_tick(windows: list[Window], times: list[int] | list[float]) -> list[int]:
    table = CalendarTable(windows)
    return [table.code_at(t) for t in times]


@settings(max_examples=60, deadline=None)
@given(
    picks=st.lists(st.integers(0, len(SPECS) - 1), min_size=1, max_size=8),
    seconds=st.lists(st.integers(0, 366 * 86_400), min_size=1, max_size=40),
    near_dst=st.lists(st.integers(0, 6 * 3600), max_size=20),
)
def test_codes_at_once_are_the_codes_minute_by_minute(picks: list[int], seconds: list[int],
                                                      near_dst: list[int]) -> None:
    windows = _windows(picks)
    # Random order: the per-minute blocks jump back and forth, the batch takes them as given.
    times = [YEAR_S + s for s in seconds] + [DST_S[k % 2] + s for k, s in enumerate(near_dst)]
    codes = CalendarTable(windows).codes_at(np.asarray(times, dtype=np.int64))
    assert codes == _per_tick(windows, times)
    for bit, window in enumerate(windows):
        if window.has_conditions:
            continue  # matches() would need the price and SOC; the codes hold the calendar only
        for t, code in zip(times, codes, strict=True):
            minute = datetime.fromtimestamp(t - t % 60, UTC)
            assert bool(code >> bit & 1) == window.matches(minute), (window, minute)


def test_every_minute_of_the_dst_days() -> None:
    windows = _windows(list(range(len(SPECS))))
    times = np.concatenate([d + 60 * np.arange(8 * 60, dtype=np.int64) + 17 for d in DST_S])
    assert CalendarTable(windows).codes_at(times) == _per_tick(windows, times.tolist())


def test_fractional_seconds_take_the_code_of_their_minute() -> None:
    windows = _windows([2, 9])
    times = [DST_S[0] + 59.5, DST_S[0] + 60.0, DST_S[0] + 3599.999, DST_S[1] - 0.5]
    assert CalendarTable(windows).codes_at(np.asarray(times)) == _per_tick(windows, times)


def test_more_windows_than_an_int64_holds() -> None:
    windows = _windows([i % len(SPECS) for i in range(70)])
    times = YEAR_S + 3571 * np.arange(200, dtype=np.int64)
    codes = CalendarTable(windows).codes_at(times)
    assert codes == _per_tick(windows, times.tolist())
    assert max(codes) >= 1 << 63  # the wide codes really are wider than an int64


def test_no_windows_and_no_times() -> None:
    assert CalendarTable([]).codes_at(np.asarray([YEAR_S, YEAR_S + 60])) == [0, 0]
    assert CalendarTable(_windows([0, 4])).codes_at(np.zeros(0, dtype=np.int64)) == []


def test_windows_in_different_zones_keep_their_own_local_time() -> None:
    tokyo = Window(SPECS[2], ZoneInfo("Asia/Tokyo"))
    london = Window(SPECS[2], LONDON)
    times = YEAR_S + 600 * np.arange(6 * 24 * 7, dtype=np.int64)
    codes = CalendarTable([london, tokyo]).codes_at(times)
    assert codes == _per_tick([london, tokyo], times.tolist())
    assert {c & 1 for c in codes} == {0, 1} and {c >> 1 for c in codes} == {0, 1}
    assert any(c in (1, 2) for c in codes)  # the same hours in two zones are not the same


@settings(max_examples=40, deadline=None)
@given(
    picks=st.lists(st.integers(0, len(SPECS) - 1), min_size=1, max_size=6),
    first=st.integers(0, 366 * 86_400),
    step_min=st.sampled_from([1, 5, 30, 60, 7]),
    count=st.integers(1, 3000),
    probes=st.lists(st.integers(-120 * 60, 400 * 86_400), min_size=1, max_size=30),
    seconds=st.integers(0, 59),
)
def test_code_at_answers_from_the_ticks_codes_at_kept(
    picks: list[int], first: int, step_min: int, count: int, probes: list[int], seconds: int,
) -> None:
    windows = _windows(picks)
    table = CalendarTable(windows)
    ticks = YEAR_S + first + seconds + 60 * step_min * np.arange(count, dtype=np.int64)
    codes = table.codes_at(ticks)
    codes[:] = [-1] * len(codes)  # what the caller does with its list is its own
    fresh = CalendarTable(windows)
    # On the ticks, between them (other minutes and seconds), before and after them.
    for t in [*ticks[:: max(1, count // 20)].tolist(), *(YEAR_S + first + p for p in probes)]:
        assert table.code_at(t) == fresh.code_at(t), t


def test_codes_at_of_uneven_instants_keeps_nothing() -> None:
    table = CalendarTable(_windows([0, 2]))
    table.codes_at(np.asarray([YEAR_S, YEAR_S + 60, YEAR_S + 180], dtype=np.int64))
    assert table._grid[2] == ()
    table.codes_at(np.asarray([YEAR_S, YEAR_S + 30], dtype=np.int64))  # one minute twice
    assert table._grid[2] == ()
