"""A battery that Home Assistant can read and control (``device: {type: homeassistant}``).

Readings come from the entities the policy names (one ``GET /api/states`` per read), commands go
out as the service calls the policy maps each command kind to. Every value is checked against
the entity's own declared options or range before anything is sent, and read back afterwards.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from gridpilot.clock import Clock, SystemClock
from gridpilot.devices.base import AppliedCommand, Capabilities, DeviceReading, ExportResult
from gridpilot.devices.homeassistant.client import HaClient
from gridpilot.devices.homeassistant.control import (
    PlannedCall,
    check_call,
    confirms,
    plan_calls,
)
from gridpilot.devices.homeassistant.history import fetch_history, write_csv
from gridpilot.devices.homeassistant.modes import ModeMemory, classify_mode
from gridpilot.devices.homeassistant.readings import convert, measured_at
from gridpilot.devices.homeassistant.settings import HomeAssistantSettings, ServiceCall
from gridpilot.devices.homeassistant.templates import command_fields
from gridpilot.devices.http import DeviceHttp
from gridpilot.devices.secrets import resolve_secret
from gridpilot.devices.tls import TlsPolicy
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.errors import CommandError

if TYPE_CHECKING:
    from gridpilot.devices.context import DeviceContext

__all__ = ["SETTINGS_MODEL", "HomeAssistantAdapter", "create"]

log = logging.getLogger("gridpilot.devices.homeassistant")

SETTINGS_MODEL = HomeAssistantSettings
EXPORT_STEP_S = 300


class HomeAssistantAdapter:
    def __init__(
        self,
        settings: HomeAssistantSettings,
        *,
        name: str = "",
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        base_dir: Path | None = None,
        memory_file: Path | None = None,
    ) -> None:
        self._name = name or settings.name or "homeassistant"
        self.settings = settings
        self._clock = clock or SystemClock()
        self._base_dir = base_dir
        ca = settings.ca_file
        if ca is not None and not ca.is_absolute() and base_dir is not None:
            ca = base_dir / ca
        tls = TlsPolicy(self._name, ca_file=ca, check_hostname=True, insecure=settings.insecure)
        self.http = DeviceHttp(
            self._name, settings.url.rstrip("/") + "/", clock=self._clock,
            timeout_s=settings.timeout_s, read_retries=settings.read_retries,
            backoff_s=settings.retry_backoff_s, verify=tls.context(), transport=transport,
            forbidden_hint="the token's user needs to be an administrator",
        )
        self._client: HaClient | None = None
        _warn_if_plain(self._name, settings.url)
        self.memory = ModeMemory(memory_file)
        self._mode_entity = settings.the_mode_entity()
        self._options = self._option_kinds()
        self._last_kind: CommandKind | None = None

    def __repr__(self) -> str:
        return f"HomeAssistantAdapter(name={self._name!r}, url={self.settings.url!r})"

    def _option_kinds(self) -> dict[str, list[CommandKind]]:
        """Each option of the mode select that the controls set -> the kinds that set it."""
        found: dict[str, list[CommandKind]] = {}
        for kind, calls in self.settings.controls.items():
            for call in calls:
                option = call.data.get("option")
                if call.entity_id == self._mode_entity and isinstance(option, str):
                    found.setdefault(option, []).append(kind)
        return found

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> Capabilities:
        native = {kind: option for option, kinds in self._options.items() for kind in kinds}
        return Capabilities(
            power_rating_w=self.settings.power_rating_w,
            capacity_kwh=self.settings.capacity_kwh,
            kinds=frozenset(self.settings.controls),
            native=native,
            read_only=not self.settings.controls,
        )

    def client(self) -> HaClient:
        if self._client is None:
            token = resolve_secret(self._name, "Home Assistant token", self.settings.token,
                                   self.settings.token_file, self._base_dir)
            self._client = HaClient(self.http, token.get_secret_value())
        return self._client

    async def read_state(self) -> DeviceReading:
        now = self._clock.now()
        states = await self.client().states()
        values: dict[str, Any] = {}
        measured: dict[str, Any] = {}
        rejected: dict[str, str] = {}
        for field, spec in self.settings.entities.items():
            state = states.get(spec.entity_id)
            got = convert(field, spec, state)
            if isinstance(got, str):
                rejected[field] = got
                continue
            values[field] = got
            assert state is not None
            measured[field] = min(measured_at(state, now), now)
        mode = None
        if self._mode_entity is not None:
            mode = classify_mode(states.get(self._mode_entity), self._options, self.memory,
                                 self._last_kind)
        return DeviceReading(time=now, device_mode=mode, measured_at=measured,
                             rejected=rejected, **values)

    async def apply(self, command: Command, *, valid_for_s: float) -> AppliedCommand:
        calls = self.settings.controls.get(command.kind)
        if not calls:
            known = ", ".join(k.value for k in self.settings.controls) or "none"
            raise CommandError(f"{self._name}: no controls for {command.kind.value} "
                               f"(controls given for: {known})")
        applied, confirmed = await self._run(calls, command_fields(command))
        self._last_kind = command.kind
        return AppliedCommand(
            command=command, sent_at=self._clock.now(), expires_at=None,
            native={"calls": [_as_dict(c) for c in applied]}, confirmed=confirmed,
            effective_power_w=command.power_w,
        )

    async def _run(self, calls: list[ServiceCall],
                   fields: dict[str, float | None]) -> tuple[list[PlannedCall], bool]:
        planned = plan_calls(calls, fields, self._name)
        client = self.client()
        before = await client.states()
        for call in planned:  # every call is checked before the first is sent
            check_call(call, before.get(call.entity_id or ""), self._name)
        contexts: list[str] = []
        option: str | None = None
        for call in planned:
            changed = await client.call(call.service, call.entity_id, call.data)
            contexts.extend(str(s.get("context", {}).get("id", "")) for s in changed
                            if isinstance(s.get("context"), dict))
            if call.entity_id == self._mode_entity and call.expected() is not None:
                option = str(call.data.get("option"))
        self.memory.remember(option, contexts)
        after = await client.states()
        confirmed = all(
            confirms(c, after.get(c.entity_id or ""), self.settings.confirm_tolerance)
            for c in planned)
        return planned, confirmed

    async def release(self) -> None:
        calls = self.settings.release_calls()
        if calls:
            await self._run(calls, {})

    async def export(self, start: datetime, end: datetime, out: Path) -> ExportResult:
        """The entities' history from Home Assistant's recorder as ``timestamp,load_w,pv_w``
        rows every 5 minutes (what ``gridpilot simulate --data`` reads)."""
        if "load_w" not in self.settings.entities and "grid_w" not in self.settings.entities:
            raise CommandError(f"{self._name}: map entities.load_w (or grid_w, to derive the "
                               "load) to export a history")
        entities = {str(field): spec for field, spec in self.settings.entities.items()}
        series = await fetch_history(self.client(), entities, start, end)
        rows = write_csv(series, start, end, EXPORT_STEP_S, out)
        return ExportResult(path=out, records=rows, format="csv")

    async def aclose(self) -> None:
        await self.http.aclose()


def _as_dict(call: PlannedCall) -> dict[str, Any]:
    return {"service": call.service, "entity_id": call.entity_id, "data": dict(call.data)}


_LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "supervisor"}


def _warn_if_plain(name: str, url: str) -> None:
    """Plain http is Home Assistant's default, so it is allowed; but the token then crosses the
    network readable, which the user should know (loopback and the add-on's Supervisor proxy
    never leave the machine)."""
    parts = urlsplit(url)
    if parts.scheme == "http" and (parts.hostname or "") not in _LOCAL_HOSTS:
        log.warning("device %r: %s is plain http, so the access token crosses the network "
                    "unencrypted; use https (Home Assistant's ssl or a TLS proxy) where others "
                    "share that network", name, parts.hostname)


def create(settings: BaseModel, context: DeviceContext) -> HomeAssistantAdapter:
    assert isinstance(settings, HomeAssistantSettings)
    name = context.name if context.name != "homeassistant" else settings.name
    return HomeAssistantAdapter(
        settings, name=name, clock=context.clock, transport=context.transport,
        base_dir=context.base_dir,
        memory_file=context.state_file("homeassistant", name or "homeassistant", "mode"),
    )
