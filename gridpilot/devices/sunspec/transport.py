"""One Modbus/TCP connection to a device, through ``pymodbus``'s asyncio client.

- Every request goes through one lock, so requests (writes above all) are never interleaved.
- A failed connection is not retried on every call: after ``n`` failures the next attempt
  waits ``backoff * 2**(n-1)`` seconds of the injected clock (capped); calls meanwhile fail at
  once with :class:`DeviceUnreachable`, so a dead inverter never stalls the loop.
- A read is repeated ``read_retries`` times after a timeout or a dropped connection; a write
  never is (it may have been carried out).
- An exception response names the register (``model.point @address``) and the Modbus
  exception code, and becomes :class:`DeviceRejected`; timeouts and resets become
  :class:`DeviceUnreachable`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException, ModbusIOException

from gridpilot.clock import Clock
from gridpilot.errors import DeviceProtocolError, DeviceRejected, DeviceUnreachable

__all__ = ["EXCEPTION_NAMES", "ModbusLink"]

log = logging.getLogger("gridpilot.devices.sunspec")

EXCEPTION_NAMES = {
    1: "ILLEGAL FUNCTION", 2: "ILLEGAL DATA ADDRESS", 3: "ILLEGAL DATA VALUE",
    4: "SERVER DEVICE FAILURE", 5: "ACKNOWLEDGE", 6: "SERVER DEVICE BUSY",
    8: "MEMORY PARITY ERROR", 10: "GATEWAY PATH UNAVAILABLE",
    11: "GATEWAY TARGET DEVICE FAILED TO RESPOND",
}



class _BackingOff(DeviceUnreachable):
    """Not even tried: an earlier failure's backoff still runs."""


class ModbusLink:
    """Serialised, reconnecting Modbus/TCP requests for the device named ``device``."""

    def __init__(
        self,
        device: str,
        host: str,
        port: int,
        *,
        clock: Clock,
        timeout_s: float,
        read_retries: int,
        backoff_s: float,
        backoff_max_s: float,
    ) -> None:
        self.device = device
        self.host = host
        self.port = port
        self.clock = clock
        self.timeout_s = timeout_s
        self.read_retries = read_retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self._client: AsyncModbusTcpClient | None = None
        self._lock = asyncio.Lock()
        self.failures = 0
        self.connects = 0
        self._next_connect: datetime | None = None

    def __repr__(self) -> str:
        return f"ModbusLink({self.host!r}:{self.port})"

    async def aclose(self) -> None:
        self._drop()

    def _drop(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def _connected(self, retry: bool) -> AsyncModbusTcpClient:
        if self._client is not None and self._client.connected:
            return self._client
        self._drop()
        now = self.clock.now()
        # A read's own retries reconnect at once; the backoff spaces out calls, not retries.
        if not retry and self._next_connect is not None and now < self._next_connect:
            wait = (self._next_connect - now).total_seconds()
            raise _BackingOff(
                self.device, f"{self.host}:{self.port} failed {self.failures} time(s); next "
                f"connection attempt in {wait:.0f} s")
        # pymodbus's own reconnect loop and retries are off: this class decides when to retry,
        # on the injected clock.
        client = AsyncModbusTcpClient(self.host, port=self.port, timeout=self.timeout_s,
                                      retries=0, reconnect_delay=0)
        try:
            ok = await asyncio.wait_for(client.connect(), self.timeout_s + 1)
        except (TimeoutError, OSError, ModbusException):
            ok = False
        if not ok:
            client.close()
            self._failed()
            raise DeviceUnreachable(self.device, f"cannot connect to {self.host}:{self.port}")
        self._client = client
        self.connects += 1
        return client

    def _failed(self) -> None:
        self.failures += 1
        delay = min(self.backoff_max_s, self.backoff_s * 2 ** min(self.failures - 1, 20))
        self._next_connect = self.clock.now() + timedelta(seconds=delay)

    def _ok(self) -> None:
        self.failures = 0
        self._next_connect = None

    async def read(self, address: int, count: int, unit: int, what: str) -> list[int]:
        """``count`` holding registers from ``address`` of unit ``unit``."""
        async with self._lock:
            for attempt in range(self.read_retries):
                try:
                    return await self._call(address, None, count, unit, what, retry=attempt > 0)
                except _BackingOff:
                    raise
                except DeviceUnreachable:
                    continue
            return await self._call(address, None, count, unit, what,
                                    retry=self.read_retries > 0)

    async def write(self, address: int, values: Sequence[int], unit: int, what: str) -> None:
        """Write ``values`` from ``address`` (function 16); never repeated."""
        async with self._lock:
            await self._call(address, list(values), len(values), unit, what)

    async def _call(self, address: int, values: list[int] | None, count: int, unit: int,
                    what: str, *, retry: bool = False) -> list[int]:
        client = await self._connected(retry)
        verb = "read" if values is None else "write"
        try:
            if values is None:
                coro = client.read_holding_registers(address, count=count, device_id=unit)
            else:
                coro = client.write_registers(address, values, device_id=unit)
            response = await asyncio.wait_for(coro, self.timeout_s + 0.5)
        except (TimeoutError, ModbusException, OSError) as exc:
            # The answer may still arrive later and be taken for the next request's: a fresh
            # connection is the only clean state.
            self._drop()
            self._failed()
            why = (f"no answer within {self.timeout_s:g} s (timed out)"
                   if isinstance(exc, TimeoutError | ModbusIOException)
                   else str(exc) or type(exc).__name__)
            raise DeviceUnreachable(
                self.device, f"{verb} {what} (unit {unit}) failed: {why}") from None
        if response.isError():
            code = int(getattr(response, "exception_code", 0) or 0)
            name = EXCEPTION_NAMES.get(code, "unknown exception")
            self._ok()
            raise DeviceRejected(
                self.device, f"{verb} {what} (unit {unit}) refused: Modbus exception {code} "
                f"({name})")
        self._ok()
        if values is not None:
            return []
        regs = list(getattr(response, "registers", []) or [])
        if len(regs) < count:
            raise DeviceProtocolError(
                self.device, f"read {what} (unit {unit}): {len(regs)} of {count} registers")
        return regs[:count]
