"""Run a fleet: plan coarse tasks, skip what a resumed run already has, stream the rows, and
write the sorted results."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridpilot.fleet.executors import ExecutorSpec, run_tasks, worker_count
from gridpilot.fleet.results import JOURNAL, Journal, read_journal, write_results
from gridpilot.fleet.sites import Fleet, FleetSite
from gridpilot.fleet.task import ROW_FIELDS, Row, Task, Variant, row_optima, site_row

__all__ = ["TARGET_TICKS_PER_TASK", "FleetRun", "plan_tasks", "simulate_fleet"]

TARGET_TICKS_PER_TASK = 17_520
"""About a second of CPU per task (a site-year at 30 minutes): Dask's own guidance is to keep
tasks well above its per-task overhead (about a millisecond) and few enough to schedule."""

Progress = Callable[[int, int], None]


@dataclass
class FleetRun:
    rows: list[Row]
    results_path: Path
    tasks_run: int
    rows_reused: int
    optima: dict[tuple[int, int], dict[str, Any]]
    """(site index, variant) -> the figures of the optimum the row solved, as the journal has
    them (:func:`~gridpilot.fleet.task.row_optima`)."""


def _ticks(site: FleetSite) -> int:
    if site.start_s is not None and site.end_s is not None:
        return max(1, (site.end_s - site.start_s) // site.step_s)
    return 365 * 86400 // site.step_s


def plan_tasks(fleet: Fleet, variants: Sequence[Variant], *, optimal: bool = False,
               have: frozenset[tuple[int, int]] = frozenset(),
               workers: int | None = None) -> list[Task]:
    """One task per site × batch of consecutive variants, batched to about
    :data:`TARGET_TICKS_PER_TASK` ticks; variants already in ``have`` are left out.

    With ``optimal``, a site's variants are split into as few tasks as keep ``workers`` busy
    (one task per site once as many sites as workers have variants to run; ``None``: an
    unknown number, taken as no more workers than sites): a worker solves the optimum its
    variants share once, so a site split across k workers solves it k times."""
    tasks: list[Task] = []
    runs = {site.index: [i for i in range(len(variants)) if (site.index, i) not in have]
            for site in fleet.sites}
    busy = sum(1 for run in runs.values() if run)  # a resumed run's sites with work left
    per_site = 1 if workers is None else max(1, math.ceil(workers / max(1, busy)))
    for site in fleet.sites:
        per_task = max(1, math.ceil(TARGET_TICKS_PER_TASK / _ticks(site)))
        run = runs[site.index]
        if optimal:
            per_task = max(per_task, math.ceil(len(run) / per_site))
        # Consecutive runs only, so a task's variant numbers are first_variant + i.
        groups: list[list[int]] = []
        for i in run:
            if groups and groups[-1][-1] == i - 1 and len(groups[-1]) < per_task:
                groups[-1].append(i)
            else:
                groups.append([i])
        for g in groups:
            tasks.append(Task(f"{site.index}-{g[0]}", site, tuple(variants[i] for i in g), g[0],
                              optimal))
    return tasks


def simulate_fleet(
    fleet: Fleet,
    out_dir: Path,
    spec: ExecutorSpec,
    *,
    variants: Sequence[Variant] = ((),),
    optimal: bool = False,
    resume: bool = False,
    progress: Progress | None = None,
    datasets: dict[tuple[str, str], Any] | None = None,
) -> FleetRun:
    """Backtest every site × variant of ``fleet`` on ``spec``; rows stream to
    ``out_dir/results.jsonl`` and end sorted in ``results.parquet`` (or ``.csv``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    journal_path = out_dir / JOURNAL
    kept: list[Row] = []
    if resume:
        # ``ok`` and ``failed`` rows are final (a failure is deterministic); ``lost`` ones run.
        kept = [r for r in read_journal(journal_path) if r.get("status") in ("ok", "failed")]
    elif journal_path.exists():
        journal_path.unlink()
    have = frozenset((int(r["site_index"]), int(r["variant"])) for r in kept)
    rows: list[Row] = list(kept)
    invalid = [site_row(p.name, p.index, i, v, "failed", p.error)
               for p in fleet.problems for i, v in enumerate(variants)
               if (p.index, i) not in have]
    tasks = plan_tasks(fleet, variants, optimal=optimal, have=have,
                       workers=worker_count(spec))
    total = fleet.size * len(variants)
    journal = Journal(journal_path)
    try:
        journal.write(invalid)
        rows += invalid
        if progress is not None:
            progress(len(rows), total)

        def on_rows(_task: Task, new: list[Row]) -> None:
            journal.write(new)
            rows.extend(new)
            if progress is not None:
                progress(len(rows), total)

        run_tasks(spec, tasks, on_rows, datasets)
    finally:
        journal.close()
    latest = {(int(r["site_index"]), int(r["variant"])): {k: r.get(k) for k in ROW_FIELDS}
              for r in rows}
    final = list(latest.values())
    path = write_results(out_dir, final)
    return FleetRun(sorted(final, key=lambda r: (r["site_index"], r["variant"])), path,
                    len(tasks), len(kept), row_optima(rows))
