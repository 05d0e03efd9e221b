"""The xBattery cloud API as a read-only state source (``device: {type: xbattery, ...}``).

``ApiKey`` header auth. Telemetry gives SOC, pack voltage and current, temperature and the BMS
state; the battery power is ``pack_voltage * pack_current``, signed by the BMS state where it
says ``CHARGING``/``DISCHARGING`` (the API does not document the current's sign) and otherwise
a positive current counts as discharging. It cannot actuate: to control a battery while reading
its state here, use ``type: composite`` with this as ``state`` and an actuator as ``control``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import httpx
from pydantic import BaseModel, Field, SecretStr, model_validator

from gridpilot.clock import Clock, SystemClock
from gridpilot.devices.base import AppliedCommand, Capabilities, DeviceReading, ExportResult
from gridpilot.devices.http import DeviceHttp
from gridpilot.devices.secrets import resolve_secret
from gridpilot.devices.tls import TlsPolicy
from gridpilot.engine.commands import Command
from gridpilot.errors import CommandError, DeviceProtocolError
from gridpilot.models import StrictModel
from gridpilot.timeutil import epoch_seconds

if TYPE_CHECKING:
    from gridpilot.devices.context import DeviceContext

__all__ = [
    "SETTINGS_MODEL",
    "TIME_RANGES",
    "XBatteryAdapter",
    "XBatterySettings",
    "create",
    "reading_from_record",
]

TIME_RANGES = ("latest", "last5mins", "last1hour", "last7days")


class XBatterySettings(StrictModel):
    type: Literal["xbattery"] = "xbattery"
    name: str = ""
    """The device's name in logs and errors (default: ``xbattery``)."""
    base_url: str = "https://apidev.xbattery.energy/v1"
    """The API's base URL (HTTPS only)."""
    api_key: SecretStr | None = None
    """Best given as ``${XBATTERY_API_KEY}``."""
    api_key_file: Path | None = None
    """A file holding the API key on its first line (relative to the policy file)."""
    device_id: Annotated[str, Field(min_length=1)]
    """The pack's ``DeviceId`` as listed by ``GET /devices``."""
    ca_file: Path | None = None
    """Only for a private CA; the cloud's certificate is checked against the system store."""
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 15.0
    """Timeout of every request."""
    read_retries: Annotated[int, Field(ge=0, le=10)] = 2
    """How often a failed read is repeated."""
    retry_backoff_s: Annotated[float, Field(ge=0, le=60)] = 1.0
    """Wait before the first retry; it doubles for each further one."""
    capacity_kwh: Annotated[float, Field(gt=0, le=100_000)] | None = None
    """The pack's capacity, reported as a capability (the API does not give it)."""

    @model_validator(mode="after")
    def _one_key(self) -> XBatterySettings:
        if (self.api_key is None) == (self.api_key_file is None):
            raise ValueError("give exactly one of 'api_key' (e.g. ${XBATTERY_API_KEY}) and "
                             "'api_key_file'")
        if not self.base_url.startswith("https://"):
            raise ValueError("base_url must be https://")
        return self


SETTINGS_MODEL = XBatterySettings


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def reading_from_record(record: Mapping[str, Any], *, now: datetime) -> DeviceReading:
    """A telemetry record as a reading; its ``_ts`` (s, or ms by digit count) dates it."""
    ts = _num(record.get("_ts"))
    measured = now
    if ts is not None and ts > 0:
        measured = datetime.fromtimestamp(epoch_seconds(ts), UTC)
    voltage, current = _num(record.get("pack_voltage")), _num(record.get("pack_current"))
    state = str(record.get("bms_state", "")).upper()
    battery_w = None
    if voltage is not None and current is not None:
        battery_w = abs(voltage * current)
        if state == "CHARGING" or (state != "DISCHARGING" and current < 0):
            battery_w = -battery_w
    rejected: dict[str, str] = {}
    raw_soc = record.get("soc")
    soc = _num(raw_soc)
    if raw_soc is None:
        rejected["soc_pct"] = "soc is missing"
    elif soc is None:
        rejected["soc_pct"] = f"soc={raw_soc!r:.40} is not a number"
    elif not 0 <= soc <= 100:
        rejected["soc_pct"] = f"soc={soc:g} is outside 0..100 %"
        soc = None
    cells = record.get("cell_voltage")
    extra: dict[str, Any] = {
        "pack_voltage_v": voltage,
        "pack_current_a": current,
        "temperature_c": _num(record.get("temperature")),
        "bms_state": record.get("bms_state"),
        "soh_pct": _num(record.get("soh")),
        "cell_voltages_v": tuple(c for c in cells if _num(c) is not None)
        if isinstance(cells, list) else (),
    }
    at = {name: measured for name in ("soc_pct", "battery_w")}
    return DeviceReading(
        time=now, soc_pct=soc, battery_w=battery_w, measured_at=at, extra=extra,
        rejected=rejected,
    )


