"""Load/PV forecasts for the strategies that plan ahead.

A :class:`ForecastProvider` learns from what it observes (``observe``) and predicts the net load
(``load_w - pv_w``, [W]) for the slots of a price outlook (``forecast``). The live scheduler and the
simulator own a provider, feed it every tick and put its forecast into
``SiteState.forecast_net_load_w``; ``decide()`` itself stays pure.

The default, :class:`TimeOfWeekAverage`, averages the net load seen in each time-of-week bin (the
site's local time, 30-minute bins by default) over the last ``weeks`` weeks, and falls back to the
mean of everything seen (or a flat ``flat_w`` before anything has been seen) for bins it has no
data for.

``aggregate``: how a bin's past weeks are combined. ``mean`` (every reading weighs the same) or
``median`` (the median of the weeks' own means: one odd week, a spike or a day of zeros from a
meter fault moves it little). A week without readings in a bin is left out, never read as zero.

Two opt-in corrections, off by default (they change what the default forecasts):

- ``is_holiday`` (a date -> bool, from the ``holidays`` package: ``holidays: GB`` in the policy):
  a holiday is learnt and forecast as a Sunday, so a bank holiday neither forecasts like a working
  day nor spoils the working days' average;
- ``in_day_bounds`` ``(lo, hi)``: once today's readings run above or below what was forecast for
  them (at least two hours of them), the rest of today is scaled by measured / forecast, bounded
  to ``[lo, hi]``; tomorrow starts from the plain average again.

A reading that is not finite is a gap: nothing is learnt from it, and its bin is not read as zero.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import numpy as np

from gridpilot.arrays import FloatArray, IntArray

__all__ = [
    "Aggregate",
    "FlatForecast",
    "ForecastProvider",
    "TimeOfWeekAverage",
    "forecast_load_w",
    "forecast_slots",
    "observe_readings",
]

Aggregate = Literal["mean", "median"]


_WEEK_S = 7 * 86_400
# 1970-01-01 was a Thursday; shifting by 3 days makes bin 0 start on Monday 00:00.
_MONDAY_SHIFT_S = 3 * 86_400


@runtime_checkable
class ForecastProvider(Protocol):
    def observe(self, t: datetime, load_w: float, pv_w: float) -> None:
        """Learn from one reading taken at ``t`` (timezone-aware)."""
        ...

    def forecast(self, slot_start_s: IntArray) -> FloatArray:
        """Expected net load [W] for each slot starting at ``slot_start_s`` [UNIX s]."""
        ...


def observe_readings(
    provider: ForecastProvider,
    times_s: IntArray,
    load_w: FloatArray | Sequence[float],
    pv_w: FloatArray | Sequence[float],
) -> None:
    """Let ``provider`` learn the readings taken at ``times_s`` [UNIX s], in order: at once
    through its ``observe_many`` when it has one (the built-in load forecasts do), else one
    ``observe`` per reading. Either way it learns exactly what the readings one by one teach it."""
    many = getattr(provider, "observe_many", None)
    if many is not None:
        many(times_s, load_w, pv_w)
        return
    for t_s, load, pv in zip(_items(times_s), _items(load_w), _items(pv_w), strict=True):
        provider.observe(datetime.fromtimestamp(t_s, UTC), load, pv)


def forecast_slots(provider: ForecastProvider, first_s: int, step_s: int, n: int) -> FloatArray:
    """``provider.forecast`` of the ``n`` slots ``first_s + k * step_s`` [UNIX s]: through its
    ``forecast_grid`` when it has one (the time-of-week average does), which gives the same
    values without building the slots."""
    grid = getattr(provider, "forecast_grid", None)
    if grid is not None:
        out: FloatArray = grid(first_s, step_s, n)
        return out
    return provider.forecast(first_s + step_s * np.arange(n, dtype=np.int64))


def forecast_load_w(load_w: float, controllable_load_w: float | None) -> float:
    """The load a forecast learns: the house's load without a separately metered controllable
    load (an EV charger or heat pump runs when it is told or when its owner plugs in, not by
    the time of week). Never below 0: a controllable meter reading above the house meter (the
    two read at different instants) is not a negative house load. ``None``: nothing metered."""
    if controllable_load_w is None or not math.isfinite(controllable_load_w):
        return load_w
    return max(load_w - max(controllable_load_w, 0.0), 0.0)


class FlatForecast:
    """The same net load for every slot."""

    def __init__(self, net_load_w: float = 500.0) -> None:
        self.net_load_w = float(net_load_w)

    def observe(self, t: datetime, load_w: float, pv_w: float) -> None:
        return None

    def observe_many(self, times_s: IntArray | Sequence[int], load_w: FloatArray | Sequence[float],
                     pv_w: FloatArray | Sequence[float]) -> None:
        return None

    def forecast(self, slot_start_s: IntArray) -> FloatArray:
        return np.full(np.asarray(slot_start_s).shape[0], self.net_load_w, dtype=np.float64)


class TimeOfWeekAverage:
    """Average net load per local time-of-week bin over the last ``weeks`` weeks.

    Each bin keeps one running sum per week (a ring of ``weeks`` weeks), so old behaviour drops out
    after ``weeks`` weeks. Observations are weighted equally, whatever the tick length.

    :meth:`observe_many` learns a batch of readings exactly as :meth:`observe` one after another
    would; :meth:`forecast` reads a per-bin table of means that a reading only marks stale for its
    own bin, so a forecast is one lookup however long the history.
    """

    def __init__(
        self,
        tz: ZoneInfo | str = "UTC",
        *,
        bin_s: int = 1800,
        weeks: int = 4,
        flat_w: float = 500.0,
        is_holiday: Callable[[date], bool] | None = None,
        in_day_bounds: tuple[float, float] | None = None,
        aggregate: Aggregate = "mean",
    ) -> None:
        if aggregate not in ("mean", "median"):
            raise ValueError("aggregate must be mean or median")
        if bin_s <= 0 or _WEEK_S % bin_s:
            raise ValueError("bin_s must divide a week (e.g. 900, 1800, 3600)")
        if weeks < 1:
            raise ValueError("weeks must be at least 1")
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.bin_s = bin_s
        self.weeks = weeks
        self.flat_w = float(flat_w)
        self._nbins = _WEEK_S // bin_s
        # Plain lists, also for the aggregates over all rows: a reading touches one item of each,
        # and a list item costs a fraction of a numpy scalar's update.
        self._sum: list[list[float]] = [[0.0] * self._nbins for _ in range(weeks)]
        self._count: list[list[float]] = [[0.0] * self._nbins for _ in range(weeks)]
        self._week_of_row: deque[int] = deque([-1] * weeks, maxlen=weeks)
        self._rows: dict[int, int] = {}
        self._offsets: dict[int, int] = {}
        self._total = 0.0
        self._agg_sum = [0.0] * self._nbins
        self._agg_count = [0.0] * self._nbins
        # What forecast() reads: each bin's mean and whether it has no reading, brought up to
        # date for the bins read since (``_stale``; ``None``: every bin) and only then.
        self._means = np.zeros(self._nbins, dtype=np.float64)
        self._empty = np.ones(self._nbins, dtype=bool)
        # The aggregates as arrays too, for the mean of everything seen that empty bins take.
        self._sums = np.zeros(self._nbins, dtype=np.float64)
        self._counts = np.zeros(self._nbins, dtype=np.float64)
        self._n_empty = self._nbins
        self._stale: set[int] | None = set()
        # The means repeated over as many weeks as a grid of slots spans (forecast_grid reads
        # them as a strided slice), kept up to date with the means; empty until first asked.
        self._means_ext = np.zeros(0, dtype=np.float64)
        self._hour = -1
        self._hour_off = 0
        self.is_holiday = is_holiday
        self._holiday_days: dict[int, bool] = {}
        self.in_day_bounds = in_day_bounds
        self.aggregate = aggregate
        # The median per bin, kept until a reading of that bin (or a new week) changes it: a
        # tick touches one bin, so a forecast recomputes one median, not a week of them.
        self._medians: dict[int, float] = {}
        self._today = -1
        self._today_measured = 0.0
        self._today_expected = 0.0
        self._today_first = 0
        self._today_last = 0

    def _holiday(self, local_day: int) -> bool:
        """Whether local day number ``local_day`` (days since 1970-01-01, site time) is one."""
        assert self.is_holiday is not None
        found = self._holiday_days.get(local_day)
        if found is None:
            found = self._holiday_days[local_day] = bool(
                self.is_holiday(date.fromordinal(719_163 + local_day)))
        return found

    def _offset_s(self, t_s: int) -> int:
        # The UTC offset only changes at whole hours, so one lookup per UTC hour is enough.
        hour = t_s // 3600
        off = self._offsets.get(hour)
        if off is None:
            delta = datetime.fromtimestamp(hour * 3600, UTC).astimezone(self.tz).utcoffset()
            off = int(delta.total_seconds()) if delta is not None else 0
            if len(self._offsets) > 100_000:
                self._offsets.clear()
            self._offsets[hour] = off
        return off

    def _local_s(self, t_s: int) -> int:
        return t_s + self._offset_s(t_s) + _MONDAY_SHIFT_S

    def observe(self, t: datetime, load_w: float, pv_w: float) -> None:
        if t.tzinfo is None:
            raise ValueError("observe needs a timezone-aware time")
        if self.is_holiday is not None or self.in_day_bounds is not None:
            self._learn((int(t.timestamp()),), (float(load_w),), (float(pv_w),))
        else:
            self._learn_one(int(t.timestamp()), float(load_w) - float(pv_w))

    def _learn_one(self, t_s: int, net: float) -> None:
        """_learn's loop for one reading without corrections, spelt out: the live scheduler
        observes one reading per tick, and so does a replay whose ticks are its price slots;
        the loop's set-up would double their cost."""
        if not math.isfinite(net):
            return
        hour = t_s // 3600
        if hour != self._hour:
            self._hour_off = self._offset_s(t_s)
            self._hour = hour
        local = t_s + self._hour_off + _MONDAY_SHIFT_S
        week = local // _WEEK_S
        row = self._rows.get(week)
        if row is None:
            row = self._new_row(week)
        b = (local % _WEEK_S) // self.bin_s
        self._sum[row][b] += net
        self._count[row][b] += 1.0
        self._agg_sum[b] += net
        self._agg_count[b] += 1.0
        self._total += 1.0
        stale = self._stale
        if stale is not None:
            stale.add(b)
        if self._medians:
            self._medians.pop(b, None)

    def observe_many(
        self,
        times_s: IntArray | Sequence[int],
        load_w: FloatArray | Sequence[float],
        pv_w: FloatArray | Sequence[float],
    ) -> None:
        """Learn the readings taken at ``times_s`` [UNIX s], in that order: exactly what
        :meth:`observe` would learn from each in turn, at a fraction of the cost per reading."""
        if type(self).observe is not TimeOfWeekAverage.observe:
            # A subclass that watches each reading still sees every one.
            for t_s, load, pv in zip(_items(times_s), _items(load_w), _items(pv_w), strict=True):
                self.observe(datetime.fromtimestamp(t_s, UTC), load, pv)
            return
        times, loads, pvs = _ints(times_s), _floats(load_w), _floats(pv_w)
        if not len(times) == len(loads) == len(pvs):
            raise ValueError("observe_many needs as many loads and PV readings as times")
        if len(times) == 1 and self.is_holiday is None and self.in_day_bounds is None:
            self._learn_one(times[0], loads[0] - pvs[0])
        else:
            self._learn(times, loads, pvs)

    def _learn(self, times: Sequence[int], loads: Sequence[float], pvs: Sequence[float]) -> None:
        """Learn readings already made Python ints and floats (as observe would make them)."""
        corrections = self.is_holiday is not None or self.in_day_bounds is not None
        sums, counts = self._sum, self._count
        agg_sum, agg_count = self._agg_sum, self._agg_count
        rows = self._rows
        bin_s = self.bin_s
        hour_seen, off = self._hour, self._hour_off
        week_seen = None
        row_sum: list[float] = []
        row_count: list[float] = []
        touched: list[int] = []
        last_b = -1
        learnt = 0
        for t_s, load, pv in zip(times, loads, pvs, strict=True):
            net = load - pv
            if net - net != 0.0:  # not finite (inf - inf is nan), in the loop without a call
                continue
            hour = t_s // 3600
            if hour != hour_seen:
                off = self._offset_s(t_s)
                hour_seen = hour
            local = t_s + off + _MONDAY_SHIFT_S
            week = local // _WEEK_S
            if week != week_seen:
                row = rows.get(week)
                if row is None:
                    row = self._new_row(week)
                row_sum, row_count = sums[row], counts[row]
                week_seen = week
            b = (local % _WEEK_S) // bin_s
            if corrections:
                b = self._corrections(local, b, net)
            row_sum[b] += net
            row_count[b] += 1.0
            agg_sum[b] += net
            agg_count[b] += 1.0
            learnt += 1
            if b != last_b:  # a batch's readings mostly share one bin
                touched.append(b)
                last_b = b
            if corrections:
                self._after_reading(b)
        self._hour, self._hour_off = hour_seen, off
        # Counts are whole numbers: adding them after a row dropped out gives the same total.
        self._total += learnt
        if touched and not corrections:
            stale = self._stale
            if stale is not None:
                stale.update(touched)
            if self._medians:
                for b in touched:
                    self._medians.pop(b, None)

    def _after_reading(self, b: int) -> None:
        # With corrections on, a reading reads the bins' values: keep them current per reading.
        if self._stale is not None:
            self._stale.add(b)
        if self._medians:
            self._medians.pop(b, None)

    def _corrections(self, local: int, b: int, net: float) -> int:
        day = (local - _MONDAY_SHIFT_S) // 86_400
        if self.is_holiday is not None and self._holiday(day):
            b = (6 * 86_400 + local % 86_400) // self.bin_s  # Sunday's bin
        if self.in_day_bounds is not None:
            if day != self._today:
                self._today, self._today_measured, self._today_expected = day, 0.0, 0.0
                self._today_first = local
            self._today_last = local
            if self._agg_count[b] > 0:
                self._today_expected += self._bin_value(b)
                self._today_measured += net
        return b

    def _new_row(self, week: int) -> int:
        # Reuse the row of the oldest week.
        oldest = min(range(self.weeks), key=lambda r: self._week_of_row[r])
        old_week = self._week_of_row[oldest]
        self._rows.pop(old_week, None)
        self._week_of_row[oldest] = week
        self._rows[week] = oldest
        self._total -= sum(self._count[oldest])
        agg_sum, agg_count = self._agg_sum, self._agg_count
        for b, (v, c) in enumerate(zip(self._sum[oldest], self._count[oldest], strict=True)):
            if c:
                agg_sum[b] -= v
                agg_count[b] -= c
        self._sum[oldest] = [0.0] * self._nbins
        self._count[oldest] = [0.0] * self._nbins
        self._medians.clear()
        self._stale = None
        return oldest

    def _median(self, b: int) -> float:
        """The median over the weeks with readings in bin ``b`` of each week's mean (NaN: none)."""
        found = self._medians.get(b)
        if found is None:
            means = [row_sum[b] / row_count[b]
                     for row_sum, row_count in zip(self._sum, self._count, strict=True)
                     if row_count[b] > 0]
            found = self._medians[b] = statistics.median(means) if means else math.nan
        return found

    def _bin_value(self, b: int) -> float:
        if self.aggregate == "median":
            return self._median(b)
        return self._agg_sum[b] / self._agg_count[b]

    def _refresh(self) -> None:
        """Bring the table of means and empty bins up to date with the aggregates."""
        stale = self._stale
        if stale is None:
            self._sums = np.asarray(self._agg_sum, dtype=np.float64)
            self._counts = counts = np.asarray(self._agg_count, dtype=np.float64)
            self._means = self._sums / np.maximum(counts, 1.0)
            self._empty = counts <= 0
            self._n_empty = int(np.count_nonzero(self._empty))
            self._stale = set()
            self._means_ext = np.zeros(0, dtype=np.float64)
            return
        if not stale:
            return
        # Between full refreshes (a week dropping out) counts only grow, so a stale bin has
        # readings and an empty bin can only fill. The arrays of sums and counts serve the
        # mean of everything seen that empty bins take: kept while there are empty bins (a
        # full refresh rebuilds them), left alone once there are none.
        means, ext, nbins = self._means, self._means_ext, self._nbins
        n_ext = ext.shape[0]
        agg_sum, agg_count = self._agg_sum, self._agg_count
        for b in stale:
            c = agg_count[b]
            v = agg_sum[b]
            m = v / c
            means[b] = m
            for r in range(b, n_ext, nbins):  # items: cheaper than a strided slice here
                ext[r] = m
            if self._n_empty:
                self._sums[b] = v
                self._counts[b] = c
                if self._empty[b]:
                    self._empty[b] = False
                    self._n_empty -= 1
        stale.clear()

    def forecast(self, slot_start_s: IntArray) -> FloatArray:
        starts = np.asarray(slot_start_s, dtype=np.int64)
        if self._total <= 0:
            return np.full(starts.shape[0], self.flat_w, dtype=np.float64)
        if starts.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        first = self._offset_s(int(starts[0]))
        if first == self._offset_s(int(starts[-1])):
            local = starts + (first + _MONDAY_SHIFT_S)  # no clock change inside the horizon
        else:
            local = starts + np.fromiter(
                (self._offset_s(int(s)) for s in starts.tolist()), dtype=np.int64,
                count=starts.shape[0],
            ) + _MONDAY_SHIFT_S
        # bin_s divides a week, so the bin of the week is the bin since the epoch, modulo.
        bins = (local // self.bin_s) % self._nbins
        days: IntArray | None = None
        if self.is_holiday is not None:
            days = (local - _MONDAY_SHIFT_S) // 86_400
            holiday = np.fromiter((self._holiday(int(d)) for d in days.tolist()), dtype=bool,
                                  count=days.shape[0])
            if holiday.any():
                bins = np.where(holiday, (6 * 86_400 + local % 86_400) // self.bin_s, bins)
        self._refresh()
        out: FloatArray
        if self.aggregate == "median":
            unique, where = np.unique(bins, return_inverse=True)
            values = np.fromiter((self._median(int(b)) for b in unique.tolist()),
                                 dtype=np.float64, count=unique.shape[0])
            out = values[where]
        else:
            out = self._means[bins]
        if self._n_empty:
            empty = self._empty[bins]
            if empty.any():
                # Bins never seen take the mean of everything seen.
                out[empty] = float(self._sums.sum() / self._counts.sum())
        ratio = self.in_day_ratio()
        if ratio != 1.0:
            if days is None:
                days = (local - _MONDAY_SHIFT_S) // 86_400
            out = np.where(days == self._today, out * ratio, out)
        return out

    def forecast_grid(self, first_s: int, step_s: int, n: int) -> FloatArray:
        """:meth:`forecast` of the ``n`` slots ``first_s + k * step_s`` [UNIX s], the same
        values without the slots: a slice of the means where the grid steps whole bins, no
        clock change, holiday, empty bin or in-day scaling is in the way (else the slots are
        built and forecast as any)."""
        if (step_s <= 0 or step_s % self.bin_s or n <= 0 or self._total <= 0
                or self.aggregate != "mean" or self.is_holiday is not None
                or self.in_day_ratio() != 1.0):
            return self.forecast(first_s + step_s * np.arange(max(n, 0), dtype=np.int64))
        off = self._offset_s(first_s)
        self._refresh()
        if self._n_empty or off != self._offset_s(first_s + step_s * (n - 1)):
            return self.forecast(first_s + step_s * np.arange(n, dtype=np.int64))
        nbins = self._nbins
        k = step_s // self.bin_s
        b0 = ((first_s + off + _MONDAY_SHIFT_S) // self.bin_s) % nbins
        end = b0 + k * (n - 1) + 1
        if self._means_ext.shape[0] < end:
            self._means_ext = np.tile(self._means, -(-end // nbins))
        return self._means_ext[b0:end:k].copy()

    def in_day_ratio(self) -> float:
        """Today's measured over forecast so far, bounded; 1 when off, early or not positive."""
        if self.in_day_bounds is None or self._today_last - self._today_first < 7200:
            return 1.0
        if self._today_expected <= 0 or self._today_measured <= 0:
            return 1.0  # a ratio of net loads that cross zero says nothing
        lo, hi = self.in_day_bounds
        return min(max(self._today_measured / self._today_expected, lo), hi)


def _ints(values: IntArray | Sequence[int]) -> list[int]:
    """Times as the Python ints ``int()`` makes of them, at once for an integer array."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        out: list[int] = values.tolist()
        return out
    return [int(t) for t in _items(values)]


def _floats(values: FloatArray | Sequence[float]) -> list[float]:
    """Readings as the Python floats ``float()`` makes of them, at once for an array."""
    if isinstance(values, np.ndarray):
        # A float array's items are Python floats already (float32 ones widen exactly).
        out: list[float] = (values if values.dtype.kind == "f"
                            else values.astype(np.float64)).tolist()
        return out
    return [float(v) for v in values]


def _items(values: IntArray | FloatArray | Sequence[int] | Sequence[float]) -> Sequence[Any]:
    """Python numbers from an array or a sequence: iterating a numpy array makes a numpy
    scalar per item, slower to compute with than the list numpy makes at once."""
    if isinstance(values, np.ndarray):
        out: list[Any] = values.tolist()
        return out
    return values if isinstance(values, list | tuple) else list(values)
