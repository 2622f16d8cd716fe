"""Run a list of tasks on a Dask distributed cluster, with the guarantees of worker processes.

Dask cannot stop a task running in a worker thread, and when a task kills its worker
Dask runs it again elsewhere, ``distributed.scheduler.allowed-failures`` times, before
giving up with ``KilledWorker``, taking down a worker each time. So each Dask worker
thread runs its tasks in a child process of its own (``_Guard``), one at a time: a
task past its time limit, or one that kills its process, is settled there ("timeout",
"crashed") and the child replaced, and the Dask worker thread returns in bounded
time. Only a death of the Dask worker itself (the OOM killer, a lost machine, a task
killing its parent) reaches Dask; such a chunk is retried one task per Dask task, and
a single task that still meets ``KilledWorker`` becomes "crashed".

A Dask task is a chunk of consecutive tasks, to keep Dask's per-task overhead small.
Tasks, ``work`` and ``on_failure`` travel pickled (cloudpickle) to the workers and on
to their children, so they must be picklable; results travel back pickled. With
``scheduler=None`` a ``LocalCluster`` of ``jobs`` single-threaded worker processes
lives for one run; with an address, the cluster's own workers and threads decide the
parallelism, and each worker thread keeps its child between runs.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from .executors import _context, _death, _limit_memory, wait_for_parent

__all__ = [
    "CONNECT_TIMEOUT",
    "DaskUnavailable",
    "SchedulerUnreachable",
    "local_cluster",
    "require_distributed",
    "run_dask",
]

T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "pip install 'diffkit[dask]'"
# Chunks carry only indices, so they can be small enough to balance uneven tasks (a few
# slow ones often sit side by side); the cap keeps Dask's count of tasks in check.
CHUNKS_PER_THREAD = 32
MAX_CHUNK = 50


class DaskUnavailable(ImportError):
    """The Dask executor was asked for but ``dask.distributed`` is not installed."""


class SchedulerUnreachable(OSError):
    """No Dask scheduler answered at the given address within ``CONNECT_TIMEOUT``."""


# Seconds a client waits for the scheduler before the run is refused (Dask's own is 30).
CONNECT_TIMEOUT = 10.0


def require_distributed() -> Any:
    """``distributed``, imported on demand so that diffkit works without the extra."""
    try:
        import distributed
    except ImportError as exc:
        raise DaskUnavailable(
            f"the dask executor needs dask.distributed, which is not installed: {INSTALL_HINT}"
        ) from exc
    return distributed


@dataclass(frozen=True)
class _Batch(Generic[T, R]):
    """A run's tasks and what to do with them: sent once to each worker and child.

    Dask tasks then carry only indices, and the tasks' shared objects (a function,
    and what it compiles on first use) stay shared, as in a forked worker process.
    An opaque object, so Dask does not look inside the tasks for a graph.
    """

    tasks: Sequence[T]
    work: Callable[[T], R]
    on_failure: Callable[[T, str, str], R]
    time_limit: float | None
    memory_limit: int | None
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


def _guard_main(conn: Connection, memory_limit: int | None) -> None:
    """The guarded child: keep the latest batch, run the indices asked for, until EOF."""
    import cloudpickle

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the Dask worker decides when we stop
    if memory_limit is not None:
        _limit_memory(memory_limit)
    batch: Any = None
    parent = os.getppid()
    while wait_for_parent(conn, parent):  # a Dask worker killed outright: we go too
        try:
            message = cloudpickle.loads(conn.recv_bytes())
        except EOFError:  # the Dask worker closed the pipe
            return
        if isinstance(message, _Batch):
            batch = message
            continue
        for index in message:
            conn.send_bytes(cloudpickle.dumps(batch.work(batch.tasks[index])))


class _Guard:
    """A child process of a Dask worker thread that runs tasks one at a time.

    Kept from chunk to chunk (and run to run) while it behaves, so that what tasks
    cache in their process serves the next ones, as in the process executor's
    workers; replaced when a task overruns or kills it.
    """

    def __init__(self, memory_limit: int | None) -> None:
        # Dask starts its workers as daemonic processes, which multiprocessing forbids
        # to have children. Ours dies with the worker: it is daemonic itself, and when
        # the worker is killed outright the child sees its parent gone and exits.
        multiprocessing.current_process().daemon = False
        ctx = _context()
        self.memory_limit = memory_limit
        self.token: str | None = None
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_guard_main, args=(child, memory_limit), daemon=True)
        self.process.start()
        child.close()

    def start(self, batch: _Batch[Any, Any], indices: Sequence[int]) -> None:
        """Ask for these tasks' results (sending the batch first if the child lacks it)."""
        import cloudpickle

        if self.token != batch.token:
            self.conn.send_bytes(cloudpickle.dumps(batch))
            self.token = batch.token
        self.conn.send_bytes(cloudpickle.dumps(list(indices)))

    def next(self, time_limit: float | None) -> tuple[str, Any]:
        """("ok", the next result), or ("timeout" | "crashed", message) and the guard stopped."""
        import cloudpickle

        if not self.conn.poll(time_limit):
            self.stop()
            return "timeout", f"task ran past its time limit of {time_limit:g} s; worker stopped"
        try:
            return "ok", cloudpickle.loads(self.conn.recv_bytes())
        except (EOFError, OSError):  # the end of the pipe: the child is exiting
            self.process.join(timeout=5)
            self.stop()
            return "crashed", _death(self.process.exitcode)

    def stop(self) -> None:
        self.conn.close()
        self.process.kill()
        self.process.join()


