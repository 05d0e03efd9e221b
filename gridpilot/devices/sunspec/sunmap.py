"""Discovery of a device's SunSpec map and decoding of its model blocks.

A SunSpec map starts with the marker ``SunS`` (``0x5375 0x6E53``) at 0, 40000 or 50000, then
holds one block per model: its ``ID``, its length ``L`` (registers after ``L``), its points;
``ID = 0xFFFF`` ends the chain.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gridpilot.devices.sunspec.codec import decode, scale
from gridpilot.devices.sunspec.modeldefs import ModelDef, PointDef, model_def
from gridpilot.errors import DeviceProtocolError, DeviceRejected

__all__ = ["MARKER", "ModelBlock", "Reader", "decode_block", "discover", "read_block"]

MARKER = (0x5375, 0x6E53)
END_ID = 0xFFFF
MAX_MODELS = 64
MAX_READ = 125
"""Registers one Modbus read may ask for."""


class Reader(Protocol):
    async def read(self, address: int, count: int, unit: int, what: str) -> list[int]: ...


@dataclass(frozen=True, slots=True)
class ModelBlock:
    """One model in the map: ``address`` is its ``ID`` register, ``length`` its ``L``."""

    id: int
    address: int
    length: int
    unit: int
    definition: ModelDef | None

    @property
    def size(self) -> int:
        return self.length + 2

    def address_of(self, point: str) -> int:
        if self.definition is None:
            raise KeyError(point)
        return self.address + self.definition.point(point).offset

    def label(self, point: str) -> str:
        """``124.InWRte @40361``: how errors name a register."""
        return f"{self.id}.{point} @{self.address_of(point)}"


async def discover(reader: Reader, unit: int, bases: Sequence[int], device: str
                   ) -> list[ModelBlock]:
    """Every model block of unit ``unit``: the first base holding ``SunS`` wins."""
    tried: list[str] = []
    for base in bases:
        try:
            regs = await reader.read(base, 2, unit, f"SunS marker @{base}")
        except DeviceRejected as exc:
            # Devices answer "illegal data address" where no map starts: try the next base.
            tried.append(f"{base} ({exc})")
            continue
        if tuple(regs) == MARKER:
            return await _walk(reader, unit, base + 2, device)
        tried.append(f"{base} (no marker)")
    raise DeviceProtocolError(
        device, f"no SunSpec map at unit {unit}: looked for 'SunS' at {', '.join(tried)}; check "
        "unit_id (Fronius: 1, SMA: 126), base_address, and that SunSpec Modbus is enabled")


async def _walk(reader: Reader, unit: int, address: int, device: str) -> list[ModelBlock]:
    blocks: list[ModelBlock] = []
    for _ in range(MAX_MODELS):
        model_id, length = await reader.read(address, 2, unit, f"model header @{address}")
        if model_id == END_ID:
            return blocks
        definition = model_def(model_id)
        if definition is not None and length + 2 < definition.fixed_size:
            raise DeviceProtocolError(
                device, f"model {model_id} @{address} is {length} registers long, shorter "
                f"than the standard's {definition.fixed_size - 2}")
        blocks.append(ModelBlock(model_id, address, length, unit, definition))
        address += length + 2
    raise DeviceProtocolError(device, f"no end marker after {MAX_MODELS} models at unit {unit}")


async def read_block(reader: Reader, block: ModelBlock) -> list[int]:
    """All registers of ``block``, ``ID`` and ``L`` included, in reads of at most 125."""
    regs: list[int] = []
    address = block.address
    end = block.address + block.size
    while address < end:
        count = min(MAX_READ, end - address)
        regs += await reader.read(address, count, block.unit, f"model {block.id} @{address}")
        address += count
    return regs


def _value(point: PointDef, regs: Sequence[int], base: int) -> Any:
    start = base + point.offset
    return decode(point.type, regs[start:start + point.size])


def _scaled(points: Mapping[str, PointDef], regs: Sequence[int], base: int,
            factors: Mapping[str, int | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, point in points.items():
        if base + point.offset + point.size > len(regs):
            continue  # an optional trailing point this device's shorter block leaves out
        raw = _value(point, regs, base)
        if point.sf is None or point.type == "sunssf":
            out[name] = raw
        else:
            sf = point.sf if isinstance(point.sf, int) else factors.get(point.sf)
            out[name] = scale(raw, sf)
    return out


def decode_block(block: ModelBlock, regs: Sequence[int]) -> dict[str, Any]:
    """Point name -> value with its scale factor applied (``None`` = not implemented or its
    scale factor is); a repeating group's instances are a list under ``"groups"``."""
    definition = block.definition
    if definition is None:
        return {}
    factors = {
        name: v if isinstance(v := _value(p, regs, 0), int) else None
        for name, p in definition.points.items() if p.type == "sunssf"
        and p.offset + p.size <= len(regs)
    }
    values = _scaled(definition.points, regs, 0, factors)
    if definition.repeat_size:
        count = max(0, (len(regs) - definition.fixed_size) // definition.repeat_size)
        values["groups"] = [
            _scaled(definition.repeating, regs, definition.fixed_size + i * definition.repeat_size,
                    factors)
            for i in range(count)
        ]
    return values
