"""Which wall-clock times a calendar spec covers: can it match at all, and is it covered by others?

Used by ``check`` to find rules that can never fire. The analysis runs on the local wall clock,
as (day, minute) pairs, where a spec's answer is exact and cheap:

- in the minute direction a spec only changes its answer at its ``time`` edges and at midnight,
  so one sample per elementary interval between the edges of all the specs involved is exact;
- in the day direction a spec depends on the weekday, month and date of the day on which its
  range opened. 28 consecutive years contain every alignment of weekdays with calendar dates
  (leap days included), and a year-specific date range only matters near its ends, so a base
  span of 28 years plus every stretch between the ends of the date ranges involved (each cut to
  28 years) is a complete sample.

Real instants are a subset of the wall-clock pairs (a skipped hour never happens, a repeated one
maps onto the same pairs), so "never matches on the wall clock" and "covered on the wall clock"
both hold for real time as well: the checks built on this never report a rule that can fire.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from datetime import datetime as _datetime

import numpy as np

from gridpilot.arrays import BoolArray, IntArray
from gridpilot.calendar.spec import CalendarSpec

__all__ = ["LayerCoverage", "calendar_never_matches", "cron_never_fires", "sample_days"]


_BASE_START = date(2001, 1, 1).toordinal()
_CYCLE_DAYS = date(2029, 1, 1).toordinal() - _BASE_START  # 28 years: every weekday alignment


def sample_days(specs: Iterable[CalendarSpec]) -> IntArray:
    """Day ordinals on which every combination of day-level answers of ``specs`` occurs."""
    bounds: set[int] = set()
    for spec in specs:
        for r in spec.dates or ():
            if not r.annual and r.start <= r.end:
                bounds.update((r.start, r.end + 1))
    pieces = [np.arange(_BASE_START, _BASE_START + _CYCLE_DAYS, dtype=np.int64)]
    if bounds:
        edges = sorted(bounds)
        pieces.append(np.arange(edges[0] - _CYCLE_DAYS, edges[0], dtype=np.int64))
        for lo, hi in zip(edges, [*edges[1:], edges[-1] + _CYCLE_DAYS], strict=True):
            pieces.append(np.arange(lo, min(hi, lo + _CYCLE_DAYS), dtype=np.int64))
    # Sorted and deduplicated by hand: np.unique imports numpy.ma (a fifth of numpy's import).
    days = np.sort(np.concatenate(pieces))
    days = days[np.concatenate(([True], days[1:] != days[:-1]))]
    out: IntArray = days[(days >= 1) & (days <= date.max.toordinal())]
    return out


@dataclass(frozen=True, slots=True)
class _DayTable:
    """Day-level fields of sample days, computed once and shared by every spec asked about."""

    ordinal: IntArray
    weekday: IntArray
    month: IntArray
    mmdd: IntArray

    @classmethod
    def of(cls, days: IntArray) -> _DayTable:
        d = (days - _EPOCH_ORDINAL).astype("datetime64[D]")
        m = d.astype("datetime64[M]")
        month = m.astype(np.int64) % 12 + 1
        mday = (d - m.astype("datetime64[D]")).astype(np.int64) + 1
        # 0001-01-01 (ordinal 1) was a Monday.
        return cls(days, (days - 1) % 7, month, month * 100 + mday)

    def mask(self, spec: CalendarSpec) -> BoolArray:
        """Whether the day-level part (days, months, dates) of ``spec`` holds on each day;
        the same test as :meth:`CalendarSpec.mask` makes on a range's opening day."""
        ok = np.ones(self.ordinal.shape[0], dtype=bool)
        if spec.days is not None:
            ok &= _lookup(self.weekday, spec.days, 7)
        if spec.months is not None:
            ok &= _lookup(self.month, spec.months, 13)
        if spec.dates:
            hit = np.zeros(self.ordinal.shape[0], dtype=bool)
            for r in spec.dates:
                if not r.annual:
                    hit |= (self.ordinal >= r.start) & (self.ordinal <= r.end)
                elif r.start <= r.end:
                    hit |= (self.mmdd >= r.start) & (self.mmdd <= r.end)
                else:
                    hit |= (self.mmdd >= r.start) | (self.mmdd <= r.end)
            ok &= hit
        return ok


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _lookup(values: IntArray, members: frozenset[int], size: int) -> BoolArray:
    table = np.zeros(size, dtype=bool)
    table[list(members)] = True
    out: BoolArray = table[values]
    return out


