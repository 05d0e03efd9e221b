"""The ``mqtt:`` section resolved for a run: defaults filled in, the password read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from gridpilot.errors import GridpilotError
from gridpilot.rules.schema_mqtt import MqttSpec, MqttTlsSpec, site_slug

__all__ = ["MqttError", "MqttSettings", "resolve_settings"]


class MqttError(GridpilotError):
    """The MQTT set-up cannot work; the message names the setting and what to do."""


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int
    client_id: str
    base_topic: str
    node: str
    """``gridpilot_<site slug>``: the Home Assistant device and the start of unique ids."""
    discovery_prefix: str | None
    """``None``: no discovery configs."""
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    tls: MqttTlsSpec | None = None
    base_dir: Path | None = None
    keepalive_s: int = 60
    reconnect_min_s: int = 1
    reconnect_max_s: int = 120

    def path(self, value: Path | None) -> str | None:
        if value is None:
            return None
        return str(value if value.is_absolute() or self.base_dir is None
                   else self.base_dir / value)


def _password(spec: MqttSpec, base_dir: Path | None) -> SecretStr | None:
    if spec.password is not None or spec.password_file is None:
        return spec.password
    path = spec.password_file
    path = path if path.is_absolute() or base_dir is None else base_dir / path
    try:
        lines = path.read_text(encoding="utf-8").strip().splitlines()
    except OSError as exc:
        raise MqttError(f"mqtt.password_file: cannot read {str(path)!r} "
                        f"({exc.strerror or exc}); create it with the broker password on its "
                        "first line") from None
    if not lines or not lines[0].strip():
        raise MqttError(f"mqtt.password_file: {str(path)!r} is empty; put the broker "
                        "password on its first line")
    return SecretStr(lines[0].strip())


def resolve_settings(spec: MqttSpec, site_name: str, base_dir: Path | None) -> MqttSettings:
    slug = site_slug(site_name)
    return MqttSettings(
        host=spec.host,
        port=spec.port or (8883 if spec.tls is not None else 1883),
        client_id=spec.client_id or f"gridpilot-{slug}",
        base_topic=spec.base_topic or f"gridpilot/{slug}",
        node=f"gridpilot_{slug}",
        discovery_prefix=spec.discovery_prefix if spec.discovery else None,
        username=spec.username,
        password=_password(spec, base_dir),
        tls=spec.tls,
        base_dir=base_dir,
        keepalive_s=spec.keepalive_s,
        reconnect_min_s=spec.reconnect_min_s,
        reconnect_max_s=spec.reconnect_max_s,
    )
