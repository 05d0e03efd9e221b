"""Real Dask: a LocalCluster, and a `dask scheduler` with two `dask worker` processes on
127.0.0.1 (random free ports), one of which is killed mid-run. Results must equal the local
executor's."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gridpilot.fleet import load_fleet
from gridpilot.fleet.executors import parse_executor
from gridpilot.fleet.results import read_results
from gridpilot.fleet.run import simulate_fleet

pytestmark = pytest.mark.xdist_group("dask")
DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _key(path: Path) -> list[tuple[object, ...]]:
    return [tuple(r.values()) for r in read_results(path)]


@pytest.fixture(scope="module")
def local_rows(tiny_fleet: Path,
               tmp_path_factory: pytest.TempPathFactory) -> list[tuple[object, ...]]:
    out = tmp_path_factory.mktemp("local")
    simulate_fleet(load_fleet(tiny_fleet), out, parse_executor("local", jobs=1))
    return _key(out / "results.parquet")


def test_local_cluster_gives_the_local_rows(tiny_fleet: Path, tmp_path: Path,
                                            local_rows: list[tuple[object, ...]]) -> None:
    simulate_fleet(load_fleet(tiny_fleet), tmp_path, parse_executor("dask", jobs=2))
    assert _key(tmp_path / "results.parquet") == local_rows


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


def test_a_dask_scheduler_gives_the_local_rows_even_when_a_worker_dies(
        tiny_fleet: Path, tmp_path: Path, local_rows: list[tuple[object, ...]],
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
                         progress=lambda done, total: started.set())
    killer.join(30)
    assert worker.poll() is not None  # it really died mid-run
    assert [r["status"] for r in run.rows] == ["ok", "ok", "ok", "failed"]
    assert _key(tmp_path / "results.parquet") == local_rows
