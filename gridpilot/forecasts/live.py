"""What a forecast that fetches from a service needs besides its settings, and what a refresh
reports. The live scheduler owns the context (its HTTP client, clock and state directory) and
calls :meth:`LiveForecast.refresh` at the configured interval; a backtest never does, so a
provider there runs on its honest replay form alone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from gridpilot.clock import Clock

if TYPE_CHECKING:
    import httpx

__all__ = ["ForecastContext", "LiveForecast", "RefreshResult"]


@dataclass(frozen=True, slots=True)
class ForecastContext:
    client: httpx.Client
    """Base-URL independent; TLS verified unless a user turned it off. Tests pass one whose
    transport reaches an emulator."""
    clock: Clock
    state_dir: Path
    """The on-disk cache lives in ``<state_dir>/forecasts``."""
    base_dir: Path = Path()
    """The policy's directory: relative ``*_file`` settings are read from here."""


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """One refresh, for the audit log: ``fetched`` (a call was sent and answered), ``cached``
    (nothing was due; the held or on-disk forecast stands) or ``skipped`` (the call budget or a
    429's wait said no); ``error`` when the call failed and the forecast fell back."""

    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)
    error: str = ""


@runtime_checkable
class LiveForecast(Protocol):
    """A forecast provider that fetches from a service (besides observing and forecasting)."""

    refresh_interval_s: float

    def refresh(self, context: ForecastContext, now: datetime) -> RefreshResult:
        """Fetch if due and allowed; raises ForecastFetchError when the call fails."""
        ...

    def sources(self) -> dict[str, Any]:
        """Where the last forecast came from (live, which fallback, calibration), for the trace."""
        ...
