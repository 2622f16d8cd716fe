"""Benchmark the symbolic backend: setup cost, expression swell, compiled evaluation.

Prints plain-text tables, never asserts. Three cases:

1. Rosenbrock gradient setup (trace + differentiate + compile) at n = 10 / 50 / 200:
   ``dk.Symbolic(engine="sympy")`` in a new interpreter (n = 200: the first call a user
   makes, caches empty, imports not counted), with SymPy's cache cold
   (``sympy.core.cache.clear_cache()``) and warm, the same with ``engine="symengine"``
   when symengine is installed, against a loop of ``sympy.diff`` (one call per
   variable, then ``lambdify`` with ``cse=True``) and symengine's ``diff`` loop.
2. The logistic map l_{k+1} = 4 l_k (1 - l_k), k = 1..12: operation counts of the
   derivative as SymPy's tree, after ``sympy.cse``, as our program, and as the
   ``diffkit.autodiff`` tape (``diffkit.symbolic.expression_size``).
3. Squire-Trapp's derivative at 10**6 points: our compiled program, plain
   ``lambdify`` of ``sympy.diff``, ``lambdify(cse=True)``, over hand-written NumPy.

Times are medians over repeated runs (``--quick``: fewer). Then a Targets block.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

import diffkit as dk
from diffkit.backends import symbolic as symbolic_backend
from diffkit.parse import symbol
from diffkit.symbolic import expression_size

try:  # optional: the "fast" extra
    import symengine
except ImportError:  # pragma: no cover - depends on the machine
    symengine = None


def _median_time(
    run: Callable[[], Any], repeats: int, setup: Callable[[], Any] = lambda: None
) -> float:
    samples = []
    for _ in range(repeats):
        setup()
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _rosen_function() -> Callable[[Any], Any]:
    def rosen(x: Any) -> Any:  # a fresh object each time: no compiled-program cache hit
        return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    return rosen


def _cold() -> None:
    sympy.core.cache.clear_cache()
    symbolic_backend._cache.clear()


_FRESH = """
import time
import numpy as np
import diffkit as dk

