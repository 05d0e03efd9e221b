"""The one deterministic wholesale price curve every price emulator serves (EUR or GBP per MWh).

A daily shape with a midday solar dip that goes negative on some days, so every emulator serves
negative prices; a function of the slot's start, so two emulators agree and a test can compute
the expected value of any slot.
"""

from __future__ import annotations

import math

__all__ = ["price_mwh"]


def price_mwh(start_s: int) -> float:
    """The price [per MWh] of the slot starting at ``start_s`` (UNIX seconds), 2 decimals."""
    hour = (start_s % 86_400) / 3600
    day = start_s // 86_400
    evening = 60.0 * math.exp(-((hour - 17.5) ** 2) / 4)
    solar = (55.0 + 25.0 * (day % 3)) * math.exp(-((hour - 12.0) ** 2) / 6)
    return round(70.0 + evening - solar + 5.0 * math.sin(start_s / 5400), 2)
