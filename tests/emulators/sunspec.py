"""A SunSpec Modbus/TCP hybrid inverter with a battery, on pymodbus's own server on 127.0.0.1.

The register map is laid out from the SunSpec Alliance's model JSON (as shipped in pysunspec2)
and values are encoded with pysunspec2's codec, not with gridpilot's: the adapter is tested
against an independent implementation of the standard.

The map: ``SunS`` at ``base`` (40000), then models 1 (common), 103 (three-phase inverter),
160 (MPPT, four modules as on a Fronius GEN24: two PV strings, battery charge, battery
discharge), 124 (storage control), optionally 802 (battery), and 203 (meter) in the same map
or at its own unit id (Fronius: 200). Scale factors are not 0, so a missed one shows.

The storage evolves with the injected ``clock``: the battery follows the house's net load
inside the model 124 window (``StorCtl_Mod``, ``InWRte``/``OutWRte`` in % of ``WChaMax``,
negative = forced), stops at the reserve (``MinRsvPct``) and at full, charges from the grid
only with ``ChaGriSet = GRID``, and drops the window ``InOutWRte_RvrtTms`` seconds after it
was written.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
from sunspec2 import mb

__all__ = ["SunSpecEmulator"]

_SIZES = {"string": 0}


def _model_json(model_id: int) -> dict[str, Any]:
    path = resources.files("sunspec2") / "models" / "json" / f"model_{model_id}.json"
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class _Point:
    name: str
    type: str
    address: int
    size: int
    sf: Any
    writable: bool
    symbols: dict[str, int]


def _layout(model_id: int, address: int, repeats: int = 0) -> tuple[dict[str, _Point], int,
                                                                     list[dict[str, _Point]]]:
    """Points of ``model_id`` placed at ``address``; returns (points, total size, groups)."""
    group = _model_json(model_id)["group"]

    def place(points: list[dict[str, Any]], start: int) -> tuple[dict[str, _Point], int]:
        out: dict[str, _Point] = {}
        at = start
        for p in points:
            size = int(p["size"]) if p["type"] == "string" else mb.point_type_info[p["type"]].len
            out[p["name"]] = _Point(p["name"], p["type"], at, size, p.get("sf"),
                                    p.get("access") == "RW",
                                    {s["name"]: s["value"] for s in p.get("symbols", [])})
            at += size
        return out, at

    points, end = place(group["points"], address)
    groups: list[dict[str, _Point]] = []
    for _ in range(repeats):
        g, end = place(group["groups"][0]["points"], end)
        groups.append(g)
    return points, end - address, groups


def _regs(kind: str, value: Any, size: int) -> list[int]:
    if value is None:
        data = mb.create_unimpl_value(kind, size * 2)
    else:
        data = mb.point_type_info[kind].to_data(value, size * 2)
    data = data.ljust(size * 2, b"\0")[: size * 2]
    return [int.from_bytes(data[i:i + 2], "big") for i in range(0, size * 2, 2)]


@dataclass
class _Fault:
    kind: str  # "timeout", "exception", "drop"
    count: int = 1
    code: int = 4
    delay_s: float = 1.0
    writes_only: bool = False
    unit: int | None = None


class Faults:
    def __init__(self) -> None:
        self.queue: list[_Fault] = []
        self.lock = threading.Lock()

    def timeout(self, *, delay_s: float = 1.0, count: int = 1, writes_only: bool = False) -> None:
        with self.lock:
            self.queue.append(_Fault("timeout", count, delay_s=delay_s, writes_only=writes_only))

    def exception(self, code: int = 4, *, count: int = 1, writes_only: bool = False) -> None:
        with self.lock:
            self.queue.append(_Fault("exception", count, code=code, writes_only=writes_only))

    def drop(self, *, count: int = 1) -> None:
        with self.lock:
            self.queue.append(_Fault("drop", count))

    def clear(self) -> None:
        with self.lock:
            self.queue.clear()

    def take(self, write: bool) -> _Fault | None:
        with self.lock:
            for fault in self.queue:
                if fault.writes_only and not write:
                    continue
                fault.count -= 1
                if fault.count <= 0:
                    self.queue.remove(fault)
                return fault
        return None


@dataclass
class Site:
    """The physical side: the house, the PV and the battery."""

    soc_pct: float = 50.0
    capacity_wh: float = 10_000.0
    load_w: float = 1_000.0
    pv_w: float = 0.0
    battery_w: float = 0.0
    """+ discharge, as last computed."""


@dataclass
class _Map:
    base: int
    image: list[int] = field(default_factory=list)
    models: dict[int, dict[str, _Point]] = field(default_factory=dict)
    groups: dict[int, list[dict[str, _Point]]] = field(default_factory=dict)


class SunSpecEmulator:
    """Context manager: ``port``, ``site``, ``faults``, ``writes``, ``out_of_range_writes``,
    ``point(model, name)`` / ``set_point(model, name, value)`` (scaled values),
    ``other_master_writes(**points)``, ``reboot()``, ``clock``."""

    WCHAMAX_W = 5000.0

    def __init__(self, *, layout: str = "generic", base: int = 40000, unit: int = 1,
                 site: Site | None = None, clock: Callable[[], float] | None = None) -> None:
        # generic: 802 carries the battery, 160 has two PV modules, the meter is in the map.
        # fronius: no 802, 160 modules 3/4 carry the battery, the meter answers at unit 200.
        self.fronius = layout == "fronius"
        self.unit = unit
        self.meter_unit = 200 if self.fronius else None
        self.with_802 = not self.fronius
        self.modules = 4 if self.fronius else 2
        self.base = base
        self.site = site or Site()
        self.clock: Callable[[], float] = clock or time.time
        self.faults = Faults()
        self.writes: list[tuple[int, int, list[int]]] = []
        """Every write received: (unit, address, values)."""
        self.out_of_range_writes: list[str] = []
        self.reads = 0
        self._lock = threading.Lock()
        self._maps: dict[int, _Map] = {}
        self._written_at: float | None = None
        self._last: float | None = None
        self._server: ModbusTcpServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self._build()

    # -- the map --------------------------------------------------------------------------------

    def _build(self) -> None:
        main = _Map(self.base)
        ids = [1, 103, 160, 124] + ([802] if self.with_802 else [])
        if self.meter_unit is None:
            ids.append(203)
        self._lay(main, ids)
        self._maps = {self.unit: main}
        if self.meter_unit is not None:
            meter = _Map(self.base)
            self._lay(meter, [1, 203])
            self._maps[self.meter_unit] = meter
        self._power_on()

    def _lay(self, m: _Map, ids: list[int]) -> None:
        at = m.base + 2
        image = [0x5375, 0x6E53]
        for model_id in ids:
            repeats = self.modules if model_id == 160 else 0
            points, size, groups = _layout(model_id, at, repeats)
            m.models[model_id] = points
            m.groups[model_id] = groups
            block = [0] * size
            image += block
            at += size
        image += [0xFFFF, 0]
        m.image = image
        for model_id, points in m.models.items():
            for p in points.values():
                self._put(m, p, None)  # every point "not implemented" until set
            for g in m.groups[model_id]:
                for p in g.values():
                    self._put(m, p, None)
            self._put(m, points["ID"], model_id)
            size = sum(p.size for p in points.values()) + sum(
                p.size for g in m.groups[model_id] for p in g.values())
            self._put(m, points["L"], size - 2)

    def _put(self, m: _Map, p: _Point, value: Any) -> None:
        regs = _regs(p.type, value, p.size)
        start = p.address - m.base
        m.image[start:start + p.size] = regs

    def _get(self, m: _Map, p: _Point) -> Any:
        start = p.address - m.base
        data = b"".join(r.to_bytes(2, "big") for r in m.image[start:start + p.size])
        return mb.point_type_info[p.type].data_to(data)

    def _sf(self, m: _Map, model_id: int, p: _Point) -> int:
        if isinstance(p.sf, int):
            return p.sf
        return int(self._get(m, m.models[model_id][p.sf]))

    def _main(self) -> _Map:
        return self._maps[self.unit]

    def _meter(self) -> _Map:
        return self._maps[self.meter_unit if self.meter_unit is not None else self.unit]

    def point(self, model_id: int, name: str) -> float | int | None:
        """The scaled value of a point (``None`` when not implemented)."""
        with self._lock:
            m = self._meter() if model_id == 203 else self._main()
            p = m.models[model_id][name]
            raw = self._get(m, p)
            if raw in (mb.SUNS_UNIMPL_INT16, mb.SUNS_UNIMPL_UINT16) and p.size == 1:
                return None
            return raw * 10 ** self._sf(m, model_id, p) if p.sf else raw

    def set_point(self, model_id: int, name: str, value: float | int | None, *,
                  group: int | None = None) -> None:
        with self._lock:
            self._set(model_id, name, value, group=group)

    def _set(self, model_id: int, name: str, value: float | int | None, *,
             group: int | None = None) -> None:
        m = self._meter() if model_id == 203 else self._main()
        p = m.models[model_id][name] if group is None else m.groups[model_id][group][name]
        if value is not None and p.sf:
            value = round(value / 10 ** self._sf(m, model_id, p))
        self._put(m, p, value)

    def _power_on(self) -> None:
        """Nameplate, scale factors and the device's own defaults (no window active)."""
        s = self._set
        s(1, "Mn", "Emulated"); s(1, "Md", "SunSpec Hybrid"); s(1, "SN", "EMU-0001")  # noqa: E702
        s(1, "Vr", "1.0.0"); s(1, "DA", self.unit)  # noqa: E702
        for name, sf in (("A_SF", -2), ("V_SF", -1), ("W_SF", 1), ("Hz_SF", -2), ("WH_SF", 0),
                         ("Tmp_SF", -1), ("DCW_SF", 0)):
            s(103, name, sf)
        s(103, "St", 4)
        for name, sf in (("DCA_SF", -2), ("DCV_SF", -1), ("DCW_SF", 0), ("DCWH_SF", 0)):
            s(160, name, sf)
        s(160, "N", self.modules)
        for name, sf in (("WChaMax_SF", 1), ("WChaDisChaGra_SF", 0), ("MinRsvPct_SF", -2),
                         ("ChaState_SF", -2), ("InOutWRte_SF", -2)):
            s(124, name, sf)
        s(124, "WChaMax", self.WCHAMAX_W)
        s(124, "WChaGra", 100); s(124, "WDisChaGra", 100)  # noqa: E702
        s(124, "MinRsvPct", 5.0)
        s(124, "ChaGriSet", 0)
        self._reset_window()
        if self.with_802:
            for name, sf in (("AHRtg_SF", 0), ("WHRtg_SF", 1), ("WChaDisChaMax_SF", 1),
                             ("SoC_SF", -1), ("V_SF", -1), ("CellV_SF", -3), ("A_SF", -1),
                             ("AMax_SF", 0), ("W_SF", 0)):
                s(802, name, sf)
            s(802, "WHRtg", self.site.capacity_wh)
        s(203, "W_SF", 0); s(203, "A_SF", -2); s(203, "V_SF", -1)  # noqa: E702
        s(203, "Hz_SF", -2); s(203, "TotWh_SF", 0)  # noqa: E702
        self._publish()

    def _reset_window(self) -> None:
        self._set(124, "StorCtl_Mod", 0)
        self._set(124, "InWRte", 100.0)
        self._set(124, "OutWRte", 100.0)
        self._set(124, "InOutWRte_RvrtTms", 0)
        self._written_at = None

    # -- physics ----------------------------------------------------------------------------

    def _scaled(self, model_id: int, name: str) -> float:
        m = self._main()
        p = m.models[model_id][name]
        return float(self._get(m, p)) * 10 ** self._sf(m, model_id, p)

    def _evolve(self) -> None:
        now = self.clock()
        site = self.site
        if self._last is not None and now > self._last:
            dt_h = (now - self._last) / 3600.0
            site.soc_pct -= site.battery_w * dt_h / site.capacity_wh * 100.0
            site.soc_pct = min(100.0, max(0.0, site.soc_pct))
        self._last = now
        rvrt = int(self._get(self._main(), self._main().models[124]["InOutWRte_RvrtTms"]))
        if self._written_at is not None and rvrt > 0 and now >= self._written_at + rvrt:
            self._reset_window()
        mod = int(self._get(self._main(), self._main().models[124]["StorCtl_Mod"]))
        wmax = self._scaled(124, "WChaMax")
        lo, hi = -wmax, wmax
        if mod & 1:
            lo = -self._scaled(124, "InWRte") / 100.0 * wmax
        if mod & 2:
            hi = self._scaled(124, "OutWRte") / 100.0 * wmax
        want = min(wmax, max(-wmax, site.load_w - site.pv_w))
        battery = min(hi, max(lo, want)) if lo <= hi else hi
        if battery < 0 and int(self._get(self._main(), self._main().models[124]["ChaGriSet"])) == 0:
            battery = max(battery, -max(0.0, site.pv_w - site.load_w))
        if battery > 0 and site.soc_pct <= self._scaled(124, "MinRsvPct"):
            battery = 0.0
        if battery < 0 and site.soc_pct >= 100.0:
            battery = 0.0
        site.battery_w = battery
        self._publish()

    def _publish(self) -> None:
        site = self.site
        ac = site.pv_w + site.battery_w
        self._set(124, "ChaState", site.soc_pct)
        self._set(124, "ChaSt", 4 if site.battery_w < 0 else 3 if site.battery_w > 0 else 6)
        self._set(103, "W", ac)
        modules = [site.pv_w / 2, site.pv_w / 2]
        if self.fronius:
            modules += [max(0.0, -site.battery_w), max(0.0, site.battery_w)]
        for i, value in enumerate(modules):
            self._set(160, "DCW", value, group=i)
        if self.with_802:
            self._set(802, "SoC", site.soc_pct)
            self._set(802, "W", site.battery_w)
        self._set(203, "W", site.load_w - ac)

    # -- people and events ------------------------------------------------------------------

    def other_master_writes(self, **points: float | int) -> None:
        """Another Modbus master (a person's app, say) writes model 124 points."""
        with self._lock:
            self._evolve()
            for name, value in points.items():
                self._set(124, name, value)
            self._written_at = self.clock()
            self._evolve()

    def reboot(self) -> None:
        """The inverter restarts: connections drop, the window is gone, the SOC stays."""
        with self._lock:
            self._power_on()
        self._drop_connections()

    def _drop_connections(self) -> None:
        server, loop = self._server, self._loop
        if server is None or loop is None:
            return

        def close() -> None:
            for conn in list(server.active_connections.values()):
                conn.close()

        loop.call_soon_threadsafe(close)

    # -- the Modbus side --------------------------------------------------------------------

    def _check_write(self, m: _Map, address: int, values: list[int]) -> ExcCodes | None:
        storage = m.models.get(124, {})
        by_address = {p.address: p for p in storage.values()}
        for i, raw in enumerate(values):
            p = by_address.get(address + i)
            if p is None or not p.writable:
                self.out_of_range_writes.append(f"read-only register {address + i}")
                return ExcCodes.ILLEGAL_ADDRESS
            signed = raw - 0x10000 if p.type == "int16" and raw >= 0x8000 else raw
            value = signed * 10 ** self._sf(m, 124, p) if p.sf else signed
            ok = {
                "StorCtl_Mod": 0 <= value <= 3,
                "InWRte": -100 <= value <= 100, "OutWRte": -100 <= value <= 100,
                "MinRsvPct": 0 <= value <= 100, "ChaGriSet": value in (0, 1),
                "InOutWRte_RvrtTms": 0 <= value < 0xFFFF,
            }.get(p.name, True)
            if not ok:
                self.out_of_range_writes.append(f"124.{p.name}={value}")
                return ExcCodes.ILLEGAL_VALUE
        return None

    def _action(self, unit: int) -> Callable[..., Any]:
        async def action(fc: int, start: int, address: int, count: int, registers: list[int],
                         values: list[int] | list[bool] | None) -> ExcCodes | None:
            write = values is not None
            fault = self.faults.take(write)
            if fault is not None:
                if fault.kind == "timeout":
                    await asyncio.sleep(fault.delay_s)
                elif fault.kind == "exception":
                    return ExcCodes(fault.code)
                elif fault.kind == "drop":
                    self._drop_connections()
                    await asyncio.sleep(0.05)
                    return ExcCodes.DEVICE_FAILURE
            with self._lock:
                m = self._maps[unit]
                self._evolve()
                if write:
                    assert values is not None
                    ints = [int(v) for v in values]
                    self.writes.append((unit, address, ints))
                    problem = self._check_write(m, address, ints)
                    if problem is not None:
                        return problem
                    m.image[address - m.base: address - m.base + len(ints)] = ints
                    self._written_at = self.clock()
                    self._evolve()
                else:
                    self.reads += 1
                registers[: len(m.image)] = m.image
            return None

        return action

    def __enter__(self) -> SunSpecEmulator:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        devices = [
            SimDevice(u, simdata=[SimData(m.base, values=list(m.image),
                                          datatype=DataType.REGISTERS)],
                      action=self._action(u))
            for u, m in self._maps.items()
        ]
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)

            async def main() -> None:
                self._server = ModbusTcpServer(devices, address=("127.0.0.1", self.port))
                await self._server.serve_forever(background=True)
                ready.set()

            loop.run_until_complete(main())
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="sunspec-emulator", daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("the SunSpec emulator did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        loop, server = self._loop, self._server
        if loop is not None and server is not None:
            asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(5)
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(5)
