"""The contract of a price provider: what it returns, when it publishes, what it is given.

A provider turns a time range into :class:`PriceSlots` in its OWN unit and currency (EUR/MWh,
p/kWh...); converting to the tariff's currency per kWh is the tariff's job, so the trace can state
the conversion once. Every failure is a :class:`~gridpilot.errors.PriceProviderError` that names
the provider and says what to do: a provider never lets an ``httpx`` or parsing exception out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.clock import Clock

if TYPE_CHECKING:
    # httpx costs ~60 ms to import; a policy without live prices (and `gridpilot check`) never
    # needs it, so only the type is named here.
    import httpx

__all__ = [
    "PriceProvider",
    "PriceProviderKind",
    "PriceSlots",
    "PriceUnit",
    "ProviderContext",
    "Publication",
]

PriceUnit = Literal["per_mwh", "per_kwh", "minor_per_kwh"]
"""``per_mwh``: major unit per MWh (EUR/MWh); ``per_kwh``: major unit per kWh (SEK/kWh);
``minor_per_kwh``: minor unit per kWh (pence or cents per kWh)."""


@dataclass(frozen=True, slots=True)
class PriceSlots:
    """Slots ``[start_s[i], end_s[i])`` in UNIX seconds, ascending, not overlapping, in the
    PROVIDER's unit. Slots may differ in length (15 and 60 minutes in one series) and may leave
    gaps (an hour the provider does not know)."""

    start_s: IntArray
    end_s: IntArray
    value: FloatArray
    unit: PriceUnit
    currency: str
    """ISO 4217: ``"GBP"``, ``"EUR"``, ``"SEK"``, ``"NOK"``, ``"DKK"``."""
    source: str
    """The provider's name (and product or area), for the trace."""

    def __len__(self) -> int:
        return int(self.start_s.shape[0])


@dataclass(frozen=True, slots=True)
class Publication:
    """When a provider publishes the next day: at ``local_time`` in ``tz``, covering up to the end
    of the next local day, or up to ``covers_until_local`` on it (23:00 for Octopus Agile)."""

    local_time: time
    tz: ZoneInfo
    covers_until_local: time | None = None


@dataclass(frozen=True, slots=True)
class ProviderContext:
    """What a provider is given besides its settings."""

    client: httpx.Client
    """Built by the caller, base-URL independent (a provider sends absolute URLs from its
    ``base_url`` setting); tests pass one whose transport reaches an emulator. TLS is verified
    unless a user turned it off explicitly."""
    clock: Clock
    tz: ZoneInfo
    """The site's timezone."""
    base_dir: Path
    """The policy's directory: relative ``*_file`` secrets are read from here."""


class PriceProvider(Protocol):
    """One configured provider: a built-in's instance or a plugin's."""

    name: str

    def fetch(self, start: datetime, end: datetime) -> PriceSlots:
        """The slots known for ``[start, end)`` (tz-aware), none outside it; raises
        :class:`~gridpilot.errors.PriceProviderError` naming the provider and what to do."""
        ...

    def publication(self) -> Publication:
        """When the next day's prices are published."""
        ...


class PriceProviderKind(Protocol):
    """What the registry holds for one provider type: a class with a settings model, built as
    ``cls(settings, context)``."""

    settings_model: ClassVar[type[BaseModel]]

    def __call__(self, settings: Any, context: ProviderContext) -> PriceProvider: ...
