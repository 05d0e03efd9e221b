"""The ``device:`` settings of an Eaton xStorage Home (``type: xstorage``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from gridpilot.models import StrictModel

__all__ = ["XStorageSettings"]

_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


class XStorageSettings(StrictModel):
    """Connection, credentials, TLS and control settings of one xStorage Home unit.

    TLS is verified by default: pin the unit's self-signed certificate with
    ``tls_fingerprint_sha256`` (``openssl x509 -noout -fingerprint -sha256``) or give a
    ``ca_file``. ``insecure: true`` turns verification off and logs a warning on every start.
    """

    type: Literal["xstorage"] = "xstorage"
    name: str = ""
    """The device's name in logs and errors (default: ``xstorage``)."""
    host: Annotated[str, Field(min_length=1)]
    """The unit's LAN address (``192.168.1.50``), optionally ``https://host:port``."""
    username: str = "user"
    """The account to sign in with (the customer account is ``user``)."""
    password: SecretStr | None = None
    """Best given as ``${XSTORAGE_PASSWORD}`` so it is read from the environment."""
    password_file: Path | None = None
    """A file holding the password on its first line (relative to the policy file)."""
    user_type: Literal["customer", "tech"] = "customer"
    """``tech`` for a technician login (needs ``inverter_sn``)."""
    inverter_sn: str | None = None
    """Technician logins only: the inverter's serial number."""
    email: str | None = None
    """Technician logins only."""
    tls_fingerprint_sha256: str | None = None
    ca_file: Path | None = None
    tls_check_hostname: bool = False
    """With ``ca_file``: also check the certificate names the host (units' certificates rarely
    name their LAN address)."""
    insecure: bool = False
    """Turn certificate checking off (logged as a warning). Prefer a pin."""
    timeout_s: Annotated[float, Field(gt=0, le=120)] = 10.0
    """Timeout of every request (connect, read, write)."""
    read_retries: Annotated[int, Field(ge=0, le=10)] = 2
    """How often a failed read is repeated; commands and settings are never repeated."""
    retry_backoff_s: Annotated[float, Field(ge=0, le=60)] = 1.0
    """Wait before the first retry; it doubles for each further one."""
    token_refresh_s: Annotated[float, Field(ge=60, le=3600)] = 3300.0
    """Sign in again this long after the last sign-in (tokens last about an hour)."""
    max_duration_h: Annotated[int, Field(ge=1, le=12)] = 1
    """Longest duration a command is sent with: how long the unit keeps a mode by itself after
    gridpilot stops. Commands are refreshed before they run out."""
    refresh_lead_s: Annotated[float, Field(ge=0, le=3600)] = 600.0
    """Re-send a running command this long before it lapses."""
    rating_w: Annotated[float, Field(gt=0, le=100_000)] | None = None
    """Override the inverter rating used to turn watts into the unit's power percentage."""
    native_modes: bool = True
    """Use the unit's own peak shaving, grid injection and auto-consumption modes; when off,
    those kinds are refused."""

    @field_validator("tls_fingerprint_sha256")
    @classmethod
    def _fingerprint(cls, value: str | None) -> str | None:
        if value is None:
            return None
        clean = value.replace(":", "").replace(" ", "").lower()
        if not _FINGERPRINT.match(clean):
            raise ValueError(
                "tls_fingerprint_sha256 must be 64 hex digits (colons allowed), as printed by "
                "'openssl x509 -noout -fingerprint -sha256'"
            )
        return clean

    @field_validator("host")
    @classmethod
    def _https_only(cls, value: str) -> str:
        if value.startswith("http://"):
            raise ValueError("the xStorage local API is HTTPS only; use https:// or the bare host")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> XStorageSettings:
        if self.password is None and self.password_file is None:
            raise ValueError("give 'password' (e.g. ${XSTORAGE_PASSWORD}) or 'password_file'")
        if self.password is not None and self.password_file is not None:
            raise ValueError("give only one of 'password' and 'password_file'")
        if self.insecure and (self.tls_fingerprint_sha256 or self.ca_file):
            raise ValueError("'insecure: true' contradicts a pinned fingerprint or ca_file")
        if self.tls_fingerprint_sha256 and self.ca_file:
            raise ValueError("give only one of 'tls_fingerprint_sha256' and 'ca_file'")
        if self.user_type == "tech" and not self.inverter_sn:
            raise ValueError("a technician login ('user_type: tech') needs 'inverter_sn'")
        return self

    @property
    def base_url(self) -> str:
        host = self.host.rstrip("/")
        return host if host.startswith("https://") else f"https://{host}"
