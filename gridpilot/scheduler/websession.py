"""Browser sessions for the dashboard: one-time login links, short-lived session cookies and
their CSRF tokens, and the Host check against DNS rebinding.

A login code is good once, for :data:`LOGIN_TTL_S`; the session it opens lasts
:data:`SESSION_TTL_S`. Only hashes of codes and session ids are kept, compared in constant time,
so neither a repr nor a memory dump of this object hands out a working cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from gridpilot.clock import Clock

__all__ = ["COOKIE", "LOGIN_TTL_S", "SESSION_TTL_S", "Session", "WebSessions", "loopback_host"]

COOKIE = "gridpilot_session"
LOGIN_TTL_S = 120.0
SESSION_TTL_S = 3600.0
MAX_SESSIONS = 16
"""Oldest sessions go first beyond this: a stream of logins cannot grow memory."""

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def loopback_host(host_header: str) -> bool:
    """Whether a Host header names this machine's loopback (any port). A page served under
    another name (a rebinding DNS name pointing at 127.0.0.1) is refused."""
    host = host_header.strip().lower()
    if host.startswith("["):
        name = host.split("]", 1)[0] + "]"
    else:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name in LOOPBACK_NAMES:
        return True
    try:
        # Any 127.x.y.z is this machine; a name that merely starts so (127.0.0.1.nip.io) is not.
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Session:
    digest: bytes
    csrf: str
    expires: datetime

    def __repr__(self) -> str:
        return f"Session(expires={self.expires.isoformat()})"


class WebSessions:
    """Login codes and sessions of one running scheduler (kept in memory: a restart logs out)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._codes: dict[bytes, datetime] = {}
        self._sessions: list[Session] = []

    def __repr__(self) -> str:
        return f"WebSessions(sessions={len(self._sessions)}, codes={len(self._codes)})"

    def _prune(self, now: datetime) -> None:
        self._codes = {d: t for d, t in self._codes.items() if t > now}
        self._sessions = [s for s in self._sessions if s.expires > now][-MAX_SESSIONS:]

    def new_login_code(self) -> str:
        now = self.clock.now()
        self._prune(now)
        code = secrets.token_urlsafe(32)
        self._codes[_digest(code)] = now + timedelta(seconds=LOGIN_TTL_S)
        return code

    def redeem(self, code: str) -> tuple[str, Session] | None:
        """The session id and session a valid, unused code opens; the code is spent."""
        now = self.clock.now()
        self._prune(now)
        digest = _digest(code)
        match = next((d for d in self._codes if hmac.compare_digest(d, digest)), None)
        if match is None:
            return None
        del self._codes[match]
        sid = secrets.token_urlsafe(32)
        session = Session(_digest(sid), secrets.token_urlsafe(24),
                          now + timedelta(seconds=SESSION_TTL_S))
        self._sessions.append(session)
        self._prune(now)
        return sid, session

    def find(self, sid: str) -> Session | None:
        now = self.clock.now()
        digest = _digest(sid)
        for s in self._sessions:
            if s.expires > now and hmac.compare_digest(s.digest, digest):
                return s
        return None

    def end(self, session: Session) -> None:
        self._sessions = [s for s in self._sessions if s is not session]
