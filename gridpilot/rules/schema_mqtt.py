"""The ``mqtt:`` policy section: the broker gridpilot publishes its decisions to, with Home
Assistant discovery and the override controls (see docs/home-assistant.md)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator

from gridpilot.models import StrictModel

__all__ = ["MqttSpec", "MqttTlsSpec", "check_topic", "site_slug"]

_SLUG_RE = re.compile(r"[^a-z0-9]+")


def site_slug(name: str) -> str:
    """``"Economy 7 bungalow"`` -> ``"economy_7_bungalow"``: a topic level and an id part."""
    return _SLUG_RE.sub("_", name.lower()).strip("_") or "site"


def check_topic(value: str, what: str) -> str:
    """A topic gridpilot publishes under: no wildcards, no empty level, no NUL."""
    if not value or value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError(f"{what} {value!r}: levels must not be empty (no leading, trailing or "
                         "double '/'); write e.g. 'gridpilot/home'")
    if any(c in value for c in "+#\0"):
        raise ValueError(f"{what} {value!r}: '+' and '#' are subscription wildcards and cannot "
                         "be published to; remove them")
    return value


class MqttTlsSpec(StrictModel):
    """TLS to the broker. The broker's certificate is verified unless ``insecure`` says not."""

    ca_file: Path | None = None
    """CA bundle the broker's certificate is checked against (default: the system's)."""
    cert_file: Path | None = None
    """Client certificate, for brokers that authenticate clients by certificate."""
    key_file: Path | None = None
    insecure: bool = False
    """Skip checking the broker's certificate and name: only for a broker on a trusted network."""

    @model_validator(mode="after")
    def _pair(self) -> MqttTlsSpec:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("give both 'cert_file' and 'key_file' for a client certificate, "
                             "or neither")
        return self


class MqttSpec(StrictModel):
    """Publishing to an MQTT broker (``gridpilot run``)."""

    host: Annotated[str, Field(min_length=1, max_length=253)]
    port: Annotated[int, Field(ge=1, le=65_535)] | None = None
    """Default 1883, or 8883 with ``tls``."""
    username: str | None = None
    password: SecretStr | None = None
    """Write it as ``${ENV_VAR}``, never in the file; or use ``password_file``."""
    password_file: Path | None = None
    """First line of this file (relative to the policy)."""
    tls: MqttTlsSpec | None = None
    client_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    """Default ``gridpilot-<site slug>``; two runs for one site must not share it."""
    base_topic: str | None = None
    """Default ``gridpilot/<site slug>``."""
    discovery: bool = True
    """Publish Home Assistant MQTT discovery configs (retained)."""
    discovery_prefix: str = "homeassistant"
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 60
    reconnect_min_s: Annotated[int, Field(ge=1, le=600)] = 1
    """First wait before reconnecting; doubled on every failure up to ``reconnect_max_s``."""
    reconnect_max_s: Annotated[int, Field(ge=1, le=3600)] = 120
    override_for_s: Annotated[float, Field(gt=0, le=14 * 86_400)] = 4 * 3600.0
    """How long an override chosen in the mode select lasts (the control API's ``for_s``)."""
    override_power_w: Annotated[float, Field(gt=0, le=10_000_000)] | None = None
    """The override power until the power number is set (default: the battery's maximum)."""

    @field_validator("base_topic", "discovery_prefix")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        return None if value is None else check_topic(value, "topic")

    @model_validator(mode="after")
    def _one_password(self) -> MqttSpec:
        if self.password is not None and self.password_file is not None:
            raise ValueError("give 'password' or 'password_file', not both")
        if (self.password is not None or self.password_file is not None) and not self.username:
            raise ValueError("a password needs a 'username'")
        if self.reconnect_max_s < self.reconnect_min_s:
            raise ValueError("'reconnect_max_s' must not be below 'reconnect_min_s'")
        return self

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # The password never reaches a log line, even masked by SecretStr's own repr.
        for key, value in super().__repr_args__():
            if key != "password":
                yield key, value
