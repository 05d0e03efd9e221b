"""An in-process xStorage unit behind ``httpx.MockTransport``: no TLS, no threads, no sockets.

For property tests that need hundreds of status answers in well under a second each; the HTTPS
:class:`tests.emulators.XStorageEmulator` remains the reference for everything else. The status
serves ``current_mode`` exactly as given (:data:`OMIT` leaves the key out); commands are
recorded and answered with a stored MANUAL record, as a unit does.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.emulators.xstorage import OMIT
from tests.emulators.xstorage_model import envelope

__all__ = ["MockUnit"]

ENERGY_FLOW: dict[str, Any] = {
    "stateOfCharge": 55, "batteryStatus": "BAT_IDLE", "batteryEnergyFlow": 0,
    "gridRole": "CONSUMER", "gridValue": 400, "criticalLoadValue": 300,
    "nonCriticalLoadValue": 100, "acPvValue": 0, "dcPvValue": 0, "operationMode": "BASIC",
}


@dataclass
class MockUnit:
    current_mode: Any = OMIT
    energy_flow: dict[str, Any] = field(default_factory=lambda: dict(ENERGY_FLOW))
    commands: list[Any] = field(default_factory=list)
    """Every ``POST /api/device/command`` body received."""
    follow_commands: bool = False
    """True: a command becomes the status's ``currentMode`` (a unit that reads normally)."""

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        if path == "/api/auth/signin":
            return httpx.Response(200, json={"successful": True, "result": {"token": "t"}})
        if path == "/api/device":
            return httpx.Response(200, json=envelope({
                "inverterPowerRating": 0, "inverterVaRating": 3600, "bmsCapacity": 4.2,
                "inverterModelName": "XSTH1P036P048V01", "powerState": True}))
        if path == "/api/device/status":
            result: dict[str, Any] = {"energyFlow": dict(self.energy_flow)}
            if self.current_mode is not OMIT:
                result["currentMode"] = copy.deepcopy(self.current_mode)
            return httpx.Response(200, json=envelope(result))
        if (method, path) == ("POST", "/api/device/command"):
            body = json.loads(request.content)
            self.commands.append(body)
            record = {"id": str(uuid.uuid4()), "type": "MANUAL", "command": body.get("command"),
                      "duration": body.get("duration"), "parameters": body.get("parameters"),
                      "recurrence": "MANUAL_EVENT"}
            if self.follow_commands:
                self.current_mode = record
            return httpx.Response(200, json=envelope(record))
        return httpx.Response(404, text="404 page not found")
