"""Warnings for calls whose cost grows past what a person waits for without being told.

A Hessian by finite differences takes about 4 n^2 evaluations of f (each costing at
least n), and a symbolic Hessian n (n + 1) / 2 second derivatives of the traced
program: at n = 5000 both run for many minutes. Past the sizes below they warn with
``CostWarning``, saying what the call will cost and what does the same job cheaply;
``warnings.simplefilter("error", dk.CostWarning)`` turns that into a refusal.
"""

from __future__ import annotations

import warnings

__all__ = ["FD_HESSIAN_WARN", "SYMBOLIC_HESSIAN_WARN", "CostWarning", "warn_large_hessian"]

# Sizes measured on Rosenbrock (2 cores): FD Hessian 7.6 s at n = 200 (n^3 in all),
# symbolic 5 s at n = 400 (about n^1.7); reverse mode takes milliseconds at both.
FD_HESSIAN_WARN = 300
SYMBOLIC_HESSIAN_WARN = 600


class CostWarning(UserWarning):
    """A call that will take far longer than the same result by another method."""


def warn_large_hessian(n: int, method: str) -> None:
    """Warn when an n-variable Hessian by ``method`` ("finite differences" or "symbolic")
    is past its documented size."""
    if method == "symbolic":
        if n <= SYMBOLIC_HESSIAN_WARN:
            return
        cost = f"{n * (n + 1) // 2:,} exact second derivatives of the traced program"
    else:
        if n <= FD_HESSIAN_WARN:
            return
        cost = f"about {4 * n * n:,} evaluations of f"
    warnings.warn(
        f"a {method} Hessian of {n} variables needs {cost}: minutes or more at this "
        "size; dk.hessian (reverse mode) gives the same matrix in one batched pass, and "
        "dk.ReverseMode().hessian does too",
        CostWarning,
        stacklevel=3,
    )
