"""``gridpilot prices show POLICY [--json] [--at TIME] [--state-dir DIR] [--offline]`` and
``gridpilot prices fetch POLICY --from DATE --to DATE --out FILE.csv``: the live prices of a
policy's tariff.

``show`` reads the price cache of the policy's state directory (as ``gridpilot run`` keeps it),
fetches what the known-when rule says should be known by now and the cache lacks (storing it,
as a run would; ``--offline`` fetches nothing), then prints every slot from now to the end of
what is known, with where each price came from: a provider (fetched now), a provider's cached
series, the fixed schedule, or none (a live run's fail-safe). It also shows when each side is
refreshed next.

``fetch`` writes a price history for backtests (:mod:`gridpilot.simulator.pricehistory`): the
tariff's prices of ``[--from, --to)`` (site dates, ``--to`` exclusive), fetched from the
providers in failover order. Exit status 1 when a live side has gaps (the file holds what was
fetched) or nothing could be fetched (no file is written).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from gridpilot.cli.argtypes import date_or_time
from gridpilot.cli.outputs import prepare_output_file, write_failed
from gridpilot.cli.terminal import stdout
from gridpilot.errors import DataError, GridpilotError
from gridpilot.exitcodes import ExitCode

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from gridpilot.rules.policy import Policy
    from gridpilot.simulator.pricehistory import HistoryRows

__all__ = ["http_client", "register"]


def http_client() -> httpx.Client:
    """The client providers send through: TLS verified, no redirects to other hosts followed
    silently. Tests replace this function to reach an emulator."""
    return httpx.Client(follow_redirects=True)


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Show the live prices a policy's tariff knows now, or fetch their "
                          "history for backtests.")
    sub = parser.add_subparsers(dest="prices_command", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="what is known now, per slot, and where it came from")
    show.add_argument("policy", metavar="POLICY", help="policy file")
    show.add_argument("--json", action="store_true", help="print machine-readable JSON")
    show.add_argument("--at", metavar="ISO-TIME", type=date_or_time,
                      help="show what is known at this time (default: now)")
    show.add_argument("--state-dir", metavar="DIR",
                      help="where the price cache is (default: the policy's run.state_dir)")
    show.add_argument("--offline", action="store_true",
                      help="fetch nothing: show the cache and the fixed schedule only")
    show.set_defaults(handler=run_show)
    fetch = sub.add_parser("fetch", help="write the price history of a period to a CSV file")
    fetch.add_argument("policy", metavar="POLICY", help="policy file")
    fetch.add_argument("--from", dest="start", required=True, metavar="DATE",
                       type=date_or_time, help="first day (site time, YYYY-MM-DD or ISO time)")
    fetch.add_argument("--to", dest="end", required=True, metavar="DATE", type=date_or_time,
                       help="end (exclusive, site time)")
    fetch.add_argument("--out", required=True, metavar="FILE.csv",
                       help="the CSV to write (simulate --price-history, dynamic.file)")
    fetch.set_defaults(handler=run_fetch)


def _load(path: str) -> Policy:
    from gridpilot.rules.loader import load_policy

    return load_policy(path)


def _time(text: str | None, policy: Policy) -> datetime:
    from gridpilot.clock import SystemClock

    if text is None:
        return SystemClock().now()
    from gridpilot.simulator.backtest_data import parse_date

    return datetime.fromtimestamp(parse_date(text, policy.tz, "--at"), policy.tz)


def run_show(args: argparse.Namespace) -> ExitCode:
    from gridpilot.cli.prices_show import price_view, render_text
    from gridpilot.clock import ManualClock
    from gridpilot.scheduler.locate import state_dir_for_policy

    policy = _load(args.policy)
    now = _time(args.at, policy)
    state_dir = (Path(args.state_dir) if args.state_dir
                 else state_dir_for_policy(Path(args.policy), policy.doc.run.state_dir))
    with http_client() as client:
        view = price_view(policy, state_dir, ManualClock(now), client,
                          base_dir=Path(args.policy).resolve().parent, offline=args.offline)
    if args.json:
        print(json.dumps(view, indent=2), file=stdout())
    else:
        render_text(view, stdout())
    return ExitCode.OK


def run_fetch(args: argparse.Namespace) -> ExitCode:
    from gridpilot.clock import SystemClock
    from gridpilot.prices.base import ProviderContext
    from gridpilot.simulator.backtest_data import parse_date
    from gridpilot.simulator.pricehistory import fetch_history, history_rows, live_sides

    policy = _load(args.policy)
    tz = policy.tz
    start_s = parse_date(args.start, tz, "--from")
    end_s = parse_date(args.end, tz, "--to")
    if end_s <= start_s:
        raise DataError(f"--to {args.end} is not after --from {args.start}")
    sides = live_sides(policy.tariff)
    if not sides:
        raise GridpilotError(f"{args.policy}: the tariff takes no prices from a provider "
                             "(tariff.import/export: provider); there is nothing to fetch")
    out = prepare_output_file(args.out, "--out")
    start, end = datetime.fromtimestamp(start_s, tz), datetime.fromtimestamp(end_s, tz)
    with http_client() as client:
        context = ProviderContext(client, SystemClock(), tz, Path(args.policy).resolve().parent)
        got = fetch_history(policy.tariff, context, start, end)
    for error in got.errors:
        print(f"error: {error}", file=sys.stderr)
    rows = history_rows(policy.tariff, start_s, end_s)
    if rows.start_s.shape[0] == 0:
        raise DataError(f"no prices fetched for {args.start} to {args.end}; nothing written "
                        f"to {args.out}" + ("" if got.errors else " (the providers have none "
                                            "for this period; one that serves only today and "
                                            "tomorrow, like tibber, has no history: give "
                                            "simulate --price-history a live run's state "
                                            "directory instead)"))
    _write(out, rows)
    gaps = 0
    for name, runs in rows.gaps.items():
        for lo, hi in runs:
            gaps += 1
            print(f"warning: tariff.{name}: no price from {_local(lo, tz)} to {_local(hi, tz)}",
                  file=sys.stderr)
    slot_min = rows.resolution_s // 60
    print(f"wrote {rows.start_s.shape[0]} rows of {slot_min}-minute prices "
          f"({', '.join(n for n, _ in sides)} from "
          f"{', '.join(s.label for _, side in sides for s in side.providers)}) to {out}"
          + (f"; {gaps} gap(s), see above" if gaps else ""), file=stdout())
    return ExitCode.INVALID if gaps or got.errors else ExitCode.OK


def _local(t_s: int, tz: ZoneInfo) -> str:
    from gridpilot.timefmt import format_time

    return format_time(datetime.fromtimestamp(t_s, tz), tz)


def _write(out: Path, rows: HistoryRows) -> None:
    from gridpilot.simulator.pricehistory import write_history_csv

    # Written beside the target and renamed: an interrupted fetch leaves the old file whole.
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write_history_csv(rows, fh)
        os.replace(tmp, out)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise write_failed(out, exc, "--out") from None
