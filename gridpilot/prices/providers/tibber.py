"""Tibber: the home's retail price (``total``, energy + tax) per kWh from the GraphQL API.

``POST {base_url}`` with a bearer token and ``viewer { homes { id currentSubscription {
priceInfo(resolution: QUARTER_HOURLY|HOURLY) { today { total startsAt currency } tomorrow {...}
} } } }``. Only today and tomorrow are served, so a range outside them yields no slots (the
caller's cache and fixed schedule cover the past). GraphQL reports failures in ``errors`` with
HTTP 200 or 400.
"""

from __future__ import annotations

from datetime import datetime, time
from pathlib import Path
from typing import Any, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from gridpilot.errors import PriceProviderError
from gridpilot.prices.base import PriceSlots, ProviderContext, Publication
from gridpilot.prices.http import request, response_json
from gridpilot.prices.settings import ProviderSettings, resolve_secret
from gridpilot.prices.slots import build_slots, epoch_s, require_aware

__all__ = ["Tibber", "TibberSettings"]

_QUERY = """{ viewer { homes { id currentSubscription { priceInfo(resolution: %s) {
 today { total startsAt currency } tomorrow { total startsAt currency } } } } } }"""
_STEP_S = {"QUARTER_HOURLY": 900, "HOURLY": 3600}


class TibberSettings(ProviderSettings):
    base_url: str = "https://api.tibber.com/v1-beta/gql"
    token: SecretStr | None = None
    """The personal access token, as ``${TIBBER_TOKEN}``; or ``token_file``."""
    token_file: Path | None = None
    home_id: str | None = None
    """Which home, when the account has several (the first otherwise)."""
    resolution: Literal["QUARTER_HOURLY", "HOURLY"] = "QUARTER_HOURLY"


class Tibber:
    """The ``tibber`` provider."""

    settings_model: ClassVar[type[TibberSettings]] = TibberSettings

    def __init__(self, settings: TibberSettings, context: ProviderContext) -> None:
        self.settings = settings
        self.context = context
        self.name = "tibber"

    def __repr__(self) -> str:
        return f"Tibber(home_id={self.settings.home_id!r}, resolution={self.settings.resolution})"

    def publication(self) -> Publication:
        return Publication(time(13, 0), ZoneInfo("Europe/Oslo"))

    def fetch(self, start: datetime, end: datetime) -> PriceSlots:
        start_s, end_s = require_aware(self.name, start, end)
        token = resolve_secret(self.name, "token", self.settings.token,
                               self.settings.token_file, self.context.base_dir)
        response = request(
            self.name, self.context.client, "POST", self.settings.base_url,
            headers={"Authorization": f"Bearer {token.get_secret_value()}"},
            json_body={"query": _QUERY % self.settings.resolution},
            timeout_s=self.settings.timeout_s, ok=(200, 400),
        )
        body = response_json(self.name, response)
        if not isinstance(body, dict):
            raise PriceProviderError(self.name, "malformed answer: not a GraphQL response")
        self._raise_errors(body.get("errors"))
        entries, currency = self._entries(body)
        step = _STEP_S[self.settings.resolution]
        rows: list[tuple[int, int, float]] = []
        for i, (begin, value) in enumerate(entries):
            # A slot lasts to the next one's start (Tibber gives no ends).
            finish = entries[i + 1][0] if i + 1 < len(entries) else begin + step
            rows.append((begin, min(finish, begin + step), value))
        return build_slots(self.name, rows, start_s=start_s, end_s=end_s, unit="per_kwh",
                           currency=currency, source=f"tibber {self.settings.resolution}")

    def _raise_errors(self, errors: Any) -> None:
        if not errors:
            return
        first = errors[0] if isinstance(errors, list) and errors else {}
        message = str(first.get("message", "unknown")) if isinstance(first, dict) else "unknown"
        code = (first.get("extensions") or {}).get("code") if isinstance(first, dict) else None
        if code == "UNAUTHENTICATED" or "token" in message.lower():
            raise PriceProviderError(self.name, "the token was refused; check the token "
                                                "setting (developer.tibber.com)")
        raise PriceProviderError(self.name, f"the API answered an error: {message[:200]}")

    def _entries(self, body: dict[str, Any]) -> tuple[list[tuple[int, float]], str]:
        try:
            homes = body["data"]["viewer"]["homes"]
            if self.settings.home_id is not None:
                homes = [h for h in homes if h.get("id") == self.settings.home_id]
                if not homes:
                    raise PriceProviderError(self.name, f"no home {self.settings.home_id!r} in "
                                                        "this account; check home_id")
            if not homes:
                raise PriceProviderError(self.name, "the account has no home")
            subscription = homes[0]["currentSubscription"]
            if subscription is None:
                raise PriceProviderError(self.name, "the home has no active subscription")
            info = subscription["priceInfo"]
            items = list(info.get("today") or []) + list(info.get("tomorrow") or [])
            entries: list[tuple[int, float]] = []
            currencies = set()
            for item in items:
                value = item["total"]
                if value is None:
                    continue  # a slot Tibber has not priced
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise TypeError(value)
                moment = datetime.fromisoformat(item["startsAt"])
                if moment.tzinfo is None:
                    raise ValueError(item["startsAt"])
                entries.append((epoch_s(moment), float(value)))
                currencies.add(str(item.get("currency") or "EUR"))
        except PriceProviderError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError, IndexError):
            raise PriceProviderError(self.name, "malformed priceInfo; the fetch is "
                                                "retried") from None
        if len(currencies) > 1:
            raise PriceProviderError(self.name, f"mixed currencies {sorted(currencies)}")
        entries.sort()
        return entries, (currencies.pop() if currencies else "EUR")
