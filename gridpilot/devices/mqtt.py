"""A battery that another bridge already exposes on MQTT (Solar Assistant, openHAB, Node-RED,
batcontrol's MQTT inverter): readings from topics, commands published to topics
(``device: {type: mqtt, ...}``, needs the ``mqtt`` extra).

Each reading names its topic and how to read it: a plain number or a key of a JSON payload,
a ``scale`` (1000 reads a kW payload as W) and ``invert`` for a bridge whose sign is the other
way round (gridpilot: battery + = discharging, grid + =
importing). A reading's age is the time since its last message. A payload that is not a finite
number is refused, naming the topic, never read as 0.

Commands need the device's mode topic: its payload, mapped through ``modes``, says what runs.
A mode gridpilot did not set (or one not in ``modes``) is a person's or unknown, and gridpilot
sends nothing over it, as for every adapter. A command kind without ``commands`` entry, or a
power beyond the site's limits, is refused before anything is published.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import math
import ssl
import string
import threading
import time
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from gridpilot.devices.base import AppliedCommand, Capabilities, DeviceReading
from gridpilot.devices.secrets import resolve_secret
from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.state import DeviceMode, ModeSource
from gridpilot.errors import CommandError, DeviceError, DeviceUnreachable
from gridpilot.models import StrictModel

if TYPE_CHECKING:
    import paho.mqtt.client as paho

    from gridpilot.clock import Clock
    from gridpilot.devices.context import DeviceContext

__all__ = ["SETTINGS_MODEL", "MqttDevice", "MqttDeviceSettings", "create"]

READINGS = ("soc_pct", "load_w", "pv_w", "grid_w", "battery_w")
FIELDS = frozenset({"power_w", "target_soc_pct", "floor_soc_pct"})
"""What a command payload template may name: ``{power_w}`` and the SOC bounds."""
CONNECT_WAIT_S = 5.0
PUBLISH_WAIT_S = 5.0


class Reading(StrictModel):
    topic: Annotated[str, Field(min_length=1)]
    """The topic the bridge publishes the value on."""
    json_key: str | None = None
    """Read this key of a JSON object payload (dots go deeper: ``battery.soc``)."""
    scale: float = 1.0
    """Multiply the payload by this (1000 reads kW as W)."""
    invert: bool = False
    """The bridge's sign is the other way round (its battery + = charging...)."""


class Message(StrictModel):
    topic: Annotated[str, Field(min_length=1)]
    """The topic to publish to (QoS 1)."""
    payload: str
    """Text with ``{power_w}``, ``{target_soc_pct}`` or ``{floor_soc_pct}`` filled in."""
    retain: bool = False
    """Publish retained (for a bridge that reads its settings at start)."""

    @field_validator("topic")
    @classmethod
    def _publishable(cls, value: str) -> str:
        if any(c in value for c in "+#"):
            raise ValueError(f"topic {value!r}: wildcards cannot be published to")
        return value

    @field_validator("payload")
    @classmethod
    def _known_fields(cls, value: str) -> str:
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
        except ValueError as exc:
            raise ValueError(f"payload {value!r}: {exc}; write a literal brace as {{{{ }}}}"
                             ) from None
        unknown = names - FIELDS
        if unknown:
            raise ValueError(f"payload names {', '.join(sorted(unknown))}; a template may use "
                             f"{', '.join(sorted(FIELDS))}")
        return value


