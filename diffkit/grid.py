"""The sweep's grid: functions x points x dtypes x noise levels x (rules and backends) as tasks.

Each task is one finite-difference rule (swept over all steps) or one backend, at one
point, dtype and noise level; tasks are independent, so executors may run them in any
order and any process. A noisy task carries its own seed, derived from the sweep's
seed and the task's coordinates, so its noise is the same in every run.

Points are checked against their function before any work starts: a function with an
expression (or declared variables) must get points of as many coordinates; a plain
callable cannot say how many variables it takes, so its points tell (k coordinates:
variables x0 ... x{k-1}, as ``Function.from_callable(ndim=k)`` names them). A
function with no points at all is an error, not zero rows.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .backends.protocol import Differentiator
from .backends.registry import plugin_names
from .estimates import backend_instance, backend_label, checked_backend
from .fd_rules import DEFAULT_STEPS, FD_METHODS, FDMethod
from .function import Function, as_function
from .ground_truth import Truth
from .parse import symbol
from .rows import point_label

__all__ = ["Task", "fitted", "tasks"]


@dataclass(frozen=True, eq=False)
class Task:
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
    described: tuple[str, str] = ("", "")  # a backend's (method, scheme) labels
    truth: Truth | None = None  # filled in by run(), once per point

    def labels(self) -> dict[str, Any]:
        if self.method is not None:
            return {
                "backend": "fd",
                "method": self.method.label,
                "scheme": self.method.scheme,
                "accuracy": _safe_accuracy(self.method, self.n),
            }
        assert self.backend is not None
        method, scheme = self.described
        return {
            "backend": self.backend[0],
            "method": method,
            "scheme": scheme,
            "accuracy": float("nan"),
        }

    @property
    def width(self) -> tuple[int, int]:
        """(steps, components) of the outcome."""
        steps = self.steps.size if self.method is not None else 1
        return steps, 1 if self.function.ndim == 1 else self.function.ndim


def _safe_accuracy(method: FDMethod, n: int) -> float:
    try:
        return float(method.accuracy_order(n))
    except ValueError:
        return float("nan")


def _describe(spec: str | Differentiator, peers: set[str]) -> tuple[str, str]:
    """A backend's method and scheme labels, found once per sweep rather than per task."""
    if isinstance(spec, str) and spec in peers:
        return spec, ""  # a peer (torch, jax) is built in its worker, not here
    diff = backend_instance(spec)
    return backend_label(diff), getattr(diff, "scheme", "")


def _seed(seed: int, *parts: Any) -> int:
    """A task's noise seed: stable across runs, processes and Python's hash randomisation."""
    text = "|".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


def _check_noise(level: float) -> float:
    level = float(level)
    if not (np.isfinite(level) and level >= 0):
        raise ValueError(f"noise levels must be finite and >= 0, got {level}")
    return level


def _coordinates(f: Function, point: Any) -> np.ndarray:
    try:
        array = np.asarray(point, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"cannot sweep {f.name!r} at {point!r}: a point is a number or a flat sequence "
            "of numbers"
        ) from None
    if array.ndim > 1:
        # flattened, f would get another argument than the one it was written for (a flat
        # a @ a is a dot product), and every row would read ok with another function's truth
        raise ValueError(
            f"cannot sweep {f.name!r} at a point of shape {array.shape}: sweep points are flat "
            "(give f a flat vector and reshape inside f)"
        )
    coords = array.reshape(-1)
    if coords.size == 0:
        raise ValueError(f"cannot sweep {f.name!r} at {point!r}: the point has no coordinates")
    return coords


def fitted(f: Function, points: Sequence[Any]) -> tuple[Function, list[Any]]:
    """``f`` with as many variables as its points have coordinates, and the points as numbers.

    A univariate point becomes a float, a point of several coordinates a flat tuple of
    floats (the sweep's calling convention). Raises ValueError naming the function and
    the point when they disagree, and when there are no points.
    """
    if len(points) == 0:
        raise ValueError(
            f"no points to differentiate {f.name!r} at: pass points=[...] to sweep "
            "(a plain callable has none of its own)"
        )
    coords = [_coordinates(f, point) for point in points]
    declared = f.expr is not None or f.ndim > 1
    count = f.ndim if declared else coords[0].size
    for point, c in zip(points, coords, strict=True):
        if c.size == count:
            continue
        if declared:
            names = ", ".join(v.name for v in f.variables)
            raise ValueError(
                f"{f.name!r} has {f.ndim} variable(s) ({names}), but the point {point!r} has "
                f"{c.size} coordinate(s)"
            )
        raise ValueError(
            f"the points of {f.name!r} disagree on how many variables it takes: {points[0]!r} "
            f"has {count} coordinate(s), {point!r} has {c.size}; sweep such points as "
            "separate functions"
        )
    if count != f.ndim:
        if f.domain is not None:
            raise ValueError(
                f"{f.name!r} declares a domain of {len(f.domain)} interval(s), but its points "
                f"have {count} coordinates; build it with Function.from_callable(ndim={count})"
            )
        f = replace(f, variables=tuple(symbol(f"x{i}") for i in range(count)))
    shaped = [float(c[0]) if count == 1 else tuple(float(v) for v in c) for c in coords]
    return f, shaped


def _method(method: FDMethod | str) -> FDMethod:
    """A rule, or the label of one of FD_METHODS ("forward", "central", ...)."""
    if isinstance(method, FDMethod):
        return method
    by_label = {m.label: m for m in FD_METHODS}
    if method in by_label:
        return by_label[method]
    raise ValueError(
        f"unknown finite-difference rule {method!r}: give an FDMethod or one of {sorted(by_label)}"
    )


def tasks(
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
) -> list[Task]:
    """The sweep's grid as a list of independent tasks (see ``sweep`` for the arguments)."""
    rules = [_method(m) for m in methods]
    step_grid = np.asarray(steps, dtype=float)
    diffs = [(b, checked_backend(b)) if isinstance(b, str) else (b.name, b) for b in backends]
    peers = set(plugin_names())
    described = {name: _describe(diff, peers) for name, diff in diffs}
    levels = [_check_noise(level) for level in noise]
    if points is not None and (np.isscalar(points) or getattr(points, "ndim", 1) == 0):
        raise ValueError(f"points takes a list of points, such as points=[{points!r}]")
    out: list[Task] = []
    for item in functions:
        given = as_function(item)
        f, chosen = fitted(given, list(points) if points is not None else list(given.points))
        for point in chosen:
            label = point_label(point)
            for dtype, level in itertools.product(dtypes, levels):
                for method in rules:
                    if level and method.scheme == "complex":
                        continue  # noise on real values never reaches the imaginary part
                    task_seed = _seed(seed, f.name, label, dtype, level, method.label)
                    out.append(Task(f, point, n, dtype, level, task_seed, step_grid, method=method))
                for name, diff in diffs:
                    if level and not name.startswith("fd"):
                        continue  # noise on the values does not reach an exact or recorded derivative
                    task_seed = _seed(seed, f.name, label, dtype, level, name)
                    out.append(
                        Task(
                            f,
                            point,
                            n,
                            dtype,
                            level,
                            task_seed,
                            step_grid,
                            backend=(name, diff),
                            described=described[name],
                        )
                    )
    return out
