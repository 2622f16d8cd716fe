"""Run a list of independent tasks serially or in worker processes, with a time limit per task.

A sweep is many small, independent tasks, and any of them may raise, hang, exhaust
memory or kill its process. ``run_tasks`` returns one result per task, in task
order, whatever happens: a task that overruns its time limit or whose worker dies
is replaced by ``on_failure(task, status, message)`` ("timeout" or "crashed"), and
the other tasks go on.

In-process (``jobs=1``), the time limit is an alarm signal that interrupts Python
code (a long NumPy call finishes its current C loop first). With ``jobs > 1`` each
worker is a process that runs one task at a time; a worker past its deadline is
killed and replaced, so even a hang inside C code cannot stop the run. Where the
platform can fork, workers inherit the task list and receive only indices, so
tasks need not be picklable (elsewhere they are spawned and must be); results
travel back pickled. Forking a process that has loaded jax or torch can leave a
worker hung inside that library (their threads hold locks the child inherits): then
workers start from a forkserver, a fresh process without it, when the tasks and the work
can be pickled; when they cannot, a ForkUnsafeWarning says so, and the time limit stops
such a worker. In-process runs apply no memory cap.

Each worker leads a process group of its own, which the processes its tasks start join:
a worker stopped (time limit, the run's end however it comes: results, an exception,
Ctrl-C) is stopped with its group, and a worker whose parent is killed outright (SIGKILL,
the OOM killer) kills its group itself, even mid-task. Being out of the terminal's
foreground group, workers do not see its Ctrl-C; the parent stops them.

``executor="dask"`` runs the tasks on a Dask distributed cluster instead, with the same
results and guarantees (``executors_dask``, imported only then: dask is an extra).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import multiprocessing
import os
import pickle
import select
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, NoReturn, TypeVar

from . import interrupts

__all__ = [
    "EXECUTORS",
    "ForkUnsafeWarning",
    "TaskTimeout",
    "default_jobs",
    "run_tasks",
    "shared_scheduler",
]

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("processes", "dask")


class ForkUnsafeWarning(UserWarning):
    """Worker processes are forked from a process that has loaded jax or torch (they may hang)."""


class TaskTimeout(BaseException):
    """A task ran past its time limit (raised inside the task when it runs in-process).

    A BaseException, like KeyboardInterrupt, so that the ``except Exception`` with
    which tasks (and users' functions) turn errors into results cannot swallow it.
    """


def _progress(total: int, enabled: bool | None, label: str) -> Any:
    # tqdm with disable=None switches itself off when stderr is not a terminal.
    from tqdm import tqdm

    return tqdm(
        total=total, disable=None if enabled is None else not enabled, unit="task", desc=label
    )


# ---------------------------------------------------------------------- in-process


@contextlib.contextmanager
def _alarm(seconds: float | None) -> Iterator[None]:
    """Raise TaskTimeout in this thread after ``seconds`` (main thread only, where signals go)."""
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def _expire(signum: int, frame: Any) -> None:
        raise TaskTimeout(f"task ran past its time limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))  # type: ignore[arg-type]
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


def _run_serial(
    tasks: Sequence[T],
    work: Callable[[T], R],
    on_failure: Callable[[T, str, str], R],
    time_limit: float | None,
    bar: Any,
) -> list[R]:
    results = []
    for task in tasks:
        interrupts.check()
        try:
            with _alarm(time_limit):
                results.append(work(task))
        except TaskTimeout as exc:
            results.append(on_failure(task, "timeout", str(exc)))
        bar.update(1)
    return results


# ---------------------------------------------------------------------- processes


_READY = "ready"
# Longest a new worker may take to start: a forkserver child imports the work's modules.
_START_LIMIT = 120.0


def _worker_main(
    conn: Connection,
    tasks: Sequence[Any],
    work: Callable[[Any], Any],
    memory_limit: int | None,
    owner: int,
) -> None:
    """A worker: receive a task index, send back (index, result), until the pipe closes.

    ``owner`` is the pid of the process that runs the tasks (``run_tasks``'s).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    _bind_to_owner(owner)
    if memory_limit is not None:
        _limit_memory(memory_limit)
    parent = os.getppid()
    conn.send(_READY)  # started (a forkserver child has imported the work): time counts from here
    while wait_for_parent(conn, parent):
        try:
            index = conn.recv()
        except EOFError:
            return
        conn.send((index, work(tasks[index])))
    _end_group()  # orphaned between tasks: what earlier tasks left running goes too


def wait_for_parent(conn: Connection, parent: int, every: float = 1.0) -> bool:
    """Wait until ``conn`` has data (True) or the parent process has died (False).

    A forked child holds copies of its siblings' and parent's pipe ends, so a parent
    killed outright (SIGKILL, the OOM killer) does not always bring EOF; without this
    check such a child would wait for ever, an orphan holding its memory.
    """
    while not conn.poll(every):
        if os.getppid() != parent:
            return False
    return True


# From <linux/prctl.h>: the signal the kernel sends a process when its parent exits.
_PR_SET_PDEATHSIG = 1


def _bind_to_owner(owner: int) -> None:
    """Make this worker, and whatever its tasks start, end with ``owner``, even mid-task.

    The check between tasks (``wait_for_parent``) cannot stop a task that hangs, so an
    owner killed outright would leave it running for ever. The worker leads a process
    group of its own, which a task's children join, and kills that group when the owner
    has gone: told at once by the kernel where it can (Linux, and only when the owner is
    the parent), and by a watchdog thread that polls otherwise (or when the task has
    taken the signal for itself).
    """
    _lead_own_group()
    if os.getppid() == owner:  # forked by the owner: its death re-parents us

        def alive() -> bool:
            return os.getppid() == owner

        _signal_on_parent_death()
    else:  # a forkserver's child (it outlives the owner while we hold its pipe), or orphaned
        alive = _process_alive(owner)
    if not alive():  # gone already, maybe before the prctl: no signal will come
        _end_group()
    watchdog = threading.Thread(
        target=_watch_owner, args=(alive,), name="diffkit-owner-watchdog", daemon=True
    )
    watchdog.start()


def _lead_own_group() -> None:
    """Start a process group led by this worker: the parent then kills a task's children too."""
    if hasattr(os, "setpgid"):
        with contextlib.suppress(OSError):  # stays in the parent's group: only the worker dies
            os.setpgid(0, 0)


def _signal_on_parent_death() -> None:
    """Have Linux send SIGHUP when the parent exits, however it dies (SIGKILL included).

    Not SIGKILL: this worker must live long enough to kill its group, or a task's
    children would be orphaned in its stead.
    """
    if sys.platform.startswith("linux"):
        signal.signal(signal.SIGHUP, functools.partial(_on_parent_death, os.getpid()))
        libc = ctypes.CDLL(None, use_errno=True)
        zero = ctypes.c_ulong(0)
        libc.prctl(_PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGHUP), zero, zero, zero)


def _on_parent_death(leader: int, signum: int, frame: Any) -> None:
    """SIGHUP in the worker: end its group. A child that a task forks inherits this handler:
    it takes the default action instead."""
    if os.getpid() == leader:
        _end_group()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _process_alive(pid: int) -> Callable[[], bool]:
    """A check that ``pid``, not our parent, has not exited (a zombie has: it runs no more)."""
    try:
        handle = os.pidfd_open(pid)  # Linux 5.3+: readable once the process has exited
    except ProcessLookupError:
        return lambda: False
    except (AttributeError, OSError):  # elsewhere, signal 0 (which a zombie still takes)
        return functools.partial(_signalable, pid)
    exited = select.poll()
    exited.register(handle, select.POLLIN)
    return lambda: not exited.poll(0)


def _signalable(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, though not ours
        pass
    return True


def _watch_owner(alive: Callable[[], bool], every: float = 0.5) -> None:
    """In a thread: end the group once the owner has gone."""
    while alive():
        time.sleep(every)
    _end_group()


def _end_group() -> NoReturn:
    """SIGKILL this worker's group, itself included; only a group it leads, never its parent's."""
    if hasattr(os, "killpg") and os.getpgrp() == os.getpid():
        os.killpg(0, signal.SIGKILL)
    os._exit(1)


def _kill(process: Any) -> None:
    """SIGKILL a worker with its process group (whatever its task started), or alone when it
    leads none (not started that far, or no process groups here)."""
    if hasattr(os, "killpg"):
        try:
            os.killpg(process.pid, signal.SIGKILL)
            return
        except OSError:  # no such group: the worker never led one, or it is gone with all of it
            pass
    process.kill()


def _limit_memory(extra_bytes: int) -> None:
    """Cap this process's address space at its current size plus ``extra_bytes``."""
    import resource

    with open(f"/proc/{os.getpid()}/statm") as statm:
        pages = int(statm.read().split()[0])
    limit = pages * os.sysconf("SC_PAGE_SIZE") + extra_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@dataclass
class _Worker(Generic[T]):
    process: Any
    conn: Connection
    index: int | None = None
    deadline: float = float("inf")


# Runtimes that start threads of their own: a child forked after they have run can find
# their locks held by a thread that does not exist in it, and hang (jax does, in its
# compiler). The diffkit command never loads them in the process that forks.
FORK_UNSAFE = ("jax", "torch")


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _safe_context(tasks: Sequence[Any], work: Callable[..., Any]) -> Any:
    """Fork, unless a fork-unsafe runtime is loaded here and the work can be pickled: then
    the workers start from a fresh forkserver process, which has not loaded it."""
    ctx = _context()
    if ctx.get_start_method() != "fork" or not _fork_unsafe_loaded():
        return ctx
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return ctx
    try:
        pickle.dumps((tasks, work))
    except Exception:  # a lambda, a local class: only a fork can hand these over
        return ctx
    return multiprocessing.get_context("forkserver")


def _fork_unsafe_loaded() -> list[str]:
    return [name for name in FORK_UNSAFE if name in sys.modules]


class _Pool:
    """Workers that each run one task at a time; a late or dead worker is replaced."""

    def __init__(
        self,
        jobs: int,
        tasks: Sequence[Any],
        work: Callable[[Any], Any],
        memory_limit: int | None,
        ctx: Any,
    ) -> None:
        self.ctx = ctx
        self.args = (tasks, work, memory_limit, os.getpid())
        self.workers: list[_Worker[Any]] = []
        try:  # interrupted (Ctrl-C) or failed half-way: none of those started may stay
            for _ in range(jobs):
                self.workers.append(self._start())
            for worker in self.workers:  # all start at once; a task's time counts once it has
                self._await_ready(worker)
        except BaseException:
            self.close()
            raise

    def _start(self) -> _Worker[Any]:
        parent, child = self.ctx.Pipe()
        process = self.ctx.Process(target=_worker_main, args=(child, *self.args), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def _await_ready(self, worker: _Worker[Any]) -> None:
        try:
            if worker.conn.poll(_START_LIMIT) and worker.conn.recv() == _READY:
                return
        except (EOFError, OSError):
            pass
        code = worker.process.exitcode
        raise RuntimeError(
            f"a worker process did not start (exit code {code}); "
            f"with the {self.ctx.get_start_method()} start method the tasks must unpickle"
        )

    def replace(self, worker: _Worker[Any]) -> None:
        _kill(worker.process)
        worker.process.join()
        worker.conn.close()
        fresh = self._start()
        self.workers[self.workers.index(worker)] = fresh
        self._await_ready(fresh)

    def close(self) -> None:
        """Kill every worker's group: workers lead their own, out of reach of the terminal's
        Ctrl-C, so whatever ends the run (even normally) must end what its tasks started."""
        live = [worker for worker in self.workers if not worker.conn.closed]
        for worker in live:  # kill all, then wait: a second Ctrl-C in a wait spares none
            worker.conn.close()
            _kill(worker.process)
        for worker in live:
            worker.process.join()


def _run_processes(
    tasks: Sequence[T],
    work: Callable[[T], R],
    on_failure: Callable[[T, str, str], R],
    time_limit: float | None,
    jobs: int,
    memory_limit: int | None,
    bar: Any,
    ctx: Any,
) -> list[R]:
    results: dict[int, R] = {}
    pending = iter(range(len(tasks)))
    pool = _Pool(min(jobs, len(tasks)), tasks, work, memory_limit, ctx)
    limit = float("inf") if time_limit is None else time_limit

    def settle(index: int, result: R) -> None:
        results[index] = result
        bar.update(1)

    try:
        while len(results) < len(tasks):
            interrupts.check()
            for worker in pool.workers:
                if worker.index is None:
                    index = next(pending, None)
                    if index is not None:
                        worker.index, worker.deadline = index, time.monotonic() + limit
                        worker.conn.send(index)
            busy = [w for w in pool.workers if w.index is not None]
            timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
            ready = wait(
                [w.conn for w in busy] + [w.process.sentinel for w in busy],
                timeout=None if timeout == float("inf") else timeout,
            )
            for worker in busy:
                if worker.conn in ready:
                    try:
                        index, result = worker.conn.recv()
                    except (EOFError, OSError):
                        pass  # died while sending: handled as a crash below
                    else:
                        worker.index = None
                        settle(index, result)
                        continue
                if worker.index is None:
                    continue
                task = tasks[worker.index]
                if not worker.process.is_alive():
                    code = worker.process.exitcode
                    settle(worker.index, on_failure(task, "crashed", _death(code)))
                    pool.replace(worker)
                elif time.monotonic() >= worker.deadline:
                    message = f"task ran past its time limit of {time_limit:g} s; worker stopped"
                    settle(worker.index, on_failure(task, "timeout", message))
                    pool.replace(worker)
    finally:
        pool.close()
    return [results[i] for i in range(len(tasks))]


def _death(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the worker process died ({name}) while running this task"
    return f"the worker process exited with code {code} while running this task"


# ---------------------------------------------------------------------- entry point


def run_tasks(
    tasks: Sequence[T],
    work: Callable[[T], R],
    on_failure: Callable[[T, str, str], R],
    *,
    jobs: int = 1,
    time_limit: float | None = None,
    memory_limit: int | None = None,
    progress: bool | None = None,
    label: str = "sweep",
    executor: str = "processes",
    scheduler: str | None = None,
) -> list[R]:
    """``[work(t) for t in tasks]``, in order, with failures replaced by ``on_failure``.

    ``work`` should turn its own exceptions into results; this runner adds what a
    task cannot catch itself: time limits (``time_limit`` seconds, status "timeout"),
    a dead worker (status "crashed"), and, with ``jobs > 1``, a cap on the memory a
    worker may add (``memory_limit`` bytes; going past it raises MemoryError inside
    the task). ``progress``: a tqdm bar on stderr; None shows it only on a terminal.
    ``executor``: "processes" (in-process when ``jobs == 1``) or "dask", on the Dask
    scheduler at address ``scheduler``, or on a LocalCluster of ``jobs`` workers started
    for this run when it is None.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit must be a positive number of seconds, got {time_limit}")
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    if scheduler is not None and executor != "dask":
        raise ValueError("scheduler is a Dask scheduler's address: it needs executor='dask'")
    with _progress(len(tasks), progress, label) as bar:
        if executor == "dask":
            from .executors_dask import run_dask

            return run_dask(
                tasks,
                work,
                on_failure,
                jobs=jobs,
                time_limit=time_limit,
                memory_limit=memory_limit,
                scheduler=scheduler,
                bar=bar,
            )
        ctx = _safe_context(tasks, work) if jobs > 1 and tasks else None
        loaded = _fork_unsafe_loaded() if ctx is not None else []
        if loaded and ctx is not None and ctx.get_start_method() == "fork":
            warnings.warn(
                f"{' and '.join(loaded)} is loaded in this process, and a worker forked from "
                "it can hang inside that library; give a time_limit so such a worker is "
                "stopped (the diffkit command keeps these libraries out of the process "
                "that forks, and executor='dask' does not fork this process)",
                ForkUnsafeWarning,
                stacklevel=2,
            )
        if jobs == 1 or not tasks:  # with jobs > 1 even one task gets a worker's isolation
            return _run_serial(tasks, work, on_failure, time_limit, bar)
        return _run_processes(tasks, work, on_failure, time_limit, jobs, memory_limit, bar, ctx)


@contextlib.contextmanager
def shared_scheduler(executor: str, scheduler: str | None, jobs: int) -> Iterator[str | None]:
    """The ``scheduler`` for several ``run_tasks`` calls: with Dask, one LocalCluster for all.

    Starting a LocalCluster takes seconds; a caller that runs tasks in stages (ground
    truth, then estimates) wraps them in this and passes the address it yields on.
    Other executors, and a given address, pass through unchanged.
    """
    if executor != "dask" or scheduler is not None:
        yield scheduler
        return
    from .executors_dask import local_cluster

    with local_cluster(jobs) as address:
        yield address


def default_jobs() -> int:
    """The CPUs this process may use (the affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
