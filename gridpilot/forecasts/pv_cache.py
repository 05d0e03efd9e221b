"""The on-disk cache of a live PV forecast: the last series fetched, when, and the calls the
budget still counts. One JSON file per configured provider under ``<state_dir>/forecasts``,
written atomically (temporary file, fsync, rename). A restart reads it and sends no call while
the cached forecast is younger than the refresh interval; a damaged file costs a fetch, never a
wrong forecast."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from gridpilot.arrays import FloatArray, IntArray

__all__ = ["CachedPv", "PvCache", "cache_key"]

_VERSION = 1


def cache_key(provider_type: str, settings: BaseModel) -> str:
    """A file name per configured provider; secrets dump as ``**********``, never in the name."""
    text = json.dumps(settings.model_dump(mode="json"), sort_keys=True, default=str)
    digest = hashlib.sha256(f"{provider_type}\n{text}".encode()).hexdigest()[:16]
    return f"{provider_type}-{digest}"


@dataclass(frozen=True, slots=True)
class CachedPv:
    fetched_s: float
    end_s: IntArray
    """End of each interval [UNIX s]; intervals are ``step_s`` long."""
    step_s: int
    pv_w: FloatArray
    """Mean AC power of the arrays over the interval (P50 for a quantile service)."""
    spent_s: tuple[float, ...] = ()


class PvCache:
    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir) / "forecasts"

    def load(self, key: str) -> CachedPv | None:
        try:
            doc: Any = json.loads((self.dir / f"{key}.json").read_text(encoding="utf-8"))
            if doc.get("version") != _VERSION:
                return None
            end = np.asarray(doc["end_s"], dtype=np.int64)
            pv = np.asarray(doc["pv_w"], dtype=np.float64)
            if end.shape != pv.shape or not np.isfinite(pv).all():
                return None
            return CachedPv(float(doc["fetched_s"]), end, int(doc["step_s"]), pv,
                            tuple(float(x) for x in doc.get("spent_s", [])))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def store(self, key: str, cached: CachedPv) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        doc = {"version": _VERSION, "fetched_s": cached.fetched_s, "step_s": cached.step_s,
               "end_s": cached.end_s.tolist(), "pv_w": cached.pv_w.tolist(),
               "spent_s": list(cached.spent_s)}
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", dir=self.dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, separators=(",", ":"), allow_nan=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.dir / f"{key}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
