"""The price cache: every series fetched, kept in the state directory.

One JSON file per configured provider (its type and settings, secrets left out, name the file),
written atomically (temporary file, fsync, rename): a crash leaves the old file or the new one,
never half of either. Values are written with Python's shortest round-tripping float text, so a
series read back equals the one stored, bit for bit. A restart reads the cache first and only
fetches what it lacks; an outage never loses prices already known.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, cast

import numpy as np
from pydantic import BaseModel

from gridpilot.prices.base import PriceSlots, PriceUnit

__all__ = ["CACHE_DIR", "PriceCache", "cache_key", "merge_slots"]

CACHE_DIR = "prices"
"""The cache's directory under the state directory."""
_VERSION = 1
_UNITS: tuple[PriceUnit, ...] = ("per_mwh", "per_kwh", "minor_per_kwh")


def cache_key(provider_type: str, settings: BaseModel) -> str:
    """A file name for one configured provider. ``SecretStr`` fields dump as ``**********``,
    so a token never reaches the name; a changed setting (another region) is another file."""
    text = json.dumps(settings.model_dump(mode="json"), sort_keys=True, default=str)
    digest = hashlib.sha256(f"{provider_type}\n{text}".encode()).hexdigest()[:16]
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in provider_type)
    return f"{safe}-{digest}"


def merge_slots(old: PriceSlots | None, new: PriceSlots) -> PriceSlots:
    """``new`` plus the slots of ``old`` that no new slot overlaps (a provider's correction of a
    slot replaces it). A change of unit or currency drops the old series."""
    if old is None or len(old) == 0 or (old.unit, old.currency) != (new.unit, new.currency):
        return new
    keep = np.ones(len(old), dtype=bool)
    if len(new):
        # An old slot overlaps a new one iff it starts before that slot's end and ends after
        # its start; the new slots are sorted, so one searchsorted finds the candidate.
        idx = np.searchsorted(new.end_s, old.start_s, side="right")
        inside = idx < len(new)
        safe = np.clip(idx, 0, len(new) - 1)
        keep = ~(inside & (new.start_s[safe] < old.end_s))
    start = np.concatenate([old.start_s[keep], new.start_s])
    order = np.argsort(start, kind="stable")
    return PriceSlots(
        start_s=start[order],
        end_s=np.concatenate([old.end_s[keep], new.end_s])[order],
        value=np.concatenate([old.value[keep], new.value])[order],
        unit=new.unit,
        currency=new.currency,
        source=new.source,
    )


def _encode(slots: PriceSlots) -> dict[str, Any]:
    return {
        "version": _VERSION,
        "unit": slots.unit,
        "currency": slots.currency,
        "source": slots.source,
        "start_s": slots.start_s.tolist(),
        "end_s": slots.end_s.tolist(),
        "value": slots.value.tolist(),
    }


def _decode(doc: Any) -> PriceSlots:
    if not isinstance(doc, dict) or doc.get("version") != _VERSION:
        raise ValueError("not a gridpilot price cache of this version")
    unit = doc.get("unit")
    if unit not in _UNITS:
        raise ValueError(f"unknown unit {unit!r}")
    start = np.asarray(doc["start_s"], dtype=np.int64)
    end = np.asarray(doc["end_s"], dtype=np.int64)
    value = np.asarray(doc["value"], dtype=np.float64)
    if not (start.shape == end.shape == value.shape) or start.ndim != 1:
        raise ValueError("start_s, end_s and value differ in length")
    if len(start) and (np.any(end <= start) or np.any(start[1:] < end[:-1])
                       or not all(math.isfinite(v) for v in value.tolist())):
        raise ValueError("slots out of order, overlapping or not finite")
    return PriceSlots(start, end, value, cast(PriceUnit, unit), str(doc["currency"]),
                      str(doc["source"]))


class PriceCache:
    """The cached series of a state directory (``<state_dir>/prices/<key>.json``)."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = Path(state_dir) / CACHE_DIR

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.json"

    def load(self, key: str) -> tuple[PriceSlots | None, str]:
        """The cached series (``None`` when there is none) and, for a damaged file, why it was
        ignored: a bad cache costs a refetch, never a wrong price."""
        path = self.path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, ""
        except OSError as exc:
            return None, f"{path}: cannot read the price cache: {exc.strerror or exc}"
        try:
            return _decode(json.loads(text)), ""
        except (ValueError, KeyError, TypeError) as exc:
            return None, f"{path}: price cache ignored ({exc}); it is fetched again"

    def store(self, key: str, slots: PriceSlots) -> PriceSlots:
        """Merge ``slots`` into the cached series, write it atomically, return the result."""
        merged = merge_slots(self.load(key)[0], slots)
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self.path(key)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=self.dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(_encode(merged), fh, separators=(",", ":"), allow_nan=False)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return merged
