"""The ``forecast_file`` replay form: a recorded file of past PV forecasts, each row a value as it
was issued, used only from its issue time.

The file is CSV with a header and three columns::

    issued_at,period_start,pv_w
    2018-06-01T06:00:00+00:00,2018-06-01T06:00:00+00:00,0
    2018-06-01T06:00:00+00:00,2018-06-01T06:30:00+00:00,310.5

- ``issued_at``: when the forecast was issued (ISO 8601 with an offset or ``Z``): it is known
  from then on, never before. Rows sharing an ``issued_at`` are one issue.
- ``period_start``: the start of the period the value is for (same form). A period lasts until
  the issue's next period (the issue's usual step; one ``bin_s`` for an issue of one row).
- ``pv_w``: the forecast AC power of the whole site over that period [W], ``>= 0``.

At a time ``now`` the forecast of a slot is the latest issue with ``issued_at <= now`` covering
the slot's middle; a slot that issue does not cover is not taken from an older issue (an older
one is a worse guess than the clear-sky fallback). The issue's age is not checked against
``max_age_s``: a file of day-ahead forecasts issued once a day is meant to be used all day.
"""

from __future__ import annotations

import bisect
import csv
import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from gridpilot.arrays import FloatArray, IntArray

__all__ = ["ForecastFileError", "RecordedForecasts", "load_forecast_file"]


_COLUMNS = ("issued_at", "period_start", "pv_w")
_MAX_ROWS = 5_000_000  # about 5 years of 48-hour issues every hour at 30 minutes


class ForecastFileError(ValueError):
    """A forecast file that cannot be used; the message says where (file:line) and what to do.

    A ValueError so that a settings validator that loads the file reports it against the
    policy's ``forecast_file`` key."""


@dataclass(frozen=True, slots=True)
class _Issue:
    start_s: IntArray
    step_s: int
    pv_w: FloatArray


class RecordedForecasts:
    """The issues of one forecast file, by issue time."""

    def __init__(self, issues: dict[int, _Issue]) -> None:
        self._issued_s = sorted(issues)
        self._issues = issues

    def __len__(self) -> int:
        return len(self._issued_s)

    def pv_w(self, now_s: int, slot_start_s: IntArray, slot_s: int) -> FloatArray:
        """The PV forecast [W] per slot as known at ``now_s``; NaN where none is known."""
        out = np.full(slot_start_s.shape[0], np.nan)
        k = bisect.bisect_right(self._issued_s, now_s) - 1
        if k < 0:
            return out  # nothing issued yet: the future's issues are never read
        issue = self._issues[self._issued_s[k]]
        mid = slot_start_s + slot_s // 2
        idx = np.searchsorted(issue.start_s, mid, side="right") - 1
        safe = np.clip(idx, 0, issue.start_s.shape[0] - 1)
        inside = (idx >= 0) & (mid < issue.start_s[safe] + issue.step_s)
        out[inside] = issue.pv_w[safe[inside]]
        return out


def _time(text: str, where: str, column: str) -> int:
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ForecastFileError(
            f"{where}: {column} {text!r} is not an ISO 8601 time; write e.g. "
            "2018-06-01T06:00:00+00:00") from None
    if t.tzinfo is None:
        raise ForecastFileError(
            f"{where}: {column} {text!r} has no UTC offset; add one (+00:00 or Z) so the time "
            "is not ambiguous") from None
    return int(t.timestamp())


def _parse(path: Path, default_step_s: int) -> RecordedForecasts:
    rows: dict[int, dict[int, float]] = {}
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise ForecastFileError(
            f"{path}: cannot be read ({exc.strerror or exc}); check forecast_file (a relative "
            "path is read from the policy's folder)") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader, [])]
            if tuple(header) != _COLUMNS:
                raise ForecastFileError(
                    f"{path}:1: the header is {','.join(header) or 'empty'}; it must be "
                    f"{','.join(_COLUMNS)}")
            count = 0
            for row in reader:
                where = f"{path}:{reader.line_num}"
                if not row or all(not c.strip() for c in row):
                    continue
                if len(row) != 3:
                    raise ForecastFileError(f"{where}: {len(row)} columns; each row needs 3 "
                                            f"({','.join(_COLUMNS)})")
                issued = _time(row[0], where, "issued_at")
                start = _time(row[1], where, "period_start")
                try:
                    pv = float(row[2])
                except ValueError:
                    pv = math.nan
                if not math.isfinite(pv) or pv < 0:
                    raise ForecastFileError(
                        f"{where}: pv_w {row[2].strip()!r} must be a number >= 0 [W]")
                issue = rows.setdefault(issued, {})
                if start in issue:
                    raise ForecastFileError(
                        f"{where}: a second value for period {row[1].strip()} in the issue of "
                        f"{row[0].strip()}; keep one")
                issue[start] = pv
                count += 1
                if count > _MAX_ROWS:
                    raise ForecastFileError(f"{where}: more than {_MAX_ROWS} rows; split the "
                                            "file or keep fewer issues")
        except (csv.Error, UnicodeDecodeError) as exc:
            raise ForecastFileError(f"{path}:{reader.line_num}: not CSV text ({exc})") from None
    if not rows:
        raise ForecastFileError(f"{path}: no forecast rows after the header")
    issues: dict[int, _Issue] = {}
    for issued, values in rows.items():
        starts = np.asarray(sorted(values), dtype=np.int64)
        step = int(np.median(np.diff(starts))) if starts.shape[0] > 1 else default_step_s
        issues[issued] = _Issue(starts, step,
                                np.asarray([values[s] for s in starts.tolist()], dtype=np.float64))
    return RecordedForecasts(issues)


@lru_cache(maxsize=8)
def _cached(path: Path, mtime_ns: int, size: int, default_step_s: int) -> RecordedForecasts:
    del mtime_ns, size  # part of the key: an edited file is read again
    return _parse(path, default_step_s)


def load_forecast_file(path: Path, default_step_s: int = 1800) -> RecordedForecasts:
    """Read ``path`` (kept while unchanged: every provider built from a policy shares one read).
    Raises :class:`ForecastFileError` naming the file and line."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise ForecastFileError(
            f"{path}: cannot be read ({exc.strerror or exc}); check forecast_file (a relative "
            "path is read from the policy's folder)") from None
    return _cached(path, stat.st_mtime_ns, stat.st_size, default_step_s)
