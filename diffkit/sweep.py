"""The grid runner: functions x points x methods x steps x dtypes -> one tidy DataFrame.

Every row is one derivative estimate (one gradient component for functions of
several variables) with its ground truth and errors, so that figures, tables and
the report are pure functions of the frame. A function that raises or returns NaN
gives rows with a ``status`` and a ``message``; the sweep always completes. The truth
of a plain callable comes from its traced expression; where there is none, its rows
read ``no-truth`` (``truth_source`` says which: ``expression``, ``traced``, ``none``).

Finite-difference rules with a step grid are swept with the domain fallbacks off,
so each row shows what that rule does at that exact h (a stencil outside the
domain is a ``nonfinite`` row, not a silently changed step); their ``nfev`` is the
rule's own cost and they carry no ``error_estimate``. Backends given by name run
once per point with their own defaults (``h="auto"``), and report their estimate
where they make one. ``seconds`` is the call's time shared over the rows it made: for
a call under ``REPEAT_BELOW`` seconds, the median of ``REPEATS`` runs after the first
(which pays for warm-up), else its one run.

This module runs the grid; its parts live beside it: ``fd_rules`` (the rules and
the default steps), ``grid`` (the tasks), ``ground_truth`` (the exact derivative at a
point, and where it came from), ``estimates`` (one rule or backend at one point) and
``rows`` (an outcome as rows of the frame's ``COLUMNS``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from . import ground_truth
from .backends.protocol import Differentiator
from .estimates import (
    Outcome,
    backend_instance,
    failure,
    run_backend,
    run_fd,
    why_failed,
    why_nonfinite,
)
from .fd_rules import DEFAULT_STEPS, FD_METHODS, FDMethod
from .function import Function
from .grid import Task, tasks
from .ground_truth import Truth
from .rows import COLUMNS, frame_of, outcome_rows, point_label

if TYPE_CHECKING:  # pandas costs ~0.2 s to import: only sweeps and reports load it
    import pandas as pd

__all__ = [
    "COLUMNS",
    "DEFAULT_STEPS",
    "FD_METHODS",
    "FDMethod",
    "frame_of",
    "point_label",
    "run",
    "sweep",
    "tasks",
]


# ---------------------------------------------------------------------- ground truth


def task_truth(task: Task) -> Truth:
    """The exact derivative at the task's point, its kink flag and source (as run() found them)."""
    return task.truth if task.truth is not None else _truth_of(task)


def _truth_of(task: Task) -> Truth:
    return ground_truth.truth_at(task.function, task.point, task.n)


def _capped_truth(task: Task, memory: int | None) -> Truth:
    with ground_truth.memory_cap(memory):
        return _truth_of(task)


def _tighter(limit: float | None, own: float | None) -> float | None:
    return own if limit is None else limit if own is None else min(limit, own)


def _no_truth(task: Task, status: str, message: str) -> Truth:
    return ground_truth.gave_up(task.function, status, message)


def _truth_key(task: Task) -> tuple[int, str, int]:
    return id(task.function), point_label(task.point), task.n


# ---------------------------------------------------------------------- one task


def _rows(task: Task, outcome: Outcome, seconds: float) -> dict[str, list[Any]]:
    """The task's rows, column by column (the frame is built once, at the end of the sweep)."""
    found = task_truth(task)
    return outcome_rows(
        outcome,
        function=task.function,
        point=task.point,
        n=task.n,
        dtype=task.dtype,
        noise=task.noise,
        labels=task.labels(),
        truth=found.values,
        kink=found.kink,
        seconds=seconds,
        truth_source=found.source,
        no_truth=found.why,
        truth_stopped=found.stopped,
    )


def _noisy(task: Task) -> Function:
    """The task's function with its additive noise (the function itself at level 0)."""
    if task.noise == 0:
        return task.function
    from .noise import noise_scale, with_noise

    scale = noise_scale(task.function, task.point)
    return with_noise(task.function, task.noise, task.seed, scale=scale)


# A call faster than REPEAT_BELOW seconds is run REPEATS times more and timed as the
# median of those: its first run pays for imports, caches and compilation (the same
# forward difference took 8e-4 s on one function and 3e-6 s on the next), and one run
# of a few microseconds is mostly the timer. Slower calls are timed once.
REPEAT_BELOW = 0.005
REPEATS = 3


def _estimate(task: Task, f: Function) -> Outcome:
    with np.errstate(all="ignore"):
        if task.method is not None:
            return run_fd(f, task.point, task.n, task.dtype, task.method, task.steps)
        assert task.backend is not None
        diff = backend_instance(task.backend[1])
        return run_backend(f, task.point, task.n, task.dtype, diff)


def _repeated(task: Task, f: Function, first: float) -> float:
    """The median time of REPEATS more runs (their results are the first's: dropped);
    the first run's time where f fails on a repeat (a function with its own state)."""
    times = []
    try:
        for _ in range(REPEATS):
            again = time.perf_counter()
            _estimate(task, f)
            times.append(time.perf_counter() - again)
    except Exception:
        return first
    return float(np.median(times))


