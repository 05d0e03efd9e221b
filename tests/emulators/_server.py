"""A small threaded HTTP(S) server on 127.0.0.1 with fault injection, shared by the emulators.

Each emulator subclasses :class:`EmulatorBase` and implements ``route(request) -> Reply``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

__all__ = ["EmulatorBase", "Fault", "Faults", "RecordedRequest", "Reply"]


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    time: float
    status: int = 0
    """The status answered (0 when a fault cut the connection)."""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Reply:
        return cls(status, json.dumps(data).encode())

    @classmethod
    def text(cls, text: str, status: int) -> Reply:
        return cls(status, text.encode(), "text/plain; charset=utf-8")


@dataclass
class Fault:
    """One injected failure. ``kind``: ``timeout`` (answer after ``delay_s``), ``status``
    (answer ``status`` with a JSON error), ``reset`` (TCP reset, no answer), ``malformed``
    (200 with broken JSON). Applies to the next ``count`` matching requests."""

    kind: str
    path: str | None = None
    method: str | None = None
    count: int = 1
    status: int = 503
    delay_s: float = 2.0

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or path.startswith(self.path)
        )


class Faults:
    """Fault injection hooks: queue failures for upcoming requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Fault] = []
        self.fired: list[tuple[str, str, str]] = []

    def inject(self, kind: str, *, path: str | None = None, method: str | None = None,
               count: int = 1, status: int = 503, delay_s: float = 2.0) -> None:
        with self._lock:
            self._queue.append(Fault(kind, path, method, count, status, delay_s))

    def timeout(self, **kw: Any) -> None:
        self.inject("timeout", **kw)

    def server_error(self, status: int = 503, **kw: Any) -> None:
        self.inject("status", status=status, **kw)

    def reset(self, **kw: Any) -> None:
        self.inject("reset", **kw)

    def malformed_json(self, **kw: Any) -> None:
        self.inject("malformed", **kw)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._queue:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._queue.remove(fault)
                    self.fired.append((fault.kind, method, path))
                    return fault
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle + delayed ACK add 40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        emulator = self.server.emulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        req = RecordedRequest(
            self.command, split.path, query, {k.lower(): v for k, v in self.headers.items()},
            body, time.time(),
        )
        with emulator.lock:
            emulator.requests.append(req)
        fault = emulator.faults.take(self.command, split.path)
        if fault is not None and fault.kind == "reset":
            self._reset()
            return
        if fault is not None and fault.kind == "timeout":
            time.sleep(fault.delay_s)
        if fault is not None and fault.kind == "status":
            reply = Reply.json({"error": {"errCode": "internal", "description": "injected"}},
                               fault.status)
        elif fault is not None and fault.kind == "malformed":
            reply = Reply(200, b'{"successful": true, "result": {"energyFlow": ')
        else:
            with emulator.lock:
                reply = emulator.route(req)
        req.status = reply.status
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for k, v in reply.headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:
            self.close_connection = True

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send a RST instead of a FIN: a real connection reset.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        with contextlib.suppress(OSError):
            self.connection.close()
        self.close_connection = True

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: EmulatorBase

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # broken client connections are part of the tests


class EmulatorBase:
    """Start with ``with Emulator() as emu:`` (or ``start()``/``stop()``).

    ``url`` is the base URL, ``ca_path`` a PEM file of the CA that signed the server's
    certificate (for ``ca_file``), ``fingerprint_sha256`` the server certificate's pin,
    ``requests`` every request received, ``faults`` the fault injection hooks.
    """

    tls: bool = True
    base_path: str = ""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.requests: list[RecordedRequest] = []
        self.faults = Faults()
        self.clock: Callable[[], float] = time.time
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="gridpilot-emulator-")
        self.ca = trustme.CA()
        self._leaf = self.ca.issue_cert("127.0.0.1", "localhost")
        self.ca_path = Path(self._tmp.name) / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        leaf_pem = self._leaf.cert_chain_pems[0].bytes().decode()
        self.fingerprint_sha256 = hashlib.sha256(ssl.PEM_cert_to_DER_cert(leaf_pem)).hexdigest()

    def route(self, req: RecordedRequest) -> Reply:
        raise NotImplementedError

    def start(self) -> EmulatorBase:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.emulator = self
        if self.tls:
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._leaf.configure_cert(ctx)
            server.socket = ctx.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._tmp.cleanup()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "start the emulator first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}{self.base_path}"

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]
