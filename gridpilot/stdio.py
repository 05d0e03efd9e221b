"""File descriptor 1, shared with the C libraries gridpilot loads.

A library can write to the process's stdout from C (HiGHS prints a version banner when a solver is
built), below anything ``sys.stdout`` controls. Output that must stay machine-readable (``--json``)
is only safe if fd 1 itself is pointed elsewhere while such code runs. Every change of fd 1 takes
one process-wide lock, so two threads cannot restore each other's redirections in the wrong order.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import Iterator

__all__ = ["FD_LOCK", "STDERR_FD", "STDOUT_FD", "fd_redirected", "flush_c_stdio"]

STDOUT_FD = 1
STDERR_FD = 2

FD_LOCK = threading.RLock()
"""Held while fd 1 is swapped; reentrant, so a solver built inside a command can take it too."""


def flush_c_stdio() -> None:
    """Flush C's stdio buffers, so bytes a library has buffered land where fd 1 points *now*,
    not wherever it points when the process exits."""
    with contextlib.suppress(OSError, AttributeError, TypeError):  # no C library to reach
        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def fd_redirected(target_fd: int | None, fd: int = STDOUT_FD) -> Iterator[bool]:
    """Point ``fd`` at ``target_fd`` (``None``: the null device) inside the block.

    Yields whether the redirection took place: with ``fd`` or ``target_fd`` closed there is
    nothing to redirect, and the block runs unchanged.
    """
    with FD_LOCK:
        if sys.stdout is not None:
            with contextlib.suppress(OSError, ValueError):
                sys.stdout.flush()
        flush_c_stdio()
        try:
            saved = os.dup(fd)
        except OSError:
            saved = -1
        opened = -1
        try:
            if target_fd is None:
                opened = target_fd = os.open(os.devnull, os.O_WRONLY)
            if saved >= 0:
                os.dup2(target_fd, fd)
        except OSError:
            if saved >= 0:
                os.close(saved)
            saved = -1
        finally:
            if opened >= 0:
                os.close(opened)
    try:
        yield saved >= 0
    finally:
        if saved >= 0:
            with FD_LOCK:
                flush_c_stdio()
                os.dup2(saved, fd)
                os.close(saved)
