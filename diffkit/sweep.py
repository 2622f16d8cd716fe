"""The grid runner: functions x points x methods x steps x dtypes -> one tidy DataFrame.

Every row is one derivative estimate (one gradient component for functions of
several variables) with its ground truth and errors, so that figures, tables and
the report are pure functions of the frame. A function that raises or returns NaN
gives rows with a ``status`` and a ``message``; the sweep always completes.

Finite-difference rules with a step grid are swept with the domain fallbacks off,
so each row shows what that rule does at that exact h (a stencil outside the
domain is a ``nonfinite`` row, not a silently changed step); their ``nfev`` is the
rule's own cost and they carry no ``error_estimate``. Backends given by name run
once per point with their own defaults (``h="auto"``), and report their estimate
where they make one. ``seconds`` is the call's time shared over the rows it made.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from . import truth
from .analysis import absolute_error, relative_error
from .backends import FiniteDifference, available, backend
from .backends.protocol import Differentiator
from .backends.registry import plugin_names
from .function import Function, as_function, coordinate_line

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

COLUMNS = [
    "function",
    "point",
    "x",
    "component",
    "n",
    "backend",
    "method",
    "scheme",
    "accuracy",
    "h",
    "dtype",
    "noise",
    "value",
    "truth",
    "abs_err",
    "rel_err",
    "error_estimate",
    "nfev",
    "seconds",
    "status",
    "message",
    "kink",
]

# 4 steps per decade from 1e-16 to 1: enough to see both arms of every V-curve.
DEFAULT_STEPS = tuple(float(h) for h in np.logspace(-16, 0, 65))


@dataclass(frozen=True)
class FDMethod:
    """A finite-difference rule swept over steps: a label for charts, and its options."""

    label: str
    scheme: str
    accuracy: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def make(self, h: Any) -> FiniteDifference:
        return FiniteDifference(
            scheme=self.scheme, accuracy=self.accuracy, h=h, fallback=False, **self.options
        )

    def accuracy_order(self, n: int) -> int:
        return 2 if self.scheme == "complex" else self.make("auto").rule(n).accuracy


FD_METHODS: tuple[FDMethod, ...] = (
    FDMethod("forward", "forward", 1),
    FDMethod("central", "central", 2),
    FDMethod("central4", "central", 4),
    FDMethod("complex", "complex"),
)


@dataclass
class _Outcome:
    """What one task produced: arrays over (steps, components)."""

    values: np.ndarray
    estimates: np.ndarray
    h: np.ndarray
    nfev: np.ndarray
    status: np.ndarray
    message: str = ""


def point_label(point: Any) -> str:
    """A readable label; a long vector shows its ends, size and a digest, so labels stay distinct."""
    arr = np.atleast_1d(np.asarray(point, dtype=float))
    if arr.size <= 4:
        return ", ".join(f"{v:.6g}" for v in arr)
    digest = hashlib.sha1(arr.astype("<f8").tobytes()).hexdigest()[:6]
    return f"{arr[0]:.6g}, {arr[1]:.6g}, ..., {arr[-1]:.6g} ({arr.size} values, #{digest})"


def _truth(f: Function, point: Any, n: int) -> np.ndarray:
    """Ground truth per component; NaN when f has no expression (then errors are NaN too)."""
    try:
        if f.ndim == 1:
            return np.atleast_1d(truth.derivative(f, float(point), n))
        return truth.gradient(f, point)
    except truth.NoExpressionError:
        return np.full(1 if f.ndim == 1 else f.ndim, np.nan)


def _failure(exc: BaseException, steps: int, components: int) -> _Outcome:
    nan = np.full((steps, components), np.nan)
    return _Outcome(
        values=nan,
        estimates=nan.copy(),
        h=np.full(steps, np.nan),
        nfev=np.zeros(steps, dtype=int),
        status=np.full(steps, "error", dtype=object),
        message=f"{type(exc).__name__}: {exc}",
    )


def _run_fd(
    f: Function, point: Any, n: int, dtype: str, method: FDMethod, steps: np.ndarray
) -> _Outcome:
    if f.ndim == 1:
        xs = np.full(steps.shape, point, dtype=dtype)
        result = method.make(steps).estimate(f, xs, n, with_error=False)
        return _Outcome(
            values=result.value.reshape(-1, 1),
            estimates=np.full((steps.size, 1), np.nan),
            h=steps,
            nfev=result.nfev,
            status=result.status,
        )
    if n != 1:
        raise ValueError(
            f"the sweep differentiates functions of several variables once (gradient), got n={n}"
        )
    # Each partial derivative is a derivative along a coordinate line, swept over all
    # steps in one vectorized call: the same arithmetic as gradient(), step by step.
    x = np.asarray(point, dtype=dtype).reshape(-1)
    fd = method.make(steps)
    parts = [
        fd.estimate(coordinate_line(f, x, i), np.full(steps.shape, x[i]), with_error=False)
        for i in range(x.size)
    ]
    values = np.stack([p.value for p in parts], axis=1).astype(float)
    return _Outcome(
        values=values,
        estimates=np.full(values.shape, np.nan),
        h=steps,
        nfev=np.sum([p.nfev for p in parts], axis=0),
        status=_worst_status([p.status for p in parts]),
    )


def _worst_status(statuses: list[np.ndarray]) -> np.ndarray:
    """Per step, the first non-ok status among the components (ok when all are)."""
    out = np.full(statuses[0].shape, "ok", dtype=object)
    for status in statuses:
        out = np.where(out == "ok", status, out)
    return out


class _Counted:
    """f with a count of the points it was evaluated at (the first axis holds variables)."""

    def __init__(self, f: Function) -> None:
        self.f, self.points = f, 0

    def __call__(self, x: Any) -> Any:
        self.points += np.size(x) // self.f.ndim
        return self.f.numpy(x)


def _run_backend(f: Function, point: Any, n: int, dtype: str, diff: Differentiator) -> _Outcome:
    x = np.asarray(point, dtype=dtype)
    estimate = getattr(diff, "estimate", None)
    if f.ndim == 1 and callable(estimate):
        # A richer result (FDResult, SymbolicResult): take the fields it has.
        result = estimate(f, x, n)
        return _Outcome(
            values=np.atleast_1d(np.asarray(result.value, dtype=float)).reshape(1, 1),
            estimates=np.atleast_1d(getattr(result, "error", np.nan)).reshape(1, 1),
            h=np.atleast_1d(getattr(result, "h", np.nan)).astype(float),
            nfev=np.atleast_1d(getattr(result, "nfev", 0)),
            status=np.atleast_1d(np.asarray(result.status, dtype=object)),
        )
    counted = _Counted(f)
    wrapped = replace(f, numpy=counted)
    value = diff.derivative(wrapped, x, n) if f.ndim == 1 else diff.gradient(wrapped, x)
    row = np.atleast_1d(np.asarray(value, dtype=float)).reshape(1, -1)
    return _Outcome(
        values=row,
        estimates=np.full(row.shape, np.nan),
        h=np.full(1, np.nan),
        nfev=np.full(1, counted.points),
        status=np.full(1, "ok", dtype=object),
    )


_NUMERIC = (
    "x",
    "accuracy",
    "h",
    "noise",
    "value",
    "truth",
    "abs_err",
    "rel_err",
    "error_estimate",
    "seconds",
)
_INTEGER = ("component", "n", "nfev")


def _rows(task: _Task, outcome: _Outcome, seconds: float) -> dict[str, list[Any]]:
    """The task's rows, column by column (the frame is built once, at the end of the sweep)."""
    f, point = task.function, task.point
    truth_values, kink = task_truth(task)
    steps, components = outcome.values.shape
    count = steps * components
    values = outcome.values.reshape(-1).astype(float)
    padded = np.concatenate([truth_values, np.full(components, np.nan)])[:components]
    truths = np.tile(padded, steps)
    status = np.repeat(np.asarray(outcome.status, dtype=object), components)
    message = np.full(count, outcome.message, dtype=object)
    usable = np.isin(status, ("ok", "reduced-step", "one-sided"))
    infinite = usable & np.isinf(values) & (values == truths)
    nonfinite = usable & ~np.isfinite(values) & ~infinite
    status[infinite], message[infinite] = "infinite", "infinite, as the exact derivative is"
    status[nonfinite], message[nonfinite] = "nonfinite", "the estimate is not finite"
    silent = (status == "nonfinite") & (message == "")
    message[silent] = "no finite estimate: a stencil point is outside the domain or f overflowed"
    labels = task.labels()
    return {
        "function": [f.name] * count,
        "point": [point_label(point)] * count,
        "x": [float(point) if f.ndim == 1 else float("nan")] * count,
        "component": np.tile(np.arange(components), steps).tolist(),
        "n": [task.n] * count,
        **{key: [value] * count for key, value in labels.items()},
        "h": np.repeat(outcome.h.astype(float), components).tolist(),
        "dtype": [task.dtype] * count,
        "noise": [task.noise] * count,
        "value": values.tolist(),
        "truth": truths.tolist(),
        "abs_err": np.asarray(absolute_error(values, truths), dtype=float).tolist(),
        "rel_err": np.asarray(relative_error(values, truths), dtype=float).tolist(),
        "error_estimate": outcome.estimates.reshape(-1).astype(float).tolist(),
        "nfev": np.repeat(outcome.nfev.astype(int), components).tolist(),
        "seconds": [seconds / count] * count,
        "status": status.tolist(),
        "message": message.tolist(),
        "kink": [kink] * count,
    }


