"""Questions the status API asks of the audit log: recent decisions (searchable), the last 24 h
of readings, the last error. Only the newest part of the log is read, so an answer stays quick
however long the scheduler has run."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gridpilot.scheduler.audit import audit_files

__all__ = ["actuals", "is_device_error", "last_error", "recent_records", "search_decisions"]

TAIL_BYTES = 4 * 1024 * 1024
"""How much of the newest audit files one answer reads, at most."""


def recent_records(directory: Path, *, budget_bytes: int = TAIL_BYTES) -> list[dict[str, Any]]:
    """The newest records of the audit log, oldest first, reading at most ``budget_bytes``."""
    chunks: list[list[str]] = []
    left = budget_bytes
    for path in reversed(audit_files(directory)):
        if left <= 0:
            break
        try:
            with path.open("rb") as fh:
                size = fh.seek(0, 2)
                start = max(0, size - left)
                fh.seek(start)
                data = fh.read()
        except OSError:
            continue
        left -= len(data)
        lines = data.decode("utf-8", errors="replace").splitlines()
        if start > 0 and lines:
            lines = lines[1:]  # began mid-line
        chunks.append(lines)
    out: list[dict[str, Any]] = []
    for lines in reversed(chunks):
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash: `gridpilot log` reports those
            if isinstance(record, dict) and isinstance(record.get("ts"), str):
                out.append(record)
    return out


def _time(record: dict[str, Any]) -> datetime | None:
    try:
        ts = datetime.fromisoformat(str(record.get("ts")))
    except ValueError:
        return None
    return ts if ts.utcoffset() is not None else None


def search_decisions(records: list[dict[str, Any]], query: str = "", *,
                     limit: int = 50) -> list[dict[str, Any]]:
    """Tick records, newest first, whose text holds every word of ``query`` (any case)."""
    words = [w.lower() for w in query.split()]
    if limit <= 0:
        return []
    found: list[dict[str, Any]] = []
    for record in reversed(records):
        if record.get("kind") != "tick":
            continue
        if words:
            text = json.dumps(record, separators=(",", ":")).lower()
            if not all(w in text for w in words):
                continue
        found.append(record)
        if len(found) >= limit:
            break
    return found


def actuals(records: list[dict[str, Any]], now: datetime, *,
            hours: float = 24.0) -> list[dict[str, Any]]:
    """What the site did, tick by tick, over the last ``hours``: readings and the command."""
    since = now - timedelta(hours=hours)
    out: list[dict[str, Any]] = []
    for record in records:
        if record.get("kind") != "tick" or not isinstance(record.get("state"), dict):
            continue
        ts = _time(record)
        if ts is None or ts < since:
            continue
        state = record["state"]
        decision = record.get("decision") or {}
        command = decision.get("command") or {}
        out.append({
            "ts": record["ts"], "status": record.get("status"),
            **{k: state.get(k) for k in ("soc_pct", "load_w", "pv_w", "grid_w", "battery_w")},
            "kind": command.get("kind") if isinstance(command, dict) else None,
        })
    return out


DEVICE_STAGES = frozenset({"read_state", "adapter", "apply", "read-back"})
DEVICE_KINDS = frozenset({"command_failed", "release_failed"})


def is_device_error(record: dict[str, Any]) -> bool:
    """A failed read of the device, or a command it did not take."""
    return record.get("kind") in DEVICE_KINDS or record.get("stage") in DEVICE_STAGES


def last_error(records: list[dict[str, Any]], *, device_only: bool = False,
               ) -> dict[str, Any] | None:
    """The newest record that reports an error (a failed read or send, a tick that failed, a
    price or forecast refresh that did not work); only the device's with ``device_only``."""
    for record in reversed(records):
        if record.get("error") and (not device_only or is_device_error(record)):
            return {"ts": record.get("ts"), "kind": record.get("kind"),
                    "error_kind": record.get("error_kind") or record.get("stage"),
                    "error": record.get("error")}
    return None
