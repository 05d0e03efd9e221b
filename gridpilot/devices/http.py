"""The HTTP boundary shared by the network adapters.

Everything httpx or a vendor can throw is translated here into the
:class:`gridpilot.errors.DeviceError` tree, naming the device. Every request has a timeout; only
reads are retried (with exponential backoff on the injected clock), because repeating a write
could repeat its effect. The status is checked before a body is parsed: devices answer 404 with
plain text and 400 with a JSON error. Bodies are never echoed into messages (they can carry
tokens).
"""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import httpx

from gridpilot.clock import Clock
from gridpilot.errors import (
    DeviceAuthError,
    DevicePermissionError,
    DeviceProtocolError,
    DeviceRejected,
    DeviceUnreachable,
)

__all__ = [
    "BodyKind",
    "CertificateError",
    "DeviceHttp",
    "RejectedRequest",
    "TraceHook",
    "UnauthorizedRequest",
    "vendor_error_fields",
]

log = logging.getLogger("gridpilot.devices.http")

BodyKind = Literal["json", "text", "bytes"]
TraceHook = Callable[[str, dict[str, Any]], Awaitable[None]]


class RejectedRequest(DeviceRejected):
    """A 4xx answer with the vendor's reason: ``status``, ``err_code`` and ``description``."""

    def __init__(
        self, device: str, message: str, *, status: int, err_code: str = "", description: str = ""
    ) -> None:
        super().__init__(device, message)
        self.status = status
        self.err_code = err_code
        self.description = description


class UnauthorizedRequest(DeviceAuthError):
    """A 401 answer; ``err_code`` and ``description`` hold the vendor's reason if it gave one."""

    def __init__(self, device: str, message: str, *, err_code: str = "",
                 description: str = "") -> None:
        super().__init__(device, message)
        self.err_code = err_code
        self.description = description


class CertificateError(DeviceProtocolError):
    """The device's TLS certificate failed verification or did not match the pinned fingerprint.
    Never retried: it may be another machine answering in the device's place."""


def vendor_error_fields(body: Any) -> tuple[str, str, str]:
    """``(errCode, description, step)`` from a vendor error body ``{"error": {...}}``, if any."""
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, Mapping):
            return (
                str(err.get("errCode", "") or ""),
                str(err.get("description", "") or err.get("message", "") or ""),
                str(err.get("step", "") or ""),
            )
        if isinstance(body.get("message"), str) and body.get("success") is False:
            return "", str(body["message"]), ""
    return "", "", ""


