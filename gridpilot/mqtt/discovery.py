"""Home Assistant MQTT discovery: one retained config per entity, all under one device.

Configs go to ``<prefix>/<component>/<node>/<key>/config`` (node ``gridpilot_<site slug>``), as
Home Assistant's MQTT discovery expects; every entity names the availability topic, so it shows
as unavailable when gridpilot's last will says ``offline``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from gridpilot.mqtt.entities import CONTROLS, ENTITIES, OVERRIDE_MODES, Entity

__all__ = ["DiscoveryContext", "discovery_messages"]


@dataclass(frozen=True, slots=True)
class DiscoveryContext:
    base_topic: str
    prefix: str
    node: str
    """``gridpilot_<site slug>``: the device identifier and the start of every unique id."""
    site_name: str
    currency: str
    max_power_w: float
    version: str


def _config(entity: Entity, ctx: DiscoveryContext) -> dict[str, Any]:
    base = ctx.base_topic
    config: dict[str, Any] = {
        "name": entity.name,
        "unique_id": f"{ctx.node}_{entity.key}",
        "availability_topic": f"{base}/availability",
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": {
            "identifiers": [ctx.node],
            "name": f"gridpilot {ctx.site_name}",
            "manufacturer": "gridpilot",
            "model": "battery policy engine",
            "sw_version": ctx.version,
        },
    }
    if entity.component != "button":
        config["state_topic"] = f"{base}/{entity.key}"
    if entity.component in ("select", "number", "button"):
        config["command_topic"] = f"{base}/{entity.key}/set"
    if entity.unit is not None:
        config["unit_of_measurement"] = entity.unit.replace("{currency}", ctx.currency)
    for key, value in (("device_class", entity.device_class), ("state_class", entity.state_class),
                       ("icon", entity.icon), ("entity_category", entity.category)):
        if value is not None:
            config[key] = value
    if entity.attributes:
        config["json_attributes_topic"] = f"{base}/{entity.key}/attributes"
    if entity.component == "binary_sensor":
        config["payload_on"], config["payload_off"] = "ON", "OFF"
    if entity.component == "select":
        config["options"] = list(OVERRIDE_MODES)
    if entity.component == "number":
        config.update(min=0, max=ctx.max_power_w, step=10, mode="box")
    if entity.component == "button":
        config["payload_press"] = "PRESS"
    return config


def discovery_messages(ctx: DiscoveryContext) -> Iterator[tuple[str, str]]:
    """``(topic, JSON payload)`` of every entity's discovery config (publish retained)."""
    for entity in (*ENTITIES, *CONTROLS):
        topic = f"{ctx.prefix}/{entity.component}/{ctx.node}/{entity.key}/config"
        yield topic, json.dumps(_config(entity, ctx), separators=(",", ":"), sort_keys=True)
