"""stdout carries only what gridpilot writes: whatever a library prints, from Python or C and
whatever its version, ends up on stderr, so ``--json`` output is JSON from its first byte."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.cli.conftest import BUNDLED_DATA, REPO
from tests.cli.conftest import gridpilot_process as gridpilot

AGILE = REPO / "examples" / "policies" / "agile-dynamic.yaml"
PACKAGE = REPO / "gridpilot"


def _assert_json_only(stdout: str) -> None:
    assert stdout[:1] == "{", f"bytes before the JSON: {stdout[:200]!r}"
    json.loads(stdout)


def test_decide_json_on_the_agile_example_is_json_from_the_first_byte(tmp_path: Path) -> None:
    # The arbitrage planner builds a HiGHS solver on this path.
    state = tmp_path / "state.json"
    state.write_text('{"soc_pct": 80, "load_w": 1040}', encoding="utf-8")
    proc = gridpilot("decide", str(AGILE), "--state", str(state),
                     "--at", "2018-01-17T17:30:00Z", "--json")
    assert proc.returncode == 0, proc.stderr
    _assert_json_only(proc.stdout)


def test_simulate_json_with_the_optimum_is_json_from_the_first_byte() -> None:
    # Two solvers: the planner's and the perfect-foresight optimum's.
    proc = gridpilot("simulate", str(AGILE), "--data", str(BUNDLED_DATA), "--from", "2018-01-16",
                     "--to", "2018-01-17", "--step", "30m", "--optimal", "--json")
    assert proc.returncode == 0, proc.stderr
    _assert_json_only(proc.stdout)


def test_building_a_solver_writes_nothing_to_stdout() -> None:
    # HiGHS prints its banner once per process, so each check needs a fresh one.
    code = "from gridpilot.solver import new_highs; new_highs(); new_highs(presolve='off')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""


_NOISY_LIBRARY = textwrap.dedent("""
    import ctypes, os, sys
    import gridpilot.cli.schema as schema
    from gridpilot.cli import main

    real_render = schema.render

    def noisy_render():
        # What a library might do while a command runs: print, write to fd 1, and leave bytes
        # in C's stdout buffer (a pipe is block-buffered, flushed only at exit).
        print("PY-LEVEL")
        sys.stdout.write("SYS-STDOUT\\n")
        os.write(1, b"FD-LEVEL\\n")
        ctypes.CDLL(None).printf(b"C-BUFFERED\\n")
        return real_render()

    schema.render = noisy_render
    sys.exit(main(["schema"]))
""")


def test_a_library_writing_to_stdout_during_a_command_lands_on_stderr() -> None:
    proc = subprocess.run([sys.executable, "-c", _NOISY_LIBRARY], capture_output=True,
                          text=True, cwd=REPO, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    _assert_json_only(proc.stdout)  # gridpilot schema prints the JSON Schema
    for noise in ("PY-LEVEL", "SYS-STDOUT", "FD-LEVEL", "C-BUFFERED"):
        assert noise not in proc.stdout
        assert noise in proc.stderr


def test_in_process_callers_still_capture_the_output(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    import gridpilot.cli.schema as schema
    from gridpilot.cli import main

    real_render = schema.render

    def noisy_render() -> str:
        print("PY-LEVEL")
        os.write(1, b"FD-LEVEL\n")
        return real_render()

    monkeypatch.setattr(schema, "render", noisy_render)
    assert main(["schema"]) == 0
    out, err = capfd.readouterr()
    _assert_json_only(out)
    assert "PY-LEVEL" in err and "FD-LEVEL" in err
    # Restored afterwards: the test's own output is stdout again.
    print("after")
    os.write(1, b"fd after\n")
    out, _ = capfd.readouterr()
    assert out == "after\nfd after\n"


def test_help_and_version_still_go_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    from gridpilot.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("gridpilot ")


def _calls(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def test_every_solver_is_built_by_the_quiet_factory() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "solver.py" and path.parent == PACKAGE:
            continue
        for call in _calls(path):
            f = call.func
            if isinstance(f, ast.Attribute) and f.attr == "Highs":
                offenders.append(f"{path.relative_to(REPO)}:{call.lineno}")
    assert not offenders, "build solvers with gridpilot.solver.new_highs: " + ", ".join(offenders)


def test_the_commands_print_to_the_program_stdout() -> None:
    # A bare print() inside a command would land on stderr while the command runs.
    offenders = []
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        if path.name == "terminal.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            where = f"{path.relative_to(REPO)}:{getattr(node, 'lineno', 0)}"
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "print"
                    and not any(k.arg == "file" for k in node.keywords)):
                offenders.append(f"{where}: print() without file=")
            if (isinstance(node, ast.Attribute) and node.attr == "stdout"
                    and isinstance(node.value, ast.Name) and node.value.id == "sys"):
                offenders.append(f"{where}: sys.stdout")
    assert not offenders, (
        "print to gridpilot.cli.terminal.stdout() (or sys.stderr): " + "; ".join(offenders)
    )
