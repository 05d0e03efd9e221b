"""SunSpec point values to and from 16-bit registers. Pure functions.

Every register holds 16 bits, big-endian; multi-register points put the most significant
register first (SunSpec's rule). Each type reserves one value for "not implemented"
(``0x8000`` for int16 and sunssf, ``0xFFFF`` for uint16/enum16/bitfield16, ``0`` for the
accumulators, NaN for floats, all-NUL for strings): :func:`decode` returns ``None`` for it, so
a point the device does not implement can never be read as a number, and :func:`encode`
refuses to write it.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

__all__ = ["NOT_IMPLEMENTED", "decode", "encode", "scale", "unscale"]

_SIGNED = {"int16": 16, "sunssf": 16, "int32": 32, "int64": 64}
_UNSIGNED = {
    "uint16": 16, "count": 16, "enum16": 16, "bitfield16": 16, "acc16": 16,
    "uint32": 32, "enum32": 32, "bitfield32": 32, "acc32": 32, "ipaddr": 32,
    "uint64": 64, "acc64": 64,
}
_ACCUMULATORS = frozenset({"acc16", "acc32", "acc64", "ipaddr"})

NOT_IMPLEMENTED: dict[str, int] = {
    **{kind: -(1 << (bits - 1)) for kind, bits in _SIGNED.items()},
    **{kind: (1 << bits) - 1 for kind, bits in _UNSIGNED.items() if kind not in _ACCUMULATORS},
    **dict.fromkeys(_ACCUMULATORS, 0),
}
"""The "not implemented" value of each integer type."""


def _join(regs: Sequence[int]) -> int:
    value = 0
    for reg in regs:
        if not 0 <= reg <= 0xFFFF:
            raise ValueError(f"register value {reg!r} is not 16 bits")
        value = (value << 16) | reg
    return value


def _split(value: int, count: int) -> list[int]:
    return [(value >> (16 * (count - 1 - i))) & 0xFFFF for i in range(count)]


def decode(kind: str, regs: Sequence[int]) -> int | float | str | None:
    """The value of a point of type ``kind`` held in ``regs``; ``None`` if not implemented."""
    if kind == "pad":
        return None
    if kind == "string":
        raw = b"".join(struct.pack(">H", r) for r in regs)
        text = raw.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
        return text or None
    if kind in ("float32", "float64"):
        fmt = ">f" if kind == "float32" else ">d"
        number = float(struct.unpack(fmt, struct.pack(f">{len(regs)}H", *regs))[0])
        return number if math.isfinite(number) else None
    if kind in _SIGNED:
        bits = _SIGNED[kind]
        value = _join(regs)
        if value >= 1 << (bits - 1):
            value -= 1 << bits
    elif kind in _UNSIGNED:
        value = _join(regs)
    else:
        raise ValueError(f"unsupported SunSpec point type {kind!r}")
    if value == NOT_IMPLEMENTED[kind]:
        return None
    if kind == "sunssf" and not -10 <= value <= 10:
        return None  # the standard allows -10..10; anything else cannot be a scale factor
    return value


def encode(kind: str, value: int, size: int = 0) -> list[int]:
    """The registers for integer ``value`` of type ``kind``. Raises ``ValueError`` when the
    value does not fit the type or is the type's "not implemented" value."""
    if kind in _SIGNED:
        bits = _SIGNED[kind]
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    elif kind in _UNSIGNED:
        bits = _UNSIGNED[kind]
        lo, hi = 0, (1 << bits) - 1
    else:
        raise ValueError(f"cannot write SunSpec point type {kind!r}")
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{value!r} does not fit a {kind} ({lo}..{hi})")
    if value == NOT_IMPLEMENTED[kind]:
        raise ValueError(f"{value} is the 'not implemented' value of a {kind}")
    if kind == "sunssf" and not -10 <= value <= 10:
        raise ValueError(f"scale factor {value} is outside -10..10")
    count = size or bits // 16
    return _split(value % (1 << bits), count)


def scale(value: int | float | str | None, sf: int | None) -> float | None:
    """``value * 10**sf``; ``None`` when either is unknown (a scaled value without its scale
    factor would be off by powers of ten)."""
    if value is None or sf is None or isinstance(value, str):
        return None
    return float(value) * 10.0 ** sf


def unscale(value: float, sf: int) -> float:
    """The raw register value for the scaled ``value`` (before rounding to an integer)."""
    return value / 10.0 ** sf
