"""The append-only audit log: one JSON object per line, rotated by size.

Every decision (with a summary of its trace), every command attempt, every device response and
every error of the live scheduler goes here, so an owner can reconstruct what gridpilot did and
why. Records are flushed line by line: a crash loses at most the line being written.

Files: ``audit.jsonl`` is the current one; ``audit.jsonl.1`` the newest rotated, up to
``audit.jsonl.<keep>``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from gridpilot.engine.decision import Decision
from gridpilot.engine.state import DeviceMode
from gridpilot.scheduler.device import describe_mode, mode_dict

__all__ = ["AUDIT_FILE", "AuditLog", "audit_files", "decision_summary", "read_audit"]

AUDIT_FILE = "audit.jsonl"


def decision_summary(decision: Decision, mode: DeviceMode | None = None) -> dict[str, Any]:
    """The trace in a size fit for a line per tick: the winner, the binding limits, notes and
    only the candidates that mattered (the winner and those outranked by it).

    A yielding decision's command only stands in for the device's mode (its powers are made
    up), so the record gives ``mode``, what the device reports it runs, instead.
    """
    if getattr(decision, "yielded", False):
        head: dict[str, Any] = {
            "command": None,
            "describe": f"yield to {describe_mode(mode)}" if mode is not None
            else "yield to the mode set on the device",
            "device_mode": mode_dict(mode),
        }
    else:
        head = {"command": decision.command.as_dict(), "describe": decision.command.describe()}
    return {
        **head,
        "winner": decision.winner,
        "layer": decision.layer,
        "reason": decision.reason,
        "limits": [h.as_dict() for h in decision.limits],
        "notes": list(decision.notes),
        "candidates": [
            {"source": c.source, "outcome": c.outcome, "reason": c.reason}
            for c in decision.candidates
            if c.outcome in ("won", "outranked", "held")
        ],
    }


def _default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


class AuditLog:
    """Appends records to ``<directory>/audit.jsonl`` and rotates it past ``max_bytes``."""

    def __init__(self, directory: Path, *, max_bytes: int = 10 * 1024 * 1024, keep: int = 5):
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.keep = keep
        self.path = self.directory / AUDIT_FILE
        self._fh: IO[str] | None = None
        self.records_written = 0

    def _open(self) -> IO[str]:
        if self._fh is None:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._fh = os.fdopen(fd, "a", encoding="utf-8")
        return self._fh

    def write(self, kind: str, time: datetime, **fields: Any) -> dict[str, Any]:
        """Append one record ``{"ts", "kind", **fields}`` and return it."""
        record: dict[str, Any] = {"ts": time.isoformat(), "kind": kind, **fields}
        try:
            line = json.dumps(record, default=_default, separators=(",", ":"), allow_nan=False)
        except ValueError:
            # A NaN or infinity (a broken reading, a refused command) is evidence worth keeping:
            # written as text, since JSON has no such numbers.
            record = _finite(json.loads(json.dumps(record, default=_default)))
            line = json.dumps(record, separators=(",", ":"), allow_nan=False)
        fh = self._open()
        fh.write(line + "\n")
        fh.flush()
        self.records_written += 1
        if fh.tell() >= self.max_bytes:
            self._rotate()
        return record

    def _rotate(self) -> None:
        self.close()
        oldest = self.directory / f"{AUDIT_FILE}.{self.keep}"
        if oldest.exists():
            oldest.unlink()
        for n in range(self.keep - 1, 0, -1):
            src = self.directory / f"{AUDIT_FILE}.{n}"
            if src.exists():
                src.rename(self.directory / f"{AUDIT_FILE}.{n + 1}")
        if self.path.exists():
            self.path.rename(self.directory / f"{AUDIT_FILE}.1")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def audit_files(directory: Path) -> list[Path]:
    """The audit files of ``directory``, oldest first."""
    rotated = []
    for p in Path(directory).glob(f"{AUDIT_FILE}.*"):
        suffix = p.name[len(AUDIT_FILE) + 1 :]
        if suffix.isdigit():
            rotated.append((int(suffix), p))
    files = [p for _, p in sorted(rotated, reverse=True)]
    current = Path(directory) / AUDIT_FILE
    if current.exists():
        files.append(current)
    return files


def read_audit(
    directory: Path, *, since: datetime | None = None, kinds: Mapping[str, bool] | None = None
) -> Iterator[dict[str, Any]]:
    """The records of the audit log in ``directory``, oldest first.

    A line that is not valid JSON (a crash mid-write), or not a record gridpilot writes (no
    ``ts`` with a UTC offset, no ``kind``), is yielded as ``{"kind": "corrupt", ...}`` naming
    the file, the line and what is wrong with it rather than stopping the read.
    """
    for path in audit_files(directory):
        with path.open(encoding="utf-8", errors="replace") as fh:
            for lineno, line in enumerate(fh, start=1):
                text = line.strip()
                if not text:
                    continue
                try:
                    record = json.loads(text)
                except json.JSONDecodeError:
                    yield {"ts": "", "kind": "corrupt", "file": str(path), "line": lineno,
                           "why": "not valid JSON"}
                    continue
                ts, why = _record_time(record)
                if ts is None:
                    yield {"ts": "", "kind": "corrupt", "file": str(path), "line": lineno,
                           "why": why}
                    continue
                if since is not None and ts < since:
                    continue
                if kinds is not None and not kinds.get(str(record.get("kind")), False):
                    continue
                yield record


def _record_time(record: Any) -> tuple[datetime | None, str]:
    """The time of an audit record, or None and why the line is not one."""
    if not isinstance(record, dict):
        return None, f"a JSON {type(record).__name__}, not an audit record"
    raw = record.get("ts")
    if not isinstance(raw, str):
        return None, "no 'ts' time text"
    if not isinstance(record.get("kind"), str):
        return None, "no 'kind' text"
    try:
        ts = datetime.fromisoformat(raw)
    except ValueError:
        return None, f"'ts' {raw[:40]!r} is not an ISO 8601 time"
    if ts.utcoffset() is None:
        return None, f"'ts' {raw[:40]!r} has no UTC offset"
    return ts, ""
