"""Parsing JSON documents strictly: the one parser for every JSON file gridpilot reads.

Python's ``json`` keeps the last of two equal keys in an object without a word, so a STATE.json
with ``soc_pct`` twice would be decided on whichever came last. Here a repeated key is a
:class:`json.JSONDecodeError` like any other syntax error, with the line and column of the object
that holds it, so every caller's existing "line L, column C" message covers it.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import math
from typing import Any

__all__ = ["finite", "loads"]

# The pure-Python object parser (undocumented, and so not in the type stubs).
_OBJECT: Any = getattr(json.decoder, "JSONObject")  # noqa: B009


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


def loads(text: str) -> Any:
    """The document in ``text``. Raises :class:`json.JSONDecodeError` for malformed JSON and for
    an object with a repeated key."""
    try:
        return json.loads(text, object_pairs_hook=_unique)
    except _Duplicate:
        pass
    # Rare, so only now the slower pure-Python scanner, which tells where the object starts.
    decoder = json.JSONDecoder(object_pairs_hook=_unique)

    def parse_object(s_and_end: tuple[str, int], *args: Any, **kwargs: Any) -> Any:
        try:
            return _OBJECT(s_and_end, *args, **kwargs)
        except _Duplicate as exc:
            s, end = s_and_end
            raise json.JSONDecodeError(
                f"duplicate key {exc.key!r} in the object that starts here", s, end - 1
            ) from None

    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder.decode(text)


def finite(value: Any, name: str) -> float:
    """``value`` read from JSON as a finite number (not a bool, text or null); ``ValueError``
    naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name}: {value!r} is not a finite number")
    return float(value)