# ---------------------------------------------------------------------- tasks


@dataclass(frozen=True, eq=False)
class _Task:
    """One rule (swept over all steps) or one backend, at one point, dtype and noise level."""

    function: Function
    point: Any
    n: int
    dtype: str
    noise: float
    seed: int
    steps: np.ndarray
    method: FDMethod | None = None
    backend: tuple[str, str | Differentiator] | None = None
    truth: tuple[np.ndarray, bool] | None = None  # filled in by run(), once per point

    def labels(self) -> dict[str, Any]:
        if self.method is not None:
            return {
                "backend": "fd",
                "method": self.method.label,
                "scheme": self.method.scheme,
                "accuracy": _safe_accuracy(self.method, self.n),
            }
        assert self.backend is not None
        label, spec = self.backend
        if isinstance(spec, str) and spec in plugin_names():
            method, scheme = spec, ""  # a peer (torch, jax) is built in its worker, not here
        else:
            diff = _instance(spec)
            method, scheme = _backend_label(diff), getattr(diff, "scheme", "")
        return {"backend": label, "method": method, "scheme": scheme, "accuracy": float("nan")}

    @property
    def width(self) -> tuple[int, int]:
        """(steps, components) of the outcome."""
        steps = self.steps.size if self.method is not None else 1
        return steps, 1 if self.function.ndim == 1 else self.function.ndim


