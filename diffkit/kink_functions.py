"""SymPy functions that carry diffkit's conventions at kinks, so every backend agrees there.

SymPy's own ``Max``/``Min`` flatten ``max(a, max(b, c))`` into ``Max(a, b, c)`` and
differentiate it into products of ``Heaviside`` steps: at a three-way tie each
argument gets 1/4, weights summing to 3/4, which is not a subgradient. And
``relu = Max(x, 0)`` cannot have ``relu'(0) = 0`` while a tie of ``maximum(a, b)``
splits the gradient, because the two are the same SymPy object. So the rows of
``ops.py`` use these classes instead:

- ``maximum(a, b)``, ``minimum(a, b)``: binary, never flattened; at a tie each
  argument gets half of the gradient (``Heaviside(a - b, 1/2)``), which is the rule
  of ``ops.py``, of reverse mode, of torch and of jax (``maximum(x, x)' = 1``);
- ``relu(x)``: ``relu'(0) = 0`` (``Heaviside(x, 0)``), as in ``ops.py``, torch and jax;
- ``rint(x)``: NumPy's round-half-to-even, a step function (derivative 0);
- ``floor``, ``ceiling``: SymPy's, with derivative 0 (SymPy leaves ``Derivative(floor(u), x)``
  unevaluated, which nothing can compute); their jumps are kinks like any other;
- ``indicator(condition)``: 1 where a comparison holds, else 0, which is what NumPy
  code means by a comparison used as a number (``np.sum(x < y)``); derivative 0.

Each class names its row (``maximum`` is ``np.maximum``), so printed expressions
read like the NumPy code and parse back; ``MPMATH`` holds their implementations
for the ground truth's 50-digit evaluation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import mpmath
import sympy

__all__ = [
    "MPMATH",
    "ceiling",
    "floor",
    "indicator",
    "maximum",
    "minimum",
    "normalize_minmax",
    "relu",
    "rint",
]

_HALF = sympy.S.Half


def _both_numbers(a: sympy.Expr, b: sympy.Expr) -> bool:
    return bool(a.is_Number and b.is_Number)


_DECISION_DIGITS = 15


def _decided(difference: sympy.Expr) -> bool | None:
    """Whether ``difference >= 0`` is known (None: not known).

    A symbolic difference is asked of SymPy's assumptions; a constant one is evaluated
    once, at 15 digits, and decided only when that settles its sign (SymPy would raise
    its precision while two constants look equal, for seconds; the parser builds those
    unevaluated, and so do these classes).
    """
    if difference.free_symbols:
        if difference.is_extended_nonnegative:
            return True
        if difference.is_extended_negative:
            return False
        return None
    try:
        value = difference.evalf(_DECISION_DIGITS, strict=True, maxn=2 * _DECISION_DIGITS)
    except (ArithmeticError, ValueError, TypeError):  # PrecisionExhausted: maybe 0
        return None
    if not value.is_Float or value == 0:
        return None
    return bool(value > 0)


class _Kink(sympy.Function):
    """What the classes share: a numeric value, from their arguments' values."""

    @classmethod
    def _pick(cls, *values: Any) -> Any:
        raise NotImplementedError

    def _eval_evalf(self, prec: int) -> sympy.Expr | None:
        values = [a.evalf(prec) for a in self.args]
        if not all(v.is_Number for v in values):
            return None
        return type(self)._pick(*values)  # SymPy numbers in, a SymPy number out


class _Extreme(_Kink):
    """The larger (``larger``) or smaller of two arguments; at a tie each gets half."""

    nargs = 2
    larger: bool

    @classmethod
    def _pick(cls, a: Any, b: Any) -> Any:
        return a if (a >= b if cls.larger else a <= b) else b

    @classmethod
    def eval(cls, a: sympy.Expr, b: sympy.Expr) -> sympy.Expr | None:
        if a == b:
            return a
        if a is sympy.nan or b is sympy.nan:
            return sympy.nan
        if _both_numbers(a, b):
            return cls._pick(a, b)
        order = _decided(a - b)  # True: a >= b
        if order is None:
            return None
        return a if order == cls.larger else b

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        a, b = self.args
        lead = a - b if self.larger else b - a  # > 0 where the first argument is chosen
        return sympy.Heaviside(lead if argindex == 1 else -lead, _HALF)


class maximum(_Extreme):
    """``np.maximum(a, b)``: binary, and at a tie each argument gets half the gradient."""

    larger = True


