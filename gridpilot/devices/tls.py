"""TLS for devices with self-signed certificates: CA files, SHA-256 pinning, explicit insecure.

Pinning is checked inside the connection, right after the TLS handshake and before a single
request byte is sent (an httpcore trace hook), so a password never reaches a machine whose
certificate does not match.
"""

from __future__ import annotations

import hashlib
import logging
import ssl
from pathlib import Path
from typing import Any

from gridpilot.devices.http import CertificateError, TraceHook

__all__ = ["TlsPolicy", "fingerprint_sha256"]

log = logging.getLogger("gridpilot.devices.tls")


def fingerprint_sha256(der: bytes) -> str:
    """Lower-case hex SHA-256 of a DER certificate (what ``openssl -fingerprint -sha256`` shows,
    without colons)."""
    return hashlib.sha256(der).hexdigest()


class TlsPolicy:
    """How one device's certificate is checked.

    Exactly one of: a pinned ``fingerprint`` (the chain is not checked, the exact certificate
    is), a ``ca_file``, ``insecure`` (logged as a warning), or the system's trust store.
    """

    def __init__(
        self,
        device: str,
        *,
        fingerprint: str | None = None,
        ca_file: Path | None = None,
        check_hostname: bool = False,
        insecure: bool = False,
    ) -> None:
        self.device = device
        self.fingerprint = fingerprint
        self.ca_file = ca_file
        self.check_hostname = check_hostname
        self.insecure = insecure

    def context(self) -> ssl.SSLContext | bool:
        if self.insecure:
            log.warning(
                "device %r: TLS certificate verification is OFF ('insecure: true'); anyone on "
                "the network can impersonate the device. Pin its certificate with "
                "tls_fingerprint_sha256 instead.",
                self.device,
            )
            return False
        if self.fingerprint:
            # The pin replaces chain and name checks: the exact certificate is compared below.
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        if self.ca_file:
            try:
                ctx = ssl.create_default_context(cafile=str(self.ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise CertificateError(
                    self.device, f"cannot load ca_file {str(self.ca_file)!r}: {exc}"
                ) from exc
            ctx.check_hostname = self.check_hostname
            return ctx
        return True

    def trace_hook(self) -> TraceHook | None:
        if not self.fingerprint:
            return None
        expected = self.fingerprint
        device = self.device

        async def check_pin(event: str, info: dict[str, Any]) -> None:
            if event != "connection.start_tls.complete":
                return
            stream = info.get("return_value")
            if stream is None:
                return
            ssl_object = stream.get_extra_info("ssl_object")
            der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
            actual = fingerprint_sha256(der) if der else ""
            if actual != expected:
                await stream.aclose()
                raise CertificateError(
                    device,
                    "the TLS certificate does not match tls_fingerprint_sha256 "
                    f"(device presents {actual or 'no certificate'}); if the unit's certificate "
                    "was renewed on purpose, update the pin",
                )

        return check_pin
