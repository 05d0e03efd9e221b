"""SunSpec model definitions, loaded from the SunSpec Alliance's own model JSON.

The JSON ships inside ``pysunspec2`` (``sunspec2/models/json/model_<id>.json``); register maps
are read from there, never typed in by hand, so a point's offset, type, scale factor and access
are exactly the standard's. A model has fixed top-level points and at most one repeating group
(model 160's MPPT modules) whose instance count follows from the model length.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["TYPE_SIZES", "ModelDef", "PointDef", "model_def"]

TYPE_SIZES: Mapping[str, int] = {
    "int16": 1, "uint16": 1, "count": 1, "acc16": 1, "enum16": 1, "bitfield16": 1, "pad": 1,
    "sunssf": 1, "int32": 2, "uint32": 2, "acc32": 2, "enum32": 2, "bitfield32": 2,
    "ipaddr": 2, "float32": 2, "int64": 4, "uint64": 4, "acc64": 4, "float64": 4,
    "eui48": 4, "ipv6addr": 8,
}
"""Registers per point type (``string`` takes its own ``size``)."""


@dataclass(frozen=True, slots=True)
class PointDef:
    """One point: ``offset`` counts registers from the model's ``ID`` register."""

    name: str
    type: str
    offset: int
    size: int
    sf: str | int | None = None
    """The name of the scale-factor point, a fixed exponent, or ``None``."""
    units: str = ""
    writable: bool = False
    mandatory: bool = False
    symbols: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ModelDef:
    """A model's points; ``repeating`` holds the repeating group's points with offsets from the
    start of one group instance, ``repeat_size`` its length in registers."""

    id: int
    name: str
    points: Mapping[str, PointDef]
    fixed_size: int
    """Registers of the fixed part, ``ID`` and ``L`` included."""
    repeating: Mapping[str, PointDef] = field(default_factory=dict)
    repeat_size: int = 0

    def point(self, name: str) -> PointDef:
        return self.points[name]


def _points(group: Mapping[str, Any], start: int) -> tuple[dict[str, PointDef], int]:
    out: dict[str, PointDef] = {}
    offset = start
    for raw in group.get("points", []):
        kind = str(raw["type"])
        size = int(raw["size"]) if kind == "string" else TYPE_SIZES.get(kind, int(raw["size"]))
        symbols = {str(s["name"]): int(s["value"]) for s in raw.get("symbols", [])}
        out[str(raw["name"])] = PointDef(
            name=str(raw["name"]), type=kind, offset=offset, size=size, sf=raw.get("sf"),
            units=str(raw.get("units", "")).strip(), writable=raw.get("access") == "RW",
            mandatory=raw.get("mandatory") == "M", symbols=symbols,
        )
        offset += size
    return out, offset


@cache
def model_def(model_id: int) -> ModelDef | None:
    """The definition of model ``model_id``; ``None`` when the standard has no such model (a
    vendor model in the 64000 range, say): its block is skipped by length."""
    try:
        text = (resources.files("sunspec2") / "models" / "json" / f"model_{model_id}.json"
                ).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None
    data = json.loads(text)
    group = data["group"]
    points, fixed = _points(group, 0)
    repeating: dict[str, PointDef] = {}
    repeat_size = 0
    for sub in group.get("groups", []):
        # Only one repeating group occurs among the models gridpilot reads (160's modules);
        # nested groups elsewhere are left alone and their points are simply not decoded.
        repeating, repeat_size = _points(sub, 0)
        break
    return ModelDef(int(data["id"]), str(group["name"]), points, fixed, repeating, repeat_size)
