"""Retail prices composed from a provider's series: pure functions over numpy arrays.

A provider answers in its own unit (EUR/MWh, p/kWh, SEK/kWh). The tariff needs its currency per
kWh, so a slot's price is, in this order::

    base   = value / unit divisor (1000 for per MWh, 100 for minor units) * fx_rate
    retail = (base * multiply + add_per_kwh + fee(t)) * (1 + vat_pct / 100)

VAT is charged on the whole retail price (energy, markup and grid fees), as on German and Dutch
bills; a tariff whose VAT is already in the provider's price (Octopus ``value_inc_vat``) leaves
``vat_pct`` at 0. ``fee(t)`` is the time-of-use fee of the period that applies at the slot's start
(the last matching period wins, as in the fixed schedule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.calendar.localtime import LocalFields
from gridpilot.calendar.spec import CalendarSpec
from gridpilot.errors import GridpilotError
from gridpilot.prices.base import PriceUnit

__all__ = [
    "UNIT_DIVISOR",
    "Composition",
    "CurrencyMismatchError",
    "compose",
    "period_values",
    "to_tariff_per_kwh",
]

UNIT_DIVISOR: dict[PriceUnit, float] = {"per_mwh": 1000.0, "per_kwh": 1.0, "minor_per_kwh": 100.0}
_UNIT_TEXT: dict[PriceUnit, str] = {"per_mwh": "/MWh", "per_kwh": "/kWh",
                                    "minor_per_kwh": " minor units/kWh"}


class CurrencyMismatchError(GridpilotError):
    """The provider's currency is not the tariff's and no ``fx_rate`` converts it."""


@dataclass(frozen=True, slots=True)
class Composition:
    """A ``compose:`` block; the identity by default."""

    multiply: float = 1.0
    add_per_kwh: float = 0.0
    """Markup [tariff currency/kWh], before VAT."""
    vat_pct: float = 0.0
    fx_rate: float | None = None
    """Tariff currency per unit of the provider's currency; ``None``: the currencies must match."""
    fees: tuple[tuple[CalendarSpec, float], ...] = ()
    """Time-of-use fees [tariff currency/kWh], before VAT; the last matching period wins."""

    def describe(self, unit: PriceUnit, provider_currency: str, currency: str) -> str:
        """How a provider's value becomes the tariff's price, for the trace."""
        steps = [f"{provider_currency}{_UNIT_TEXT[unit]}"]
        if UNIT_DIVISOR[unit] != 1.0:
            steps.append(f"/ {UNIT_DIVISOR[unit]:g}")
        if self.fx_rate is not None and provider_currency != currency:
            steps.append(f"* {self.fx_rate:g} {currency}/{provider_currency}")
        if self.multiply != 1.0:
            steps.append(f"* {self.multiply:g}")
        if self.add_per_kwh:
            steps.append(f"+ {self.add_per_kwh:g}")
        if self.fees:
            steps.append("+ time-of-use fees")
        if self.vat_pct:
            steps.append(f"+ {self.vat_pct:g} % VAT")
        return " ".join(steps) + f" = {currency}/kWh"


def to_tariff_per_kwh(value: FloatArray, unit: PriceUnit, provider_currency: str,
                      currency: str, fx_rate: float | None) -> FloatArray:
    """Provider values in the tariff's currency per kWh (no markup, fees or VAT).

    Raises :class:`CurrencyMismatchError` when the currencies differ and ``fx_rate`` is unset:
    prices in the wrong currency are never guessed at.
    """
    rate = 1.0
    if provider_currency.upper() != currency.upper():
        if fx_rate is None:
            raise CurrencyMismatchError(
                f"the provider prices in {provider_currency}, the tariff is in {currency}; set "
                f"'compose: {{fx_rate: <{currency} per {provider_currency}>}}' or use the "
                "tariff's currency"
            )
        rate = fx_rate
    return np.asarray(value, dtype=np.float64) / UNIT_DIVISOR[unit] * rate


def period_values(t_s: IntArray, tz: ZoneInfo,
                  periods: Sequence[tuple[CalendarSpec, float]],
                  default: float) -> FloatArray:
    """The value of the last period matching each instant, ``default`` where none does
    (``nan`` for "no value")."""
    out = np.full(t_s.shape[0], default, dtype=np.float64)
    if periods and t_s.shape[0]:
        fields = LocalFields.from_unix(t_s, tz)
        for cal, value in periods:
            out[cal.mask(fields)] = value
    return out


def compose(base_per_kwh: FloatArray, start_s: IntArray, tz: ZoneInfo,
            c: Composition) -> FloatArray:
    """Retail prices of slots starting at ``start_s`` from their base price [currency/kWh]."""
    fees = period_values(start_s, tz, c.fees, 0.0)
    return (base_per_kwh * c.multiply + c.add_per_kwh + fees) * (1.0 + c.vat_pct / 100.0)
