"""A cron window whose open spans never meet its own time/days/months/dates can never fire;
one whose spans do meet them is accepted. The helper is checked against the window's own mask
over real instants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpilot.calendar.cron_overlap import cron_misses_calendar
from gridpilot.calendar.when import When
from gridpilot.calendar.window import Window
from gridpilot.rules.loader import load_policy

from .conftest import errors_of

LONDON = ZoneInfo("Europe/London")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def rules_yaml(*whens: str) -> str:
    body = "rules:\n"
    for i, spec in enumerate(whens):
        body += f"  - name: r{i}\n    layer: schedule\n    when: {spec}\n"
        body += "    action: {kind: hold}\n"
    return body


def when(**parts: str) -> When:
    return When.model_validate(parts)


OVERLAPPING = [
    '{cron: "0 9 * * *", for: 1h, time: "08:00-10:00"}',
    # Opens before the range but lasts into it.
    '{cron: "0 7 * * *", for: 90m, time: "08:00-10:00"}',
    # Sunday late evening into Monday: the span reaches a weekday.
    '{cron: "0 23 * * sun", for: 2h, days: mon-fri}',
    '{cron: "0 16 * * mon-fri", for: 3h, days: mon-fri, time: "16:00-19:00"}',
    '{cron: "30 22 * * *", for: 1h, time: "23:00-06:00", months: nov-feb}',
    '{cron: "0 12 1 * *", for: 1h, dates: 2027-03-01..2027-03-31}',
    # 29 February falls on a Monday in some leap years only.
    '{cron: "0 16 29 2 *", for: 1h, days: mon}',
]


@pytest.mark.parametrize("spec", OVERLAPPING)
def test_cron_that_meets_its_calendar_is_accepted(
    spec: str, policy_file: Callable[[str], Path]
) -> None:
    policy = load_policy(policy_file(rules_yaml(spec)))
    assert [r.name for r in policy.rules] == ["r0"]


def test_cron_outside_its_time_is_reported_with_location_and_hint(
    policy_file: Callable[[str], Path],
) -> None:
    path = policy_file(rules_yaml(
        '{time: "08:00-10:00"}',
        '{cron: "0 16 * * *", for: 1h, time: "08:00-10:00"}',
    ))
    (err,) = errors_of(path)
    assert f"{path}:" in err
    assert "rules[1].when.cron: rule 'r1': cron '0 16 * * *' with for 1h is never open at a " \
           "time its 'time' allows, so it never fires" in err
    assert "(hint: make the cron fire where 'time' allows" in err


def test_sunday_cron_on_weekdays_and_cron_outside_dates_are_reported(
    policy_file: Callable[[str], Path],
) -> None:
    path = policy_file(rules_yaml(
        '{cron: "0 16 * * sun", for: 2h, days: mon-fri}',
        '{cron: "0 16 * 2 *", for: 1h, dates: 2027-07-01..2027-07-31}',
        '{cron: "0 16 * * *", for: 1h, days: sat, months: jan, time: "00:00-12:00"}',
    ))
    errs = errors_of(path)
    assert len(errs) == 3
    assert "rules[0].when.cron: rule 'r0': cron '0 16 * * sun'" in errs[0]
    assert "its 'days' allows" in errs[0]
    assert "rules[1].when.cron: rule 'r1'" in errs[1]
    assert "its 'dates' allows" in errs[1]
    assert "its 'time' and 'days' and 'months' allow, so it never fires" in errs[2]


def test_guard_with_a_cron_outside_its_calendar_is_reported(
    policy_file: Callable[[str], Path],
) -> None:
    path = policy_file(
        "guards:\n"
        "  - kind: import_cap\n    max_import_w: 5000\n"
        '    when: {cron: "0 3 * * *", for: 30m, time: "17:00-19:00"}\n'
    )
    (err,) = errors_of(path)
    assert "guards[0].when.cron: guard 'import_cap': cron '0 3 * * *'" in err


def test_other_never_fires_reasons_are_not_repeated(policy_file: Callable[[str], Path]) -> None:
    # The empty time range is the reason; the cron is not reported again for it.
    path = policy_file(rules_yaml('{cron: "0 16 * * *", for: 1h, time: "09:00-09:00"}'))
    (err,) = errors_of(path)
    assert "rules[0].when.time" in err


def test_disabled_rule_is_not_checked(policy_file: Callable[[str], Path]) -> None:
    text = rules_yaml('{cron: "0 16 * * *", for: 1h, time: "08:00-10:00"}')
    policy = load_policy(policy_file(text + "    enabled: false\n"))
    assert len(policy.rules) <= 1


def test_clock_change_is_read_in_the_site_timezone() -> None:
    # 00:30 + 90 minutes of elapsed time reaches 03:00 wall-clock only across the spring gap.
    spec = when(cron="30 0 * * *", **{"for": "90m"}, time="02:30-03:00", months="mar")
    assert not cron_misses_calendar(spec, LONDON)
    assert cron_misses_calendar(spec, ZoneInfo("UTC"))


def test_helper_says_no_without_cron_or_calendar() -> None:
    assert not cron_misses_calendar(when(time="08:00-10:00"), LONDON)
    assert not cron_misses_calendar(when(cron="0 16 * * *", **{"for": "1h"}), LONDON)


_MINUTES = np.arange(
    int(datetime(2027, 1, 4, tzinfo=UTC).timestamp()),
    int(datetime(2027, 1, 25, tzinfo=UTC).timestamp()),
    60,
    dtype=np.int64,
)


def _spec(hour: int, minute: int, dow: str, for_min: int, start_h: int, end_h: int,
          days: str) -> When:
    return when(
        cron=f"{minute} {hour} * * {dow}",
        **{"for": f"{for_min}m"},
        time=f"{start_h:02d}:00-{end_h:02d}:00",
        days=days,
    )


_CASE = {
    "hour": st.integers(0, 23),
    "minute": st.sampled_from([0, 15, 30, 45]),
    "dow": st.sampled_from(DAYS),
    "start_h": st.integers(0, 23),
    "end_h": st.integers(0, 23),
    "days": st.sampled_from(["mon-fri", "sat,sun", "wed", "sun", "fri-mon"]),
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(for_min=st.integers(1, 36 * 60), **_CASE)
def test_a_window_reported_as_never_open_is_never_open(
    hour: int, minute: int, dow: str, for_min: int, start_h: int, end_h: int, days: str
) -> None:
    # Weekly cron and weekly calendar in UTC: three weeks of minutes hold every case.
    spec = _spec(hour, minute, dow, for_min, start_h, end_h, days)
    utc = ZoneInfo("UTC")
    if cron_misses_calendar(spec, utc):
        assert not Window(spec, utc).calendar_mask(_MINUTES).any()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(for_min=st.sampled_from([1, 15, 30, 60, 90, 120, 240, 600]), **_CASE)
def test_a_window_never_open_is_reported(
    hour: int, minute: int, dow: str, for_min: int, start_h: int, end_h: int, days: str
) -> None:
    spec = _spec(hour, minute, dow, for_min, start_h, end_h, days)
    if start_h == end_h:
        return  # an empty range is reported on its own
    utc = ZoneInfo("UTC")
    ever_open = bool(Window(spec, utc).calendar_mask(_MINUTES).any())
    assert cron_misses_calendar(spec, utc) == (not ever_open)
