"""Reading device secrets: from the policy (where ``${ENV}`` was substituted) or from a file."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from gridpilot.errors import DeviceAuthError
from gridpilot.inputs import note_input

__all__ = ["resolve_secret"]


def resolve_secret(
    device: str,
    what: str,
    value: SecretStr | None,
    file: Path | None,
    base_dir: Path | None,
) -> SecretStr:
    """The secret from ``value`` or the first line of ``file`` (relative to ``base_dir``).

    The secret itself never appears in an error message.
    """
    if value is not None:
        return value
    if file is None:
        raise DeviceAuthError(device, f"no {what} given; set it from an env var or a file")
    path = file if file.is_absolute() or base_dir is None else base_dir / file
    note_input(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DeviceAuthError(
            device, f"cannot read the {what} file {str(path)!r}: {exc.strerror or exc}"
        ) from exc
    secret = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not secret:
        raise DeviceAuthError(device, f"the {what} file {str(path)!r} is empty")
    return SecretStr(secret)
