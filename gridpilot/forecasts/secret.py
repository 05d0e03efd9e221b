"""A forecast service's key from the policy (``api_key: ${ENV}`` or ``api_key_file: PATH``); no
key, or an empty one, means the service's keyless tier."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from pydantic import SecretStr

from gridpilot.errors import ForecastFetchError
from gridpilot.secrets import secret_or_none

__all__ = ["read_secret"]


def read_secret(value: SecretStr | None, file: Path | None, base_dir: Path,
                provider: str = "forecast_solar") -> str | None:
    secret = secret_or_none("api_key", value, file, base_dir,
                            fail=partial(ForecastFetchError, provider), empty_file=True)
    return (secret.get_secret_value().strip() or None) if secret is not None else None
