"""The recorded load and PV a sequence case names in its ``data:`` key, read once per file through
the recorded-data loaders."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from gridpilot.errors import DataError

__all__ = ["Recorded", "load_recorded"]


@dataclass(frozen=True)
class Recorded:
    start_s: npt.NDArray[np.int64]
    interval_s: int
    load_w: npt.NDArray[np.float64] | None
    pv_w: npt.NDArray[np.float64] | None
    source: str

    def at(self, t: datetime, load_w: float, pv_w: float) -> tuple[float, float]:
        """Load and PV of the interval holding ``t``; the given values where the record has none
        (before or after it, or a missing value)."""
        t_s = int(t.timestamp())
        i = int(np.searchsorted(self.start_s, t_s, side="right")) - 1
        if i < 0 or t_s >= int(self.start_s[i]) + self.interval_s:
            raise DataError(f"{self.source}: no data at {t.isoformat()}")
        if self.load_w is not None and math.isfinite(self.load_w[i]):
            load_w = float(self.load_w[i])
        if self.pv_w is not None and math.isfinite(self.pv_w[i]):
            pv_w = float(self.pv_w[i])
        return load_w, pv_w


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, format: str) -> Recorded:
    from gridpilot.recorded import load_data

    series = load_data(path, format)
    return Recorded(
        start_s=series.start_s,
        interval_s=series.interval_s,
        load_w=series.columns.get("load_w"),
        pv_w=series.columns.get("pv_w"),
        source=path,
    )


def load_recorded(path: Path, format: str = "auto") -> Recorded:
    try:
        mtime_ns = path.stat().st_mtime_ns
    except OSError:
        raise DataError(
            f"{path}: data file not found (paths are relative to the test's file)"
        ) from None
    return _load(str(path), mtime_ns, format)
