"""Home Assistant's REST API (``/api/states``, ``/api/services/<domain>/<service>``) over the
shared HTTP boundary: every failure is a DeviceError naming the device, the token goes only into
the Authorization header."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from gridpilot.devices.http import DeviceHttp
from gridpilot.errors import DeviceProtocolError

__all__ = ["HaClient"]


class HaClient:
    def __init__(self, http: DeviceHttp, token: str) -> None:
        self.http = http
        self._headers = {"Authorization": f"Bearer {token}"}

    def __repr__(self) -> str:
        return f"HaClient({self.http!r})"

    def auth_headers(self) -> dict[str, str]:
        return dict(self._headers)

    async def state(self, entity_id: str) -> dict[str, Any]:
        """One state object: ``entity_id``, ``state``, ``attributes``, ``last_changed``,
        ``last_updated``, ``context``."""
        path = f"api/states/{quote(entity_id, safe='.')}"
        answer = await self.http.request("GET", path, headers=self._headers)
        if not isinstance(answer, Mapping) or not isinstance(answer.get("state"), str):
            raise DeviceProtocolError(self.http.device,
                                      f"GET /{path}: the answer is not a state object")
        return dict(answer)

    async def states(self) -> dict[str, dict[str, Any]]:
        """Every state object by entity id (one request for all readings)."""
        answer = await self.http.request("GET", "api/states", headers=self._headers)
        if not isinstance(answer, list):
            raise DeviceProtocolError(self.http.device, "GET /api/states: not a list of states")
        return {
            str(s["entity_id"]): dict(s) for s in answer
            if isinstance(s, Mapping) and isinstance(s.get("entity_id"), str)
        }

    async def call(self, service: str, entity_id: str | None,
                   data: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Call ``service`` (``domain.name``) on ``entity_id``; the states it changed. Never
        retried: a repeated call could repeat its effect."""
        domain, name = service.split(".", 1)
        body = dict(data) if entity_id is None else {"entity_id": entity_id, **data}
        answer = await self.http.request(
            "POST", f"api/services/{domain}/{name}", headers=self._headers,
            json_body=body, retry=False,
        )
        if answer is None:
            return []
        if not isinstance(answer, list):
            raise DeviceProtocolError(self.http.device,
                                      f"POST /api/services/{domain}/{name}: not a list of states")
        return [dict(s) for s in answer if isinstance(s, Mapping)]
