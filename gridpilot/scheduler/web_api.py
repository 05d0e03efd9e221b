"""The dashboard's side of the control API: the page, its JSON endpoints and browser logins.

    GET  /                      the dashboard page (static, no data in it; no login needed)
    GET  /static/<file>         its script and style
    GET  /login?code=...        spend a one-time login code: sets the session cookie
    POST /api/login-link        (bearer token only) a one-time login link
    GET  /api/session           the session's CSRF token
    POST /api/logout            end the session
    GET  /api/status            everything `gridpilot status` shows
    GET  /api/plan?hours=48     the plan ahead, slot by slot
    GET  /api/prices            the known prices from the current slot on
    GET  /api/decisions?q=&limit=50   recent decisions from the audit log, newest first
    GET  /api/actuals?hours=24  what the site did, tick by tick
    GET  /api/trace             the current decision with its full trace
    GET  /api/cost              today's cost so far against no battery
    GET  /api/health            fail-safe, data age, last errors, price and forecast refresh

Every endpoint of the control API (these and ``/overrides``) takes the bearer token or a session
cookie; a request with the cookie that changes anything must carry the session's CSRF token in
``X-CSRF-Token`` and come from the page's own origin. Over TCP, the Host header must name the
loopback (a DNS name rebound to 127.0.0.1 is refused). Logins and refusals are audited.
"""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from gridpilot.clock import Clock
from gridpilot.scheduler.audit import AuditLog
from gridpilot.scheduler.status_view import StatusView
from gridpilot.scheduler.websession import COOKIE, SESSION_TTL_S, WebSessions, loopback_host

__all__ = ["ALLOW", "WebAnswer", "WebFront"]

ALLOW: Literal["allow"] = "allow"
"""A request a session authorises for one of the control API's own routes."""

STATIC = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "charts.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
SAFE_METHODS = frozenset({"GET", "HEAD"})
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
COMMON_HEADERS = (("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff"),
                  ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"))
AUDIT_EVERY_S = 10.0
"""At most one audit record per kind of refusal in this time: a flood of bad requests must not
rotate the real records out of the log."""


@dataclass(frozen=True)
class WebAnswer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, data: Any, *headers: tuple[str, str]) -> WebAnswer:
    text = json.dumps(data, indent=1, default=str, allow_nan=True)
    return WebAnswer(status, (text + "\n").encode(), "application/json",
                     COMMON_HEADERS + tuple(headers))


def _cookie(headers: Mapping[str, str]) -> str:
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return ""


def _number(query: Mapping[str, list[str]], name: str, default: float, top: float) -> float:
    try:
        value = float(query.get(name, [str(default)])[0])
    except ValueError:
        return default
    return min(max(value, 0.0), top) if math.isfinite(value) else default


