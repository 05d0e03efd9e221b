"""The ``gridpilot`` command line.

Exit codes everywhere: 0 ok, 1 the input is invalid or a check failed, 2 usage error.
Each subcommand lives in its own module with a ``register(subparsers)`` function that adds its
parser and sets ``handler`` to a function ``(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from gridpilot import __version__
from gridpilot.errors import GridpilotError

__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

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
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(handler(args))
    except GridpilotError as exc:
        print(f"gridpilot: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
