"""Injected clocks. Nothing in gridpilot reads the wall clock except :class:`SystemClock`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["AcceleratedClock", "Clock", "ManualClock", "SystemClock"]


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        # Imported here: a process that never sleeps (check) does not pay for asyncio.
        import asyncio

        await asyncio.sleep(max(0.0, seconds))


class AcceleratedClock:
    """Wall time sped up ``speed`` times from ``start``: one real second is ``speed`` clock seconds.

    Used to replay recorded data through the live scheduler so a simulated day passes in minutes.
    """

    def __init__(self, start: datetime, speed: float, *, base: Clock | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._base = base or SystemClock()
        self._start = start.astimezone(UTC)
        self._real_start = self._base.now()
        self.speed = speed

    def now(self) -> datetime:
        return self._start + (self._base.now() - self._real_start) * self.speed

    async def sleep(self, seconds: float) -> None:
        await self._base.sleep(max(0.0, seconds) / self.speed)


class ManualClock:
    """A clock that only moves when told to (tests); ``sleep`` advances it instantly."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        import asyncio

        await asyncio.sleep(0)
