"""One HTTP request of a provider, with every failure turned into a PriceProviderError.

Messages name the provider, what failed and what happens next; they never quote a URL's query
string, where a token may travel (ENTSO-E takes ``securityToken`` as a query parameter).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from gridpilot.errors import PriceProviderError

if TYPE_CHECKING:
    import httpx

__all__ = ["RedactQuerySecrets", "request", "response_json"]

_SECRET_PARAM = re.compile(r"(?i)((?:securityToken|token|api_?key)=)[^&\s\"']+")


class RedactQuerySecrets(logging.Filter):
    """Rewrites ``token=...`` in log records to ``token=***``: httpx logs every request URL at
    INFO, query string included."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_PARAM.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = RedactQuerySecrets()


def install_log_redaction() -> None:
    """Adds the redaction to httpx's logger once (idempotent)."""
    logger = logging.getLogger("httpx")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


_THEN = "known prices still apply and the fetch is retried"


def _fail(provider: str) -> Callable[[str], PriceProviderError]:
    return partial(PriceProviderError, provider)


def request(
    provider: str,
    client: httpx.Client,
    method: str,
    url: str,
    *,
    timeout_s: float,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    ok: tuple[int, ...] = (200,),
) -> httpx.Response:
    """Send one request; a status outside ``ok`` or any transport failure raises."""
    # Imported here, where a request is made: every provider module imports this one, and
    # check loads a provider for its settings without paying for httpx.
    from gridpilot.httpcall import endpoint, send

    where = endpoint(url)
    response = send(client, method, url, timeout_s=timeout_s, fail=_fail(provider), then=_THEN,
                    where=where, params=params, headers=headers, json_body=json_body)
    if response.status_code in ok:
        return response
    status = response.status_code
    if status in (401, 403):
        advice = "the service refused the credentials; check the token setting"
    elif status == 404:
        advice = "not found; check the product, tariff, area or zone settings"
    elif status == 429:
        advice = "rate limited; the fetch is retried later"
    elif status >= 500:
        advice = f"the service failed; {_THEN}"
    else:
        advice = f"the request was refused: {_short(response.text)}"
    raise PriceProviderError(provider, f"{where} answered HTTP {status}: {advice}")


def _short(text: str, limit: int = 200) -> str:
    text = _SECRET_PARAM.sub(r"\1***", " ".join(text.split()))
    return text if len(text) <= limit else text[:limit] + "..."


def response_json(provider: str, response: httpx.Response) -> Any:
    """The body as JSON, or a PriceProviderError saying it is not."""
    from gridpilot.httpcall import parse_json

    return parse_json(response, fail=_fail(provider), then=_THEN)
