"""What a policy's ``device:`` section needs before the first tick, checked without connecting.

``gridpilot check`` and ``gridpilot run`` (before its first tick) call :func:`device_problems`,
so whatever would stop the device at start is reported by both, at the key that causes it
(a path under ``device``, which the caller locates in the policy):

- the type must be known and the settings valid (:func:`settings_problem`);

- every ``*_file`` setting (``data_file``, ``password_file``, ``api_key_file``, ``ca_file``; in a
  composite's parts too) must name a readable file, relative to the policy's folder;
- the adapter is built exactly as ``run`` builds it (:func:`create_device`: settings validated,
  TLS material loaded), never connected;
- an adapter with a ``preflight()`` method runs it: the simulated battery loads its recorded data
  there, so a missing column or an empty file stops ``check``, not the tenth tick.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from gridpilot.devices.base import DeviceAdapter
from gridpilot.devices.context import DeviceContext
from gridpilot.devices.registry import DEVICES, DeviceKind, create_device
from gridpilot.errors import GridpilotError, PluginError
from gridpilot.registry import Registry

__all__ = ["DeviceProblem", "SettingsProblem", "device_problems", "settings_problem"]


@dataclass(frozen=True, slots=True)
class DeviceProblem:
    """One reason the device cannot start; ``path`` is the policy key it comes from."""

    path: tuple[str | int, ...]
    message: str
    hint: str = ""


@dataclass(frozen=True, slots=True)
class SettingsProblem:
    """The ``device:`` section does not validate: ``error`` is pydantic's, against ``model``
    (the caller locates each of its errors in the policy, with "did you mean" from ``model``)."""

    error: ValidationError
    model: type[BaseModel]
    settings: dict[str, Any]


def settings_problem(
    raw: Mapping[str, Any], registry: Registry[DeviceKind] = DEVICES
) -> DeviceProblem | SettingsProblem | None:
    """Why the ``device:`` mapping ``raw`` names no usable type or holds invalid settings."""
    type_name = str(raw.get("type", "simulated"))
    try:
        model = registry.settings_model(type_name)
    except PluginError as exc:
        return DeviceProblem(("device", "type"), str(exc), exc.hint)
    # Adapter settings models describe the whole section, 'type' and 'name' included.
    settings = dict(raw)
    try:
        model.model_validate(settings)
    except ValidationError as exc:
        return SettingsProblem(exc, model, settings)
    return None


def _files(
    raw: Mapping[str, Any], path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    for key, value in raw.items():
        if key.endswith("_file") and isinstance(value, str | Path) and str(value):
            yield (*path, key), str(value)
        elif key in ("state", "control") and isinstance(value, Mapping):
            yield from _files(value, (*path, key))


def _file_problem(key: tuple[str | int, ...], text: str, base_dir: Path) -> DeviceProblem | None:
    given = Path(text).expanduser()
    path = given if given.is_absolute() else base_dir / given
    where = f"{text!r}" if given.is_absolute() else f"{text!r} (looked at {path})"
    if path.is_dir():
        return DeviceProblem(key, f"{where} is a directory, not a file", "name the file itself")
    if not path.is_file():
        return DeviceProblem(key, f"file {where} not found",
                             "check the path; a relative path starts at the policy's folder")
    if not os.access(path, os.R_OK):
        return DeviceProblem(key, f"file {where} cannot be read (permissions)",
                             "let the user gridpilot runs as read it")
    return None


def _preflight(adapter: DeviceAdapter, path: tuple[str | int, ...]) -> Iterator[DeviceProblem]:
    # A composite's parts are adapters of their own, each with its own key in the policy.
    for part in ("state", "control"):
        inner = getattr(adapter, part, None)
        if inner is not None and hasattr(inner, "read_state"):
            yield from _preflight(inner, (*path, part))
    check = getattr(adapter, "preflight", None)
    if callable(check):
        try:
            check()
        except (GridpilotError, OSError, ValueError) as exc:
            # The simulated battery's data is what its preflight reads: point at that key.
            settings = getattr(adapter, "settings", None)
            given = getattr(settings, "data_file", None) is not None
            where = (*path, "data_file") if given else path
            yield DeviceProblem(where, str(exc), "fix the file, or the settings that read it")


def _close(adapter: DeviceAdapter) -> None:
    # An adapter with a synchronous close (the simulated battery) spares check starting asyncio.
    close = getattr(adapter, "close", None)
    if callable(close):
        close()
        return
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(adapter.aclose())
    # Inside a running loop the caller owns closing; nothing here has connected yet.


def device_problems(raw: Mapping[str, Any], context: DeviceContext) -> list[DeviceProblem]:
    """Every reason the device of the valid ``device:`` mapping ``raw`` cannot start, found
    without any network I/O (empty when it can). Call it outside an event loop."""
    base_dir = context.base_dir if context.base_dir is not None else Path.cwd()
    problems = [
        p for key, text in _files(raw, ("device",))
        if (p := _file_problem(key, text, base_dir)) is not None
    ]
    if problems:
        return problems  # building the adapter would only repeat them
    try:
        adapter = create_device(raw, context)
    except (GridpilotError, OSError, ValueError) as exc:
        return [DeviceProblem(("device",), str(exc), "fix the device settings")]
    try:
        return list(_preflight(adapter, ("device",)))
    finally:
        _close(adapter)