class MqttDeviceSettings(StrictModel):
    type: Literal["mqtt"] = "mqtt"
    name: str = ""
    host: Annotated[str, Field(min_length=1)]
    """The broker the bridge publishes to."""
    port: Annotated[int, Field(ge=1, le=65_535)] = 1883
    username: str | None = None
    password: SecretStr | None = None
    """Write it as ``${ENV_VAR}``, or use ``password_file``."""
    password_file: Path | None = None
    """First line of this file (relative to the policy)."""
    ca_file: Path | None = None
    """TLS to the broker, verified against this CA (implies ``tls``)."""
    tls: bool = False
    """TLS to the broker, verified against the system's CAs."""
    client_id: str | None = None
    """Default: one the broker assigns."""
    readings: dict[Literal["soc_pct", "load_w", "pv_w", "grid_w", "battery_w"], Reading]
    """Reading name (``soc_pct``, ``load_w``, ``pv_w``, ``grid_w``, ``battery_w``) -> where
    and how to read it; ``soc_pct`` is required."""
    mode: Reading | None = None
    """The topic that says which mode the device runs (needed to command it)."""
    modes: dict[str, CommandKind] = {}  # noqa: RUF012
    """Mode payload -> the kind it is."""
    default_mode: str | None = None
    """The mode payload that is the device's own default (not a person's choice)."""
    commands: dict[CommandKind, list[Message]] = {}  # noqa: RUF012
    """Command kind -> the messages that make the device run it (none: read-only)."""
    release: list[Message] = []  # noqa: RUF012
    """Published when gridpilot hands control back."""
    confirm_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    """How long a command waits for the mode topic to show it before it counts as failed."""

    @model_validator(mode="after")
    def _fits(self) -> MqttDeviceSettings:
        if "soc_pct" not in self.readings:
            raise ValueError("readings: soc_pct is required (no decision without the SOC)")
        if self.commands and self.mode is None:
            raise ValueError("commands need 'mode': without the device's mode gridpilot cannot "
                             "tell a person's choice from its own, and sends nothing")
        missing = [k.value for k in self.commands if k not in self.modes.values()]
        if missing:
            raise ValueError(f"modes: no mode payload maps to {', '.join(missing)}; add the "
                             "payload the mode topic shows while it runs")
        if self.default_mode is not None and self.default_mode not in self.modes:
            raise ValueError(f"default_mode {self.default_mode!r} is not one of 'modes'")
        if self.password is not None and self.password_file is not None:
            raise ValueError("give 'password' or 'password_file', not both")
        return self


SETTINGS_MODEL = MqttDeviceSettings


def _number(payload: bytes, r: Reading) -> float:
    """The payload as a finite number in gridpilot's units and signs; ``ValueError`` if not."""
    text = payload.decode("utf-8", "replace").strip()
    value: Any = text
    if r.json_key is not None:
        value = json.loads(text)
        for part in r.json_key.split("."):
            if not isinstance(value, dict) or part not in value:
                raise ValueError(f"no key {r.json_key!r} in the JSON payload")
            value = value[part]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{str(value)[:40]!r} is not a number")
    number = float(value) * r.scale
    if not math.isfinite(number):
        raise ValueError(f"{str(value)[:40]!r} is not a finite number")
    return -number if r.invert else number


