"""An emulator of the Tibber GraphQL API (``POST /v1-beta/gql``), the priceInfo query.

From developer.tibber.com: bearer token; ``viewer { homes { id currentSubscription { priceInfo(
resolution: QUARTER_HOURLY|HOURLY) { today { total startsAt currency } tomorrow {...} } } } }``;
``startsAt`` ISO 8601 with the home's offset; ``total`` in the home's currency per kWh. Tomorrow is
empty until ``publish_until_s`` covers it. A wrong token: HTTP 400 with GraphQL ``errors``
(``extensions.code`` ``UNAUTHENTICATED``). The query text is matched loosely (the resolution
argument and the fields asked for).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.emulators._server import EmulatorBase, RecordedRequest, Reply
from tests.emulators.price_model import price_mwh

__all__ = ["TibberEmulator", "tibber_total"]

OSLO = ZoneInfo("Europe/Oslo")


def tibber_total(start_s: int) -> float:
    """NOK/kWh: spot * 11 / 1000 plus 0.45 grid and tax."""
    return round(price_mwh(start_s) * 11 / 1000 + 0.45, 4)


class TibberEmulator(EmulatorBase):
    base_path = "/v1-beta/gql"

    def __init__(self, *, token: str = "tibber-secret-token") -> None:
        super().__init__()
        self.token = token
        self.now_s = 0
        """The emulator's "today" is the Oslo day of this moment."""
        self.publish_until_s = 2**40
        self.home_id = "96a14971-525a-4420-aae9-e5aedaa129ff"

    def route(self, req: RecordedRequest) -> Reply:
        if req.method != "POST" or req.path != "/v1-beta/gql":
            return Reply.text("Not Found", 404)
        if req.headers.get("authorization") != f"Bearer {self.token}":
            return Reply.json({"errors": [{"message": "invalid token",
                                           "extensions": {"code": "UNAUTHENTICATED"}}]}, 400)
        query = str((req.json() or {}).get("query", ""))
        match = re.search(r"priceInfo\s*\(\s*resolution:\s*(\w+)\s*\)", query)
        resolution = match.group(1) if match else "HOURLY"
        if resolution not in ("HOURLY", "QUARTER_HOURLY"):
            return Reply.json({"errors": [{"message": f"invalid resolution {resolution}"}]}, 400)
        step = 900 if resolution == "QUARTER_HOURLY" else 3600
        today = datetime.fromtimestamp(self.now_s, OSLO).date()
        days = [self._day(today, step), self._day(today + timedelta(days=1), step)]
        return Reply.json({"data": {"viewer": {"homes": [{
            "id": self.home_id,
            "currentSubscription": {"priceInfo": {"today": days[0], "tomorrow": days[1]}},
        }]}}})

    def _day(self, day: Any, step: int) -> list[dict[str, Any]]:
        d0 = int(datetime(day.year, day.month, day.day, tzinfo=OSLO).timestamp())
        nd = day + timedelta(days=1)
        d1 = int(datetime(nd.year, nd.month, nd.day, tzinfo=OSLO).timestamp())
        if d1 > self.publish_until_s:
            return []
        return [{"total": tibber_total(s), "currency": "NOK",
                 "startsAt": datetime.fromtimestamp(s, OSLO).isoformat(timespec="milliseconds")}
                for s in range(d0, d1, step)]
