"""Benchmark fleets: ``python benchmarks/bench_fleet.py [--sites 6] [--jobs N] [--no-dask]``.

Runs the first ``--sites`` homes of ``examples/fleet/fleet.yaml`` (each a UK 2018 year at
30 minutes through the Agile example policy, ``tariff_arbitrage``) three times in one process
and prints:

- the cost per site-year: CPU seconds of one site after another in this process;
- the local parallel efficiency on ``--jobs`` processes (default: every core): the serial CPU
  over the pool's (and, shown beside it, the serial wall time over ``jobs`` x the pool's);
- the Dask overhead: the same sites on a Dask ``LocalCluster`` of ``--jobs`` worker processes
  against the local pool, in CPU (the cluster's own start and close, measured on an idle
  cluster, left out) and in wall time;
- extrapolations, stated as such, of a 1,000-site fleet on 2 cores and of 50,000 sites on
  ``--workers`` Dask workers, from the measured CPU per site-year and the measured efficiency.

Wall time moves with other work on a shared machine: the script prints the load average before
and after, and the ratios it reports come from runs made one after another in this process.
``--fleet FILE`` runs another fleet (``examples/fleet/make_fleet.py --sites 1000 --out FILE``).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gridpilot.fleet import Fleet, load_fleet  # noqa: E402
from gridpilot.fleet.executors import ExecutorSpec, parse_executor  # noqa: E402
from gridpilot.fleet.run import FleetRun, simulate_fleet  # noqa: E402
from gridpilot.fleet.sites import FleetSite  # noqa: E402
from gridpilot.fleet.task import Row, Task, load_dataset, run_task  # noqa: E402

FLEET = ROOT / "examples" / "fleet" / "fleet.yaml"


def _children_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _run(fleet: Fleet, spec: ExecutorSpec) -> tuple[FleetRun, float, float]:
    """The run, its wall time and its CPU time (this process and every reaped child)."""
    with tempfile.TemporaryDirectory() as out:
        c0, k0 = time.process_time(), _children_cpu_s()
        t0 = time.perf_counter()
        run = simulate_fleet(fleet, Path(out), spec)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0 + _children_cpu_s() - k0
    return run, wall, cpu


def _warm(site: FleetSite) -> None:
    """Run a day of ``site``: what a worker reads and imports once, before its first task."""
    loaded = load_dataset(site.data_path, site.format)
    first = int(loaded.start_s[0])
    run_task(Task("warm-up", replace(site, start_s=first, end_s=first + 86400), ((),), 0))


def _figures(rows: list[Row]) -> list[tuple[object, ...]]:
    return [(r["site"], r["status"], r["bill"]) for r in rows]


def _site_years(rows: list[Row]) -> float:
    return sum(float(r["days"] or 0) for r in rows if r["status"] == "ok") / 365.0


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--fleet", default=str(FLEET))
    ap.add_argument("--sites", type=int, default=6, help="the first N sites of the fleet")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--workers", type=int, default=100,
                    help="Dask workers of the 50,000-site extrapolation")
    ap.add_argument("--no-dask", action="store_true")
    args = ap.parse_args()

    whole = load_fleet(args.fleet)
    fleet = replace(whole, sites=whole.sites[: args.sites], problems=[])
    n = len(fleet.sites)
    print(f"machine: {os.cpu_count()} cores ({_cpu_model()}), Python {platform.python_version()}"
          f", load average {os.getloadavg()[0]:.1f} at the start")
    print(f"fleet: {n} sites of {args.fleet}, {args.jobs} jobs")

    # Warm-up: imports, the data and the price file, as a worker has them after its first task.
    _warm(fleet.sites[0])

    serial, serial_wall, serial_cpu = _run(fleet, parse_executor("local", jobs=1))
    years = _site_years(serial.rows)
    per_year = serial_cpu / years
    print(f"cost per site-year at 30 min: {per_year:.2f} s CPU "
          f"({serial_cpu:.1f} s CPU, {serial_wall:.1f} s wall for {years:.1f} site-years, "
          "one after another)")

    local, local_wall, local_cpu = _run(fleet, parse_executor("local", jobs=args.jobs))
    assert _figures(local.rows) == _figures(serial.rows), "local pool rows differ"
    # On a machine others share, wall time measures them too: the efficiency the
    # extrapolations use is CPU's (the serial run's CPU over the pool's), the wall one is shown.
    efficiency = serial_cpu / local_cpu
    print(f"local pool, {args.jobs} processes: {local_wall:.1f} s wall, {local_cpu:.1f} s CPU; "
          f"parallel efficiency {efficiency:.0%} (CPU), "
          f"{serial_wall / (args.jobs * local_wall):.0%} (wall)")

    dask_eff = efficiency
    if not args.no_dask:
        import distributed

        def cluster_cpu(run: bool) -> tuple[float, float, float, float]:
            """CPU of a LocalCluster's life (start, warm-up, close) with or without the run;
            its wall time, the time to start it and this process's CPU."""
            k0 = _children_cpu_s()
            t0 = time.perf_counter()
            cluster = distributed.LocalCluster(n_workers=args.jobs, threads_per_worker=1,
                                               processes=True, host="127.0.0.1",
                                               dashboard_address="127.0.0.1:0")
            start_s = time.perf_counter() - t0
            wall, client_cpu = 0.0, 0.0
            try:
                address = cluster.scheduler_address.removeprefix("tcp://")
                # Warm every worker (imports, the data and price files read) as the local
                # pool's processes, forked from this warmed one, are.
                with distributed.Client(cluster) as client:
                    client.run(_warm, fleet.sites[0])
                if run:
                    dask, wall, client_cpu = _run(fleet, parse_executor(f"dask://{address}",
                                                                       ship="path"))
                    assert _figures(dask.rows) == _figures(serial.rows), "Dask rows differ"
            finally:
                cluster.close()
            # The workers' CPU counts once they have exited.
            return _children_cpu_s() - k0, wall, start_s, client_cpu

        idle_cpu, _, _, _ = cluster_cpu(run=False)
        busy_cpu, dask_wall, start_s, client_cpu = cluster_cpu(run=True)
        dask_cpu = busy_cpu - idle_cpu + client_cpu
        dask_eff = serial_cpu / dask_cpu
        print(f"Dask LocalCluster, {args.jobs} workers: {dask_cpu:.1f} s CPU for the run "
              f"(the cluster's own start and close, {idle_cpu:.1f} s CPU, left out), "
              f"overhead against the local pool {dask_cpu / local_cpu - 1:+.0%} (CPU); "
              f"{dask_wall:.1f} s wall on the started cluster, "
              f"{dask_wall / local_wall - 1:+.0%} against the pool (wall), "
              f"{start_s:.1f} s to start it")

    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    est_1000 = 1000 * per_year / (2 * efficiency)
    print(f"extrapolated, not measured: 1,000 site-years on 2 otherwise idle cores at the "
          f"measured CPU efficiency: {est_1000 / 60:.0f} min")
    est_50k = 50_000 * per_year / (args.workers * dask_eff)
    print(f"extrapolated, not measured: 50,000 site-years on {args.workers} Dask workers "
          f"(one core each, like these, at the measured Dask CPU efficiency): "
          f"{est_50k / 60:.0f} min; {per_year * 50_000 / 3600:.0f} core-hours in all")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
