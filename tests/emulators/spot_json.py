"""Emulators of the two plain JSON day-ahead APIs: aWATTar and Energy-Charts.

aWATTar (awattar.de/services/api): ``GET /v1/marketdata?start=MS&end=MS``; answers
``{"object": "list", "data": [{"start_timestamp", "end_timestamp", "marketprice", "unit":
"Eur/MWh"}], "url": "/de/v1/marketdata"}`` with hourly slots overlapping the range.

Energy-Charts (api.energy-charts.info, OpenAPI): ``GET /price?bzn=DE-LU&start=&end=`` (ISO 8601
or a date); answers ``{"license_info", "unix_seconds": [...], "price": [...], "unit": "EUR /
MWh", "deprecated": false}``, 15-minute slots; no data: 404 ``{"detail": ...}``.
"""

from __future__ import annotations

from datetime import datetime

from tests.emulators._server import EmulatorBase, RecordedRequest, Reply
from tests.emulators.price_model import price_mwh

__all__ = ["AwattarEmulator", "EnergyChartsEmulator"]


class AwattarEmulator(EmulatorBase):
    def __init__(self) -> None:
        super().__init__()
        self.publish_until_s = 2**40

    def route(self, req: RecordedRequest) -> Reply:
        if req.path != "/v1/marketdata":
            return Reply.json({"error": "not found"}, 404)
        try:
            start = int(req.query["start"]) // 1000
            end = int(req.query.get("end", str((start + 86_400) * 1000))) // 1000
        except (KeyError, ValueError):
            return Reply.json({"error": "invalid start"}, 400)
        first = start - start % 3600
        data = [{"start_timestamp": s * 1000, "end_timestamp": (s + 3600) * 1000,
                 "marketprice": price_mwh(s), "unit": "Eur/MWh"}
                for s in range(first, min(end, self.publish_until_s), 3600)]
        return Reply.json({"object": "list", "data": data, "url": "/de/v1/marketdata"})


class EnergyChartsEmulator(EmulatorBase):
    def __init__(self) -> None:
        super().__init__()
        self.publish_until_s = 2**40

    def route(self, req: RecordedRequest) -> Reply:
        if req.path != "/price":
            return Reply.json({"detail": "Not Found"}, 404)
        if req.query.get("bzn") not in ("DE-LU", "AT", "NL"):
            return Reply.json({"detail": [{"msg": "value is not a valid enumeration member"}]},
                              422)
        try:
            start = int(datetime.fromisoformat(req.query["start"].replace("Z", "+00:00"))
                        .timestamp())
            end = int(datetime.fromisoformat(req.query["end"].replace("Z", "+00:00"))
                      .timestamp())
        except (KeyError, ValueError):
            return Reply.json({"detail": "invalid start/end"}, 422)
        first = start - start % 900
        starts = list(range(first, min(end, self.publish_until_s), 900))
        if not starts:
            return Reply.json({"detail": "No data for this period"}, 404)
        return Reply.json({
            "license_info": "CC BY 4.0 (creativecommons.org/licenses/by/4.0) from "
                            "Bundesnetzagentur | SMARD.de",
            "unix_seconds": starts, "price": [price_mwh(s) for s in starts],
            "unit": "EUR / MWh", "deprecated": False,
        })
