"""Wall-clock calendar specs shared by rule windows and tariff periods.

This module parses the text forms (``time: "16:00-19:00"``, ``days: mon-fri``,
``months: nov-feb``, ``dates: 2026-12-20..2027-01-03``) into a small integer form,
:class:`CalendarSpec`, and evaluates it two ways that must agree: on one local wall-clock instant
(:meth:`CalendarSpec.matches_fields`) and on arrays of instants (:meth:`CalendarSpec.mask`).
:class:`LocalFields` turns UNIX seconds into local wall-clock fields, vectorised, by locating the
zone's UTC-offset transitions once.

Semantics (documented for users in :mod:`gridpilot.rules.windows`):

- ``time`` is ``HH:MM-HH:MM`` on the local wall clock, the start inclusive and the end exclusive;
  ``24:00`` is allowed as an end. When the end is before the start the range crosses midnight,
  and the part after midnight belongs to the day on which the range *opened*: ``days: fri`` with
  ``time: "22:00-06:00"`` covers Friday 22:00 to Saturday 06:00.
- ``days``, ``months`` and ``dates`` are tested against that opening day.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
from croniter import croniter

from gridpilot.timeutil import parse_duration_s

__all__ = [
    "DAY_NAMES",
    "MONTH_NAMES",
    "CalendarSpec",
    "DateRange",
    "LocalFields",
    "TimeRange",
    "parse_clock_min",
    "parse_dates",
    "parse_days",
    "parse_months",
    "parse_time_range",
    "validate_cron",
    "window_for_s",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

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


@dataclass(frozen=True, slots=True)
class CalendarSpec:
    """The calendar part of a window or tariff period, parsed. ``None`` parts always hold."""

    time: TimeRange | None = None
    days: frozenset[int] | None = None
    months: frozenset[int] | None = None
    dates: tuple[DateRange, ...] | None = None

    @classmethod
    def parse(
        cls,
        time: str | None = None,
        days: str | int | Sequence[str | int] | None = None,
        months: str | int | Sequence[str | int] | None = None,
        dates: str | int | Sequence[str | int] | None = None,
    ) -> CalendarSpec:
        return cls(
            parse_time_range(time) if time is not None else None,
            parse_days(days) if days is not None else None,
            parse_months(months) if months is not None else None,
            parse_dates(dates) if dates is not None else None,
        )

    @property
    def always(self) -> bool:
        return self.time is None and self.days is None and self.months is None and not self.dates

    def edges_min(self) -> set[int]:
        """Minutes of the day at which this spec can change its answer."""
        if self.time is None:
            return {0}
        return {0, self.time.start_min % 1440, self.time.end_min % 1440}

    # The one definition of "matches"; the vectorised mask below mirrors it step for step.
    def matches_fields(self, day_ordinal: int, minute: int) -> bool:
        """Whether the spec holds at local wall-clock ``minute`` (0..1439) of the local day
        ``day_ordinal`` (``date.toordinal``)."""
        anchor = day_ordinal
        tr = self.time
        if tr is not None:
            if tr.empty:
                return False
            if tr.crosses_midnight:
                if minute >= tr.start_min:
                    pass
                elif minute < tr.end_min:
                    anchor = day_ordinal - 1
                else:
                    return False
            elif not tr.start_min <= minute < tr.end_min:
                return False
        d = date.fromordinal(anchor)
        if self.days is not None and d.weekday() not in self.days:
            return False
        if self.months is not None and d.month not in self.months:
            return False
        if self.dates:
            mmdd = d.month * 100 + d.day
            if not any(r.contains(anchor, mmdd) for r in self.dates):
                return False
        return True

    def matches_local(self, local: datetime) -> bool:
        return self.matches_fields(local.toordinal(), local.hour * 60 + local.minute)

    def mask(self, fields: LocalFields) -> BoolArray:
        """Vectorised :meth:`matches_fields` over every instant of ``fields``."""
        n = fields.minute.shape[0]
        anchor = fields.day_ordinal
        ok = np.ones(n, dtype=bool)
        tr = self.time
        if tr is not None:
            if tr.empty:
                return np.zeros(n, dtype=bool)
            mnt = fields.minute
            if tr.crosses_midnight:
                late = mnt >= tr.start_min
                early = mnt < tr.end_min
                ok = late | early
                anchor = np.where(~late & early, anchor - 1, anchor)
            else:
                ok = (mnt >= tr.start_min) & (mnt < tr.end_min)
        if self.days is None and self.months is None and not self.dates:
            return ok
        # 0001-01-01 (ordinal 1) was a Monday.
        if self.days is not None:
            weekday = (anchor - 1) % 7
            ok &= _in_set(weekday, self.days, 7)
        if self.months is not None or self.dates:
            month, mday = _month_day(anchor)
            if self.months is not None:
                ok &= _in_set(month, self.months, 13)
            if self.dates:
                mmdd = month * 100 + mday
                hit = np.zeros(n, dtype=bool)
                for r in self.dates:
                    if not r.annual:
                        hit |= (anchor >= r.start) & (anchor <= r.end)
                    elif r.start <= r.end:
                        hit |= (mmdd >= r.start) & (mmdd <= r.end)
                    else:
                        hit |= (mmdd >= r.start) | (mmdd <= r.end)
                ok &= hit
        return ok


def _in_set(values: IntArray, members: frozenset[int], size: int) -> BoolArray:
    table = np.zeros(size, dtype=bool)
    table[list(members)] = True
    return table[values]


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _month_day(ordinal: IntArray) -> tuple[IntArray, IntArray]:
    days = (ordinal - _EPOCH_ORDINAL).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    month = (months.astype(np.int64) % 12 + 1).astype(np.int64)
    mday = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return month, mday


@dataclass(frozen=True, slots=True)
class LocalFields:
    """Local wall-clock fields of an array of instants in one timezone."""

    day_ordinal: IntArray
    """The local date, as ``date.toordinal``."""
    minute: IntArray
    """Minute of the local day, 0..1439."""

    @classmethod
    def from_unix(cls, start_s: IntArray, tz: ZoneInfo) -> LocalFields:
        s = np.asarray(start_s, dtype=np.int64)
        if s.shape[0] == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, empty)
        local_s = s + utc_offsets_s(s, tz)
        day = local_s // 86_400
        return cls(day + _EPOCH_ORDINAL, (local_s - day * 86_400) // 60)

    @classmethod
    def from_datetime(cls, t: datetime, tz: ZoneInfo) -> tuple[int, int]:
        local = t.astimezone(tz)
        return local.toordinal(), local.hour * 60 + local.minute


def _offset_at(ts: int, tz: ZoneInfo) -> int:
    off = datetime.fromtimestamp(ts, UTC).astimezone(tz).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


@lru_cache(maxsize=256)
def _transitions(tz_key: str, day_lo: int, day_hi: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """UTC instants at which the zone's offset changes between two UNIX days, and the offset in
    force from each (the first entry is the offset at ``day_lo``)."""
    tz = ZoneInfo(tz_key)
    starts = [day_lo * 86_400]
    offsets = [_offset_at(starts[0], tz)]
    prev_ts, prev_off = starts[0], offsets[0]
    # Zones change offset at most a few times a year, never twice within 12 hours.
    for ts in range(day_lo * 86_400 + 43_200, day_hi * 86_400 + 43_201, 43_200):
        off = _offset_at(ts, tz)
        if off != prev_off:
            lo, hi = prev_ts, ts  # offset(lo) == prev_off, offset(hi) == off
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_at(mid, tz) == prev_off:
                    lo = mid
                else:
                    hi = mid
            starts.append(hi)
            offsets.append(off)
            prev_off = off
        prev_ts = ts
    return tuple(starts), tuple(offsets)


def utc_offsets_s(start_s: IntArray, tz: ZoneInfo) -> IntArray:
    """The zone's UTC offset [s] at each UNIX instant."""
    if start_s.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    # Cache on whole 64-day blocks so repeated lookups over similar spans reuse the scan.
    day_lo = (int(start_s.min()) // 86_400 // 64) * 64
    day_hi = (int(start_s.max()) // 86_400 // 64 + 1) * 64
    starts, offsets = _transitions(tz.key, day_lo, day_hi)
    if len(starts) == 1:
        return np.full(start_s.shape[0], offsets[0], dtype=np.int64)
    idx = np.searchsorted(np.asarray(starts, dtype=np.int64), start_s, side="right") - 1
    return np.asarray(offsets, dtype=np.int64)[idx]


def validate_cron(expr: str) -> str:
    """Raise ValueError (a message for people) if ``expr`` is not a 5-field cron expression."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(
            f"cron {expr!r} needs 5 fields: minute hour day-of-month month day-of-week "
            "(e.g. \"0 16 * * mon-fri\")"
        )
    if not croniter.is_valid(expr):
        raise ValueError(f"cron {expr!r} is not a valid cron expression")
    return expr
