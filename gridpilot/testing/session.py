"""Running whole files of scenario tests: what ``gridpilot test`` and the JUnit writer consume."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gridpilot.rules.policy import Policy
from gridpilot.testing.runner import CaseResult, Engine, run_case
from gridpilot.testing.suite import CaseSource, PolicyCache, Suite, discover, load_suite

__all__ = ["SuiteResult", "run_paths", "run_source", "run_suite"]


@dataclass
class SuiteResult:
    suite: Suite
    results: list[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(r.outcome == "passed" for r in self.results)

    @property
    def failed(self) -> int:
        """Failed and erroring cases, plus one for a file that could not be loaded."""
        bad = sum(r.outcome in ("failed", "error") for r in self.results)
        return bad + (1 if self.suite.error is not None else 0)

    @property
    def skipped(self) -> int:
        return sum(r.outcome == "skipped" for r in self.results)


def run_source(policy: Policy, source: CaseSource, *, engine: Engine | None = None) -> CaseResult:
    """Run one case as written in its file; a case naming what the policy lacks is an error."""
    if source.problems:
        return CaseResult(
            source.case.name, source.file, source.line, "error",
            message="\n".join(i.format() for i in source.problems),
        )
    return run_case(
        policy,
        source.case,
        file=source.file,
        line=source.line,
        check_lines=source.check_lines,
        expect_lines=(source.expect_line, source.expect_not_line),
        engine=engine,
    )


def run_suite(
    suite: Suite, *, engine: Engine | None = None, keyword: str | None = None
) -> SuiteResult:
    """Run the cases of ``suite`` whose name contains ``keyword`` (case-insensitive)."""
    out = SuiteResult(suite)
    if suite.policy is None:
        return out
    for source in suite.cases:
        if keyword and keyword.lower() not in source.case.name.lower():
            continue
        out.results.append(run_source(suite.policy, source, engine=engine))
    return out


def run_paths(
    paths: Iterable[str | Path], *, engine: Engine | None = None, keyword: str | None = None
) -> list[SuiteResult]:
    """Discover and run every scenario test under ``paths``."""
    cache: PolicyCache = {}
    return [
        run_suite(load_suite(p, cache), engine=engine, keyword=keyword) for p in discover(paths)
    ]
