"""The bundled example policies carry scenario tests; they pass, and they catch a broken edit."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.cli.runner import run_cli

ROOT = Path(__file__).resolve().parents[2]
POLICIES = ROOT / "examples" / "policies"


def gridpilot_test(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("test", *args, cwd=ROOT)


def test_every_example_policy_has_passing_scenario_tests() -> None:
    proc = gridpilot_test("examples/policies")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = proc.stdout.splitlines()[-1]
    m = re.fullmatch(r"(\d+) passed, 0 failed", summary)
    assert m is not None and int(m.group(1)) >= 20, summary
    for policy in sorted(POLICIES.glob("*.yaml")):
        prefix = f"PASS  examples/policies/{policy.name}:"
        cases = [ln for ln in proc.stdout.splitlines() if ln.startswith(prefix)]
        assert len(cases) >= 4, f"{policy.name} has only {len(cases)} scenario tests"


@pytest.mark.parametrize(
    ("policy", "edit", "failing_case", "diff_row"),
    [
        # A weaker outage reserve: the reserve case sees the lower floor.
        ("backup-first.yaml", ("min_soc_pct: 60\n", "min_soc_pct: 50\n"),
         "in summer the reserve is 60 %", r"! floor_soc_pct\s+60\s+50"),
        # The peak-shave threshold raised: the import rises above 18 kW during the 26 kW load.
        ("demand-charge.yaml", ("max_import_w: 18000 ", "max_import_w: 21000 "),
         "a two-hour 26 kW load never lifts the import above 18 kW",
         r"! grid_w at 2026-01-14 10:00\s+<= 18000.5\s+21000"),
        # A charge power typo: the night charge no longer fills the battery by 07:30.
        ("economy7.yaml", ("power_w: 3000 ", "power_w: 300 "),
         "by 07:30 the battery is full", r"! soc_pct at 2026-01-15 07:30\s+>= 94.9\s+\d"),
    ],
)
def test_a_broken_edit_fails_with_the_right_diff(
    tmp_path: Path, policy: str, edit: tuple[str, str], failing_case: str, diff_row: str
) -> None:
    (tmp_path / "policies").mkdir()
    text = (POLICIES / policy).read_text(encoding="utf-8")
    assert edit[0] in text
    target = tmp_path / "policies" / policy
    target.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    proc = gridpilot_test(str(target))
    assert proc.returncode == 1, proc.stdout
    assert re.search(rf"^FAIL  {re.escape(str(target))}:\d+  {re.escape(failing_case)}$",
                     proc.stdout, re.MULTILINE), proc.stdout
    assert re.search(diff_row, proc.stdout), proc.stdout
    assert proc.stdout.splitlines()[-1].endswith(" failed")
