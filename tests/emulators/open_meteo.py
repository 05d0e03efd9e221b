"""Emulator of the Open-Meteo forecast API (open-meteo.com/en/docs), on loopback.

``GET /v1/forecast`` with ``latitude``, ``longitude`` (required), ``hourly`` and/or
``minutely_15`` (comma-separated variables), ``timezone`` (``GMT`` by default, ``auto`` or an
IANA name), ``timeformat`` (``iso8601``: local times ``"2024-06-21T12:00"`` without offset, plus
one ``utc_offset_seconds`` for the answer; ``unixtime``: UNIX seconds), ``forecast_days`` (0-16,
default 7), ``wind_speed_unit`` (``kmh`` default, ``ms``...). The answer starts at the local
midnight of today and holds ``{latitude, longitude, generationtime_ms, utc_offset_seconds,
timezone, timezone_abbreviation, elevation, hourly_units, hourly: {time, <var>...}}`` (and the
``minutely_15`` pair). Radiation is the mean of the preceding step, stamped at its end.
Errors are HTTP 400 ``{"error": true, "reason": "..."}``; the rate limit answers 429 with the
same shape ("Minutely API request limit exceeded. Please try again in one minute.").

Weather: an independent clear-sky model (Haurwitz GHI from a textbook solar position, Erbs split
into beam and diffuse) times a per-day ``cloud`` factor tests set; deliberately NOT pvlib, so the
PV model under test is checked against something else.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.emulators._server import EmulatorBase, RecordedRequest, Reply

__all__ = ["OpenMeteoEmulator", "clear_sky_ghi"]

KNOWN = {
    "shortwave_radiation": "W/m²", "direct_normal_irradiance": "W/m²",
    "diffuse_radiation": "W/m²", "direct_radiation": "W/m²", "temperature_2m": "°C",
    "wind_speed_10m": "km/h", "cloud_cover": "%",
}
_WIND_FACTOR = {"kmh": 1.0, "ms": 1 / 3.6, "mph": 0.621371, "kn": 0.539957}


def _cos_zenith(t_s: float, lat: float, lon: float) -> float:
    day = datetime.fromtimestamp(t_s, UTC).timetuple().tm_yday
    decl = math.radians(23.44) * math.sin(2 * math.pi * (284 + day) / 365)
    solar_h = (t_s % 86_400) / 3600 + lon / 15.0
    hour_angle = math.radians(15.0 * (solar_h - 12.0))
    phi = math.radians(lat)
    return (math.sin(phi) * math.sin(decl)
            + math.cos(phi) * math.cos(decl) * math.cos(hour_angle))


def clear_sky_ghi(t_s: float, lat: float, lon: float) -> float:
    """Haurwitz clear-sky GHI [W/m²] at ``t_s``."""
    cz = _cos_zenith(t_s, lat, lon)
    return 1098.0 * cz * math.exp(-0.057 / cz) if cz > 0.01 else 0.0


class OpenMeteoEmulator(EmulatorBase):
    base_path = ""

    def __init__(self, *, now: datetime | None = None) -> None:
        super().__init__()
        self.now = now or datetime(2024, 6, 21, 6, 0, tzinfo=UTC)
        self.cloud: dict[str, float] = {}
        """Local date (ISO) -> fraction of clear-sky GHI that reaches the ground (default 1)."""
        self.limit_per_minute = 600
        self.retry_after_s: int | None = None
        """If set, 429 answers carry ``Retry-After`` (the public API does not say it does)."""
        self.null_after_hours: int | None = None
        """Steps this far after the start answer ``null`` (beyond the model's horizon)."""
        self._minute: tuple[int, int] = (0, 0)

    # -- the API ------------------------------------------------------------------------------
    def route(self, req: RecordedRequest) -> Reply:
        if req.path != "/v1/forecast":
            return Reply.json({"error": True, "reason": "Not Found"}, 404)
        minute = int(time.time() // 60)
        count = self._minute[1] + 1 if self._minute[0] == minute else 1
        self._minute = (minute, count)
        if count > self.limit_per_minute:
            reply = Reply.json({"error": True, "reason": "Minutely API request limit exceeded. "
                                "Please try again in one minute."}, 429)
            if self.retry_after_s is not None:
                reply.headers["Retry-After"] = str(self.retry_after_s)
            return reply
        q = req.query
        try:
            lat = float(q["latitude"])
            lon = float(q["longitude"])
        except KeyError as exc:
            return self._error(f"Value of type 'String' required for key '{exc.args[0]}'.")
        except ValueError:
            return self._error("Cannot initialize Float from invalid String value for key "
                               "'latitude'.")
        if not -90 <= lat <= 90:
            return self._error(f"Latitude must be in range of -90 to 90°. Given: {lat}.")
        if not -180 <= lon <= 180:
            return self._error(f"Longitude must be in range of -180 to 180°. Given: {lon}.")
        days = int(q.get("forecast_days", "7"))
        if not 0 <= days <= 16:
            return self._error("Forecast days is invalid. Allowed range 0 to 16.")
        tz_name = q.get("timezone", "GMT")
        try:
            tz = ZoneInfo("UTC" if tz_name in ("GMT", "auto") else tz_name)
        except (ZoneInfoNotFoundError, ValueError):
            return self._error(f"Invalid timezone '{tz_name}'.")
        unit = q.get("wind_speed_unit", "kmh")
        if unit not in _WIND_FACTOR:
            return self._error(f"Cannot initialize WindUnit from invalid String value {unit}.")
        unixtime = q.get("timeformat", "iso8601") == "unixtime"
        local_midnight = datetime.combine(self.now.astimezone(tz).date(), datetime.min.time(),
                                          tzinfo=tz)
        start_s = int(local_midnight.timestamp())
        body: dict[str, object] = {
            "latitude": round(lat, 2), "longitude": round(lon, 2),
            "generationtime_ms": 0.61, "utc_offset_seconds": int(
                (self.now.astimezone(tz).utcoffset() or timedelta()).total_seconds()),
            "timezone": "GMT" if tz_name in ("GMT", "auto") else tz_name,
            "timezone_abbreviation": self.now.astimezone(tz).tzname() or "GMT",
            "elevation": 67.0,
        }
        for block, step in (("hourly", 3600), ("minutely_15", 900)):
            if block not in q:
                continue
            names = [v for v in q[block].split(",") if v]
            bad = [v for v in names if v not in KNOWN]
            if bad:
                return self._error(f"Cannot initialize ForecastVariable from invalid String "
                                   f"value {bad[0]} for key {block}")
            ends = [start_s + (i + 1) * step for i in range(days * 86_400 // step)]
            data: dict[str, list[object]] = {
                "time": [e if unixtime else datetime.fromtimestamp(e, tz).strftime(
                    "%Y-%m-%dT%H:%M") for e in ends]}
            for name in names:
                data[name] = [self._value(name, e, step, lat, lon, tz, unit, start_s)
                              for e in ends]
            units = {"time": "unixtime" if unixtime else "iso8601"}
            units.update({n: ("m/s" if unit == "ms" and n.startswith("wind") else KNOWN[n])
                          for n in names})
            body[f"{block}_units"] = units
            body[block] = data
        return Reply.json(body)

    @staticmethod
    def _error(reason: str) -> Reply:
        return Reply.json({"error": True, "reason": reason}, 400)

    # -- the weather --------------------------------------------------------------------------
    def _value(self, name: str, end_s: int, step: int, lat: float, lon: float, tz: ZoneInfo,
               unit: str, start_s: int) -> float | None:
        if self.null_after_hours is not None and end_s - start_s > self.null_after_hours * 3600:
            return None
        if name == "temperature_2m":
            hour = (end_s % 86_400) / 3600
            return round(15.0 + 6.0 * math.sin(math.pi * (hour - 9) / 12), 1)
        if name == "wind_speed_10m":
            return round(7.2 * _WIND_FACTOR[unit], 1)
        if name == "cloud_cover":
            return 0.0
        # The mean over the preceding step, from five samples.
        samples = [clear_sky_ghi(end_s - step + (k + 0.5) * step / 5, lat, lon) for k in range(5)]
        ghi_clear = sum(samples) / 5
        day = datetime.fromtimestamp(end_s - step, tz).date().isoformat()
        ghi = ghi_clear * self.cloud.get(day, 1.0)
        cz = max(_cos_zenith(end_s - step / 2, lat, lon), 0.0)
        kt = min(ghi / (1361.0 * cz), 1.0) if cz > 0.01 else 0.0
        # Erbs et al. (1982): the diffuse fraction from the clearness index.
        if kt <= 0.22:
            fd = 1.0 - 0.09 * kt
        elif kt <= 0.8:
            fd = 0.9511 - 0.1604 * kt + 4.388 * kt**2 - 16.638 * kt**3 + 12.336 * kt**4
        else:
            fd = 0.165
        dhi = ghi * fd
        if name == "shortwave_radiation":
            return round(ghi, 1)
        if name == "diffuse_radiation":
            return round(dhi, 1)
        if name == "direct_radiation":
            return round(ghi - dhi, 1)
        return round((ghi - dhi) / cz, 1) if cz > 0.05 else 0.0  # direct_normal_irradiance
