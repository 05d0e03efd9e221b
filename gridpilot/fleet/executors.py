"""Where the tasks run: a local process pool, a Dask ``LocalCluster``, or an existing Dask
scheduler (``dask://HOST:PORT``). Each runs the same :func:`gridpilot.fleet.task.run_task` on the
same tasks, and reports each task's rows as it finishes.

A task whose worker dies is run once more; if that dies too, its rows are ``lost`` (the results
say so, and ``--resume`` runs it again). Nothing waits forever: a Dask cluster left without
workers for :data:`NO_WORKER_TIMEOUT_S` gives up on what is left.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Literal

from gridpilot.errors import GridpilotError
from gridpilot.fleet.task import (
    Row,
    Shipped,
    Task,
    install_datasets,
    load_dataset,
    run_task,
    site_row,
)

__all__ = [
    "DASK_EXTRA",
    "NO_WORKER_TIMEOUT_S",
    "ExecutorSpec",
    "OnRows",
    "UsageError",
    "parse_executor",
    "require_dask",
    "run_tasks",
    "worker_count",
]

DASK_EXTRA = 'pip install "gridpilot[dask]"'
NO_WORKER_TIMEOUT_S = 60.0
ATTEMPTS = 2
"""A task runs at most twice: once, and once more after its worker died."""

OnRows = Callable[[Task, list[Row]], None]


class UsageError(GridpilotError):
    """The command line asks for something this installation or cluster cannot do."""


@dataclass(frozen=True)
class ExecutorSpec:
    kind: Literal["local", "dask"]
    address: str | None = None
    """``HOST:PORT`` of an existing scheduler, or ``None`` to start a ``LocalCluster``."""
    jobs: int | None = None
    ship: Literal["path", "scatter"] | None = None
    """How the data reaches the workers: read by path (a shared filesystem) or scattered once
    per distinct dataset. Default: by path, except to an existing scheduler (scatter)."""
    processes: bool = True
    """For a ``LocalCluster``: worker processes (the default: backtests are CPU-bound Python,
    so threads would share one core), or threads in this process (``False``: no process to
    start, for tests and small runs)."""

    @property
    def shipping(self) -> str:
        if self.ship is not None:
            return self.ship
        return "scatter" if self.address else "path"


def parse_executor(text: str, jobs: int | None = None, ship: str | None = None) -> ExecutorSpec:
    """``local``, ``dask`` or ``dask://HOST:PORT``."""
    shipping: Any = ship
    if text == "local":
        return ExecutorSpec("local", jobs=jobs, ship=shipping)
    if text == "dask":
        return ExecutorSpec("dask", jobs=jobs, ship=shipping)
    if text.startswith("dask://"):
        address = text.removeprefix("dask://")
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"--executor {text!r}: use dask://HOST:PORT (e.g. "
                             "dask://127.0.0.1:8786)")
        return ExecutorSpec("dask", address=address, jobs=jobs, ship=shipping)
    raise UsageError(f"--executor {text!r}: use local, dask or dask://HOST:PORT")


def worker_count(spec: ExecutorSpec) -> int | None:
    """How many tasks ``spec`` runs at once: ``--jobs`` or every core for a pool or cluster of
    its own; for an existing scheduler ``--jobs`` if given, else ``None`` (not known here)."""
    return spec.jobs if spec.address is not None else _own_workers(spec)


def _own_workers(spec: ExecutorSpec) -> int:
    return max(1, spec.jobs or os.cpu_count() or 1)


def run_tasks(spec: ExecutorSpec, tasks: Sequence[Task], on_rows: OnRows,
              datasets: dict[tuple[str, str], Shipped] | None = None) -> None:
    """Run ``tasks`` on ``spec``, calling ``on_rows`` (in this process) as each finishes.
    ``datasets``: already-loaded data by dataset key, shipped to each worker once (a process
    pool's initializer, a Dask scatter) instead of read by path."""
    if not tasks:
        return
    if spec.kind == "local":
        _run_local(spec, tasks, on_rows, datasets or {})
    else:
        _run_dask(spec, tasks, on_rows, datasets or {})


def _lost(task: Task, why: str) -> list[Row]:
    return [site_row(task.site.name, task.site.index, task.first_variant + i, v, "lost", why)
            for i, v in enumerate(task.variants)]


def _run_with_data(task: Task, data: Any) -> list[Row]:
    return run_task(task, data)


