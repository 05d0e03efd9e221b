"""``gridpilot --help`` lists every command, while a run imports only the command it runs: the
price of starting ``gridpilot`` is not paid for commands it does not use."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gridpilot.cli import COMMANDS, build_parser, main
from gridpilot.exitcodes import ExitCode


def _help_text() -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    return " ".join(out.getvalue().split())


def test_help_lists_every_command_with_its_line() -> None:
    text = _help_text()
    for command in COMMANDS:
        assert f"{command.name} {' '.join(command.help.split())}" in text


def test_every_command_module_registers_its_arguments() -> None:
    parser = build_parser()
    choices = next(a for a in parser._actions if a.dest == "command").choices
    assert choices is not None
    assert list(choices) == [c.name for c in COMMANDS]
    for command in COMMANDS:
        assert choices[command.name].description, command.name


def test_no_command_is_a_usage_error() -> None:
    with contextlib.redirect_stderr(io.StringIO()):
        assert main([]) == ExitCode.USAGE


_PROBE = textwrap.dedent("""
    import json, sys
    from gridpilot.cli import main
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
    print(json.dumps(sorted(sys.modules)), file=sys.stderr)
""")


def _modules_after(*argv: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True,
                          timeout=60, check=False)
    loaded: list[str] = json.loads(proc.stderr.strip().splitlines()[-1])
    return loaded


def test_version_imports_no_command_and_no_heavy_library() -> None:
    loaded = _modules_after("--version")
    assert not [m for m in loaded if m in {c.module for c in COMMANDS}], loaded
    assert "gridpilot.cli.console" not in loaded  # rich


def test_check_of_a_policy_without_live_parts_imports_no_network_or_plotting_library() -> None:
    # check is the command people run on every save: it pays only for what the policy uses.
    policy = Path(__file__).resolve().parents[2] / "examples" / "policies" / "economy7.yaml"
    loaded = set(_modules_after("check", str(policy)))
    assert "gridpilot.rules.loader" in loaded  # the probe did check the policy
    assert not loaded & {"httpx", "matplotlib", "highspy", "rich", "paho", "pymodbus"}, sorted(
        loaded & {"httpx", "matplotlib", "highspy", "rich", "paho", "pymodbus"})


def test_a_command_imports_only_its_own_module() -> None:
    loaded = _modules_after("schema")
    assert [m for m in loaded if m in {c.module for c in COMMANDS}] == ["gridpilot.cli.schema"]
