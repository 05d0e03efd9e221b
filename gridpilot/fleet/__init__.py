"""Fleets: one policy (or a few) backtested across many sites, with per-site overrides and
sweeps of variants, on a local process pool or a Dask cluster.

Floor 6, beside the simulator: it builds on :func:`gridpilot.simulator.backtest.run_backtest`
and the sweep's ``--set`` machinery (:mod:`gridpilot.simulator.sweep`), and on the recorded-data
loaders. Nothing below imports it; the command line is :mod:`gridpilot.cli.fleet`.
"""

from __future__ import annotations

from gridpilot.fleet.model import DataTransform, FleetDoc, SiteDoc
from gridpilot.fleet.sites import Fleet, FleetSite, SiteProblem, load_fleet

__all__ = [
    "DataTransform",
    "Fleet",
    "FleetDoc",
    "FleetSite",
    "SiteDoc",
    "SiteProblem",
    "load_fleet",
]
