"""Fast window tests for the tick: a rule's or guard's ``when`` at one instant.

The calendar part of a window (time, days, months, dates, cron) only changes at whole minutes, so
:class:`WindowProbe` evaluates it with the window's vectorised ``calendar_mask`` for a block of
minutes at once and answers later ticks by an index into that block. The price and SOC conditions
are compared directly, with hysteresis on SOC thresholds when the caller says the window was in
force on the previous tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gridpilot.rules.windows import Window

__all__ = ["CalendarTable", "WindowProbe"]

_BLOCK_MIN = 7 * 1440


class WindowProbe:
    """Answers ``window`` at UNIX seconds, caching the calendar part per minute."""

    __slots__ = (
        "_base_min",
        "_mask",
        "always_calendar",
        "has_conditions",
        "price_above",
        "price_below",
        "soc_above_pct",
        "soc_below_pct",
        "window",
    )

    def __init__(self, window: Window) -> None:
        self.window = window
        spec = window.spec
        self.price_below = spec.price_below
        self.price_above = spec.price_above
        self.soc_below_pct = spec.soc_below_pct
        self.soc_above_pct = spec.soc_above_pct
        self.has_conditions = any(
            v is not None
            for v in (self.price_below, self.price_above, self.soc_below_pct, self.soc_above_pct)
        )
        self.always_calendar = all(
            v is None for v in (spec.time, spec.days, spec.months, spec.dates, spec.cron)
        )
        self._base_min = 0
        self._mask: list[bool] = []

    def calendar_open(self, t_s: float) -> bool:
        if self.always_calendar:
            return True
        minute = int(t_s // 60)
        i = minute - self._base_min
        mask = self._mask
        if 0 <= i < len(mask):
            return mask[i]
        starts = (minute + np.arange(_BLOCK_MIN, dtype=np.int64)) * 60
        self._mask = self.window.calendar_mask(starts).tolist()
        self._base_min = minute
        return self._mask[0]

    def open(
        self,
        t_s: float,
        soc_pct: float,
        import_price: float | None,
        hysteresis_pct: float = 0.0,
    ) -> bool:
        """Whether the window is open. ``hysteresis_pct`` widens the SOC thresholds (pass it
        when the window's rule was in force on the previous tick, so it does not drop out at the
        first wobble of the SOC)."""
        if self.has_conditions and not self.conditions_hold(soc_pct, import_price, hysteresis_pct):
            return False
        return self.calendar_open(t_s)

    def conditions_hold(
        self, soc_pct: float, import_price: float | None, hysteresis_pct: float = 0.0
    ) -> bool:
        """The price and SOC part of :meth:`open` alone (true for a window without them)."""
        if self.has_conditions:
            if self.soc_below_pct is not None and not soc_pct < self.soc_below_pct + hysteresis_pct:
                return False
            if self.soc_above_pct is not None and not soc_pct > self.soc_above_pct - hysteresis_pct:
                return False
            if self.price_below is not None and not (
                import_price is not None and import_price < self.price_below
            ):
                return False
            if self.price_above is not None and not (
                import_price is not None and import_price > self.price_above
            ):
                return False
        return True


class CalendarTable:
    """The calendar part of several probes at once, as one small integer per minute.

    Bit ``i`` of a minute's code is set when probe ``i``'s calendar is open in that minute. The
    codes come from each probe's vectorised ``calendar_mask`` for a block of minutes, so a tick
    costs one index into a list however many windows the policy has.
    """

    __slots__ = ("_block", "probes")

    def __init__(self, probes: Sequence[WindowProbe]) -> None:
        self.probes = tuple(probes)
        # (first minute, codes) in one attribute, so a reader never pairs one block's start
        # with another block's codes.
        self._block: tuple[int, list[int]] = (0, [])

    def code_at(self, t_s: float) -> int:
        if not self.probes:
            return 0
        minute = int(t_s // 60)
        base, codes = self._block
        i = minute - base
        if 0 <= i < len(codes):
            return codes[i]
        starts = (minute + np.arange(_BLOCK_MIN, dtype=np.int64)) * 60
        # Past 62 windows the codes no longer fit an int64: fall back to Python integers.
        wide = len(self.probes) > 62
        acc = np.zeros(_BLOCK_MIN, dtype=object if wide else np.int64)
        for bit, probe in enumerate(self.probes):
            if probe.always_calendar:
                acc |= 1 << bit
            else:
                mask = probe.window.calendar_mask(starts)
                acc |= mask.astype(object) << bit if wide else mask.astype(np.int64) << bit
        codes = acc.tolist()
        self._block = (minute, codes)
        return codes[0]
