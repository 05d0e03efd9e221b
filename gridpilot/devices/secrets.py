"""A device's secret (token, password, API key): required, a DeviceAuthError naming the device
when it is missing or unreadable. Reading it is gridpilot.secrets' job."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from pydantic import SecretStr

from gridpilot.errors import DeviceAuthError
from gridpilot.secrets import secret_or_none

__all__ = ["resolve_secret"]


def resolve_secret(
    device: str,
    what: str,
    value: SecretStr | None,
    file: Path | None,
    base_dir: Path | None,
) -> SecretStr:
    """The secret from ``value`` or the first line of ``file`` (relative to ``base_dir``)."""
    secret = secret_or_none(what, value, file, base_dir, fail=partial(DeviceAuthError, device))
    if secret is None:
        raise DeviceAuthError(device, f"no {what} given; set it from an env var or a file")
    return secret
