"""One configured provider of a tariff side, as compiled from the policy: its type, validated
settings, the known-when rule and its cache key. Instances are built per use
(:meth:`ProviderSpec.build`) with the caller's context: the live loop's HTTP client, a test's
emulator transport."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast
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


class _OfflineClient:
    """The offline client, made when a provider first touches it: building a provider and
    asking its publication time (every compile of a live tariff) then imports no httpx, which
    cost ``check`` of such a policy a sixth of its time."""

    _client: httpx.Client | None = None  # on the class: __getattr__ never recurses for it

    def _made(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(transport=httpx.MockTransport(_refuse), trust_env=False)
        return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._made(), name)

    def __enter__(self) -> httpx.Client:
        return self._made().__enter__()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._made().__exit__(kind, exc, tb)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def offline_context(tz: ZoneInfo, base_dir: Path, clock: Clock | None = None) -> ProviderContext:
    """A context whose client refuses every request: enough to build a provider and ask its
    publication time while a policy is compiled (``check`` never touches the network)."""
    client = cast("httpx.Client", _OfflineClient())
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
