"""Translate pydantic's validation errors into located, human issues.

``FILE:LINE:COL: section.path: message``, with "did you mean" for misspelt keys.
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from gridpilot.errors import Issue
from gridpilot.rules.yamlsource import NodePath, SourceMap, format_path

__all__ = ["issues_from_validation_error", "suggest"]


def suggest(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str:
    """``"did you mean 'x'?"`` for the closest choice, or ``""``."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names (by alias) of the model found by walking ``loc`` from ``model``."""
    current: Any = model
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if fields is None:
            return []
        if isinstance(part, int):
            continue
        found = None
        for name, info in fields.items():
            if (info.alias or name) == part:
                found = info
                break
        if found is None:
            # A tagged union member name (pydantic puts the tag into loc); skip it.
            continue
        current = _inner_model(found.annotation)
    fields = getattr(current, "model_fields", None)
    return [info.alias or name for name, info in fields.items()] if fields else []


def _inner_model(annotation: Any) -> Any:
    """The first BaseModel class found inside ``annotation`` (list[X], X | None, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    origin = getattr(annotation, "__origin__", None)
    if origin is not None:
        return _inner_model(origin)
    return None


def _clean_loc(loc: tuple[Any, ...], data: Any) -> NodePath:
    """Follow ``loc`` through the document, dropping the tags pydantic inserts for unions and
    validators (``'backup_reserve'``, ``'function-after[...]'``) so the path names real nodes."""
    out: list[str | int] = []
    node = data
    last = len(loc) - 1
    for i, part in enumerate(loc):
        if isinstance(part, int):
            if isinstance(node, list) and 0 <= part < len(node):
                out.append(part)
                node = node[part]
            continue
        key = part if isinstance(node, dict) and part in node else part.rstrip("_")
        if isinstance(node, dict) and key in node:
            out.append(key)
            node = node[key]
        elif i == last:
            out.append(key)  # a missing or unknown key: keep it so the message can name it
            node = None
    return tuple(out)


def issues_from_validation_error(
    exc: ValidationError,
    smap: SourceMap,
    data: Any,
    model: type[BaseModel] | None,
    prefix: NodePath = (),
) -> list[Issue]:
    """One :class:`Issue` per pydantic error, located in the file. Input values are never echoed
    (they may be secrets substituted from the environment)."""
    issues: list[Issue] = []
    seen: set[tuple[NodePath, str]] = set()
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(err.get("loc", ()))
        etype = err.get("type", "")
        path = (*prefix, *_clean_loc(loc, data))
        hint = ""
        if etype == "extra_forbidden":
            key = str(path[-1]) if path else ""
            allowed = _allowed_keys(model, tuple(loc[:-1])) if model is not None else []
            message = f"unknown key {key!r}"
            hint = suggest(key, allowed)
            if not hint and allowed:
                hint = "allowed keys: " + ", ".join(sorted(allowed))
        elif etype == "missing":
            message = f"missing required key {path[-1]!r}" if path else "missing required key"
            path = path[:-1] if path else path
        elif etype in {"union_tag_invalid", "literal_error", "enum"}:
            message = _strip(err.get("msg", "invalid value"))
        else:
            message = _strip(err.get("msg", "invalid value"))
        seen_key = (path, message)
        if seen_key in seen:
            continue
        seen.add(seen_key)
        line, col = smap.locate(path)
        issues.append(Issue(smap.file, line, col, format_path(path), message, hint))
    return issues


def _strip(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix):]
    return msg
