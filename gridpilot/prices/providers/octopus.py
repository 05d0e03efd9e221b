"""Octopus Energy (UK): unit rates from the public REST API, no key needed.

``GET /v1/products/{product}/electricity-tariffs/{tariff}/standard-unit-rates/`` with
``period_from``/``period_to``; results come newest first, ``page_size`` at a time, with an
absolute ``next`` URL. ``value_inc_vat`` is in pence per kWh. The tariff code is
``E-1R-{product}-{region letter}``; the letter is given or looked up from a postcode at
``/v1/industry/grid-supply-points/?postcode=`` (``group_id`` ``"_C"`` -> ``C``). Fixed and
two-rate products (Go) work alike: each rate has ``valid_from``/``valid_to``, and an open-ended
rate (``valid_to: null``) is clipped to the requested range.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from gridpilot.errors import PriceProviderError
from gridpilot.prices.base import PriceSlots, ProviderContext, Publication
from gridpilot.prices.http import request, response_json
from gridpilot.prices.settings import ProviderSettings
from gridpilot.prices.slots import build_slots, epoch_s, require_aware

__all__ = ["Octopus", "OctopusSettings"]

REGIONS = "ABCDEFGHJKLMNP"
"""The 14 distribution regions' letters (there is no I or O)."""
_MAX_PAGES = 200
"""A year of half-hours at 1500 a page is 12 pages; more means a loop in ``next``."""


class OctopusSettings(ProviderSettings):
    base_url: str = "https://api.octopus.energy"
    product: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]+$")]
    """The product code, e.g. ``AGILE-24-10-01`` (import), ``AGILE-OUTGOING-19-05-13`` (export),
    ``GO-VAR-22-10-14``."""
    region: Annotated[str, Field(pattern=f"^[{REGIONS}]$")] | None = None
    """The region letter (``C`` is London); or give ``postcode``."""
    postcode: Annotated[str, Field(min_length=2, max_length=10)] | None = None
    """The supply postcode, looked up once to find the region."""
    tariff_code: Annotated[str, Field(pattern=r"^E-[12]R-[A-Z0-9-]+-[A-P]$")] | None = None
    """The full tariff code, when it is not ``E-1R-{product}-{region}``."""
    include_vat: bool = True
    """``value_inc_vat`` (True) or ``value_exc_vat`` (False)."""
    payment_method: Literal["DIRECT_DEBIT", "NON_DIRECT_DEBIT"] = "DIRECT_DEBIT"
    """Fixed products publish a rate per payment method; rates for other methods are ignored."""
    page_size: Annotated[int, Field(ge=1, le=1500)] = 1500

    @model_validator(mode="after")
    def _one_region(self) -> OctopusSettings:
        given = [self.region is not None, self.postcode is not None, self.tariff_code is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of region, postcode or tariff_code")
        return self


class Octopus:
    """The ``octopus`` provider."""

    settings_model: ClassVar[type[OctopusSettings]] = OctopusSettings

    def __init__(self, settings: OctopusSettings, context: ProviderContext) -> None:
        self.settings = settings
        self.context = context
        self.name = "octopus"
        self._tariff_code: str | None = settings.tariff_code or (
            f"E-1R-{settings.product}-{settings.region}" if settings.region else None
        )

    def __repr__(self) -> str:
        return f"Octopus(product={self.settings.product!r}, tariff={self._tariff_code!r})"

    def publication(self) -> Publication:
        # Agile's next day (to 23:00 UK) appears at about 16:00 UK time.
        return Publication(time(16, 0), ZoneInfo("Europe/London"), covers_until_local=time(23, 0))

    def _get(self, url: str, params: dict[str, str] | None = None) -> Any:
        response = request(self.name, self.context.client, "GET", url,
                           params=params, timeout_s=self.settings.timeout_s)
        return response_json(self.name, response)

    def tariff_code(self) -> str:
        """The tariff code, looking the region up from the postcode the first time."""
        if self._tariff_code is None:
            postcode = (self.settings.postcode or "").replace(" ", "").upper()
            body = self._get(f"{self.settings.base_url}/v1/industry/grid-supply-points/",
                             {"postcode": postcode})
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list) or not results:
                raise PriceProviderError(self.name, "the postcode matches no grid supply point; "
                                                    "check it or set region: LETTER")
            group = results[0].get("group_id") if isinstance(results[0], dict) else None
            letter = group[-1:] if isinstance(group, str) else ""
            if letter not in REGIONS or not letter:
                raise PriceProviderError(self.name, f"malformed grid supply point {group!r}; "
                                                    "set region: LETTER")
            self._tariff_code = f"E-1R-{self.settings.product}-{letter}"
        return self._tariff_code

    def fetch(self, start: datetime, end: datetime) -> PriceSlots:
        start_s, end_s = require_aware(self.name, start, end)
        code = self.tariff_code()
        url: str | None = (f"{self.settings.base_url}/v1/products/{self.settings.product}"
                           f"/electricity-tariffs/{code}/standard-unit-rates/")
        params: dict[str, str] | None = {
            "period_from": _iso(start), "period_to": _iso(end),
            "page_size": str(self.settings.page_size),
        }
        field = "value_inc_vat" if self.settings.include_vat else "value_exc_vat"
        rows: list[tuple[int, int, float]] = []
        pages = 0
        while url is not None:
            pages += 1
            if pages > _MAX_PAGES:
                raise PriceProviderError(self.name, "more than 200 pages: the 'next' links loop; "
                                                    "fetch a shorter range")
            body = self._get(url, params)
            params = None  # ``next`` carries the query itself
            if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                raise PriceProviderError(self.name, "malformed answer: no 'results' list; "
                                                    "the fetch is retried")
            for item in body["results"]:
                row = self._row(item, field, start_s, end_s)
                if row is not None:
                    rows.append(row)
            url = self._next(body.get("next"))
        return build_slots(self.name, rows, start_s=start_s, end_s=end_s, unit="minor_per_kwh",
                           currency="GBP", source=f"octopus {code}")

    def _row(self, item: Any, field: str, start_s: int, end_s: int
             ) -> tuple[int, int, float] | None:
        if not isinstance(item, dict):
            raise PriceProviderError(self.name, "malformed answer: a rate is not an object")
        method = item.get("payment_method")
        if method is not None and method != self.settings.payment_method:
            return None
        value = item.get(field)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PriceProviderError(self.name, f"malformed answer: rate without a numeric "
                                                f"{field!r}; the fetch is retried")
        begin = _parse(self.name, item.get("valid_from"), start_s)
        finish = _parse(self.name, item.get("valid_to"), end_s)
        return begin, finish, float(value)

    def _next(self, link: Any) -> str | None:
        if link is None:
            return None
        if not isinstance(link, str):
            raise PriceProviderError(self.name, "malformed answer: 'next' is not a URL")
        # Follow pagination only on the configured host: a link elsewhere is not followed.
        if urlsplit(link).netloc != urlsplit(self.settings.base_url).netloc:
            raise PriceProviderError(self.name, "the 'next' page is on another host; "
                                                "check base_url (a proxy must rewrite links)")
        return link


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")


def _parse(provider: str, text: Any, open_end: int) -> int:
    """A ``valid_from``/``valid_to`` as UNIX seconds; ``null`` is open-ended."""
    if text is None:
        return open_end
    if not isinstance(text, str) or not _ISO.match(text):
        raise PriceProviderError(provider, f"malformed answer: time {text!r}; the fetch is "
                                           "retried")
    return epoch_s(datetime.fromisoformat(text.replace("Z", "+00:00")))
