"""The scenario-case language: shorthands, validation, and errors with file:line through check."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from gridpilot.engine.commands import CommandKind
from gridpilot.rules.scenario import ScenarioCase, TestFileDoc
from gridpilot.rules.scenario_expectations import Expectation, NumberExpectation
from gridpilot.timeutil import parse_duration_s
from tests.cli.runner import run_cli
from tests.testing.conftest import policy_with_tests

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@given(center=finite, tol=st.floats(min_value=0, max_value=1e4), actual=finite)
def test_approx_with_tolerance_matches_exactly_the_closed_interval(
    center: float, tol: float, actual: float
) -> None:
    exp = NumberExpectation.model_validate({"approx": center, "tol": tol})
    inside = abs(actual - center) <= tol
    if abs(abs(actual - center) - tol) > 1e-9:  # away from float rounding at the edge
        assert exp.matches(actual) is inside


@given(bound=finite, actual=finite)
def test_bounds_shorthand(bound: float, actual: float) -> None:
    at_least = NumberExpectation.model_validate(f">= {bound!r}")
    below = NumberExpectation.model_validate(f"< {bound!r}")
    if abs(actual - bound) > 1e-6:
        assert at_least.matches(actual) is (actual >= bound)
        assert below.matches(actual) is (actual < bound)
        assert at_least.matches(actual) != below.matches(actual)
    assert at_least.matches(bound) and not below.matches(bound)


def test_number_shorthands() -> None:
    assert NumberExpectation.model_validate("3000 +- 50").describe() == "3000 ± 50"
    assert NumberExpectation.model_validate("3000 ± 50").matches(3049)
    assert not NumberExpectation.model_validate("3000 ± 50").matches(3051)
    assert NumberExpectation.model_validate(3000).matches(3000.0000001)
    assert not NumberExpectation.model_validate(3000).matches(3000.1)
    null = NumberExpectation.model_validate(None)
    assert null.matches(None) and not null.matches(0.0)
    assert not NumberExpectation.model_validate(0).matches(None)
    both = NumberExpectation.model_validate({"min": 10, "max": 20})
    assert both.describe() == ">= 10 and <= 20"
    assert both.matches(15) and not both.matches(21) and not both.matches(9)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("about 3000", "cannot read 'about 3000'"),
        ({"min": 5, "max": 1}, "'min' 5 is above 'max' 1"),
        ({"tol": 5}, "'tol' goes with 'approx'"),
        (True, "expected a number"),
    ],
)
def test_bad_numbers_are_refused_with_a_reason(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        NumberExpectation.model_validate(value)


def test_expectation_shorthand_and_empty() -> None:
    assert Expectation.model_validate("hold").kind is CommandKind.HOLD
    with pytest.raises(ValidationError, match="at least one key"):
        Expectation.model_validate({})


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("1.5h", 5400), ("1d", 86400), (30, 30)]
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration_s(text) == seconds


def test_case_shapes() -> None:
    ok = ScenarioCase.model_validate(
        {"name": "n", "at": "2026-01-15 17:30", "expect": {"kind": ["hold", "idle"]}}
    )
    assert not ok.is_sequence
    seq = ScenarioCase.model_validate(
        {"name": "s", "at": "2026-01-15 00:00", "until": "16:00",
         "checks": [{"by": "16:00", "soc_pct": ">= 80"}]}
    )
    assert seq.is_sequence and seq.step_s == 300
    with pytest.raises(ValidationError, match="needs 'expect' or 'expect_not'"):
        ScenarioCase.model_validate({"name": "n", "at": "2026-01-15 17:30"})
    with pytest.raises(ValidationError, match="checks through 'checks'"):
        ScenarioCase.model_validate(
            {"name": "n", "at": "2026-01-15 17:30", "until": "18:00", "expect": "hold",
             "checks": [{"max_changes": 1}]}
        )
    with pytest.raises(ValidationError, match="'at' needs a date"):
        ScenarioCase.model_validate({"name": "n", "at": "17:30", "expect": "hold"})
    with pytest.raises(ValidationError, match="exactly one of 'at', 'by'"):
        ScenarioCase.model_validate(
            {"name": "n", "at": "2026-01-15 00:00", "until": "16:00",
             "checks": [{"by": "16:00", "at": "15:00", "soc_pct": 80}]}
        )
    with pytest.raises(ValidationError, match="max_import_w does not apply to a charge action"):
        ScenarioCase.model_validate(
            {"name": "n", "at": "2026-01-15 17:30", "expect": "charge",
             "overrides": [{"action": {"kind": "charge", "max_import_w": 1}}]}
        )
    assert TestFileDoc.__test__ is False


def _check(path: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("check", str(path))


def test_check_reports_bad_cases_with_file_and_line(write: Callable[[str, str], Path]) -> None:
    path = write(
        "policy.yaml",
        policy_with_tests(
            """\
            - name: fine
              at: "2026-01-15 17:30"
              expect: discharge
            - name: misspelt key
              at: "2026-01-15 17:30"
              expcet: discharge
            - name: bad power
              at: "2026-01-15 17:30"
              expect:
                kind: discharge
                power_w: "about 3000"
            """
        ),
    )
    proc = _check(path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    text = path.read_text().splitlines()
    misspelt = next(i for i, line in enumerate(text, 1) if "expcet" in line)
    power = next(i for i, line in enumerate(text, 1) if "about 3000" in line)
    assert f"{path}:{misspelt}:" in out and "unknown key 'expcet'" in out
    assert "did you mean 'expect'" in out
    assert f"{path}:{power}:" in out and "cannot read 'about 3000'" in out
    assert "Traceback" not in out


def test_check_accepts_valid_cases(write: Callable[[str, str], Path]) -> None:
    path = write(
        "policy.yaml",
        policy_with_tests(
            """\
            - name: evening discharge
              at: "2026-01-15 17:30"
              state: {soc_pct: 80, load_w: 900}
              expect: {kind: discharge, power_w: "3000 +- 1", winner: evening peak}
              expect_not: [charge, idle]
            - name: fills overnight
              at: "2026-01-15 00:30"
              until: "07:30"
              step: 15m
              state: {soc_pct: 20}
              checks:
                - by: "07:30"
                  soc_pct: ">= 80"
                - during: "01:00-07:00"
                  expect: charge
                - max_changes: 1
            """
        ),
    )
    proc = _check(path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
