"""Benchmark diffkit's gradient checker beside torch, jax and HIPS autograd checkers.

Prints tables, never asserts. Targets (PASS/MISS): float64 detects delta >= 1e-6 at
every n, float32 delta >= 1e-3, no false alarm on any correct gradient, kinks reported
as kinks, cost at n = 1000 under 5 ms, sub-linear growth with n in the cheap mode.

    PYTHONPATH=. python scripts/bench_check.py [--quick]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import diffkit as dk

DELTAS = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)


def f(x: Any) -> Any:
    return np.sum(np.sin(x) * x**2)


def g(x: np.ndarray) -> np.ndarray:
    return np.cos(x) * x**2 + 2 * x * np.sin(x)


def ours(fn: Callable[..., Any], grad: np.ndarray, x: np.ndarray) -> tuple[bool, str, float]:
    """(passed, note, seconds) for diffkit's check_gradient."""
    start = time.perf_counter()
    try:
        report = dk.check_gradient(fn, grad, x, taylor=False)
        note = "kink" if report.kinks else ""
        return True, note, time.perf_counter() - start
    except dk.GradientMismatch as exc:
        note = "kink" if exc.report.kinks else ""
        return False, note, time.perf_counter() - start


def point(n: int, dtype: Any) -> np.ndarray:
    return np.linspace(-2.0, 2.0, n).astype(dtype) + np.asarray(0.1, dtype)


def detection_table(sizes: Sequence[int], dtype: Any) -> tuple[dict[int, float], bool, bool]:
    """Rows per n: correct passes? smallest detected delta; cost. Returns cost, alarms, detects."""
    need = 1e-6 if dtype == np.float64 else 1e-3
    print(f"\n## detection, f = sum(sin(x) x^2), {np.dtype(dtype).name}, g * (1 + delta)")
    print(f"{'n':>6}  {'correct':>8}  {'ms':>7}  " + "  ".join(f"{d:>7.0e}" for d in DELTAS))
    costs: dict[int, float] = {}
    alarms = False
    detects = True
    for n in sizes:
        x = point(n, dtype)
        gx = g(x.astype(np.float64)).astype(dtype)
        ours(f, gx, x)  # warm caches (tracing), as a test suite would
        passed, _, seconds = ours(f, gx, x)
        costs[n] = seconds
        alarms |= not passed
        cells = []
        for delta in DELTAS:
            caught = not ours(f, (gx.astype(np.float64) * (1 + delta)).astype(dtype), x)[0]
            cells.append("caught" if caught else "-")
            if delta >= need and not caught:
                detects = False
        ok = "pass" if passed else "ALARM"
        print(f"{n:>6}  {ok:>8}  {seconds * 1e3:>7.2f}  " + "  ".join(f"{c:>7}" for c in cells))
    return costs, alarms, detects


def frequency_table(quick: bool) -> bool:
    print("\n## correct gradients of sum(sin(k x)), n = 5 (components) and 200 (directions)")
    alarms = False
    for k in (1.0, 1e2, 1e4, 1e6) if quick else (1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6):
        row = []
        for n in (5, 200):
            x = point(n, np.float64)

            def fk(y: Any, k: float = k) -> Any:
                return np.sum(np.sin(k * y))

            passed, _, _ = ours(fk, k * np.cos(k * x), x)
            alarms |= not passed
            row.append("pass" if passed else "ALARM")
        print(f"k = {k:>7.0e}: " + "  ".join(row))
    return alarms


def kink_table() -> bool:
    print("\n## kinks at 0: a subgradient should pass with a kink note")
    good = True
    cases = [
        ("relu, g=0.5", lambda y: np.sum(np.maximum(y, 0.0)), [0.5, 1.0]),
        ("relu, g=0", lambda y: np.sum(np.maximum(y, 0.0)), [0.0, 1.0]),
        ("abs, g=0.3", lambda y: np.sum(np.abs(y)), [0.3, 1.0]),
        ("abs, g=2 (wrong)", lambda y: np.sum(np.abs(y)), [2.0, 1.0]),
    ]
    for name, fn, grad in cases:
        passed, note, _ = ours(fn, np.array(grad), np.array([0.0, 1.0]))
        expect_pass = "wrong" not in name
        good &= passed == expect_pass
        print(f"{name:<18} {'pass' if passed else 'mismatch':<9} {note}")
    return good


def torch_table(sizes: Sequence[int]) -> None:
    try:
        import torch
    except ImportError:
        print("\n(torch not installed: skipped)")
        return
    print(f"\n## torch.autograd.gradcheck (float64), torch {torch.__version__}")
    print(
        f"{'n':>6}  {'fast':>5}  {'correct':>8}  {'ms':>8}  "
        + "  ".join(f"{d:>7.0e}" for d in DELTAS)
    )
    for n in sizes:
        x0 = torch.tensor(point(n, np.float64), requires_grad=True)
        for fast in (False, True):
            if n > 1000 and not fast:
                print(f"{n:>6}  {fast!s:>5}  (skipped: n finite differences of n outputs)")
                continue
            cells = []
            seconds = 0.0
            for delta in (0.0, *DELTAS):
                scale = 1.0 + delta

                class Wrong(torch.autograd.Function):
                    @staticmethod
                    def forward(ctx: Any, y: Any) -> Any:
                        ctx.save_for_backward(y)
                        return (torch.sin(y) * y**2).sum()

                    @staticmethod
                    def backward(ctx: Any, out: Any, scale: float = scale) -> Any:
                        (y,) = ctx.saved_tensors
                        return out * scale * (torch.cos(y) * y**2 + 2 * y * torch.sin(y))

                start = time.perf_counter()
                ok = torch.autograd.gradcheck(
                    Wrong.apply, (x0,), fast_mode=fast, raise_exception=False
                )
                if delta == 0.0:
                    seconds = time.perf_counter() - start
                    cells.append("pass" if ok else "ALARM")
                else:
                    cells.append("caught" if not ok else "-")
            print(
                f"{n:>6}  {fast!s:>5}  {cells[0]:>8}  {seconds * 1e3:>8.2f}  "
                + "  ".join(f"{c:>7}" for c in cells[1:])
            )


