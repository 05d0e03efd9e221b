"""``gridpilot fleet check FLEET.yaml``, ``gridpilot fleet simulate FLEET.yaml [--set ...]
[--optimal] [--executor local|dask|dask://HOST:PORT] [--jobs N] [--out DIR] [--resume]`` and
``gridpilot fleet compare A.parquet B.parquet``: one policy across many sites."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gridpilot.cli.argtypes import positive_int, sweep_setting
from gridpilot.cli.terminal import stdout
from gridpilot.exitcodes import ExitCode

__all__ = ["register"]

def register(parser: argparse.ArgumentParser) -> None:
    parser.description = "Backtest one policy across many sites (see docs/fleet.md)."
    sub = parser.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate a fleet file and every site in it")
    check.add_argument("fleet", metavar="FLEET.yaml")
    check.set_defaults(handler=run_check)
    sim = sub.add_parser("simulate", help="backtest every site (and every --set variant)")
    sim.add_argument("fleet", metavar="FLEET.yaml")
    sim.add_argument("--set", dest="settings", action="append", default=[], type=sweep_setting,
                     metavar="PATH=A:B:STEP", help="a setting to sweep on every site (repeatable)")
    sim.add_argument("--optimal", action="store_true",
                     help="also solve each site's perfect-foresight optimum (savings captured)")
    add_executor_arguments(sim)
    sim.add_argument("--out", metavar="DIR", default="fleet-out",
                     help="results and report directory (default: fleet-out)")
    sim.add_argument("--resume", action="store_true",
                     help="keep the rows DIR already has and run only what is missing")
    sim.add_argument("--no-site-reports", action="store_true",
                     help="skip the per-site reports of the best and worst sites")
    sim.set_defaults(handler=run_simulate)
    cmp_ = sub.add_parser("compare", help="per-site change from one fleet run to another")
    cmp_.add_argument("a", metavar="A.parquet")
    cmp_.add_argument("b", metavar="B.parquet")
    cmp_.add_argument("--top", type=positive_int, default=20, help="rows to print (default 20)")
    cmp_.set_defaults(handler=run_compare)


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """``--executor``, ``--jobs`` and ``--ship``: shared with ``sweep``."""
    parser.add_argument("--executor", default="local", metavar="local|dask|dask://HOST:PORT",
                        help="where the backtests run: a local process pool (default), a Dask "
                        "LocalCluster, or an existing Dask scheduler (needs gridpilot[dask])")
    parser.add_argument("--jobs", type=positive_int,
                        help="worker processes for local and dask (default: every core); with "
                        "dask://, how many workers the cluster has (fleet simulate --optimal "
                        "plans its tasks by it)")
    parser.add_argument("--ship", choices=("path", "scatter"), default=None,
                        help="how data reaches Dask workers: read by path (shared filesystem; "
                        "default except dask://) or scattered once per dataset")


def executor_spec(args: argparse.Namespace) -> Any:
    """The executor the arguments ask for, or ``None`` after printing why it cannot be used
    (a usage error: exit 2)."""
    from gridpilot.fleet.executors import UsageError, parse_executor, require_dask

    try:
        spec = parse_executor(args.executor, args.jobs, args.ship)
        if spec.kind == "dask":
            require_dask()
    except UsageError as exc:
        print(f"gridpilot: {exc}", file=sys.stderr)
        return None
    return spec


def run_check(args: argparse.Namespace) -> ExitCode:
    from gridpilot.fleet import load_fleet

    fleet = load_fleet(args.fleet)
    out = stdout()
    for p in fleet.problems:
        print(f"site {p.name!r}: invalid", file=out)
        for issue in p.issues:
            print(f"  {issue.format()}", file=out)
    print(f"{fleet.name}: {len(fleet.sites)} of {fleet.size} sites valid"
          + (f", {len(fleet.problems)} invalid" if fleet.problems else ""), file=out)
    return ExitCode.INVALID if fleet.problems else ExitCode.OK


def _progress() -> Any:
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("fleet"), BarColumn(),
                    TextColumn("{task.completed}/{task.total} site-variants"),
                    TimeRemainingColumn(), console=Console(stderr=True))


def run_simulate(args: argparse.Namespace) -> ExitCode:
    from gridpilot.fleet import load_fleet
    from gridpilot.fleet.report import write_fleet_report
    from gridpilot.fleet.run import simulate_fleet
    from gridpilot.fleet.site_reports import write_site_reports
    from gridpilot.simulator.sweep import variants

    spec = executor_spec(args)
    if spec is None:
        return ExitCode.USAGE
    fleet = load_fleet(args.fleet)
    for p in fleet.problems:
        print(f"warning: site {p.name!r} is invalid and will be listed as failed: {p.error}",
              file=sys.stderr)
    combos = variants(args.settings) if args.settings else [()]
    out_dir = Path(args.out)
    bar = _progress()
    if bar is not None:
        with bar:
            task = bar.add_task("fleet", total=fleet.size * len(combos))
            result = simulate_fleet(
                fleet, out_dir, spec, variants=combos, optimal=args.optimal, resume=args.resume,
                progress=lambda done, total: bar.update(task, completed=done))
    else:
        result = simulate_fleet(fleet, out_dir, spec, variants=combos, optimal=args.optimal,
                                resume=args.resume)
    links = {} if args.no_site_reports else write_site_reports(
        fleet, result.rows, out_dir, optimal=args.optimal, jobs=spec.jobs, optima=result.optima)
    summary = write_fleet_report(result.rows, out_dir, title=fleet.name, site_reports=links)
    out = stdout()
    print(f"{fleet.name}: {summary.ok} of {summary.sites} sites ran"
          f" ({result.tasks_run} tasks, {result.rows_reused} rows kept from before); "
          f"saving {summary.total_saving:,.2f} {summary.currency} against no battery", file=out)
    if summary.failed:
        print(f"{len(summary.failed)} site-variants failed or were lost (see fleet.md)", file=out)
    print(f"Results: {result.results_path}; report: {out_dir / 'fleet.md'}", file=out)
    return ExitCode.INVALID if summary.ok == 0 else ExitCode.OK


def run_compare(args: argparse.Namespace) -> ExitCode:
    from rich.markup import escape
    from rich.table import Table

    from gridpilot.cli.console import StdoutConsole
    from gridpilot.fleet.compare import compare_results

    changes, unmatched = compare_results(args.a, args.b)
    console = StdoutConsole()
    losers = [c for c in changes if c.change > 0]
    table = Table(title="per-site bill change, B against A (positive: B costs more)")
    for col in ("site", "settings", "bill A", "bill B", "change"):
        table.add_column(col, justify="left" if col in ("site", "settings") else "right")
    for c in changes[: args.top]:
        table.add_row(escape(c.site), escape("" if c.settings == "{}" else c.settings),
                      f"{c.bill_a:,.2f}", f"{c.bill_b:,.2f}", f"{c.change:+,.2f}")
    console.print(table)
    console.print(f"{len(losers)} of {len(changes)} sites lose money with B, "
                  f"{sum(c.change for c in losers):,.2f} in all; net change "
                  f"{sum(c.change for c in changes):+,.2f}")
    for line in unmatched:
        console.print(escape(f"not compared: {line}"))
    return ExitCode.OK
