"""Emulator of the forecast.solar estimate API (doc.forecast.solar), on loopback.

``GET [/{key}]/estimate/{lat}/{lon}/{dec}/{az}/{kwp}?time=iso8601``: ``{"result": {"watts",
"watt_hours_period", "watt_hours", "watt_hours_day"}, "message": {"code": 0, "type": "success",
"text": "", "info": {"latitude", "longitude", "distance", "place", "timezone", "time",
"time_utc"}, "ratelimit": {"period": 3600, "limit": 12, "remaining"}}}``. Stamps are local
times with their offset (``2024-06-21T05:00:00+01:00``): sunrise, each whole hour, sunset; the
energy of a stamp is that of the period ending at it. Today and tomorrow. Errors: 400/422
``{"message": {"type": "error", "code", "text"}}``; past 12 calls an hour per IP, 429 with
``X-Ratelimit-Retry-At`` (ISO time). Rate-limit headers on every answer.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.emulators._server import EmulatorBase, RecordedRequest, Reply
from tests.emulators.open_meteo import clear_sky_ghi

__all__ = ["ForecastSolarEmulator"]


class ForecastSolarEmulator(EmulatorBase):
    def __init__(self, *, now: datetime, tz: str = "Europe/London") -> None:
        super().__init__()
        self.now = now
        self.tz = ZoneInfo(tz)
        self.limit = 12
        self.keys: set[str] = set()
        self._calls: list[datetime] = []

    def _error(self, status: int, code: int, text: str) -> Reply:
        return Reply.json({"message": {"code": code, "type": "error", "text": text}}, status)

    def route(self, req: RecordedRequest) -> Reply:
        parts = [p for p in req.path.split("/") if p]
        if parts and parts[0] != "estimate":
            key, parts = parts[0], parts[1:]
            if key not in self.keys:
                return self._error(401, 401, "Invalid API key")
        if len(parts) != 6 or parts[0] != "estimate":
            return self._error(404, 404, "Not found")
        try:
            lat, lon, dec, az, kwp = (float(p) for p in parts[1:])
        except ValueError:
            return self._error(400, 400, "Invalid parameter")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 <= dec <= 90
                and -180 <= az <= 180 and kwp > 0):
            return self._error(422, 422, "Plane parameters out of range")
        self._calls = [t for t in self._calls if t > self.now - timedelta(hours=1)]
        if len(self._calls) >= self.limit:
            retry = min(self._calls) + timedelta(hours=1)
            reply = self._error(429, 429, "Rate limit for API calls reached.")
            reply.headers.update({"X-Ratelimit-Limit": str(self.limit),
                                  "X-Ratelimit-Period": "3600",
                                  "X-Ratelimit-Retry-At": retry.astimezone(self.tz).isoformat()})
            return reply
        self._calls.append(self.now)
        watts: dict[str, int] = {}
        periods: dict[str, int] = {}
        days: dict[str, int] = {}
        local_today = self.now.astimezone(self.tz).date()
        for d in range(2):
            day = local_today + timedelta(days=d)
            midnight = datetime(day.year, day.month, day.day, tzinfo=self.tz)
            total = 0
            for h in range(1, 25):
                end = midnight + timedelta(hours=h)
                # A cloudless plane facing its azimuth, crudely: GHI x a tilt gain x kWp.
                e = sum(clear_sky_ghi(end.timestamp() - 3600 + (k + 0.5) * 600, lat, lon)
                        for k in range(6)) / 6
                gain = 1.0 + 0.15 * math.cos(math.radians(az)) * math.sin(math.radians(dec))
                wh = round(e * gain * kwp * 0.85)
                if wh <= 0:
                    continue
                stamp = end.isoformat()
                watts[stamp] = wh
                periods[stamp] = wh
                total += wh
            days[day.isoformat()] = total
        local_now = self.now.astimezone(self.tz)
        reply = Reply.json({
            "result": {"watts": watts, "watt_hours_period": periods,
                       "watt_hours": periods, "watt_hours_day": days},
            "message": {"code": 0, "type": "success", "text": "",
                        "info": {"latitude": lat, "longitude": lon, "distance": 0,
                                 "place": "Oxford, Oxfordshire, England, United Kingdom",
                                 "timezone": str(self.tz), "time": local_now.isoformat(),
                                 "time_utc": self.now.astimezone(UTC).isoformat()},
                        "ratelimit": {"period": 3600, "limit": self.limit,
                                      "remaining": self.limit - len(self._calls)}}})
        reply.headers.update({"X-Ratelimit-Limit": str(self.limit), "X-Ratelimit-Period": "3600",
                              "X-Ratelimit-Remaining": str(self.limit - len(self._calls))})
        return reply
