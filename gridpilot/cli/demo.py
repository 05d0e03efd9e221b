"""``gridpilot demo``: a full year of the bundled UK example policy on the bundled 2018 data,
with the perfect-foresight optimum, the summary table and a written report.

The policy and the data ship inside the package (``gridpilot/demo/``), so the demo runs wherever
gridpilot is installed, not only in a checkout."""

from __future__ import annotations

import argparse
from pathlib import Path

from gridpilot.cli.argtypes import date_or_time, sim_step_s
from gridpilot.errors import DataError
from gridpilot.exitcodes import ExitCode

__all__ = ["BUNDLED", "DATA", "POLICY", "find_examples", "register"]

POLICY = Path("policies") / "agile-dynamic.yaml"
DATA = Path("data") / "uk-2018-halfhourly.csv"
BUNDLED = Path(__file__).resolve().parents[1] / "demo"
"""The demo's files inside the package, laid out as ``examples/`` is."""


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Replay the bundled Agile example policy over the bundled UK 2018 year, "
        "compare it with no battery, plain self-consumption and the perfect-foresight optimum, "
        "and write report.json, report.md and plots."
    )
    parser.add_argument("--step", default="30m", type=sim_step_s,
                        help="simulation step (default: 30m)")
    parser.add_argument("--out", default="gridpilot-demo", metavar="DIR",
                        help="report directory (default: ./gridpilot-demo)")
    parser.add_argument("--no-optimal", action="store_true", help="skip the optimum")
    parser.add_argument("--examples", metavar="DIR",
                        help="a directory with policies/agile-dynamic.yaml and "
                        "data/uk-2018-halfhourly.csv to use instead of the bundled ones")
    parser.add_argument("--from", dest="start", metavar="DATE", type=date_or_time,
                        help="first day (default: the whole of 2018)")
    parser.add_argument("--to", dest="end", metavar="DATE", type=date_or_time,
                        help="end, exclusive")
    parser.set_defaults(handler=run)


def find_examples(explicit: str | None = None) -> Path:
    """The directory holding the demo's policy and data: given, else the package's own."""
    root = Path(explicit) if explicit else BUNDLED
    missing = [str(root / p) for p in (POLICY, DATA) if not (root / p).is_file()]
    if missing:
        hint = ("give --examples a directory that has both" if explicit
                else "the installation is incomplete: reinstall gridpilot")
        raise DataError(f"{', '.join(missing)}: not found ({hint})")
    return root


def run(args: argparse.Namespace) -> ExitCode:
    from gridpilot.cli import simulate

    ex = find_examples(args.examples)
    # simulate's own parser gives every option its default, including options added later.
    parser = argparse.ArgumentParser(prog="gridpilot simulate")
    simulate.register(parser)
    sim_args = parser.parse_args([str(ex / POLICY), "--data", str(ex / DATA)])
    sim_args.start, sim_args.end, sim_args.step = args.start, args.end, args.step
    sim_args.optimal, sim_args.out = not args.no_optimal, args.out
    return simulate.run(sim_args)
