"""An emulator of the ENTSO-E Transparency Platform REST API, day-ahead prices (A44).

From the Transparency Platform's API guide and implementation guide: ``GET /api`` with
``securityToken``, ``documentType=A44``, ``in_Domain``/``out_Domain`` (the same EIC),
``periodStart``/``periodEnd`` as ``yyyyMMddHHmm`` UTC. Answers a ``Publication_MarketDocument``
(namespace ``...publicationdocument:7:3``) with one ``TimeSeries`` per delivery day (CET), its
``Period`` giving ``timeInterval`` (UTC) and ``resolution``, and ``Point``s of ``position`` and
``price.amount`` in EUR/MWh, curve type A03 (a position whose price equals the previous one is
left out). PT60M before 2025-10-01, PT15M from then; ``both_resolutions`` adds the hourly series
beside the 15-minute one, as some zones publish. Nothing in range: an
``Acknowledgement_MarketDocument`` with reason 999. A wrong token: 401 with an HTML page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.emulators._server import EmulatorBase, RecordedRequest, Reply
from tests.emulators.price_model import price_mwh

__all__ = ["QUARTER_HOURS_FROM", "EntsoeEmulator"]

CET = ZoneInfo("Europe/Brussels")
QUARTER_HOURS_FROM = int(datetime(2025, 9, 30, 22, tzinfo=UTC).timestamp())
NS = "urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3"
ACK_NS = "urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0"


def _z(s: int) -> str:
    return datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%MZ")


def _ack(code: str, text: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Acknowledgement_MarketDocument '
            f'xmlns="{ACK_NS}"><mRID>ack</mRID><Reason><code>{code}</code><text>{text}</text>'
            f'</Reason></Acknowledgement_MarketDocument>')


class EntsoeEmulator(EmulatorBase):
    base_path = "/api"

    def __init__(self, *, token: str = "entsoe-secret-token") -> None:
        super().__init__()
        self.token = token
        self.publish_until_s = 2**40
        self.both_resolutions = False

    def route(self, req: RecordedRequest) -> Reply:
        if req.path != "/api":
            return Reply.text("Not Found", 404)
        if req.query.get("securityToken") != self.token:
            return Reply(401, b"<html><body><h1>Unauthorized</h1></body></html>", "text/html")
        q = req.query
        if q.get("documentType") != "A44" or q.get("in_Domain") != q.get("out_Domain"):
            return Reply(400, _ack("999", "Invalid query attributes").encode(), "text/xml")
        try:
            start = datetime.strptime(q["periodStart"], "%Y%m%d%H%M").replace(tzinfo=UTC)
            end = datetime.strptime(q["periodEnd"], "%Y%m%d%H%M").replace(tzinfo=UTC)
        except (KeyError, ValueError):
            return Reply(400, _ack("999", "periodStart/periodEnd missing").encode(), "text/xml")
        series = []
        # Whole CET delivery days, as the platform answers for 12.1.D.
        day = start.astimezone(CET).date()
        while True:
            d0 = int(datetime(day.year, day.month, day.day, tzinfo=CET).timestamp())
            nd = day + timedelta(days=1)
            d1 = int(datetime(nd.year, nd.month, nd.day, tzinfo=CET).timestamp())
            if d0 >= int(end.timestamp()) or d1 > self.publish_until_s:
                break
            steps = [900] if d0 >= QUARTER_HOURS_FROM else [3600]
            if self.both_resolutions and steps == [900]:
                steps.append(3600)
            series.extend(self._series(len(series) + 1, d0, d1, step) for step in steps)
            day = nd
        if not series:
            return Reply(200, _ack("999", "No matching data found for Data item Day-ahead "
                                          "Prices [12.1.D]").encode(), "text/xml")
        body = (f'<?xml version="1.0" encoding="UTF-8"?><Publication_MarketDocument '
                f'xmlns="{NS}"><mRID>doc</mRID><type>A44</type>{"".join(series)}'
                f'</Publication_MarketDocument>')
        return Reply(200, body.encode(), "text/xml")

    def _series(self, n: int, d0: int, d1: int, step: int) -> str:
        points = []
        previous = None
        for i, s in enumerate(range(d0, d1, step), start=1):
            price = price_mwh(s)
            if price != previous:  # A03: an unchanged price is left out
                points.append(f"<Point><position>{i}</position>"
                              f"<price.amount>{price}</price.amount></Point>")
            previous = price
        resolution = {900: "PT15M", 3600: "PT60M"}[step]
        return (f"<TimeSeries><mRID>{n}</mRID><businessType>A62</businessType>"
                f"<currency_Unit.name>EUR</currency_Unit.name>"
                f"<price_Measure_Unit.name>MWH</price_Measure_Unit.name>"
                f"<curveType>A03</curveType><Period><timeInterval><start>{_z(d0)}</start>"
                f"<end>{_z(d1)}</end></timeInterval><resolution>{resolution}</resolution>"
                f"{''.join(points)}</Period></TimeSeries>")
