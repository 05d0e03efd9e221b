"""``gridpilot test PATH...``: run the scenario tests of policies and ``*.gridpilot-test.yaml``
files, print one line per case and a diff for each failure, end with ``N passed, N failed``."""

from __future__ import annotations

import argparse
import sys

from gridpilot.cli.outputs import prepare_output_file, write_failed
from gridpilot.cli.terminal import stdout
from gridpilot.exitcodes import ExitCode

__all__ = ["register"]


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Run scenario tests: the 'tests:' section of each policy file and every "
        "*.gridpilot-test.yaml file. Directories are searched recursively. Exit 0 when every "
        "case passes, 1 otherwise."
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="policy or test files, or dirs")
    parser.add_argument("--junit", metavar="FILE", help="also write JUnit XML to FILE")
    parser.add_argument(
        "-k", dest="keyword", metavar="TEXT", help="only run cases whose name contains TEXT"
    )
    parser.add_argument(
        "--no-trace", action="store_true", help="leave the decision trace out of failure reports"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    from gridpilot.testing.junit import write_junit
    from gridpilot.testing.report import (
        format_failure,
        format_load_error,
        format_status_line,
        format_summary,
    )
    from gridpilot.testing.session import run_paths

    junit = prepare_output_file(args.junit, "--junit") if args.junit else None
    try:
        results = run_paths(args.paths, keyword=args.keyword)
    except FileNotFoundError as exc:
        print(f"gridpilot test: {exc}: no such file or directory", file=sys.stderr)
        return ExitCode.INVALID
    details: list[str] = []
    for sr in results:
        if sr.suite.error is not None:
            print(f"ERROR {sr.suite.file}  (cannot load)", file=stdout())
            details.append(format_load_error(sr.suite))
        tz = sr.suite.policy.tz if sr.suite.policy is not None else None
        for r in sr.results:
            print(format_status_line(r), file=stdout())
            if r.outcome in ("failed", "error"):
                details.append(format_failure(r, tz=tz, with_trace=not args.no_trace))
    if details:
        print(file=stdout())
        for text in details:
            print(text, file=stdout())
            print(file=stdout())
    passed = sum(sr.passed for sr in results)
    failed = sum(sr.failed for sr in results)
    skipped = sum(sr.skipped for sr in results)
    if junit is not None:
        try:
            write_junit(results, junit)
        except OSError as exc:
            raise write_failed(junit, exc, "--junit") from None
    if passed + failed + skipped == 0:
        print("gridpilot test: no scenario tests found in " + ", ".join(args.paths),
              file=sys.stderr)
    if skipped:
        print(f"({skipped} skipped)", file=stdout())
    print(format_summary(passed, failed), file=stdout())
    return ExitCode.OK if failed == 0 and passed + skipped > 0 else ExitCode.INVALID
