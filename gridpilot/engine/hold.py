"""How far a decision holds: the states for which ``decide()`` is certain to answer the same.

A replay asks ``decide()`` once per tick, yet almost every tick repeats the last command. Each
stage of a decision, and each strategy it consults, can say over which range of the inputs that
change from tick to tick its answer stays what it is: a time before which no window edge, slot
end or dwell passes, and closed ranges of the SOC, the net load (``load_w - pv_w``) and the
month's peak import. The meet of those ranges is a :class:`Hold`. Any state that

- has the same price outlook, forecast, device mode, active command, ``active_since`` and
  ``active_layer`` objects as the state the hold was computed for,
- has the same calendar code (:meth:`gridpilot.engine.model.EngineModel.pattern_at`),
- lies before :attr:`Hold.until_s`, and
- has its SOC, net load and month peak inside the ranges,

gets a decision with the same command, winner and layer (the reason text may still quote the
numbers of the state the hold was computed for). A stage that cannot bound its answer calls
:meth:`Hold.never`: the hold then covers no other state, and the next tick decides afresh.

The ranges are closed, and a threshold test puts the threshold itself on the side where the test
gives the answer it gave: :meth:`Hold.soc_lt` after ``soc < x`` was true keeps the SOC at most
the float just below ``x``, and after it was false keeps it at least ``x``.
"""

from __future__ import annotations

import math

from gridpilot.calendar.window import Window

__all__ = ["ALWAYS", "Hold", "conditions_hold"]

_INF = math.inf
_next = math.nextafter
"""``_next(x, -inf)``: the float just below ``x``; ``_next(x, inf)``: just above."""


class Hold:
    """Closed ranges of the per-tick inputs, and a time, over which an answer stays the same."""

    __slots__ = ("net_max_w", "net_min_w", "peak_max_w", "peak_min_w", "soc_max_pct",
                 "soc_min_pct", "until_s")

    def __init__(self, until_s: float = _INF) -> None:
        self.until_s = until_s
        self.soc_min_pct = -_INF
        self.soc_max_pct = _INF
        self.net_min_w = -_INF
        self.net_max_w = _INF
        self.peak_min_w = -_INF
        self.peak_max_w = _INF

    # -- time ----------------------------------------------------------------------------------

    def until(self, t_s: float) -> Hold:
        """The answer may change at ``t_s`` [UNIX s]."""
        if t_s < self.until_s:
            self.until_s = t_s
        return self

    def never(self) -> Hold:
        """The answer holds for no other state."""
        self.until_s = -_INF
        return self

    # -- SOC -----------------------------------------------------------------------------------

    def soc_lt(self, soc_pct: float, x: float) -> bool:
        """``soc_pct < x``, keeping the SOC on the side that gives this answer."""
        if soc_pct < x:
            self._soc(-_INF, _next(x, -_INF))
            return True
        self._soc(x, _INF)
        return False

    def soc_le(self, soc_pct: float, x: float) -> bool:
        """``soc_pct <= x``, keeping the SOC on the side that gives this answer."""
        if soc_pct <= x:
            self._soc(-_INF, x)
            return True
        self._soc(_next(x, _INF), _INF)
        return False

    def soc_gt(self, soc_pct: float, x: float) -> bool:
        """``soc_pct > x``."""
        return not self.soc_le(soc_pct, x)

    def soc_ge(self, soc_pct: float, x: float) -> bool:
        """``soc_pct >= x``."""
        return not self.soc_lt(soc_pct, x)

    def pin_soc(self, soc_pct: float) -> Hold:
        """The answer depends on the exact SOC."""
        self._soc(soc_pct, soc_pct)
        return self

    def _soc(self, lo: float, hi: float) -> None:
        if lo > self.soc_min_pct:
            self.soc_min_pct = lo
        if hi < self.soc_max_pct:
            self.soc_max_pct = hi

    # -- net load ------------------------------------------------------------------------------

    def net_lt(self, net_w: float, x: float) -> bool:
        """``net_w < x`` for the net load ``load_w - pv_w`` [W]."""
        if net_w < x:
            self._net(-_INF, _next(x, -_INF))
            return True
        self._net(x, _INF)
        return False

    def net_gt(self, net_w: float, x: float) -> bool:
        """``net_w > x``."""
        if net_w > x:
            self._net(_next(x, _INF), _INF)
            return True
        self._net(-_INF, x)
        return False

    def pin_net(self, net_w: float) -> Hold:
        """The answer depends on the exact net load (a power computed from it)."""
        self._net(net_w, net_w)
        return self

    def _net(self, lo: float, hi: float) -> None:
        if lo > self.net_min_w:
            self.net_min_w = lo
        if hi < self.net_max_w:
            self.net_max_w = hi

    # -- month peak ----------------------------------------------------------------------------

    def peak_gt(self, peak_w: float, x: float) -> bool:
        """``peak_w > x`` for the month's peak import so far [W]."""
        if peak_w > x:
            self._peak(_next(x, _INF), _INF)
            return True
        self._peak(-_INF, x)
        return False

    def pin_peak(self, peak_w: float) -> Hold:
        """The answer depends on the exact month peak."""
        self._peak(peak_w, peak_w)
        return self

    def _peak(self, lo: float, hi: float) -> None:
        if lo > self.peak_min_w:
            self.peak_min_w = lo
        if hi < self.peak_max_w:
            self.peak_max_w = hi

    # -- combining -----------------------------------------------------------------------------

    def meet(self, other: Hold) -> Hold:
        """Keep only what ``other`` also covers (``other`` is not changed)."""
        self.until(other.until_s)
        self._soc(other.soc_min_pct, other.soc_max_pct)
        self._net(other.net_min_w, other.net_max_w)
        self._peak(other.peak_min_w, other.peak_max_w)
        return self

    def covers(self, t_s: float, soc_pct: float, net_w: float, peak_w: float) -> bool:
        """Whether a state at ``t_s`` with these values lies inside (the objects and the
        calendar code are the caller's to compare)."""
        return (
            t_s < self.until_s
            and self.soc_min_pct <= soc_pct <= self.soc_max_pct
            and self.net_min_w <= net_w <= self.net_max_w
            and self.peak_min_w <= peak_w <= self.peak_max_w
        )

    def __repr__(self) -> str:
        return (
            f"Hold(until_s={self.until_s:g}, soc_pct=[{self.soc_min_pct:g}, "
            f"{self.soc_max_pct:g}], net_w=[{self.net_min_w:g}, {self.net_max_w:g}], "
            f"peak_w=[{self.peak_min_w:g}, {self.peak_max_w:g}])"
        )


ALWAYS = Hold()
"""A proposal that depends on none of the per-tick inputs (never to be changed)."""


def conditions_hold(window: Window, soc_pct: float, price: float | None,
                    hysteresis_pct: float, hold: Hold | None) -> bool:
    """:meth:`Window.conditions_hold`, recording in ``hold`` the SOC side of each threshold it
    tests (the price is fixed while a hold lasts: it ends with the price slot)."""
    if hold is None:
        return window.conditions_hold(soc_pct, price, hysteresis_pct)
    # The same tests in the same order as Window.conditions_hold; a property test holds the two
    # equal.
    below, above = window.soc_below_pct, window.soc_above_pct
    if below is not None and not hold.soc_lt(soc_pct, below + hysteresis_pct):
        return False
    if above is not None and not hold.soc_gt(soc_pct, above - hysteresis_pct):
        return False
    return window.conditions_hold(soc_pct, price, hysteresis_pct)
