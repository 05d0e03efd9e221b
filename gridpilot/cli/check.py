"""``gridpilot check FILE|DIR... [--json]``: validate policies and report every problem.

A directory stands for the policies under it, searched recursively like ``gridpilot test`` does
(hidden directories skipped): ``*.yaml``/``*.yml`` files with top-level ``version:`` and ``site:``,
and scenario test files (``*.gridpilot-test.yaml``), which are validated with the policy they
name. Other YAML under a directory (CI workflows, ...) is skipped; a directory with no policy at
all is an error. A file named on the command line is always checked. Every
error of every file is reported, each as ``FILE:LINE:COL: section.path: message (hint: ...)``.
Exit status 0 when every file passes, 1 when any has an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gridpilot.cli.terminal import stdout
from gridpilot.errors import Issue, PolicyError
from gridpilot.exitcodes import ExitCode

__all__ = ["check_file", "expand_paths", "register"]


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Validate policy files (or every policy under a directory, recursively) "
        "and report every problem with its file position. Exit status 1 when any file has an "
        "error."
    )
    parser.add_argument("paths", nargs="+", metavar="FILE|DIR", help="policy files or directories")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.set_defaults(handler=run)


def expand_paths(paths: list[str]) -> tuple[list[Path], list[Issue]]:
    """Files to check, and issues for directories that hold no policy."""
    from gridpilot.testing.suite import files_below, is_test_file, looks_like_policy, unique_files

    def wanted(path: Path) -> bool:
        return path.suffix in (".yaml", ".yml") and (is_test_file(path) or looks_like_policy(path))

    files: list[Path] = []
    issues: list[Issue] = []
    for text in paths:
        p = Path(text)
        if p.is_dir():
            found = files_below(p, wanted)
            if not found:
                issues.append(Issue(
                    text, 0, 0, "",
                    "no policy (a YAML file with 'version:' and 'site:') or "
                    "*.gridpilot-test.yaml file in this directory or below",
                ))
        else:
            found = [p]
        files.extend(found)
    return unique_files(files), issues


def check_file(path: Path) -> list[Issue]:
    """Every problem of the policy or ``*.gridpilot-test.yaml`` file at ``path`` (an empty list
    when it is valid), including scenario cases that name rules or guards the policy lacks."""
    return check_file_with_warnings(path)[0]


def check_file_with_warnings(path: Path) -> tuple[list[Issue], list[Issue]]:
    """The errors of :func:`check_file`, and the warnings (secrets written in plain text, live
    prices without a fixed schedule behind them) of a policy that has no error."""
    from gridpilot.devices.registry import DEVICES
    from gridpilot.forecasts.registry import FORECASTS
    from gridpilot.rules.loader import merge_issues
    from gridpilot.rules.plaintext import plaintext_secrets
    from gridpilot.rules.tariff_fallback import unbacked_live_sides
    from gridpilot.scheduler.site_device import (
        device_issues,
        device_settings_issues,
        device_settings_issues_in,
    )
    from gridpilot.strategies.registry import STRATEGIES
    from gridpilot.testing.suite import is_test_file, load_suite

    # The device is checked with its policy; a test file's policy is checked on its own.
    with_device = not is_test_file(path)
    suite = load_suite(path)
    if suite.error is not None:
        if isinstance(suite.error, PolicyError):
            more = device_settings_issues_in(path) if with_device else []
            return (merge_issues(suite.error.issues, more) if more else suite.error.issues), []
        return [Issue(str(path), 0, 0, "", str(suite.error))], []
    if suite.policy is not None and with_device:
        settings = device_settings_issues(suite.policy.doc.device.model_dump(),
                                          suite.policy.source)
        if settings:
            return settings, []
    problems = [problem for case in suite.cases for problem in case.problems]
    warnings: list[Issue] = []
    if suite.policy is not None and with_device:
        problems += device_issues(suite.policy)
        data = suite.policy.doc.model_dump(by_alias=True)
        warnings = plaintext_secrets(data, suite.policy.source, {
            "device": DEVICES, "forecast": FORECASTS, "strategy": STRATEGIES})
        warnings += unbacked_live_sides(suite.policy)
    return problems, warnings


def run(args: argparse.Namespace) -> ExitCode:
    files, dir_issues = expand_paths(list(args.paths))
    results: list[tuple[str, list[Issue]]] = [(i.file, [i]) for i in dir_issues]
    warned: dict[str, list[Issue]] = {}
    for f in files:
        errors, warnings = check_file_with_warnings(f)
        results.append((str(f), errors))
        warned[str(f)] = warnings
    n_errors = sum(len(issues) for _, issues in results)
    n_warnings = sum(len(w) for w in warned.values())
    if args.json:
        out = {
            "ok": n_errors == 0,
            "files": [
                {"file": name, "ok": not issues, "issues": [i.as_dict() for i in issues],
                 "warnings": [w.as_dict() for w in warned.get(name, [])]}
                for name, issues in results
            ],
            "error_count": n_errors,
            "warning_count": n_warnings,
        }
        print(json.dumps(out, indent=2), file=stdout())
    else:
        for name, issues in results:
            if issues:
                for issue in issues:
                    print(issue.format(), file=stdout())
            else:
                print(f"{name}: ok", file=stdout())
            for warning in warned.get(name, []):
                print(warning.format(), file=stdout())
        n_bad = sum(1 for _, issues in results if issues)
        summary = f"{len(results)} file(s) checked, {n_errors} error(s) in {n_bad} file(s)"
        if n_warnings:
            summary += f", {n_warnings} warning(s)"
        print(summary, file=sys.stderr)
    return ExitCode.INVALID if n_errors else ExitCode.OK
