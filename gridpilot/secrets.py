"""A secret from the policy: ``key: ${ENV}`` (substituted when the policy loads) or
``key_file: PATH``, whose first line is the secret (relative to the policy's directory).

Devices, price providers and forecast services read their secrets here, each raising its own
error kind through ``fail``. The secret itself never appears in a message: only the setting's
name and the file's path do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import SecretStr

from gridpilot.errors import GridpilotError
from gridpilot.inputs import note_input

__all__ = ["secret_or_none"]


def secret_or_none(
    what: str,
    value: SecretStr | None,
    file: Path | None,
    base_dir: Path | None,
    *,
    fail: Callable[[str], GridpilotError],
    empty_file: bool = False,
) -> SecretStr | None:
    """``value`` if given, else the first line of ``file``; ``None`` when neither is given
    (the caller knows whether a secret is required).

    An unreadable file raises ``fail(message)``; so does an empty one, unless ``empty_file``
    (then it counts as no secret: a service usable without a key).
    """
    if value is not None:
        return value
    if file is None:
        return None
    path = file if file.is_absolute() or base_dir is None else base_dir / file
    # Noted before opening, so `gridpilot run` also watches a secret file that is missing now.
    note_input(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot read the {what} file {str(path)!r}: {exc.strerror or exc}") from None
    secret = text.strip().splitlines()[0].strip() if text.strip() else ""
    if secret:
        return SecretStr(secret)
    if empty_file:
        return None
    raise fail(f"the {what} file {str(path)!r} is empty")