def rosen(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

start = time.perf_counter()
dk.Symbolic().gradient(rosen, np.full({n}, 0.5))
print(time.perf_counter() - start)
"""


def fresh_process_setup(n: int, repeats: int) -> float:
    """Median seconds of the first symbolic gradient in a new interpreter (imports not
    counted): what a user's first call pays, with every cache of SymPy's and ours empty
    and nothing warmed by an earlier case of this script."""
    import subprocess

    times = []
    for _ in range(repeats):
        done = subprocess.run(
            [sys.executable, "-c", _FRESH.format(n=n)],
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def bench_rosenbrock(quick: bool) -> dict[int, dict[str, float]]:
    sizes = (10, 50, 200)
    results: dict[int, dict[str, float]] = {}
    print("== Rosenbrock gradient: setup (differentiate + compile), seconds, median ==")
    print(
        f"{'n':>5} {'ours cold':>10} {'ours warm':>10} {'+se cold':>9} {'+se warm':>9}"
        f" {'sympy.diff loop':>16} {'symengine loop':>15}"
    )
    engine_names = ("sympy", "symengine") if symengine is not None else ("sympy",)
    for n in sizes:
        x0 = np.full(n, 0.5)
        repeats = 3 if quick else 7
        setup = {"cold": float("nan"), "warm": float("nan")}
        setup |= {"se cold": float("nan"), "se warm": float("nan")}
        for engine_name in engine_names:
            backend = dk.Symbolic(engine=engine_name)
            prefix = "" if engine_name == "sympy" else "se "
            setup[prefix + "cold"] = _median_time(
                lambda x0=x0, b=backend: b.gradient(_rosen_function(), x0), repeats, _cold
            )
            backend.gradient(_rosen_function(), x0)
            setup[prefix + "warm"] = _median_time(
                lambda x0=x0, b=backend: b.gradient(_rosen_function(), x0),
                repeats,
                symbolic_backend._cache.clear,
            )
        xs = [symbol(f"x{i}") for i in range(n)]
        expr = sympy.Add(
            *(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(n - 1))
        )

        def loop(expr: Any = expr, xs: list[Any] = xs) -> None:
            grads = [sympy.diff(expr, v) for v in xs]
            sympy.lambdify(xs, grads, modules="numpy", cse=True)

        loop_repeats = 1 if (quick and n > 50) else (3 if n > 50 else repeats)
        baseline = _median_time(loop, loop_repeats, sympy.core.cache.clear_cache)
        engine = float("nan")
        if symengine is not None:
            se_xs = symengine.symbols([f"x{i}" for i in range(n)])
            se_expr = sum(
                100 * (se_xs[i + 1] - se_xs[i] ** 2) ** 2 + (1 - se_xs[i]) ** 2
                for i in range(n - 1)
            )
            engine = _median_time(
                lambda se_expr=se_expr, se_xs=se_xs: [symengine.diff(se_expr, v) for v in se_xs],
                repeats,
            )
        results[n] = {**setup, "loop": baseline, "symengine": engine}
        print(
            f"{n:>5} {setup['cold']:>10.4f} {setup['warm']:>10.4f} {setup['se cold']:>9.4f}"
            f" {setup['se warm']:>9.4f} {baseline:>16.4f} {engine:>15.4f}"
        )
    if symengine is None:
        print("(symengine not installed: pip install 'diffkit[fast]')")
    print()
    return results


def _logistic(k: int) -> Callable[[Any], Any]:
    def f(x: Any) -> Any:
        value = x
        for _ in range(k):
            value = 4 * value * (1 - value)
        return value

    return f


def bench_logistic(quick: bool) -> list[tuple[int, Any]]:
    print("== Logistic map l_{k+1} = 4 l_k (1 - l_k): operations in the first derivative ==")
    print(f"{'k':>3} {'sympy raw':>10} {'sympy cse':>10} {'ours':>6} {'tape nodes':>11}")
    rows = []
    limit = 7 if quick else 8
    for k in range(1, 13):
        size = expression_size(_logistic(k), raw=k <= limit)
        rows.append((k, size))
        raw = "-" if size.raw is None else str(size.raw)
        cse = "-" if size.cse is None else str(size.cse)
        print(f"{k:>3} {raw:>10} {cse:>10} {size.program:>6} {size.tape!s:>11}")
    print(f"(raw and cse skipped past k = {limit}: SymPy's tree derivative swells past 10^4 ops)")
    print()
    return rows


def _hand_written(x: np.ndarray) -> np.ndarray:
    s, c = np.sin(x), np.cos(x)
    d = s**3 + c**3
    f = np.exp(x) / np.sqrt(d)
    return f * (1 - 1.5 * s * c * (s - c) / d)


def bench_squire_trapp(quick: bool) -> dict[str, float]:
    x = np.linspace(0.1, 1.5, 10**6)
    f = dk.catalog.get("squire_trapp")
    expr = sympy.diff(f.expr, f.variables[0])
    plain = sympy.lambdify(f.variables, expr, modules="numpy")
    with_cse = sympy.lambdify(f.variables, expr, modules="numpy", cse=True)
    sym = dk.Symbolic(engine="sympy")

    def ours() -> Any:
        return sym.derivative(f, x)

    ours()
    reference = _hand_written(x)
    for _name, run in (
        ("ours", ours),
        ("lambdify", lambda: plain(x)),
        ("cse", lambda: with_cse(x)),
    ):
        np.testing.assert_allclose(run(), reference, rtol=1e-10)
    repeats = 5 if quick else 15
    times = {
        name: _median_time(run, repeats)
        for name, run in (
            ("hand", lambda: _hand_written(x)),
            ("ours", ours),
            ("lambdify", lambda: plain(x)),
            ("cse", lambda: with_cse(x)),
        )
    }
    print("== Squire-Trapp derivative at 10^6 points: median ms, ratio to hand-written NumPy ==")
    for name, label in (
        ("hand", "hand-written NumPy"),
        ("ours", "dk.Symbolic (program)"),
        ("lambdify", "lambdify(sympy.diff)"),
        ("cse", "lambdify(cse=True)"),
    ):
        print(f"{label:<24} {1e3 * times[name]:>8.2f} ms {times[name] / times['hand']:>6.2f}x")
    print()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats, smaller SymPy baselines"
    )
    args = parser.parse_args(argv)
    rosen = bench_rosenbrock(args.quick)
    fresh = fresh_process_setup(200, 3 if args.quick else 7)
    print(f"Rosenbrock n=200 gradient setup in a fresh process (median): {fresh:.3f} s\n")
    logistic = bench_logistic(args.quick)
    squire = bench_squire_trapp(args.quick)
    programs = [size.program for _, size in logistic]
    steps = np.diff(programs)
    linear = bool(np.all(steps == steps[-1]))
    ratio = squire["ours"] / squire["hand"]
    print("== Targets ==")
    targets = [
        (
            "Rosenbrock n=200 gradient setup <= 0.25 s (SymPy cold)",
            rosen[200]["cold"] <= 0.25,
            f"{rosen[200]['cold']:.3f} s cold, {rosen[200]['warm']:.3f} s warm, "
            f"sympy.diff loop {rosen[200]['loop']:.2f} s",
        ),
        (
            "Rosenbrock n=200 gradient setup <= 0.25 s in a fresh process",
            fresh <= 0.25,
            f"{fresh:.3f} s (imports not counted)",
        ),
        (
            "logistic map: our derivative grows linearly in k",
            linear,
            f"ops {programs[0]} .. {programs[-1]}, +{steps[-1]} per step",
        ),
        (
            "Squire-Trapp at 10^6 points <= 2x hand-written NumPy",
            ratio <= 2.0,
            f"{ratio:.2f}x (lambdify {squire['lambdify'] / squire['hand']:.2f}x, "
            f"cse {squire['cse'] / squire['hand']:.2f}x)",
        ),
    ]
    for label, ok, detail in targets:
        print(f"{'PASS' if ok else 'MISS'}  {label}: {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
