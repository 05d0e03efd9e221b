"""MQTT publishing of a run (floor 7, beside the scheduler): decisions, health and the plan go
to a broker, with Home Assistant discovery and override controls. Needs the ``mqtt`` extra
(``pip install 'gridpilot[mqtt]'``): :func:`require_client` says so before anything starts."""

from __future__ import annotations

import importlib.util

from gridpilot.errors import GridpilotError

__all__ = ["MqttExtraMissing", "require_client"]


class MqttExtraMissing(GridpilotError):
    """The policy has an ``mqtt:`` section but paho-mqtt is not installed."""


def require_client() -> None:
    """Raise :class:`MqttExtraMissing`, naming the extra, when paho-mqtt is missing."""
    if importlib.util.find_spec("paho") is None or importlib.util.find_spec("paho.mqtt") is None:
        raise MqttExtraMissing(
            "the policy's mqtt: section needs the MQTT client; install the extra: "
            "pip install 'gridpilot[mqtt]' (or remove the mqtt: section)")
