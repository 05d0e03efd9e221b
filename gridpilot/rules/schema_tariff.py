"""The tariff section: time-of-use periods, published dynamic prices and charges."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, Strict, ValidationInfo, field_validator

from gridpilot.calendar.text import parse_clock_min
from gridpilot.models import StrictModel
from gridpilot.rules.schema_base import Price, StrList, check_calendar_text

__all__ = ["DynamicPrices", "PriceSchedule", "TariffPeriod", "TariffSpec"]


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


class PriceSchedule(StrictModel):
    default: Price | None = None
    """Price [currency/kWh] wherever no period applies; without it a gap is an error."""
    # pydantic copies mutable defaults per instance (ruff cannot see the BaseModel ancestry).
    periods: list[TariffPeriod] = []  # noqa: RUF012
    dynamic: DynamicPrices | None = None


class TariffSpec(StrictModel):
    currency: Annotated[str, Field(min_length=1, max_length=8)] = "GBP"
    import_: PriceSchedule = Field(alias="import")
    export: PriceSchedule = PriceSchedule(default=0.0)
    standing_charge_per_day: Annotated[float, Strict(), Field(ge=0, le=10_000)] = 0.0
    demand_charge_per_kw: Annotated[float, Strict(), Field(ge=0, le=10_000)] = 0.0
    """Charged per kW of the highest grid import of each calendar month (site time)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )
