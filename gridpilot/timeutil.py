"""Time conversions shared by device adapters and data loaders."""

from __future__ import annotations

__all__ = ["MS_THRESHOLD", "epoch_seconds"]

MS_THRESHOLD = 100_000_000_000
"""Device APIs mix epoch seconds and milliseconds and only the digit count tells them apart: at or
above this a value can only be milliseconds (1e11 s is the year 5138)."""


def epoch_seconds(value: float) -> float:
    """UNIX seconds of an epoch value given in seconds or milliseconds."""
    return value / 1000.0 if abs(value) >= MS_THRESHOLD else float(value)
