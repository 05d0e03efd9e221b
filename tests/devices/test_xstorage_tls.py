"""TLS: verification on by default, SHA-256 pinning checked before any request byte, CA files,
and ``insecure`` only when explicit (with a warning)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from pydantic import SecretStr, ValidationError

from gridpilot.devices.http import CertificateError
from gridpilot.devices.xstorage import XStorageAdapter, XStorageSettings
from tests.emulators import XStorageEmulator


async def test_wrong_pin_sends_nothing(
    make_adapter: Callable[..., XStorageAdapter], emu: XStorageEmulator
) -> None:
    a = make_adapter(tls_fingerprint_sha256="ab" * 32)
    with pytest.raises(CertificateError, match="does not match tls_fingerprint_sha256"):
        await a.read_state()
    # The check sits between the handshake and the request: the password never left.
    assert emu.requests == []
    await a.aclose()


async def test_pin_with_colons_and_upper_case(
    make_adapter: Callable[..., XStorageAdapter], emu: XStorageEmulator
) -> None:
    pin = ":".join(emu.fingerprint_sha256[i:i + 2] for i in range(0, 64, 2)).upper()
    a = make_adapter(tls_fingerprint_sha256=pin)
    assert (await a.read_state()).soc_pct == 55
    await a.aclose()


async def test_ca_file(make_adapter: Callable[..., XStorageAdapter], emu: XStorageEmulator) -> None:
    a = make_adapter(tls_fingerprint_sha256=None, ca_file=emu.ca_path, tls_check_hostname=True)
    assert (await a.read_state()).soc_pct == 55
    await a.aclose()


async def test_verification_is_on_by_default(
    make_adapter: Callable[..., XStorageAdapter], emu: XStorageEmulator
) -> None:
    a = make_adapter(tls_fingerprint_sha256=None, read_retries=3)
    with pytest.raises(CertificateError, match="tls_fingerprint_sha256 or give its ca_file"):
        await a.read_state()
    assert emu.requests == []
    await a.aclose()


async def test_insecure_only_when_explicit_and_warned(
    make_adapter: Callable[..., XStorageAdapter], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    a = make_adapter(tls_fingerprint_sha256=None, insecure=True)
    assert (await a.read_state()).soc_pct == 55
    assert "verification is OFF" in caplog.text
    await a.aclose()


def test_contradictory_tls_settings_are_refused() -> None:
    with pytest.raises(ValidationError, match="insecure"):
        XStorageSettings(host="10.0.0.2", password=SecretStr("x"), insecure=True,
                         tls_fingerprint_sha256="ab" * 32)
    with pytest.raises(ValidationError, match="64 hex digits"):
        XStorageSettings(host="10.0.0.2", password=SecretStr("x"), tls_fingerprint_sha256="ab")
    with pytest.raises(ValidationError, match="HTTPS only"):
        XStorageSettings(host="http://10.0.0.2", password=SecretStr("x"))
    with pytest.raises(ValidationError, match="password"):
        XStorageSettings(host="10.0.0.2")
