"""Emulator of Solcast's rooftop-site forecasts (docs.solcast.com.au), on loopback.

``GET /rooftop_sites/{resource_id}/forecasts?format=json&hours=N`` with ``Authorization: Bearer
KEY``: ``{"forecasts": [{"pv_estimate", "pv_estimate10", "pv_estimate90", "period_end":
"2024-06-21T06:30:00.0000000Z", "period": "PT30M"}]}`` in kW, from the next half hour. 401 for
a bad key, 404 for an unknown site, and 429 ``{"response_status": {"error_code":
"TooManyRequests", "message": "You have exceeded your free daily limit.", "errors": []}}`` past
``daily_limit`` calls (all sites together).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tests.emulators._server import EmulatorBase, RecordedRequest, Reply
from tests.emulators.open_meteo import clear_sky_ghi

__all__ = ["SolcastEmulator"]


class SolcastEmulator(EmulatorBase):
    def __init__(self, *, now: datetime, key: str = "k3y") -> None:
        super().__init__()
        self.now = now
        self.key = key
        self.sites = {"aaaa-1111": 4.0, "bbbb-2222": 2.0}
        self.daily_limit = 10
        self.calls = 0

    @staticmethod
    def _status(status: int, code: str, message: str) -> Reply:
        return Reply.json({"response_status": {"error_code": code, "message": message,
                                               "errors": []}}, status)

    def route(self, req: RecordedRequest) -> Reply:
        if req.headers.get("authorization") != f"Bearer {self.key}":
            return self._status(401, "Unauthorized", "Invalid API key")
        parts = [p for p in req.path.split("/") if p]
        if len(parts) != 3 or parts[0] != "rooftop_sites" or parts[2] != "forecasts":
            return self._status(404, "NotFound", "Not found")
        kwp = self.sites.get(parts[1])
        if kwp is None:
            return self._status(404, "NotFound", "Rooftop site not found")
        self.calls += 1
        if self.calls > self.daily_limit:
            return self._status(429, "TooManyRequests", "You have exceeded your free daily limit.")
        hours = int(req.query.get("hours", "168"))
        first = int(self.now.timestamp()) // 1800 * 1800 + 1800
        rows = []
        for k in range(hours * 2):
            end = first + 1800 * k
            ghi = sum(clear_sky_ghi(end - 1800 + (j + 0.5) * 300, 51.75, -1.26)
                      for j in range(6)) / 6
            p50 = round(ghi / 1000 * kwp * 0.8, 4)
            stamp = datetime.fromtimestamp(end, UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000Z")
            rows.append({"pv_estimate": p50, "pv_estimate10": round(p50 * 0.6, 4),
                         "pv_estimate90": round(min(p50 * 1.2, kwp), 4),
                         "period_end": stamp, "period": "PT30M"})
        return Reply.json({"forecasts": rows})
