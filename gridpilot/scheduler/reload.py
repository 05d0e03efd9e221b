"""Hot reload: notice when the policy file changes, validate the new version, swap it in whole.

An invalid edit keeps the running policy; the error (with its file:line) is reported once per
version of the file, not on every tick.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridpilot.errors import GridpilotError, PolicyError

__all__ = ["PolicyWatcher", "ReloadResult"]


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """``policy`` is set when a new version was swapped in; ``error`` when it was refused."""

    policy: Any = None
    error: str = ""
    issues: tuple[dict[str, object], ...] = ()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class PolicyWatcher:
    """Watches one policy file. ``loader`` is ``load_policy`` (injected for tests)."""

    def __init__(self, path: Path, loader: Callable[[Path], Any]) -> None:
        self.path = Path(path)
        self.loader = loader
        self._stat: tuple[int, int] | None = None
        self._digest = ""
        self._remember()

    def _remember(self) -> None:
        try:
            st = self.path.stat()
            self._stat = (st.st_mtime_ns, st.st_size)
            self._digest = _digest(self.path)
        except OSError:
            self._stat = None

    async def check(self) -> ReloadResult | None:
        """``None`` when the file is unchanged (or its change was already reported)."""
        try:
            st = self.path.stat()
        except OSError as exc:
            if self._stat is None:
                return None
            self._stat = None
            return ReloadResult(error=f"{self.path}: cannot read the policy file ({exc}); "
                                      "keeping the running policy")
        sig = (st.st_mtime_ns, st.st_size)
        if sig == self._stat:
            return None
        self._stat = sig
        try:
            digest = await asyncio.to_thread(_digest, self.path)
        except OSError as exc:
            return ReloadResult(error=f"{self.path}: cannot read the policy file ({exc}); "
                                      "keeping the running policy")
        if digest == self._digest:
            return None
        self._digest = digest
        try:
            policy = await asyncio.to_thread(self.loader, self.path)
        except PolicyError as exc:
            return ReloadResult(error=str(exc), issues=tuple(i.as_dict() for i in exc.issues))
        except GridpilotError as exc:
            return ReloadResult(error=f"{self.path}: {exc}")
        return ReloadResult(policy=policy)
