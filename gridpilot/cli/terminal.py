"""The rich console the commands print their tables with."""

from __future__ import annotations

from rich.console import Console

__all__ = ["StdoutConsole"]


class StdoutConsole(Console):
    """A console on stdout whose closed reader (``| head``) ends the command the way a plain
    ``print`` does: :func:`gridpilot.cli.main` turns the error into a quiet exit 141. Rich's
    own answer is a bare exit 1, which would read as "the input is invalid"."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError
