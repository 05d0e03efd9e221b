"""Live prices for ``gridpilot run``: fetch at start, refresh around each publication, cache,
retry with backoff, report staleness.

Per tariff side (import, export) the refresher keeps one due time. When it is due it compares
what the known-when rule says should be known now (:func:`~gridpilot.prices.known.known_until_s`
of the first provider's publication) with what the held series covers from now on. Covered:
nothing is fetched, and the next look is the next publication (so between publications nothing
polls, and a restart with a fresh cache fetches nothing). Not covered: the providers are asked in
failover order, each answer merged into the cache (state directory) and installed in the running
tariff at once, so the very decision of this tick plans on it; while still short, the next try
comes after a backoff that doubles up to ``backoff_max_s``. Once ``stale_after`` has passed since
the publication and tomorrow is still missing, the side is stale: said in the tick's audit
record, the log and ``/metrics``; strategies plan on what is known.

Every fetch is audited (``price_fetch``: provider, slots, range, duration, error). A provider's
error, or a bug in one, is caught here: it never ends the tick or the loop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from gridpilot.clock import Clock
from gridpilot.prices.base import PriceProvider, PriceSlots, ProviderContext
from gridpilot.prices.cache import PriceCache
from gridpilot.prices.compose import CurrencyMismatchError
from gridpilot.prices.failover import Attempt, fetch_in_order
from gridpilot.prices.known import known_until_s, next_publication_s, publication_at_or_before_s
from gridpilot.prices.spec import ProviderSpec
from gridpilot.rules.tariff import PriceSide, Tariff
from gridpilot.rules.tariff_live import side_slots

__all__ = ["PriceRefresher", "SideStatus", "fetch_range"]

log = logging.getLogger("gridpilot.prices")

SIDES = ("import", "export")


def fetch_range(now: datetime, tz: Any) -> tuple[datetime, datetime]:
    """What a refresh asks for: from the start of the local day to the end of the next one."""
    local = now.astimezone(tz)
    start = datetime.combine(local.date(), datetime.min.time(), tzinfo=tz)
    end = datetime.combine(local.date() + timedelta(days=2), datetime.min.time(), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def covered_until_s(side: PriceSide, now_s: int) -> int:
    """The end of the held series' unbroken run of slots from ``now_s`` (``now_s`` if none)."""
    series = side.series
    if series is None:
        return now_s
    end = now_s
    for s, e in zip(series.start_s.tolist(), series.end_s.tolist(), strict=True):
        if e <= end:
            continue
        if s > end:
            break
        end = int(e)
    return end


@dataclass
class SideStatus:
    """What is known of one side, for the trace, ``/metrics`` and ``prices show``."""

    due_s: float = 0.0
    backoff_s: float = 0.0
    wanted_until_s: int = 0
    known_until_s: int = 0
    stale: bool = False
    last_error: str = ""
    fetches: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "known_until": _iso(self.known_until_s),
            "wanted_until": _iso(self.wanted_until_s),
            "stale": self.stale,
            "next_refresh": _iso(int(self.due_s)),
            **({"last_error": self.last_error} if self.last_error else {}),
        }


def _iso(t_s: int) -> str:
    return datetime.fromtimestamp(t_s, UTC).isoformat()


@dataclass
class _Held:
    slots: PriceSlots | None
    origin: str


