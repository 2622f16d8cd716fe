"""What a gradient costs as the number of variables n grows, backend by backend.

Finite differences walk f along one axis at a time, so a central-difference gradient
costs 2n evaluations of f (Richardson more, about ten per variable); reverse mode
records f once and runs one backward pass, a small constant multiple of f's cost
whatever n is; the symbolic backend pays once to trace, differentiate and compile
(a setup that grows with n) and then evaluates a straight-line program that never
calls f at all. This study counts the evaluations exactly and times all of it.

The evaluation counts and errors are deterministic; the ``TIME_COLUMNS`` are not,
and are kept apart so the rest of a frame can be compared between runs. Every time is
the median of ``repeats`` runs after a warm-up call that is not timed (the first call
pays for caches and imports), except the symbolic setup, timed once by design.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from ..backends.finite import FiniteDifference
from ..backends.registry import backend as make_backend
from ..backends.reverse import ReverseMode
from ..backends.symbolic import Symbolic

__all__ = ["COST_FUNCTIONS", "TIME_COLUMNS", "cost_point", "gradient_cost"]

TIME_COLUMNS = ("seconds_f", "seconds_gradient", "seconds_setup", "time_ratio")
DATA_COLUMNS = ("function", "n", "backend", "evals_gradient", "evals_setup", "rel_error")


def rosenbrock(x: Any) -> Any:
    """The n-variable Rosenbrock function in plain NumPy (sum over neighbouring pairs)."""
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def sin_chain(x: Any) -> Any:
    """sum_i sin(x_i x_{i+1}): each variable meets its neighbours through a nonlinearity."""
    return np.sum(np.sin(x[:-1] * x[1:]))


def _rosenbrock_gradient(x: np.ndarray) -> np.ndarray:
    inner = x[1:] - x[:-1] ** 2
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * inner - 2 * (1 - x[:-1])
    g[1:] += 200 * inner
    return g


def _sin_chain_gradient(x: np.ndarray) -> np.ndarray:
    c = np.cos(x[:-1] * x[1:])
    g = np.zeros_like(x)
    g[:-1] = c * x[1:]
    g[1:] += c * x[:-1]
    return g


# name -> (f, its gradient written by hand: the reference for the error column)
COST_FUNCTIONS: dict[str, tuple[Callable[[Any], Any], Callable[[np.ndarray], np.ndarray]]] = {
    "rosenbrock": (rosenbrock, _rosenbrock_gradient),
    "sin_chain": (sin_chain, _sin_chain_gradient),
}


def cost_point(n: int) -> np.ndarray:
    """Where gradients are taken: n points spread over [-0.5, 1.5] (no variable at 0)."""
    return np.linspace(-0.5, 1.5, n) + 0.01


class _Counted:
    """f with a count of the points it was evaluated at (as in sweep.py: calls x points).

    A fresh instance is also a fresh function object, so the symbolic backend's
    compiled-program cache (keyed on the function) starts cold for it.
    """

    def __init__(self, f: Callable[[Any], Any], n: int) -> None:
        self.f, self.n, self.points = f, n, 0

    def __call__(self, x: Any) -> Any:
        size = int(np.prod(getattr(x, "shape", np.shape(x))))
        self.points += max(size // self.n, 1)
        return self.f(x)


def _median_seconds(run: Callable[[], Any], repeats: int, *, warm_up: bool = True) -> float:
    """The median of ``repeats`` timed runs; first one untimed warm-up run unless the caller
    has just made that call itself (``warm_up=False``)."""
    if warm_up:
        run()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


@dataclass(frozen=True)
class _Measure:
    evals_gradient: int
    evals_setup: int
    gradient: np.ndarray
    seconds_gradient: float
    seconds_setup: float


def _measure_plain(diff: Any, f: Callable[[Any], Any], x: np.ndarray, repeats: int) -> _Measure:
    counted = _Counted(f, x.size)
    gradient = np.asarray(diff.gradient(counted, x), dtype=float)  # also the warm-up call
    seconds = _median_seconds(lambda: diff.gradient(f, x), repeats, warm_up=False)
    return _Measure(counted.points, 0, gradient, seconds, float("nan"))


def _measure_symbolic(f: Callable[[Any], Any], x: np.ndarray, repeats: int) -> _Measure:
    """Setup (trace, differentiate, compile: once per function) apart from evaluation."""
    diff = Symbolic()
    counted = _Counted(f, x.size)
    start = time.perf_counter()
    diff.gradient(counted, x)  # the first call builds and caches the compiled program
    setup = time.perf_counter() - start
    traced = counted.points
    gradient = np.asarray(diff.gradient(counted, x), dtype=float)  # the warm-up evaluation
    seconds = _median_seconds(lambda: diff.gradient(counted, x), repeats, warm_up=False)
    calls = (counted.points - traced) // (repeats + 1)
    return _Measure(calls, traced, gradient, seconds, setup)


def _backends(peers: Sequence[str]) -> list[tuple[str, Any]]:
    """(label, backend) pairs, labelled as the sweep's ``method`` column labels them."""
    builtin: list[tuple[str, Any]] = [
        ("fd-central-auto", FiniteDifference(scheme="central", h="auto")),
        ("fd-richardson-auto", FiniteDifference(richardson=True)),
        ("reverse", ReverseMode()),
        ("symbolic", None),
    ]
    return builtin + [(name, make_backend(name)) for name in peers]


