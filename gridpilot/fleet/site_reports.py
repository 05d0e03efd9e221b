"""The own backtest report of a fleet's best and worst sites (their best variant), re-run after
the fleet: a row says how a site did, its report shows why.

The reports are the fleet's rows again (:func:`gridpilot.fleet.task.backtest_variant`, the same
recipe), each a whole backtest, with ``--optimal`` its optima too: as dear as a site of the
fleet. They run in a local process pool of ``jobs`` processes (on this machine, whatever the
fleet's executor: each writes its report into the output directory), so that ten reports do not
take as long as the whole fleet did on its workers.

With ``--optimal``, the optimum is the dear part (several times the replay), and a report shows
only its figures, which the fleet's row kept (:data:`~gridpilot.fleet.task.OPTIMUM`): a report
handed them does not solve it again, unless its inputs no longer give the same optimum (the
site's data or policy changed since a resumed run's row).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridpilot.fleet.report import summarise
from gridpilot.fleet.sites import Fleet, FleetSite
from gridpilot.fleet.task import Row, backtest_variant, load_dataset, prepare_site_series

__all__ = ["SITE_REPORTS", "write_site_reports"]

SITE_REPORTS = 5
"""Best and worst sites that get their own backtest report."""


@dataclass(frozen=True)
class _Job:
    site: FleetSite
    settings: str
    """The variant's settings as the row has them (JSON)."""
    out_dir: Path
    optimal: bool
    optimum: dict[str, Any] | None = None
    """The row's optimum figures as the journal has them (``None``: solve it)."""


def write_site_reports(fleet: Fleet, rows: list[Row], out_dir: Path, *, optimal: bool,
                       jobs: int | None = None,
                       optima: Mapping[tuple[int, int], dict[str, Any]] | None = None,
                       ) -> dict[str, str]:
    """Write the reports of the best and worst :data:`SITE_REPORTS` sites under
    ``out_dir/sites/``; site name -> the report's path relative to ``out_dir``. ``optima``:
    the rows' optimum figures by (site index, variant), as :class:`~gridpilot.fleet.run.FleetRun`
    has them."""
    per_site = summarise(rows).per_site
    chosen = {r["site"]: r for r in [*per_site[:SITE_REPORTS], *per_site[-SITE_REPORTS:]]}
    sites = {s.name: s for s in fleet.sites}
    known = optima or {}
    work = [_Job(sites[name], str(row["settings"]), out_dir / "sites" / _slug(name), optimal,
                 known.get((int(row["site_index"]), int(row["variant"]))) if optimal else None)
            for name, row in chosen.items() if name in sites]
    workers = max(1, min(jobs or os.cpu_count() or 1, len(work)))
    if workers == 1:
        for job in work:
            _write(job)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            list(pool.map(_write, work))
    return {job.site.name: f"sites/{job.out_dir.name}/report.md" for job in work}


def _write(job: _Job) -> None:
    from gridpilot.rules.loader import load_policy_doc
    from gridpilot.simulator.optimum_figures import OptimumFigures
    from gridpilot.simulator.report import write_report

    site = job.site
    _doc, smap, pdata = load_policy_doc(site.policy_path)
    series = prepare_site_series(load_dataset(site.data_path, site.format), site)
    bt = backtest_variant(site, (smap, pdata), tuple(json.loads(job.settings).items()), series,
                          optimal=job.optimal, known_optimum=OptimumFigures.from_dict(job.optimum))
    write_report(bt, job.out_dir, data=series.report, plots=False)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:80] or "site"
