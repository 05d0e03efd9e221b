"""The JUnit writer: always well-formed XML, with counts that add up, whatever the names hold."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.engine.commands import discharge
from gridpilot.engine.decision import Candidate, Decision
from gridpilot.errors import Issue, PolicyError
from gridpilot.testing.compare import DiffRow, Failure
from gridpilot.testing.junit import junit_xml
from gridpilot.testing.runner import CaseResult
from gridpilot.testing.session import SuiteResult
from gridpilot.testing.suite import Suite

_XML_OK = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

DECISION = Decision(
    command=discharge(3000, 30),
    winner="rule:evening peak",
    layer="schedule",
    reason="16:00-19:00",
    candidates=(Candidate("rule:evening peak", "schedule", discharge(3000, 5), "won"),),
)

outcomes = st.sampled_from(["passed", "failed", "error", "skipped"])


def _result(name: str, outcome: str, text: str) -> CaseResult:
    r = CaseResult(name=name, file="p.yaml", line=3, outcome=outcome)  # type: ignore[arg-type]
    if outcome == "failed":
        r.failures.append(Failure("expect", 5, (DiffRow("kind", "charge", text, False),),
                                  DECISION))
    elif outcome in ("error", "skipped"):
        r.message = text
    return r


@settings(max_examples=80, deadline=None)
@given(cases=st.lists(st.tuples(st.text(max_size=30), outcomes, st.text(max_size=60)),
                      max_size=8),
       broken=st.booleans())
def test_always_well_formed_and_consistent(
    cases: list[tuple[str, str, str]], broken: bool
) -> None:
    suite = Suite(file="policies/home.yaml")
    if broken:
        suite.error = PolicyError([Issue("policies/home.yaml", 4, 3, "tests[0]", "bad\x00key")])
    results = [_result(n, o, t) for n, o, t in cases]
    root = ET.fromstring(junit_xml([SuiteResult(suite, results)]).encode("utf-8"))
    total = len(cases) + broken
    assert root.get("tests") == str(total)
    assert root.get("failures") == str(sum(o == "failed" for _, o, _ in cases))
    assert root.get("errors") == str(sum(o == "error" for _, o, _ in cases) + broken)
    assert root.get("skipped") == str(sum(o == "skipped" for _, o, _ in cases))
    names = [c.get("name") for c in root.iter("testcase")]
    expected = [_XML_OK.sub("\ufffd", n) for n, _, _ in cases]
    assert names[broken:] == expected


def test_failure_message_names_the_first_difference() -> None:
    r = _result("x", "failed", "discharge")
    r.failures.append(Failure("check 2 (by 16:00)", 9, (), None, None, "no tick"))
    root = ET.fromstring(junit_xml([SuiteResult(Suite(file="a.yaml"), [r])]))
    failure = root.find("./testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == "expect: kind expected charge, got discharge"
    assert "p.yaml:5: expect" in (failure.text or "")
    assert "p.yaml:9: check 2 (by 16:00)" in (failure.text or "")