class minimum(_Extreme):
    """``np.minimum(a, b)``: binary, and at a tie each argument gets half the gradient."""

    larger = False


class relu(_Kink):
    """``max(x, 0)`` with ``relu'(0) = 0``."""

    nargs = 1

    @classmethod
    def _pick(cls, x: Any) -> Any:
        return x if x > 0 else sympy.S.Zero

    @classmethod
    def eval(cls, x: sympy.Expr) -> sympy.Expr | None:
        if x is sympy.nan:
            return sympy.nan
        if x.is_Number:
            return x if x > 0 else sympy.S.Zero
        order = _decided(x)
        if order is None:
            return None
        return x if order else sympy.S.Zero

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.Heaviside(self.args[0], 0)

    def _eval_rewrite_as_Piecewise(self, x: sympy.Expr, **kwargs: Any) -> sympy.Expr:
        return sympy.Piecewise((x, x > 0), (0, True))


class rint(_Kink):
    """``np.rint``: the nearest integer, ties to even; piecewise constant (derivative 0)."""

    nargs = 1

    @classmethod
    def _pick(cls, x: Any) -> Any:
        return sympy.Integer(round(float(x)))

    @classmethod
    def eval(cls, x: sympy.Expr) -> sympy.Expr | None:
        if x.is_Integer:
            return x
        if x.is_Number and x.is_finite:
            return sympy.Integer(round(float(x)))  # Python rounds half to even, as NumPy
        return None

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.S.Zero


class floor(sympy.floor):
    """SymPy's ``floor`` with derivative 0 (a step function)."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.S.Zero


class ceiling(sympy.ceiling):
    """SymPy's ``ceiling`` with derivative 0 (a step function)."""

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.S.Zero


class indicator(sympy.Function):
    """1 where ``condition`` holds, else 0: a comparison used as a number; derivative 0."""

    nargs = 1
    # known, so that SymPy never runs its assumption system on the many of a large trace
    is_commutative = True
    is_extended_real = True
    is_real = True
    is_finite = True
    is_nonnegative = True

    @classmethod
    def eval(cls, condition: Any) -> sympy.Expr | None:
        if condition is sympy.true:
            return sympy.S.One
        if condition is sympy.false:
            return sympy.S.Zero
        return None

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.S.Zero

    def _eval_derivative(self, s: sympy.Symbol) -> sympy.Expr:
        return sympy.S.Zero  # SymPy's chain rule would differentiate the condition itself

    @classmethod
    def of(cls, condition: Any) -> sympy.Expr:
        """``indicator(condition)`` without SymPy's function machinery (argument checks,
        evaluation), which is most of a large trace's cost: the node is the same."""
        if condition is sympy.true:
            return sympy.S.One
        if condition is sympy.false:
            return sympy.S.Zero
        return sympy.Basic.__new__(cls, condition)


def _mp_maximum(a: Any, b: Any) -> Any:
    if mpmath.isnan(a) or mpmath.isnan(b):
        return mpmath.nan
    return a if a >= b else b


def _mp_minimum(a: Any, b: Any) -> Any:
    if mpmath.isnan(a) or mpmath.isnan(b):
        return mpmath.nan
    return a if a <= b else b


def _mp_relu(x: Any) -> Any:
    if mpmath.isnan(x):
        return mpmath.nan
    return x if x > 0 else mpmath.mpf(0)


MPMATH: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "maximum": _mp_maximum,
        "minimum": _mp_minimum,
        "relu": _mp_relu,
        "rint": mpmath.nint,
        "indicator": lambda condition: mpmath.mpf(1) if condition else mpmath.mpf(0),
    }
)
"""mpmath implementations by class name, for ``lambdify(..., modules=[MPMATH, "mpmath"])``."""


def normalize_minmax(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with SymPy's n-ary ``Max``/``Min`` written as nests of binary ``maximum``/``minimum``.

    A user's own SymPy expression may hold ``Max(a, b, c)``, whose derivative at a
    three-way tie is not a subgradient (see the module docstring).
    """
    if not expr.has(sympy.Max, sympy.Min):
        return expr

    def nest(binary: type[sympy.Function]) -> Callable[..., sympy.Expr]:
        def build(*args: sympy.Expr) -> sympy.Expr:
            result = args[0]
            for arg in args[1:]:
                result = binary(result, arg)
            return result

        return build

    return expr.replace(sympy.Max, nest(maximum)).replace(sympy.Min, nest(minimum))