def _work(task: Task) -> dict[str, list[Any]]:
    """Run one task; whatever it raises becomes its rows' status and message."""
    steps, components = task.width
    start = time.perf_counter()
    try:
        f = _noisy(task)
        outcome = _estimate(task, f)
        seconds = time.perf_counter() - start
        if seconds < REPEAT_BELOW:
            seconds = _repeated(task, f, seconds)
        if not outcome.message and np.any(outcome.status == "nonfinite"):
            outcome.message = why_nonfinite(f, task.point)
    except Exception as exc:  # one failing function or rule must not stop the sweep
        outcome = failure(exc, steps, components)
        outcome.message = why_failed(task.function, task.point, exc) or outcome.message
        seconds = time.perf_counter() - start
    return _rows(task, outcome, seconds)


def _give_up(task: Task, status: str, message: str) -> dict[str, list[Any]]:
    """The rows of a task the executor stopped (timeout) or lost (its worker died)."""
    steps, components = task.width
    outcome = failure(RuntimeError(message), steps, components)
    outcome.status[:] = status
    outcome.message = message
    return _rows(task, outcome, float("nan"))


# ---------------------------------------------------------------------- the whole grid


def sweep(
    functions: Iterable[Function | str | Any],
    *,
    methods: Sequence[FDMethod | str] = FD_METHODS,
    steps: Sequence[float] = DEFAULT_STEPS,
    backends: Sequence[str | Differentiator] = (),
    dtypes: Sequence[str] = ("float64",),
    noise: Sequence[float] = (0.0,),
    seed: int = 0,
    points: Sequence[Any] | None = None,
    n: int = 1,
    jobs: int = 1,
    time_limit: float | None = None,
    memory_limit: int | None = None,
    truth_time_limit: float | None = ground_truth.TRUTH_TIME_LIMIT,
    truth_memory_limit: int | None = ground_truth.TRUTH_MEMORY_LIMIT,
    progress: bool | None = False,
    executor: str = "processes",
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Estimate derivatives over the whole grid and return the tidy frame of ``COLUMNS``.

    ``methods`` are finite-difference rules swept over ``steps`` (an ``FDMethod``, or
    the label of one of ``FD_METHODS``: ``"central"``); ``backends`` (names
    or objects) run once per point. ``points`` overrides each function's own points
    (a plain callable has none: pass them); a plain callable takes as many variables
    as its points have coordinates (``grid.fitted``), and points that contradict a
    function's variables raise ValueError.
    ``noise``: levels of additive Gaussian noise, std relative to max(|f(point)|, 1),
    seeded from ``seed``; noisy rows come from the real-step finite-difference rules
    and ``fd*`` backends only, since noise on the values does not reach an exact or
    recorded derivative, nor the imaginary part a complex step reads. ``jobs`` worker
    processes share the tasks; a task past ``time_limit`` seconds, or whose worker
    dies, becomes rows with status "timeout" or "crashed" (see ``executors.run_tasks``,
    also for ``memory_limit``). Each point's ground truth runs under limits of its
    own as well, ``truth_time_limit`` seconds and ``truth_memory_limit`` bytes (None:
    none): a point past them reads ``no-truth``, and its message names the limit.
    The frame is the same, row for row, whatever ``jobs``
    and ``executor`` are; only ``seconds`` differ. ``progress``: a bar on stderr (None:
    only on a terminal). ``executor="dask"`` runs the tasks on the Dask cluster at
    address ``scheduler`` (None: a LocalCluster of ``jobs`` workers).
    """
    grid = tasks(
        functions,
        methods=methods,
        steps=steps,
        backends=backends,
        dtypes=dtypes,
        noise=noise,
        seed=seed,
        points=points,
        n=n,
    )
    return run(
        grid,
        jobs=jobs,
        time_limit=time_limit,
        memory_limit=memory_limit,
        truth_time_limit=truth_time_limit,
        truth_memory_limit=truth_memory_limit,
        progress=progress,
        executor=executor,
        scheduler=scheduler,
    )


def run(
    grid: Sequence[Task],
    *,
    jobs: int = 1,
    time_limit: float | None = None,
    memory_limit: int | None = None,
    truth_time_limit: float | None = ground_truth.TRUTH_TIME_LIMIT,
    truth_memory_limit: int | None = ground_truth.TRUTH_MEMORY_LIMIT,
    progress: bool | None = False,
    executor: str = "processes",
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Run tasks from ``tasks()`` (several grids may be concatenated) into one frame.

    Ground truth comes first, once per (function, point), shared out like the tasks:
    every rule and backend at a point then reuses it, in whichever worker it runs. A
    function without an expression is traced there (``ground_truth``), under the same
    time limit, once per function in each process; every truth task also runs under
    ``truth_time_limit`` and ``truth_memory_limit`` (``sweep``).
    """
    from .executors import run_tasks, shared_scheduler

    ground_truth.forget_gave_up()
    firsts: dict[tuple[int, str, int], Task] = {}
    for task in grid:
        firsts.setdefault(_truth_key(task), task)
    options: dict[str, Any] = dict(
        jobs=jobs,
        time_limit=time_limit,
        memory_limit=memory_limit,
        progress=progress,
        executor=executor,
    )
    with shared_scheduler(executor, scheduler, jobs) as address:
        found = run_tasks(
            list(firsts.values()),
            partial(_capped_truth, memory=truth_memory_limit),
            _no_truth,
            scheduler=address,
            label="ground truth",
            **{**options, "time_limit": _tighter(time_limit, truth_time_limit)},
        )
        known = dict(zip(firsts, found, strict=True))
        grid = [replace(task, truth=known[_truth_key(task)]) for task in grid]
        results = run_tasks(grid, _work, _give_up, scheduler=address, **options)
    return frame_of(results)
