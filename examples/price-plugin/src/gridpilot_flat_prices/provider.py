"""``json_slots``: prices from a JSON list of slots, ``[{"start", "end", "price"}]``."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, ClassVar, Literal

from gridpilot.errors import PriceProviderError
from gridpilot.prices.base import PriceSlots, ProviderContext, Publication
from gridpilot.prices.http import request, response_json
from gridpilot.prices.settings import ProviderSettings
from gridpilot.prices.slots import build_slots, epoch_s, require_aware


class JsonSlotsSettings(ProviderSettings):
    """``base_url`` and ``timeout_s`` come from ProviderSettings; add your own keys here."""

    path: str = "/prices.json"
    unit: Literal["per_mwh", "per_kwh", "minor_per_kwh"] = "per_kwh"
    currency: str = "EUR"
    publish_at: time = time(15, 0)


class JsonSlots:
    settings_model: ClassVar[type[JsonSlotsSettings]] = JsonSlotsSettings

    def __init__(self, settings: JsonSlotsSettings, context: ProviderContext) -> None:
        self.settings = settings
        self.context = context
        self.name = "json_slots"

    def publication(self) -> Publication:
        return Publication(self.settings.publish_at, self.context.tz)

    def fetch(self, start: datetime, end: datetime) -> PriceSlots:
        start_s, end_s = require_aware(self.name, start, end)
        # request() turns timeouts, resets and HTTP errors into PriceProviderError.
        response = request(self.name, self.context.client, "GET",
                           self.settings.base_url + self.settings.path,
                           timeout_s=self.settings.timeout_s)
        body = response_json(self.name, response)
        if not isinstance(body, list):
            raise PriceProviderError(self.name, "expected a JSON list of slots")
        rows = [self._row(item) for item in body]
        # build_slots sorts, refuses overlaps and non-finite prices, and clips to the range.
        return build_slots(self.name, rows, start_s=start_s, end_s=end_s,
                           unit=self.settings.unit, currency=self.settings.currency,
                           source=f"json_slots {self.settings.path}")

    def _row(self, item: Any) -> tuple[int, int, float]:
        try:
            return (epoch_s(datetime.fromisoformat(item["start"])),
                    epoch_s(datetime.fromisoformat(item["end"])), float(item["price"]))
        except (KeyError, TypeError, ValueError):
            raise PriceProviderError(self.name, f"malformed slot {item!r}") from None
