"""Home Assistant as the device (``device: {type: homeassistant}``): readings from entities,
commands as service calls over the REST API, a person's change of the mode select respected."""

from gridpilot.devices.homeassistant.adapter import HomeAssistantAdapter
from gridpilot.devices.homeassistant.settings import (
    EntityReading,
    HomeAssistantSettings,
    ServiceCall,
)

__all__ = ["EntityReading", "HomeAssistantAdapter", "HomeAssistantSettings", "ServiceCall"]
