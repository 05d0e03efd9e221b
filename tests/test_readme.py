"""The policy shown in the README is a real, valid policy whose scenario test passes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_policy_checks_and_its_scenario_passes(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"```yaml\n(# yaml-language-server.*?)```", text, re.S)
    assert match, "the README has no example policy"
    policy = tmp_path / "policy.yaml"
    policy.write_text(match.group(1), encoding="utf-8")
    for args in (["check", str(policy)], ["test", str(policy)]):
        proc = subprocess.run(
            [sys.executable, "-m", "gridpilot", *args],
            capture_output=True, text=True, check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed, 0 failed" in proc.stdout
