"""Nord Pool day-ahead prices per delivery area, from the public data-portal JSON API.

``GET {base_url}/DayAheadPrices?date=YYYY-MM-DD&market=DayAhead&deliveryArea=SE3&currency=SEK``,
one delivery day (CET) per request, as pynordpool sends it. ``multiAreaEntries`` hold
``deliveryStart``/``deliveryEnd`` (UTC) and ``entryPerArea`` in the currency per MWh; 204 No
Content means the day is not published yet. pynordpool itself is not used: it is asyncio over
aiohttp with its own session and a fixed host, and retries with 7-second sleeps of its own, so
neither the injected httpx transport nor the injected clock could reach it.

Mind Nord Pool's terms of use for the data.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import Field

from gridpilot.errors import PriceProviderError
from gridpilot.prices.base import PriceSlots, ProviderContext, Publication
from gridpilot.prices.http import request, response_json
from gridpilot.prices.settings import ProviderSettings
from gridpilot.prices.slots import build_slots, epoch_s, require_aware

__all__ = ["Nordpool", "NordpoolSettings"]

CET = ZoneInfo("Europe/Oslo")
"""Delivery days are CET/CEST days."""
_MAX_DAYS = 400


class NordpoolSettings(ProviderSettings):
    base_url: str = "https://dataportal-api.nordpoolgroup.com/api"
    area: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{1,5}$")]
    """The delivery area: SE1-SE4, NO1-NO5, FI, DK1, DK2, EE, LV, LT, ..."""
    currency: Literal["EUR", "SEK", "NOK", "DKK", "PLN", "RON", "BGN", "GBP"] = "EUR"


class Nordpool:
    """The ``nordpool`` provider."""

    settings_model: ClassVar[type[NordpoolSettings]] = NordpoolSettings

    def __init__(self, settings: NordpoolSettings, context: ProviderContext) -> None:
        self.settings = settings
        self.context = context
        self.name = "nordpool"

    def __repr__(self) -> str:
        return f"Nordpool(area={self.settings.area!r}, currency={self.settings.currency!r})"

    def publication(self) -> Publication:
        return Publication(time(13, 0), CET)

    def fetch(self, start: datetime, end: datetime) -> PriceSlots:
        start_s, end_s = require_aware(self.name, start, end)
        first = start.astimezone(CET).date()
        last = (end - timedelta(microseconds=1)).astimezone(CET).date()
        if (last - first).days > _MAX_DAYS:
            raise PriceProviderError(self.name, f"range over {_MAX_DAYS} days; fetch less")
        rows: list[tuple[int, int, float]] = []
        day = first
        while day <= last:
            rows.extend(self._day(day.isoformat()))
            day += timedelta(days=1)
        return build_slots(self.name, rows, start_s=start_s, end_s=end_s, unit="per_mwh",
                           currency=self.settings.currency,
                           source=f"nordpool {self.settings.area}")

    def _day(self, date: str) -> list[tuple[int, int, float]]:
        area = self.settings.area
        response = request(
            self.name, self.context.client, "GET", f"{self.settings.base_url}/DayAheadPrices",
            params={"date": date, "market": "DayAhead", "deliveryArea": area,
                    "currency": self.settings.currency},
            timeout_s=self.settings.timeout_s, ok=(200, 204),
        )
        if response.status_code == 204 or not response.content.strip():
            return []  # the day is not published yet
        body = response_json(self.name, response)
        entries = body.get("multiAreaEntries") if isinstance(body, dict) else None
        if not isinstance(entries, list):
            raise PriceProviderError(self.name, f"malformed answer for {date}: no "
                                                "'multiAreaEntries'; the fetch is retried")
        if body.get("currency", self.settings.currency) != self.settings.currency:
            raise PriceProviderError(self.name, f"asked for {self.settings.currency}, got "
                                                f"{body.get('currency')!r}")
        return [self._row(entry, area, date) for entry in entries]

    def _row(self, entry: Any, area: str, date: str) -> tuple[int, int, float]:
        try:
            value = entry["entryPerArea"][area]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(value)
            return (_utc(entry["deliveryStart"]), _utc(entry["deliveryEnd"]), float(value))
        except (KeyError, TypeError, ValueError):
            raise PriceProviderError(self.name, f"malformed entry for {area} on {date}; "
                                                "the fetch is retried") from None


def _utc(text: Any) -> int:
    if not isinstance(text, str):
        raise TypeError(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(text)
    return epoch_s(moment)
