"""``gridpilot simulate POLICY --data FILE [--from DATE] [--to DATE] [--step 5m] [--optimal]
[--prices policy|data] [--price-history FILE.csv|DIR] [--accept-implausible] [--out DIR] [--json]
[--baseline REPORT.json --max-bill-increase-pct PCT]``: backtest a policy.

Prints a summary table (with a progress bar while it runs, on a terminal), or the report as JSON
with ``--json``. With ``--out DIR`` it writes ``report.json``, ``report.md`` and PNG plots there.
Dates are read in the site's timezone; ``--to`` is exclusive. Warnings about the data (a
requested period the data does not cover, implausible values) go to stderr and into the report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from gridpilot.cli.argtypes import (
    column_map,
    data_format,
    date_or_time,
    delimiter,
    finite_float,
    sim_step_s,
    timezone_name,
)
from gridpilot.cli.outputs import prepare_output_dir, write_failed
from gridpilot.cli.terminal import stdout
from gridpilot.errors import DataError
from gridpilot.exitcodes import ExitCode
from gridpilot.simulator.backtest_data import (
    BacktestData,
    DataOptions,
    local_minute,
    parse_date,
    requested_period,
)

if TYPE_CHECKING:
    from gridpilot.recorded.base import TimeSeries
    from gridpilot.simulator.backtest import Backtest
    from gridpilot.simulator.pricesource import PriceSource

__all__ = [
    "add_backtest_arguments",
    "bill_gate",
    "data_options",
    "prepare_backtest_data",
    "register",
    "show_summary",
]


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Replay recorded load, PV and prices through the policy's decisions and a "
        "battery model; bill the result and compare it with no battery, plain "
        "self-consumption and (with --optimal) the perfect-foresight optimum."
    )
    parser.add_argument("policy", metavar="POLICY", help="policy file")
    add_backtest_arguments(parser)
    parser.add_argument("--optimal", action="store_true",
                        help="also solve the perfect-foresight optimum (linear programme)")
    parser.add_argument("--out", metavar="DIR", help="write report.json, report.md and plots here")
    parser.add_argument("--no-plots", action="store_true", help="with --out: skip the PNG plots")
    parser.add_argument("--week", metavar="DATE", type=date_or_time,
                        help="first day of the week to plot (default: the busiest week)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--price-history", metavar="FILE.csv|DIR",
                        help="the prices of a tariff's live providers: a CSV written by "
                        "'gridpilot prices fetch', or the state directory of a live run")
    parser.add_argument("--baseline", metavar="REPORT.json",
                        help="compare the bill with an accepted report.json (a bill gate for CI)")
    parser.add_argument("--max-bill-increase-pct", type=finite_float(), default=0.0,
                        metavar="PCT",
                        help="with --baseline: exit 1 when the bill grows by more than this "
                        "(default 0)")
    parser.set_defaults(handler=run)


def add_backtest_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="FILE", help="recorded data file")
    parser.add_argument("--format", default="auto", type=data_format,
                        help="data format (default: detected from the header)")
    parser.add_argument("--from", dest="start", metavar="DATE", type=date_or_time,
                        help="first day (site time, YYYY-MM-DD or ISO time)")
    parser.add_argument("--to", dest="end", metavar="DATE", type=date_or_time,
                        help="end (exclusive, site time)")
    parser.add_argument("--step", default="5m", type=sim_step_s,
                        help="simulation step: 1m, 5m, 15m, 30m or 1h")
    parser.add_argument("--fill", default="fail", choices=("fail", "hold", "linear", "zero"),
                        help="what to do with gaps in the data (default: fail)")
    parser.add_argument("--soc", type=finite_float(min_value=0.0, max_value=100.0),
                        metavar="PCT",
                        help="initial SOC [%%] (default: the battery's minimum)")
    parser.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN[:UNIT]",
                        type=column_map,
                        help="read a CSV through a column mapping, e.g. load_w=House:kW "
                        "(repeatable; with --format xstorage-csv it overrides single fields)")
    parser.add_argument("--time-column", default=None, metavar="NAME",
                        help="with --map: the timestamp column (default: timestamp)")
    parser.add_argument("--time-format", default=None,
                        help="with --map or an xStorage CSV export: auto, iso, epoch_s, epoch_ms "
                        "or a strptime pattern (default: iso with --map, auto for xStorage)")
    parser.add_argument("--timezone", default=None, type=timezone_name,
                        help="how timestamps without an offset are read (IANA name; default: "
                        "the site's timezone)")
    parser.add_argument("--delimiter", default=None, type=delimiter,
                        help="the CSV delimiter of csv or xstorage-csv data, with or without "
                        "--map (one character, or tab; default: comma, detected for xStorage)")
    parser.add_argument("--prices", default="policy", choices=("policy", "data"),
                        help="whose prices decide and bill: the policy's tariff (default) or "
                        "the data's import_price and export_price columns")
    parser.add_argument("--accept-implausible", action="store_true",
                        help="use data values beyond what a home or small site can draw or "
                        "make (above 1 MW) instead of refusing them")


def data_options(args: argparse.Namespace) -> DataOptions:
    """The ``--data`` options of ``simulate`` and ``sweep`` as the simulator takes them."""
    from gridpilot.recorded.resample import parse_step

    # The parser has already turned --step into seconds; callers building their own
    # arguments (``gridpilot demo``) may pass the text.
    step_s = args.step if isinstance(args.step, int) else parse_step(args.step)
    return DataOptions(
        data=args.data, format=args.format, start=args.start, end=args.end, step_s=step_s,
        fill=args.fill, map=tuple(args.map), time_column=args.time_column,
        time_format=args.time_format, timezone=getattr(args, "timezone", None),
        delimiter=args.delimiter,
        prices="data" if getattr(args, "prices", "policy") == "data" else "policy",
        accept_implausible=bool(getattr(args, "accept_implausible", False)))


def prepare_backtest_data(args: argparse.Namespace, tz: ZoneInfo) -> BacktestData:
    """Load ``--data``, check it, cut it to ``--from``/``--to`` and resample it to ``--step``
    (:func:`gridpilot.simulator.backtest_data.prepare_backtest_data`); every warning is
    printed to stderr and kept in the load report."""
    from gridpilot.simulator.backtest_data import prepare_backtest_data as prepare

    data = prepare(data_options(args), tz)
    for warning in data.series.report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return data


def _progress(enabled: bool) -> Any:
    if not enabled:
        return None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    # On stderr, so the summary (or --json) on stdout stays clean when piped.
    return Progress(
        TextColumn("replaying"), BarColumn(), TextColumn("{task.completed}/{task.total} ticks"),
        TimeRemainingColumn(), transient=True, console=Console(stderr=True),
    )


def run(args: argparse.Namespace) -> ExitCode:
    from gridpilot.rules.loader import load_policy
    from gridpilot.simulator.backtest import run_backtest
    from gridpilot.simulator.report import report_dict, write_report

    policy = load_policy(args.policy)
    if args.price_history:
        from gridpilot.simulator.pricehistory import with_price_history

        policy = with_price_history(policy, Path(args.price_history))
    if args.out:
        prepare_output_dir(args.out, "--out", keep=False)
    series, price_series = prepare_backtest_data(args, policy.tz)
    requested = requested_period(data_options(args), policy.tz)
    prices: PriceSource = "data" if getattr(args, "prices", "policy") == "data" else "policy"
    week = parse_date(args.week, policy.tz, "--week") if args.week else None
    if week is not None and not int(series.start_s[0]) <= week < series.end_s:
        raise DataError(
            f"--week {args.week}: outside the simulated period "
            f"{local_minute(int(series.start_s[0]), policy.tz)} to "
            f"{local_minute(series.end_s, policy.tz)} "
            "(choose a day inside it, or leave --week out for the busiest week)"
        )
    bar = _progress(sys.stderr.isatty() and not args.json)
    if bar is not None:
        with bar:
            task = bar.add_task("replay", total=len(series))

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done)

            bt = run_backtest(policy, series, optimal=args.optimal,
                              initial_soc_pct=args.soc, progress=progress, prices=prices,
                              price_series=price_series)
    else:
        bt = run_backtest(policy, series, optimal=args.optimal, initial_soc_pct=args.soc,
                          prices=prices, price_series=price_series)
    if args.out:
        try:
            report = write_report(bt, args.out, data=series.report, week_start_s=week,
                                  plots=not args.no_plots, requested=requested)
        except OSError as exc:
            raise write_failed(exc.filename or args.out, exc, "--out") from None
    else:
        report = report_dict(bt, series.report, requested=requested)
    if args.json:
        print(json.dumps(report, indent=2), file=stdout())
    else:
        show_summary(bt, out=Path(args.out) if args.out else None, requested=requested)
        _show_data_notes(series)
    if args.baseline:
        return bill_gate(report, Path(args.baseline), args.max_bill_increase_pct)
    return ExitCode.OK


def bill_gate(report: dict[str, Any], baseline_path: Path, max_increase_pct: float) -> ExitCode:
    """Compare the policy's bill with the one in an accepted ``report.json``; 1 on a regression.

    The verdict goes to stderr so ``--json`` output on stdout stays machine-readable.
    """
    try:
        baseline = json.loads(baseline_path.read_text(encoding="utf-8"))
        old = float(baseline["results"]["policy"]["bill"])
    except FileNotFoundError:
        raise DataError(f"--baseline {baseline_path}: file not found") from None
    except (OSError, ValueError, KeyError, TypeError):
        raise DataError(
            f"--baseline {baseline_path}: not a gridpilot report.json "
            "(expected results.policy.bill); write one with --out DIR"
        ) from None
    new = float(report["results"]["policy"]["bill"])
    change_pct = (new - old) / (abs(old) or 1.0) * 100.0
    verdict = "FAIL" if change_pct > max_increase_pct else "ok"
    print(
        f"bill gate: {verdict}: bill {new:.2f} against the baseline {old:.2f} "
        f"({change_pct:+.2f} %, limit +{max_increase_pct:g} %)",
        file=sys.stderr,
    )
    return ExitCode.INVALID if verdict == "FAIL" else ExitCode.OK


def _show_data_notes(series: TimeSeries) -> None:
    """What the loader found and changed, so no repair goes unnoticed."""
    r = series.report
    notes = [*r.repairs]
    if r.duplicates:
        notes.append(f"{r.duplicates} duplicate row(s) dropped")
    if r.gaps:
        first = r.gaps[0]
        notes.append(f"{len(r.gaps)} gap(s) in the file, the first {first[0]}..{first[1]}")
    for note in notes:
        print(f"data: {note}", file=stdout())


def show_summary(
    bt: Backtest,
    out: Path | None = None,
    requested: tuple[int | None, int | None] = (None, None),
) -> None:
    """Print the comparison table (rich) to stdout, with the simulated dates in site time and
    the prices used."""
    from rich.markup import escape
    from rich.table import Table

    from gridpilot.cli.console import StdoutConsole
    from gridpilot.simulator.report import simulated_period

    cur = bt.currency
    runs = [("Policy", bt.policy), ("No battery", bt.no_battery),
            ("Self-consumption", bt.self_consumption)]
    if bt.optimum is not None:
        runs.append(("Optimum", bt.optimum))
    rep = bt.replay
    table = Table(title=f"{bt.policy_name}: {len(rep)} ticks of {rep.step_s} s")
    table.add_column("")
    for name, _ in runs:
        table.add_column(name, justify="right")
    rows: list[tuple[str, Any]] = [
        (f"Bill [{cur}]", lambda t: f"{t.bill:,.2f}"),
        (f"Energy cost [{cur}]", lambda t: f"{t.energy_cost:,.2f}"),
        (f"Export revenue [{cur}]", lambda t: f"{t.export_revenue:,.2f}"),
        (f"Standing + demand [{cur}]", lambda t: f"{t.standing_charge + t.demand_charge:,.2f}"),
        ("Import [kWh]", lambda t: f"{t.import_kwh:,.0f}"),
        ("Export [kWh]", lambda t: f"{t.export_kwh:,.0f}"),
        ("Peak import [W]", lambda t: f"{t.peak_import_w:,.0f}"),
        ("Self-sufficiency", lambda t: f"{t.self_sufficiency:.1%}"),
        ("Full cycles", lambda t: f"{t.equivalent_full_cycles:,.1f}"),
    ]
    for label, fmt in rows:
        table.add_row(escape(label), *(fmt(t) for _, t in runs))
    keys = {"Policy": "policy", "Self-consumption": "self_consumption", "Optimum": "optimum"}
    table.add_row(escape("Loss-making discharge [kWh]"), *(
        f"{bt.loss_making_cycles_kwh.get(keys.get(name, ''), 0.0):,.1f}" for name, _ in runs))
    console = StdoutConsole()
    per = simulated_period(bt, requested)
    console.print(escape(
        f"Simulated: {_clock(per['start_local'])} to {_clock(per['end_local'])} "
        f"({per['timezone']}; the last step starts {_clock(per['last_tick_local'])}), "
        f"{(bt.replay.start_s[-1] + rep.step_s - bt.replay.start_s[0]) / 86400:.4g} days"
    ))
    if per["shortened"]:
        console.print(escape(
            f"Shortened: the data does not cover the requested "
            f"{_clock(per['requested_start']) or 'start'} to "
            f"{_clock(per['requested_end']) or 'end'}"
        ))
    console.print(escape(f"Prices: {bt.prices_note}"))
    console.print(table)
    saved = bt.no_battery.bill - bt.policy.bill
    console.print(f"Saving against no battery: {saved:,.2f} {cur}")
    sc = bt.savings_captured
    if sc is not None:
        console.print(
            f"Savings captured: {sc:.1%} of the perfect-foresight saving (bill + wear, "
            f"against the optimum that keeps the {bt.optimum_floor_soc_pct or 0:g} % reserve)"
        )
        full = bt.savings_captured_full_range
        if full is not None and bt.optimum_floor_soc_pct != bt.params.min_soc_pct:
            console.print(f"  against the full-range optimum (down to "
                          f"{bt.params.min_soc_pct:g} %): {full:.1%}")
    console.print(f"Replay: {rep.elapsed_s:.2f} s ({len(rep) / max(rep.elapsed_s, 1e-9):,.0f} "
                  "ticks/s)")
    if out is not None:
        console.print(f"Report written to {out}/report.md")


def _clock(iso: str | None) -> str | None:
    """``2018-01-01T00:00:00+00:00`` -> ``2018-01-01 00:00`` (the zone is named beside it)."""
    return None if iso is None else iso[:16].replace("T", " ")
