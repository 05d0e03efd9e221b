"""Energy-Charts (Fraunhofer ISE): day-ahead prices per bidding zone, EUR/MWh, no key.

``GET {base_url}/price?bzn=DE-LU&start=ISO&end=ISO`` answers ``{"unix_seconds": [...],
"price": [...], "unit": "EUR / MWh", "license_info": ...}``: slot starts only, so a slot lasts to
the next start (the last one as long as the one before). 15-minute slots since October 2025.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Annotated, Any, ClassVar
from zoneinfo import ZoneInfo

from pydantic import Field

from gridpilot.errors import PriceProviderError
from gridpilot.prices.base import PriceSlots, ProviderContext, Publication
from gridpilot.prices.http import request, response_json
from gridpilot.prices.settings import ProviderSettings
from gridpilot.prices.slots import build_slots, require_aware

__all__ = ["EnergyCharts", "EnergyChartsSettings"]

_DEFAULT_STEP_S = 900


class EnergyChartsSettings(ProviderSettings):
    base_url: str = "https://api.energy-charts.info"
    bzn: Annotated[str, Field(pattern=r"^[A-Z]{2}[A-Za-z0-9-]*$")] = "DE-LU"
    """The bidding zone: DE-LU, AT, CH, FR, NL, BE, DK1, ..."""


class EnergyCharts:
    """The ``energy_charts`` provider."""

    settings_model: ClassVar[type[EnergyChartsSettings]] = EnergyChartsSettings

    def __init__(self, settings: EnergyChartsSettings, context: ProviderContext) -> None:
        self.settings = settings
        self.context = context
        self.name = "energy_charts"

    def __repr__(self) -> str:
        return f"EnergyCharts(bzn={self.settings.bzn!r})"

    def publication(self) -> Publication:
        return Publication(time(13, 0), ZoneInfo("Europe/Berlin"))

    def fetch(self, start: datetime, end: datetime) -> PriceSlots:
        start_s, end_s = require_aware(self.name, start, end)
        response = request(
            self.name, self.context.client, "GET", f"{self.settings.base_url}/price",
            params={"bzn": self.settings.bzn, "start": _iso(start), "end": _iso(end)},
            timeout_s=self.settings.timeout_s, ok=(200, 404),
        )
        if response.status_code == 404:
            return build_slots(self.name, [], start_s=start_s, end_s=end_s, unit="per_mwh",
                               currency="EUR", source=f"energy_charts {self.settings.bzn}")
        body = response_json(self.name, response)
        starts, prices = self._series(body)
        rows: list[tuple[int, int, float]] = []
        for i, (begin, price) in enumerate(zip(starts, prices, strict=True)):
            if price is None:
                continue  # not published yet
            if i + 1 < len(starts):
                finish = starts[i + 1]
            else:
                finish = begin + (begin - starts[i - 1] if i else _DEFAULT_STEP_S)
            rows.append((begin, finish, float(price)))
        return build_slots(self.name, rows, start_s=start_s, end_s=end_s, unit="per_mwh",
                           currency="EUR", source=f"energy_charts {self.settings.bzn}")

    def _series(self, body: Any) -> tuple[list[int], list[float | None]]:
        if not isinstance(body, dict):
            raise PriceProviderError(self.name, "malformed answer: not an object")
        starts, prices = body.get("unix_seconds"), body.get("price")
        unit = str(body.get("unit", "EUR / MWh")).replace(" ", "").lower()
        if not (isinstance(starts, list) and isinstance(prices, list)
                and len(starts) == len(prices)):
            raise PriceProviderError(self.name, "malformed answer: 'unix_seconds' and 'price' "
                                                "are not lists of one length; retried")
        if unit != "eur/mwh":
            raise PriceProviderError(self.name, f"unexpected unit {body.get('unit')!r}")
        for s in starts:
            if isinstance(s, bool) or not isinstance(s, int):
                raise PriceProviderError(self.name, "malformed answer: a time is not an integer")
        for p in prices:
            if p is not None and (isinstance(p, bool) or not isinstance(p, int | float)):
                raise PriceProviderError(self.name, "malformed answer: a price is not a number")
        return list(starts), list(prices)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
