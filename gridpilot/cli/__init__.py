"""The ``gridpilot`` command line.

Exit codes everywhere: 0 ok, 1 the input is invalid or a check failed, 2 usage error (a
malformed flag value included), 141 the reader of stdout went away (``| head``).
Each subcommand lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``handler`` to a function ``(args) -> int``. A command prints its own output to
:func:`gridpilot.cli.terminal.stdout` (rich: ``StdoutConsole``); while it runs, fd 1 and
``sys.stdout`` lead to stderr, so nothing a library prints can get into that output.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import select
import sys
import traceback
from collections.abc import Sequence
from typing import TextIO

from gridpilot import __version__
from gridpilot.cli.terminal import program_stdout
from gridpilot.errors import GridpilotError
from gridpilot.stdio import STDOUT_FD

__all__ = ["DEBUG_ENV", "EXIT_BROKEN_PIPE", "EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a command whose reader closed the pipe."""

DEBUG_ENV = "GRIDPILOT_DEBUG"
"""Set to 1 to see the traceback of an internal error."""

# Subcommand modules, in the order they are listed in --help.
_COMMAND_MODULES = (
    "gridpilot.cli.check",
    "gridpilot.cli.schema",
    "gridpilot.cli.test",
    "gridpilot.cli.decide",
    "gridpilot.cli.run",
    "gridpilot.cli.override",
    "gridpilot.cli.log",
    "gridpilot.cli.device",
    "gridpilot.cli.simulate",
    "gridpilot.cli.sweep",
    "gridpilot.cli.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gridpilot",
        description="Run home and small-site batteries by policy.",
    )
    parser.add_argument("--version", action="version", version=f"gridpilot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in _COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Everything runs with fd 1 and sys.stdout on stderr; only ``out`` reaches the real stdout.
    with program_stdout() as out:
        code = _main(argv, out)
    if code == EXIT_BROKEN_PIPE:
        _silence(STDOUT_FD)  # so Python's final flush at exit does not complain
    return code


def _main(argv: Sequence[str] | None, out: TextIO) -> int:
    parser = build_parser()
    try:
        with contextlib.redirect_stdout(out):  # --help and --version are the program's output
            args = parser.parse_args(argv)
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        code = int(handler(args))
        out.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except BrokenPipeError as exc:
        if _is_closed(out):
            _silence(_fileno(out))
            return EXIT_BROKEN_PIPE
        return _internal_error(exc)  # a socket or child pipe, not our reader
    except GridpilotError as exc:
        print(f"gridpilot: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last resort: a bug, not bad input
        return _internal_error(exc)


def _fileno(stream: TextIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _is_closed(stream: TextIO) -> bool:
    """Whether ``stream`` is a pipe nobody reads any more (poll reports an error on its end)."""
    fd = _fileno(stream)
    if fd is None:
        return True  # stdout already gone: the reader is the likely cause
    try:
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return True  # no poll() here: the reader is the likely cause


def _silence(fd: int | None) -> None:
    """``gridpilot log --json | head``: the reader has all it wanted. Point ``fd`` at /dev/null
    so the bytes still buffered for it go nowhere instead of raising again, and let the command
    exit like one that SIGPIPE ended."""
    if fd is None:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
    except OSError:
        pass


def _internal_error(exc: Exception) -> int:
    """A bug, not bad input: one line to report, the traceback only on request."""
    debug = os.environ.get(DEBUG_ENV) == "1"
    message = " | ".join(str(exc).splitlines())
    print(f"gridpilot: internal error: {type(exc).__name__}: {message} — please report it"
          + ("" if debug else f" (set {DEBUG_ENV}=1 to see where it happened)"),
          file=sys.stderr)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    return EXIT_INVALID
