"""Translate pydantic's validation errors into located, human issues.

``FILE:LINE:COL: section.path: message``, with "did you mean" for misspelt keys.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from gridpilot.errors import Issue
from gridpilot.rules.yamlsource import NodePath, SourceMap, format_path

__all__ = ["human_message", "issues_from_validation_error", "suggest"]


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


# pydantic names the branch of a union or validator it tried inside ``loc``: ``str``,
# ``list[union[str,int]]``, ``str-enum[CommandKind]``, ``function-after[check(), When]``.
_TAG_RE = re.compile(r"^[a-z][a-z0-9_-]*\[.*\]$")
_TYPE_TAGS = frozenset({
    "str", "int", "float", "bool", "list", "dict", "tuple", "set", "none", "bytes", "date",
    "datetime", "time", "decimal", "union", "json-or-python", "lax-or-strict",
})


def _is_tag(part: object) -> bool:
    return isinstance(part, str) and (part in _TYPE_TAGS or _TAG_RE.match(part) is not None)


def _clean_loc(loc: tuple[Any, ...], data: Any, keep_last: bool = True) -> NodePath:
    """Follow ``loc`` through the document, dropping the tags pydantic inserts for unions and
    validators (``'backup_reserve'``, ``'function-after[...]'``, ``'str-enum[...]'``) so the path
    names real nodes. ``keep_last`` keeps a last part that is not in the document (a missing or
    unknown key the message names) unless it is such a tag."""
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
        elif i == last and (keep_last or not _is_tag(part)):
            out.append(key)  # a missing or unknown key: keep it so the message can name it
            node = None
    return tuple(out)


_PHRASES = {
    "model_type": "should be a mapping (key: value)",
    "model_attributes_type": "should be a mapping (key: value)",
    "dict_type": "should be a mapping (key: value)",
    "list_type": "should be a list (- item)",
    "tuple_type": "should be a list (- item)",
    "set_type": "should be a list (- item)",
    "string_type": "should be text",
    "float_type": "should be a number",
    "float_parsing": "should be a number",
    "int_type": "should be a whole number",
    "int_parsing": "should be a whole number",
    "int_from_float": "should be a whole number",
    "bool_type": "should be true or false",
    "bool_parsing": "should be true or false",
    "datetime_type": "should be a date and time such as 2026-03-10T09:00",
    "datetime_parsing": "should be a date and time such as 2026-03-10T09:00",
    "datetime_from_date_parsing": "should be a date and time such as 2026-03-10T09:00",
    "date_type": "should be a date such as 2026-03-10",
    "date_parsing": "should be a date such as 2026-03-10",
    "date_from_datetime_parsing": "should be a date such as 2026-03-10",
    "finite_number": "should be a finite number",
}


def human_message(err: Mapping[str, Any]) -> str:
    """pydantic's message for one error, said the way the rest of gridpilot says things."""
    etype = str(err.get("type", ""))
    if etype in _PHRASES:
        return _PHRASES[etype]
    ctx = err.get("ctx") or {}
    if etype == "union_tag_invalid":
        key = str(ctx.get("discriminator", "'kind'")).strip("'")
        return f"unknown {key} {str(ctx.get('tag', ''))!r} (valid: " \
            f"{str(ctx.get('expected_tags', '')).replace(chr(39), '')})"
    if etype == "union_tag_not_found":
        key = str(ctx.get("discriminator", "'kind'")).strip("'")
        return f"missing required key {key!r}"
    msg = _strip(str(err.get("msg", "invalid value")))
    if msg.startswith("Input should"):
        msg = msg[len("Input "):]
    return msg.replace("Input ", "the value ")


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
    # Several branches of one union fail for one node: say so once, "should be text or a list".
    merged: dict[NodePath, tuple[list[str], str]] = {}
    order: list[NodePath] = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(err.get("loc", ()))
        etype = err.get("type", "")
        keep = etype in {"extra_forbidden", "missing"}
        path = (*prefix, *_clean_loc(loc, data, keep_last=keep))
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
        else:
            message = human_message(err)
            if etype == "union_tag_invalid":
                # Point at the kind the user wrote, not at the whole entry.
                ctx = err.get("ctx") or {}
                path = (*path, str(ctx.get("discriminator", "kind")).strip("'"))
                tags = str(ctx.get("expected_tags", "")).replace("'", "").split(", ")
                hint = suggest(str(ctx.get("tag", "")), tags)
        if path not in merged:
            merged[path] = ([], hint)
            order.append(path)
        messages, _ = merged[path]
        if message not in messages:
            messages.append(message)
    for path in order:
        messages, hint = merged[path]
        line, col = smap.locate(path)
        for message in _combine(messages):
            issues.append(Issue(smap.file, line, col, format_path(path), message, hint))
    return issues


def _combine(messages: list[str]) -> list[str]:
    """``["should be text", "should be a list (- item)"]`` -> ``["should be text or a list
    (- item)"]``; other messages stay as they are."""
    shoulds = [m for m in messages if m.startswith("should be ")]
    if len(shoulds) < 2:
        return messages
    parts = [m[len("should be "):] for m in shoulds]
    sep = ", or " if any(" or " in p for p in parts) else " or "
    joined = "should be " + sep.join(parts)
    rest = [m for m in messages if not m.startswith("should be ")]
    return [joined, *rest]


def _strip(msg: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            return msg[len(prefix):]
    return msg
