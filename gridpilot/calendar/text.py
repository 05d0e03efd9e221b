"""The text forms of a calendar: ``time: "16:00-19:00"``, ``days: mon-fri``, ``months: nov-feb``,
``dates: 2026-12-20..2027-01-03``, a cron expression and its ``for``, parsed into small integers.

Every parser raises ValueError with a message for people; the policy schema runs them early so a
bad text is reported at its line, and the calendar evaluates what they return.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from gridpilot.timeutil import parse_duration_s

__all__ = [
    "DAY_NAMES",
    "MONTH_NAMES",
    "DateRange",
    "TimeRange",
    "impossible_annual_dates",
    "parse_clock_min",
    "parse_dates",
    "parse_days",
    "parse_months",
    "parse_time_range",
    "validate_cron",
    "window_for_s",
]


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_FULL_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)
_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_FULL_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ANNUAL_DATE_RE = re.compile(r"^(\d{2})-(\d{2})$")
# Days in each month of a leap year: an annual date is possible if it exists in some year.
_MAX_MDAY = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Minutes of the local day: ``start_min`` inclusive, ``end_min`` exclusive (0..1440)."""

    start_min: int
    end_min: int

    @property
    def crosses_midnight(self) -> bool:
        return self.end_min < self.start_min

    @property
    def empty(self) -> bool:
        return self.end_min == self.start_min


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive date range. Year-specific ranges hold proleptic ordinals (``date.toordinal``);
    annual ranges hold ``month * 100 + day`` and may wrap over new year."""

    start: int
    end: int
    annual: bool

    def contains(self, ordinal: int, mmdd: int) -> bool:
        if not self.annual:
            return self.start <= ordinal <= self.end
        if self.start <= self.end:
            return self.start <= mmdd <= self.end
        return mmdd >= self.start or mmdd <= self.end


_CLOCK_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_clock_min(text: str) -> int:
    """``"16:00"`` -> minutes after midnight (0..1439)."""
    m = _CLOCK_RE.match(str(text))
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"{text!r} is not a time of day HH:MM (e.g. \"16:00\")")
    return int(m.group(1)) * 60 + int(m.group(2))


def parse_time_range(text: str) -> TimeRange:
    """``"16:00-19:00"`` -> minutes. Raises ValueError with a message for people."""
    m = _TIME_RE.match(str(text))
    if not m:
        raise ValueError(f"time {text!r} is not HH:MM-HH:MM (e.g. \"16:00-19:00\")")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    for h, mi, edge in ((h1, m1, "start"), (h2, m2, "end")):
        if mi > 59 or h > 24 or (h == 24 and mi != 0):
            raise ValueError(f"time {text!r}: the {edge} {h:02d}:{mi:02d} is not a time of day")
    if h1 == 24:
        raise ValueError(f"time {text!r}: a range cannot start at 24:00; use 00:00")
    return TimeRange(h1 * 60 + m1, h2 * 60 + m2)


def _items(value: str | int | Sequence[str | int]) -> list[str]:
    if isinstance(value, str | int):
        parts: Iterable[str | int] = str(value).split(",")
    else:
        parts = value
    out = [str(p).strip().lower() for p in parts]
    if not out or any(not p for p in out):
        raise ValueError("empty entry in the list")
    return out


def _name_index(word: str, short: Sequence[str], full: Sequence[str], kind: str,
                numbers_from: int | None) -> int:
    if word in short:
        return short.index(word)
    if word in full:
        return full.index(word)
    if numbers_from is not None and word.isdigit():
        n = int(word) - numbers_from
        if 0 <= n < len(short):
            return n
    hint = ", ".join(short)
    raise ValueError(f"{word!r} is not a {kind}; use {hint}")


def _parse_set(value: str | int | Sequence[str | int], short: Sequence[str],
               full: Sequence[str], kind: str, numbers_from: int | None) -> frozenset[int]:
    out: set[int] = set()
    for item in _items(value):
        if "-" in item:
            a_text, _, b_text = item.partition("-")
            a = _name_index(a_text.strip(), short, full, kind, numbers_from)
            b = _name_index(b_text.strip(), short, full, kind, numbers_from)
            n = len(short)
            i = a
            while True:  # ranges may wrap (fri-mon, nov-feb)
                out.add(i)
                if i == b:
                    break
                i = (i + 1) % n
        else:
            out.add(_name_index(item, short, full, kind, numbers_from))
    return frozenset(out)


def parse_days(value: str | int | Sequence[str | int]) -> frozenset[int]:
    """``mon-fri``, ``sat,sun``, ``[mon, wed]`` -> weekday numbers (Monday 0)."""
    return _parse_set(value, DAY_NAMES, _FULL_DAYS, "day", numbers_from=None)


def parse_months(value: str | int | Sequence[str | int]) -> frozenset[int]:
    """``nov-feb``, ``1-3``, ``[jan, 7]`` -> month numbers 1..12."""
    return frozenset(m + 1 for m in _parse_set(value, MONTH_NAMES, _FULL_MONTHS, "month", 1))


def _parse_one_date(text: str) -> tuple[int, bool]:
    full = _FULL_DATE_RE.match(text)
    if full:
        y, mo, d = (int(g) for g in full.groups())
        try:
            return date(y, mo, d).toordinal(), False
        except ValueError:
            raise ValueError(f"{text!r} is not a date in the calendar") from None
    annual = _ANNUAL_DATE_RE.match(text)
    if annual:
        mo, d = (int(g) for g in annual.groups())
        if not 1 <= mo <= 12 or not 1 <= d <= 31:
            raise ValueError(f"{text!r} is not a MM-DD date")
        return mo * 100 + d, True
    raise ValueError(f"{text!r} is not a date; use YYYY-MM-DD, or MM-DD for every year")


def parse_dates(value: str | int | Sequence[str | int]) -> tuple[DateRange, ...]:
    """``2026-12-20..2027-01-03``, ``12-24..12-26`` (every year), single dates, or a list."""
    out: list[DateRange] = []
    for item in _items(value):
        a_text, sep, b_text = item.partition("..")
        a, a_annual = _parse_one_date(a_text.strip())
        b, b_annual = _parse_one_date(b_text.strip()) if sep else (a, a_annual)
        if a_annual != b_annual:
            raise ValueError(f"{item!r} mixes a yearly MM-DD date with a full YYYY-MM-DD date")
        out.append(DateRange(a, b, a_annual))
    return tuple(out)


def impossible_annual_dates(ranges: Sequence[DateRange]) -> list[str]:
    """Annual single days or range edges that no year has (``02-30``)."""
    bad: list[str] = []
    for r in ranges:
        if not r.annual:
            continue
        for mmdd in {r.start, r.end}:
            mo, d = divmod(mmdd, 100)
            if d > _MAX_MDAY[mo - 1]:
                bad.append(f"{mo:02d}-{d:02d}")
    return bad


def window_for_s(text: str | int | float) -> float:
    """Seconds a cron window stays open (its ``for``), in the one duration grammar of
    :func:`gridpilot.timeutil.parse_duration_s`: above 0 and at most a year."""
    seconds = parse_duration_s(text)
    if not 0 < seconds <= 366 * 86_400:
        raise ValueError(f"duration {text!r} must be above 0 and at most a year")
    return seconds


def validate_cron(expr: str) -> str:
    """Raise ValueError (a message for people) if ``expr`` is not a 5-field cron expression."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(
            f"cron {expr!r} needs 5 fields: minute hour day-of-month month day-of-week "
            "(e.g. \"0 16 * * mon-fri\")"
        )
    from croniter import croniter  # only a policy with a cron window pays its import

    if not croniter.is_valid(expr):
        raise ValueError(f"cron {expr!r} is not a valid cron expression")
    return expr
