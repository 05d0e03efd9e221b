"""One HTTP request to an outside service, every failure turned into the caller's error kind.

Price providers and forecast services differ in what a refused answer means and in what happens
after a failure (``then``: known prices still apply, the forecast falls back); sending, the
transport failures, the malformed body and the endpoint named without its query string (where a
token may travel) are the same. Only modules that talk HTTP import this one, so a command that
makes no request (``gridpilot check``) never imports httpx.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from gridpilot.errors import GridpilotError

__all__ = ["endpoint", "parse_json", "send"]


def endpoint(url: str) -> str:
    """``url`` without its query string and fragment, for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    timeout_s: float,
    fail: Callable[[str], GridpilotError],
    then: str,
    where: str | None = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
) -> httpx.Response:
    """The response to one request, whatever its status; a timeout or transport failure raises
    ``fail(message)``, the message naming ``where`` (the endpoint) and ending with ``then``."""
    where = where or endpoint(url)
    try:
        return client.request(
            method, url, params=params, headers=headers, json=json_body, timeout=timeout_s
        )
    except httpx.TimeoutException:
        raise fail(
            f"no answer from {where} within {timeout_s:g} s; {then} "
            "(raise timeout_s if the service is slow)"
        ) from None
    except httpx.HTTPError as exc:
        raise fail(
            f"cannot reach {where} ({type(exc).__name__}); check the network and base_url; {then}"
        ) from None


def parse_json(
    response: httpx.Response, *, fail: Callable[[str], GridpilotError], then: str,
    where: str | None = None,
) -> Any:
    """The body as JSON, or ``fail(message)`` saying it is not."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        where = where or endpoint(str(response.request.url))
        raise fail(f"{where} answered malformed JSON ({exc}); {then}") from None
