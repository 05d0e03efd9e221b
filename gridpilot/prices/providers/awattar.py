"""aWATTar (DE/AT): EPEX day-ahead prices, EUR/MWh, no key.

``GET {base_url}/v1/marketdata?start=MS&end=MS`` (epoch milliseconds) answers
``{"object": "list", "data": [{"start_timestamp", "end_timestamp", "marketprice", "unit"}]}``.
Fair use: about 100 requests a day per address.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import model_validator

from gridpilot.errors import PriceProviderError
from gridpilot.prices.base import PriceSlots, ProviderContext, Publication
from gridpilot.prices.http import request, response_json
from gridpilot.prices.settings import ProviderSettings
from gridpilot.prices.slots import build_slots, require_aware

__all__ = ["Awattar", "AwattarSettings"]


class AwattarSettings(ProviderSettings):
    country: Literal["de", "at"] = "de"
    """Germany (``api.awattar.de``) or Austria (``api.awattar.at``)."""
    base_url: str = ""
    """Defaults to the country's host."""

    @model_validator(mode="before")
    @classmethod
    def _country_host(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("base_url"):
            return {**data, "base_url": f"https://api.awattar.{data.get('country', 'de')}"}
        return data


class Awattar:
    """The ``awattar`` provider."""

    settings_model: ClassVar[type[AwattarSettings]] = AwattarSettings

    def __init__(self, settings: AwattarSettings, context: ProviderContext) -> None:
        self.settings = settings
        self.context = context
        self.name = "awattar"

    def __repr__(self) -> str:
        return f"Awattar(country={self.settings.country!r})"

    def publication(self) -> Publication:
        return Publication(time(14, 0), ZoneInfo("Europe/Berlin"))

    def fetch(self, start: datetime, end: datetime) -> PriceSlots:
        start_s, end_s = require_aware(self.name, start, end)
        response = request(
            self.name, self.context.client, "GET", f"{self.settings.base_url}/v1/marketdata",
            params={"start": str(start_s * 1000), "end": str(end_s * 1000)},
            timeout_s=self.settings.timeout_s,
        )
        body = response_json(self.name, response)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise PriceProviderError(self.name, "malformed answer: no 'data' list; the fetch "
                                                "is retried")
        rows = [self._row(item) for item in data]
        return build_slots(self.name, rows, start_s=start_s, end_s=end_s, unit="per_mwh",
                           currency="EUR", source=f"awattar {self.settings.country}")

    def _row(self, item: Any) -> tuple[int, int, float]:
        try:
            begin, finish, price = (item["start_timestamp"], item["end_timestamp"],
                                    item["marketprice"])
            unit = str(item.get("unit", "Eur/MWh")).replace(" ", "").lower()
        except (KeyError, TypeError, AttributeError):
            raise PriceProviderError(self.name, "malformed market data entry; the fetch is "
                                                "retried") from None
        numbers = (begin, finish, price)
        if any(isinstance(n, bool) or not isinstance(n, int | float) for n in numbers):
            raise PriceProviderError(self.name, "malformed market data entry (not numbers)")
        if unit != "eur/mwh":
            raise PriceProviderError(self.name, f"unexpected unit {item.get('unit')!r}")
        return int(begin) // 1000, int(finish) // 1000, float(price)
