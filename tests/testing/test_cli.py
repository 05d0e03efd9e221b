"""``gridpilot test`` run as a user runs it: in a subprocess, on files written to disk."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.runner import run_cli
from tests.testing.conftest import BASE_POLICY, policy_with_tests

Write = Callable[[str, str], Path]

CASES = """\
- name: evening discharge
  at: "2026-01-15 17:30"
  state: {soc_pct: 80, load_w: 900}
  expect: {kind: discharge, power_w: "3000 +- 1"}
- name: wrong on purpose
  at: "2026-01-15 17:30"
  state: {soc_pct: 80}
  expect:
    kind: charge
    power_w: 2000
"""

TEST_FILE = """\
policy: ../policy.yaml
tests:
  - name: night charge fills the battery
    at: "2026-01-15 00:30"
    until: "07:30"
    step: 30m
    state: {soc_pct: 20}
    checks:
      - by: "07:30"
        soc_pct: ">= 85"
      - by: "02:00"
        soc_pct: ">= 80"
"""


def gridpilot(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli("test", *args, cwd=cwd)


def line_of(path: Path, needle: str, after: int = 0) -> int:
    return next(
        i for i, text in enumerate(path.read_text().splitlines(), 1)
        if needle in text and i > after
    )


@pytest.fixture
def repo(write: Write) -> Path:
    policy = write("repo/policy.yaml", policy_with_tests(CASES))
    write("repo/tests/night.gridpilot-test.yaml", TEST_FILE)
    write("repo/.github/workflow.yaml", "on: push\n")  # not a policy: must be left alone
    return policy.parent


def test_one_line_per_case_a_diff_per_failure_and_the_summary(repo: Path) -> None:
    proc = gridpilot(str(repo))
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    policy = repo / "policy.yaml"
    tests = repo / "tests" / "night.gridpilot-test.yaml"
    lines = out.splitlines()
    assert lines[-1] == "1 passed, 2 failed"
    assert f"PASS  {policy}:{line_of(policy, 'evening discharge')}  evening discharge" in lines
    assert f"FAIL  {policy}:{line_of(policy, 'wrong on purpose')}  wrong on purpose" in lines
    assert f"PASS  {tests}:{line_of(tests, 'fills the battery')}  " \
           "night charge fills the battery" not in lines  # it has a failing check
    assert f"FAIL  {tests}:{line_of(tests, 'fills the battery')}  " \
           "night charge fills the battery" in lines
    # the diff of the broken case: expected vs actual, marked, with the trace
    expect_line = line_of(policy, "expect:", after=line_of(policy, "wrong on purpose"))
    assert f"{policy}:{expect_line}: expect" in out
    assert "! kind     charge    discharge" in out
    assert "! power_w  2000      3000" in out
    assert "winner rule:evening peak" in out and "guard:reserve" in out
    # the sequence failure points at its check and shows the ticks around it
    check_line = line_of(tests, '"02:00"')
    assert f"{tests}:{check_line}: check 2 (by 02:00)" in out
    assert "ticks around it" in out
    assert "Traceback" not in out + proc.stderr


def test_all_passing_exits_0(write: Write) -> None:
    path = write("ok.yaml", policy_with_tests(CASES.split("- name: wrong")[0]))
    proc = gridpilot(str(path))
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.splitlines()[-1] == "1 passed, 0 failed"


def test_junit_is_valid_xml_with_the_right_counts(repo: Path, tmp_path: Path) -> None:
    report = tmp_path / "out" / "junit.xml"
    proc = gridpilot(str(repo), "--junit", str(report))
    assert proc.returncode == 1
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("3", "2", "0")
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == 3
    by_name = {c.get("name"): c for c in cases}
    broken = by_name["wrong on purpose"]
    failure = broken.find("failure")
    assert failure is not None
    assert failure.get("message") == "expect: kind expected charge, got discharge"
    assert "! power_w" in (failure.text or "")
    assert broken.get("line") == str(line_of(repo / "policy.yaml", "wrong on purpose"))
    assert by_name["evening discharge"].find("failure") is None


def test_a_broken_file_is_a_failure_with_its_position(write: Write) -> None:
    path = write("bad.gridpilot-test.yaml", "policy: policy.yaml\ntests:\n  - name: x\n"
                 "    at: '2026-01-15 17:30'\n    expect: {kind: charje}\n")
    write("policy.yaml", BASE_POLICY)
    proc = gridpilot(str(path))
    assert proc.returncode == 1
    assert f"{path}:5:" in proc.stdout and "tests[0].expect.kind" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "0 passed, 1 failed"


def test_missing_policy_and_missing_path(write: Write) -> None:
    path = write("lost.gridpilot-test.yaml", "policy: nowhere.yaml\ntests:\n  - name: x\n"
                 "    at: '2026-01-15 17:30'\n    expect: hold\n")
    proc = gridpilot(str(path))
    assert proc.returncode == 1
    assert f"{path}:1:" in proc.stdout and "policy file 'nowhere.yaml' not found" in proc.stdout
    proc = gridpilot(str(path.parent / "absent.yaml"))
    assert proc.returncode == 1 and "no such file or directory" in proc.stderr


def test_no_cases_is_not_a_pass(write: Write) -> None:
    path = write("plain.yaml", BASE_POLICY)
    proc = gridpilot(str(path))
    assert proc.returncode == 1
    assert "no scenario tests found" in proc.stderr
    assert proc.stdout.splitlines()[-1] == "0 passed, 0 failed"


def test_keyword_selects_cases(repo: Path) -> None:
    proc = gridpilot(str(repo), "-k", "EVENING")
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.splitlines()[-1] == "1 passed, 0 failed"