def calendar_never_matches(spec: CalendarSpec) -> bool:
    """True when no day satisfies ``days``, ``months`` and ``dates`` together (for example
    ``months: feb`` with ``dates: 2026-07-01..2026-07-31``).

    Only a spec that combines ``dates`` with ``days`` or ``months`` can be empty this way (each
    part alone always has some day, which the parsers and other checks ensure), so the others
    cost nothing.
    """
    if not spec.dates or (spec.days is None and spec.months is None):
        return False
    if spec.time is not None and spec.time.empty:
        return False  # reported on its own
    return not bool(_DayTable.of(sample_days([spec])).mask(spec).any())


def cron_never_fires(expr: str) -> bool:
    """True when the cron expression has no fire time at all (``"0 0 31 2 *"``)."""
    # Imported here: only a policy with a cron window pays for croniter (and dateutil).
    from croniter import CroniterBadCronError, CroniterBadDateError, croniter

    try:
        croniter(expr, _datetime(2001, 1, 1)).get_next(_datetime)
    except CroniterBadDateError:
        return True
    except (CroniterBadCronError, ValueError, KeyError):
        return False  # not valid at all: reported by validation
    return False


@dataclass(frozen=True, slots=True)
class _Rect:
    """Day rows x minute columns of the (day, elementary minute interval) grid."""

    rows: IntArray
    cols: IntArray


class LayerCoverage:
    """The wall-clock times taken by a growing set of specs, for asking whether a later spec is
    wholly covered. Build it with every spec that will be asked about or added (that fixes the
    sample grid); the grid itself is only built when the first spec is added."""

    def __init__(self, specs: Sequence[CalendarSpec]) -> None:
        self._specs = list(specs)
        edges: set[int] = {0}
        for spec in self._specs:
            edges |= spec.edges_min()
        self._edges = np.asarray(sorted(edges), dtype=np.int64)
        self._tables: tuple[_DayTable, _DayTable] | None = None
        self._cov: BoolArray | None = None
        self._added: list[tuple[int, tuple[_Rect, ...]]] = []
        self._rect_cache: dict[CalendarSpec, tuple[_Rect, ...]] = {}

    def _grid(self) -> tuple[tuple[_DayTable, _DayTable], BoolArray]:
        if self._tables is None or self._cov is None:
            days = sample_days(self._specs)
            self._tables = (_DayTable.of(days), _DayTable.of(days - 1))
            self._cov = np.zeros((days.shape[0], self._edges.shape[0]), dtype=bool)
        return self._tables, self._cov

    def _rects(self, spec: CalendarSpec) -> tuple[_Rect, ...]:
        if spec not in self._rect_cache:
            self._rect_cache[spec] = self._make_rects(spec)
        return self._rect_cache[spec]

    def _make_rects(self, spec: CalendarSpec) -> tuple[_Rect, ...]:
        (today, yesterday), _ = self._grid()
        e = self._edges
        tr = spec.time
        if tr is not None and tr.empty:
            return ()
        same_day = np.nonzero(today.mask(spec))[0]
        if tr is None:
            return (_Rect(same_day, np.arange(e.shape[0])),)
        if not tr.crosses_midnight:
            cols = np.nonzero((e >= tr.start_min) & (e < tr.end_min))[0]
            return (_Rect(same_day, cols),)
        # After midnight the range belongs to the day it opened: rows where the day before holds.
        prev_day = np.nonzero(yesterday.mask(spec))[0]
        return (
            _Rect(same_day, np.nonzero(e >= tr.start_min)[0]),
            _Rect(prev_day, np.nonzero(e < tr.end_min)[0]),
        )

    def add(self, key: int, spec: CalendarSpec) -> None:
        """Mark the times of ``spec`` as taken, remembering ``key`` as their owner."""
        _, cov = self._grid()
        rects = self._rects(spec)
        for r in rects:
            if r.rows.shape[0] and r.cols.shape[0]:
                cov[np.ix_(r.rows, r.cols)] = True
        self._added.append((key, rects))

    @property
    def empty(self) -> bool:
        return not self._added

    def covering(self, spec: CalendarSpec) -> list[int] | None:
        """The keys of the added specs that together cover every time of ``spec``, or ``None``
        when some time of ``spec`` is left free (or ``spec`` has no time at all)."""
        if not self._added:
            return None
        _, cov = self._grid()
        rects = [r for r in self._rects(spec) if r.rows.shape[0] and r.cols.shape[0]]
        if not rects:
            return None
        for r in rects:
            if not bool(cov[np.ix_(r.rows, r.cols)].all()):
                return None
        owners: list[int] = []
        for key, theirs in self._added:
            if any(_overlap(a, b) for a in rects for b in theirs):
                owners.append(key)
        return owners


def _overlap(a: _Rect, b: _Rect) -> bool:
    return bool(
        np.intersect1d(a.cols, b.cols, assume_unique=True).shape[0]
        and np.intersect1d(a.rows, b.rows, assume_unique=True).shape[0]
    )
