"""PV forecasts built only from PV already measured: the fallback of a live provider, and its
whole forecast in a backtest, where no service is asked.

Each form reads :class:`PvHistory`, which holds nothing but what ``observe`` was given, so a
forecast made after observing up to ``t`` depends on no reading after ``t`` (the perturbation
test checks it):

- ``persistence``: each slot repeats the PV measured in the same slot on the latest day already
  seen (yesterday's profile, or the one before while today's is not measured yet). Assumes the
  weather stays as it was.
- ``clear_sky``: the arrays' clear-sky power (pvlib, Ineichen) scaled by a clearness measured
  so far: half that of the last 24 hours, half that of the last week (measured energy over
  clear-sky energy, each bounded to [0, 1.1]). Assumes tomorrow's sky is like recent ones,
  tilted towards yesterday's; keeps the sun's path of the day forecast (later sunrise, lower
  noon in autumn), which persistence misses.
- ``time_of_week``: the average PV per time-of-week bin over recent weeks, as the net-load
  ``time_of_week`` forecast reads it.
- ``forecast_file``: a recorded file of past forecasts, each used only from its issue time
  (:mod:`~gridpilot.forecasts.forecast_file`); ``clear_sky`` for the slots it does not cover.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Literal

import numpy as np

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.forecasts.pv_model import PvArray, Site, clear_sky_weather, pv_ac_w

__all__ = ["ClearSkyPv", "PvHistory", "ReplayForm", "clearness", "persistence_pv"]

ReplayForm = Literal["persistence", "clear_sky", "time_of_week", "forecast_file"]

_DAY_S = 86_400
_MAX_CLEARNESS = 1.1


class PvHistory:
    """Measured PV per UTC bin of ``bin_s`` seconds, for the last ``days`` days observed."""

    def __init__(self, bin_s: int = 1800, days: int = 7) -> None:
        self.bin_s = bin_s
        self.days = days
        self._sum: dict[int, float] = {}
        self._count: dict[int, int] = {}
        self.last_s: int | None = None

    def observe(self, t_s: int, pv_w: float) -> None:
        if not math.isfinite(pv_w):
            return
        b = t_s // self.bin_s
        self._sum[b] = self._sum.get(b, 0.0) + max(pv_w, 0.0)
        self._count[b] = self._count.get(b, 0) + 1
        self.last_s = t_s if self.last_s is None else max(self.last_s, t_s)
        if len(self._sum) > (self.days + 1) * _DAY_S // self.bin_s:
            oldest = (self.last_s - self.days * _DAY_S) // self.bin_s
            for old in [k for k in self._sum if k < oldest]:
                del self._sum[old], self._count[old]

    def mean_w(self, b: int) -> float | None:
        count = self._count.get(b)
        return self._sum[b] / count if count else None

    def last_bins(self, days: int = 1) -> list[int]:
        """The bins seen in the ``days`` days ending with the last complete bin observed."""
        if self.last_s is None:
            return []
        last = self.last_s // self.bin_s - 1
        span = days * _DAY_S // self.bin_s
        return [b for b in range(last - span + 1, last + 1) if b in self._count]


def persistence_pv(history: PvHistory, slot_start_s: IntArray) -> FloatArray | None:
    """Yesterday's measured PV per slot (``None`` before a day was measured)."""
    if history.last_s is None:
        return None
    complete = history.last_s // history.bin_s - 1
    out = np.zeros(slot_start_s.shape[0], dtype=np.float64)
    found = False
    for i, s in enumerate(slot_start_s.tolist()):
        b = s // history.bin_s
        # The latest day whose same bin is already complete: never a bin after the last seen.
        days_back = max(1, -((complete - b) // (_DAY_S // history.bin_s)))
        value = history.mean_w(b - days_back * (_DAY_S // history.bin_s))
        if value is not None:
            out[i] = value
            found = True
    return out if found else None


class ClearSkyPv:
    """Clear-sky AC power of the arrays per UTC bin, computed a month of bins at a time (pvlib is
    called a dozen times for a year's backtest, not once per slot)."""

    _BLOCK_DAYS = 32

    def __init__(self, arrays: tuple[PvArray, ...], site: Site, bin_s: int) -> None:
        self.arrays = arrays
        self.site = site
        self.bin_s = bin_s
        self._blocks: OrderedDict[int, FloatArray] = OrderedDict()

    def bins_w(self, bins: IntArray) -> FloatArray:
        per_block = self._BLOCK_DAYS * _DAY_S // self.bin_s
        out = np.empty(bins.shape[0], dtype=np.float64)
        blocks = bins // per_block
        for block in np.unique(blocks).tolist():
            values = self._block(int(block), per_block)
            sel = blocks == block
            out[sel] = values[bins[sel] - block * per_block]
        return out

    def _block(self, block: int, per_block: int) -> FloatArray:
        found = self._blocks.get(block)
        if found is None:
            first = block * per_block
            end_s = (np.arange(first, first + per_block, dtype=np.int64) + 1) * self.bin_s
            found = pv_ac_w(self.arrays, self.site, clear_sky_weather(self.site, end_s,
                                                                        self.bin_s))
            self._blocks[block] = found
            if len(self._blocks) > 4:
                self._blocks.popitem(last=False)
        return found


def _clearness(history: PvHistory, clear: ClearSkyPv, days: int) -> float | None:
    bins = history.last_bins(days)
    if not bins:
        return None
    expected = float(clear.bins_w(np.asarray(bins, dtype=np.int64)).sum())
    if expected <= 0:
        return None
    measured = sum(history.mean_w(b) or 0.0 for b in bins)
    return min(max(measured / expected, 0.0), _MAX_CLEARNESS)


def clearness(history: PvHistory, clear: ClearSkyPv) -> float | None:
    """Half yesterday's clearness, half the week's: a day's sky is a noisy guess of the next
    one, and the week's pulls it towards the season's."""
    day = _clearness(history, clear, 1)
    week = _clearness(history, clear, history.days)
    if day is None or week is None:
        return day
    return 0.5 * day + 0.5 * week
