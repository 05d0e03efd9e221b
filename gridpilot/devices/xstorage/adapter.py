"""The Eaton xStorage Home adapter (``device: {type: xstorage, ...}``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from gridpilot.clock import Clock, SystemClock
from gridpilot.devices.base import AppliedCommand, Capabilities, DeviceReading, ExportResult
from gridpilot.devices.xstorage import devicesettings, metrics, schedule
from gridpilot.devices.xstorage.client import XStorageClient
from gridpilot.devices.xstorage.commands import (
    NATIVE_BY_KIND,
    NATIVE_ONLY,
    NativeCommand,
    duration_hours,
    map_command,
    rating_w,
    validate_payload,
)
from gridpilot.devices.xstorage.modememory import ModeMemory
from gridpilot.devices.xstorage.settings import XStorageSettings
from gridpilot.devices.xstorage.status import epoch_to_datetime, reading_from_status
from gridpilot.engine.commands import Command, DeviceLimits, validate_command
from gridpilot.errors import CommandError, DeviceProtocolError

__all__ = ["XStorageAdapter"]

log = logging.getLogger("gridpilot.devices.xstorage")


class XStorageAdapter:
    """Reads and drives one unit over its local HTTPS API.

    Commands are sent as the unit's MANUAL layer for whole hours (at most ``max_duration_h``),
    so the unit returns to its own schedule or default soon after gridpilot stops. The ids of
    the mode records gridpilot created are remembered (in ``memory_file`` across restarts):
    any other MANUAL mode is a person's.
    """

    def __init__(
        self,
        settings: XStorageSettings,
        *,
        name: str = "",
        limits: DeviceLimits | None = None,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        base_dir: Path | None = None,
        memory_file: Path | None = None,
    ) -> None:
        self._name = name or settings.name or "xstorage"
        self.settings = settings
        self._limits = limits
        self._clock = clock or SystemClock()
        self.client = XStorageClient(
            self._name, settings, clock=self._clock, transport=transport, base_dir=base_dir
        )
        self._info: dict[str, Any] | None = None
        self._rating_w: float | None = settings.rating_w
        self._own_ids = ModeMemory(memory_file)

    def __repr__(self) -> str:
        return f"XStorageAdapter(name={self._name!r}, host={self.settings.host!r})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> Capabilities:
        kinds = set(NATIVE_BY_KIND)
        if not self.settings.native_modes:
            kinds -= NATIVE_ONLY
        capacity = self._info.get("bmsCapacity") if self._info else None
        return Capabilities(
            power_rating_w=self._rating_w,
            capacity_kwh=float(capacity) if isinstance(capacity, int | float) else None,
            kinds=frozenset(kinds),
            native={k: v for k, v in NATIVE_BY_KIND.items() if k in kinds},
            notes=(
                "hold runs as basic mode (PV surplus is not stored)",
                "the unit's power readings are known to read 10-30 % high",
            ),
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def device_info(self, *, refresh: bool = False) -> dict[str, Any]:
        """``GET /api/device`` (cached), with the rating worked out from it."""
        if self._info is None or refresh:
            info = await self.client.call("GET", "/api/device")
            if not isinstance(info, Mapping):
                raise DeviceProtocolError(self._name, "GET /api/device: result is not an object")
            self._info = dict(info)
            if self.settings.rating_w is None:
                power_rating = self._info.get("inverterPowerRating")
                if power_rating is None:
                    # The power rating lives in the settings on current firmware.
                    current = await self.client.call("GET", "/api/settings")
                    if isinstance(current, Mapping):
                        power_rating = current.get("inverterPowerRating")
                self._rating_w = rating_w(
                    power_rating,
                    self._info.get("inverterVaRating"),
                    self._info.get("inverterModelName"),
                )
        return self._info

    async def read_state(self) -> DeviceReading:
        await self.device_info()
        result = await self.client.call("GET", "/api/device/status")
        return reading_from_status(
            self._name, result, now=self._clock.now(), own_ids=self._own_ids
        )

    def plan(self, command: Command, *, valid_for_s: float) -> NativeCommand:
        """The payload ``apply`` would send (checked against the policy's and the unit's ranges);
        needs the rating, so call after a read or give ``rating_w`` in the settings."""
        if self._limits is not None:
            validate_command(command, self._limits)
        if self._rating_w is None:
            raise CommandError(
                f"device {self._name!r}: the inverter rating is unknown (the unit reports none "
                "and its model is not recognised); set rating_w in the device settings"
            )
        hours = duration_hours(valid_for_s, self.settings.refresh_lead_s,
                               self.settings.max_duration_h)
        return map_command(
            command, rating=self._rating_w, duration_h=hours,
            native_modes=self.settings.native_modes,
        )

    async def apply(self, command: Command, *, valid_for_s: float) -> AppliedCommand:
        await self.device_info()
        native = self.plan(command, valid_for_s=valid_for_s)
        return await self._send(command, native)

    async def _send(self, command: Command, native: NativeCommand) -> AppliedCommand:
        payload = native.payload()
        validate_payload(payload)
        sent_at = self._clock.now()
        record = await self.client.call("POST", "/api/device/command", json_body=payload)
        confirmed = isinstance(record, Mapping) and record.get("command") == native.command
        expires_at = sent_at + timedelta(hours=native.duration_h)
        if isinstance(record, Mapping):
            if confirmed and isinstance(record.get("id"), str) and record["id"]:
                # Only a record that echoes this command is ours: any other record the unit
                # answers with (a person's, say) must never become licence to overwrite it.
                self._own_ids.add(record["id"])
            created = epoch_to_datetime(record.get("createdAt"))
            if created is not None:
                expires_at = min(expires_at, created + timedelta(hours=native.duration_h))
        if not confirmed:
            log.warning("device %r: the unit did not echo %s back", self._name, native.command)
        return AppliedCommand(
            command=command,
            sent_at=sent_at,
            expires_at=expires_at,
            native=payload,
            confirmed=confirmed,
            effective_power_w=native.effective_power_w,
            notes=native.notes,
            record=dict(record) if isinstance(record, Mapping) else None,
        )

    async def release(self) -> None:
        """Run the unit's own default mode for the shortest time (1 h): the API has no way to
        end a MANUAL mode early, so the default is repeated as one."""
        current = await self.client.call("GET", "/api/settings")
        mode = current.get("defaultMode") if isinstance(current, Mapping) else None
        command = mode.get("command") if isinstance(mode, Mapping) else None
        params = mode.get("parameters") if isinstance(mode, Mapping) else None
        if not isinstance(command, str):
            command, params = "SET_BASIC_MODE", None
        native = NativeCommand(command, 1, dict(params) if isinstance(params, Mapping) else None)
        payload = native.payload()
        validate_payload(payload)
        record = await self.client.call("POST", "/api/device/command", json_body=payload)
        if (isinstance(record, Mapping) and record.get("command") == command
                and isinstance(record.get("id"), str) and record["id"]):
            # Ours, so the next read does not mistake it for a person's override.
            self._own_ids.add(record["id"])
        log.info("device %r: handed back to its default mode %s", self._name, command)

    # -- settings -------------------------------------------------------------------------

    async def set_backup_level(self, soc_pct: int) -> dict[str, Any]:
        """Set the SOC kept for outages (``bmsBackupLevel``), read-modify-write and verified."""
        return await devicesettings.update_settings(self.client, {"bmsBackupLevel": soc_pct})

    async def set_default_mode(self, command: Command) -> dict[str, Any]:
        """Make ``command``'s native mode the unit's default (what runs without gridpilot)."""
        await self.device_info()
        native = self.plan(command, valid_for_s=0)
        mode = {"command": native.command, "parameters": native.parameters}
        return await devicesettings.update_settings(self.client, {"defaultMode": mode})

    async def update_settings(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        return await devicesettings.update_settings(self.client, changes)

    # -- power ------------------------------------------------------------------------------

    async def set_power(self, on: bool, *, attempts: int = 5, wait_s: float = 2.0) -> None:
        """Switch the unit on or off. The unit answers a bare ``""``, so the result is read back
        from ``/api/device`` (``powerState``)."""
        await self.client.call(
            "POST", "/api/device/power", json_body={"parameters": {"state": on}}
        )
        for attempt in range(attempts):
            info = await self.device_info(refresh=True)
            if info.get("powerState") is on:
                log.info("device %r: power %s confirmed", self._name, "on" if on else "off")
                return
            if attempt + 1 < attempts:
                await self._clock.sleep(wait_s)
        raise DeviceProtocolError(
            self._name,
            f"power {'on' if on else 'off'} was sent but /api/device still reports "
            f"powerState={info.get('powerState')!r}",
        )

    # -- schedule, technical, export ----------------------------------------------------------

    async def list_schedule(self) -> list[schedule.ScheduleEvent]:
        return await schedule.list_events(self.client)

    async def create_schedule_event(self, event: schedule.ScheduleEvent) -> schedule.ScheduleEvent:
        return await schedule.create_event(self.client, event)

    async def update_schedule_event(self, event: schedule.ScheduleEvent) -> schedule.ScheduleEvent:
        return await schedule.update_event(self.client, event)

    async def delete_schedule_event(self, event_id: str) -> None:
        await schedule.delete_event(self.client, event_id)

    async def technical_status(self) -> dict[str, Any]:
        """``/api/technical/status`` (technician login only). Temperatures and ``bmsVoltage`` of
        0 mean the reading failed and become ``None``; ``gridFrequency`` 0 is a real outage."""
        result = await self.client.call("GET", "/api/technical/status")
        if not isinstance(result, Mapping):
            raise DeviceProtocolError(self._name, "GET /api/technical/status: not an object")
        out = dict(result)
        for key in list(out):
            if (key.endswith("Temperature") or key == "bmsVoltage") and out[key] == 0:
                out[key] = None
        return out

    async def export(self, start: datetime, end: datetime, out: Path) -> ExportResult:
        """``.csv`` gets the unit's CSV export, anything else the JSON metric records."""
        if out.suffix.lower() == ".csv":
            return await metrics.download_csv(self.client, start, end, out)
        return await metrics.download_metrics(self.client, start, end, out)
