"""The one task function every executor runs: one site × a batch of variants -> result rows.

A task is coarse on purpose (a site-year is about a second of CPU): Dask's per-task overhead
stays negligible, and the data travels once per task at most. The recorded data comes either
as the already-loaded series (scattered once per distinct dataset) or as ``None``, when the
worker reads the file by path itself (a shared filesystem), keeping the last few datasets it
read for the next tasks.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gridpilot.errors import GridpilotError
from gridpilot.fleet.sites import FleetSite
from gridpilot.recorded import load_data
from gridpilot.recorded.base import TimeSeries
from gridpilot.recorded.resample import resample
from gridpilot.simulator.kept import Kept

if TYPE_CHECKING:
    from gridpilot.rules.yamlsource import SourceMap
    from gridpilot.simulator.backtest import Backtest
    from gridpilot.simulator.optimum_figures import OptimumFigures

__all__ = ["OPTIMUM", "ROW_FIELDS", "Row", "Shipped", "SiteData", "Task", "Variant",
           "backtest_variant", "install_datasets", "load_dataset", "prepare_site_series",
           "row_optima", "run_task", "site_row"]

Variant = tuple[tuple[str, Any], ...]
"""One sweep combination: (dotted path, value) pairs; ``()`` is the site's policy as it is."""

Row = dict[str, Any]

ROW_FIELDS: tuple[str, ...] = (
    "site", "site_index", "variant", "settings", "status", "error", "currency", "days",
    "bill", "no_battery_bill", "self_consumption_bill", "saving", "optimal_bill",
    "savings_captured", "import_kwh", "export_kwh", "peak_import_w", "equivalent_full_cycles",
)
"""The columns of ``results.parquet``, in order. ``status``: ``ok``, ``failed`` (the site or
variant is invalid, or its data is: deterministic, kept on ``--resume``) or ``lost`` (its worker
died twice, or the run stopped: run again on ``--resume``). Money in the policy's currency."""

OPTIMUM = "optimum"
"""With ``--optimal``, a row also carries its optimum's figures under this key
(:meth:`~gridpilot.simulator.optimum_figures.OptimumFigures.as_dict`, about 8 kB for a year):
kept in the journal, not in the results file, for the sites' own reports
(:mod:`gridpilot.fleet.site_reports`). A task's later rows with the same optimum (variants that
leave the battery as it is) carry only its ``key``; :func:`row_optima` reads them back."""


@dataclass(frozen=True)
class Task:
    key: str
    site: FleetSite
    variants: tuple[Variant, ...]
    first_variant: int
    """The variant number of ``variants[0]`` (rows are numbered across the whole sweep)."""
    optimal: bool = False


@dataclass(frozen=True)
class SiteData:
    """A site's data already prepared by the caller (``sweep``: cut, resampled and checked as
    ``simulate`` does), run as it is: no transform, cut or resampling in the task. Not a
    tuple, which Dask would scatter element by element."""

    series: TimeSeries
    prices: TimeSeries | None = None
    """With ``prices: data``: the data's prices to decide with, past the simulated period."""


Shipped = TimeSeries | SiteData
"""What a worker receives instead of reading a data file: the recorded data as loaded (the
task transforms, cuts and resamples it for its site) or a site's prepared data."""

_CACHE: Kept[TimeSeries] = Kept(4)
_SHIPPED: dict[tuple[str, str], Shipped] = {}


def install_datasets(datasets: dict[tuple[str, str], Shipped]) -> None:
    """Keep ``datasets`` in this worker process for every task it runs (a process pool's
    initializer: the data crosses to each process once)."""
    _SHIPPED.clear()
    _SHIPPED.update(datasets)


def load_dataset(path: str, fmt: str) -> TimeSeries:
    """The recorded data at ``path``, read once per worker process for its next tasks."""
    key = (path, fmt)
    found = _CACHE.get(key)
    if found is None:
        found = load_data(path, fmt)
        _CACHE.put(key, found)
    return found


def prepare_site_series(loaded: TimeSeries, site: FleetSite) -> TimeSeries:
    """The site's own series: ``loaded`` transformed (load and PV scaled, shifted by whole
    days), cut to the fleet's period and resampled to its step."""
    t = site.transform
    cols = dict(loaded.columns)
    shift = round(t.shift_days * 86400 / loaded.interval_s)
    changed = False
    for name, scale in (("load_w", t.load_scale), ("pv_w", t.pv_scale)):
        if name in cols and (scale != 1.0 or shift):
            cols[name] = np.roll(cols[name], shift) * scale
            changed = True
    series = replace(loaded, columns=cols) if changed else loaded
    margin = loaded.interval_s
    if site.start_s is not None or site.end_s is not None:
        series = series.slice_time(None if site.start_s is None else site.start_s - margin,
                                   None if site.end_s is None else site.end_s + margin)
    if series.interval_s != site.step_s:
        series = resample(series, site.step_s)
    return series.slice_time(site.start_s, site.end_s)


def site_row(site_name: str, index: int, variant: int, settings: Variant, status: str,
             error: str) -> Row:
    """A row without figures: a site or variant that did not run."""
    row: Row = dict.fromkeys(ROW_FIELDS)
    row.update(site=site_name, site_index=index, variant=variant,
               settings=_settings_text(settings), status=status, error=error)
    return row


