"""Where the commands print: the program's own stdout, kept apart from everything else.

While a command runs, :func:`program_stdout` points file descriptor 1 and ``sys.stdout`` at
stderr and hands the commands a private copy of the real stdout (:func:`stdout`). Whatever a
library prints, from Python or from C, whatever its version, then lands on stderr, and stdout
carries only what gridpilot itself writes: ``--json`` output stays JSON.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from gridpilot.stdio import FD_LOCK, STDERR_FD, STDOUT_FD, fd_redirected

__all__ = ["program_stdout", "stdout"]

_program_out: TextIO | None = None


def stdout() -> TextIO:
    """The stream for the command's own output: the real stdout, also while a command runs."""
    if _program_out is not None:
        return _program_out
    return sys.stdout if sys.stdout is not None else _null_stream()


def _null_stream() -> TextIO:
    return open(os.devnull, "w", encoding="utf-8")


def _fd_of(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _private_copy(stream: TextIO) -> TextIO | None:
    """A new stream on a duplicate of fd 1 with ``stream``'s text settings, or ``None`` when
    ``stream`` does not write to fd 1 (a test's capture buffer), and can be used as it is."""
    if _fd_of(stream) != STDOUT_FD:
        return None
    try:
        fd = os.dup(STDOUT_FD)
    except OSError:
        return None
    return open(
        fd, "w", buffering=1 if getattr(stream, "line_buffering", False) else -1,
        encoding=getattr(stream, "encoding", None) or "utf-8",
        errors=getattr(stream, "errors", None) or "strict",
    )


@contextlib.contextmanager
def program_stdout() -> Iterator[TextIO]:
    """Run a command with fd 1 and ``sys.stdout`` on stderr; yield the program's stdout."""
    global _program_out
    original = sys.stdout
    with FD_LOCK:
        if original is not None:
            with contextlib.suppress(OSError, ValueError):
                original.flush()
        copy = _private_copy(original) if original is not None else None
        out: TextIO = copy or (original if original is not None else _null_stream())
        previous, _program_out = _program_out, out
    try:
        with fd_redirected(STDERR_FD, STDOUT_FD):
            sys.stdout = sys.stderr
            try:
                yield out
            finally:
                sys.stdout = original
                # Flushed while fd 1 is still redirected: a reader that went away must not
                # fail the restore; the caller has seen that error already, or does not care.
                with contextlib.suppress(OSError, ValueError):
                    out.flush()
    finally:
        with FD_LOCK:
            _program_out = previous
        if copy is not None:
            with contextlib.suppress(OSError, ValueError):
                copy.close()