def jax_table(sizes: Sequence[int]) -> None:
    try:
        import jax
        import jax.numpy as jnp
        from jax.test_util import check_grads
    except ImportError:
        print("\n(jax not installed: skipped)")
        return
    jax.config.update("jax_enable_x64", True)
    print("\n## jax.test_util.check_grads(order=1, modes=['rev']) (float64)")
    print(f"{'n':>6}  {'correct':>8}  {'ms':>8}  " + "  ".join(f"{d:>7.0e}" for d in DELTAS))
    for n in sizes:
        x = jnp.asarray(point(n, np.float64))
        cells = []
        seconds = 0.0
        for delta in (0.0, *DELTAS):

            @jax.custom_vjp
            def fj(y: Any) -> Any:
                return jnp.sum(jnp.sin(y) * y**2)

            def fwd(y: Any) -> Any:
                return fj(y), y

            def bwd(y: Any, out: Any, scale: float = 1.0 + delta) -> Any:
                return (out * scale * (jnp.cos(y) * y**2 + 2 * y * jnp.sin(y)),)

            fj.defvjp(fwd, bwd)
            start = time.perf_counter()
            try:
                check_grads(fj, (x,), order=1, modes=["rev"])
                ok = True
            except AssertionError:
                ok = False
            if delta == 0.0:
                seconds = time.perf_counter() - start
                cells.append("pass" if ok else "ALARM")
            else:
                cells.append("caught" if not ok else "-")
        print(
            f"{n:>6}  {cells[0]:>8}  {seconds * 1e3:>8.2f}  "
            + "  ".join(f"{c:>7}" for c in cells[1:])
        )


def autograd_table(sizes: Sequence[int]) -> None:
    try:
        import autograd.numpy as anp
        from autograd.extend import defvjp, primitive
        from autograd.test_util import check_grads
    except ImportError:
        print("\n(HIPS autograd not installed: skipped)")
        return
    print("\n## autograd.test_util.check_grads(modes=['rev'], order=1) (float64)")
    print(f"{'n':>6}  {'correct':>8}  {'ms':>8}  " + "  ".join(f"{d:>7.0e}" for d in DELTAS))
    for n in sizes:
        x = point(n, np.float64)
        cells = []
        seconds = 0.0
        for delta in (0.0, *DELTAS):

            @primitive
            def fa(y: Any) -> Any:
                return anp.sum(anp.sin(y) * y**2)

            defvjp(fa, lambda ans, y, s=1.0 + delta: lambda out: out * s * g(y))
            start = time.perf_counter()
            try:
                check_grads(fa, modes=["rev"], order=1)(x)
                ok = True
            except AssertionError:
                ok = False
            if delta == 0.0:
                seconds = time.perf_counter() - start
                cells.append("pass" if ok else "ALARM")
            else:
                cells.append("caught" if not ok else "-")
        print(
            f"{n:>6}  {cells[0]:>8}  {seconds * 1e3:>8.2f}  "
            + "  ".join(f"{c:>7}" for c in cells[1:])
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes, no peer checkers")
    args = parser.parse_args(argv)
    sizes = (5, 100, 1000) if args.quick else (5, 100, 1000, 10_000)
    costs, alarms64, detects64 = detection_table(sizes, np.float64)
    _, alarms32, detects32 = detection_table(sizes, np.float32)
    alarms_k = frequency_table(args.quick)
    kinks_ok = kink_table()
    big = [n for n in sizes if n >= 100]
    growth = costs[big[-1]] / costs[big[0]] if len(big) > 1 else float("nan")
    linear = big[-1] / big[0] if len(big) > 1 else float("nan")
    print("\n## targets")
    targets = [
        ("float64 detects delta >= 1e-6 at every n", detects64),
        ("float32 detects delta >= 1e-3 at every n", detects32),
        ("no false alarm on a correct gradient", not (alarms64 or alarms32 or alarms_k)),
        ("kinks reported as kinks, subgradients accepted", kinks_ok),
        (f"cost at n = 1000 under 5 ms ({costs[1000] * 1e3:.2f} ms)", costs[1000] < 5e-3),
        (
            f"cheap mode sub-linear: cost x{growth:.1f} for n x{linear:.0f}",
            bool(growth < linear),
        ),
    ]
    for name, ok in targets:
        print(f"{'PASS' if ok else 'MISS'}  {name}")
    if not args.quick:
        peers = (5, 100, 1000, 10_000)
        torch_table(peers)
        jax_table(peers)
        autograd_table(peers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