def _run_local(spec: ExecutorSpec, tasks: Sequence[Task], on_rows: OnRows,
               datasets: dict[tuple[str, str], Shipped]) -> None:
    jobs = min(_own_workers(spec), len(tasks))
    if jobs == 1:
        for task in tasks:
            on_rows(task, run_task(task, datasets.get(task.site.dataset)))
        return
    attempts = dict.fromkeys((t.key for t in tasks), 0)
    pending = list(tasks)
    while pending:
        # A dead worker breaks the whole pool: every task not finished is charged an attempt
        # and the rest run on a fresh pool.
        # The shipped data goes to each worker process once, through the initializer: never
        # pickled with every task (a sweep's thousand variants of one site).
        with ProcessPoolExecutor(max_workers=jobs, initializer=install_datasets,
                                 initargs=(datasets,)) as pool:
            futures: dict[Future[list[Row]], Task] = {}
            for task in pending:
                attempts[task.key] += 1
                futures[pool.submit(run_task, task)] = task
            pending = []
            not_done: Iterable[Future[list[Row]]] = futures
            while not_done:
                done, not_done = wait(not_done, return_when=FIRST_COMPLETED)
                for fut in done:
                    task = futures[fut]
                    try:
                        on_rows(task, fut.result())
                    except BrokenProcessPool:
                        if attempts[task.key] < ATTEMPTS:
                            pending.append(task)
                        else:
                            on_rows(task, _lost(task, "its worker process died twice"))


def require_dask() -> Any:
    """The ``distributed`` module, or a usage error naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise UsageError(f"--executor dask needs Dask distributed: {DASK_EXTRA}") from None
    return distributed


def _run_dask(spec: ExecutorSpec, tasks: Sequence[Task], on_rows: OnRows,
              datasets: dict[tuple[str, str], Shipped]) -> None:
    distributed = require_dask()
    import dask

    cluster = None
    # Dask reschedules the tasks of a worker that died; one such death per task is enough
    # before it is ours to retry or report (a task that kills every worker must not loop).
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.admin.tick.limit": "1h"}):
        if spec.address is None:
            workers = _own_workers(spec)
            if spec.processes:
                cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address="127.0.0.1:0")
            else:
                # Threads talk over Dask's in-process transport: no socket at all.
                cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=False,
                    dashboard_address=None)
            client = distributed.Client(cluster)
        else:
            try:
                client = distributed.Client(f"tcp://{spec.address}", timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise UsageError(f"--executor dask://{spec.address}: no Dask scheduler answers "
                                 f"there ({exc}); start one with 'dask scheduler'") from None
        try:
            _dask_loop(client, distributed, spec, tasks, on_rows, datasets)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()


def _dask_loop(client: Any, distributed: Any, spec: ExecutorSpec, tasks: Sequence[Task],
               on_rows: OnRows, datasets: dict[tuple[str, str], Shipped]) -> None:
    shared: dict[tuple[str, str], Any] = {}

    def data_for(key: tuple[str, str]) -> Any:
        """The dataset's scattered future (``None``: workers read it by path). One scatter
        per distinct dataset, never one per task or variant; again only when the worker
        holding it died (scattered data has no lineage to recompute it from)."""
        fut = shared.get(key)
        if fut is not None and fut.status == "finished":
            return fut
        data = datasets.get(key)
        if data is None and spec.shipping == "scatter":
            data = load_dataset(*key)
        if data is None:
            return None
        shared[key] = client.scatter(data, hash=False)
        return shared[key]

    attempts = dict.fromkeys((t.key for t in tasks), 0)
    futures: dict[Any, Task] = {}

    def submit(task: Task) -> None:
        attempts[task.key] += 1
        fut = client.submit(_run_with_data, task, data_for(task.site.dataset),
                            key=f"gridpilot-fleet-{task.key}-{attempts[task.key]}", pure=False)
        futures[fut] = task

    for task in tasks:
        submit(task)
    no_workers_since: float | None = None
    while futures:
        try:
            done = distributed.wait(list(futures), timeout=5, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            done = set()
        except CancelledError:
            # A task whose data went with a dead worker is cancelled; wait() then raises
            # instead of answering: every future no longer pending is done.
            done = {f for f in futures if f.status != "pending"}
        for fut in done:
            task = futures.pop(fut)
            try:
                rows = fut.result()
            except Exception as exc:  # a lost worker or connection, never the task's own error
                if isinstance(exc, CancelledError):
                    shared.pop(task.site.dataset, None)  # its data went too: scatter again
                if attempts[task.key] < ATTEMPTS:
                    submit(task)
                else:
                    rows = _lost(task, f"its worker died twice ({type(exc).__name__})")
                    on_rows(task, rows)
                continue
            on_rows(task, rows)
        if not done:
            workers = client.scheduler_info().get("workers", {})
            if workers:
                no_workers_since = None
            elif no_workers_since is None:
                no_workers_since = time.monotonic()
            elif time.monotonic() - no_workers_since > NO_WORKER_TIMEOUT_S:
                for fut, task in list(futures.items()):
                    fut.cancel()
                    on_rows(task, _lost(task, "the cluster had no workers left"))
                futures.clear()
