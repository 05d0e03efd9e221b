"""The local control API of a running ``gridpilot run``: a small HTTP/1.1 server on loopback (or
a unix socket) built on asyncio's streams.

Every endpoint but ``/healthz`` needs ``Authorization: Bearer <token>``; the token lives in a
file only the owner can read (created 0600 when missing, refused when others can read it).

    GET    /healthz            {"status": "ok" | "stale" | "failsafe", ...}   (no token)
    GET    /metrics            Prometheus text
    GET    /overrides          {"overrides": [...]}
    POST   /overrides          body: see parse_override_request -> 201 {"override": {...}}
    DELETE /overrides          remove all -> {"removed": n}
    DELETE /overrides/<name>   remove one -> {"removed": n} (404 if none)

With a :class:`~gridpilot.scheduler.web_api.WebFront` it also serves the dashboard, its
``/api/*`` documents and browser sessions (see that module and docs/dashboard.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import secrets
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from gridpilot.clock import Clock
from gridpilot.errors import GridpilotError
from gridpilot.scheduler.audit import AuditLog
from gridpilot.scheduler.metrics import Metrics
from gridpilot.scheduler.overrides import OverrideError, OverrideStore, parse_override_request
from gridpilot.scheduler.persist import atomic_write_json

if TYPE_CHECKING:
    from gridpilot.scheduler.web_api import WebFront

__all__ = ["ControlError", "ControlServer", "ensure_token", "read_token"]

log = logging.getLogger("gridpilot.control")

MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024
REQUEST_TIMEOUT_S = 10.0
CONTROL_FILE = "control.json"


class ControlError(GridpilotError):
    """The control API cannot start or be reached; the message says what to fix."""


def read_token(path: Path) -> str:
    """The token in ``path``; refuses a file that others than its owner can read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ControlError(f"token file {path} does not exist; is gridpilot run running?") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ControlError(
            f"token file {path} can be read by other users (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )
    token = path.read_text(encoding="utf-8").strip()
    if len(token) < 16:
        raise ControlError(f"token file {path} holds no usable token (at least 16 characters)")
    return token


def ensure_token(path: Path) -> str:
    """Read the token in ``path``, creating the file (0600) with a fresh token if missing."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(secrets.token_urlsafe(32) + "\n")
    return read_token(path)


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, data: Any) -> _Response:
    return _Response(status, (json.dumps(data, indent=1) + "\n").encode())


_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized",
            403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            413: "Payload Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


class ControlServer:
    """Serves the control API for one scheduler.

    ``health`` returns the ``/healthz`` document and whether it is healthy; ``on_change`` is
    called after the overrides changed (the scheduler then ticks at once).
    """

    def __init__(
        self,
        *,
        token: str,
        overrides: OverrideStore,
        metrics: Metrics,
        audit: AuditLog,
        clock: Clock,
        health: Callable[[], tuple[bool, dict[str, Any]]],
        on_change: Callable[[], None] = lambda: None,
        web: WebFront | None = None,
    ) -> None:
        self._token = token.encode()
        self.overrides = overrides
        self.metrics = metrics
        self.audit = audit
        self.clock = clock
        self.health = health
        self.on_change = on_change
        self.web = web
        """The dashboard and browser logins (:mod:`.web_api`); ``None``: bearer token only."""
        self._server: asyncio.AbstractServer | None = None
        self.address: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"ControlServer(address={self.address!r})"

    async def start_tcp(self, host: str, port: int) -> dict[str, Any]:
        try:
            self._server = await asyncio.start_server(self._handle, host, port)
        except OSError as exc:
            raise ControlError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another "
                "run.control_port or stop the other instance"
            ) from None
        sock = self._server.sockets[0].getsockname()
        self.address = {"url": f"http://{_host_for_url(host)}:{sock[1]}"}
        return self.address

    async def start_unix(self, path: Path) -> dict[str, Any]:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        try:
            self._server = await asyncio.start_unix_server(self._handle, path=str(path))
        except OSError as exc:
            raise ControlError(f"cannot listen on unix socket {path} ({exc})") from None
        os.chmod(path, 0o600)
        self.address = {"socket": str(path)}
        return self.address

    def publish(self, state_dir: Path, token_file: Path) -> None:
        """Write where the API listens (``control.json``) so ``gridpilot override`` finds it."""
        atomic_write_json(state_dir / CONTROL_FILE,
                          {**self.address, "token_file": str(token_file.resolve()),
                           "pid": os.getpid()})

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            response = await asyncio.wait_for(self._serve(reader), REQUEST_TIMEOUT_S)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            response = _json(400, {"error": "incomplete or slow request"})
        except Exception:
            log.exception("control API request failed")
            response = _json(500, {"error": "internal error; see the log"})
        head = (
            f"HTTP/1.1 {response.status} {_REASONS.get(response.status, '')}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in response.headers) +
            "Connection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode() + response.body)
            await writer.drain()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader) -> _Response:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            return _json(413, {"error": "headers too large"})
        if len(raw) > MAX_HEADER_BYTES:
            return _json(413, {"error": "headers too large"})
        lines = raw.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            return _json(400, {"error": "malformed request line"})
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            return _json(400, {"error": "bad Content-Length"})
        if length > MAX_BODY_BYTES or length < 0:
            return _json(413, {"error": f"body larger than {MAX_BODY_BYTES} bytes"})
        body = await reader.readexactly(length) if length else b""
        path = target.split("?", 1)[0]
        bearer_ok = self._authorised(headers.get("authorization", ""))
        if self.web is not None:
            answer = self.web.handle(method, target, headers, body, bearer_ok=bearer_ok)
            if answer == "allow":
                return self._route(method, path, body)
            if answer is not None:
                return _Response(answer.status, answer.body, answer.content_type, answer.headers)
        if path == "/healthz" and method == "GET":
            ok, doc = self.health()
            return _json(200 if ok else 503, doc)
        if not bearer_ok:
            return _json(401, {"error": "missing or wrong bearer token; read it from the "
                                        "token file in the state directory"})
        return self._route(method, path, body)

    def _authorised(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(value.strip().encode(), self._token)

    def _route(self, method: str, path: str, body: bytes) -> _Response:
        if path == "/metrics":
            if method != "GET":
                return _json(405, {"error": "use GET"})
            return _Response(200, self.metrics.render().encode(),
                             "text/plain; version=0.0.4; charset=utf-8")
        if path == "/overrides":
            if method == "GET":
                return _json(200, {"overrides": [o.as_dict() for o in self.overrides.all()]})
            if method == "POST":
                return self._add(body)
            if method == "DELETE":
                return self._clear(None)
            return _json(405, {"error": "use GET, POST or DELETE"})
        if path.startswith("/overrides/"):
            if method != "DELETE":
                return _json(405, {"error": "use DELETE"})
            return self._clear(unquote(path[len("/overrides/"):]))
        return _json(404, {"error": f"no endpoint {path}"})

    def _add(self, body: bytes) -> _Response:
        try:
            data = json.loads(body or b"null")
        except (ValueError, RecursionError):
            # Malformed, not UTF-8, nested too deep, or an integer too long to convert.
            return _json(400, {"error": "the body is not valid JSON"})
        now = self.clock.now()
        try:
            override = parse_override_request(data, now)
        except OverrideError as exc:
            return _json(400, {"error": str(exc)})
        self.overrides.add(override)
        self.audit.write("override_set", now, override=override.as_dict())
        log.info("override %s set: %s until %s", override.name, override.action.kind.value,
                 override.until.isoformat())
        self.on_change()
        return _json(201, {"override": override.as_dict()})

    def _clear(self, name: str | None) -> _Response:
        removed = self.overrides.clear(name)
        now = self.clock.now()
        self.audit.write("override_cleared", now, name=name, removed=removed)
        if name is not None and not removed:
            return _json(404, {"error": f"no override named {name!r}", "removed": 0})
        self.on_change()
        return _json(200, {"removed": removed})


def _host_for_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host
