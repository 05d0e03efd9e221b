"""A service's key from the policy: ``api_key: ${ENV}`` (substituted when the policy loads) or
``api_key_file: PATH``, whose first line is the key (relative to the policy's directory). The key
itself never appears in a message."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from gridpilot.errors import ForecastFetchError

__all__ = ["read_secret"]


def read_secret(value: SecretStr | None, file: Path | None, base_dir: Path,
            provider: str = "forecast_solar") -> str | None:
    if value is not None:
        return value.get_secret_value().strip() or None
    if file is None:
        return None
    path = file if file.is_absolute() else base_dir / file
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ForecastFetchError(provider, f"cannot read api_key_file {str(path)!r}: "
                                 f"{exc.strerror or exc}") from None
    return text.splitlines()[0].strip() if text else None
