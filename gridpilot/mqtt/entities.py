"""What gridpilot publishes: one entry per value, with its Home Assistant discovery metadata.

The state of each entity lives at ``<base_topic>/<key>``; an entity with ``attributes`` has a
JSON document beside it at ``<base_topic>/<key>/attributes``. Units are in the discovery config,
never in the payload, so Home Assistant can graph and convert them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CONTROLS", "ENTITIES", "OVERRIDE_MODES", "Entity"]


@dataclass(frozen=True, slots=True)
class Entity:
    key: str
    """Topic level under the base topic and the end of the unique id."""
    component: str
    """Home Assistant platform: ``sensor``, ``binary_sensor``, ``select``, ``number``,
    ``button``."""
    name: str
    unit: str | None = None
    """``"{currency}"`` is replaced by the tariff's currency."""
    device_class: str | None = None
    state_class: str | None = None
    icon: str | None = None
    attributes: bool = False
    category: str | None = None
    """``diagnostic`` for health entities (Home Assistant shows them apart)."""


ENTITIES: tuple[Entity, ...] = (
    Entity("command", "sensor", "Command", icon="mdi:battery-sync", attributes=True),
    Entity("command_power", "sensor", "Command power", "W", "power", "measurement"),
    Entity("winner", "sensor", "Winning rule", icon="mdi:trophy-outline", attributes=True),
    Entity("reason", "sensor", "Reason", icon="mdi:comment-text-outline"),
    Entity("limits", "sensor", "Active limits", icon="mdi:speedometer", attributes=True),
    Entity("soc", "sensor", "Battery SOC", "%", "battery", "measurement"),
    Entity("battery_power", "sensor", "Battery power", "W", "power", "measurement"),
    Entity("grid_power", "sensor", "Grid power", "W", "power", "measurement"),
    Entity("price_now", "sensor", "Import price now", "{currency}/kWh", None, "measurement",
           "mdi:cash"),
    Entity("price_next", "sensor", "Import price next", "{currency}/kWh", None, "measurement",
           "mdi:cash-clock", attributes=True),
    Entity("plan", "sensor", "Plan ahead", icon="mdi:chart-timeline", attributes=True),
    Entity("cost_today", "sensor", "Cost today", "{currency}", "monetary", "total",
           attributes=True),
    Entity("saving_today", "sensor", "Saving today", "{currency}", "monetary", "total"),
    Entity("failsafe", "binary_sensor", "Fail-safe", device_class="problem",
           category="diagnostic"),
    Entity("stale", "binary_sensor", "Stale data", device_class="problem",
           category="diagnostic"),
    Entity("last_error", "sensor", "Last error", icon="mdi:alert-circle-outline",
           category="diagnostic"),
)

OVERRIDE_MODES = ("auto", "charge", "discharge", "hold")
"""The select's options: ``auto`` clears the MQTT override, the others set one."""

CONTROLS: tuple[Entity, ...] = (
    Entity("override_mode", "select", "Override mode", icon="mdi:hand-back-right"),
    Entity("override_power", "number", "Override power", "W", "power", icon="mdi:flash"),
    Entity("override_clear", "button", "Clear overrides", icon="mdi:close-circle-outline"),
)