class WebFront:
    """Answers the dashboard's routes and decides who may use the rest of the control API."""

    def __init__(self, view: StatusView, sessions: WebSessions, audit: AuditLog, clock: Clock,
                 *, check_host: bool = True) -> None:
        self.view = view
        self.sessions = sessions
        self.audit = audit
        self.clock = clock
        self.check_host = check_host
        self._last_audit: dict[str, datetime] = {}

    def __repr__(self) -> str:
        return f"WebFront(check_host={self.check_host})"

    def _audit(self, kind: str, **fields: Any) -> None:
        now = self.clock.now()
        key = f"{kind}:{fields.get('reason', '')}"
        last = self._last_audit.get(key)
        recent = last is not None and (now - last).total_seconds() < AUDIT_EVERY_S
        if kind == "web_refused" and recent:
            return
        self._last_audit[key] = now
        self.audit.write(kind, now, **fields)

    def _refuse(self, status: int, reason: str, message: str, path: str) -> WebAnswer:
        self._audit("web_refused", reason=reason, path=path, status=status)
        return _json(status, {"error": message})

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes, *,
               bearer_ok: bool) -> WebAnswer | Literal["allow"] | None:
        """A final answer, :data:`ALLOW` (a session may use this control route), or ``None``:
        not a browser request, the control API checks the bearer token itself."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        host = headers.get("host", "")
        if self.check_host and not loopback_host(host):
            return self._refuse(403, "host", f"Host {host[:80]!r} is not a loopback name; open "
                                "the dashboard at http://127.0.0.1:<port>/", path)
        if path == "/" or path.startswith("/static/"):
            return self._static(method, "index.html" if path == "/" else path[len("/static/"):])
        if path == "/login":
            return self._login(method, query)
        if path == "/healthz":
            return None
        if path == "/api/login-link":
            if not bearer_ok:
                return self._refuse(401, "login_link", "a login link needs the bearer token "
                                    "(gridpilot status --open)", path)
            if method != "POST":
                return _json(405, {"error": "use POST"})
            code = self.sessions.new_login_code()
            self._audit("web_login_link")
            return _json(200, {"url": f"http://{host}/login?code={code}"})
        session = None if bearer_ok else self.sessions.find(_cookie(headers))
        if not bearer_ok and session is None:
            if not path.startswith("/api/") and not headers.get("cookie") and not \
                    headers.get("authorization"):
                return None  # the control API's own 401
            return self._refuse(401, "no_session", "log in: run `gridpilot status --open` and "
                                "open the link it prints (or send the bearer token)", path)
        if session is not None and method not in SAFE_METHODS:
            refused = self._cross_site(headers, host, path)
            if refused is not None:
                return refused
            sent = headers.get("x-csrf-token", "")
            if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
                return self._refuse(403, "csrf", "missing or wrong X-CSRF-Token; reload the "
                                    "page", path)
        if path == "/api/session":
            return _json(200, {"csrf_token": None if session is None else session.csrf,
                               "expires": None if session is None
                               else session.expires.isoformat()})
        if path == "/api/logout" and method == "POST":
            if session is not None:
                self.sessions.end(session)
                self._audit("web_logout")
            return _json(200, {"logged_out": True},
                         ("Set-Cookie", f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; "
                                        "SameSite=Strict"))
        if path.startswith("/api/"):
            if method not in SAFE_METHODS:
                return _json(405, {"error": "use GET"})
            return self._document(path, query)
        return ALLOW

    def _cross_site(self, headers: Mapping[str, str], host: str, path: str) -> WebAnswer | None:
        """A cookie sent from another origin: browsers say where a request comes from."""
        origin = headers.get("origin")
        if origin is not None and origin != f"http://{host}":
            return self._refuse(403, "origin", f"request from another origin ({origin[:80]}) "
                                "refused", path)
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return self._refuse(403, "origin", f"request from another site ({site}) refused",
                                path)
        return None

    def _static(self, method: str, name: str) -> WebAnswer:
        if method not in SAFE_METHODS:
            return _json(405, {"error": "use GET"})
        kind = STATIC.get(name)
        if kind is None:
            return _json(404, {"error": f"no file {name!r}"})
        data = resources.files("gridpilot").joinpath("web", name).read_bytes()
        return WebAnswer(200, data, kind, (*COMMON_HEADERS, ("Content-Security-Policy", CSP)))

    def _login(self, method: str, query: Mapping[str, list[str]]) -> WebAnswer:
        if method != "GET":
            return _json(405, {"error": "use GET"})
        opened = self.sessions.redeem(query.get("code", [""])[0])
        if opened is None:
            self._audit("web_refused", reason="login", path="/login", status=401)
            page = ("<!doctype html><title>gridpilot</title><p>This login link was used "
                    "already or has expired. Run <code>gridpilot status --open</code> for a "
                    "new one.</p>")
            return WebAnswer(401, page.encode(), "text/html; charset=utf-8", COMMON_HEADERS)
        sid, _session = opened
        self._audit("web_login")
        # The cookie is set on this page and sent from the next, same-site navigation: a
        # redirect would carry the (cross-site) origin of the link that was clicked.
        page = ('<!doctype html><meta http-equiv="refresh" content="0;url=/">'
                '<title>gridpilot</title><p><a href="/">Open the dashboard</a></p>')
        cookie = (f"{COOKIE}={sid}; Path=/; Max-Age={int(SESSION_TTL_S)}; HttpOnly; "
                  "SameSite=Strict")
        return WebAnswer(200, page.encode(), "text/html; charset=utf-8",
                         (*COMMON_HEADERS, ("Set-Cookie", cookie)))

    def _document(self, path: str, query: Mapping[str, list[str]]) -> WebAnswer:
        view = self.view
        if path == "/api/status":
            return _json(200, view.status())
        if path == "/api/plan":
            hours = _number(query, "hours", 48.0, 48.0)
            slots = [p.as_dict() for p in view.plan(hours)]
            return _json(200, {"hours": hours, "slots": slots, "error": view.plan_error})
        if path == "/api/prices":
            return _json(200, view.prices())
        if path == "/api/decisions":
            limit = int(_number(query, "limit", 50, 500))
            return _json(200, view.decisions(query.get("q", [""])[0][:200], limit))
        if path == "/api/actuals":
            return _json(200, view.actuals(_number(query, "hours", 24.0, 72.0)))
        if path == "/api/trace":
            return _json(200, view.trace())
        if path == "/api/cost":
            return _json(200, view.cost())
        if path == "/api/health":
            return _json(200, view.health())
        return _json(404, {"error": f"no endpoint {path}"})
