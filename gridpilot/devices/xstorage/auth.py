"""xStorage sign-in: the request, the two token shapes, refresh timing and the lockout latch.

A refused sign-in is remembered and never retried automatically: units lock an account after
repeated failures (``errCode`` 10). Only a new adapter (a restart with fixed credentials) tries
again. Network failures during sign-in are not refusals and may be retried on the next tick.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr

from gridpilot.errors import DeviceAuthError, DeviceProtocolError

__all__ = ["TokenState", "extract_token", "signin_body"]

LOCKED_ERR_CODE = "10"


def signin_body(
    username: str,
    password: SecretStr,
    user_type: str,
    inverter_sn: str | None = None,
    email: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "username": username,
        "pwd": password.get_secret_value(),
        "userType": user_type,
    }
    if user_type == "tech":
        body["inverterSn"] = inverter_sn or ""
        body["email"] = email or "gridpilot@localhost"
    return body


def extract_token(device: str, body: Any) -> SecretStr:
    """The token from ``{"result": {"token": ...}}`` or the old ``{"": ...}`` shape."""
    token: Any = None
    if isinstance(body, dict):
        result = body.get("result")
        if isinstance(result, dict):
            token = result.get("token")
        if token is None:
            token = body.get("")
    if not isinstance(token, str) or not token:
        keys = sorted(body) if isinstance(body, dict) else type(body).__name__
        raise DeviceProtocolError(
            device, f"sign-in answered without a token (keys: {keys}); unknown firmware?"
        )
    return SecretStr(token)


class TokenState:
    """The current bearer token and when to renew it. Never shows the token in its repr."""

    def __init__(self, device: str, refresh_after_s: float) -> None:
        self.device = device
        self.refresh_after_s = refresh_after_s
        self._token: SecretStr | None = None
        self._signed_in_at: datetime | None = None
        self._refused: str | None = None

    def __repr__(self) -> str:
        state = "refused" if self._refused else ("held" if self._token else "none")
        return f"TokenState(device={self.device!r}, token={state})"

    def check_not_refused(self) -> None:
        if self._refused is not None:
            raise DeviceAuthError(
                self.device,
                f"sign-in was refused earlier ({self._refused}); not trying again so the account "
                "is not locked. Fix the credentials and restart gridpilot.",
            )

    def refuse(self, reason: str) -> None:
        self._token = None
        self._refused = reason

    def store(self, token: SecretStr, now: datetime) -> None:
        self._token = token
        self._signed_in_at = now

    def drop(self) -> None:
        self._token = None

    def valid(self, now: datetime) -> SecretStr | None:
        """The token if it is still fresh at ``now``, else ``None``."""
        if self._token is None or self._signed_in_at is None:
            return None
        if now - self._signed_in_at >= timedelta(seconds=self.refresh_after_s):
            return None
        return self._token