@dataclass
class PriceRefresher:
    """Keeps the live sides of the running policy's tariff supplied.

    Args:
        state_dir: the cache lives in ``<state_dir>/prices``.
        clock: the only source of time.
        client: the HTTP client providers use (tests: one whose transport reaches an
            emulator); by default one with verified TLS, closed by :meth:`close`.
        audit / metrics: where fetches and staleness are recorded (optional for the CLI).
    """

    state_dir: Path
    clock: Clock
    client: httpx.Client | None = None
    audit: Any = None
    backoff_initial_s: float = 60.0
    backoff_max_s: float = 1800.0
    status: dict[str, SideStatus] = field(default_factory=dict)
    _held: dict[str, _Held] = field(default_factory=dict)
    _providers: dict[str, PriceProvider] = field(default_factory=dict)
    _own_client: bool = False
    _tariff: Tariff | None = None
    _base_dir: Path = Path()
    fetch_count: int = 0
    fetch_errors: int = 0

    def __post_init__(self) -> None:
        self.cache = PriceCache(self.state_dir)
        if self.client is None:
            self.client = httpx.Client(follow_redirects=True)
            self._own_client = True

    # -- binding the policy's tariff ------------------------------------------------------------
    def bind(self, tariff: Tariff, base_dir: Path) -> list[str]:
        """Supply ``tariff`` (a new one after a policy reload): cached series are read once,
        what is already held is installed without a fetch. Returns the problems found."""
        problems: list[str] = []
        self._base_dir = base_dir
        if tariff is self._tariff:
            return problems
        self._tariff = tariff
        for side in self._sides():
            for spec in side.providers:
                if spec.key not in self._held:
                    slots, problem = self.cache.load(spec.key)
                    self._held[spec.key] = _Held(slots, f"{spec.label} (cache)")
                    if problem:
                        problems.append(problem)
        for name, side in self._named_sides():
            self.status.setdefault(name, SideStatus())
            problems.extend(self._install(name, side))
        for problem in problems:
            log.warning("%s", problem)
        return problems

    def _named_sides(self) -> list[tuple[str, PriceSide]]:
        t = self._tariff
        if t is None:
            return []
        return [(n, s) for n, s in zip(SIDES, (t.import_side, t.export_side), strict=True)
                if s.providers]

    def _sides(self) -> list[PriceSide]:
        return [s for _, s in self._named_sides()]

    def _install(self, name: str, side: PriceSide) -> list[str]:
        held = {k: (h.slots, h.origin) for k, h in self._held.items()}
        try:
            side.set_live(side_slots(side.providers, held))
        except CurrencyMismatchError as exc:
            return [f"tariff.{name}: prices not used: {exc}"]
        return []

    def _provider(self, spec: ProviderSpec, tz: Any) -> PriceProvider:
        found = self._providers.get(spec.key)
        if found is None:
            assert self.client is not None
            context = ProviderContext(self.client, self.clock, tz, self._base_dir)
            found = self._providers[spec.key] = spec.build(context)
        return found

    # -- refreshing ---------------------------------------------------------------------------
    async def refresh(self, now: datetime) -> None:
        """Fetch what is due and missing. Never raises (except cancellation)."""
        for name, side in self._named_sides():
            try:
                await self._refresh_side(name, side, now)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # never the tick's end: said, audited, retried
                st = self.status[name]
                st.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("refreshing %s prices failed", name)
                self._audit("price_error", now, side=name, error=st.last_error)

    async def _refresh_side(self, name: str, side: PriceSide, now: datetime) -> None:
        st = self.status[name]
        now_s = int(now.timestamp())
        pub = side.publication
        st.wanted_until_s = known_until_s(pub, now_s)
        st.known_until_s = covered_until_s(side, now_s)
        if now_s >= st.due_s and st.known_until_s < st.wanted_until_s:
            await self._fetch(name, side, now)
            st.known_until_s = covered_until_s(side, now_s)
        complete = st.known_until_s >= st.wanted_until_s
        if complete:
            st.backoff_s = 0.0
            st.due_s = next_publication_s(pub, now_s)
        elif now_s >= st.due_s:
            st.backoff_s = min(max(st.backoff_s * 2, self.backoff_initial_s), self.backoff_max_s)
            st.due_s = now_s + st.backoff_s
        deadline = publication_at_or_before_s(pub, now_s) + min(
            p.stale_after_s for p in side.providers)
        stale = not complete and now_s >= deadline
        if stale != st.stale:
            st.stale = stale
            if stale:
                log.warning("%s prices are stale: known until %s, %s expected by now", name,
                            _iso(st.known_until_s), _iso(st.wanted_until_s))
            self._audit("prices_stale" if stale else "prices_fresh", now, side=name,
                        known_until=_iso(st.known_until_s), wanted_until=_iso(st.wanted_until_s))

    async def _fetch(self, name: str, side: PriceSide, now: datetime) -> None:
        st = self.status[name]
        start, end = fetch_range(now, side.tz)
        providers = [self._provider(spec, side.tz) for spec in side.providers]
        attempts: list[Attempt] = await asyncio.to_thread(fetch_in_order, providers, start, end)
        errors: list[str] = []
        for spec, attempt in zip(side.providers, attempts, strict=False):
            self.fetch_count += 1
            st.fetches += 1
            fields: dict[str, Any] = {
                "side": name, "provider": spec.label, "from": start.isoformat(),
                "to": end.isoformat(), "duration_s": round(attempt.duration_s, 4),
            }
            if attempt.slots is None:
                self.fetch_errors += 1
                errors.append(f"{spec.label}: {attempt.error}")
                log.warning("fetching %s prices from %s failed: %s", name, spec.label,
                            attempt.error)
                self._audit("price_fetch", now, **fields, slots=0, error=attempt.error)
                continue
            slots = attempt.slots
            merged = await asyncio.to_thread(self.cache.store, spec.key, slots)
            self._held[spec.key] = _Held(merged, spec.label)
            first = _iso(int(slots.start_s[0])) if len(slots) else None
            last = _iso(int(slots.end_s[-1])) if len(slots) else None
            self._audit("price_fetch", now, **fields, slots=len(slots), first=first, last=last)
        st.last_error = "; ".join(errors)
        problems = [] if self._tariff is None else [
            p for n, s in self._named_sides() for p in self._install(n, s)]
        for problem in problems:
            st.last_error = problem
            log.error("%s", problem)
            self._audit("price_error", now, side=name, error=problem)

    def _audit(self, kind: str, now: datetime, **fields: Any) -> None:
        if self.audit is not None:
            self.audit.write(kind, now, **fields)

    # -- reporting ------------------------------------------------------------------------------
    def trace(self) -> dict[str, Any]:
        """The ``prices`` entry of a tick's audit record."""
        return {name: st.as_dict() for name, st in self.status.items()}

    def metric_lines(self) -> list[str]:
        lines = [
            "# HELP gridpilot_price_fetches_total Price fetches, one per provider asked.",
            "# TYPE gridpilot_price_fetches_total counter",
            f"gridpilot_price_fetches_total {self.fetch_count}",
            "# HELP gridpilot_price_fetch_errors_total Price fetches that failed.",
            "# TYPE gridpilot_price_fetch_errors_total counter",
            f"gridpilot_price_fetch_errors_total {self.fetch_errors}",
            "# HELP gridpilot_prices_stale 1 while a side's next-day prices are overdue.",
            "# TYPE gridpilot_prices_stale gauge",
        ]
        lines += [f'gridpilot_prices_stale{{side="{n}"}} {int(st.stale)}'
                  for n, st in self.status.items()]
        lines += [
            "# HELP gridpilot_prices_known_until_seconds End of the known prices (UNIX s).",
            "# TYPE gridpilot_prices_known_until_seconds gauge",
        ]
        lines += [f'gridpilot_prices_known_until_seconds{{side="{n}"}} {st.known_until_s}'
                  for n, st in self.status.items()]
        return lines

    def close(self) -> None:
        if self._own_client and self.client is not None:
            self.client.close()
