"""Two ways to run ``gridpilot`` in a test, both answering a ``CompletedProcess``.

:func:`run_cli` calls :func:`gridpilot.cli.main` in this process: milliseconds instead of the
half second a fresh interpreter needs to import gridpilot. It gives the command what a new
process would have (its working directory, environment, a logging set-up of its own, stdout and
stderr as text) and takes it back afterwards. :func:`run_process` starts a real ``python -m
gridpilot``: for what only a process boundary shows (the bytes on fd 1, signals, exit at
interpreter shutdown).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from gridpilot.cli import main

__all__ = ["REPO", "run_cli", "run_process"]

REPO = Path(__file__).resolve().parents[2]

_CLEARED_ENV = ("GRIDPILOT_STATE_DIR",)
"""Variables a developer may have set that would change what a command does."""


@contextlib.contextmanager
def _environment(env: Mapping[str, str] | None) -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for name in _CLEARED_ENV:
            os.environ.pop(name, None)
        os.environ.update(env or {})
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _own_logging() -> Iterator[None]:
    """The root logger as a new process has it (no handlers), so ``gridpilot run`` configures
    it and the warnings of the other commands reach stderr, as they would from a process."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    root.handlers = []
    try:
        yield
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers = handlers
        root.setLevel(level)


def run_cli(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None,
            stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``gridpilot ARGS`` in this process (see the module's doc)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        if cwd is not None:
            stack.enter_context(contextlib.chdir(cwd))
        stack.enter_context(_environment(env))
        stack.enter_context(_own_logging())
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        saved_stdin = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            code = int(main(list(args)))
        except SystemExit as stop:  # argparse: usage errors, --help
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        finally:
            sys.stdin = saved_stdin
    return subprocess.CompletedProcess(["gridpilot", *args], code, out.getvalue(),
                                       err.getvalue())


def run_process(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None,
                timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m gridpilot ARGS`` in a new process."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    for name in _CLEARED_ENV:
        if name not in (env or {}):
            full_env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "gridpilot", *args], capture_output=True,
                          text=True, timeout=timeout_s, cwd=cwd, env=full_env, check=False)
