"""The rich console of the commands that draw tables and progress (``simulate``, ``sweep``).

Kept apart from :mod:`gridpilot.cli.terminal` so the commands that print plain lines never pay for
importing rich.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from gridpilot.cli.terminal import stdout

__all__ = ["StdoutConsole"]


class StdoutConsole(Console):
    """A rich console on the program's stdout whose closed reader (``| head``) ends the command
    the way a plain ``print`` does: :func:`gridpilot.cli.main` turns the error into a quiet exit
    141. Rich's own answer is a bare exit 1, which would read as "the input is invalid"."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("file", stdout())
        super().__init__(**kwargs)

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError
