"""Building PriceSlots from what an API returned: order, overlaps, finiteness, the range."""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

import numpy as np

from gridpilot.errors import PriceProviderError
from gridpilot.prices.base import PriceSlots, PriceUnit

__all__ = ["build_slots", "epoch_s", "require_aware"]


def require_aware(provider: str, start: datetime, end: datetime) -> tuple[int, int]:
    """The range as UNIX seconds; naive datetimes are a programming error worth naming."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError(f"{provider}: fetch() needs timezone-aware start and end")
    return epoch_s(start), epoch_s(end)


def epoch_s(moment: datetime) -> int:
    return math.floor(moment.timestamp())


def build_slots(
    provider: str,
    rows: Iterable[tuple[int, int, float]],
    *,
    start_s: int,
    end_s: int,
    unit: PriceUnit,
    currency: str,
    source: str,
    finer_wins: bool = False,
) -> PriceSlots:
    """Slots ``(start_s, end_s, value)`` clipped to ``[start_s, end_s)``, ascending.

    A non-finite price or an empty slot is malformed (fail closed: a price we cannot trust is
    not used). Overlapping slots are malformed too, unless ``finer_wins``: a market that
    publishes one day at two resolutions (ENTSO-E's 15- and 60-minute series) keeps the finer.
    """
    kept: list[tuple[int, int, float]] = []
    ordered = sorted(rows, key=lambda r: (r[0], r[1] - r[0]))
    last_end: int | None = None
    for s, e, v in ordered:
        if e <= s:
            raise PriceProviderError(provider, f"malformed answer: a slot ends before it starts "
                                               f"({s} >= {e}); the fetch is retried")
        if not math.isfinite(v):
            raise PriceProviderError(provider, f"malformed answer: price {v!r} at {s} is not a "
                                               "number; the fetch is retried")
        if e <= start_s or s >= end_s:
            continue
        if last_end is not None and s < last_end:
            if finer_wins:
                continue
            raise PriceProviderError(provider, f"malformed answer: slots overlap at {s}; "
                                               "check the product/payment settings")
        kept.append((max(s, start_s), min(e, end_s), float(v)))
        last_end = e
    return PriceSlots(
        start_s=np.array([k[0] for k in kept], dtype=np.int64),
        end_s=np.array([k[1] for k in kept], dtype=np.int64),
        value=np.array([k[2] for k in kept], dtype=np.float64),
        unit=unit,
        currency=currency,
        source=source,
    )
