"""Kinks, poles and derivatives SymPy cannot finish: one convention, stated as data.

The symbolic backend follows ``ops.py`` and reverse mode at every kink (through the
SymPy classes of ``kink_functions.py``: a tie of ``maximum`` splits the gradient,
``relu'(0) = 0``) and the ground truth of ``truth.py`` (its ``_settle_kinks`` is reused
here, so the two cannot drift apart). ``KINK_CONVENTIONS`` is the table the report
shows; ``tests/test_symbolic.py`` checks every row against the backend.
"""

from __future__ import annotations

from typing import NamedTuple

import sympy

from ..arrays.entries import is_entry
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
        "relu(x)",
        "0",
        "0",
        "kink_functions.relu: relu' = Heaviside(x, 0), as ops.py's rule, torch and jax",
    ),
    KinkConvention(
        "maximum(a, b), minimum(a, b), fmax, fmin",
        "a = b",
        "1/2 for each argument (maximum(x, x)' = 1)",
        "Heaviside(a - b, 1/2): the weights sum to 1, a subgradient at every tie, as ops.py",
    ),
    KinkConvention(
        "np.max, np.min (reductions)",
        "a tie of k entries",
        "1/k for each tied entry",
        "the mean of the subgradients at the maximum, in reverse mode and the tracer alike",
    ),
    KinkConvention(
        "sign, floor, ceil, trunc, rint, comparisons used as numbers; the derivative of a step",
        "any x",
        "0",
        "step functions: DiracDelta and SymPy's unevaluated Derivative(floor(u)) are 0, as ops.py",
    ),
    KinkConvention(
        "np.where(c, a, b), np.clip",
        "the boundary of c",
        "the derivative of the branch c selects",
        "Piecewise is differentiated branch by branch; clip's bounds are inclusive",
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
        "undefined functions, Subs, Derivative of anything else",
        "any x",
        "error (UnevaluatedDerivativeError)",
        "SymPy leaves the derivative unevaluated: refused before compiling, never a wrong number",
    ),
)


class UnevaluatedDerivativeError(ValueError):
    """SymPy returned a derivative it could not evaluate (Derivative, Subs objects)."""


_UNSETTLED = (sympy.Derivative, sympy.Subs, sympy.DiracDelta)


def settle(expr: sympy.Expr, *, what: object = None) -> sympy.Expr:
    """``expr`` with diffkit's kink conventions applied; refused if SymPy left work undone."""
    if (
        expr.is_Atom
        or is_entry(expr)
        or (not isinstance(expr, _UNSETTLED) and all(a.is_Atom for a in expr.args))
    ):
        return expr  # one operation over atoms (most lines of a program): nothing to settle
    if expr.has(*_UNSETTLED):
        expr = _settle_kinks(expr)
    if expr.has(sympy.Derivative, sympy.Subs):
        pieces = sorted(str(d) for d in expr.atoms(sympy.Derivative, sympy.Subs))
        raise UnevaluatedDerivativeError(
            f"SymPy cannot evaluate the derivative of {what if what is not None else expr}: "
            f"it leaves {', '.join(pieces[:3])} unevaluated (undefined functions have no "
            'usable derivative); use the "fd" backend for such functions'
        )
    return expr
