"""The calendar of many windows at once, as one small integer per minute.

A policy's rules and guards each have a window; the tick needs all their calendar answers at once.
Bit ``i`` of a minute's code is set when window ``i``'s calendar is open in that minute. The codes
come from each window's vectorised ``calendar_mask`` for a block of minutes, so a tick costs one
index into a list however many windows the policy has.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from gridpilot.calendar.minutes import MinuteBlock
from gridpilot.calendar.window import Window

__all__ = ["CalendarTable"]

class CalendarTable:
    """The calendar part of several windows, one code per minute."""

    __slots__ = ("_minutes", "windows")

    def __init__(self, windows: Sequence[Window]) -> None:
        self.windows = tuple(windows)
        self._minutes: MinuteBlock[int] = MinuteBlock()

    def code_at(self, t_s: float) -> int:
        if not self.windows:
            return 0
        return self._minutes.at(t_s, self._codes)

    def _codes(self, starts: npt.NDArray[np.int64]) -> list[int]:
        # Past 62 windows the codes no longer fit an int64: fall back to Python integers.
        wide = len(self.windows) > 62
        acc = np.zeros(starts.shape[0], dtype=object if wide else np.int64)
        for bit, window in enumerate(self.windows):
            if window.always_calendar:
                acc |= 1 << bit
            else:
                mask = window.calendar_mask(starts)
                acc |= mask.astype(object) << bit if wide else mask.astype(np.int64) << bit
        codes: list[int] = acc.tolist()
        return codes
