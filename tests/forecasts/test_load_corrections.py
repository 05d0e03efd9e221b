"""The sturdier time-of-week load forecast: holidays forecast like a Sunday, the in-day
correction within its bounds, gaps not read as zero; all off by default."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from gridpilot.errors import PolicyError
from gridpilot.forecasts.holidays_cal import holiday_checker
from gridpilot.forecasts.providers import TimeOfWeekAverage
from gridpilot.rules.loader import load_policy

LONDON = ZoneInfo("Europe/London")
START = datetime(2018, 7, 30, tzinfo=UTC)  # a Monday; 2018-08-27 is England's bank holiday


def load_at(t: datetime) -> float:
    local = t.astimezone(LONDON)
    if local.weekday() == 6 or local.date().isoformat() == "2018-08-27":
        return 200.0
    return 800.0


def feed(f: TimeOfWeekAverage, days: int, start: datetime = START) -> None:
    for k in range(days * 48):
        t = start + timedelta(minutes=30 * k)
        f.observe(t, load_at(t), 0.0)


def day_slots(day: datetime) -> np.ndarray:
    return int(day.timestamp()) + 1800 * np.arange(48, dtype=np.int64)


def test_a_holiday_is_forecast_like_a_sunday() -> None:
    plain = TimeOfWeekAverage(LONDON)
    aware = TimeOfWeekAverage(LONDON, is_holiday=holiday_checker("GB-ENG"))
    for f in (plain, aware):
        feed(f, 27)  # up to Sunday 26 August
    holiday = datetime(2018, 8, 26, 23, tzinfo=UTC)  # Monday 27 August, 00:00 BST
    assert float(plain.forecast(day_slots(holiday)).mean()) == pytest.approx(800)
    assert float(aware.forecast(day_slots(holiday)).mean()) == pytest.approx(200)
    # Learning the holiday does not drag the next Monday's forecast down.
    for f in (plain, aware):
        feed(f, 1, datetime(2018, 8, 26, 23, tzinfo=UTC))
    monday = datetime(2018, 9, 2, 23, tzinfo=UTC)
    assert float(aware.forecast(day_slots(monday)).mean()) == pytest.approx(800)
    assert float(plain.forecast(day_slots(monday)).mean()) < 800


def test_in_day_correction_scales_the_rest_of_today_within_bounds() -> None:
    f = TimeOfWeekAverage(LONDON, in_day_bounds=(0.8, 1.25))
    feed(f, 14)
    today = START + timedelta(days=15)  # a Tuesday: forecast 800 W
    for k in range(8):  # four hours at 1.5 x
        t = today + timedelta(minutes=30 * k)
        f.observe(t, 1200.0, 0.0)
    assert f.in_day_ratio() == 1.25
    rest = f.forecast(int((today + timedelta(hours=4)).timestamp())
                      + 1800 * np.arange(96, dtype=np.int64))
    local_days = {(today + timedelta(hours=4, minutes=30 * i)).astimezone(LONDON).date()
                  for i in range(96)}
    assert len(local_days) >= 2
    assert float(rest[0]) == pytest.approx(1000)  # today: 800 x 1.25
    assert float(rest[-1]) == pytest.approx(800)  # tomorrow: the plain average


def test_off_by_default_and_gaps_are_not_zero() -> None:
    f = TimeOfWeekAverage(LONDON)
    feed(f, 7)
    for k in range(48):
        f.observe(START + timedelta(days=7, minutes=30 * k), float("nan"), 0.0)
    assert f.in_day_ratio() == 1.0
    assert float(f.forecast(day_slots(START + timedelta(days=8))).min()) == pytest.approx(800)


def test_a_bad_calendar_is_located(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("""\
version: 1
site:
  name: s
  timezone: Europe/London
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000}
tariff:
  import: {default: 0.25}
default:
  action: {kind: self_consumption}
forecast:
  type: time_of_week
  holidays: GB-XXX
  in_day_bounds: [1.2, 0.8]
""", encoding="utf-8")
    with pytest.raises(PolicyError) as err:
        load_policy(path)
    text = str(err.value)
    assert "p.yaml:13:" in text and "forecast.holidays" in text and "GB-ENG" in text
    assert "forecast.in_day_bounds" in text
