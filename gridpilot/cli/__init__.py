"""The ``gridpilot`` command line.

Exit codes everywhere come from :class:`gridpilot.exitcodes.ExitCode`: 0 ok, 1 the input is
invalid or a check failed, 2 usage error (a malformed flag value included), 130 interrupted, 141
the reader of stdout went away (``| head``).

Each subcommand lives in its own module with a ``register(parser)`` function that adds its
arguments to the parser made for it and sets ``handler`` to a function ``(args) -> ExitCode``.
:data:`COMMANDS` names them with their one-line help, so ``--help`` lists every command while
only the module of the command that runs is imported: ``gridpilot --version`` imports none of
them, ``gridpilot check`` only the policy loader. A command prints its own output to
:func:`gridpilot.cli.terminal.stdout` (rich: :class:`gridpilot.cli.console.StdoutConsole`);
while it runs, fd 1 and ``sys.stdout`` lead to stderr, so nothing a library prints can get into
that output.
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
from typing import NamedTuple, TextIO

from gridpilot import __version__
from gridpilot.cli.terminal import program_stdout
from gridpilot.errors import GridpilotError
from gridpilot.exitcodes import ExitCode
from gridpilot.stdio import STDOUT_FD

__all__ = [
    "BLAS_THREADS_ENV",
    "COMMANDS",
    "DEBUG_ENV",
    "SINGLE_THREADED_BLAS",
    "Subcommand",
    "build_parser",
    "main",
]

DEBUG_ENV = "GRIDPILOT_DEBUG"
"""Set to 1 to see the traceback of an internal error."""

BLAS_THREADS_ENV = "OPENBLAS_NUM_THREADS"
SINGLE_THREADED_BLAS = frozenset({"check"})
"""Commands whose arrays are too small for BLAS threads to help: OpenBLAS would start a pool
of them when numpy loads, and their spin-waiting cost a tenth of ``check``'s CPU. A value the
user set is kept."""


class Subcommand(NamedTuple):
    name: str
    module: str
    """Imported only when this command runs (or its own ``--help`` is asked for)."""
    help: str
    """The one line ``gridpilot --help`` shows for it."""


# In the order ``--help`` lists them.
COMMANDS: tuple[Subcommand, ...] = (
    Subcommand("check", "gridpilot.cli.check", "validate policy files and report every problem"),
    Subcommand("schema", "gridpilot.cli.schema", "print the JSON Schema of a policy file"),
    Subcommand("test", "gridpilot.cli.test", "run the scenario tests of policies"),
    Subcommand("decide", "gridpilot.cli.decide",
               "show the command the policy decides for a state, and why"),
    Subcommand("run", "gridpilot.cli.run", "run the policy against the device, tick after tick"),
    Subcommand("status", "gridpilot.cli.status",
               "show what the running scheduler is doing and why; open its dashboard"),
    Subcommand("override", "gridpilot.cli.override",
               "set, clear or list manual overrides of the running scheduler"),
    Subcommand("log", "gridpilot.cli.log",
               "show what the scheduler decided, sent and heard back"),
    Subcommand("device", "gridpilot.cli.device",
               "talk to the policy's device: probe it or export its history"),
    Subcommand("simulate", "gridpilot.cli.simulate", "backtest a policy on recorded data"),
    Subcommand("prices", "gridpilot.cli.prices",
               "show the live prices a tariff knows now, or fetch their history"),
    Subcommand("forecast", "gridpilot.cli.forecast",
               "show the policy's load/PV forecast, or evaluate it on recorded data"),
    Subcommand("sweep", "gridpilot.cli.sweep",
               "backtest every combination of policy settings, ranked by bill"),
    Subcommand("fleet", "gridpilot.cli.fleet",
               "backtest a policy across a fleet of sites, locally or on a Dask cluster"),
    Subcommand("demo", "gridpilot.cli.demo",
               "backtest the bundled UK example for a whole year and show the result"),
)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: every command is listed, but only the one ``argv`` names (all of
    them when ``argv`` is ``None``) gets its arguments, which imports its module."""
    parser = argparse.ArgumentParser(
        prog="gridpilot",
        description="Run home and small-site batteries by policy.",
    )
    parser.add_argument("--version", action="version", version=f"gridpilot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = None if argv is None else _command_named(argv)
    for command in COMMANDS:
        command_parser = sub.add_parser(command.name, help=command.help)
        if argv is None or command.name == wanted:
            importlib.import_module(command.module).register(command_parser)
    return parser


def _command_named(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` asks for: its first word that is not an option (the top level
    has no option that takes a value)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def main(argv: Sequence[str] | None = None) -> ExitCode:
    # Everything runs with fd 1 and sys.stdout on stderr; only ``out`` reaches the real stdout.
    with program_stdout() as out:
        code = _main(argv, out)
    if code == ExitCode.BROKEN_PIPE:
        _silence(STDOUT_FD)  # so Python's final flush at exit does not complain
    return code


def _main(argv: Sequence[str] | None, out: TextIO) -> ExitCode:
    words = sys.argv[1:] if argv is None else list(argv)
    if _command_named(words) in SINGLE_THREADED_BLAS and "numpy" not in sys.modules:
        # OpenBLAS reads it once, as numpy loads (later it would only leak into child processes).
        os.environ.setdefault(BLAS_THREADS_ENV, "1")
    try:
        parser = build_parser(words)
        with contextlib.redirect_stdout(out):  # --help and --version are the program's output
            args = parser.parse_args(words)
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.print_help(sys.stderr)
            return ExitCode.USAGE
        code = ExitCode(handler(args))
        out.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except BrokenPipeError as exc:
        if _is_closed(out):
            _silence(_fileno(out))
            return ExitCode.BROKEN_PIPE
        return _internal_error(exc)  # a socket or child pipe, not our reader
    except GridpilotError as exc:
        print(f"gridpilot: {exc}", file=sys.stderr)
        return ExitCode.INVALID
    except KeyboardInterrupt:
        return ExitCode.INTERRUPTED
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


def _internal_error(exc: Exception) -> ExitCode:
    """A bug, not bad input: one line to report, the traceback only on request."""
    debug = os.environ.get(DEBUG_ENV) == "1"
    message = " | ".join(str(exc).splitlines())
    print(f"gridpilot: internal error: {type(exc).__name__}: {message} — please report it"
          + ("" if debug else f" (set {DEBUG_ENV}=1 to see where it happened)"),
          file=sys.stderr)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    return ExitCode.INVALID
