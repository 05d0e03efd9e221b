"""``gridpilot check`` reports every scenario case ``gridpilot test`` would refuse, and the names
a case gets wrong together with the policy's own errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from gridpilot.cli import main

POLICY = """\
version: 1
site:
  name: t
  timezone: Europe/London
  battery: {capacity_kwh: 10, max_charge_w: 3000, max_discharge_w: 3000, min_soc_pct: 10}
tariff:
  import: {default: 0.3}
  export: {default: 0.05}
rules:
  - name: night
    layer: schedule
    when: {time: "00:30-07:30"}
    action: {kind: charge, power_w: 3000}
default:
  action: {kind: self_consumption}
"""

CASES = """\
  - name: skipped by the spring clock change
    at: "2026-03-29 01:30"
    expect: self_consumption
  - name: until before at
    at: "2026-01-15 10:00"
    until: "2026-01-15 09:00"
    checks: [{at: "09:30", expect: self_consumption}]
  - name: a check after the end
    at: "2026-01-15 10:00"
    until: "2026-01-15 11:00"
    checks: [{at: "2026-01-15 12:00", expect: self_consumption}]
  - name: recorded data that is not there
    at: "2026-01-15 10:00"
    until: "2026-01-15 11:00"
    data: {file: missing.csv}
    checks: [{at: "10:30", expect: self_consumption}]
  - name: fine
    at: "2026-01-15 02:00"
    expect: {kind: charge, winner: night}
"""

WANT = [
    ("tests[0].at", "does not exist in Europe/London"),
    ("tests[1].until", "'until' must be after 'at'"),
    ("tests[2].checks[0].at", "is not before 'until'"),
    ("tests[3].data.file", "data file not found"),
]


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _assert_reported(out: str, path: Path) -> None:
    lines = [line for line in out.splitlines() if line.startswith(f"{path}:")]
    assert len(lines) == len(WANT), out
    for line, (where, message) in zip(lines, WANT, strict=True):
        assert f": {where}: " in line and message in line, line


def test_check_reports_what_test_refuses_in_a_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = _write(tmp_path / "p.yaml", POLICY + "tests:\n" + CASES)
    code, out = _run(capsys, "check", str(policy))
    assert code == 1
    _assert_reported(out, policy)
    code, out = _run(capsys, "test", str(policy))
    assert code == 1
    assert "1 passed, 4 failed" in out
    errors = [line.removeprefix("  error: ") for line in out.splitlines()
              if line.startswith("  error: ")]
    _assert_reported("\n".join(errors), policy)


def test_check_reports_what_test_refuses_in_a_test_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path / "p.yaml", POLICY)
    tests = _write(tmp_path / "p.gridpilot-test.yaml", "policy: p.yaml\ntests:\n" + CASES)
    code, out = _run(capsys, "check", str(tests))
    assert code == 1
    _assert_reported(out, tests)


def test_valid_cases_pass_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fine = CASES[CASES.index("  - name: fine"):]
    policy = _write(tmp_path / "p.yaml", POLICY + "tests:\n" + fine)
    assert _run(capsys, "check", str(policy)) == (0, f"{policy}: ok\n")


def test_misspelt_names_come_with_the_policy_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = POLICY.replace("layer: schedule", "layer: shedule")
    policy = _write(tmp_path / "p.yaml", broken + """\
tests:
  - name: misspelt
    at: "2026-01-15 02:00"
    expect: {kind: charge, winner: nigth}
""")
    code, out = _run(capsys, "check", str(policy))
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert ": rules[0].layer: " in lines[0]
    assert ": tests[0].expect.winner: the policy has no rule 'nigth'" in lines[1]
    assert "did you mean 'night'?" in lines[1]


def test_misspelt_names_in_a_test_file_come_with_the_policy_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path / "p.yaml", POLICY.replace("0.3}", ".nan}"))
    tests = _write(tmp_path / "p.gridpilot-test.yaml", """\
policy: p.yaml
tests:
  - name: misspelt
    at: "2026-01-15 02:00"
    expect: {kind: charge, winner: "rule:nigth"}
""")
    code, out = _run(capsys, "check", str(tests))
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert "tariff.import.default: nan is not allowed here" in lines[0]
    assert lines[1].startswith(f"{tests}:5:")
    assert "tests[0].expect.winner: the policy has no rule 'nigth'" in lines[1]
