"""``gridpilot demo``: a full year of the bundled UK example policy on the bundled 2018 data,
with the perfect-foresight optimum, the summary table and a written report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gridpilot.cli.argtypes import sim_step_s
from gridpilot.errors import DataError

__all__ = ["find_examples", "register"]

POLICY = Path("policies") / "agile-dynamic.yaml"
DATA = Path("data") / "uk-2018-halfhourly.csv"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="backtest the bundled UK example for a whole year and show the result",
        description="Replay the bundled Agile example policy over the bundled UK 2018 year, "
        "compare it with no battery, plain self-consumption and the perfect-foresight optimum, "
        "and write report.json, report.md and plots.",
    )
    parser.add_argument("--step", default="30m", type=sim_step_s,
                        help="simulation step (default: 30m)")
    parser.add_argument("--out", default="gridpilot-demo", metavar="DIR",
                        help="report directory (default: ./gridpilot-demo)")
    parser.add_argument("--no-optimal", action="store_true", help="skip the optimum")
    parser.add_argument("--examples", metavar="DIR", help="the examples directory to use")
    parser.set_defaults(handler=run)


def find_examples(explicit: str | None = None) -> Path:
    """The examples directory: given, in the working directory, or beside the package."""
    candidates = [Path(explicit)] if explicit else [
        Path.cwd() / "examples",
        Path(__file__).resolve().parents[2] / "examples",
    ]
    for c in candidates:
        if (c / POLICY).is_file() and (c / DATA).is_file():
            return c
    raise DataError(
        "cannot find the bundled examples (examples/policies/agile-dynamic.yaml and "
        "examples/data/uk-2018-halfhourly.csv); run from the project checkout or give --examples"
    )


def run(args: argparse.Namespace) -> int:
    from gridpilot.cli.simulate import run as simulate

    ex = find_examples(args.examples)
    sim_args = argparse.Namespace(
        policy=str(ex / POLICY), data=str(ex / DATA), format="auto", start=None, end=None,
        step=args.step, fill="fail", soc=None, optimal=not args.no_optimal, out=args.out,
        no_plots=False, week=None, json=False, map=[], time_column=None, time_format=None,
        timezone=None, delimiter=None, baseline=None, max_bill_increase_pct=0.0,
    )
    return simulate(sim_args)
