"""What the scheduler remembers across restarts: the last command and its dwell timer, when the
device's copy of it expires, and the month's import peak.

Written atomically (temporary file, fsync, rename) so a crash never leaves half a file. A file that
cannot be read is reported and replaced by a fresh memory: losing dwell timers is safe, refusing to
start is not.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from gridpilot.engine.commands import Command

__all__ = [
    "MemoryFile",
    "RunMemory",
    "atomic_write_json",
    "ensure_state_dir",
    "load_memory",
    "save_memory",
]

STATE_FILE = "state.json"
STATE_DIR_MODE = 0o700
"""The state directory holds the control API's token, the audit log and what was sent: only its
owner may list or read it."""
_OWN_FILES = (STATE_FILE, "audit.jsonl", "run.lock", "overrides.json", "control.json",
              "control.token")


def ensure_state_dir(path: Path) -> str | None:
    """Create the state directory ``path`` with mode 0700 (parents as the umask says).

    An existing directory that others can read is tightened to 0700 when it is evidently
    gridpilot's (owned by this user, and empty or holding gridpilot's files); otherwise it is
    left alone. Returns a warning to show in either case, ``None`` when all is well.
    """
    p = Path(path)
    p.mkdir(mode=STATE_DIR_MODE, parents=True, exist_ok=True)
    st = p.stat()
    mode = stat.S_IMODE(st.st_mode)
    if not mode & 0o077:
        return None
    ours = st.st_uid == os.getuid() and (
        not any(p.iterdir()) or any((p / name).exists() for name in _OWN_FILES)
    )
    if ours:
        try:
            os.chmod(p, mode & ~0o077)
        except OSError:
            pass
        else:
            return (f"{p}: other users could read this state directory (mode {mode:o}); "
                    f"tightened to {mode & ~0o077:o}")
    # Perhaps a shared folder named on purpose (run.state_dir: "."): say so, change nothing.
    return (f"{p}: other users can read this state directory (mode {mode:o}), which holds the "
            f"control API's token and the audit log; run: chmod 700 {p}, or give "
            "run.state_dir a directory of its own")


def atomic_write_json(path: Path, data: Any, *, mode: int = 0o600) -> None:
    """Write ``data`` as JSON to ``path`` so readers see the old or the new file, never a mix."""
    path.parent.mkdir(mode=STATE_DIR_MODE, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class RunMemory:
    """The scheduler's memory between ticks and restarts."""

    active_command: Command | None = None
    """The command gridpilot last decided (anti-flap input of ``decide``)."""
    active_since: datetime | None = None
    """When ``active_command``'s kind started (the dwell timer)."""
    sent_command: Command | None = None
    """The command the device last confirmed from gridpilot."""
    sent_expires: datetime | None = None
    """When the device drops ``sent_command`` unless it is refreshed."""
    active_layer: str | None = None
    """The layer of the decision that produced ``active_command``."""
    peak_month: str = ""
    """``YYYY-MM`` (site time) that ``month_peak_import_w`` belongs to."""
    month_peak_import_w: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        active, sent = self.active_command, self.sent_command
        return {
            "active_command": None if active is None else active.as_dict(),
            "active_since": _iso(self.active_since),
            "active_layer": self.active_layer,
            "sent_command": None if sent is None else sent.as_dict(),
            "sent_expires": _iso(self.sent_expires),
            "peak_month": self.peak_month,
            "month_peak_import_w": self.month_peak_import_w,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunMemory:
        def cmd(value: Any) -> Command | None:
            return None if not value else Command.from_dict(value)

        return cls(
            active_command=cmd(data.get("active_command")),
            active_since=_parse(data.get("active_since")),
            active_layer=data.get("active_layer") or None,
            sent_command=cmd(data.get("sent_command")),
            sent_expires=_parse(data.get("sent_expires")),
            peak_month=str(data.get("peak_month", "")),
            month_peak_import_w=float(data.get("month_peak_import_w", 0.0)),
        )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return parsed


def load_memory(directory: Path) -> tuple[RunMemory, str | None]:
    """The memory kept in ``directory`` and, if the file was unusable, why (it is then ignored)."""
    path = Path(directory) / STATE_FILE
    if not path.exists():
        return RunMemory(), None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return RunMemory.from_dict(data), None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return RunMemory(), f"{path}: unreadable, starting with no memory ({exc})"


def save_memory(directory: Path, memory: RunMemory) -> None:
    atomic_write_json(Path(directory) / STATE_FILE, memory.as_dict())


class MemoryFile:
    """The memory kept in a state directory, written back only when it changed: fsync and
    rename cost milliseconds on small boards, every tick."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.memory, self.load_error = load_memory(self.directory)
        self._saved: dict[str, Any] | None = None

    def save(self) -> None:
        data = self.memory.as_dict()
        if data != self._saved:
            save_memory(self.directory, self.memory)
            self._saved = data
