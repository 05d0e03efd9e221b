"""The calendar part of a window or tariff period, parsed into integers and evaluated.

:class:`CalendarSpec` is evaluated two ways that must agree: on one local wall-clock instant
(:meth:`CalendarSpec.matches_fields`) and on arrays of instants (:meth:`CalendarSpec.mask`).

Semantics (documented for users in :mod:`gridpilot.calendar.window`):

- ``time`` is ``HH:MM-HH:MM`` on the local wall clock, the start inclusive and the end exclusive;
  ``24:00`` is allowed as an end. When the end is before the start the range crosses midnight,
  and the part after midnight belongs to the day on which the range *opened*: ``days: fri`` with
  ``time: "22:00-06:00"`` covers Friday 22:00 to Saturday 06:00.
- ``days``, ``months`` and ``dates`` are tested against that opening day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from gridpilot.arrays import BoolArray, IntArray
from gridpilot.calendar.localtime import EPOCH_ORDINAL, LocalFields
from gridpilot.calendar.text import (
    DateRange,
    TimeRange,
    parse_dates,
    parse_days,
    parse_months,
    parse_time_range,
)

__all__ = ["CalendarSpec"]


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


def _month_day(ordinal: IntArray) -> tuple[IntArray, IntArray]:
    days = (ordinal - EPOCH_ORDINAL).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    month = (months.astype(np.int64) % 12 + 1).astype(np.int64)
    mday = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return month, mday