def _row(name: str, n: int, label: str, m: _Measure, exact: np.ndarray, f_seconds: float) -> dict:
    scale = float(np.linalg.norm(exact)) or 1.0
    return {
        "function": name,
        "n": n,
        "backend": label,
        "evals_gradient": m.evals_gradient,
        "evals_setup": m.evals_setup,
        "rel_error": float(np.linalg.norm(m.gradient - exact)) / scale,
        "seconds_f": f_seconds,
        "seconds_gradient": m.seconds_gradient,
        "seconds_setup": m.seconds_setup,
        "time_ratio": m.seconds_gradient / f_seconds,
    }


def gradient_cost(
    dims: Sequence[int] = (2, 4, 8, 16, 32, 64, 128),
    function: str = "rosenbrock",
    *,
    repeats: int = 5,
    peers: Sequence[str] = (),
) -> pd.DataFrame:
    """Evaluations of f, error and seconds per gradient for each backend and dimension n.

    ``function`` is a key of ``COST_FUNCTIONS``; ``peers`` names extra registered
    backends (``registry.plugin_names()``: torch, jax) to measure beside diffkit's own.
    Columns: ``DATA_COLUMNS`` (deterministic: ``evals_gradient`` counts calls x points,
    ``evals_setup`` the symbolic trace, ``rel_error`` is normwise against the
    hand-written gradient) then ``TIME_COLUMNS`` (medians over ``repeats`` runs after
    an untimed warm-up call; the symbolic setup is timed once, on a function it has not
    seen).
    """
    if function not in COST_FUNCTIONS:
        raise ValueError(f"function must be one of {sorted(COST_FUNCTIONS)}, got {function!r}")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    f, exact_gradient = COST_FUNCTIONS[function]
    backends = _backends(peers)
    rows = []
    for n in dims:
        if n < 2:
            raise ValueError(f"every dimension must be at least 2, got {n}")
        x = cost_point(int(n))
        exact = exact_gradient(x)
        f_seconds = _median_seconds(partial(f, x), max(repeats, 5))
        for label, diff in backends:
            if diff is None:
                measure = _measure_symbolic(f, x, repeats)
            else:
                measure = _measure_plain(diff, f, x, repeats)
            rows.append(_row(function, int(n), label, measure, exact, f_seconds))
    return pd.DataFrame(rows, columns=[*DATA_COLUMNS, *TIME_COLUMNS])
