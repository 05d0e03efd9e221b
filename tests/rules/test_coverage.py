"""Rules that can never fire: an empty calendar, a cron with no date, SOC bounds outside 0..100,
and rules whose every time earlier calendar-only action rules already take. The wall-clock
analysis is checked against the windows' own masks over real instants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridpilot.calendar.localtime import LocalFields
from gridpilot.calendar.spec import CalendarSpec
from gridpilot.calendar.when import When
from gridpilot.calendar.window import Window
from gridpilot.rules.coverage import LayerCoverage, calendar_never_matches, cron_never_fires
from gridpilot.rules.loader import load_policy

from .conftest import errors_of

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def rule(name: str, when: str | None, action: str = "{kind: hold}", layer: str = "schedule",
         strategy: str | None = None) -> str:
    body = f"  - name: {name}\n    layer: {layer}\n"
    if when is not None:
        body += f"    when: {when}\n"
    body += f"    strategy: {strategy}\n" if strategy else f"    action: {action}\n"
    return body


def rules_section(*rules: str) -> str:
    return "rules:\n" + "".join(rules)


# --- the cases a review found accepted -------------------------------------------------------

def test_months_and_dates_with_no_common_day(policy_file: Callable[[str], Path]) -> None:
    path = policy_file(rules_section(
        rule("feb in july", "{months: feb, dates: 2026-07-01..2026-07-31}")
    ))
    (err,) = errors_of(path)
    assert "rules[0].when.dates: rule 'feb in july': no day of these dates is in its months" in err
    assert "(hint: make 'dates' and 'months' agree, or drop one of them)" in err


def test_days_and_a_date_that_is_another_weekday(policy_file: Callable[[str], Path]) -> None:
    # 2026-07-01 is a Wednesday.
    path = policy_file(rules_section(rule("x", "{days: mon, dates: 2026-07-01}")))
    (err,) = errors_of(path)
    assert "no day of these dates is in its days" in err


def test_soc_below_zero_and_above_hundred(policy_file: Callable[[str], Path]) -> None:
    path = policy_file(rules_section(
        rule("empty", "{soc_below_pct: 0}"),
        rule("full", "{soc_above_pct: 100}"),
    ))
    errs = errors_of(path)
    assert len(errs) == 2
    assert "rules[0].when.soc_below_pct: rule 'empty': soc_below_pct 0: the state of charge is " \
           "never below 0 %" in errs[0]
    assert "rules[1].when.soc_above_pct: rule 'full': soc_above_pct 100" in errs[1]


def test_cron_with_no_fire_date(policy_file: Callable[[str], Path]) -> None:
    path = policy_file(rules_section(rule("feb 31", '{cron: "0 0 31 2 *", for: 1h}')))
    (err,) = errors_of(path)
    assert "rules[0].when.cron: rule 'feb 31': cron '0 0 31 2 *' names a date that never " \
           "exists, so it never fires" in err


def test_rule_inside_an_earlier_action_rule_is_shadowed(
    policy_file: Callable[[str], Path],
) -> None:
    path = policy_file(rules_section(
        rule("night", '{time: "00:30-07:30", days: mon-fri}', "{kind: charge, power_w: 2000}"),
        rule("inner", '{time: "01:00-02:00", days: mon-fri}'),
    ))
    (err,) = errors_of(path)
    assert "rules[1]: rule 'inner' can never fire: every time it covers is already taken by " \
           "'night' (rules[0]), earlier in the schedule layer" in err
    assert "(hint: move 'inner' above 'night', or narrow its 'when')" in err


def test_shadowed_by_the_union_of_several_rules(policy_file: Callable[[str], Path]) -> None:
    path = policy_file(rules_section(
        rule("morning", '{time: "00:00-12:00"}'),
        rule("afternoon", '{time: "12:00-24:00", months: jan-jun}'),
        rule("spring noon", '{time: "11:00-13:00", months: mar, soc_below_pct: 50}'),
    ))
    (err,) = errors_of(path)
    assert "rule 'spring noon' can never fire" in err
    assert "'morning' (rules[0]), 'afternoon' (rules[1])" in err


@pytest.mark.parametrize(
    ("first", "second"),
    [
        # a day the first does not cover
        ('{time: "00:30-07:30", days: mon-fri}', '{time: "01:00-02:00", days: fri-sun}'),
        # a minute past the end
        ('{time: "00:30-07:30"}', '{time: "07:00-07:31"}'),
        # the first has a price condition: it may not match
        ('{time: "00:00-24:00", price_below: 0.1}', '{time: "01:00-02:00"}'),
        # the first is a cron window: not a calendar-only rule
        ('{cron: "0 0 * * *", for: 24h}', '{time: "01:00-02:00"}'),
        # after midnight a range belongs to the day it opened: Saturday 01:00 opened Friday
        ('{time: "22:00-06:00", days: fri}', '{time: "01:00-02:00", days: fri}'),
        # year-specific dates leave other years free
        ('{dates: 2026-01-01..2027-12-31}', '{time: "01:00-02:00"}'),
    ],
)
def test_not_shadowed(policy_file: Callable[[str], Path], first: str, second: str) -> None:
    load_policy(policy_file(rules_section(rule("a", first), rule("b", second))))


def test_a_strategy_never_shadows(policy_file: Callable[[str], Path]) -> None:
    load_policy(policy_file(rules_section(
        rule("plan", '{time: "00:00-12:00"}', strategy="self_consumption"),
        rule("b", '{time: "01:00-02:00"}'),
    )))


def test_other_layers_and_disabled_rules_do_not_shadow(
    policy_file: Callable[[str], Path],
) -> None:
    load_policy(policy_file(
        rules_section(rule("a", '{time: "00:00-12:00"}', layer="default"),
                      rule("b", '{time: "01:00-02:00"}'))
        + "  - name: off\n    layer: schedule\n    enabled: false\n"
          "    when: {time: \"00:00-12:00\"}\n    action: {kind: hold}\n"
          + rule("c", '{time: "03:00-04:00"}')
    ))


def test_crossing_midnight_shadow(policy_file: Callable[[str], Path]) -> None:
    # Friday 22:00 to Saturday 06:00 covers Saturday 01:00-02:00.
    path = policy_file(rules_section(
        rule("late", '{time: "22:00-06:00", days: fri}'),
        rule("sat night", '{time: "01:00-02:00", days: sat}'),
    ))
    assert "rule 'sat night' can never fire" in errors_of(path)[0]


def test_cron_helper() -> None:
    assert cron_never_fires("0 0 31 2 *")
    assert cron_never_fires("0 0 31 4,6,9,11 *")
    assert not cron_never_fires("0 0 29 2 *")  # leap years
    assert not cron_never_fires("0 16 * * mon-fri")


# --- the wall-clock analysis against real instants ------------------------------------------

_hhmm = st.integers(0, 47).map(lambda h: f"{h // 2:02d}:{(h % 2) * 30:02d}")


@st.composite
def _specs(draw: st.DrawFn) -> When:
    spec: dict[str, object] = {}
    if draw(st.booleans()):
        a, b = draw(_hhmm), draw(_hhmm)
        if a != b:
            spec["time"] = f"{a}-{b}"
    if draw(st.booleans()):
        spec["days"] = sorted(draw(st.sets(st.sampled_from(DAYS), min_size=1, max_size=6)))
    if draw(st.booleans()):
        spec["months"] = sorted(draw(st.sets(st.sampled_from(MONTHS), min_size=1, max_size=11)))
    return When.model_validate(spec)


def _cal(w: When) -> CalendarSpec:
    return CalendarSpec.parse(w.time, w.days, w.months, w.dates)


UTC_ZONE = ZoneInfo("UTC")
# Twelve years of half-hour instants: every weekday meets every month start in that span.
_SPAN = np.arange(
    int(datetime(2020, 1, 1, tzinfo=UTC).timestamp()),
    int(datetime(2032, 1, 1, tzinfo=UTC).timestamp()),
    1800,
    dtype=np.int64,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(earlier=st.lists(_specs(), min_size=1, max_size=3), target=_specs())
def test_coverage_agrees_with_real_instants_in_utc(earlier: list[When], target: When) -> None:
    cov = LayerCoverage([_cal(w) for w in (*earlier, target)])
    for i, w in enumerate(earlier):
        cov.add(i, _cal(w))
    union = np.zeros(_SPAN.shape[0], dtype=bool)
    for w in earlier:
        union |= Window(w, UTC_ZONE).calendar_mask(_SPAN)
    mine = Window(target, UTC_ZONE).calendar_mask(_SPAN)
    brute = bool(mine.any()) and not bool((mine & ~union).any())
    assert (cov.covering(_cal(target)) is not None) == brute


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(earlier=st.lists(_specs(), min_size=1, max_size=3), target=_specs())
def test_covered_on_the_wall_clock_is_covered_in_london(
    earlier: list[When], target: When,
) -> None:
    london = ZoneInfo("Europe/London")
    cov = LayerCoverage([_cal(w) for w in (*earlier, target)])
    for i, w in enumerate(earlier):
        cov.add(i, _cal(w))
    if cov.covering(_cal(target)) is None:
        return
    union = np.zeros(_SPAN.shape[0], dtype=bool)
    for w in earlier:
        union |= Window(w, london).calendar_mask(_SPAN)
    assert not (Window(target, london).calendar_mask(_SPAN) & ~union).any()


_dates = st.one_of(
    st.builds(lambda y, d, n: f"{y}-{_iso(d)}..{y}-{_iso(min(d + n, 365))}",
              st.integers(2026, 2030), st.integers(1, 365), st.integers(0, 40)),
    st.builds(lambda m, d: f"{m:02d}-{d:02d}", st.integers(1, 12), st.integers(1, 28)),
    st.just("02-29"),
)


def _iso(day_of_year: int) -> str:
    return datetime.fromordinal(datetime(2025, 1, 1).toordinal() + day_of_year - 1).strftime(
        "%m-%d")


@settings(max_examples=60, deadline=None)
@given(
    dates=_dates,
    days=st.none() | st.sets(st.sampled_from(DAYS), min_size=1, max_size=2).map(sorted),
    months=st.none() | st.sets(st.sampled_from(MONTHS), min_size=1, max_size=2).map(sorted),
)
def test_never_matches_agrees_with_a_long_day_sweep(
    dates: str, days: list[str] | None, months: list[str] | None,
) -> None:
    spec = CalendarSpec.parse(None, days, months, dates)
    # 1990..2070: far wider than the analysis' own sample, evaluated by the calendar's own mask.
    ordinals = np.arange(datetime(1990, 1, 1).toordinal(), datetime(2070, 1, 1).toordinal(),
                         dtype=np.int64)
    brute = spec.mask(LocalFields(ordinals, np.zeros(ordinals.shape[0], dtype=np.int64)))
    if days is None and months is None:
        assert not calendar_never_matches(spec)
    else:
        assert calendar_never_matches(spec) == (not brute.any())


@pytest.mark.parametrize(
    ("dates", "days", "months", "never"),
    [
        ("0001-01-01", "mon", None, False),  # the first day of the calendar was a Monday
        ("9999-12-31", None, "dec", False),
        ("9999-12-31", "thu", None, True),  # it is a Friday
        ("02-29", "mon", None, False),  # 2044
        ("02-29", None, "mar", True),
    ],
)
def test_never_matches_at_the_ends_of_the_calendar(
    dates: str, days: str | None, months: str | None, never: bool,
) -> None:
    assert calendar_never_matches(CalendarSpec.parse(None, days, months, dates)) is never


def test_tariff_period_with_no_common_day(policy_file: Callable[[str], Path]) -> None:
    path = policy_file("", base=(
        "version: 1\nsite:\n  name: s\n  timezone: Europe/London\n  battery:\n"
        "    capacity_kwh: 10\n    max_charge_w: 3000\n    max_discharge_w: 3000\n"
        "tariff:\n  import:\n    default: 0.25\n    periods:\n"
        "      - {price: 0.1, months: jan, dates: 2026-07-04}\n"
        "  export:\n    default: 0.05\n"
    ))
    (err,) = errors_of(path)
    assert ":13:" in err and "tariff.import.periods[0].dates: no day of these dates is in the " \
        "period's days or months, so it never applies" in err


def test_rules_before_an_always_on_rule_are_still_checked(
    policy_file: Callable[[str], Path],
) -> None:
    path = policy_file(rules_section(
        rule("night", '{time: "00:30-07:30"}'),
        rule("inner", '{time: "01:00-02:00"}'),
        rule("always", None),
        rule("after", '{time: "09:00-10:00"}'),
    ))
    errs = errors_of(path)
    assert len(errs) == 2
    assert "rule 'inner' can never fire: every time it covers is already taken by 'night'" \
        in errs[0]
    assert "rule 'after' can never fire: the always-on rule 'always' (rules[2])" in errs[1]