_GUARDS = threading.local()  # one guard per Dask worker thread


def _guard(memory_limit: int | None) -> _Guard:
    """This thread's guard, started (or restarted with another memory limit) when needed."""
    guard: _Guard | None = getattr(_GUARDS, "guard", None)
    if guard is not None and guard.memory_limit != memory_limit:
        guard.stop()
        guard = None
    if guard is None:
        guard = _GUARDS.guard = _Guard(memory_limit)
    return guard


def _run_chunk(batch: _Batch[T, R], indices: Sequence[int]) -> list[R]:
    """On a Dask worker: these tasks of the batch, in order, in this thread's guarded child."""
    results: list[R] = []
    while len(results) < len(indices):
        guard = _guard(batch.memory_limit)
        pending = indices[len(results) :]
        guard.start(batch, pending)
        for index in pending:
            status, outcome = guard.next(batch.time_limit)
            if status != "ok":  # the guard is gone; the rest go to a new one
                _GUARDS.guard = None
                results.append(batch.on_failure(batch.tasks[index], status, outcome))
                break
            results.append(outcome)
    return results


def _chunk_bounds(count: int, threads: int) -> list[range]:
    size = max(1, min(MAX_CHUNK, math.ceil(count / (CHUNKS_PER_THREAD * max(threads, 1)))))
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


@contextlib.contextmanager
def local_cluster(jobs: int) -> Iterator[str]:
    """A LocalCluster of ``jobs`` single-threaded worker processes, for a ``with`` block.

    Yields the scheduler's address, so that several runs can share one cluster
    (``executors.shared_scheduler``) instead of each paying for its start.
    """
    distributed = require_distributed()
    with distributed.LocalCluster(
        n_workers=jobs,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",  # a free port: several runs may share a machine
        silence_logs=logging.CRITICAL,  # failures are results; shutdown races are noise
    ) as cluster:
        yield cluster.scheduler_address


@contextlib.contextmanager
def _client(distributed: Any, scheduler: str | None, jobs: int) -> Iterator[Any]:
    """A client of the given scheduler, or of a LocalCluster started and closed here."""
    with contextlib.ExitStack() as stack:
        address = scheduler if scheduler is not None else stack.enter_context(local_cluster(jobs))
        try:
            client = distributed.Client(address, set_as_default=False, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise SchedulerUnreachable(
                f"no Dask scheduler answered at {address} within {CONNECT_TIMEOUT:g} s "
                f"({type(exc).__name__}); start one (dask scheduler) or leave out --scheduler"
            ) from None
        yield stack.enter_context(client)


LOST = (
    "the Dask worker running this task died each time it tried "
    "(distributed.scheduler.allowed-failures); nothing was returned"
)


def run_dask(
    tasks: Sequence[T],
    work: Callable[[T], R],
    on_failure: Callable[[T, str, str], R],
    *,
    jobs: int,
    time_limit: float | None,
    memory_limit: int | None,
    scheduler: str | None,
    bar: Any,
) -> list[R]:
    """``run_tasks`` on Dask: the same results, in task order (see the module docstring)."""
    distributed = require_distributed()
    if not tasks:
        return []
    results: dict[int, R] = {}
    with _client(distributed, scheduler, jobs) as client:
        batch = _Batch(tasks, work, on_failure, time_limit, memory_limit)
        shared = client.scatter(batch, broadcast=True, hash=False)
        waiting: dict[Any, Sequence[int]] = {}

        def submit(indices: Sequence[int]) -> Any:
            future = client.submit(_run_chunk, shared, indices, pure=False)
            waiting[future] = indices
            return future

        threads = sum(client.nthreads().values()) or jobs
        chunks = [submit(indices) for indices in _chunk_bounds(len(tasks), threads)]
        finished = distributed.as_completed(chunks, loop=client.loop)
        try:
            for future in finished:
                indices = waiting.pop(future)
                try:
                    settled = future.result()
                except distributed.KilledWorker:
                    if len(indices) > 1:  # find the task to blame; the others may be innocent
                        for index in indices:
                            finished.add(submit([index]))
                        continue
                    settled = [on_failure(tasks[indices[0]], "crashed", LOST)]
                results.update(zip(indices, settled, strict=True))
                bar.update(len(indices))
        finally:
            client.cancel([*waiting, shared])
    return [results[i] for i in range(len(tasks))]