class DeviceHttp:
    """An ``httpx.AsyncClient`` wrapped with the boundary rules above.

    ``forbidden_hint`` is added to 403 messages (e.g. "needs a technician login").
    """

    def __init__(
        self,
        device: str,
        base_url: str,
        *,
        clock: Clock,
        timeout_s: float,
        read_retries: int,
        backoff_s: float,
        verify: ssl.SSLContext | bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        trace: TraceHook | None = None,
        forbidden_hint: str = "",
    ) -> None:
        self.device = device
        self._clock = clock
        self._read_retries = max(0, read_retries)
        self._backoff_s = max(0.0, backoff_s)
        self._trace = trace
        self._forbidden_hint = forbidden_hint
        self._timeout_s = timeout_s
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout_s),
            verify=verify,
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"DeviceHttp(device={self.device!r}, base_url={str(self._client.base_url)!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        body: BodyKind = "json",
        retry: bool | None = None,
    ) -> Any:
        """Send one request and return its parsed body (``None`` for an empty JSON body).

        ``retry`` defaults to True for GET only.
        """
        retries = self._read_retries if (method == "GET" if retry is None else retry) else 0
        attempt = 0
        while True:
            try:
                return await self._once(method, path, json_body, params, headers, body)
            except (DeviceUnreachable, DeviceProtocolError) as exc:
                if isinstance(exc, CertificateError) or attempt >= retries:
                    raise
                delay = self._backoff_s * (2**attempt)
                attempt += 1
                log.info(
                    "device %r: %s %s failed (%s); retry %d of %d in %.1f s",
                    self.device, method, path, type(exc).__name__, attempt, retries, delay,
                )
                await self._clock.sleep(delay)

    async def _once(
        self,
        method: str,
        path: str,
        json_body: Any,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        body: BodyKind,
    ) -> Any:
        what = f"{method} {path}"
        extensions: dict[str, Any] = {"trace": self._trace} if self._trace else {}
        try:
            response = await self._client.request(
                method,
                path,
                json=json_body,
                params=dict(params) if params else None,
                headers=dict(headers) if headers else None,
                extensions=extensions,
            )
        except CertificateError:
            raise
        except httpx.TimeoutException as exc:
            raise DeviceUnreachable(
                self.device,
                f"{what}: no answer within {self._timeout_s:g} s ({type(exc).__name__})",
            ) from exc
        except httpx.ConnectError as exc:
            if _is_certificate_failure(exc):
                raise CertificateError(
                    self.device,
                    f"{what}: TLS certificate verification failed ({_root(exc)}); pin the "
                    "device's certificate with tls_fingerprint_sha256 or give its ca_file",
                ) from exc
            raise DeviceUnreachable(self.device, f"{what}: cannot connect ({_root(exc)})") from exc
        except httpx.TransportError as exc:
            raise DeviceUnreachable(
                self.device, f"{what}: connection failed ({type(exc).__name__}: {_root(exc)})"
            ) from exc
        log.debug("device %r: %s -> %d", self.device, what, response.status_code)
        return self._check(what, response, body)

    def _check(self, what: str, response: httpx.Response, body: BodyKind) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            if body == "bytes":
                return response.content
            if body == "text":
                return response.text
            if not response.content.strip():
                return None
            try:
                return response.json()
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise DeviceProtocolError(
                    self.device,
                    f"{what}: the answer is not valid JSON ({len(response.content)} bytes, "
                    f"content-type {response.headers.get('content-type', '?')!r})",
                ) from exc
        if 300 <= status < 400:
            raise DeviceProtocolError(
                self.device,
                f"{what}: unexpected redirect {status} to "
                f"{response.headers.get('location', '?')!r}",
            )
        parsed: Any = None
        if "json" in response.headers.get("content-type", "") or response.content[:1] in (
            b"{",
            b"[",
        ):
            try:
                parsed = response.json()
            except (json.JSONDecodeError, UnicodeDecodeError):
                parsed = None
        code, description, step = vendor_error_fields(parsed)
        reason = ", ".join(
            p for p in (
                f"errCode {code}" if code else "",
                description,
                f"step {step}" if step else "",
            ) if p
        )
        if status == 401:
            raise UnauthorizedRequest(
                self.device,
                f"{what}: not authorised (401){_tail(reason)}",
                err_code=code,
                description=description,
            )
        if status == 403:
            hint = f"; {self._forbidden_hint}" if self._forbidden_hint else ""
            raise DevicePermissionError(self.device, f"{what}: forbidden (403){hint}")
        if status == 404:
            raise RejectedRequest(
                self.device,
                f"{what}: not found (404); this device does not offer that endpoint or method",
                status=404,
            )
        if 400 <= status < 500:
            raise RejectedRequest(
                self.device,
                f"{what}: refused ({status}){_tail(reason)}",
                status=status,
                err_code=code,
                description=description,
            )
        raise DeviceProtocolError(self.device, f"{what}: device error ({status}){_tail(reason)}")


def _tail(reason: str) -> str:
    return f": {reason}" if reason else ""


def _root(exc: BaseException) -> str:
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        nxt = seen.__cause__ or seen.__context__
        assert nxt is not None
        seen = nxt
    return str(seen) or type(seen).__name__


def _is_certificate_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        if "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
