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
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from .executors import _context, _death, _limit_memory

__all__ = ["DaskUnavailable", "local_cluster", "require_distributed", "run_dask"]

T = TypeVar("T")
R = TypeVar("R")

INSTALL_HINT = "pip install 'diffkit[dask]'"
# A few chunks per worker thread balance uneven tasks; the cap keeps the progress bar moving.
CHUNKS_PER_THREAD = 4
MAX_CHUNK = 50


class DaskUnavailable(ImportError):
    """The Dask executor was asked for but ``dask.distributed`` is not installed."""


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
class _Chunk(Generic[T, R]):
    """One Dask task: an opaque object, so Dask does not look inside the tasks for its graph."""

    tasks: Sequence[T]
    work: Callable[[T], R]
    on_failure: Callable[[T, str, str], R]
    time_limit: float | None
    memory_limit: int | None


def _guard_main(conn: Connection, memory_limit: int | None) -> None:
    """The guarded child: receive (work, task) pickled, send back work(task), until EOF."""
    import cloudpickle

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the Dask worker decides when we stop
    if memory_limit is not None:
        _limit_memory(memory_limit)
    while True:
        try:
            payload = conn.recv_bytes()
        except EOFError:  # the Dask worker closed the pipe, or died
            return
        work, task = cloudpickle.loads(payload)
        conn.send_bytes(cloudpickle.dumps(work(task)))


class _Guard:
    """A child process of a Dask worker thread that runs tasks one at a time.

    Kept from chunk to chunk (and run to run) while it behaves, so that what tasks
    cache in their process (compiled functions, ground truth) serves the next ones,
    as in the process executor's workers; replaced when a task overruns or kills it.
    """

    def __init__(self, memory_limit: int | None) -> None:
        # Dask starts its workers as daemonic processes, which multiprocessing forbids
        # to have children. Ours dies with the worker: it is daemonic itself, and a
        # worker killed outright closes the pipe, which ends the child's loop.
        multiprocessing.current_process().daemon = False
        ctx = _context()
        self.memory_limit = memory_limit
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_guard_main, args=(child, memory_limit), daemon=True)
        self.process.start()
        child.close()

    def run(self, work: Callable[[T], R], task: T, time_limit: float | None) -> tuple[str, Any]:
        """("ok", result), ("timeout", message) or ("crashed", message); then the guard is stopped."""
        import cloudpickle

        self.conn.send_bytes(cloudpickle.dumps((work, task)))
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


def _run_chunk(chunk: _Chunk[T, R]) -> list[R]:
    """On a Dask worker: the chunk's tasks, in order, each in this thread's guarded child."""
    results = []
    for task in chunk.tasks:
        guard = getattr(_GUARDS, "guard", None)
        if guard is None or guard.memory_limit != chunk.memory_limit:
            if guard is not None:
                guard.stop()
            guard = _GUARDS.guard = _Guard(chunk.memory_limit)
        status, outcome = guard.run(chunk.work, task, chunk.time_limit)
        if status != "ok":
            _GUARDS.guard = None
            outcome = chunk.on_failure(task, status, outcome)
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
        yield stack.enter_context(distributed.Client(address, set_as_default=False))


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
        waiting: dict[Any, range | list[int]] = {}

        def submit(indices: range | list[int]) -> Any:
            chunk = _Chunk([tasks[i] for i in indices], work, on_failure, time_limit, memory_limit)
            future = client.submit(_run_chunk, chunk, pure=False)
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
            client.cancel(list(waiting))
    return [results[i] for i in range(len(tasks))]