def task_truth(task: _Task) -> tuple[np.ndarray, bool]:
    """Ground truth per component and whether the point is a kink (as run() found them)."""
    return task.truth if task.truth is not None else _truth_of(task)


def _truth_of(task: _Task) -> tuple[np.ndarray, bool]:
    f = task.function
    try:
        values = _truth(f, task.point, task.n)
    except Exception:  # an expression the ground truth cannot evaluate: errors stay NaN
        values = np.full(task.width[1], np.nan)
    try:
        kink = truth.on_kink(f, task.point)
    except Exception:  # no verdict: the point counts as smooth
        kink = False
    return values, kink


def _no_truth(task: _Task, status: str, message: str) -> tuple[np.ndarray, bool]:
    return np.full(task.width[1], np.nan), False


def _truth_key(task: _Task) -> tuple[int, str, int]:
    return id(task.function), point_label(task.point), task.n


def _noisy(task: _Task) -> Function:
    """The task's function with its additive noise (the function itself at level 0)."""
    if task.noise == 0:
        return task.function
    from .noise import with_noise

    centre = np.asarray(task.function.numpy(np.asarray(task.point, dtype=float)), dtype=float)
    scale = float(np.max(np.abs(centre), initial=1.0)) if np.all(np.isfinite(centre)) else 1.0
    return with_noise(task.function, task.noise, task.seed, scale=scale)


