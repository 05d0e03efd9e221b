"""An authenticated xStorage local API client: sign-in, bearer token, 401 recovery, envelopes."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from gridpilot.clock import Clock
from gridpilot.devices.http import BodyKind, DeviceHttp, RejectedRequest
from gridpilot.devices.secrets import resolve_secret
from gridpilot.devices.tls import TlsPolicy
from gridpilot.devices.xstorage.auth import LOCKED_ERR_CODE, TokenState, extract_token, signin_body
from gridpilot.devices.xstorage.settings import XStorageSettings
from gridpilot.errors import DeviceAuthError, DevicePermissionError, DeviceProtocolError

__all__ = ["XStorageClient"]

log = logging.getLogger("gridpilot.devices.xstorage")

TECH_HINT = "this endpoint needs a technician login (user_type: tech with inverter_sn)"


class XStorageClient:
    """Calls the unit's API and returns the ``result`` of its envelope.

    On a 401 the client signs in again once and retries the request once; a second 401 is a
    :class:`DeviceAuthError`.
    """

    def __init__(
        self,
        device: str,
        settings: XStorageSettings,
        *,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.device = device
        self.settings = settings
        self._clock = clock
        self._base_dir = base_dir
        self._password: SecretStr | None = None
        self._tokens = TokenState(device, settings.token_refresh_s)
        tls = TlsPolicy(
            device,
            fingerprint=settings.tls_fingerprint_sha256,
            ca_file=_resolve(settings.ca_file, base_dir),
            check_hostname=settings.tls_check_hostname,
            insecure=settings.insecure,
        )
        self.http = DeviceHttp(
            device,
            settings.base_url,
            clock=clock,
            timeout_s=settings.timeout_s,
            read_retries=settings.read_retries,
            backoff_s=settings.retry_backoff_s,
            verify=tls.context(),
            transport=transport,
            trace=tls.trace_hook(),
            forbidden_hint=TECH_HINT if settings.user_type == "customer" else "",
        )

    def __repr__(self) -> str:
        return f"XStorageClient(device={self.device!r}, host={self.settings.host!r})"

    async def aclose(self) -> None:
        await self.http.aclose()

    async def sign_in(self) -> None:
        self._tokens.check_not_refused()
        if self._password is None:
            self._password = resolve_secret(
                self.device,
                "password",
                self.settings.password,
                self.settings.password_file,
                self._base_dir,
            )
        s = self.settings
        body = signin_body(s.username, self._password, s.user_type, s.inverter_sn, s.email)
        try:
            answer = await self.http.request(
                "POST", "/api/auth/signin", json_body=body, retry=False
            )
        except (DeviceAuthError, DevicePermissionError, RejectedRequest) as exc:
            code = getattr(exc, "err_code", "")
            prefix = f"device {self.device!r}: "
            detail = str(exc).removeprefix(prefix)
            if code == LOCKED_ERR_CODE:
                reason = "the account is locked (errCode 10)"
                advice = "wait until the unit unlocks it, then restart gridpilot"
            else:
                reason = detail
                advice = "check the username and password, then restart gridpilot"
            self._tokens.refuse(reason)
            raise DeviceAuthError(
                self.device,
                f"sign-in as {s.username!r} ({s.user_type}) was refused: {reason}; {advice}. "
                "Not retrying, so the account does not get locked.",
            ) from exc
        self._tokens.store(extract_token(self.device, answer), self._clock.now())
        log.info("device %r: signed in as %r (%s)", self.device, s.username, s.user_type)

    async def _token(self) -> SecretStr:
        token = self._tokens.valid(self._clock.now())
        if token is None:
            await self.sign_in()
            token = self._tokens.valid(self._clock.now())
            if token is None:  # pragma: no cover - sign_in stores or raises
                raise DeviceAuthError(self.device, "no token after sign-in")
        return token

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        body: BodyKind = "json",
        envelope: bool = True,
    ) -> Any:
        """One authenticated request. Returns ``result`` of the envelope when ``envelope``."""
        for attempt in (1, 2):
            token = await self._token()
            headers = {"Authorization": f"Bearer {token.get_secret_value()}"}
            try:
                answer = await self.http.request(
                    method, path, json_body=json_body, params=params, headers=headers, body=body
                )
            except DeviceAuthError:
                self._tokens.drop()
                if attempt == 2:
                    raise
                log.info("device %r: token refused on %s %s; signing in again", self.device,
                         method, path)
                continue
            return unwrap(self.device, f"{method} {path}", answer) if envelope else answer
        raise DeviceAuthError(self.device, f"{method} {path}: not authorised")  # pragma: no cover


def unwrap(device: str, what: str, answer: Any) -> Any:
    """``result`` of ``{"successful": true, "result": ...}``; bodies without the envelope (older
    firmware) are returned as they are."""
    if isinstance(answer, dict) and "result" in answer and (
        "successful" in answer or "message" in answer
    ):
        if answer.get("successful") is False:
            raise DeviceProtocolError(device, f"{what}: the device reported failure")
        return answer["result"]
    return answer


def _resolve(path: Path | None, base_dir: Path | None) -> Path | None:
    if path is None or path.is_absolute() or base_dir is None:
        return path
    return base_dir / path
