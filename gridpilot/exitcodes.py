"""The exit statuses of every ``gridpilot`` command, in one place.

Scripts and CI jobs branch on these numbers, so they never change meaning: 1 is always "the
input is invalid or a check failed", never a crash of gridpilot itself going unnoticed as 0.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    OK = 0
    INVALID = 1
    """The input is invalid, a check or test failed, or gridpilot hit an internal error."""
    USAGE = 2
    """A malformed command line (argparse's own status for it)."""
    INTERRUPTED = 130
    """128 + SIGINT: Ctrl-C."""
    BROKEN_PIPE = 141
    """128 + SIGPIPE: what a shell reports for a command whose reader closed the pipe."""