def _work(task: _Task) -> dict[str, list[Any]]:
    """Run one task; whatever it raises becomes its rows' status and message."""
    steps, components = task.width
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            f = _noisy(task)
            if task.method is not None:
                outcome = _run_fd(f, task.point, task.n, task.dtype, task.method, task.steps)
            else:
                assert task.backend is not None
                diff = _instance(task.backend[1])
                outcome = _run_backend(f, task.point, task.n, task.dtype, diff)
        if not outcome.message and np.any(outcome.status == "nonfinite"):
            outcome.message = _why_nonfinite(f, task.point)
    except Exception as exc:  # one failing function or rule must not stop the sweep
        outcome = _failure(exc, steps, components)
    return _rows(task, outcome, time.perf_counter() - start)


def _why_nonfinite(f: Function, point: Any) -> str:
    """Name the cause of non-finite estimates when f itself is not finite at the point."""
    with np.errstate(all="ignore"):
        value = np.asarray(f.numpy(np.asarray(point, dtype=float)), dtype=float)
    if np.all(np.isfinite(value)):
        return ""  # the stencil met trouble away from the point: the row's default message
    kind = "nan" if np.any(np.isnan(value)) else "inf"
    return f"f itself is not finite at the point (f returns {kind} there)"


def _give_up(task: _Task, status: str, message: str) -> dict[str, list[Any]]:
    """The rows of a task the executor stopped (timeout) or lost (its worker died)."""
    steps, components = task.width
    outcome = _failure(RuntimeError(message), steps, components)
    outcome.status[:] = status
    outcome.message = message
    return _rows(task, outcome, float("nan"))


def _seed(seed: int, *parts: Any) -> int:
    """A task's noise seed: stable across runs, processes and Python's hash randomisation."""
    text = "|".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def _check_noise(level: float) -> float:
    level = float(level)
    if not (np.isfinite(level) and level >= 0):
        raise ValueError(f"noise levels must be finite and >= 0, got {level}")
    return level


def tasks(
    functions: Iterable[Function | str | Any],
    *,
    methods: Sequence[FDMethod] = FD_METHODS,
    steps: Sequence[float] = DEFAULT_STEPS,
    backends: Sequence[str | Differentiator] = (),
    dtypes: Sequence[str] = ("float64",),
    noise: Sequence[float] = (0.0,),
    seed: int = 0,
    points: Sequence[Any] | None = None,
    n: int = 1,
) -> list[_Task]:
    """The sweep's grid as a list of independent tasks (see ``sweep`` for the arguments)."""
    step_grid = np.asarray(steps, dtype=float)
    diffs = [(b, _checked(b)) if isinstance(b, str) else (b.name, b) for b in backends]
    levels = [_check_noise(level) for level in noise]
    out: list[_Task] = []
    for item in functions:
        f = as_function(item)
        for point in points if points is not None else f.points:
            label = point_label(point)
            for dtype, level in itertools.product(dtypes, levels):
                for method in methods:
                    if level and method.scheme == "complex":
                        continue  # noise on real values never reaches the imaginary part
                    task_seed = _seed(seed, f.name, label, dtype, level, method.label)
                    out.append(
                        _Task(f, point, n, dtype, level, task_seed, step_grid, method=method)
                    )
                for name, diff in diffs:
                    if level and not name.startswith("fd"):
                        continue  # noise on the values does not reach an exact or recorded derivative
                    task_seed = _seed(seed, f.name, label, dtype, level, name)
                    out.append(
                        _Task(f, point, n, dtype, level, task_seed, step_grid, backend=(name, diff))
                    )
    return out


