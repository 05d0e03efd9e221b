"""How a fleet run cuts its sites × variants into tasks: every variant runs once, and with
``--optimal`` a site's optimum is solved by as few workers as keep every worker busy."""

from __future__ import annotations

import functools
import importlib
import math
import multiprocessing
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridpilot.fleet import load_fleet
from gridpilot.fleet.executors import parse_executor, worker_count
from gridpilot.fleet.run import plan_tasks, simulate_fleet
from gridpilot.fleet.sites import Fleet
from gridpilot.simulator.sweep import parse_setting, variants
from tests.fleet.conftest import row_tuples


@functools.cache
def _loaded(path: Path) -> Fleet:
    return load_fleet(path)


def _fleet(tiny_fleet: Path, n_sites: int, days: int) -> Fleet:
    """``n_sites`` copies of the tiny fleet's first site, each ``days`` at 30 minutes."""
    whole = _loaded(tiny_fleet)
    first = whole.sites[0]
    assert first.start_s is not None
    sites = [replace(first, index=k, name=f"home-{k}", step_s=1800,
                     end_s=first.start_s + days * 86400) for k in range(n_sites)]
    return replace(whole, sites=sites, problems=[])


@settings(max_examples=60)
@given(n_sites=st.integers(1, 6), n_variants=st.integers(1, 9), days=st.sampled_from([4, 365]),
       workers=st.one_of(st.none(), st.integers(1, 12)), optimal=st.booleans(),
       have_bits=st.integers(0, 2**54 - 1))
def test_every_variant_not_yet_run_is_in_one_task(
        tiny_fleet: Path, n_sites: int, n_variants: int, days: int, workers: int | None,
        optimal: bool, have_bits: int) -> None:
    fleet = _fleet(tiny_fleet, n_sites, days)
    variants = [((("site.battery.max_soc_pct", 90 + v),)) for v in range(n_variants)]
    have = frozenset((s, v) for s in range(n_sites) for v in range(n_variants)
                     if have_bits >> (s * 9 + v) & 1)
    tasks = plan_tasks(fleet, variants, optimal=optimal, have=have, workers=workers)
    planned = [(t.site.index, t.first_variant + i) for t in tasks for i in range(len(t.variants))]
    assert sorted(planned) == sorted((s, v) for s in range(n_sites) for v in range(n_variants)
                                     if (s, v) not in have)
    for t in tasks:
        # A row's variant number is first_variant + its place in the task.
        assert list(t.variants) == variants[t.first_variant:t.first_variant + len(t.variants)]
        assert t.optimal is optimal
    assert len({t.key for t in tasks}) == len(tasks)


@settings(max_examples=60)
@given(n_sites=st.integers(1, 6), n_variants=st.integers(1, 9),
       workers=st.one_of(st.none(), st.integers(1, 12)), data=st.data())
def test_with_the_optimum_a_site_is_split_only_to_keep_the_workers_busy(
        tiny_fleet: Path, n_sites: int, n_variants: int, workers: int | None,
        data: st.DataObject) -> None:
    # Site-years at 30 minutes: without the optimum, each variant is a task of its own.
    fleet = _fleet(tiny_fleet, n_sites, 365)
    variants = [((("site.battery.max_soc_pct", 90 + v),)) for v in range(n_variants)]
    # A resumed run: the first sites are done, the rest have every variant to run.
    done = data.draw(st.integers(0, n_sites - 1), label="sites done")
    have = frozenset((s, v) for s in range(done) for v in range(n_variants))
    left = n_sites - done
    assert len(plan_tasks(fleet, variants, have=have, workers=workers)) == left * n_variants
    tasks = plan_tasks(fleet, variants, optimal=True, have=have, workers=workers)
    # The most tasks (workers solving a site's optimum) that still keep every worker busy.
    split = 1 if workers is None else min(n_variants, math.ceil(workers / left))
    largest = math.ceil(n_variants / split)
    for site in range(done, n_sites):
        sizes = [len(t.variants) for t in tasks if t.site.index == site]
        assert len(sizes) == math.ceil(n_variants / largest) <= split
        assert max(sizes) == largest  # no worker waits on a longer task than it must


def test_the_worker_count_the_plan_uses() -> None:
    assert worker_count(parse_executor("local", jobs=3)) == 3
    assert worker_count(parse_executor("dask", jobs=5)) == 5
    assert worker_count(parse_executor("local")) == (os.cpu_count() or 1)
    assert worker_count(parse_executor("dask://127.0.0.1:8786", jobs=7)) == 7
    # An existing cluster's size is not known before it is asked.
    assert worker_count(parse_executor("dask://127.0.0.1:8786")) is None


@pytest.mark.skipif(multiprocessing.get_start_method() != "fork",
                    reason="counts solves through a wrapper the pool's workers inherit")
def test_a_pool_solves_each_sites_optimum_once(
        tiny_fleet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One variant a task, as on a site-year at 30 minutes: the plan alone keeps a site's
    # variants on one worker.
    monkeypatch.setattr("gridpilot.fleet.run.TARGET_TICKS_PER_TASK", 96)
    log = tmp_path / "solves.log"
    # The module, not the package's function of the same name.
    baselines = importlib.import_module("gridpilot.simulator.baselines")
    real = baselines.solve_optima

    def counted(site: object, *args: object, **kwargs: object) -> object:
        with log.open("a") as fh:  # one short append a line: the workers' lines stay whole
            fh.write(f"{os.getpid()}\n")
        return real(site, *args, **kwargs)

    monkeypatch.setattr(baselines, "solve_optima", counted)
    fleet = _loaded(tiny_fleet)
    # Variants that leave the battery alone share the optimum.
    spreads = variants([parse_setting("strategies.arbitrage.min_spread_per_kwh=0,0.02")])
    # The pool first: its workers, forked from this process, must not inherit kept optima.
    pooled = simulate_fleet(fleet, tmp_path / "pooled", parse_executor("local", jobs=2),
                            variants=spreads, optimal=True)
    pooled_solves = len(log.read_text().splitlines())
    log.unlink()
    serial = simulate_fleet(fleet, tmp_path / "serial", parse_executor("local", jobs=1),
                            variants=spreads, optimal=True)
    # Three valid sites, one optimum each, shared by the site's two variants.
    assert pooled_solves == 3
    assert len(log.read_text().splitlines()) == 3
    assert pooled.tasks_run == 3
    assert row_tuples(pooled.results_path) == row_tuples(serial.results_path)
