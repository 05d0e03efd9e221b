"""The ``device: {type: homeassistant, ...}`` settings: where Home Assistant is, which entities
hold the site's readings (with their signs and units), and which service calls carry out each
command kind."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from gridpilot.devices.homeassistant.templates import check_template_fields
from gridpilot.engine.commands import CommandKind
from gridpilot.models import StrictModel

__all__ = [
    "READING_FIELDS",
    "EntityReading",
    "HomeAssistantSettings",
    "ServiceCall",
]

READING_FIELDS = ("soc_pct", "load_w", "pv_w", "grid_w", "battery_w")
_ENTITY_ID = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
_SERVICE = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")
# Which way a positive reading points, per field: gridpilot's own convention comes first.
_DIRECTIONS: dict[str, tuple[str, str]] = {
    "battery_w": ("discharging", "charging"),
    "grid_w": ("importing", "exporting"),
}


def _entity_id(value: str) -> str:
    if not _ENTITY_ID.match(value):
        raise ValueError(f"{value!r} is not an entity id (domain.object_id, e.g. "
                         "sensor.battery_soc)")
    return value


class EntityReading(StrictModel):
    """One reading taken from one entity's state."""

    entity_id: str
    unit: Literal["W", "kW", "%"] | None = None
    """The entity's unit; when left out, its ``unit_of_measurement`` attribute decides (W or kW
    for powers). When given and the entity reports another unit, the reading is refused."""
    positive_means: Literal["discharging", "charging", "importing", "exporting"] | None = None
    """For ``battery_w`` and ``grid_w``: what a positive value of this entity means (default:
    gridpilot's convention, discharging and importing)."""

    _check_id = field_validator("entity_id")(_entity_id)


class ServiceCall(StrictModel):
    """One Home Assistant service call, e.g. ``select.select_option`` on ``select.battery_mode``
    with ``{option: "Force Charge"}``. String values in ``data`` are templates over the
    command's fields: ``{power_w}``, ``{power_kw}``, ``{target_soc_pct}``, ``{floor_soc_pct}``;
    a value that is exactly one field (``"{power_w}"``) is sent as a number."""

    service: str
    entity_id: str | None = None
    """The target entity; left out for services that name a device in ``data`` instead
    (``huawei_solar.forcible_charge_soc`` with ``device_id``)."""
    data: dict[str, Any] = Field(default_factory=dict)

    @field_validator("entity_id")
    @classmethod
    def _target(cls, value: str | None) -> str | None:
        return None if value is None else _entity_id(value)

    @field_validator("service")
    @classmethod
    def _service(cls, value: str) -> str:
        if not _SERVICE.match(value):
            raise ValueError(f"{value!r} is not a service (domain.service, e.g. "
                             "select.select_option)")
        return value

    @field_validator("data")
    @classmethod
    def _templates(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "entity_id" in value:
            raise ValueError("give the entity as the call's entity_id, not inside data")
        for key, item in value.items():
            if isinstance(item, str):
                try:
                    check_template_fields(item)
                except ValueError as exc:
                    raise ValueError(f"data.{key}: {exc}") from None
        return value

    @property
    def domain(self) -> str:
        return self.service.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.service.split(".", 1)[1]


class HomeAssistantSettings(StrictModel):
    type: Literal["homeassistant"] = "homeassistant"
    name: str = ""
    """The device's name in logs and errors (default: ``homeassistant``)."""
    url: str = "http://homeassistant.local:8123"
    """Home Assistant's base URL (inside the add-on: ``http://supervisor/core``)."""
    token: SecretStr | None = None
    """A long-lived access token, best given as ``${HA_TOKEN}``."""
    token_file: Path | None = None
    """A file holding the token on its first line (relative to the policy file)."""
    ca_file: Path | None = None
    """For an https URL with a private CA's certificate."""
    insecure: bool = False
    """Turn TLS verification off (logged as a warning on every start)."""
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    read_retries: Annotated[int, Field(ge=0, le=10)] = 1
    retry_backoff_s: Annotated[float, Field(ge=0, le=60)] = 1.0
    entities: dict[Literal["soc_pct", "load_w", "pv_w", "grid_w", "battery_w"], EntityReading]
    """Where each reading comes from; ``soc_pct`` is required."""
    controls: dict[CommandKind, list[ServiceCall]] = Field(default_factory=dict)
    """For each command kind, the service calls that carry it out, in order."""
    release: list[ServiceCall] = Field(default_factory=list)
    """The calls that hand the battery back to its own behaviour (default: the
    ``self_consumption`` calls, if given)."""
    mode_entity: str | None = None
    """The select whose option says which mode runs (default: the one select the controls
    set, if there is exactly one). A person changing it by hand makes gridpilot yield."""
    power_rating_w: Annotated[float, Field(gt=0)] | None = None
    capacity_kwh: Annotated[float, Field(gt=0)] | None = None
    confirm_tolerance: Annotated[float, Field(ge=0)] = 0.5
    """How far a number's state may be from the value sent and still confirm it (in the
    entity's own unit, on top of its ``step``)."""

    @model_validator(mode="after")
    def _coherent(self) -> HomeAssistantSettings:
        if (self.token is None) == (self.token_file is None):
            raise ValueError("give exactly one of 'token' (e.g. ${HA_TOKEN}) and 'token_file'")
        if not self.url.startswith(("http://", "https://")):
            raise ValueError("url must start with http:// or https://")
        if self.insecure and self.ca_file:
            raise ValueError("'insecure: true' contradicts a ca_file")
        if "soc_pct" not in self.entities:
            raise ValueError("entities.soc_pct is required (the battery's state of charge)")
        for field, reading in self.entities.items():
            allowed = _DIRECTIONS.get(field, ())
            if reading.positive_means is not None and reading.positive_means not in allowed:
                hint = f"one of {', '.join(allowed)}" if allowed else "not used for this reading"
                raise ValueError(f"entities.{field}.positive_means: {hint}")
            if (reading.unit == "%") != (field == "soc_pct") and reading.unit is not None:
                raise ValueError(f"entities.{field}.unit: {reading.unit!r} does not fit {field}")
        if self.mode_entity is not None:
            _entity_id(self.mode_entity)
        elif len(self.select_entities()) > 1:
            raise ValueError("the controls set several selects; name the one that holds the "
                             "battery's mode as mode_entity")
        return self

    def select_entities(self) -> list[str]:
        seen: list[str] = []
        for calls in self.controls.values():
            for call in calls:
                if (call.name == "select_option" and call.entity_id is not None
                        and call.entity_id not in seen):
                    seen.append(call.entity_id)
        return seen

    def the_mode_entity(self) -> str | None:
        if self.mode_entity is not None:
            return self.mode_entity
        selects = self.select_entities()
        return selects[0] if selects else None

    def release_calls(self) -> list[ServiceCall]:
        return self.release or self.controls.get(CommandKind.SELF_CONSUMPTION, [])

