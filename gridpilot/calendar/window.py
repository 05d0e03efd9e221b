"""Time windows: when a rule or guard applies.

A window (the ``when:`` of a rule or guard) matches at an instant when **every** part it gives
holds. Omitted parts always hold; a window with no parts at all always matches.

``time: "16:00-19:00"``
    Local wall-clock time in the site's timezone. The start is inclusive, the end exclusive, and
    ``24:00`` may end a range. An end before the start crosses midnight: ``"22:00-06:00"``.
    A range whose start equals its end never matches (``check`` reports it); use
    ``"00:00-24:00"`` for a whole day.
``days: mon-fri``
    Day names (``mon`` .. ``sun`` or in full), ranges that may wrap (``fri-mon``), comma lists or a
    YAML list.
``months: nov-feb``
    Month names or numbers 1-12, ranges (may wrap over new year) and lists.
``dates: 2026-12-20..2027-01-03``
    Inclusive ranges or single dates, ``YYYY-MM-DD`` for one year or ``MM-DD`` for every year
    (``12-24..12-26``); a list gives several.
``cron: "0 16 * * mon-fri"`` with ``for: 3h``
    The window opens at each time the cron expression fires (read in the site's timezone,
    through croniter) and stays open for ``for`` of elapsed time.
``price_below`` / ``price_above``
    The import price at the instant is strictly below / above the value [currency/kWh].
``soc_below_pct`` / ``soc_above_pct``
    The battery's state of charge is strictly below / above the value [%].

Which day a window belongs to
    ``days``, ``months`` and ``dates`` are tested against the day on which the ``time`` range
    *opened*: ``days: fri`` with ``time: "22:00-06:00"`` covers Friday 22:00 to Saturday 06:00,
    not the early hours of Friday. Without ``time`` (or with ``cron``) the instant's own local
    date is used.

Clock changes (days of 23 and 25 hours)
    Windows are read on the local wall clock, minute by minute, as the clock on the wall shows it.

    - *Spring (a skipped hour, e.g. 01:00-02:00 in Europe/London):* wall-clock times inside the
      gap never occur. An edge inside the gap therefore takes effect at the end of the gap: a
      window ``"01:30-04:00"`` opens at 02:00 local, a window ``"00:00-01:30"`` closes at
      01:00 local (which the clock shows as 02:00), and a window lying wholly inside the gap
      (``"01:00-02:00"``) does not match at all that day.
    - *Autumn (a repeated hour, e.g. 01:00-02:00 happens twice):* every wall-clock minute of the
      repeated hour matches both times it occurs. A window ``"01:00-01:30"`` is open twice
      (an hour of elapsed time in all); a window ``"00:00-01:30"`` is open from 00:00 to the first
      01:30, closes for the rest of the first pass, and reopens at the second 01:00 until the
      second 01:30. A window ``"00:00-06:00"`` lasts 7 hours of elapsed time that day.
    - ``cron`` windows open at the instants croniter gives for the local expression and last
      ``for`` of elapsed time, whatever the clock does meanwhile.

The calendar part (``time``, ``days``, ``months``, ``dates``, ``cron``) can also be evaluated for
an array of instants at once with :meth:`Window.calendar_mask`, which always agrees with
:meth:`Window.matches`. On the tick, :meth:`Window.calendar_open` answers the calendar part from a
block of minutes computed at once, and :meth:`Window.conditions_hold` the price and SOC part, with
hysteresis on SOC thresholds when the caller says the window was in force on the previous tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

import numpy as np

from gridpilot.arrays import BoolArray, IntArray
from gridpilot.calendar.localtime import LocalFields
from gridpilot.calendar.minutes import MinuteBlock
from gridpilot.calendar.spec import CalendarSpec
from gridpilot.calendar.text import validate_cron, window_for_s

__all__ = ["Window", "WindowParts"]


class WindowParts(Protocol):
    """The parts of a ``when:`` as written (the policy's ``When`` section has exactly these)."""

    @property
    def time(self) -> str | None: ...
    @property
    def days(self) -> str | Sequence[str | int] | None: ...
    @property
    def months(self) -> str | Sequence[str | int] | None: ...
    @property
    def dates(self) -> str | Sequence[str | int] | None: ...
    @property
    def cron(self) -> str | None: ...
    @property
    def for_(self) -> str | None: ...
    @property
    def price_below(self) -> float | None: ...
    @property
    def price_above(self) -> float | None: ...
    @property
    def soc_below_pct(self) -> float | None: ...
    @property
    def soc_above_pct(self) -> float | None: ...


# The order and names in which a window describes itself (``for`` as the policy writes it).
_PARTS = (
    ("time", "time"), ("days", "days"), ("months", "months"), ("dates", "dates"),
    ("cron", "cron"), ("for", "for_"), ("price_below", "price_below"),
    ("price_above", "price_above"), ("soc_below_pct", "soc_below_pct"),
    ("soc_above_pct", "soc_above_pct"),
)


@dataclass(frozen=True, slots=True)
class _Cron:
    expr: str
    duration_s: float
    tz: ZoneInfo

    def fires(self, lo_s: float, hi_s: float) -> list[float]:
        """Every fire time ``f`` with ``lo_s < f <= hi_s`` [UNIX s], ascending."""
        start = datetime.fromtimestamp(lo_s, UTC).astimezone(self.tz)
        from croniter import croniter  # only a policy with a cron window pays its import

        it = croniter(self.expr, start)
        out: list[float] = []
        while True:
            nxt = it.get_next(datetime)
            ts = nxt.timestamp()
            if ts > hi_s:
                return out
            if ts > lo_s:
                out.append(ts)

    def open_at(self, t_s: float) -> bool:
        # The window is open at t when some fire f has t - duration < f <= t.
        return bool(self.fires(t_s - self.duration_s, t_s))


class Window:
    """A compiled ``when:``. Build it with :meth:`from_spec`.

    ``calendar_only`` drops the cron part (a check walks the cron's spans itself).
    """

    __slots__ = (
        "_cal",
        "_cron",
        "_minutes",
        "always_calendar",
        "has_conditions",
        "price_above",
        "price_below",
        "soc_above_pct",
        "soc_below_pct",
        "spec",
        "tz",
    )

    def __init__(self, spec: WindowParts, tz: ZoneInfo, *, calendar_only: bool = False) -> None:
        self.spec = spec
        self.tz = tz
        self._cal = CalendarSpec.parse(spec.time, spec.days, spec.months, spec.dates)
        self._cron = (
            _Cron(validate_cron(spec.cron), window_for_s(spec.for_ or "0"), tz)
            if spec.cron is not None and not calendar_only
            else None
        )
        self.price_below = spec.price_below
        self.price_above = spec.price_above
        self.soc_below_pct = spec.soc_below_pct
        self.soc_above_pct = spec.soc_above_pct
        # Plain attributes, not properties: the tick reads them for every rule and guard.
        self.has_conditions = any(
            v is not None
            for v in (self.price_below, self.price_above, self.soc_below_pct, self.soc_above_pct)
        )
        self.always_calendar = self._cron is None and all(
            v is None for v in (spec.time, spec.days, spec.months, spec.dates)
        )
        self._minutes: MinuteBlock[bool] = MinuteBlock()

    @classmethod
    def from_spec(cls, spec: WindowParts | None, tz: ZoneInfo) -> Window | None:
        return None if spec is None else cls(spec, tz)

    @property
    def calendar(self) -> CalendarSpec:
        return self._cal

    @property
    def always(self) -> bool:
        """True when the window matches at every instant, whatever the state."""
        return self._cal.always and self._cron is None and not self.has_conditions

    @property
    def calendar_key(self) -> tuple[object, ...]:
        """Equal for windows whose calendar parts give the same answer at every instant."""
        cron = None if self._cron is None else (self._cron.expr, self._cron.duration_s)
        return (self._cal, self.tz, cron)

    def parts(self) -> dict[str, object]:
        """The parts given, by their policy names, in the order the policy section lists them."""
        out: dict[str, object] = {}
        for name, attr in _PARTS:
            value = getattr(self.spec, attr)
            if value is not None:
                out[name] = value
        return out

    def matches(
        self,
        t: datetime,
        *,
        soc_pct: float | None = None,
        import_price: float | None = None,
    ) -> bool:
        """Whether the window is open at ``t`` (timezone-aware) for the given state.

        A price or SOC condition whose value is not given does not match.
        """
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError("Window.matches needs a timezone-aware time")
        if self.price_below is not None and not (import_price is not None
                                                 and import_price < self.price_below):
            return False
        if self.price_above is not None and not (import_price is not None
                                                 and import_price > self.price_above):
            return False
        if self.soc_below_pct is not None and not (soc_pct is not None
                                                   and soc_pct < self.soc_below_pct):
            return False
        if self.soc_above_pct is not None and not (soc_pct is not None
                                                   and soc_pct > self.soc_above_pct):
            return False
        if not self._cal.always:
            day, minute = LocalFields.from_datetime(t, self.tz)
            if not self._cal.matches_fields(day, minute):
                return False
        # Seconds are dropped so the scalar test agrees with calendar_mask's integer seconds.
        return self._cron is None or self._cron.open_at(float(int(t.timestamp() // 1)))

    def open(
        self,
        t_s: float,
        soc_pct: float,
        import_price: float | None,
        hysteresis_pct: float = 0.0,
    ) -> bool:
        """Whether the window is open at ``t_s`` [UNIX s]. ``hysteresis_pct`` widens the SOC
        thresholds (pass it when the window's rule was in force on the previous tick, so it does
        not drop out at the first wobble of the SOC)."""
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

    def calendar_open(self, t_s: float) -> bool:
        """The calendar part at ``t_s`` [UNIX s], from a block of minutes computed at once."""
        if self.always_calendar:
            return True
        return self._minutes.at(t_s, self._calendar_list)

    def _calendar_list(self, start_s: IntArray) -> list[bool]:
        answers: list[bool] = self.calendar_mask(start_s).tolist()
        return answers

    def calendar_mask(self, start_s: IntArray, fields: LocalFields | None = None) -> BoolArray:
        """The calendar part of :meth:`matches` (no price or SOC conditions) for each UNIX second
        in ``start_s``. ``fields``: those seconds' local fields in :attr:`tz`, when the caller
        has them already (windows of one zone share them)."""
        s = np.asarray(start_s, dtype=np.int64)
        if s.shape[0] == 0:
            return np.zeros(0, dtype=bool)
        ok = (
            np.ones(s.shape[0], dtype=bool)
            if self._cal.always
            else self._cal.mask(fields if fields is not None else LocalFields.from_unix(s, self.tz))
        )
        if self._cron is not None:
            ok &= self._cron_mask(s)
        return ok

    def _cron_mask(self, s: IntArray) -> BoolArray:
        assert self._cron is not None
        dur = self._cron.duration_s
        fires = np.asarray(
            self._cron.fires(float(s.min()) - dur, float(s.max())), dtype=np.float64
        )
        if fires.shape[0] == 0:
            return np.zeros(s.shape[0], dtype=bool)
        t = s.astype(np.float64)
        idx = np.searchsorted(fires, t, side="right") - 1
        last = fires[np.clip(idx, 0, None)]
        ok: BoolArray = (idx >= 0) & (last > t - dur)
        return ok

    def __repr__(self) -> str:
        return f"Window({self.parts()})"
