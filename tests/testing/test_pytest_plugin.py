"""The pytest plugin under pytester: policy test files become items that pass and fail."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from tests.testing.conftest import BASE_POLICY, policy_with_tests

pytest_plugins = ["pytester"]

CASES = """\
- name: evening discharge
  at: "2026-01-15 17:30"
  state: {soc_pct: 80}
  expect: discharge
- name: wrong on purpose
  at: "2026-01-15 17:30"
  state: {soc_pct: 80}
  expect: {kind: charge}
- name: later
  at: "2026-01-15 17:30"
  expect: discharge
  skip: waiting for the new tariff
"""


@pytest.fixture(autouse=True, scope="module")
def _warm_imports(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Run one case in this process first: pytester's in-process runs drop modules first imported
    inside them, and numpy's extension cannot be imported twice in one process."""
    from gridpilot.testing.session import run_paths

    path = tmp_path_factory.mktemp("warm") / "policy.yaml"
    path.write_text(policy_with_tests(CASES), encoding="utf-8")
    (result,) = run_paths([path])
    assert result.passed == 1


def _plugin_args() -> list[str]:
    # Installed, the entry point loads it already; from a source checkout, name it.
    installed = any(
        ep.value == "gridpilot.testing.pytest_plugin" for ep in entry_points(group="pytest11")
    )
    # The user's repository has no pytest-asyncio settings; keep its deprecation note quiet.
    quiet = ["-o", "asyncio_default_fixture_loop_scope=function"]
    return quiet if installed else [*quiet, "-p", "gridpilot.testing.pytest_plugin"]


def test_policy_cases_pass_fail_and_skip(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", policy=policy_with_tests(CASES))
    result = pytester.runpytest(*_plugin_args(), "-v")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "*policy.yaml::evening discharge PASSED*",
        "*policy.yaml::wrong on purpose FAILED*",
        "*policy.yaml::later SKIPPED*",
    ])
    lines = policy_with_tests(CASES).splitlines()
    case_line = lines.index("  - name: wrong on purpose") + 1
    expect_line = case_line + 3
    # the failure report is gridpilot's diff, pointing into the file, not a Python traceback
    result.stdout.fnmatch_lines([
        f"*policy.yaml:{case_line}: wrong on purpose*",
        f"*policy.yaml:{expect_line}: expect",
        "*! kind*charge*discharge",
        "*winner rule:evening peak*",
    ])
    text = result.stdout.str()
    assert "Traceback" not in text and "raise ScenarioFailed" not in text


def test_separate_test_files_and_load_errors(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", policy=BASE_POLICY)
    pytester.mkdir("cases")
    (pytester.path / "cases" / "ok.gridpilot-test.yaml").write_text(
        "policy: ../policy.yaml\ntests:\n  - name: night\n    at: '2026-01-15 01:00'\n"
        "    expect: {kind: charge, power_w: 2500}\n"
    )
    (pytester.path / "cases" / "bad.gridpilot-test.yaml").write_text(
        "policy: ../policy.yaml\ntests:\n  - name: typo\n    at: '2026-01-15 01:00'\n"
        "    expectt: charge\n"
    )
    result = pytester.runpytest(*_plugin_args(), "-v")
    result.assert_outcomes(passed=1, failed=1)
    text = result.stdout.str()
    assert "ok.gridpilot-test.yaml::night PASSED" in text
    assert "bad.gridpilot-test.yaml:5:5: tests[0].expectt: unknown key 'expectt'" in text


def test_policy_collection_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", policy=policy_with_tests(CASES))
    pytester.makeini("[pytest]\ngridpilot_policies = off\n")
    result = pytester.runpytest(*_plugin_args())
    result.assert_outcomes()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_other_yaml_is_not_collected(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", workflow="on: push\njobs: {}\ntests: []\n")
    result = pytester.runpytest(*_plugin_args())
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
