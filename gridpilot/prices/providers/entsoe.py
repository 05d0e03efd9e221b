"""ENTSO-E Transparency Platform: day-ahead prices (documentType A44) per bidding zone, EUR/MWh.

The plain REST API over the injected httpx client: entsoe-py sends through ``requests`` (no
httpx transport to inject, so neither tests nor proxies can reach it the same way) and pulls in
pandas for a 60-line XML parse.

``GET {base_url}?documentType=A44&in_Domain=EIC&out_Domain=EIC&periodStart=yyyyMMddHHmm
&periodEnd=...&securityToken=...``. The answer is a ``Publication_MarketDocument`` of
``TimeSeries`` > ``Period`` (``timeInterval`` start/end, ``resolution`` PT15M or PT60M) >
``Point`` (``position``, ``price.amount``). Curve type A03: a missing position repeats the
previous price. "No matching data" is an ``Acknowledgement_MarketDocument`` with reason 999:
nothing published yet, not an error.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated, ClassVar
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr

from gridpilot.errors import PriceProviderError
from gridpilot.prices.base import PriceSlots, ProviderContext, Publication
from gridpilot.prices.http import install_log_redaction, request
from gridpilot.prices.settings import ProviderSettings, resolve_secret
from gridpilot.prices.slots import build_slots, epoch_s, require_aware

__all__ = ["Entsoe", "EntsoeSettings"]

_RESOLUTION_S = {"PT15M": 900, "PT30M": 1800, "PT60M": 3600}


class EntsoeSettings(ProviderSettings):
    base_url: str = "https://web-api.tp.entsoe.eu/api"
    zone: Annotated[str, Field(pattern=r"^10[A-Z0-9-]{14}$")]
    """The bidding zone's EIC code, e.g. ``10Y1001A1001A82H`` (DE-LU), ``10YNL----------L``."""
    token: SecretStr | None = None
    """The Transparency Platform security token, as ``${ENTSOE_TOKEN}``; or ``token_file``."""
    token_file: Path | None = None


class Entsoe:
    """The ``entsoe`` provider."""

    settings_model: ClassVar[type[EntsoeSettings]] = EntsoeSettings

    def __init__(self, settings: EntsoeSettings, context: ProviderContext) -> None:
        self.settings = settings
        self.context = context
        self.name = "entsoe"
        install_log_redaction()  # the token is a query parameter, which httpx logs

    def __repr__(self) -> str:
        return f"Entsoe(zone={self.settings.zone!r})"

    def publication(self) -> Publication:
        # The SDAC auction's results are out at about 12:45-13:00 CET.
        return Publication(time(13, 0), ZoneInfo("Europe/Brussels"))

    def fetch(self, start: datetime, end: datetime) -> PriceSlots:
        start_s, end_s = require_aware(self.name, start, end)
        token = resolve_secret(self.name, "token", self.settings.token,
                               self.settings.token_file, self.context.base_dir)
        params = {
            "documentType": "A44",
            "in_Domain": self.settings.zone,
            "out_Domain": self.settings.zone,
            "periodStart": _stamp(start),
            "periodEnd": _stamp(end),
            "securityToken": token.get_secret_value(),
        }
        # 400 carries the "no matching data" acknowledgement; other statuses are errors.
        response = request(self.name, self.context.client, "GET", self.settings.base_url,
                           params=params, timeout_s=self.settings.timeout_s, ok=(200, 400))
        rows = self._parse(response.content, response.status_code)
        return build_slots(self.name, rows, start_s=start_s, end_s=end_s, unit="per_mwh",
                           currency="EUR", source=f"entsoe {self.settings.zone}",
                           finer_wins=True)

    def _parse(self, body: bytes, status: int) -> list[tuple[int, int, float]]:
        try:
            root = ET.fromstring(body)
        except ET.ParseError as exc:
            raise PriceProviderError(self.name, f"malformed XML ({exc}); the fetch is "
                                                "retried") from None
        if _local(root.tag) == "Acknowledgement_MarketDocument":
            code = _text(root, "Reason/code")
            reason = _text(root, "Reason/text") or "no reason given"
            if code == "999":
                return []  # nothing published for this range (yet)
            raise PriceProviderError(self.name, f"the request was refused: {reason[:200]}; "
                                                "check zone")
        if status != 200 or _local(root.tag) != "Publication_MarketDocument":
            raise PriceProviderError(self.name, f"unexpected document {_local(root.tag)!r}")
        rows: list[tuple[int, int, float]] = []
        for period in _all(root, "TimeSeries/Period"):
            rows.extend(self._period(period))
        return rows

    def _period(self, period: ET.Element) -> list[tuple[int, int, float]]:
        begin = _when(self.name, _text(period, "timeInterval/start"))
        finish = _when(self.name, _text(period, "timeInterval/end"))
        resolution = _text(period, "resolution")
        step = _RESOLUTION_S.get(resolution or "")
        if step is None:
            raise PriceProviderError(self.name, f"unsupported resolution {resolution!r}")
        count = (finish - begin) // step
        prices: dict[int, float] = {}
        for point in _all(period, "Point"):
            try:
                position = int(_text(point, "position") or "")
                prices[position] = float(_text(point, "price.amount") or "")
            except ValueError:
                raise PriceProviderError(self.name, "malformed Point (position/price.amount); "
                                                    "the fetch is retried") from None
        rows: list[tuple[int, int, float]] = []
        current: float | None = None
        for position in range(1, count + 1):
            current = prices.get(position, current)  # A03: a gap repeats the previous price
            if current is not None:
                slot = begin + (position - 1) * step
                rows.append((slot, slot + step, current))
        return rows


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _all(node: ET.Element, path: str) -> list[ET.Element]:
    """Children along ``a/b`` whatever the document's namespace (it changes with versions)."""
    found = [node]
    for part in path.split("/"):
        found = [c for n in found for c in n if _local(c.tag) == part]
    return found


def _text(node: ET.Element, path: str) -> str | None:
    found = _all(node, path)
    return (found[0].text or "").strip() if found else None


_WHEN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$")


def _when(provider: str, text: str | None) -> int:
    if text is None or not _WHEN.match(text):
        raise PriceProviderError(provider, f"malformed timeInterval {text!r}")
    return epoch_s(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M")
