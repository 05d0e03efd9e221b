"""Hot reload: notice when the policy or any file it read changes, validate the new version, swap
it in whole.

The files watched are the ones the last load actually read (:mod:`gridpilot.inputs` records
them): the policy file, its dynamic price files, anything else compiling it opened. New rows in a
price file therefore reload the policy exactly as an edit of the policy would. A file counts as
changed when its size or modification time moved *and* its content hash differs, so touching a
file is not a change.

An invalid edit keeps the running policy; the error (with its file:line) is reported once per
version of the files, not on every tick. Files the device adapter read at start (the simulated
battery's data, a secret file) are watched too, but the adapter is built once: a change to one
of those is reported as needing a restart.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from gridpilot.errors import GridpilotError, PolicyError
from gridpilot.inputs import recording_inputs
from gridpilot.rules.policy import Policy
from gridpilot.scheduler.audit import AuditLog
from gridpilot.scheduler.metrics import Metrics

__all__ = ["FileWatch", "PolicyWatcher", "ReloadResult", "apply_reload"]

log = logging.getLogger("gridpilot.scheduler")

RESTART_SECTIONS = ("device", "run")
"""Policy sections read once at start (the adapter, the audit log, the control API)."""


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """``policy`` is set when a new version was swapped in; ``error`` when it was refused.

    ``changed`` names the watched files that changed; ``restart_needed`` the files read at
    start (by the device adapter) that changed, which only a restart applies.
    """

    policy: Policy | None = None
    error: str = ""
    issues: tuple[dict[str, object], ...] = ()
    changed: tuple[Path, ...] = ()
    restart_needed: tuple[Path, ...] = ()


Signature = tuple[int, int] | None
"""``(mtime_ns, size)`` of a file, ``None`` while it is missing or unreadable."""


def _signature(path: Path) -> Signature:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _digest(path: Path) -> str | None:
    try:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    except OSError:
        return None


class FileWatch:
    """The last seen signature and content hash of a set of files."""

    def __init__(self, paths: Iterable[Path] = ()) -> None:
        self._seen: dict[Path, tuple[Signature, str | None]] = {}
        self.watch(paths)

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(self._seen)

    def watch(self, paths: Iterable[Path]) -> None:
        """Watch exactly ``paths`` from now on; files already watched keep what was seen of
        them (a change not yet reported stays a change)."""
        seen: dict[Path, tuple[Signature, str | None]] = {}
        for p in paths:
            path = Path(p)
            if path in seen:
                continue
            seen[path] = self._seen.get(path) or (_signature(path), _digest(path))
        self._seen = seen

    async def changed(self) -> tuple[Path, ...]:
        """The files whose content changed since the last call (or since watched)."""
        out: list[Path] = []
        for path, (sig, digest) in self._seen.items():
            now = _signature(path)
            if now == sig:
                continue
            new_digest = None if now is None else await asyncio.to_thread(_digest, path)
            self._seen[path] = (now, new_digest)
            if new_digest != digest:
                out.append(path)
        return tuple(out)


class PolicyWatcher:
    """Watches a policy and the files it read. ``loader`` is ``load_policy`` (injected for
    tests); ``inputs`` are the files the running policy was loaded from (``Policy.inputs``);
    ``restart_inputs`` those the device adapter read when it was built."""

    def __init__(
        self,
        path: Path,
        loader: Callable[[Path], Policy],
        *,
        inputs: Iterable[Path] = (),
        restart_inputs: Iterable[Path] = (),
    ) -> None:
        self.path = Path(path)
        self.loader = loader
        self.files = FileWatch([self.path, *inputs])
        self.restart_files = FileWatch(restart_inputs)

    async def check(self) -> ReloadResult | None:
        """``None`` when nothing changed (or its change was already reported)."""
        restart = await self.restart_files.changed()
        changed = await self.files.changed()
        if not changed:
            return ReloadResult(restart_needed=restart) if restart else None
        with recording_inputs() as read:
            try:
                policy = await asyncio.to_thread(self.loader, self.path)
            except PolicyError as exc:
                result = ReloadResult(error=str(exc), issues=tuple(i.as_dict() for i in exc.issues),
                                      changed=changed, restart_needed=restart)
            except GridpilotError as exc:
                result = ReloadResult(error=f"{self.path}: {exc}", changed=changed,
                                      restart_needed=restart)
            else:
                result = ReloadResult(policy=policy, changed=changed, restart_needed=restart)
        # Whatever this attempt read is what a later change must be noticed in: a price file
        # that was missing now is watched until it appears.
        self.files.watch([self.path, *read, *(result.policy.inputs if result.policy else ())])
        return result


def apply_reload(result: ReloadResult, running: Policy, path: Path, now: datetime, *,
                 audit: AuditLog, metrics: Metrics) -> Policy:
    """The policy to run after ``result``: the new one when it is valid, else ``running``.
    Either way, what happened is logged and audited."""
    if result.restart_needed:
        files = [str(p) for p in result.restart_needed]
        log.warning("%s changed; the device read it at start: restart gridpilot run to apply it",
                    ", ".join(files))
        audit.write("restart_needed", now, files=files,
                    why="the device adapter read these files at start")
    changed = [str(p) for p in result.changed]
    if not changed:
        return running
    if result.policy is None:
        metrics.error("policy_invalid")
        log.error("the edited policy is invalid (changed: %s); keeping the running one:\n%s",
                  ", ".join(changed), result.error)
        audit.write("policy_invalid", now, path=str(path), error=result.error,
                    issues=list(result.issues), changed=changed)
        return running
    fixed = [name for name in RESTART_SECTIONS
             if getattr(running.doc, name) != getattr(result.policy.doc, name)]
    if fixed:
        log.warning("the %s section changed; restart gridpilot run to apply it",
                    " and ".join(fixed))
    metrics.policy_reloads += 1
    log.info("policy reloaded from %s (changed: %s)", path, ", ".join(changed))
    audit.write("policy_reloaded", now, path=str(path), changed=changed)
    return result.policy
