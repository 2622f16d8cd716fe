"""One finite-difference rule or one backend at one point: the estimates as an ``Outcome``.

An outcome holds arrays over (steps, components): a rule swept over a step grid
has one row per step, a backend one row; a function of several variables has one
column per gradient component. A rule reports its own ``nfev`` and no error
estimate; a backend reports its estimate where it makes one, and otherwise the
number of points at which it evaluated f.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .backends import FiniteDifference, available, backend
from .backends.protocol import Differentiator
from .fd_rules import FDMethod
from .function import Function, coordinate_line

__all__ = [
    "Outcome",
    "backend_instance",
    "backend_label",
    "checked_backend",
    "failure",
    "run_backend",
    "run_fd",
    "why_failed",
    "why_nonfinite",
]


@dataclass
class Outcome:
    """What one task produced: arrays over (steps, components)."""

    values: np.ndarray
    estimates: np.ndarray
    h: np.ndarray
    nfev: np.ndarray
    status: np.ndarray
    message: str = ""


def failure(exc: BaseException, steps: int, components: int) -> Outcome:
    """The outcome of a task that raised ``exc``: NaN estimates, status "error"."""
    nan = np.full((steps, components), np.nan)
    return Outcome(
        values=nan,
        estimates=nan.copy(),
        h=np.full(steps, np.nan),
        nfev=np.zeros(steps, dtype=int),
        status=np.full(steps, "error", dtype=object),
        message=f"{type(exc).__name__}: {exc}",
    )


def run_fd(
    f: Function, point: Any, n: int, dtype: str, method: FDMethod, steps: np.ndarray
) -> Outcome:
    """The rule ``method`` at ``point`` for every step of ``steps``, in one vectorized call."""
    if f.ndim == 1:
        xs = np.full(steps.shape, point, dtype=dtype)
        result = method.make(steps).estimate(f, xs, n, with_error=False)
        _scalar_valued(result.value, xs.shape)
        return Outcome(
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
    return Outcome(
        values=values,
        estimates=np.full(values.shape, np.nan),
        h=steps,
        nfev=np.sum([p.nfev for p in parts], axis=0),
        status=_worst_status([p.status for p in parts]),
    )


def _scalar_valued(value: Any, shape: tuple[int, ...]) -> None:
    """Refuse a vector-valued f: a sweep row holds one derivative of a scalar function."""
    if np.shape(value) != shape:
        raise ValueError(
            "derivative needs f: R -> R applied elementwise; f gave "
            f"{np.shape(value)[len(shape) :]} values per point: a sweep differentiates "
            "scalar functions (use jacobian for vector outputs)"
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


def run_backend(f: Function, point: Any, n: int, dtype: str, diff: Differentiator) -> Outcome:
    """The backend ``diff`` once at ``point``, with its own defaults."""
    x = np.asarray(point, dtype=dtype)
    estimate = getattr(diff, "estimate", None)
    if f.ndim == 1 and callable(estimate):
        # A richer result (FDResult, SymbolicResult): take the fields it has.
        result = estimate(f, x, n)
        _scalar_valued(result.value, np.shape(x))
        return Outcome(
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
    return Outcome(
        values=row,
        estimates=np.full(row.shape, np.nan),
        h=np.full(1, np.nan),
        nfev=np.full(1, counted.points),
        status=np.full(1, "ok", dtype=object),
    )


def why_nonfinite(f: Function, point: Any) -> str:
    """Name the cause of non-finite estimates when f itself is not finite at the point."""
    with np.errstate(all="ignore"):
        value = np.asarray(f.numpy(np.asarray(point, dtype=float)), dtype=float)
    if np.all(np.isfinite(value)):
        return ""  # the stencil met trouble away from the point: the row's default message
    kind = "nan" if np.any(np.isnan(value)) else "inf"
    return f"f itself is not finite at the point (f returns {kind} there)"


def why_failed(f: Function, point: Any, exc: BaseException) -> str:
    """Name the cause of a failed task where it is the shape of f's input or output.

    Each backend refuses a vector-valued f in its own words (about the shapes of its
    stencils or tapes); one evaluation at the point, made only after a failure, says
    what the user can fix. A function of one variable that branches in Python (``if
    x > 0``) fails on the arrays of steps a rule evaluates at once. "" otherwise.
    """
    if not isinstance(exc, ValueError | TypeError | IndexError):
        return ""
    if "truth value of an array" in str(exc):
        return (
            f"{f.name!r} branches on its input in Python (if, and, or), which fails on the "
            "array of all steps a rule evaluates at once; write the branch with np.where "
            f"({type(exc).__name__}: {exc})"
        )
    try:
        with np.errstate(all="ignore"):
            shape = np.shape(f.numpy(np.asarray(point, dtype=float)))
    except Exception:
        return ""
    size = int(np.prod(shape))
    if size == 1:
        return ""
    return (
        f"{f.name!r} returns {size} values (an array of shape {shape}) at this point; a sweep "
        "differentiates functions with one value per point: return a scalar (such as "
        "np.sum(...)), or sweep each output as a function of its own"
    )


# ---------------------------------------------------------------------- backends by name

_INSTANCES: dict[str, Differentiator] = {}


def checked_backend(name: str) -> str:
    """A backend name, checked now (an unknown one fails before any work starts)."""
    if name not in available():
        backend(name)  # raises UnknownBackendError listing the available names
    return name


def backend_instance(spec: str | Differentiator) -> Differentiator:
    """The backend a task names, built once per process where the task runs.

    Tasks carry names rather than built backends so that torch or jax are imported
    in the worker processes that use them, never in the parent before it forks.
    """
    if not isinstance(spec, str):
        return spec
    if spec not in _INSTANCES:
        _INSTANCES[spec] = backend(spec)
    return _INSTANCES[spec]


def backend_label(diff: Differentiator) -> str:
    """The ``method`` a backend's rows carry: its name, or the fd rule it chose."""
    if isinstance(diff, FiniteDifference):
        kind = "richardson" if diff.richardson else diff.scheme
        return f"fd-{kind}-auto"
    return diff.name
