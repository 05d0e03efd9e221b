"""Which files a load read, recorded at the one place each kind of file is opened.

``gridpilot run`` must notice when any file its policy depends on changes (the policy itself, a
dynamic price file, the simulated battery's data, a secret file). A hand-kept list of such files
goes stale the day a new kind of file is added; recording them where they are read cannot.

    with recording_inputs() as read:
        policy = load_policy(path)
    # read: every file opened (or tried) while loading, in order, without repeats

Outside a ``recording_inputs()`` block :func:`note_input` does nothing, so readers call it
unconditionally. The record survives ``asyncio.to_thread`` (the context is copied, the list is
shared).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

__all__ = ["note_input", "recording_inputs"]

_recorders: ContextVar[tuple[list[Path], ...]] = ContextVar("gridpilot_input_recorders",
                                                            default=())


def note_input(path: str | Path) -> None:
    """Record that ``path`` is being read. Call it before opening, so a file that is missing
    now is still watched and its later creation noticed."""
    recorders = _recorders.get()
    if not recorders:
        return
    # Absolute but not resolved: a symlink swapped to a new target must still count as this path.
    p = Path(os.path.abspath(path))
    for found in recorders:
        if p not in found:
            found.append(p)


@contextmanager
def recording_inputs() -> Iterator[list[Path]]:
    """Collect the files read inside the block (nested blocks each get every file)."""
    found: list[Path] = []
    token = _recorders.set((*_recorders.get(), found))
    try:
        yield found
    finally:
        _recorders.reset(token)