def _iso(t: datetime) -> str:
    if t.tzinfo is None:
        raise CommandError("telemetry times must be timezone-aware")
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class XBatteryAdapter:
    """Reads one xBattery pack from the cloud API. ``apply`` refuses: it is read-only."""

    def __init__(
        self,
        settings: XBatterySettings,
        *,
        name: str = "",
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self._name = name or settings.name or "xbattery"
        self.settings = settings
        self._clock = clock or SystemClock()
        self._base_dir = base_dir
        self._key: SecretStr | None = None
        tls = TlsPolicy(self._name, ca_file=_resolve(settings.ca_file, base_dir),
                        check_hostname=True)
        self.http = DeviceHttp(
            self._name,
            settings.base_url.rstrip("/") + "/",
            clock=self._clock,
            timeout_s=settings.timeout_s,
            read_retries=settings.read_retries,
            backoff_s=settings.retry_backoff_s,
            verify=tls.context(),
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"XBatteryAdapter(name={self._name!r}, device_id={self.settings.device_id!r})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            power_rating_w=None,
            capacity_kwh=self.settings.capacity_kwh,
            kinds=frozenset(),
            read_only=True,
            notes=("read-only state source; combine with an actuator via type: composite",),
        )

    def _headers(self) -> dict[str, str]:
        if self._key is None:
            self._key = resolve_secret(self._name, "API key", self.settings.api_key,
                                       self.settings.api_key_file, self._base_dir)
        return {"ApiKey": self._key.get_secret_value()}

    async def _get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        answer = await self.http.request("GET", path, params=params, headers=self._headers())
        if not isinstance(answer, Mapping) or answer.get("success") is not True:
            raise DeviceProtocolError(self._name, f"GET {path}: the answer is not a success")
        return answer.get("data")

    async def list_devices(self) -> list[dict[str, Any]]:
        data = await self._get("devices")
        if not isinstance(data, list):
            raise DeviceProtocolError(self._name, "GET /devices: no device list")
        return [dict(d) for d in data if isinstance(d, Mapping)]

    async def add_device(self, device_id: str, name: str, model: str, location: str) -> None:
        body = {"deviceId": device_id, "name": name, "model": model, "location": location}
        answer = await self.http.request("POST", "devices", json_body=body,
                                         headers=self._headers())
        if not isinstance(answer, Mapping) or answer.get("success") is not True:
            raise DeviceProtocolError(self._name, "POST /devices: the answer is not a success")

    async def telemetry(
        self,
        *,
        time_range: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Telemetry records for a ``time_range`` preset or a ``start``/``end`` span."""
        if time_range is not None:
            if time_range not in TIME_RANGES:
                raise CommandError(f"timeRange must be one of {', '.join(TIME_RANGES)}")
            params: dict[str, Any] = {"timeRange": time_range}
        elif start is not None and end is not None:
            params = {"start": _iso(start), "end": _iso(end)}
        else:
            raise CommandError("give a time_range or both start and end")
        data = await self._get(f"devices/{self.settings.device_id}/telemetry", params)
        if not isinstance(data, list):
            raise DeviceProtocolError(self._name, "telemetry: 'data' is not a list")
        return [dict(r) for r in data if isinstance(r, Mapping)]

    async def read_state(self) -> DeviceReading:
        records = await self.telemetry(time_range="latest")
        if not records:
            raise DeviceProtocolError(self._name, "telemetry 'latest' returned no record")
        newest = max(records, key=lambda r: _num(r.get("_ts")) or 0.0)
        return reading_from_record(newest, now=self._clock.now())

    async def apply(self, command: Command, *, valid_for_s: float) -> AppliedCommand:
        raise CommandError(
            f"device {self._name!r} (xBattery) is read-only; to control a battery use "
            "'type: composite' with this as 'state' and an actuator as 'control'"
        )

    async def release(self) -> None:
        return None

    async def export(self, start: datetime, end: datetime, out: Path) -> ExportResult:
        """Telemetry between ``start`` and ``end`` in day chunks, written as a JSON array of the
        records as the API returns them."""
        if end <= start:
            raise CommandError("--to must be after --from")
        by_ts: dict[Any, dict[str, Any]] = {}
        t = start
        while t < end:
            chunk_end = min(end, t + timedelta(days=1))
            for record in await self.telemetry(start=t, end=chunk_end):
                by_ts[record.get("_ts")] = record
            t = chunk_end
        records = [by_ts[k] for k in sorted(by_ts, key=lambda v: _num(v) or 0.0)]
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(records) + "\n", encoding="utf-8")
        return ExportResult(out, len(records), "xbattery-telemetry-json")

    async def aclose(self) -> None:
        await self.http.aclose()


def _resolve(path: Path | None, base_dir: Path | None) -> Path | None:
    if path is None or path.is_absolute() or base_dir is None:
        return path
    return base_dir / path


def create(settings: BaseModel, context: DeviceContext) -> XBatteryAdapter:
    assert isinstance(settings, XBatterySettings)
    return XBatteryAdapter(
        settings,
        name=context.name if context.name != "xbattery" else settings.name,
        clock=context.clock,
        transport=context.transport,
        base_dir=context.base_dir,
    )
