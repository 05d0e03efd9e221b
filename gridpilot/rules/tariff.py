"""Tariffs: the import and export price at any instant, one at a time or vectorised.

Each side (import, export) is a fixed time-of-use schedule, optionally overlaid by a dynamic
price series read from a file.

Fixed schedule
    ``default`` applies wherever no period does. Periods use the same calendar fields as rule
    windows (``time``, ``days``, ``months``, ``dates``; see :mod:`gridpilot.calendar.window`). Where
    periods overlap, **the last matching period in the file wins** (as in evcc), so write the
    general periods first and the exceptions after them. A schedule without ``default`` must
    cover every minute of every day: a gap is an error when the policy is loaded, never a silent
    zero price. Coverage is checked over periods that recur (those without year-specific
    ``dates``), minute by minute over a leap and a common year.

Dynamic prices
    Where a slot of the series covers the instant, its price applies; in gaps between slots and
    before or after the series, the fixed schedule does.

What is known when
    A fixed schedule is always known. Dynamic prices are published day-ahead: at
    ``published_at`` local time (default 16:00) each day, prices up to ``covers_until`` local
    time (default 23:00) on the next day become known. :meth:`Tariff.known_until` gives that
    horizon (never past the end of the series) and :meth:`Tariff.outlook` the prices known at an
    instant, so a backtest only sees what was known at each tick. The rule itself is
    :func:`gridpilot.prices.known.known_until_s`, shared with live provider prices.

Live prices
    A side with ``provider``/``providers`` holds their compiled :class:`ProviderSpec` values and
    gets its series from :meth:`PriceSide.set_live` (the scheduler after each fetch, ``prices
    show``, a backtest from the cache): each provider's slots converted to the tariff's
    currency per kWh, merged first-wins in failover order, composed; :attr:`PriceSide.origin`
    says which provider each slot came from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.calendar.localtime import LocalFields
from gridpilot.calendar.spec import CalendarSpec
from gridpilot.calendar.text import parse_clock_min
from gridpilot.engine.state import PriceOutlook
from gridpilot.prices.base import PriceSlots, Publication
from gridpilot.prices.compose import Composition, compose, period_values, to_tariff_per_kwh
from gridpilot.prices.failover import first_wins
from gridpilot.prices.known import known_until_s
from gridpilot.prices.spec import ProviderSpec
from gridpilot.rules.prices import PriceSeries, load_price_file
from gridpilot.rules.schema import PriceSchedule, TariffSpec

__all__ = ["PriceSide", "Tariff", "TariffGap", "find_gap"]

DEFAULT_HORIZON_S = 48 * 3600
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class TariffGap:
    """A local day and minute that no period covers (for the load-time error)."""

    day: date
    minute: int

    def describe(self) -> str:
        return (
            f"{_DAY_NAMES[self.day.weekday()]} {self.day.isoformat()} "
            f"{self.minute // 60:02d}:{self.minute % 60:02d}"
        )


def find_gap(periods: Sequence[CalendarSpec]) -> TariffGap | None:
    """The first local minute not covered by any recurring period, or ``None``.

    Periods with year-specific dates end, so they cannot close a gap for good and are ignored.
    Every answer is constant between the periods' edge minutes, so testing each edge of each day
    of 2027-2028 (a common and a leap year) covers every case.
    """
    recurring = [p for p in periods if not p.dates or all(r.annual for r in p.dates)]
    edges = sorted({m for p in recurring for m in p.edges_min()} | {0})
    first = date(2027, 1, 1).toordinal()
    days = np.arange(first, date(2028, 12, 31).toordinal() + 1, dtype=np.int64)
    day_col = np.repeat(days, len(edges))
    minute_col = np.tile(np.asarray(edges, dtype=np.int64), days.shape[0])
    fields = LocalFields(day_col, minute_col)
    covered = np.zeros(day_col.shape[0], dtype=bool)
    for p in recurring:
        covered |= p.mask(fields)
    missing = np.nonzero(~covered)[0]
    if missing.shape[0] == 0:
        return None
    i = int(missing[0])
    return TariffGap(date.fromordinal(int(day_col[i])), int(minute_col[i]))


class PriceSide:
    """One direction (import or export): a fixed schedule plus an optional dynamic series, from
    a file or from live providers."""

    __slots__ = ("composition", "currency", "default", "origin", "origin_names", "periods",
                 "providers", "publication", "series", "tz")

    def __init__(
        self,
        tz: ZoneInfo,
        default: float | None,
        periods: Sequence[tuple[CalendarSpec, float]] = (),
        series: PriceSeries | None = None,
        published_at: str = "16:00",
        covers_until: str = "23:00",
        *,
        providers: Sequence[ProviderSpec] = (),
        composition: Composition | None = None,
        currency: str = "GBP",
    ) -> None:
        self.tz = tz
        self.default = default
        self.periods = tuple(periods)
        self.series = series
        # A file's publication is in site time; "00:00" covers nothing of the next day.
        self.publication = (
            providers[0].publication if providers else Publication(
                _clock(parse_clock_min(published_at)), tz,
                _clock(parse_clock_min(covers_until)))
        )
        self.providers = tuple(providers)
        self.composition = composition or Composition()
        self.currency = currency
        self.origin: IntArray | None = None
        self.origin_names: tuple[str, ...] = ()

    @classmethod
    def from_spec(cls, spec: PriceSchedule, tz: ZoneInfo, base_dir: Path,
                  providers: Sequence[ProviderSpec] = (), composition: Composition | None = None,
                  currency: str = "GBP") -> PriceSide:
        """Build from the policy section (``providers`` compiled from its ``provider(s)``).
        Raises PriceFileError for a bad price file."""
        periods = [
            (CalendarSpec.parse(p.time, p.days, p.months, p.dates), p.price) for p in spec.periods
        ]
        dyn = spec.dynamic
        series = load_price_file(dyn, base_dir) if dyn is not None else None
        return cls(
            tz,
            spec.default,
            periods,
            series,
            dyn.published_at if dyn else "16:00",
            dyn.covers_until if dyn else "23:00",
            providers=providers,
            composition=composition,
            currency=currency,
        )

    def set_live(self, parts: Sequence[tuple[PriceSlots | None, str]]) -> None:
        """Install the providers' latest series (in failover order, ``None`` for one that has
        none; the string names where it came from, e.g. ``octopus (cache)``).

        Raises :class:`~gridpilot.prices.compose.CurrencyMismatchError` before changing
        anything when a series is in another currency and no ``fx_rate`` converts it.
        """
        c = self.composition
        converted: list[tuple[IntArray, IntArray, FloatArray]] = []
        names: list[str] = []
        for slots, name in parts:
            if slots is None or len(slots) == 0:
                continue
            base = to_tariff_per_kwh(slots.value, slots.unit, slots.currency, self.currency,
                                     c.fx_rate)
            converted.append((slots.start_s, slots.end_s, base))
            names.append(name)
        if not converted:
            self.series, self.origin, self.origin_names = None, None, ()
            return
        lo = min(int(p[0][0]) for p in converted)
        hi = max(int(p[1][-1]) for p in converted)
        merged = first_wins(converted, lo, hi)
        retail = compose(merged.value, merged.start_s, self.tz, c)
        lengths = merged.end_s - merged.start_s
        resolution = int(np.gcd.reduce(lengths)) if lengths.shape[0] else 1800
        self.series = PriceSeries(merged.start_s, merged.end_s, retail, resolution,
                                  ", ".join(names))
        self.origin, self.origin_names = merged.origin, tuple(names)

    def fixed_price_at(self, t: datetime) -> float:
        day, minute = LocalFields.from_datetime(t, self.tz)
        for cal, price in reversed(self.periods):
            if cal.matches_fields(day, minute):
                return price
        if self.default is None:
            raise LookupError(f"no price at {t.isoformat()}: no period covers it and no default")
        return self.default

    def price_at(self, t: datetime) -> float:
        if self.series is not None:
            found = self.series.price_at_s(_floor_s(t))
            if found is not None:
                return found
        return self.fixed_price_at(t)

    def prices_s(self, t_s: IntArray) -> FloatArray:
        n = t_s.shape[0]
        out = period_values(t_s, self.tz, self.periods,
                            np.nan if self.default is None else self.default)
        if self.series is not None:
            values, found = self.series.lookup(t_s)
            out = np.where(found, values, out)
        if self.default is None and n and np.isnan(out).any():
            i = int(np.nonzero(np.isnan(out))[0][0])
            when = datetime.fromtimestamp(int(t_s[i]), UTC).isoformat()
            raise LookupError(f"no price at {when}: no period covers it and no default")
        return out

    def known_until(self, t: datetime) -> datetime | None:
        if self.series is None:
            if self.providers and (self.default is not None or self.periods):
                return None  # nothing live yet: the fixed schedule, always known, applies
            if self.providers:
                # Live-only and nothing fetched: nothing past now is known.
                return t
            return None
        end_s = known_until_s(self.publication, _floor_s(t), self.series.last_end_s)
        return datetime.fromtimestamp(end_s, UTC)

    def slot_s(self) -> int:
        if self.series is not None:
            return self.series.resolution_s
        # Fixed schedules change only at period edges; slots must not straddle one.
        step = 1800
        for cal, _ in self.periods:
            for m in cal.edges_min():
                step = math.gcd(step, m * 60)
        return step


def _clock(minute: int) -> time:
    return time(minute // 60, minute % 60)


def _floor_s(t: datetime) -> int:
    return math.floor(t.timestamp())


def _index_to_s(index: npt.NDArray[np.datetime64] | IntArray) -> IntArray:
    arr = np.asarray(index)
    if np.issubdtype(arr.dtype, np.datetime64):
        return arr.astype("datetime64[s]").astype(np.int64)
    return arr.astype(np.int64)


class Tariff:
    """The import and export prices of a site, with its fixed charges."""

    __slots__ = (
        "currency", "demand_charge_per_kw", "export_side", "import_side",
        "standing_charge_per_day", "tz",
    )

    def __init__(
        self,
        tz: ZoneInfo,
        import_side: PriceSide,
        export_side: PriceSide,
        *,
        currency: str = "GBP",
        standing_charge_per_day: float = 0.0,
        demand_charge_per_kw: float = 0.0,
    ) -> None:
        self.tz = tz
        self.import_side = import_side
        self.export_side = export_side
        self.currency = currency
        self.standing_charge_per_day = standing_charge_per_day
        self.demand_charge_per_kw = demand_charge_per_kw

    @classmethod
    def from_spec(cls, spec: TariffSpec, tz: ZoneInfo, base_dir: Path) -> Tariff:
        """A tariff of fixed and file prices (live providers are compiled by the policy
        loader, which locates their errors)."""
        return cls(
            tz,
            PriceSide.from_spec(spec.import_, tz, base_dir, currency=spec.currency),
            PriceSide.from_spec(spec.export, tz, base_dir, currency=spec.currency),
            currency=spec.currency,
            standing_charge_per_day=spec.standing_charge_per_day,
            demand_charge_per_kw=spec.demand_charge_per_kw,
        )

    def import_price_at(self, t: datetime) -> float:
        """Import price [currency/kWh] at ``t`` (timezone-aware)."""
        return self.import_side.price_at(_aware(t))

    def export_price_at(self, t: datetime) -> float:
        """Export price [currency/kWh] at ``t`` (timezone-aware); may be negative."""
        return self.export_side.price_at(_aware(t))

    def import_prices(self, index: npt.NDArray[np.datetime64] | IntArray) -> FloatArray:
        """Import prices for a ``datetime64`` (UTC) index, or for integer UNIX seconds."""
        return self.import_side.prices_s(_index_to_s(index))

    def export_prices(self, index: npt.NDArray[np.datetime64] | IntArray) -> FloatArray:
        return self.export_side.prices_s(_index_to_s(index))

    def known_until(self, t: datetime) -> datetime | None:
        """Up to when prices are known at ``t``; ``None`` means always (fixed schedules)."""
        ends = [e for e in (self.import_side.known_until(t), self.export_side.known_until(t))
                if e is not None]
        return min(ends) if ends else None

    @property
    def slot_s(self) -> int:
        """Length of the outlook's price slots [s]."""
        return min(self.import_side.slot_s(), self.export_side.slot_s())

    def outlook(self, t: datetime, horizon_s: float = DEFAULT_HORIZON_S) -> PriceOutlook:
        """The prices known at ``t``, slot by slot from the slot holding ``t``, up to
        ``horizon_s`` ahead. Always holds at least the current slot."""
        t = _aware(t)
        step = self.slot_s
        now_s = _floor_s(t)
        if self.import_side.series is None and self.export_side.series is None:
            # Local period edges fall on UTC slot edges only if the step divides the offset
            # (Asia/Kathmandu is +05:45).
            for at_s in (now_s, now_s + int(horizon_s)):
                offset = datetime.fromtimestamp(at_s, UTC).astimezone(self.tz).utcoffset()
                step = math.gcd(step, int(offset.total_seconds()) if offset else 0) or step
        start = now_s - now_s % step
        n = math.ceil((now_s + horizon_s - start) / step)
        known = self.known_until(t)
        if known is not None:
            n = min(n, (int(known.timestamp()) - start) // step)
        n = max(1, n)
        starts = start + np.arange(n, dtype=np.int64) * step
        return PriceOutlook(
            starts,
            int(start + n * step),
            self.import_side.prices_s(starts),
            self.export_side.prices_s(starts),
        )


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("tariff lookups need a timezone-aware time")
    return t
