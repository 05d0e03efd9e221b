"""What ``gridpilot prices show`` prints: the prices known now, slot by slot, with their source.

The view is built with the live run's own parts: the :class:`~gridpilot.scheduler.prices.
PriceRefresher` reads the cache and fetches what is due, the tariff's sides say how far each is
known (the known-when rule) and which provider each slot came from. A slot is from
``<provider>`` (fetched now), ``<provider> (cache)`` (held before this command ran), ``fixed``
(the schedule's periods or default), ``file`` (a ``dynamic`` price file) or ``none``: no price,
where a live run plans without prices (docs/tariffs.md, "When no price is known").
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import httpx
import numpy as np

from gridpilot.clock import Clock
from gridpilot.prices.base import PriceSlots
from gridpilot.prices.known import next_publication_s
from gridpilot.rules.policy import Policy
from gridpilot.rules.tariff import PriceSide
from gridpilot.scheduler.prices import SIDES, PriceRefresher

__all__ = ["price_view", "render_text"]

_FIXED_HORIZON_S = 24 * 3600
"""How far a tariff without live prices is shown (it is always known)."""


def _iso(t_s: int, tz: Any) -> str:
    return datetime.fromtimestamp(t_s, UTC).astimezone(tz).isoformat()


def _fixed_or_none(side: PriceSide, t_s: int) -> tuple[float | None, str]:
    try:
        return side.fixed_price_at(datetime.fromtimestamp(t_s, UTC)), "fixed"
    except LookupError:
        return None, "none"


def _slot(side: PriceSide, t_s: int, known_end_s: int, cached: dict[str, PriceSlots | None]
          ) -> tuple[float | None, str]:
    """The price of the slot starting at ``t_s`` and where it came from."""
    series = side.series
    if not side.providers:
        if series is not None and series.price_at_s(t_s) is not None:
            return series.price_at_s(t_s), "file"
        return _fixed_or_none(side, t_s)
    if series is None or t_s >= known_end_s or side.origin is None:
        return _fixed_or_none(side, t_s)
    price = series.price_at_s(t_s)
    if price is None:
        return _fixed_or_none(side, t_s)
    i = int(np.searchsorted(series.start_s, t_s, side="right")) - 1
    label = side.origin_names[int(side.origin[i])].removesuffix(" (cache)")
    spec = next((p for p in side.providers if p.label == label), None)
    held = cached.get(spec.key) if spec is not None else None
    if held is not None and len(held):
        j = int(np.searchsorted(held.start_s, t_s, side="right")) - 1
        if j >= 0 and t_s < int(held.end_s[j]):
            return price, f"{label} (cache)"
    return price, label


def _conversions(side: PriceSide, refresher: PriceRefresher, currency: str) -> dict[str, str]:
    """How each provider's value became the side's price, for the providers whose unit is
    known (from what they answered)."""
    out = {}
    for spec in side.providers:
        held = refresher.cache.load(spec.key)[0]
        if held is not None:
            out[spec.label] = side.composition.describe(held.unit, held.currency, currency)
    return out


def price_view(policy: Policy, state_dir: Path, clock: Clock, client: httpx.Client, *,
               base_dir: Path, offline: bool = False) -> dict[str, Any]:
    """Everything ``prices show`` prints, as a JSON-ready dict."""
    tariff = policy.tariff
    tz = policy.tz
    now = clock.now()
    now_s = math.floor(now.timestamp())
    refresher = PriceRefresher(state_dir, clock, client=client)
    named = [(n, s) for n, s in zip(SIDES, (tariff.import_side, tariff.export_side),
                                   strict=True)]
    cached = {spec.key: refresher.cache.load(spec.key)[0]
              for _, side in named for spec in side.providers}
    problems = refresher.bind(tariff, base_dir)
    if not offline:
        asyncio.run(refresher.refresh(now))
    sides: dict[str, Any] = {}
    ends: dict[str, int] = {}
    for name, side in named:
        known = side.known_until(now)
        if side.providers:
            ends[name] = now_s if known is None or side.series is None else int(
                known.timestamp())
        status = refresher.status.get(name)
        entry: dict[str, Any] = {
            "providers": [p.label for p in side.providers],
            "known_until": None if name not in ends else _iso(ends[name], tz),
        }
        if side.providers:
            due = (int(status.due_s) if status is not None and not offline and status.due_s
                   else next_publication_s(side.publication, now_s))
            entry |= {"next_refresh": _iso(due, tz),
                      "stale": bool(status.stale) if status is not None else False}
            if status is not None and status.last_error:
                entry["last_error"] = status.last_error
            entry["conversion"] = _conversions(side, refresher, tariff.currency)
        sides[name] = entry
    step = int(tariff.slot_s)
    first = now_s - now_s % step
    last = max(ends.values()) if ends else first + _FIXED_HORIZON_S
    slots = []
    for t_s in range(first, max(last, first + step), step):
        row: dict[str, Any] = {"start": _iso(t_s, tz), "end": _iso(t_s + step, tz)}
        for name, side in named:
            price, source = _slot(side, t_s, ends.get(name, 2**62), cached)
            row[name] = {"price_per_kwh": price, "source": source}
        slots.append(row)
    refresher.close()
    return {
        "policy": policy.name,
        "now": now.astimezone(tz).isoformat(),
        "currency": tariff.currency,
        "offline": offline,
        "sides": sides,
        "problems": problems,
        "slots": slots,
    }


def _price(cell: dict[str, Any]) -> str:
    value = cell["price_per_kwh"]
    return "-" if value is None else f"{value:.4f}"


def render_text(view: dict[str, Any], out: TextIO) -> None:
    """The view as lines for a person: a header per side, then one line per slot."""
    print(f"{view['policy']}: prices known at {view['now']} ({view['currency']}/kWh)", file=out)
    for name, side in view["sides"].items():
        if not side["providers"]:
            print(f"  {name}: fixed schedule (always known)", file=out)
            continue
        line = (f"  {name}: {', '.join(side['providers'])}; known until {side['known_until']}"
                f"; next refresh {side['next_refresh']}")
        if side.get("stale"):
            line += "; STALE"
        if side.get("last_error"):
            line += f"; last error: {side['last_error']}"
        print(line, file=out)
        for label, text in side.get("conversion", {}).items():
            print(f"    {label}: {text}", file=out)
    for problem in view["problems"]:
        print(f"  warning: {problem}", file=out)
    print(f"{'slot start':<26} {'import':>9}  {'source':<22} {'export':>9}  source", file=out)
    for row in view["slots"]:
        start = datetime.fromisoformat(row["start"])
        print(f"{start.isoformat(sep=' '):<26} {_price(row['import']):>9}  "
              f"{row['import']['source']:<22} {_price(row['export']):>9}  "
              f"{row['export']['source']}", file=out)
    if not view["slots"]:
        print("(no slot)", file=out)

