"""Finding and loading scenario tests: a policy's own ``tests:`` section, or a
``*.gridpilot-test.yaml`` file that names the policy it tests."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gridpilot.errors import GridpilotError, Issue, PolicyError
from gridpilot.rules.loader import load_policy, merge_issues
from gridpilot.rules.policy import Policy
from gridpilot.rules.scenario import ScenarioCase, TestFileDoc
from gridpilot.rules.validation import issues_from_validation_error
from gridpilot.rules.yamlsource import (
    NodePath,
    SourceMap,
    load_yaml_partial,
    redact_issues,
)
from gridpilot.testing.prepare import CaseSetupError, prepare_case
from gridpilot.testing.references import PolicyNames, check_references

__all__ = [
    "TEST_FILE_SUFFIXES",
    "CaseSource",
    "PolicyCache",
    "Suite",
    "discover",
    "is_test_file",
    "load_suite",
    "looks_like_policy",
    "looks_like_policy_with_tests",
]

TEST_FILE_SUFFIXES = (".gridpilot-test.yaml", ".gridpilot-test.yml")
_TESTS_KEY = re.compile(r"^tests\s*:", re.MULTILINE)
_SITE_KEY = re.compile(r"^site\s*:", re.MULTILINE)
_VERSION_KEY = re.compile(r"^version\s*:", re.MULTILINE)
_SNIFF_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class CaseSource:
    """A case and where it is written."""

    case: ScenarioCase
    file: str
    line: int
    column: int
    check_lines: tuple[int, ...] = ()
    expect_line: int = 0
    """Line of ``expect`` (0: the case's line); ``expect_not`` failures point here too when
    ``expect_not_line`` is 0."""
    expect_not_line: int = 0
    problems: tuple[Issue, ...] = ()
    """Names the case's expectations use that the policy lacks; the case cannot run."""


@dataclass
class Suite:
    """The cases of one file and the policy they run against. ``error`` is set when the file or
    its policy could not be loaded; ``cases`` is then empty."""

    file: str
    policy_file: str = ""
    policy: Policy | None = None
    cases: list[CaseSource] = field(default_factory=list)
    error: GridpilotError | None = None


PolicyCache = dict[Path, Policy | PolicyError]


def file_key(path: Path) -> Path:
    """The file ``path`` names, for finding it twice: its resolved path, or for a symlink loop
    (which cannot be resolved) its absolute path, so the loop is reported when it is read, as a
    problem of that file alone."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def unreadable_link(path: Path) -> bool:
    """A YAML-named symlink whose target cannot be reached (a loop, or nothing there): a file
    the user meant to be read, so it is read and its problem reported rather than skipped."""
    return path.suffix in (".yaml", ".yml") and path.is_symlink() and not path.exists()


def is_test_file(path: Path) -> bool:
    return path.name.endswith(TEST_FILE_SUFFIXES)


def _head(path: Path) -> str:
    """The start of ``path`` as text, enough to see its top-level keys without parsing YAML;
    empty when it cannot be read (reading it for real reports why)."""
    try:
        with path.open("rb") as fh:
            return fh.read(_SNIFF_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return ""


def looks_like_policy(path: Path) -> bool:
    """A cheap look (no YAML parse) for a policy: top-level ``version:`` and ``site:``."""
    text = _head(path)
    return bool(_VERSION_KEY.search(text) and _SITE_KEY.search(text))


def looks_like_policy_with_tests(path: Path) -> bool:
    """A cheap look (no YAML parse) for a policy file with a ``tests:`` section."""
    if path.suffix not in (".yaml", ".yml") or is_test_file(path):
        return False
    text = _head(path)
    return bool(_TESTS_KEY.search(text) and _SITE_KEY.search(text))


def files_below(root: Path, wanted: Callable[[Path], bool]) -> list[Path]:
    """The files below ``root`` (recursively, sorted) that ``wanted`` accepts, hidden files and
    directories left out; a YAML-named link that cannot be reached is always in (see
    :func:`unreadable_link`)."""
    return sorted(
        p for p in root.rglob("*")
        if not any(part.startswith(".") for part in p.relative_to(root).parts)
        and (unreadable_link(p) or (p.is_file() and wanted(p)))
    )


def unique_files(paths: Iterable[Path]) -> list[Path]:
    """``paths`` in order, each file once however it was named (see :func:`file_key`)."""
    seen: set[Path] = set()
    out: list[Path] = []
    for path in paths:
        key = file_key(path)
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def _has_tests(path: Path) -> bool:
    return is_test_file(path) or looks_like_policy_with_tests(path)


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Files to test: every file given, and in each directory given (recursively) the test files
    and the policies that carry tests. Raises :class:`FileNotFoundError` for a missing path."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise FileNotFoundError(str(raw))
        found.extend(files_below(path, _has_tests) if path.is_dir() else [path])
    return unique_files(found)


def _setup_problems(
    policy: Policy, case: ScenarioCase, path: NodePath, smap: SourceMap
) -> list[Issue]:
    """What stops ``case`` from running (``gridpilot test`` would refuse it), at its key."""
    if case.skip is not None:
        return []
    try:
        prepare_case(policy, case, Path(smap.file).parent)
    except CaseSetupError as exc:
        return [smap.issue((*path, *exc.path), exc.message)]
    return []


def _cases(
    policy: Policy, tests: list[ScenarioCase], smap: SourceMap, prefix: NodePath
) -> list[CaseSource]:
    out = []
    for i, case in enumerate(tests):
        problems = tuple(
            check_references(policy, case, (*prefix, i), smap)
            + _setup_problems(policy, case, (*prefix, i), smap)
        )
        line, col = smap.locate((*prefix, i))
        checks = tuple(
            smap.locate((*prefix, i, "checks", j))[0] for j in range(len(case.checks))
        )
        expect_line = smap.locate((*prefix, i, "expect"))[0] if case.expect else line
        not_line = smap.locate((*prefix, i, "expect_not"))[0] if case.expect_not else line
        out.append(
            CaseSource(case, smap.file, line, col, checks, expect_line, not_line, problems)
        )
    return out


def _policy(path: Path, cache: PolicyCache) -> Policy:
    key = file_key(path)
    if key not in cache:
        try:
            cache[key] = load_policy(path)
        except PolicyError as exc:
            cache[key] = exc
    hit = cache[key]
    if isinstance(hit, PolicyError):
        raise hit
    return hit


def _reference_problems(raw_tests: Any, names: PolicyNames, smap: SourceMap) -> list[Issue]:
    """Names the valid cases in ``raw_tests`` use that the policy lacks."""
    out: list[Issue] = []
    if not isinstance(raw_tests, list):
        return out
    for i, raw in enumerate(raw_tests):
        try:
            case = ScenarioCase.model_validate(raw)
        except (ValidationError, ValueError, TypeError):
            continue  # its own schema errors are reported where it is validated
        out += check_references(names, case, ("tests", i), smap)
    return redact_issues(out, smap.secrets, smap.secret_paths)


def _with_references(
    exc: PolicyError, policy_path: Path, tests: tuple[Any, SourceMap] | None = None
) -> PolicyError:
    """``exc`` (the policy does not load) plus the unknown names its tests use, so that one run
    reports both; ``tests``: the raw cases and source map of a separate test file."""
    try:
        data, smap, _ = load_yaml_partial(policy_path)
    except PolicyError:
        return exc
    names = PolicyNames.from_data(data)
    if tests is None:
        own = data.get("tests") if isinstance(data, dict) else None
        return PolicyError(merge_issues(exc.issues, _reference_problems(own, names, smap)))
    return PolicyError([*exc.issues, *_reference_problems(tests[0], names, tests[1])])


def load_suite(path: str | Path, cache: PolicyCache | None = None) -> Suite:
    """Load the cases in ``path`` and the policy they test. Never raises for bad input: the
    problem is in :attr:`Suite.error` with its file position."""
    path = Path(path)
    cache = {} if cache is None else cache
    suite = Suite(file=str(path))
    try:
        if is_test_file(path):
            data, smap, pending = load_yaml_partial(path)
            try:
                doc = TestFileDoc.model_validate(data)
            except ValidationError as exc:
                raise PolicyError(merge_issues(
                    pending, issues_from_validation_error(exc, smap, data, TestFileDoc)
                )) from None
            if pending:
                raise PolicyError(pending)
            policy_path = path.parent / doc.policy
            suite.policy_file = str(policy_path)
            if not policy_path.is_file():
                line, col = smap.locate(("policy",))
                raise PolicyError([
                    Issue(smap.file, line, col, "policy", f"policy file {doc.policy!r} not found",
                          "the path is relative to this test file")
                ])
            try:
                suite.policy = _policy(policy_path, cache)
            except PolicyError as exc:
                raise _with_references(exc, policy_path, (data.get("tests"), smap)) from None
            suite.cases = _cases(suite.policy, doc.tests, smap, ("tests",))
        else:
            suite.policy_file = str(path)
            try:
                policy = _policy(path, cache)
            except PolicyError as exc:
                raise _with_references(exc, path) from None
            suite.policy = policy
            suite.cases = _cases(policy, list(policy.doc.tests), policy.source, ("tests",))
    except GridpilotError as exc:
        suite.error = exc
        suite.cases = []
    return suite
