"""The calendar of many windows at once, as one small integer per minute.

A policy's rules and guards each have a window; the tick needs all their calendar answers at once.
Bit ``i`` of a minute's code is set when window ``i``'s calendar is open in that minute. The codes
come from each window's vectorised ``calendar_mask`` for a block of minutes, so a tick costs one
index into a list however many windows the policy has.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gridpilot.calendar.window import Window

__all__ = ["CalendarTable"]

_BLOCK_MIN = 7 * 1440


class CalendarTable:
    """The calendar part of several windows, one code per minute."""

    __slots__ = ("_block", "windows")

    def __init__(self, windows: Sequence[Window]) -> None:
        self.windows = tuple(windows)
        # (first minute, codes) in one attribute, so a reader never pairs one block's start
        # with another block's codes.
        self._block: tuple[int, list[int]] = (0, [])

    def code_at(self, t_s: float) -> int:
        if not self.windows:
            return 0
        minute = int(t_s // 60)
        base, codes = self._block
        i = minute - base
        if 0 <= i < len(codes):
            return codes[i]
        starts = (minute + np.arange(_BLOCK_MIN, dtype=np.int64)) * 60
        # Past 62 windows the codes no longer fit an int64: fall back to Python integers.
        wide = len(self.windows) > 62
        acc = np.zeros(_BLOCK_MIN, dtype=object if wide else np.int64)
        for bit, window in enumerate(self.windows):
            if window.always_calendar:
                acc |= 1 << bit
            else:
                mask = window.calendar_mask(starts)
                acc |= mask.astype(object) << bit if wide else mask.astype(np.int64) << bit
        codes = acc.tolist()
        self._block = (minute, codes)
        return codes[0]
