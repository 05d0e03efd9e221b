"""``gridpilot sweep POLICY --data FILE --set PATH=A:B:STEP ... [--csv FILE]
[--executor local|dask|dask://HOST:PORT] [--jobs N]``: backtest every combination of settings
on all cores (or a Dask cluster), print them ranked by bill and, with ``--csv``, write them all
to a CSV file."""

from __future__ import annotations

import argparse

from gridpilot.cli.argtypes import positive_int, sweep_setting
from gridpilot.cli.fleet import add_executor_arguments, executor_spec
from gridpilot.cli.outputs import prepare_output_file, write_failed
from gridpilot.cli.simulate import add_backtest_arguments, prepare_backtest_data
from gridpilot.exitcodes import ExitCode

__all__ = ["register"]


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Backtest the policy once per combination of --set values (on every core) "
        "and rank the variants by bill. PATH is a dotted path into the policy, e.g. "
        "strategies.arbitrage.min_spread_per_kwh; values are A:B:STEP or a,b,c."
    )
    parser.add_argument("policy", metavar="POLICY", help="policy file")
    add_backtest_arguments(parser)
    parser.add_argument("--set", dest="settings", action="append", required=True,
                        type=sweep_setting,
                        metavar="PATH=A:B:STEP", help="a setting to vary (repeatable)")
    parser.add_argument("--csv", default=None, metavar="FILE",
                        help="also write the ranked table of every variant to this CSV file "
                        "(default: none is written)")
    add_executor_arguments(parser)
    parser.add_argument("--top", type=positive_int, default=20,
                        help="rows to print (default: 20)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> ExitCode:
    from rich.markup import escape
    from rich.table import Table

    from gridpilot.cli.console import StdoutConsole
    from gridpilot.fleet.sweep import run_sweep
    from gridpilot.fleet.task import SiteData
    from gridpilot.rules.loader import load_policy
    from gridpilot.simulator.sweep import check_settings, variants, write_csv

    spec = executor_spec(args)
    if spec is None:
        return ExitCode.USAGE
    settings = args.settings
    policy = load_policy(args.policy)
    csv_path = prepare_output_file(args.csv, "--csv") if args.csv else None
    check_settings(args.policy, settings)
    series, price_series = prepare_backtest_data(args, policy.tz)
    console = StdoutConsole()
    console.print(f"{len(variants(settings))} variants of {escape(policy.name)}, "
                  f"{len(series)} ticks each, priced by the "
                  f"{'data file' if args.prices == 'data' else 'policy'}")
    results = run_sweep(args.policy, SiteData(series, price_series), settings, spec,
                        initial_soc_pct=args.soc, prices=args.prices, data_name=str(args.data))
    if csv_path is not None:
        try:
            write_csv(csv_path, results)
        except OSError as exc:
            raise write_failed(csv_path, exc, "--csv") from None
    cur = policy.tariff.currency
    table = Table(title=f"ranked by bill [{cur}]")
    table.add_column("rank", justify="right")
    for s in settings:
        table.add_column(escape(".".join(s.path[-2:])), justify="right")
    table.add_column(escape(f"bill [{cur}]"), justify="right")
    table.add_column(escape("peak import [W]"), justify="right")
    table.add_column("cycles", justify="right")
    table.add_column("error")
    for i, v in enumerate(results[: args.top], start=1):
        table.add_row(
            str(i), *(str(val) for _, val in v.settings),
            "" if v.bill is None else f"{v.bill:,.2f}",
            "" if v.peak_import_w is None else f"{v.peak_import_w:,.0f}",
            "" if v.equivalent_full_cycles is None else f"{v.equivalent_full_cycles:,.1f}",
            escape(v.error),
        )
    console.print(table)
    if csv_path is not None:
        console.print(f"All {len(results)} variants written to {escape(str(csv_path))}")
    elif len(results) > args.top:
        console.print(f"The best {args.top} of {len(results)} variants; --csv FILE writes them all")
    failed = sum(1 for v in results if v.error)
    return ExitCode.INVALID if failed == len(results) else ExitCode.OK
