"""The SunSpec Modbus/TCP adapter (``device: {type: sunspec, ...}``)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gridpilot.clock import Clock
from gridpilot.devices.base import AppliedCommand, Capabilities, DeviceReading
from gridpilot.devices.sunspec.codec import encode
from gridpilot.devices.sunspec.control import (
    KINDS,
    OwnWindow,
    mode_of,
    plan_command,
    revert_s,
    step_pct,
)
from gridpilot.devices.sunspec.readings import Models, reading_from_models
from gridpilot.devices.sunspec.settings import DEFAULT_BASES, SunSpecSettings
from gridpilot.devices.sunspec.sunmap import ModelBlock, decode_block, discover, read_block
from gridpilot.devices.sunspec.transport import ModbusLink
from gridpilot.engine.commands import Command, DeviceLimits, validate_command
from gridpilot.errors import CommandError

__all__ = ["SunSpecAdapter"]

log = logging.getLogger("gridpilot.devices.sunspec")

INVERTERS = (103, 102, 101)
METERS = (203, 204, 202, 201)
READ_MODELS = frozenset({*INVERTERS, *METERS, 124, 160, 802})


class SunSpecAdapter:
    """Reads one SunSpec inverter (and its meter) and drives its battery through model 124.

    The window gridpilot wrote last is remembered (in ``state_file`` across restarts): any
    other active window was written by someone else and is a person's, so gridpilot yields.
    """

    def __init__(self, settings: SunSpecSettings, *, name: str = "", clock: Clock,
                 limits: DeviceLimits | None = None, state_file: Path | None = None) -> None:
        self._name = name or settings.name or "sunspec"
        self.settings = settings
        self.profile = settings.profile_def
        self._limits = limits
        self._clock = clock
        self.link = ModbusLink(
            self._name, settings.host, settings.port, clock=clock, timeout_s=settings.timeout_s,
            read_retries=settings.read_retries, backoff_s=settings.retry_backoff_s,
            backoff_max_s=settings.reconnect_max_s)
        self._blocks: dict[int, ModelBlock] | None = None
        self._found: list[ModelBlock] = []
        self._mapped_at_connect = -1
        self._storage: dict[str, Any] | None = None
        self._battery: dict[str, Any] | None = None
        self._command_lock = asyncio.Lock()
        self._state_file = state_file
        self._own = self._load_own()

    def __repr__(self) -> str:
        return (f"SunSpecAdapter(name={self._name!r}, host={self.settings.host!r}, "
                f"profile={self.profile.name!r})")

    @property
    def name(self) -> str:
        return self._name

    @property
    def controls(self) -> bool:
        """Commands are possible: the profile allows them and (once mapped) model 124 is there."""
        if not self.profile.controls:
            return False
        return self._blocks is None or 124 in self._blocks

    @property
    def capabilities(self) -> Capabilities:
        kinds = frozenset(KINDS) if self.controls else frozenset()
        rating = self._storage.get("WChaMax") if self._storage else None
        capacity = self._battery.get("WHRtg") if self._battery else None
        notes = ["peak_shave and limit_export need a grid target model 124 does not have"]
        if not self.controls:
            notes.append("no SunSpec storage control (model 124): read-only")
        return Capabilities(
            power_rating_w=float(rating) if isinstance(rating, int | float) else None,
            capacity_kwh=float(capacity) / 1000 if isinstance(capacity, int | float) else None,
            kinds=kinds,
            native={k: v for k, v in KINDS.items() if k in kinds},
            read_only=not kinds,
            notes=tuple(notes),
        )

    async def aclose(self) -> None:
        await self.link.aclose()

    # -- the map ------------------------------------------------------------------------------

    async def _map(self) -> dict[str, ModelBlock]:
        # A new connection may be a rebooted device with another map: walk it again.
        if self._blocks is None or self._mapped_at_connect != self.link.connects:
            bases = ((self.settings.base_address,) if self.settings.base_address is not None
                     else DEFAULT_BASES)
            unit = self.settings.inverter_unit
            found = await discover(self.link, unit, bases, self._name)
            if self.settings.meter_unit != unit:
                found += await discover(self.link, self.settings.meter_unit, bases, self._name)
            blocks: dict[int, ModelBlock] = {}
            for block in found:
                blocks.setdefault(block.id, block)  # the first of a kind (first meter, say)
            self._found = found
            self._blocks = blocks
            self._mapped_at_connect = self.link.connects
        return {str(k): v for k, v in self._blocks.items()}

    def _first(self, ids: tuple[int, ...]) -> ModelBlock | None:
        assert self._blocks is not None
        return next((self._blocks[i] for i in ids if i in self._blocks), None)

    async def _values(self, block: ModelBlock | None) -> dict[str, Any] | None:
        if block is None:
            return None
        return decode_block(block, await read_block(self.link, block))

    async def _read_models(self) -> Models:
        await self._map()
        assert self._blocks is not None
        storage = await self._values(self._blocks.get(124))
        battery = await self._values(self._blocks.get(802))
        self._storage, self._battery = storage, battery
        return Models(
            inverter=await self._values(self._first(INVERTERS)),
            mppt=await self._values(self._blocks.get(160)),
            storage=storage,
            battery=battery,
            meter=await self._values(self._first(METERS)),
            extra={"models": [b.id for b in self._found], "profile": self.profile.name},
        )

    # -- reading ------------------------------------------------------------------------------

    async def read_state(self) -> DeviceReading:
        models = await self._read_models()
        now = self._clock.now()
        mode = mode_of(models.storage, self._own, now) if models.storage is not None else None
        return reading_from_models(models, self.profile, now=now, mode=mode)

    async def probe_models(self) -> dict[str, dict[str, Any]]:
        """Every model found, with its decoded values (``gridpilot device probe``)."""
        await self._map()
        out: dict[str, dict[str, Any]] = {}
        for block in self._found:
            key = f"{block.id} @{block.address} (unit {block.unit})"
            if block.definition is None:
                out[key] = {"note": f"not a standard model ({block.length} registers)"}
                continue
            values = await self._values(block) or {}
            out[key] = {k: v for k, v in values.items() if k not in ("ID", "L")}
        return out

    # -- commands -----------------------------------------------------------------------------

    async def apply(self, command: Command, *, valid_for_s: float) -> AppliedCommand:
        if self._limits is not None:
            validate_command(command, self._limits)
        if not self.profile.controls:
            raise CommandError(
                f"device {self._name!r}: the {self.profile.name} profile takes no storage "
                "commands (its SunSpec map has no model 124); it can be read, not commanded")
        async with self._command_lock:
            models = await self._read_models()
            storage = models.storage
            if storage is None:
                raise CommandError(
                    f"device {self._name!r} has no SunSpec storage control (model 124): it can "
                    "be read, not commanded")
            rate_sf = storage.get("InOutWRte_SF")
            max_w = storage.get("WChaMax")
            if not isinstance(rate_sf, int) or not isinstance(max_w, int | float):
                raise CommandError(
                    f"device {self._name!r}: model 124 does not implement "
                    f"{'InOutWRte_SF' if not isinstance(rate_sf, int) else 'WChaMax'}, so a "
                    "rate cannot be set safely")
            if storage.get("InOutWRte_RvrtTms") is None:
                raise CommandError(
                    f"device {self._name!r}: model 124 does not implement InOutWRte_RvrtTms, "
                    "so a command would not lapse when gridpilot stops; not commanding it")
            revert = revert_s(valid_for_s, self.settings.refresh_lead_s,
                              self.settings.max_revert_s)
            plan = plan_command(command, max_w=float(max_w), rate_sf=rate_sf, revert=revert,
                                grid_charging=self.settings.grid_charging)
            reserve_sf = storage.get("MinRsvPct_SF")
            implemented = {k for k, v in storage.items() if v is not None}
            regs = {k: v for k, v in plan.registers(
                rate_sf, reserve_sf if isinstance(reserve_sf, int) else None).items()
                if k in implemented or k in ("StorCtl_Mod", "InWRte", "OutWRte")}
            sent_at = self._clock.now()
            confirmed, why = await self._write_all(regs)
            native = dict(regs)
            notes = plan.notes if confirmed else (*plan.notes, why)
            if confirmed:
                self._remember(OwnWindow(plan.storctl_mod, step_pct(plan.in_pct, rate_sf),
                                         step_pct(plan.out_pct, rate_sf), sent_at, revert))
            else:
                log.warning("device %r: %s", self._name, why)
            return AppliedCommand(
                command=command, sent_at=sent_at, expires_at=self._own.expires
                if confirmed and self._own else None, native=native, confirmed=confirmed,
                effective_power_w=plan.effective_power_w, notes=tuple(notes),
            )

    async def _write_all(self, regs: Mapping[str, int]) -> tuple[bool, str]:
        """Write each register, read it back, stop at the first that does not hold."""
        assert self._blocks is not None
        block = self._blocks[124]
        assert block.definition is not None
        for name, raw in regs.items():
            point = block.definition.point(name)
            label = block.label(name)
            try:
                values = encode(point.type, raw, point.size)
            except ValueError as exc:
                raise CommandError(f"device {self._name!r}: {label} = {raw}: {exc}") from None
            await self.link.write(block.address_of(name), values, block.unit, label)
            back = await self.link.read(block.address_of(name), point.size, block.unit, label)
            if back != values:
                return False, f"{label} reads back {back} after writing {values}"
        return True, ""

    async def release(self) -> None:
        """End gridpilot's window: the device runs its own control again (``StorCtl_Mod=0``)."""
        async with self._command_lock:
            await self._map()
            assert self._blocks is not None
            block = self._blocks.get(124)
            if block is None or not self.profile.controls:
                return
            await self._write_all({"StorCtl_Mod": 0})
            self._remember(None)
            log.info("device %r: handed back to its own control", self._name)

    # -- what survives a restart --------------------------------------------------------------

    def _load_own(self) -> OwnWindow | None:
        if self._state_file is None or not self._state_file.exists():
            return None
        try:
            data = json.loads(self._state_file.read_text(encoding="utf-8"))
            return OwnWindow.from_dict(data) if isinstance(data, dict) else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("cannot read %s (%s); starting without the last window written",
                        self._state_file, exc)
            return None

    def _remember(self, own: OwnWindow | None) -> None:
        self._own = own
        if self._state_file is None:
            return
        try:
            self._state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self._state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(own.as_dict() if own else None), encoding="utf-8")
            os.replace(tmp, self._state_file)
        except OSError as exc:
            # Losing it only costs a wrong "person" reading after a restart.
            log.warning("cannot write %s (%s)", self._state_file, exc)