class MqttDevice:
    """Readings and commands over one broker connection (paho's network thread)."""

    def __init__(self, settings: MqttDeviceSettings, context: DeviceContext) -> None:
        self.settings = settings
        self._name = context.name or settings.name or "mqtt"
        self.clock: Clock = context.clock
        self.limits = context.limits
        self._base_dir = context.base_dir
        self._lock = threading.Lock()
        self._last: dict[str, tuple[bytes, datetime]] = {}
        self._client: paho.Client | None = None
        self._connected = threading.Event()
        self._refused: str | None = None
        self._sent_native: str | None = None
        """The mode payload gridpilot's last command should show (``None``: none sent)."""
        kinds = frozenset(settings.commands)
        self._capabilities = Capabilities(
            power_rating_w=None, capacity_kwh=None, kinds=kinds,
            native={k: self._native_of(k) or "" for k in kinds}, read_only=not kinds)

    def __repr__(self) -> str:
        return f"MqttDevice({self._name!r}, {self.settings.host}:{self.settings.port})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def _native_of(self, kind: CommandKind) -> str | None:
        return next((n for n, k in self.settings.modes.items() if k == kind), None)

    # -- connection --------------------------------------------------------------------------
    def _topics(self) -> dict[str, str]:
        topics: dict[str, str] = {r.topic: name for name, r in self.settings.readings.items()}
        if self.settings.mode is not None:
            topics[self.settings.mode.topic] = "mode"
        return topics

    async def _connect(self) -> paho.Client:
        if self._client is not None:
            if not self._connected.is_set():
                raise DeviceUnreachable(self._name, self._refused or (
                    f"not connected to the broker {self.settings.host}:{self.settings.port}; "
                    "reconnecting"))
            return self._client
        import paho.mqtt.client as paho_client
        from paho.mqtt.enums import CallbackAPIVersion

        s = self.settings
        client = paho_client.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                                    client_id=s.client_id or "")
        if s.username is not None:
            secret = (resolve_secret(self._name, "MQTT password", s.password, s.password_file,
                                     self._base_dir)
                      if s.password is not None or s.password_file is not None else None)
            client.username_pw_set(s.username,
                                   secret.get_secret_value() if secret is not None else None)
        if s.tls or s.ca_file is not None:
            ca = s.ca_file
            if ca is not None and not ca.is_absolute() and self._base_dir is not None:
                ca = self._base_dir / ca
            client.tls_set(ca_certs=str(ca) if ca else None, cert_reqs=ssl.CERT_REQUIRED)
        topics = self._topics()

        def on_connect(c: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if reason.is_failure:
                self._refused = f"the broker refused the connection: {reason}"
                return
            self._refused = None
            c.subscribe([(t, 1) for t in topics])
            self._connected.set()

        def on_disconnect(_c: paho.Client, _u: Any, _f: Any, _r: Any, _p: Any) -> None:
            self._connected.clear()

        def on_message(_c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
            with self._lock:
                self._last[msg.topic] = (bytes(msg.payload), self.clock.now())

        def on_connect_fail(_c: paho.Client, _u: Any) -> None:
            # Nothing listens there (or TLS failed): say so now, paho keeps retrying.
            self._refused = f"cannot connect to the broker {s.host}:{s.port}; is it running?"

        client.on_connect, client.on_disconnect = on_connect, on_disconnect
        client.on_connect_fail = on_connect_fail
        client.on_message = on_message
        client.reconnect_delay_set(1, 60)
        self._client = client
        client.connect_async(s.host, s.port, 60)
        client.loop_start()
        # The first read waits (briefly, without blocking the loop) for the retained states.
        deadline = time.monotonic() + CONNECT_WAIT_S
        while not self._connected.is_set() and time.monotonic() < deadline:
            if self._refused:
                break
            await asyncio.sleep(0.02)
        if not self._connected.is_set():
            raise DeviceUnreachable(self._name, self._refused or (
                f"cannot connect to the broker {s.host}:{s.port}; is it running?"))
        await asyncio.sleep(0.1)
        return client

    # -- reading -----------------------------------------------------------------------------
    async def read_state(self) -> DeviceReading:
        await self._connect()
        now = self.clock.now()
        values: dict[str, float] = {}
        measured: dict[str, datetime] = {}
        rejected: dict[str, str] = {}
        with self._lock:
            last = dict(self._last)
        for name, r in self.settings.readings.items():
            got = last.get(r.topic)
            if got is None:
                rejected[name] = f"{r.topic}: no message yet"
                continue
            try:
                values[name] = _number(got[0], r)
                measured[name] = got[1]
            except ValueError as exc:
                rejected[name] = f"{r.topic}: {exc}"
        soc = values.get("soc_pct")
        if soc is not None and not 0 <= soc <= 100:
            rejected["soc_pct"] = f"{self.settings.readings['soc_pct'].topic}: {soc:g} % is " \
                                  "outside 0-100"
            values.pop("soc_pct")
        return DeviceReading(
            time=now, soc_pct=values.get("soc_pct"), load_w=values.get("load_w"),
            pv_w=values.get("pv_w"), grid_w=values.get("grid_w"),
            battery_w=values.get("battery_w"), device_mode=self._mode(last),
            measured_at=measured, rejected=rejected)

    def _mode_text(self, last: Mapping[str, tuple[bytes, datetime]]) -> str | None:
        """The mode payload (its ``json_key``), ``""`` when unreadable, ``None`` when none yet."""
        r = self.settings.mode
        got = None if r is None else last.get(r.topic)
        if r is None or got is None:
            return None
        text = got[0].decode("utf-8", "replace").strip()
        if r.json_key is None:
            return text
        try:
            value: Any = json.loads(text)
            for part in r.json_key.split("."):
                value = value[part]
        except (ValueError, KeyError, TypeError, IndexError):
            return ""
        return str(value)

    def _mode(self, last: Mapping[str, tuple[bytes, datetime]]) -> DeviceMode | None:
        text = self._mode_text(last)
        if text is None:
            return None
        kind = self.settings.modes.get(text)
        if kind is None:
            return DeviceMode(None, ModeSource.UNKNOWN, text[:80])
        if self._sent_native is not None:
            # What gridpilot set, or a person changed it since: only the former is ours.
            source = ModeSource.GRIDPILOT if text == self._sent_native else ModeSource.PERSON
        elif text == self.settings.default_mode:
            source = ModeSource.DEFAULT
        else:
            source = ModeSource.PERSON
        return DeviceMode(kind, source, text)

    async def _shows(self, native: str | None) -> bool:
        """Wait (up to ``confirm_s``) for the mode topic to show ``native``."""
        deadline = time.monotonic() + self.settings.confirm_s
        while True:
            with self._lock:
                text = self._mode_text(self._last)
            if text == native:
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)

    # -- commands ----------------------------------------------------------------------------
    def _check(self, command: Command) -> list[Message]:
        messages = self.settings.commands.get(command.kind)
        if not messages:
            raise CommandError(f"device {self._name}: no 'commands' for {command.kind.value}; "
                               f"it can do {', '.join(k.value for k in self.settings.commands)}")
        lim = self.limits
        if lim is not None and command.power_w is not None:
            top = lim.max_charge_w if command.kind is CommandKind.CHARGE else lim.max_discharge_w
            if not 0 <= command.power_w <= top:
                raise CommandError(f"device {self._name}: {command.kind.value} at "
                                   f"{command.power_w:g} W is outside 0-{top:g} W")
        return messages

    async def _publish(self, messages: list[Message], command: Command | None) -> dict[str, str]:
        client = await self._connect()
        fields = {"power_w": 0.0, "target_soc_pct": 100.0, "floor_soc_pct": 0.0}
        if command is not None:
            fields = {"power_w": round(command.power_w or 0.0),
                      "target_soc_pct": command.target_soc_pct,
                      "floor_soc_pct": command.floor_soc_pct}
        sent: dict[str, str] = {}
        for m in messages:
            payload = m.payload.format_map({k: f"{v:g}" for k, v in fields.items()})
            info = client.publish(m.topic, payload, qos=1, retain=m.retain)
            deadline = time.monotonic() + PUBLISH_WAIT_S
            while not info.is_published():
                if time.monotonic() > deadline or not self._connected.is_set():
                    raise DeviceUnreachable(self._name, f"the broker did not acknowledge "
                                            f"{m.topic} within {PUBLISH_WAIT_S:g} s")
                await asyncio.sleep(0.01)
            sent[m.topic] = payload
        return sent

    async def apply(self, command: Command, *, valid_for_s: float) -> AppliedCommand:
        messages = self._check(command)
        now = self.clock.now()
        native = self._native_of(command.kind)
        sent = await self._publish(messages, command)
        self._sent_native = native
        # The broker's acknowledgement only says the bridge may get it: the device's own mode
        # topic showing the new mode is the confirmation the dispatcher reads back.
        confirmed = await self._shows(native)
        return AppliedCommand(
            command=command, sent_at=now,
            expires_at=None,  # a bridge keeps a mode until told otherwise
            native=sent, confirmed=confirmed, effective_power_w=command.power_w)

    async def release(self) -> None:
        if self.settings.release:
            await self._publish(self.settings.release, None)
        self._sent_native = None

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.disconnect()
            client.loop_stop()


def create(settings: BaseModel, context: DeviceContext) -> MqttDevice:
    if not isinstance(settings, MqttDeviceSettings):
        raise DeviceError(context.name, "internal: mqtt settings expected")
    if importlib.util.find_spec("paho") is None:
        raise DeviceError(context.name or "mqtt", "device type mqtt needs the MQTT client; "
                          "install the extra: pip install 'gridpilot[mqtt]'")
    return MqttDevice(settings, context)
