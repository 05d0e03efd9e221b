"""Names in expectations are checked against the policy, so a typo cannot make a test that
never fails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from gridpilot.testing.session import run_paths
from tests.testing.conftest import BASE_POLICY

Write = Callable[[str, str], Path]

CASES = """\
policy: policy.yaml
tests:
  - name: misspelt rule in expect_not
    at: "2026-01-15 17:30"
    expect_not: {winner: evening peek}
  - name: misspelt guard and outcome
    at: "2026-01-15 17:30"
    expect:
      bound_by: [reserve, reserv]
      outcomes: {night charg: not_active}
  - name: unknown override and source
    at: "2026-01-15 17:30"
    overrides: [{name: boost, action: {kind: charge}}]
    expect: {winner: override:bost, outcomes: {"schedule:evening peak": won}}
  - name: every name exists
    at: "2026-01-15 17:30"
    overrides: [{name: boost, action: {kind: charge}}]
    expect:
      winner: override:boost
      bound_by: guard:reserve
      not_bound_by: [device, reserve.max_soc_pct]
      outcomes: {evening peak: outranked, default: outranked}
"""


def test_unknown_names_are_errors_at_their_line(write: Write) -> None:
    write("policy.yaml", BASE_POLICY)
    path = write("names.gridpilot-test.yaml", CASES)
    (suite,) = run_paths([path])
    by_name = {r.name: r for r in suite.results}
    lines = path.read_text().splitlines()

    def at(text: str) -> str:
        return f"{path}:{next(i for i, ln in enumerate(lines, 1) if text in ln)}:"

    r = by_name["misspelt rule in expect_not"]
    assert r.outcome == "error"
    assert at("evening peek") in r.message
    assert "no rule 'evening peek'" in r.message and "did you mean 'evening peak'" in r.message
    r = by_name["misspelt guard and outcome"]
    assert r.outcome == "error"
    assert "no guard 'reserv'" in r.message and "did you mean 'reserve'" in r.message
    assert "no rule 'night charg'" in r.message
    assert "'reserve'" not in r.message.split("no guard")[0]  # the good name is not reported
    r = by_name["unknown override and source"]
    assert "no override 'bost'" in r.message and "unknown source" in r.message
    assert by_name["every name exists"].outcome == "passed", by_name["every name exists"]
