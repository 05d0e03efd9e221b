"""What every provider's settings share: ``base_url``, ``timeout_s``, secrets and their files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator

from gridpilot.errors import PriceProviderError
from gridpilot.models import StrictModel

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
    """The secret from ``value`` (``${ENV}`` already substituted) or the first line of ``file``
    (relative to the policy's directory). The secret itself never appears in a message."""
    if value is not None:
        if not value.get_secret_value().strip():
            raise PriceProviderError(provider, f"the {what} is empty; set it from an env var")
        return value
    if file is None:
        raise PriceProviderError(
            provider, f"no {what} given; set '{what}: ${{ENV_VAR}}' or '{what}_file: PATH'"
        )
    path = file if file.is_absolute() else base_dir / file
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceProviderError(
            provider, f"cannot read the {what} file {str(path)!r}: {exc.strerror or exc}"
        ) from None
    secret = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not secret:
        raise PriceProviderError(provider, f"the {what} file {str(path)!r} is empty")
    return SecretStr(secret)
