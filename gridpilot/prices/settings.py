"""What every provider's settings share: ``base_url``, ``timeout_s``, secrets and their files."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator

from gridpilot.errors import PriceProviderError
from gridpilot.models import StrictModel
from gridpilot.secrets import secret_or_none

__all__ = ["ProviderSettings", "resolve_secret"]


class ProviderSettings(StrictModel):
    """Settings common to every provider (a provider's model adds its own)."""

    base_url: str
    """The API's root URL; change it for a proxy or a test server."""
    timeout_s: Annotated[float, Field(gt=0, le=300)] = 20.0
    """How long one request may take [s] before the fetch fails (known prices still apply)."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("base_url must start with https:// (or http:// for a local proxy)")
        return value.rstrip("/")


def resolve_secret(
    provider: str, what: str, value: SecretStr | None, file: Path | None, base_dir: Path
) -> SecretStr:
    """The provider's required secret from ``value`` (``${ENV}`` already substituted) or the
    first line of ``file`` (relative to the policy's directory)."""
    if value is not None and not value.get_secret_value().strip():
        raise PriceProviderError(provider, f"the {what} is empty; set it from an env var")
    secret = secret_or_none(what, value, file, base_dir, fail=partial(PriceProviderError, provider))
    if secret is None:
        raise PriceProviderError(
            provider, f"no {what} given; set '{what}: ${{ENV_VAR}}' or '{what}_file: PATH'"
        )
    return secret
