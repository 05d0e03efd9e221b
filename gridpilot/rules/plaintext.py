"""Secrets written into a policy in plain text.

A policy is meant to be kept in version control and shown in reviews, so a password, token or API
key belongs in the environment (``password: ${XSTORAGE_PASSWORD}``) or in a file
(``password_file: ...``). A secret field is one its settings model types as ``SecretStr``: the
device adapters' (and a composite's parts'), the forecast provider's and the strategies'. Such a
field whose text received no ``${VAR}`` substitution is warned about, at its line, never quoting
the value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, get_args

from pydantic import BaseModel, SecretStr

from gridpilot.errors import Issue, PluginError
from gridpilot.registry import Registry
from gridpilot.rules.yamlsource import NodePath, SourceMap, format_path

__all__ = ["Registries", "plaintext_secrets", "secret_fields"]


def _is_secret(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    return any(_is_secret(arg) for arg in get_args(annotation))


def secret_fields(model: type[BaseModel] | None) -> dict[str, str]:
    """``{key: alias}`` of the fields of ``model`` typed as a secret (the key as written)."""
    if model is None:
        return {}
    return {
        (info.alias or name): name
        for name, info in model.model_fields.items()
        if _is_secret(info.annotation)
    }


Registries = Mapping[str, Registry[Any]]
"""The registry of each plugin kind whose settings may hold a secret: ``device``, ``forecast``,
``strategy``."""


def _settings_model(registries: Registries, kind: str, type_name: str) -> type[BaseModel] | None:
    registry = registries.get(kind)
    if registry is None:
        return None
    try:
        return registry.settings_model(type_name)
    except PluginError:  # an unknown type or a broken plugin is compilation's to report
        return None


def _sections(data: Mapping[str, Any]) -> Iterator[tuple[NodePath, Mapping[str, Any], str, str]]:
    """``(path, settings, kind, type)`` of every section whose settings may hold a secret."""
    device = data.get("device")
    if isinstance(device, Mapping):
        dtype = str(device.get("type", "simulated"))
        yield ("device",), device, "device", dtype
        for part in ("state", "control"):
            inner = device.get(part)
            if dtype == "composite" and isinstance(inner, Mapping):
                yield ("device", part), inner, "device", str(inner.get("type", ""))
    forecast = data.get("forecast")
    if isinstance(forecast, Mapping) and "type" in forecast:
        yield ("forecast",), forecast, "forecast", str(forecast["type"])
    strategies = data.get("strategies")
    if isinstance(strategies, Mapping):
        for name, config in strategies.items():
            if isinstance(config, Mapping):
                yield ("strategies", name), config, "strategy", str(config.get("type", name))


def plaintext_secrets(
    data: Mapping[str, Any], smap: SourceMap, registries: Registries
) -> list[Issue]:
    """A warning for each secret written in the policy's text rather than taken from ``${VAR}``
    (``data``: the policy's plain values, as validated; ``registries``: where each kind's
    settings models are found)."""
    out: list[Issue] = []
    for path, settings, kind, type_name in _sections(data):
        model = _settings_model(registries, kind, type_name)
        fields = secret_fields(model)
        for key in fields:
            value = settings.get(key)
            where = (*path, key)
            if not isinstance(value, str) or not value or format_path(where) in smap.secret_paths:
                continue
            env = f"{type_name}_{key}".upper().replace("-", "_")
            alternative = f", or put it in a file named by '{key}_file'" if (
                f"{key}_file" in _field_names(model)
            ) else ""
            out.append(smap.issue(
                where,
                f"warning: the {key.replace('_', ' ')} is written here in plain text; anyone "
                "who can read this policy (or its history in version control) can read it",
                f"write {key}: ${{{env}}} and set {env} in the environment{alternative}",
            ))
    return out


def _field_names(model: type[BaseModel] | None) -> set[str]:
    if model is None:
        return set()
    return {info.alias or name for name, info in model.model_fields.items()}
