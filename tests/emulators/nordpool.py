"""An emulator of Nord Pool's data-portal API, ``GET /api/DayAheadPrices``.

Shapes from the answers pynordpool parses (and its test fixtures): query ``date`` (the CET
delivery day), ``market=DayAhead``, ``deliveryArea``, ``currency``; the answer has
``deliveryDateCET``, ``version``, ``updatedAt``, ``deliveryAreas``, ``market``,
``multiAreaEntries`` (``deliveryStart``/``deliveryEnd`` in UTC, ``entryPerArea`` per MWh),
``blockPriceAggregates``, ``currency``, ``exchangeRate``, ``areaStates``, ``areaAverages``.
A day not yet published answers 204 No Content. 15-minute slots from 2025-10-01, hourly before.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.emulators._server import EmulatorBase, RecordedRequest, Reply
from tests.emulators.price_model import price_mwh

__all__ = ["SEK_PER_EUR", "NordpoolEmulator"]

CET = ZoneInfo("Europe/Oslo")
SEK_PER_EUR = 11.5


def _z(s: int) -> str:
    return datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NordpoolEmulator(EmulatorBase):
    base_path = "/api"

    def __init__(self) -> None:
        super().__init__()
        self.publish_until_s = 2**40

    def route(self, req: RecordedRequest) -> Reply:
        if req.path != "/api/DayAheadPrices":
            return Reply.text("Not Found", 404)
        try:
            day = date.fromisoformat(req.query["date"])
            areas = req.query["deliveryArea"].split(",")
            currency = req.query.get("currency", "EUR")
        except (KeyError, ValueError):
            return Reply.json({"message": "The request is invalid."}, 400)
        d0 = int(datetime(day.year, day.month, day.day, tzinfo=CET).timestamp())
        nd = day + timedelta(days=1)
        d1 = int(datetime(nd.year, nd.month, nd.day, tzinfo=CET).timestamp())
        if d1 > self.publish_until_s:
            return Reply(204, b"")
        rate = SEK_PER_EUR if currency == "SEK" else 1.0
        step = 900 if day >= date(2025, 10, 1) else 3600
        entries: list[dict[str, Any]] = [
            {"deliveryStart": _z(s), "deliveryEnd": _z(s + step),
             "entryPerArea": {a: round(price_mwh(s) * rate, 2) for a in areas}}
            for s in range(d0, d1, step)
        ]
        return Reply.json({
            "deliveryDateCET": day.isoformat(), "version": 3,
            "updatedAt": _z(d0 - 11 * 3600), "deliveryAreas": areas, "market": "DayAhead",
            "multiAreaEntries": entries, "blockPriceAggregates": [], "currency": currency,
            "exchangeRate": rate, "areaStates": [{"state": "Final", "areas": areas}],
            "areaAverages": [{"areaCode": a, "price": 0.0} for a in areas],
        })
