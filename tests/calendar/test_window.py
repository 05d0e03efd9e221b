"""Time windows: calendar parts, conditions, clock-change days, and scalar/vector agreement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.calendar.when import When
from gridpilot.calendar.window import Window

LONDON = ZoneInfo("Europe/London")


def window(**spec: object) -> Window:
    return Window(When.model_validate(spec), LONDON)


def local(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=LONDON, fold=fold)  # type: ignore[misc]


def minutes_open(w: Window, day_start_utc: datetime, hours: int = 26) -> list[datetime]:
    """UTC instants, minute by minute, at which ``w`` is open."""
    out = []
    for m in range(hours * 60):
        t = day_start_utc + timedelta(minutes=m)
        if w.matches(t):
            out.append(t)
    return out


def test_time_range_start_inclusive_end_exclusive() -> None:
    w = window(time="16:00-19:00")
    assert not w.matches(local(2026, 1, 5, 15, 59))
    assert w.matches(local(2026, 1, 5, 16, 0))
    assert w.matches(local(2026, 1, 5, 18, 59))
    assert not w.matches(local(2026, 1, 5, 19, 0))


def test_range_across_midnight_belongs_to_the_opening_day() -> None:
    w = window(time="22:00-06:00", days="fri")
    assert w.matches(local(2026, 1, 9, 22, 0))  # Friday evening
    assert w.matches(local(2026, 1, 10, 5, 59))  # early Saturday: opened on Friday
    assert not w.matches(local(2026, 1, 10, 6, 0))
    assert not w.matches(local(2026, 1, 9, 2, 0))  # early Friday opened on Thursday


def test_end_of_day_as_24_00() -> None:
    w = window(time="00:00-24:00")
    assert w.matches(local(2026, 1, 5, 0, 0)) and w.matches(local(2026, 1, 5, 23, 59))


@pytest.mark.parametrize(
    ("days", "open_days"),
    [
        ("mon-fri", {0, 1, 2, 3, 4}),
        ("fri-mon", {4, 5, 6, 0}),
        ("sat,sun", {5, 6}),
        (["mon", "wednesday"], {0, 2}),
    ],
)
def test_days(days: object, open_days: set[int]) -> None:
    w = window(days=days)
    got = {d for d in range(7) if w.matches(local(2026, 1, 5 + d, 12, 0))}  # 2026-01-05 is a Monday
    assert got == open_days


def test_months_wrap_over_new_year_and_numbers() -> None:
    w = window(months="nov-feb")
    assert [m for m in range(1, 13) if w.matches(local(2026, m, 10, 12))] == [1, 2, 11, 12]
    assert window(months=[3, "jul"]).matches(local(2026, 7, 1, 0))


def test_dates_full_and_annual() -> None:
    w = window(dates="2026-12-20..2027-01-03")
    assert w.matches(local(2026, 12, 20, 0)) and w.matches(local(2027, 1, 3, 23, 59))
    assert not w.matches(local(2027, 1, 4, 0))
    xmas = window(dates="12-24..12-26")
    assert xmas.matches(local(2030, 12, 25, 9)) and not xmas.matches(local(2030, 12, 27, 9))
    new_year = window(dates="12-31..01-01")
    assert new_year.matches(local(2030, 1, 1, 9)) and not new_year.matches(local(2030, 1, 2, 9))


def test_cron_window_lasts_for() -> None:
    w = window(cron="0 16 * * mon-fri", **{"for": "3h"})
    assert w.matches(local(2026, 1, 5, 16, 0))
    assert w.matches(local(2026, 1, 5, 18, 59))
    assert not w.matches(local(2026, 1, 5, 19, 0))
    assert not w.matches(local(2026, 1, 10, 17, 0))  # Saturday


def test_conditions_without_a_value_do_not_match() -> None:
    cheap = window(price_below=0.1)
    t = local(2026, 1, 5, 12)
    assert cheap.matches(t, import_price=0.05)
    assert not cheap.matches(t, import_price=0.1)  # strictly below
    assert not cheap.matches(t)
    low = window(soc_below_pct=30, soc_above_pct=10)
    assert low.matches(t, soc_pct=20)
    assert not low.matches(t, soc_pct=30) and not low.matches(t, soc_pct=10)
    assert not low.matches(t)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        window(time="10:00-11:00").matches(datetime(2026, 1, 1, 10))


# Europe/London 2026: spring forward 29 March 01:00 GMT -> 02:00 BST; autumn back 25 October
# 02:00 BST -> 01:00 GMT.
SPRING = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # local midnight (GMT); the day lasts 23 h
AUTUMN = datetime(2026, 10, 24, 23, 0, tzinfo=UTC)  # local midnight (BST)


def test_spring_edge_inside_the_gap_takes_effect_at_its_end() -> None:
    opened = minutes_open(window(time="01:30-04:00"), SPRING, 23)
    # Opens at 02:00 BST (01:00 UTC), closes at 04:00 BST (03:00 UTC): 2 hours.
    assert opened[0] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert opened[-1] == datetime(2026, 3, 29, 2, 59, tzinfo=UTC)
    assert len(opened) == 120
    closing = minutes_open(window(time="00:00-01:30"), SPRING, 23)
    assert len(closing) == 60  # 00:00-01:00 GMT, then the clock shows 02:00
    assert minutes_open(window(time="01:00-02:00"), SPRING, 23) == []


def test_autumn_repeated_hour_matches_both_times() -> None:
    assert len(minutes_open(window(time="01:00-01:30"), AUTUMN, 25)) == 60
    split = minutes_open(window(time="00:00-01:30"), AUTUMN, 25)
    assert len(split) == 90 + 30
    assert datetime(2026, 10, 25, 0, 45, tzinfo=UTC) not in split  # 01:45 BST, first pass
    assert datetime(2026, 10, 25, 1, 15, tzinfo=UTC) in split  # 01:15 GMT, second pass
    assert len(minutes_open(window(time="00:00-06:00"), AUTUMN, 25)) == 7 * 60


def test_cron_for_is_elapsed_time_across_the_clock_change() -> None:
    w = window(cron="0 0 * * *", **{"for": "3h"})
    assert len(minutes_open(w, AUTUMN, 25)) == 180
    assert len(minutes_open(w, SPRING, 23)) == 180


# --- calendar_mask agrees with matches --------------------------------------------------------

_times = st.sampled_from(["16:00-19:00", "22:00-06:00", "00:30-07:30", "01:30-02:30",
                          "00:00-24:00", "01:00-01:30", "23:59-00:01"])
_when = st.fixed_dictionaries(
    {},
    optional={
        "time": _times,
        "days": st.sampled_from(["mon-fri", "sat,sun", "fri-mon", "wed"]),
        "months": st.sampled_from(["nov-feb", "3,10", "jun-aug"]),
        "dates": st.sampled_from(["2026-03-28..2026-03-30", "10-25", "12-31..01-02"]),
        "cron": st.sampled_from(["0 16 * * *", "*/20 1 * * *", "30 0 * * sun"]),
    },
)
_instants = st.one_of(
    st.integers(int(SPRING.timestamp()) - 86_400, int(SPRING.timestamp()) + 2 * 86_400),
    st.integers(int(AUTUMN.timestamp()) - 86_400, int(AUTUMN.timestamp()) + 2 * 86_400),
    st.integers(1_735_689_600, 1_830_297_600),  # 2025-2027
)


@settings(max_examples=100, deadline=None)
@given(spec=_when, instants=st.lists(_instants, min_size=1, max_size=30),
       zone=st.sampled_from(["Europe/London", "America/New_York", "Australia/Lord_Howe"]))
def test_calendar_mask_agrees_with_matches(
    spec: dict[str, str], instants: list[int], zone: str
) -> None:
    if "cron" in spec:
        spec = {**spec, "for": "90m"}
    w = Window(When.model_validate(spec), ZoneInfo(zone))
    mask = w.calendar_mask(np.asarray(instants, dtype=np.int64))
    expected = [w.matches(datetime.fromtimestamp(s, UTC)) for s in instants]
    assert mask.tolist() == expected


def test_calendar_mask_ignores_conditions_but_matches_does_not() -> None:
    w = window(time="10:00-11:00", price_below=0.1)
    s = np.asarray([int(local(2026, 1, 5, 10, 30).timestamp())], dtype=np.int64)
    assert w.calendar_mask(s).tolist() == [True]
    assert not w.matches(local(2026, 1, 5, 10, 30))


_SWEEP_TIMES = ["22:00-06:00", "23:59-00:01", "01:30-02:30", "00:30-07:30", "16:00-19:00"]
_SWEEP_FILTERS: list[dict[str, str]] = [
    {"days": "mon-fri"}, {"days": "sat"}, {"months": "3,10"}, {"dates": "10-25"},
    {"dates": "2026-03-28..2026-03-29"},
]


@pytest.mark.parametrize("start", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_calendar_mask_agrees_with_matches_sweep(start: datetime) -> None:
    """Every 15 minutes over the clock-change week, for every time range and filter."""
    instants = [start - timedelta(days=3) + timedelta(minutes=15 * i) for i in range(7 * 96)]
    seconds = np.asarray([int(t.timestamp()) for t in instants], dtype=np.int64)
    for time_range in _SWEEP_TIMES:
        for extra in _SWEEP_FILTERS:
            w = Window(When.model_validate({"time": time_range, **extra}), LONDON)
            expected = [w.matches(t) for t in instants]
            assert w.calendar_mask(seconds).tolist() == expected, (time_range, extra)
            assert any(expected) or "dates" in extra
