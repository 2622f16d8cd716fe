"""Benchmark the tracer on reductions of a large array: trace + differentiate + compile.

Prints a plain-text table, never asserts. For each reduction of a 100x100 array
(``np.sum``, ``np.max``, ``np.min``, ``np.max(axis=1)``, ``np.sum(x**2)``), the
symbolic backend's first gradient in this process ("cold": the tracer, symbolic
reverse mode and the compiler, SymPy's cache empty) and the gradient of a second,
new function of the same code ("again": SymPy's cache warm, diffkit's program cache
not used), against SymPy's own ``diff`` of the same expression, built by hand, one
call per variable, when it finishes within the time shown (a peer measured in the
same run). Every gradient is checked against reverse mode.

    PYTHONPATH=. python scripts/bench_tracer_reductions.py [--size 100]

Target (issue 11): sum, max and min over 100x100 traced and differentiated in < 1 s.
"""

from __future__ import annotations

import argparse
import signal
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy
from sympy.core.cache import clear_cache

import diffkit as dk

CASES: dict[str, Callable[[Any], Any]] = {
    "np.sum": lambda x: np.sum(x),
    "np.max": lambda x: np.max(x),
    "np.min": lambda x: np.min(x),
    "np.max(axis=1)": lambda x: np.sum(np.max(x, axis=1)),
    "np.sum(x**2)": lambda x: np.sum(x**2),
}
# SymPy's own expression of each case, for the peer column (None: no such expression).
SYMPY_FORMS: dict[str, Callable[[list[sympy.Symbol]], sympy.Expr] | None] = {
    "np.sum": lambda xs: sympy.Add(*xs),
    "np.max": lambda xs: sympy.Max(*xs),
    "np.min": lambda xs: sympy.Min(*xs),
    "np.max(axis=1)": None,
    "np.sum(x**2)": lambda xs: sympy.Add(*[x**2 for x in xs]),
}


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = run()
    return time.perf_counter() - start, out


class _OverBudget(Exception):
    pass


def _stop(signum: int, frame: Any) -> None:
    raise _OverBudget


def _sympy_diff(name: str, size: int, budget: float) -> str:
    """SymPy's expression and one ``diff`` per variable, stopped by an alarm at ``budget``
    (building ``Max`` of 10,000 arguments alone can take longer)."""
    form = SYMPY_FORMS[name]
    if form is None:
        return "-"
    xs = list(sympy.symbols(f"x0:{size * size}", real=True))
    clear_cache()
    previous = signal.signal(signal.SIGALRM, _stop)
    signal.setitimer(signal.ITIMER_REAL, budget)
    start = time.perf_counter()
    try:
        expr = form(xs)
        for x in xs:
            expr.diff(x)
    except _OverBudget:
        return f"> {budget:.0f} s"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return f"{time.perf_counter() - start:.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100, help="the array is size x size")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds for SymPy's diff loop")
    args = parser.parse_args(argv)
    x = np.random.default_rng(0).normal(size=(args.size, args.size))
    print(f"tracer on reductions of a {args.size}x{args.size} array; sympy {sympy.__version__}")
    print(f"{'case':16s} {'cold s':>8s} {'again s':>8s} {'sympy diff s':>13s}  agrees with reverse")
    for name, f in CASES.items():
        clear_cache()
        cold, g = _timed(lambda f=f: dk.Symbolic().gradient(f, x))
        again, _ = _timed(lambda f=f: dk.Symbolic().gradient(lambda y: f(y), x))
        agrees = bool(np.allclose(g, dk.ReverseMode().gradient(f, x), rtol=1e-12, atol=0))
        peer = _sympy_diff(name, args.size, args.budget)
        print(f"{name:16s} {cold:8.2f} {again:8.2f} {peer:>13s}  {agrees}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
