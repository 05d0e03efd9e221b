"""Time conversions shared by the policy, the scenario tests, the command line, device adapters
and data loaders: one reading of epoch values and one duration grammar for all of them."""

from __future__ import annotations

import math
import re

__all__ = ["DURATION_EXAMPLES", "MS_THRESHOLD", "epoch_seconds", "parse_duration_s"]

MS_THRESHOLD = 100_000_000_000
"""Device APIs mix epoch seconds and milliseconds and only the digit count tells them apart: at or
above this a value can only be milliseconds (1e11 s is the year 5138)."""


def epoch_seconds(value: float) -> float:
    """UNIX seconds of an epoch value given in seconds or milliseconds."""
    return value / 1000.0 if abs(value) >= MS_THRESHOLD else float(value)


DURATION_EXAMPLES = "90, 90s, 500ms, 15m, 1.5h, 1h30m or 2d"
"""How a duration can be written, for messages."""

# Longest unit first, so that "ms" and "min" are not read as "m" followed by junk.
_UNITS_S = {"d": 86_400.0, "h": 3600.0, "min": 60.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_RANK = {"d": 0, "h": 1, "min": 2, "m": 2, "s": 3, "ms": 4}
_NUMBER = r"\d+(?:\.\d+)?"
_BARE_RE = re.compile(rf"\s*({_NUMBER})\s*", re.ASCII)
_PART_RE = re.compile(rf"\s*({_NUMBER})\s*(ms|min|d|h|m|s)", re.IGNORECASE | re.ASCII)


def parse_duration_s(value: str | float) -> float:
    """Seconds of a duration: a number of seconds (``90``, ``"90"``) or parts from the longest
    unit down, each unit at most once: ``500ms``, ``90s``, ``15m`` (or ``15min``), ``1.5h``,
    ``1h30m``, ``2d 12h``. Units are d, h, m/min, s and ms, in any letter case.

    The result is finite and not negative; whether zero or a year makes sense is for the caller
    to say. Raises :class:`ValueError` with a message that says how to write one.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"duration {value!r}: write a number of seconds or text such as "
                         f"{DURATION_EXAMPLES}")
    seconds = _parse_text(value) if isinstance(value, str) else float(value)
    if not math.isfinite(seconds):
        raise ValueError(f"duration {value!r}: must be a finite number of seconds")
    if seconds < 0:
        raise ValueError(f"duration {value!r}: must not be negative")
    return seconds


def _parse_text(text: str) -> float:
    bare = _BARE_RE.fullmatch(text)
    if bare is not None:
        return float(bare.group(1))
    seconds = 0.0
    pos = 0
    last_rank = -1
    while pos < len(text.rstrip()):
        m = _PART_RE.match(text, pos)
        if m is None:
            break
        unit = m.group(2).lower()
        if _RANK[unit] <= last_rank:
            raise ValueError(f"duration {text!r}: give each unit once, the longest first "
                             "(e.g. 1h30m)")
        last_rank = _RANK[unit]
        seconds += float(m.group(1)) * _UNITS_S[unit]
        pos = m.end()
    if last_rank < 0 or text[pos:].strip():
        raise ValueError(f"duration {text!r}: write a number of seconds or text such as "
                         f"{DURATION_EXAMPLES}")
    return seconds
