"""``sweep`` on the fleet's executors: the variants of one policy on one site's prepared data,
run as a one-site fleet. The data is shipped to each worker once (a process pool's initializer,
one Dask scatter), never once per variant; variants are batched into tasks of about a second."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gridpilot.fleet.executors import ExecutorSpec, run_tasks
from gridpilot.fleet.model import DataTransform
from gridpilot.fleet.run import plan_tasks
from gridpilot.fleet.sites import Fleet, FleetSite
from gridpilot.fleet.task import Row, SiteData, Task, Variant
from gridpilot.simulator.pricesource import PriceSource
from gridpilot.simulator.sweep import SweepSetting, SweepVariant, variants

__all__ = ["PREPARED", "run_sweep"]

PREPARED = "prepared"
"""The format part of a sweep's dataset key: its data is shipped prepared, never read."""


def run_sweep(
    policy_path: str | Path,
    data: SiteData,
    settings: Sequence[SweepSetting],
    spec: ExecutorSpec,
    *,
    initial_soc_pct: float | None = None,
    prices: PriceSource = "policy",
    data_name: str = "data",
) -> list[SweepVariant]:
    """Backtest every combination of ``settings`` on ``spec``; ranked by bill (a variant that
    could not run last, with its error). ``data_name`` names the data in the dataset key."""
    combos = variants(settings)
    series = data.series
    site = FleetSite(
        index=0, name=Path(policy_path).stem, policy_path=str(policy_path), data_path=data_name,
        format=PREPARED, step_s=series.interval_s,
        start_s=int(series.start_s[0]) if len(series) else None,
        end_s=series.end_s if len(series) else None, soc_pct=initial_soc_pct,
        prices=prices, overrides=(), transform=DataTransform(), where=str(policy_path))
    tasks = plan_tasks(Fleet(Path(policy_path), site.name, [site]), combos)
    rows: list[Row] = []

    def on_rows(_task: Task, new: list[Row]) -> None:
        rows.extend(new)

    run_tasks(spec, tasks, on_rows, {site.dataset: data})
    results = [_variant(combos[int(r["variant"])], r)
               for r in sorted(rows, key=lambda r: int(r["variant"]))]
    return sorted(results, key=lambda v: (v.bill is None, v.bill if v.bill is not None else 0.0))


def _variant(settings: Variant, row: Row) -> SweepVariant:
    if row["status"] != "ok":
        error = str(row["error"])
        return SweepVariant(settings, error=error if row["status"] == "failed"
                            else f"not run: {error}")
    return SweepVariant(settings, bill=row["bill"], import_kwh=row["import_kwh"],
                        export_kwh=row["export_kwh"], peak_import_w=row["peak_import_w"],
                        equivalent_full_cycles=row["equivalent_full_cycles"])
