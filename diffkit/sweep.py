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
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from . import truth
from .analysis import absolute_error, relative_error
from .backends import FiniteDifference, backend
from .backends.protocol import Differentiator
from .function import Function, as_function, coordinate_line

if TYPE_CHECKING:  # pandas costs ~0.2 s to import: only sweeps and reports load it
    import pandas as pd

__all__ = ["COLUMNS", "DEFAULT_STEPS", "FD_METHODS", "FDMethod", "point_label", "sweep"]

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
    "value",
    "truth",
    "abs_err",
    "rel_err",
    "error_estimate",
    "nfev",
    "seconds",
    "status",
    "message",
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


def _rows(
    f: Function,
    point: Any,
    n: int,
    dtype: str,
    labels: dict[str, Any],
    outcome: _Outcome,
    truth_values: np.ndarray,
    seconds: float,
) -> list[dict[str, Any]]:
    rows = []
    x = float(point) if f.ndim == 1 else float("nan")
    steps, components = outcome.values.shape
    for s in range(steps):
        for c in range(components):
            value = outcome.values[s, c]
            t = truth_values[c] if c < truth_values.size else np.nan
            status, message = outcome.status[s], outcome.message
            if status in ("ok", "reduced-step", "one-sided") and not np.isfinite(value):
                if np.isinf(value) and value == t:
                    status, message = "infinite", "infinite, as the exact derivative is"
                else:
                    status, message = "nonfinite", "the estimate is not finite"
            elif status == "nonfinite" and not message:
                message = (
                    "no finite estimate: a stencil point is outside the domain or f overflowed"
                )
            rows.append(
                {
                    "function": f.name,
                    "point": point_label(point),
                    "x": x,
                    "component": c,
                    "n": n,
                    **labels,
                    "h": float(outcome.h[s]),
                    "dtype": dtype,
                    "value": float(value),
                    "truth": float(t),
                    "abs_err": float(absolute_error(value, t)),
                    "rel_err": float(relative_error(value, t)),
                    "error_estimate": float(outcome.estimates[s, c]),
                    "nfev": int(outcome.nfev[s]),
                    "seconds": seconds / (steps * components),
                    "status": status,
                    "message": message,
                }
            )
    return rows


def _timed(task: Callable[[], _Outcome], steps: int, components: int) -> tuple[_Outcome, float]:
    start = time.perf_counter()
    try:
        with np.errstate(all="ignore"):
            outcome = task()
    except Exception as exc:  # one failing function or rule must not stop the sweep
        outcome = _failure(exc, steps, components)
    return outcome, time.perf_counter() - start


def sweep(
    functions: Iterable[Function | str | Any],
    *,
    methods: Sequence[FDMethod] = FD_METHODS,
    steps: Sequence[float] = DEFAULT_STEPS,
    backends: Sequence[str | Differentiator] = (),
    dtypes: Sequence[str] = ("float64",),
    points: Sequence[Any] | None = None,
    n: int = 1,
) -> pd.DataFrame:
    """Estimate derivatives over the whole grid and return the tidy frame of ``COLUMNS``.

    ``methods`` are finite-difference rules swept over ``steps``; ``backends`` (names
    or objects) run once per point. ``points`` overrides each function's own points.
    """
    step_grid = np.asarray(steps, dtype=float)
    diffs = [(b, backend(b)) if isinstance(b, str) else (b.name, b) for b in backends]
    rows: list[dict[str, Any]] = []
    for item in functions:
        f = as_function(item)
        for point in points if points is not None else f.points:
            components = 1 if f.ndim == 1 else f.ndim
            try:
                truth_values = _truth(f, point, n)
            except Exception:  # an expression the ground truth cannot evaluate: errors stay NaN
                truth_values = np.full(components, np.nan)
            for dtype in dtypes:
                for method in methods:
                    labels = {
                        "backend": "fd",
                        "method": method.label,
                        "scheme": method.scheme,
                        "accuracy": _safe_accuracy(method, n),
                    }
                    outcome, seconds = _timed(
                        partial(_run_fd, f, point, n, dtype, method, step_grid),
                        step_grid.size,
                        components,
                    )
                    rows += _rows(f, point, n, dtype, labels, outcome, truth_values, seconds)
                for label, diff in diffs:
                    labels = {
                        "backend": label,
                        "method": _backend_label(diff),
                        "scheme": getattr(diff, "scheme", ""),
                        "accuracy": np.nan,
                    }
                    outcome, seconds = _timed(
                        partial(_run_backend, f, point, n, dtype, diff), 1, components
                    )
                    rows += _rows(f, point, n, dtype, labels, outcome, truth_values, seconds)
    import pandas as pd

    return pd.DataFrame(rows, columns=COLUMNS)


def _safe_accuracy(method: FDMethod, n: int) -> float:
    try:
        return float(method.accuracy_order(n))
    except ValueError:
        return float("nan")


def _backend_label(diff: Differentiator) -> str:
    if isinstance(diff, FiniteDifference):
        kind = "richardson" if diff.richardson else diff.scheme
        return f"fd-{kind}-auto"
    return diff.name
