"""Failover: providers tried in order, the first one's slot wins, later ones fill its gaps.

:func:`first_wins` merges series already converted to one unit (the tariff's currency per kWh),
so a secondary provider with another resolution (hourly behind quarter-hourly) only fills the
minutes the first one lacks. Nothing outside the requested range is ever returned.
:func:`fetch_in_order` asks providers one after another and stops as soon as the range is covered:
a secondary is only called for what the primary could not give.
"""

from __future__ import annotations

import bisect
import time as _time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.errors import GridpilotError
from gridpilot.prices.base import PriceProvider, PriceSlots

__all__ = ["Attempt", "Layered", "covered_s", "fetch_in_order", "first_wins"]

Part = tuple[IntArray, IntArray, FloatArray]
"""Slot starts, ends [UNIX s] and values of one provider, ascending, not overlapping."""


@dataclass(frozen=True, slots=True)
class Layered:
    """A merged series: each slot remembers which part (provider, in order) it came from."""

    start_s: IntArray
    end_s: IntArray
    value: FloatArray
    origin: IntArray

    def __len__(self) -> int:
        return int(self.start_s.shape[0])


def _subtract(s: int, e: int, covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``[s, e)`` minus the sorted, disjoint intervals ``covered``."""
    pieces: list[tuple[int, int]] = []
    i = max(bisect.bisect_right(covered, (s, s)) - 1, 0)
    cur = s
    while i < len(covered) and cur < e:
        cs, ce = covered[i]
        if ce <= cur:
            i += 1
            continue
        if cs >= e:
            break
        if cs > cur:
            pieces.append((cur, cs))
        cur = max(cur, ce)
        i += 1
    if cur < e:
        pieces.append((cur, e))
    return pieces


def _union(covered: list[tuple[int, int]], add: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(covered + add):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def first_wins(parts: Sequence[Part], start_s: int, end_s: int) -> Layered:
    """The parts merged in priority order, clipped to ``[start_s, end_s)``."""
    rows: list[tuple[int, int, float, int]] = []
    covered: list[tuple[int, int]] = []
    for origin, (starts, ends, values) in enumerate(parts):
        added: list[tuple[int, int]] = []
        for s, e, v in zip(starts.tolist(), ends.tolist(), values.tolist(), strict=True):
            s, e = max(int(s), start_s), min(int(e), end_s)
            if e <= s:
                continue
            for ps, pe in _subtract(s, e, covered):
                rows.append((ps, pe, float(v), origin))
                added.append((ps, pe))
        covered = _union(covered, added)
    rows.sort()
    return Layered(
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.int64),
        np.array([r[2] for r in rows], dtype=np.float64),
        np.array([r[3] for r in rows], dtype=np.int64),
    )


def covered_s(start_s: IntArray, end_s: IntArray, lo: int, hi: int) -> int:
    """Seconds of ``[lo, hi)`` that the (non-overlapping) slots cover."""
    if hi <= lo or start_s.shape[0] == 0:
        return 0
    clipped = np.minimum(end_s, hi) - np.maximum(start_s, lo)
    return int(np.clip(clipped, 0, None).sum())


@dataclass(frozen=True, slots=True)
class Attempt:
    """One fetch: what a provider returned or why it failed (audited as it is)."""

    provider: str
    slots: PriceSlots | None
    error: str
    duration_s: float


def fetch_in_order(providers: Sequence[PriceProvider], start: datetime,
                   end: datetime) -> list[Attempt]:
    """Ask each provider for ``[start, end)`` in order until the range is covered.

    A provider's error (or a bug in a plugin) is recorded in its attempt and the next provider
    is asked: a failing source never stops the others.
    """
    lo, hi = int(start.timestamp()), int(end.timestamp())
    attempts: list[Attempt] = []
    parts: list[Part] = []
    for provider in providers:
        began = _time.perf_counter()
        try:
            slots = provider.fetch(start, end)
        except GridpilotError as exc:
            attempts.append(Attempt(provider.name, None, str(exc), _time.perf_counter() - began))
            continue
        except Exception as exc:  # a plugin's bug must not stop the other providers
            attempts.append(Attempt(provider.name, None, f"{type(exc).__name__}: {exc}",
                                    _time.perf_counter() - began))
            continue
        attempts.append(Attempt(provider.name, slots, "", _time.perf_counter() - began))
        parts.append((slots.start_s, slots.end_s, slots.value))
        merged = first_wins(parts, lo, hi)
        if covered_s(merged.start_s, merged.end_s, lo, hi) >= hi - lo:
            break
    return attempts
