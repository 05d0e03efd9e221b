"""The tariff section: time-of-use periods, published dynamic prices and charges."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, Strict, ValidationInfo, field_validator, model_validator

from gridpilot.calendar.text import parse_clock_min
from gridpilot.calendar.when import StrList, check_calendar_text
from gridpilot.models import Price, StrictModel
from gridpilot.timeutil import parse_duration_s

__all__ = [
    "Compose",
    "DynamicPrices",
    "PriceSchedule",
    "ProviderRef",
    "TariffPeriod",
    "TariffSpec",
]


class TariffPeriod(StrictModel):
    """One time-of-use period. Where periods overlap, the **last** matching period wins."""

    name: str = ""
    price: Price
    """Price [currency/kWh] while the period applies."""
    time: str | None = None
    """``"HH:MM-HH:MM"`` local time, end exclusive, may cross midnight."""
    days: StrList | None = None
    months: StrList | None = None
    dates: StrList | None = None

    @field_validator("time", "days", "months", "dates")
    @classmethod
    def _calendar_ok(cls, value: StrList | None, info: ValidationInfo) -> StrList | None:
        return check_calendar_text(info.field_name, value)


class DynamicPrices(StrictModel):
    """A published price series read from a file. Where it has gaps, the fixed schedule applies."""

    file: str
    """Path, relative to the policy file."""
    format: Literal["csv", "octopus"] = "csv"
    """``csv``: ``timestamp,price`` columns; ``octopus``: the Agile API JSON (``results[]``)."""
    column: str = "price"
    """CSV column holding the price."""
    timestamp_column: str = "timestamp"
    unit: Literal["per_kwh", "per_100_kwh"] = "per_kwh"
    """CSV only: ``per_100_kwh`` for prices in pence or cents per kWh. Octopus JSON is always
    read as p/kWh (``value_inc_vat``) and divided by 100."""
    published_at: str = "16:00"
    """Local time of day at which the next day's prices are published (day-ahead)."""
    covers_until: str = "23:00"
    """Local time of day on the *next* day up to which a publication covers. At time ``t`` the
    series is known up to ``covers_until`` on the day after the latest publication at or before
    ``t`` (and never past the end of the file), so a backtest only sees what was known."""

    @field_validator("published_at", "covers_until")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        parse_clock_min(value)
        return value


# Open: the keys besides these are the provider's own settings, checked when compiled.
class ProviderRef(StrictModel, extra="allow"):
    """A live price provider: ``type`` names it, every other key is one of its settings (see
    docs/tariffs.md); the provider floor validates those against the type's settings model."""

    type: Annotated[str, Field(min_length=1)]
    """The provider type: ``octopus``, ``entsoe``, ``nordpool``, ``tibber``, ``awattar``,
    ``energy_charts`` or a plugin's."""
    published_at: str | None = None
    """Site-local ``HH:MM`` from which the next day's prices count as known (live and in
    backtests); default: the provider's own publication time (docs/tariffs.md)."""
    covers_until: str | None = None
    """Site-local ``HH:MM`` on the next day up to which a publication covers; default: the
    provider's (the end of the next day, 23:00 for Octopus Agile)."""
    stale_after: str = "3h"
    """How long after the publication time tomorrow's prices may be missing before the run
    reports them stale (trace, audit, ``/metrics``); a duration such as ``90min``."""

    @field_validator("published_at", "covers_until")
    @classmethod
    def _clock_time(cls, value: str | None) -> str | None:
        if value is not None:
            parse_clock_min(value)
        return value

    @field_validator("stale_after")
    @classmethod
    def _duration(cls, value: str) -> str:
        if parse_duration_s(value) <= 0:
            raise ValueError("stale_after must be a positive duration such as '3h'")
        return value

    @property
    def settings(self) -> dict[str, Any]:
        """The provider's own settings (every key but the ones above)."""
        return dict(self.model_extra or {})


class Compose(StrictModel):
    """How a provider's price becomes the tariff's: ``(price * multiply + add_per_kwh + fee)
    * (1 + vat_pct / 100)``, after converting the provider's unit (EUR/MWh, p/kWh) to the
    tariff's currency per kWh."""

    multiply: Annotated[float, Strict(), Field(ge=-100, le=100)] = 1.0
    add_per_kwh: Price = 0.0
    """Markup [currency/kWh] before VAT."""
    vat_pct: Annotated[float, Field(ge=0, le=100)] = 0.0
    """VAT on the whole price (energy, markup and fees) [%]; 0 when the provider's price
    includes it (Octopus ``value_inc_vat``)."""
    fx_rate: Annotated[float, Field(gt=0, le=1e6)] | None = None
    """Tariff currency per unit of the provider's currency, when they differ (else an error)."""
    # pydantic copies mutable defaults per instance (ruff cannot see the BaseModel ancestry).
    fees: list[TariffPeriod] = []  # noqa: RUF012
    """Time-of-use fees [currency/kWh] before VAT, in the period syntax (``price`` is the
    fee); where they overlap the last matching one wins, and none applies outside them."""


class PriceSchedule(StrictModel):
    default: Price | None = None
    """Price [currency/kWh] wherever no period applies; without it a gap is an error."""
    # pydantic copies mutable defaults per instance (ruff cannot see the BaseModel ancestry).
    periods: list[TariffPeriod] = []  # noqa: RUF012
    dynamic: DynamicPrices | None = None
    provider: ProviderRef | None = None
    """Live prices from one provider; where it has no slot the fixed schedule applies."""
    providers: Annotated[list[ProviderRef], Field(min_length=1)] | None = None
    """Live prices from providers tried in order: a later one fills only what the earlier
    ones lack."""
    compose: Compose | None = None
    """Turns the provider's price into the retail price (only with ``provider(s)``)."""

    @model_validator(mode="after")
    def _one_source(self) -> PriceSchedule:
        if self.provider is not None and self.providers is not None:
            raise ValueError("give 'provider' or 'providers', not both")
        live = self.provider is not None or self.providers is not None
        if live and self.dynamic is not None:
            raise ValueError("give 'dynamic' (a file) or 'provider(s)' (live), not both")
        if self.compose is not None and not live:
            raise ValueError("'compose' needs 'provider' or 'providers' to compose from")
        return self

    @property
    def provider_refs(self) -> tuple[ProviderRef, ...]:
        """The live providers in failover order (none for a fixed or file schedule)."""
        if self.provider is not None:
            return (self.provider,)
        return tuple(self.providers or ())


class TariffSpec(StrictModel, populate_by_name=True):
    currency: Annotated[str, Field(min_length=1, max_length=8)] = "GBP"
    import_: PriceSchedule = Field(alias="import")
    export: PriceSchedule = PriceSchedule(default=0.0)
    standing_charge_per_day: Annotated[float, Strict(), Field(ge=0, le=10_000)] = 0.0
    demand_charge_per_kw: Annotated[float, Strict(), Field(ge=0, le=10_000)] = 0.0
    """Charged per kW of the highest grid import of each calendar month (site time)."""
