"""The calendar of many windows at once, as one small integer per minute.

A policy's rules and guards each have a window; the tick needs all their calendar answers at once.
Bit ``i`` of a minute's code is set when window ``i``'s calendar is open in that minute. The codes
come from each window's vectorised ``calendar_mask`` for a block of minutes, so a tick costs one
index into a list however many windows the policy has. A replay, which knows every tick's time
in advance, takes all its codes at once from :meth:`CalendarTable.codes_at`.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

import numpy as np

from gridpilot.arrays import BoolArray, IntArray
from gridpilot.calendar.localtime import LocalFields
from gridpilot.calendar.minutes import MinuteBlock
from gridpilot.calendar.window import Window

__all__ = ["CalendarTable"]


class CalendarTable:
    """The calendar part of several windows, one code per minute."""

    __slots__ = ("_grid", "_minutes", "windows")

    def __init__(self, windows: Sequence[Window]) -> None:
        self.windows = tuple(windows)
        self._minutes: MinuteBlock[int] = MinuteBlock()
        # The last codes_at of evenly spaced minutes (first minute, minutes apart, codes):
        # code_at reads them instead of computing every minute of a week around them.
        self._grid: tuple[int, int, tuple[int, ...]] = (0, 1, ())

    def code_at(self, t_s: float) -> int:
        if not self.windows:
            return 0
        first, step, codes = self._grid
        k, off = divmod(int(t_s // 60) - first, step)
        if not off and 0 <= k < len(codes):
            return codes[k]
        return self._minutes.at(t_s, self._codes)

    def codes_at(self, t_s: IntArray) -> list[int]:
        """:meth:`code_at` for each of ``t_s`` [UNIX s] at once, in their order: the code of
        the minute holding each. Instants evenly spaced in whole minutes (a replay's ticks)
        are kept, and code_at answers from them while it is asked about those minutes."""
        s = np.asarray(t_s)
        if not self.windows:
            return [0] * int(s.shape[0])
        minutes = (s // 60).astype(np.int64)
        codes = self._codes(minutes * 60)
        steps = np.diff(minutes)
        if steps.shape[0] and steps[0] > 0 and bool((steps == steps[0]).all()):
            self._grid = (int(minutes[0]), int(steps[0]), tuple(codes))  # the caller's may change
        return codes

    def _codes(self, starts: IntArray) -> list[int]:
        # Past 62 windows the codes no longer fit an int64: fall back to Python integers.
        wide = len(self.windows) > 62
        acc = np.zeros(starts.shape[0], dtype=object if wide else np.int64)
        # Windows of one zone share the local fields, and windows with the same calendar (a
        # guard and a rule on the same hours) share the mask.
        fields: dict[ZoneInfo, LocalFields] = {}
        masks: dict[tuple[object, ...], BoolArray] = {}
        for bit, window in enumerate(self.windows):
            if window.always_calendar:
                acc |= 1 << bit
                continue
            key = window.calendar_key
            mask = masks.get(key)
            if mask is None:
                zone = fields.get(window.tz)
                if zone is None:
                    zone = fields[window.tz] = LocalFields.from_unix(starts, window.tz)
                mask = masks[key] = window.calendar_mask(starts, zone)
            acc |= mask.astype(object) << bit if wide else mask.astype(np.int64) << bit
        codes: list[int] = acc.tolist()
        return codes
