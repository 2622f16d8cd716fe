"""Kinks, poles and derivatives SymPy cannot finish: one convention, stated as data.

The symbolic backend follows ``ops.py`` and reverse mode at every kink (a tie has
derivative 0) and the ground truth of ``truth.py`` (its ``_settle_kinks`` is reused
here, so the two cannot drift apart). ``KINK_CONVENTIONS`` is the table the report
shows; ``tests/test_symbolic.py`` checks every row against the backend.
"""

from __future__ import annotations

from typing import NamedTuple

import sympy

from ..truth import _settle_kinks

__all__ = ["KINK_CONVENTIONS", "KinkConvention", "UnevaluatedDerivativeError", "settle"]


class KinkConvention(NamedTuple):
    """One documented value: the function, the point, the derivative there, and why."""

    function: str
    point: str
    value: str
    why: str


KINK_CONVENTIONS: tuple[KinkConvention, ...] = (
    KinkConvention(
        "abs(x)", "0", "0", "SymPy: Abs' = sign, sign(0) = 0; reverse mode: sign(0) = 0"
    ),
    KinkConvention(
        "relu(x) = Max(x, 0)",
        "0",
        "0",
        "SymPy: Heaviside(x), pinned to Heaviside(0) = 0 (truth._settle_kinks)",
    ),
    KinkConvention(
        "maximum(a, b), minimum(a, b)",
        "a = b",
        "0 for both arguments",
        "Heaviside(a - b) pinned at 0: a tie sends no gradient, like ops.py's rule",
    ),
    KinkConvention(
        "sign(x); the derivative of a step (relu'')",
        "any x",
        "0",
        "SymPy: DiracDelta, set to 0 as in ops.py (sign' = 0) and in truth.py",
    ),
    KinkConvention(
        "sqrt(x)",
        "0",
        "inf (status 'infinite')",
        "1 / (2 sqrt(x)) evaluates to +inf; estimate() flags it, derivative() returns it",
    ),
    KinkConvention(
        "x**p, p < 0 or 0 < p < 1",
        "0",
        "+-inf (status 'infinite')",
        "p x**p / x and p x**(p-1) evaluate to a signed infinity",
    ),
    KinkConvention(
        "log(x), sqrt(x), arcsin(x) outside their domain",
        "x < 0, |x| > 1",
        "nan (status 'undefined')",
        "the real derivative does not exist there",
    ),
    KinkConvention(
        "floor, ceiling, undefined functions, Subs, Derivative",
        "any x",
        "error (UnevaluatedDerivativeError)",
        "SymPy leaves the derivative unevaluated: refused before compiling, never a wrong number",
    ),
)


class UnevaluatedDerivativeError(ValueError):
    """SymPy returned a derivative it could not evaluate (Derivative, Subs objects)."""


def settle(expr: sympy.Expr, *, what: object = None) -> sympy.Expr:
    """``expr`` with diffkit's kink conventions applied; refused if SymPy left work undone."""
    if expr.has(sympy.Derivative, sympy.Subs):
        pieces = sorted(str(d) for d in expr.atoms(sympy.Derivative, sympy.Subs))
        raise UnevaluatedDerivativeError(
            f"SymPy cannot evaluate the derivative of {what if what is not None else expr}: "
            f"it leaves {', '.join(pieces[:3])} unevaluated (floor, ceiling and undefined "
            'functions have no usable derivative); use the "fd" backend for such functions'
        )
    if expr.has(sympy.Heaviside, sympy.DiracDelta):
        return _settle_kinks(expr)
    return expr