def _settings_text(settings: Variant) -> str:
    return json.dumps(dict(settings), sort_keys=True)


def run_task(task: Task, data: Shipped | None = None) -> list[Row]:
    """Backtest every variant of ``task`` on its site; never raises for bad input: a variant
    that cannot run is a ``failed`` row naming why. ``data``: the site's data shipped to
    this worker; ``None`` looks in what :func:`install_datasets` kept, then reads by path."""
    from gridpilot.rules.loader import load_policy_doc
    from gridpilot.simulator.optimum_figures import OptimumFigures

    site = task.site
    numbers = range(task.first_variant, task.first_variant + len(task.variants))
    try:
        shipped = data if data is not None else _SHIPPED.get(site.dataset)
        if isinstance(shipped, SiteData):
            series, price_series = shipped.series, shipped.prices
        else:
            loaded = shipped if shipped is not None else load_dataset(site.data_path,
                                                                       site.format)
            series, price_series = prepare_site_series(loaded, site), None
        if len(series) == 0:
            raise GridpilotError(f"{site.data_path}: no data in the fleet's period")
        _doc, smap, pdata = load_policy_doc(site.policy_path)
    except (GridpilotError, OSError) as exc:
        return [site_row(site.name, site.index, n, v, "failed", _first_line(exc))
                for n, v in zip(numbers, task.variants, strict=True)]
    rows: list[Row] = []
    written: set[str] = set()  # the optima whose figures a row of this task carries
    for n, variant in zip(numbers, task.variants, strict=True):
        try:
            bt = backtest_variant(site, (smap, pdata), variant, series, optimal=task.optimal,
                                  price_series=price_series)
        except GridpilotError as exc:
            rows.append(site_row(site.name, site.index, n, variant, "failed", _first_line(exc)))
            continue
        row = site_row(site.name, site.index, n, variant, "ok", "")
        rep = bt.replay
        row.update(
            currency=bt.currency,
            days=round(len(rep) * rep.step_s / 86400, 6),
            bill=bt.policy.bill,
            no_battery_bill=bt.no_battery.bill,
            self_consumption_bill=bt.self_consumption.bill,
            saving=bt.no_battery.bill - bt.policy.bill,
            optimal_bill=None if bt.optimum is None else bt.optimum.bill,
            savings_captured=bt.savings_captured,
            import_kwh=bt.policy.import_kwh,
            export_kwh=bt.policy.export_kwh,
            peak_import_w=bt.policy.peak_import_w,
            equivalent_full_cycles=bt.policy.equivalent_full_cycles,
        )
        figures = bt.optimum_figures()
        if figures is not None and figures.key in written:
            row[OPTIMUM] = {"key": figures.key}
        elif figures is not None:
            carried = figures.as_dict()
            # Only figures that read back (every one finite): the journal refuses NaN, and a
            # row is never lost for what only speeds up a report.
            if OptimumFigures.from_dict(carried) is not None:
                row[OPTIMUM] = carried
                written.add(figures.key)
        rows.append(row)
    return rows


def row_optima(rows: Iterable[Row]) -> dict[tuple[int, int], dict[str, Any]]:
    """(site index, variant) -> the figures of the optimum each row solved
    (:data:`OPTIMUM`), a row that names another's by its key given that row's figures; rows
    without an optimum, or naming one no row carries, are left out."""
    carried = [(int(r["site_index"]), int(r["variant"]), r[OPTIMUM]) for r in rows
               if isinstance(r.get(OPTIMUM), dict)]
    by_key = {f.get("key"): f for _s, _v, f in carried if set(f) != {"key"}}
    return {(s, v): by_key[f.get("key")] for s, v, f in carried if f.get("key") in by_key}


def backtest_variant(site: FleetSite, policy_doc: tuple[SourceMap, Any], variant: Variant,
                     series: TimeSeries, *, optimal: bool,
                     price_series: TimeSeries | None = None,
                     known_optimum: OptimumFigures | None = None) -> Backtest:
    """The backtest of one variant of ``site``: its policy (``policy_doc``: the source map and
    data :func:`~gridpilot.rules.loader.load_policy_doc` read, left as they are) with the site's
    overrides and the variant's settings, on ``series``, with the site's prices and starting
    SOC. The one recipe of a fleet's rows and of the sites' own reports (``known_optimum``:
    the optimum's figures from the row, see :func:`~gridpilot.simulator.backtest.run_backtest`)."""
    from gridpilot.rules.compile import compile_policy
    from gridpilot.rules.loader import validate_policy_data
    from gridpilot.simulator.backtest import run_backtest
    from gridpilot.simulator.sweep import apply_setting

    smap, pdata = policy_doc
    candidate = copy.deepcopy(pdata)
    for key, value in (*site.overrides, *variant):
        apply_setting(candidate, key, value)
    policy = compile_policy(validate_policy_data(candidate, smap), smap, candidate,
                            Path(site.policy_path))
    return run_backtest(policy, series, optimal=optimal, initial_soc_pct=site.soc_pct,
                        prices="data" if site.prices == "data" else "policy",
                        price_series=price_series, known_optimum=known_optimum)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0]
