"""One configured provider of a tariff side, as compiled from the policy: its type, validated
settings, the known-when rule and its cache key. Instances are built per use
(:meth:`ProviderSpec.build`) with the caller's context: the live loop's HTTP client, a test's
emulator transport."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from gridpilot.clock import Clock, SystemClock
from gridpilot.errors import PriceProviderError
from gridpilot.prices.base import PriceProvider, ProviderContext, Publication
from gridpilot.prices.registry import PRICE_PROVIDERS

if TYPE_CHECKING:
    import httpx

__all__ = ["ProviderSpec", "offline_context"]


def _refuse(request: httpx.Request) -> httpx.Response:
    raise PriceProviderError("offline", f"no network here: {request.url.host} not asked")


def offline_context(tz: ZoneInfo, base_dir: Path, clock: Clock | None = None) -> ProviderContext:
    """A context whose client refuses every request: enough to build a provider and ask its
    publication time while a policy is compiled (``check`` never touches the network)."""
    import httpx  # deferred: ~60 ms, and only policies with live prices get here

    client = httpx.Client(transport=httpx.MockTransport(_refuse), trust_env=False)
    return ProviderContext(client=client, clock=clock or SystemClock(), tz=tz, base_dir=base_dir)


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    type: str
    settings: BaseModel
    publication: Publication
    """When a slot becomes known: the provider's own publication unless the policy overrides
    ``published_at``/``covers_until``."""
    stale_after_s: float
    """After the publication, how long tomorrow may be missing before it is reported stale."""
    key: str
    """The price cache's file name for this provider and its settings."""
    label: str
    """How the trace names it (``octopus`` or ``nordpool #2``)."""

    def build(self, context: ProviderContext) -> PriceProvider:
        kind = PRICE_PROVIDERS.get(self.type)
        return kind(self.settings, context)
