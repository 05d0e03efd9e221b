"""Energy-conserving resampling of interval data to the simulation step.

Every column of a :class:`TimeSeries` is an average over its interval (power in W, price per kWh,
SOC in %), so the energy of an interval is ``value * interval_s``. Resampling splits the source
intervals on the grid of ``gcd(source, target)`` (each piece keeps the source's average) and
averages those pieces over each target interval. The energy of every target interval is therefore
exactly the energy the source had in that span, upsampling or downsampling alike.

Gaps (``NaN``) are handled by an explicit :class:`GapPolicy`: fail, or fill with a stated method
before resampling; the fill is written into the load report.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from gridpilot.arrays import FloatArray
from gridpilot.errors import DataError
from gridpilot.recorded.base import TimeSeries, iso_utc
from gridpilot.timeutil import parse_duration_s

__all__ = ["ALLOWED_STEPS_S", "GapPolicy", "fill_gaps", "parse_step", "resample"]

ALLOWED_STEPS_S = (60, 300, 900, 1800, 3600)

FillMethod = Literal["fail", "hold", "linear", "zero"]


@dataclass(frozen=True)
class GapPolicy:
    """``fail``: a gap is an error; ``hold``: repeat the last value before the gap (the first
    value after it at the very start); ``linear``: interpolate across the gap; ``zero``: treat the
    gap as zero. ``max_gap_s`` refuses to fill gaps longer than this (``None`` = any length)."""

    method: FillMethod = "fail"
    max_gap_s: float | None = None


def parse_step(text: str) -> int:
    """``"5m"``, ``"1h"``, ``"300s"`` or ``"300"`` -> seconds, one of :data:`ALLOWED_STEPS_S`
    (read as every duration is, by :func:`gridpilot.timeutil.parse_duration_s`)."""
    try:
        seconds = parse_duration_s(text)
    except ValueError:
        raise DataError(f"step {text!r}: use e.g. 5m, 30m or 1h") from None
    if seconds not in ALLOWED_STEPS_S:
        raise DataError(f"step {text!r}: the simulation step must be 1m, 5m, 15m, 30m or 1h")
    return int(seconds)


def fill_gaps(series: TimeSeries, policy: GapPolicy) -> TimeSeries:
    """A copy of ``series`` with ``NaN`` filled by ``policy`` (or :class:`DataError`)."""
    cols: dict[str, FloatArray] = {}
    filled = 0
    for name, values in series.columns.items():
        missing = np.isnan(values)
        if not missing.any():
            cols[name] = values
            continue
        first = int(np.argmax(missing))
        run = _longest_run(missing) * series.interval_s
        if policy.method == "fail":
            cell = series.report.cell_note(name, int(series.start_s[first]))
            raise DataError(
                f"{series.report.source}: column {name!r} has {int(missing.sum())} missing "
                f"interval(s), the first at {iso_utc(int(series.start_s[first]))}"
                f"{f' (empty in the file at {cell})' if cell else ''}; choose a gap "
                "policy (--fill hold|linear|zero) or repair the file"
            )
        if policy.max_gap_s is not None and run > policy.max_gap_s:
            raise DataError(
                f"{series.report.source}: column {name!r} has a gap of {run} s, longer than the "
                f"{policy.max_gap_s:g} s the gap policy may fill"
            )
        if missing.all():
            raise DataError(f"{series.report.source}: column {name!r} has no values at all")
        cols[name] = _fill(values, missing, policy.method)
        filled += int(missing.sum())
    report = series.report
    if filled:
        report = report.with_repair(f"filled {filled} missing value(s) by {policy.method!r}")
    return TimeSeries(series.start_s, series.interval_s, cols, report)


def _longest_run(mask: np.ndarray) -> int:
    m = mask.astype(np.int8)
    edges = np.diff(np.concatenate(([0], m, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return int((ends - starts).max()) if starts.size else 0


def _fill(values: FloatArray, missing: np.ndarray, method: str) -> FloatArray:
    x = np.arange(values.shape[0])
    good = ~missing
    if method == "zero":
        return np.where(missing, 0.0, values)
    if method == "linear":
        return np.asarray(np.interp(x, x[good], values[good]), dtype=np.float64)
    # hold: index of the last good value at or before each position
    last = np.where(good, x, -1)
    np.maximum.accumulate(last, out=last)
    first_good = int(np.argmax(good))
    last[last < 0] = first_good
    return values[last]


def resample(series: TimeSeries, step_s: int, *, gaps: GapPolicy | None = None) -> TimeSeries:
    """``series`` on a ``step_s`` grid, conserving each column's energy (see the module doc).

    The result starts at the first step boundary (UTC multiple of ``step_s``) at or after the
    series' start and ends at the last boundary at or before its end, so only whole steps remain.
    """
    if step_s <= 0:
        raise DataError("the resampling step must be positive")
    series = fill_gaps(series, gaps or GapPolicy())
    src = series.interval_s
    if src == step_s and int(series.start_s[0]) % step_s == 0:
        return series
    g = math.gcd(src, step_s)
    rep = src // g
    t0 = int(series.start_s[0])
    end = series.end_s
    first = -(-t0 // step_s) * step_s
    last = (end // step_s) * step_s
    n = (last - first) // step_s
    if n <= 0:
        raise DataError(
            f"{series.report.source}: the data spans less than one {step_s} s step"
        )
    lo = (first - t0) // g
    per = step_s // g
    cols: dict[str, FloatArray] = {}
    for name, values in series.columns.items():
        fine = np.repeat(values, rep)[lo : lo + n * per]
        cols[name] = fine.reshape(n, per).mean(axis=1)
    report = series.report
    if src != step_s:
        report = report.with_repair(f"resampled from {src} s to {step_s} s (energy conserved)")
    start_s = first + np.arange(n, dtype=np.int64) * step_s
    return TimeSeries(start_s, step_s, cols, report)
