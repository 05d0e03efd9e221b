"""Real Dask: a LocalCluster (fleet and sweep), and a `dask scheduler` with two `dask worker`
processes on 127.0.0.1 (random free ports), one of which is killed mid-run. Results must equal
the local executor's."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from gridpilot.fleet import load_fleet
from gridpilot.fleet.executors import parse_executor
from gridpilot.fleet.run import simulate_fleet
from gridpilot.fleet.sweep import run_sweep
from gridpilot.fleet.task import SiteData
from gridpilot.recorded import load_data
from gridpilot.recorded.resample import resample
from gridpilot.rules.loader import load_policy
from gridpilot.simulator.sweep import parse_setting
from tests.fleet.conftest import DATA, POLICY, VARIANTS, row_tuples

pytestmark = pytest.mark.xdist_group("dask")
DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_local_cluster_gives_the_reference_rows(tiny_fleet: Path, reference: Path,
                                                  tmp_path: Path) -> None:
    # --executor dask starts its LocalCluster; threads here, as the test is about Dask's
    # scheduling and data paths, not about processes (the test below has real ones).
    spec = replace(parse_executor("dask", jobs=2), processes=False)
    simulate_fleet(load_fleet(tiny_fleet), tmp_path, spec, variants=VARIANTS)
    assert row_tuples(tmp_path / "results.parquet") == row_tuples(reference / "results.parquet")


def test_sweep_on_a_local_cluster_gives_the_local_ranking(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gridpilot.fleet.run.TARGET_TICKS_PER_TASK", 150)  # 2 variants a task
    policy = load_policy(POLICY)
    start = int(datetime(2018, 1, 8, tzinfo=policy.tz).timestamp())
    series = resample(load_data(DATA).slice_time(start, start + 3 * 86400), 3600)
    settings = [parse_setting("site.battery.capacity_kwh=5,9.5,13.5,-1"),
                parse_setting("site.battery.max_soc_pct=90,95")]
    local = run_sweep(POLICY, SiteData(series), settings, parse_executor("local", jobs=1))
    # scattered once to the cluster, as to an existing scheduler
    spec = replace(parse_executor("dask", jobs=2, ship="scatter"), processes=False)
    assert run_sweep(POLICY, SiteData(series), settings, spec) == local
    assert len(local) == 8 and [v.bill is None for v in local] == [False] * 6 + [True] * 2
    assert "capacity_kwh" in local[-1].error


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    port = _free_port()
    logs = tmp_path_factory.mktemp("dask-logs")
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs: list[subprocess.Popen[bytes]] = []

    def start(args: list[str], name: str) -> subprocess.Popen[bytes]:
        p = subprocess.Popen([str(DASK), *args], stdout=(logs / name).open("wb"),
                             stderr=subprocess.STDOUT, env=env, start_new_session=True)
        procs.append(p)
        return p

    start(["scheduler", "--host", "127.0.0.1", "--port", str(port),
           "--dashboard-address", "127.0.0.1:0"], "scheduler.log")
    address = f"tcp://127.0.0.1:{port}"
    for i in range(2):
        start(["worker", address, "--host", "127.0.0.1", "--nworkers", "1", "--nthreads", "1",
               "--no-nanny", "--dashboard-address", "127.0.0.1:0", "--name", f"w{i}"],
              f"worker{i}.log")
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
    try:
        yield f"127.0.0.1:{port}", procs
    finally:
        for p in procs:  # only the processes this fixture started, each by its own group
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(timeout=10)


def test_a_dask_scheduler_gives_the_reference_rows_even_when_a_worker_dies(
        tiny_fleet: Path, tmp_path: Path, reference: Path,
        cluster: tuple[str, list[subprocess.Popen[bytes]]]) -> None:
    address, procs = cluster
    worker = procs[1]
    started = threading.Event()

    def kill_soon() -> None:
        started.wait(30)
        time.sleep(0.3)
        os.killpg(worker.pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_soon, daemon=True)
    killer.start()
    fleet = load_fleet(tiny_fleet)
    run = simulate_fleet(fleet, tmp_path, parse_executor(f"dask://{address}"),
                         variants=VARIANTS, progress=lambda done, total: started.set())
    killer.join(30)
    assert worker.poll() is not None  # it really died mid-run
    assert [r["status"] for r in run.rows] == ["ok"] * 6 + ["failed"] * 2
    assert row_tuples(tmp_path / "results.parquet") == row_tuples(reference / "results.parquet")
