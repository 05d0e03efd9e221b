"""The import price at the tick, for rules and guards that test ``price_below``/``price_above``."""

from __future__ import annotations

import math

import numpy as np

from gridpilot.engine.model import EngineModel
from gridpilot.engine.state import PriceOutlook, SiteState

__all__ = ["price_now", "price_slot_end_s"]


def price_now(model: EngineModel, state: SiteState, t_s: float) -> float | None:
    """The import price at ``t_s`` [UNIX s]: from the state's outlook where it covers ``t_s``,
    else from the tariff; ``None`` when neither knows it."""
    prices = state.prices
    memo = model.price_memo
    if memo is not None and memo[0] is prices:
        # The same outlook as the last tick (the usual case): its first slot is remembered.
        if memo[1] <= t_s < memo[2]:
            return memo[3]
    else:
        n = len(prices)
        if n:
            end_s = float(prices.end_s)
            lo_s = float(prices.start_s[0])
            hi_s = end_s if n == 1 else min(end_s, float(prices.start_s[1]))
            first = float(prices.import_per_kwh[0])
            model.price_memo = (prices, lo_s, hi_s, first)
            if lo_s <= t_s < hi_s:
                return first
    n = len(prices)
    if n and prices.start_s[0] <= t_s < prices.end_s:
        if n == 1 or t_s < prices.start_s[1]:
            return float(prices.import_per_kwh[0])
        # An outlook built earlier than this tick: find the slot holding t.
        i = int(np.searchsorted(prices.start_s, t_s, side="right")) - 1
        return float(prices.import_per_kwh[i])
    if not model.needs_price:
        return None
    try:
        return model.tariff.import_price_at(state.time)
    except Exception:
        # An unknown price makes price conditions false; it must not stop the tick.
        return None


def price_slot_end_s(model: EngineModel, prices: PriceOutlook, t_s: float) -> float:
    """When the price :func:`price_now` gives at ``t_s`` may next change [UNIX s]: the end of the
    outlook's slot holding ``t_s``; ``-inf`` (now) when the outlook does not cover ``t_s`` and the
    price came from the tariff."""
    memo = model.price_memo
    if memo is not None and memo[0] is prices and memo[1] <= t_s < memo[2]:
        return memo[2]
    n = len(prices)
    if not (n and prices.start_s[0] <= t_s < prices.end_s):
        return -math.inf
    i = int(np.searchsorted(prices.start_s, t_s, side="right"))
    return float(prices.end_s) if i >= n else float(prices.start_s[i])
