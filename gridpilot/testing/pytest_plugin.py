"""pytest plugin (entry point ``pytest11``) that collects gridpilot policy test files.

In a policy repository, ``pytest`` then runs every scenario case as a test item: the cases of
``*.gridpilot-test.yaml`` files, and of policy files (``*.yaml`` with top-level ``site:`` and
``tests:``). A failing case reports the same expected-versus-actual table and trace as
``gridpilot test``, pointing at the case's file and line.

ini options:

* ``gridpilot_policies`` (``auto`` | ``off``, default ``auto``): whether policy files with a
  ``tests:`` section are collected, or only ``*.gridpilot-test.yaml`` files.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "PolicyLoadItem",
    "PolicyTestFile",
    "ScenarioFailed",
    "ScenarioItem",
    "pytest_addoption",
    "pytest_collect_file",
]


class ScenarioFailed(Exception):
    """Raised by a failing scenario item; carries the formatted report."""

    def __init__(self, report: str) -> None:
        super().__init__(report)
        self.report = report


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "gridpilot_policies",
        "collect policy files with a 'tests:' section (auto) or only *.gridpilot-test.yaml (off)",
        default="auto",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    from gridpilot.testing.suite import is_test_file, looks_like_policy_with_tests

    if is_test_file(file_path):
        return PolicyTestFile.from_parent(parent, path=file_path)
    if file_path.suffix in (".yaml", ".yml"):
        mode = str(parent.config.getini("gridpilot_policies")).strip().lower()
        if mode != "off" and looks_like_policy_with_tests(file_path):
            return PolicyTestFile.from_parent(parent, path=file_path)
    return None


class PolicyTestFile(pytest.File):
    """A policy or test file; its items are its scenario cases."""

    def collect(self) -> Iterator[pytest.Item]:
        from gridpilot.testing.suite import load_suite

        cache = self.config.stash.setdefault(_CACHE_KEY, {})
        suite = load_suite(self.path, cache)
        if suite.error is not None:
            yield PolicyLoadItem.from_parent(self, name="(load)", suite=suite)
            return
        seen: dict[str, int] = {}
        for source in suite.cases:
            name = source.case.name
            seen[name] = seen.get(name, 0) + 1
            if seen[name] > 1:
                name = f"{name} [{seen[name]}]"
            yield ScenarioItem.from_parent(self, name=name, suite=suite, source=source)


_CACHE_KEY: pytest.StashKey[dict[Any, Any]] = pytest.StashKey()


class _ScenarioReportItem(pytest.Item):
    """Shows a :class:`ScenarioFailed` as gridpilot's own report instead of a traceback."""

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            return excinfo.value.report
        return str(super().repr_failure(excinfo, style=style))


class ScenarioItem(_ScenarioReportItem):
    """One scenario case."""

    def __init__(self, *, suite: Any, source: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.source = source

    def runtest(self) -> None:
        from gridpilot.testing.report import format_failure
        from gridpilot.testing.session import run_source

        policy = self.suite.policy
        result = run_source(policy, self.source)
        if result.outcome == "skipped":
            pytest.skip(result.message)
        if result.outcome != "passed":
            raise ScenarioFailed(format_failure(result, tz=policy.tz))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, max(0, self.source.line - 1), f"scenario: {self.source.case.name}"


class PolicyLoadItem(_ScenarioReportItem):
    """Stands for a file whose cases (or policy) could not be loaded, so the problem is reported
    as a failing test with its file and line rather than a collection crash."""

    def __init__(self, *, suite: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite

    def runtest(self) -> None:
        from gridpilot.testing.report import format_load_error

        raise ScenarioFailed(format_load_error(self.suite))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, "scenario file could not be loaded"