def sweep(
    functions: Iterable[Function | str | Any],
    *,
    methods: Sequence[FDMethod] = FD_METHODS,
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
    progress: bool | None = False,
    executor: str = "processes",
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Estimate derivatives over the whole grid and return the tidy frame of ``COLUMNS``.

    ``methods`` are finite-difference rules swept over ``steps``; ``backends`` (names
    or objects) run once per point. ``points`` overrides each function's own points.
    ``noise``: levels of additive Gaussian noise, std relative to max(|f(point)|, 1),
    seeded from ``seed``; noisy rows come from the real-step finite-difference rules
    and ``fd*`` backends only, since noise on the values does not reach an exact or
    recorded derivative, nor the imaginary part a complex step reads. ``jobs`` worker
    processes share the tasks; a task past ``time_limit`` seconds, or whose worker
    dies, becomes rows with status "timeout" or "crashed" (see ``executors.run_tasks``,
    also for ``memory_limit``). The frame is the same,
    row for row, whatever ``jobs`` is; only ``seconds`` differ. ``progress``: a bar on
    stderr (None: only on a terminal). ``executor="dask"`` runs the tasks on the Dask
    cluster at address ``scheduler`` (None: a LocalCluster of ``jobs`` workers).
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
        progress=progress,
        executor=executor,
        scheduler=scheduler,
    )


def run(
    grid: Sequence[_Task],
    *,
    jobs: int = 1,
    time_limit: float | None = None,
    memory_limit: int | None = None,
    progress: bool | None = False,
    executor: str = "processes",
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Run tasks from ``tasks()`` (several grids may be concatenated) into one frame.

    Ground truth comes first, once per (function, point), shared out like the tasks:
    every rule and backend at a point then reuses it, in whichever worker it runs.
    """
    from .executors import run_tasks, shared_scheduler

    firsts: dict[tuple[int, str, int], _Task] = {}
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
            _truth_of,
            _no_truth,
            scheduler=address,
            label="ground truth",
            **options,
        )
        known = dict(zip(firsts, found, strict=True))
        grid = [replace(task, truth=known[_truth_key(task)]) for task in grid]
        results = run_tasks(grid, _work, _give_up, scheduler=address, **options)
    return frame_of(results)


def frame_of(results: Iterable[Mapping[str, list[Any]]]) -> pd.DataFrame:
    """Concatenate tasks' column lists into one frame of ``COLUMNS`` with stable dtypes."""
    import pandas as pd

    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for result in results:
        for name in COLUMNS:
            columns[name] += result[name]
    frame = pd.DataFrame(columns, columns=COLUMNS)
    for name in _NUMERIC:
        frame[name] = frame[name].astype(float)
    for name in _INTEGER:
        frame[name] = frame[name].astype(int)
    frame["kink"] = frame["kink"].astype(bool)
    return frame


def _safe_accuracy(method: FDMethod, n: int) -> float:
    try:
        return float(method.accuracy_order(n))
    except ValueError:
        return float("nan")


_INSTANCES: dict[str, Differentiator] = {}


def _checked(name: str) -> str:
    """A backend name, checked now (an unknown one fails before any work starts)."""
    if name not in available():
        backend(name)  # raises UnknownBackendError listing the available names
    return name


def _instance(spec: str | Differentiator) -> Differentiator:
    """The backend a task names, built once per process where the task runs.

    Tasks carry names rather than built backends so that torch or jax are imported
    in the worker processes that use them, never in the parent before it forks.
    """
    if not isinstance(spec, str):
        return spec
    if spec not in _INSTANCES:
        _INSTANCES[spec] = backend(spec)
    return _INSTANCES[spec]


def _backend_label(diff: Differentiator) -> str:
    if isinstance(diff, FiniteDifference):
        kind = "richardson" if diff.richardson else diff.scheme
        return f"fd-{kind}-auto"
    return diff.name
