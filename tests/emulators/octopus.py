"""An emulator of the Octopus Energy public REST API (unit rates and grid supply points).

Shapes from the public API docs (developer.octopus.energy/rest/reference):
``GET /v1/products/{product}/electricity-tariffs/{tariff}/standard-unit-rates/`` with
``period_from``, ``period_to``, ``page_size`` (default 100, max 1500) and ``page``; the answer is
``{"count", "next", "previous", "results"}``, results newest first, each
``{"value_exc_vat", "value_inc_vat", "valid_from", "valid_to", "payment_method"}`` in p/kWh;
``GET /v1/industry/grid-supply-points/?postcode=`` answers ``{"count", "next", "previous",
"results": [{"group_id": "_C"}]}``. An unknown product answers 404 ``{"detail": "Not found."}``.

Products: ``AGILE-24-10-01`` and ``AGILE-OUTGOING-19-05-13`` (half-hourly, published for the
next day at ``publish_until_s``), ``GO-VAR-22-10-14`` (two rates a day: 5 p from 00:30 to 04:30
UK time), ``FIX-12M-24-01-01`` (one open-ended rate per payment method).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.emulators._server import EmulatorBase, RecordedRequest, Reply
from tests.emulators.price_model import price_mwh

__all__ = ["AGILE", "FIXED", "GO", "OUTGOING", "OctopusEmulator", "agile_p", "outgoing_p"]

AGILE = "AGILE-24-10-01"
OUTGOING = "AGILE-OUTGOING-19-05-13"
GO = "GO-VAR-22-10-14"
FIXED = "FIX-12M-24-01-01"
LONDON = ZoneInfo("Europe/London")
POSTCODES = {"SW1A1AA": "_C", "M11AE": "_G"}


def agile_p(start_s: int) -> float:
    """Agile import p/kWh inc. VAT for a half-hour (the wholesale curve / 10 * 1.05)."""
    return round(price_mwh(start_s) / 10 * 1.05, 4)


def outgoing_p(start_s: int) -> float:
    return round(price_mwh(start_s) / 10 * 0.9, 4)


def _iso(s: int) -> str:
    return datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


class OctopusEmulator(EmulatorBase):
    def __init__(self) -> None:
        super().__init__()
        self.publish_until_s = 2**40
        """Half-hourly rates start before this (a late publication keeps it back)."""

    def route(self, req: RecordedRequest) -> Reply:
        parts = [p for p in req.path.split("/") if p]
        if parts[:3] == ["v1", "industry", "grid-supply-points"]:
            postcode = req.query.get("postcode", "").replace(" ", "").upper()
            found = [{"group_id": POSTCODES[postcode]}] if postcode in POSTCODES else []
            return Reply.json({"count": len(found), "next": None, "previous": None,
                               "results": found})
        if (len(parts) == 6 and parts[:2] == ["v1", "products"]
                and parts[3] == "electricity-tariffs" and parts[5] == "standard-unit-rates"):
            return self._rates(req, parts[2], parts[4])
        return Reply.json({"detail": "Not found."}, 404)

    def _rates(self, req: RecordedRequest, product: str, tariff: str) -> Reply:
        if product not in (AGILE, OUTGOING, GO, FIXED) or not tariff.startswith(
                f"E-1R-{product}-"):
            return Reply.json({"detail": "Not found."}, 404)
        try:
            start = _parse(req.query["period_from"])
            end = _parse(req.query.get("period_to", _iso(start + 86_400)))
            size = min(int(req.query.get("page_size", "100")), 1500)
            page = int(req.query.get("page", "1"))
        except (KeyError, ValueError):
            return Reply.json({"period_from": ["Enter a valid date/time."]}, 400)
        rates = self._all_rates(product, start, end)
        rates.sort(key=lambda r: r["valid_from"] or "", reverse=True)  # newest first
        chunk = rates[(page - 1) * size: page * size]
        more = page * size < len(rates)
        query = "&".join(f"{k}={v}" for k, v in {**req.query, "page": str(page + 1)}.items())
        base = f"{self.url}{req.path}"
        return Reply.json({
            "count": len(rates),
            "next": f"{base}?{query}" if more else None,
            "previous": None,
            "results": chunk,
        })

    def _all_rates(self, product: str, start: int, end: int) -> list[dict[str, Any]]:
        if product == FIXED:
            return [
                {"value_exc_vat": 23.5, "value_inc_vat": 24.675,
                 "valid_from": "2024-01-01T00:00:00Z", "valid_to": None,
                 "payment_method": "DIRECT_DEBIT"},
                {"value_exc_vat": 25.0, "value_inc_vat": 26.25,
                 "valid_from": "2024-01-01T00:00:00Z", "valid_to": None,
                 "payment_method": "NON_DIRECT_DEBIT"},
            ]
        if product == GO:
            return self._go(start, end)
        out = []
        first = start - start % 1800
        price = agile_p if product == AGILE else outgoing_p
        for s in range(first, min(end, self.publish_until_s), 1800):
            value = price(s)
            out.append({"value_exc_vat": round(value / 1.05, 4), "value_inc_vat": value,
                        "valid_from": _iso(s), "valid_to": _iso(s + 1800),
                        "payment_method": None})
        return out

    def _go(self, start: int, end: int) -> list[dict[str, Any]]:
        out = []
        day = datetime.fromtimestamp(start, LONDON).date() - timedelta(days=1)
        while True:
            midnight = datetime(day.year, day.month, day.day, tzinfo=LONDON)
            cheap_from = int((midnight + timedelta(minutes=30)).timestamp())
            cheap_to = int((midnight + timedelta(hours=4, minutes=30)).timestamp())
            nxt = day + timedelta(days=1)
            next_cheap = int(datetime(nxt.year, nxt.month, nxt.day, 0, 30,
                                      tzinfo=LONDON).timestamp())
            for s, e, v in ((cheap_from, cheap_to, 8.5), (cheap_to, next_cheap, 27.81)):
                if e > start and s < end:
                    out.append({"value_exc_vat": round(v / 1.05, 3), "value_inc_vat": v,
                                "valid_from": _iso(s), "valid_to": _iso(e),
                                "payment_method": None})
            if cheap_to >= end:
                return out
            day = nxt
