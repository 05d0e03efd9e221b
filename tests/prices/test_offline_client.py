"""The offline context a policy's providers are built with while it compiles: its client refuses
every request like the real offline client, and costs nothing (no httpx) until touched."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gridpilot.errors import PriceProviderError
from gridpilot.prices.registry import PRICE_PROVIDERS
from gridpilot.prices.spec import offline_context


def test_a_request_through_the_offline_client_is_refused_naming_the_host() -> None:
    context = offline_context(ZoneInfo("UTC"), Path("."))
    try:
        with pytest.raises(PriceProviderError, match=r"no network here: example\.org not asked"):
            context.client.get("https://example.org/prices?token=secret")
    finally:
        context.client.close()


def test_a_provider_fetching_offline_gets_its_own_error_not_a_crash() -> None:
    kind = PRICE_PROVIDERS.get("awattar")
    context = offline_context(ZoneInfo("Europe/Berlin"), Path("."))
    provider = kind(kind.settings_model.model_validate({}), context)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        with pytest.raises(PriceProviderError, match="awattar"):
            provider.fetch(start, start + timedelta(days=1))
    finally:
        context.client.close()


def test_the_offline_client_works_as_a_context_manager_and_closes_untouched() -> None:
    untouched = offline_context(ZoneInfo("UTC"), Path(".")).client
    untouched.close()  # never made: nothing to close, nothing raised
    copy.copy(untouched)  # a copy does not recurse looking for its state
    with (offline_context(ZoneInfo("UTC"), Path(".")).client as client,
          pytest.raises(PriceProviderError, match="no network here")):
        client.get("https://example.org/")
