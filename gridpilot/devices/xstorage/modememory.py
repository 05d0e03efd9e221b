"""The ids of the mode records gridpilot created on a unit, kept across restarts.

The unit reports every dashboard or API command alike as a MANUAL mode; only the record id
tells gridpilot's own from a person's. Without this file, a restart (or a hot reload that
recreates the adapter) would see gridpilot's running mode as a person's override and stand
back until it lapses.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

__all__ = ["ModeMemory"]

log = logging.getLogger("gridpilot.devices.xstorage")


class ModeMemory:
    """An ordered set of mode record ids, newest last, at most ``keep`` of them; persisted to
    ``path`` (a small JSON list) when one is given."""

    def __init__(self, path: Path | None = None, *, keep: int = 32) -> None:
        self.path = path
        self.keep = keep
        self._ids: list[str] = []
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if isinstance(data, list):
                    self._ids = [i for i in data if isinstance(i, str) and i][-keep:]
            except (OSError, ValueError) as exc:
                log.warning("cannot read %s (%s); starting without remembered modes", path, exc)

    def __contains__(self, item: object) -> bool:
        return item in self._ids

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, record_id: str) -> None:
        if not record_id or record_id in self._ids:
            # An empty id would match every record that lacks one.
            return
        self._ids = [*self._ids, record_id][-self.keep:]
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._ids), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            # Losing the memory only costs a wrong "person" reading after a restart.
            log.warning("cannot write %s (%s)", self.path, exc)
