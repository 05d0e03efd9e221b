"""The tick's minute-block answers (Window.open) must agree with Window.matches at every instant,
across cache blocks and DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

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
    When(time="10:00-12:00", soc_below_pct=50, price_above=0.1),
]


@settings(max_examples=60, deadline=None)
@given(
    spec_i=st.integers(0, len(SPECS) - 1),
    minutes=st.lists(st.integers(0, 366 * 24 * 60), min_size=1, max_size=30),
    soc=st.floats(0, 100),
    price=st.floats(-0.5, 0.5),
)
def test_tick_answers_agree_with_matches(spec_i: int, minutes: list[int], soc: float,
                                  price: float) -> None:
    window = Window(SPECS[spec_i], LONDON)
    probe = window
    base = datetime(2018, 1, 1, tzinfo=UTC)
    for m in minutes:  # random order: jumps back and forth across cache blocks
        t = base + timedelta(minutes=m, seconds=17)
        assert probe.open(t.timestamp(), soc, price) == window.matches(
            t, soc_pct=soc, import_price=price), (SPECS[spec_i], t)


def test_dst_days_minute_by_minute() -> None:
    window = Window(When(time="00:00-01:30"), LONDON)
    probe = window
    for day in ("2018-03-25", "2018-10-28"):
        t0 = datetime.fromisoformat(day).replace(tzinfo=UTC) - timedelta(hours=2)
        for m in range(0, 8 * 60):
            t = t0 + timedelta(minutes=m)
            assert probe.open(t.timestamp(), 50.0, None) == window.matches(t), t


def test_soc_hysteresis_widens_thresholds() -> None:
    probe = Window(When(soc_below_pct=20, soc_above_pct=5), LONDON)
    assert not probe.open(0, 21.0, None)
    assert probe.open(0, 21.0, None, hysteresis_pct=2)
    assert not probe.open(0, 22.5, None, hysteresis_pct=2)
    assert probe.open(0, 4.0, None, hysteresis_pct=2)
