"""Local wall-clock fields of UNIX instants, vectorised.

The zone's UTC-offset transitions are located once per span of days, so turning an array of
instants into local dates and minutes costs a search, not a ``datetime`` per instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from gridpilot.arrays import IntArray

__all__ = ["EPOCH_ORDINAL", "LocalFields", "utc_offsets_s"]


EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


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
        return cls(day + EPOCH_ORDINAL, (local_s - day * 86_400) // 60)

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


