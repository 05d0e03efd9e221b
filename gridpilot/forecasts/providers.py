"""Load/PV forecasts for the strategies that plan ahead.

A :class:`ForecastProvider` learns from what it observes (``observe``) and predicts the net load
(``load_w - pv_w``, [W]) for the slots of a price outlook (``forecast``). The live scheduler and the
simulator own a provider, feed it every tick and put its forecast into
``SiteState.forecast_net_load_w``; ``decide()`` itself stays pure.

The default, :class:`TimeOfWeekAverage`, averages the net load seen in each time-of-week bin (the
site's local time, 30-minute bins by default) over the last ``weeks`` weeks, and falls back to the
mean of everything seen (or a flat ``flat_w`` before anything has been seen) for bins it has no
data for.
"""

from __future__ import annotations

import math
from collections import deque
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

__all__ = ["FlatForecast", "ForecastProvider", "TimeOfWeekAverage"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

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


class FlatForecast:
    """The same net load for every slot."""

    def __init__(self, net_load_w: float = 500.0) -> None:
        self.net_load_w = float(net_load_w)

    def observe(self, t: datetime, load_w: float, pv_w: float) -> None:
        return None

    def forecast(self, slot_start_s: IntArray) -> FloatArray:
        return np.full(np.asarray(slot_start_s).shape[0], self.net_load_w, dtype=np.float64)


class TimeOfWeekAverage:
    """Average net load per local time-of-week bin over the last ``weeks`` weeks.

    Each bin keeps one running sum per week (a ring of ``weeks`` weeks), so old behaviour drops out
    after ``weeks`` weeks. Observations are weighted equally, whatever the tick length.
    """

    def __init__(
        self,
        tz: ZoneInfo | str = "UTC",
        *,
        bin_s: int = 1800,
        weeks: int = 4,
        flat_w: float = 500.0,
    ) -> None:
        if bin_s <= 0 or _WEEK_S % bin_s:
            raise ValueError("bin_s must divide a week (e.g. 900, 1800, 3600)")
        if weeks < 1:
            raise ValueError("weeks must be at least 1")
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        self.bin_s = bin_s
        self.weeks = weeks
        self.flat_w = float(flat_w)
        self._nbins = _WEEK_S // bin_s
        # Plain lists per row: observe() runs on every tick and list arithmetic beats numpy
        # scalars there.
        self._sum: list[list[float]] = [[0.0] * self._nbins for _ in range(weeks)]
        self._count: list[list[float]] = [[0.0] * self._nbins for _ in range(weeks)]
        self._week_of_row: deque[int] = deque([-1] * weeks, maxlen=weeks)
        self._rows: dict[int, int] = {}
        self._offsets: dict[int, int] = {}
        self._total = 0.0
        # The aggregates over all rows are numpy arrays: forecast() reads them as they are, and
        # an item update costs observe() less than rebuilding them for every forecast.
        self._agg_sum = np.zeros(self._nbins, dtype=np.float64)
        self._agg_count = np.zeros(self._nbins, dtype=np.float64)
        self._hour = -1
        self._hour_off = 0

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
        net = float(load_w) - float(pv_w)
        if not math.isfinite(net):
            return
        t_s = int(t.timestamp())
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

    def _new_row(self, week: int) -> int:
        # Reuse the row of the oldest week.
        oldest = min(range(self.weeks), key=lambda r: self._week_of_row[r])
        old_week = self._week_of_row[oldest]
        self._rows.pop(old_week, None)
        self._week_of_row[oldest] = week
        self._rows[week] = oldest
        self._total -= sum(self._count[oldest])
        for b, (v, c) in enumerate(zip(self._sum[oldest], self._count[oldest], strict=True)):
            if c:
                self._agg_sum[b] -= v
                self._agg_count[b] -= c
        self._sum[oldest] = [0.0] * self._nbins
        self._count[oldest] = [0.0] * self._nbins
        return oldest

    def forecast(self, slot_start_s: IntArray) -> FloatArray:
        starts = np.asarray(slot_start_s, dtype=np.int64)
        if self._total <= 0:
            return np.full(starts.shape[0], self.flat_w, dtype=np.float64)
        sums, counts = self._agg_sum, self._agg_count
        if starts.shape[0] == 0:
            return np.zeros(0, dtype=np.float64)
        first = self._offset_s(int(starts[0]))
        if first == self._offset_s(int(starts[-1])):
            offsets: IntArray | int = first  # no clock change inside the horizon
        else:
            offsets = np.fromiter(
                (self._offset_s(int(s)) for s in starts), dtype=np.int64, count=starts.shape[0]
            )
        bins = ((starts + offsets + _MONDAY_SHIFT_S) % _WEEK_S) // self.bin_s
        c = counts[bins]
        out: FloatArray = sums[bins] / np.maximum(c, 1.0)
        empty = c <= 0
        if empty.any():
            # Bins never seen take the mean of everything seen.
            out[empty] = float(sums.sum() / counts.sum())
        return out
