"""Checks for the files and directories a command writes.

They run before the work starts, so a backtest of a year is not lost to a typo in ``--out``, and
every failure reads ``PATH: what is wrong (what to do)``.
"""

from __future__ import annotations

import os
from pathlib import Path

from gridpilot.errors import DataError

__all__ = ["prepare_output_dir", "prepare_output_file", "write_failed"]


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).rstrip(".").lower()


def _cannot(what: str, exc: OSError, advice: str) -> DataError:
    """``PATH: cannot ...: reason (what to do)``, the form every failure here takes."""
    return DataError(f"{what}: {_reason(exc)} ({advice})")


def _mkdir(d: Path, what: str, advice: str) -> None:
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot(what, exc, advice) from None


def write_failed(path: str | Path, exc: OSError, flag: str) -> DataError:
    """The error for a write that failed after the checks (a full disk, a vanished directory)."""
    return _cannot(f"{path}: cannot write", exc, f"choose another {flag}")


def prepare_output_dir(path: str | Path, flag: str, *, keep: bool = True) -> Path:
    """Check that the directory ``path`` exists or can be created, and is writable.

    With ``keep`` the directory is left created; without, the directories this check created
    are removed again, so a command that fails before writing leaves nothing behind.
    """
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise DataError(
            f"{p}: exists and is not a directory (give {flag} a new or existing directory)"
        )
    missing = [d for d in (p, *p.parents) if not d.exists()]
    _mkdir(p, f"{p}: cannot create this directory", f"give {flag} a directory you can write to")
    writable = os.access(p, os.W_OK | os.X_OK)
    if not keep:
        for d in missing:  # deepest first
            d.rmdir()
    if not writable:
        raise DataError(f"{p}: this directory is not writable (give {flag} one you can write to)")
    return p


def prepare_output_file(path: str | Path, flag: str) -> Path:
    """Check that the file ``path`` can be written (creating its parent directories); an
    existing file is kept untouched until the command writes it."""
    p = Path(path)
    if p.is_dir():
        raise DataError(f"{p}: is a directory (give {flag} a file name)")
    parent = p.parent
    if parent.exists() and not parent.is_dir():
        raise DataError(f"{parent}: is not a directory (give {flag} a path inside a directory)")
    _mkdir(parent, f"{p}: cannot create its directory {parent}",
           f"give {flag} a path you can write to")
    if p.exists():
        if not os.access(p, os.W_OK):
            raise DataError(f"{p}: this file is not writable (give {flag} one you can write to)")
        return p
    # Creating the file is the only test that works everywhere (read-only mounts, /proc, ACLs);
    # it is removed again so a failed run leaves nothing behind.
    try:
        with p.open("x"):
            pass
    except OSError as exc:
        raise _cannot(f"{p}: cannot create this file", exc,
                      f"give {flag} a path you can write to") from None
    p.unlink()
    return p
