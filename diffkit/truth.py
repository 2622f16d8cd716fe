"""Ground truth: exact derivatives from SymPy, evaluated with mpmath at 50 digits.

Every accuracy claim in diffkit (tests, sweeps, reports) measures against this one
module. Derivatives are taken exactly by SymPy, then evaluated at the float point
(converted to mpmath exactly, no rounding) with 50 significant digits and rounded
once to float64, so the truth is correct to the last bit wherever the evaluation
is not itself ill-conditioned beyond 35 digits.

Values the derivative does not have are reported, not invented: an infinite
derivative (sqrt at 0) is ``inf`` with its sign, a point outside the real domain
(log at -1) is ``nan``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import mpmath
import numpy as np
import sympy

from . import kink_functions
from .arrays.entries import ArrayEntry
from .function import Function

__all__ = [
    "DIGITS",
    "NoExpressionError",
    "derivative",
    "gradient",
    "hessian",
    "jacobian",
    "on_kink",
    "value",
]

DIGITS = 50


class NoExpressionError(ValueError):
    """Ground truth needs a SymPy expression, and the function has none."""


def _expression(f: Function) -> sympy.Expr:
    if f.expr is None:
        raise NoExpressionError(
            f"function {f.name!r} has no SymPy expression, so it has no ground truth; "
            "build it with Function.from_string or Function.from_expr"
        )
    return f.expr


_STEPS = (sympy.sign, sympy.floor, sympy.ceiling, sympy.Heaviside, kink_functions.rint)


def _is_step_derivative(e: sympy.Basic) -> bool:
    """Derivative(floor(u), x), or SymPy's Subs(Derivative(floor(_xi), _xi), _xi, u)."""
    if isinstance(e, sympy.Subs):
        e = e.expr
    return isinstance(e, sympy.Derivative) and isinstance(e.expr, _STEPS)


def _settle_kinks(expr: sympy.Expr) -> sympy.Expr:
    # The kink conventions of ops.py live in the SymPy classes of kink_functions (a tie of
    # maximum is Heaviside(a - b, 1/2), relu' is Heaviside(x, 0)). What is left to settle:
    # the derivative of a step function (sign, floor, Heaviside) is 0 everywhere, as in
    # ops.py, where SymPy says DiracDelta (which mpmath cannot evaluate) or leaves it
    # unevaluated (Derivative(sign(u), x) where it cannot prove u real).
    if expr.has(sympy.Derivative):
        expr = expr.replace(_is_step_derivative, lambda e: sympy.S.Zero)
    if expr.has(sympy.DiracDelta):
        expr = expr.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero)
    return expr


def mpmath_namespace(expr: sympy.Expr) -> dict[str, Any]:
    """The mpmath implementations of diffkit's own SymPy functions that ``expr`` uses:
    the kink conventions, and the opaque array functions the tracer made (``inv``, ...)."""
    namespace: dict[str, Any] = dict(kink_functions.MPMATH)
    for node in expr.atoms(ArrayEntry):
        family = type(node)
        namespace[family.__name__] = _entry_value(family)
    return namespace


def _entry_value(family: type[ArrayEntry]) -> Callable[..., Any]:
    def value(k: Any, inputs: Any) -> Any:
        return family.mpmath_call(*[mpmath.mpf(v) for v in inputs])[int(k)]

    return value


@lru_cache(maxsize=512)
def _compiled(expr: sympy.Expr, variables: tuple[sympy.Symbol, ...]) -> Callable[..., Any]:
    settled = _settle_kinks(expr)
    return sympy.lambdify(variables, settled, modules=[mpmath_namespace(settled), "mpmath"])


@lru_cache(maxsize=512)
def _diff(expr: sympy.Expr, spec: tuple[tuple[sympy.Symbol, int], ...]) -> sympy.Expr:
    if not spec:
        return expr
    if isinstance(expr, sympy.Add):
        # A sum differentiates term by term, and a term without the variables is 0:
        # skipping those makes Rosenbrock-100's gradient 100 small derivatives, not 100
        # derivatives of the whole 99-term sum (the same expression, ~30x sooner).
        wrt = {symbol for symbol, _ in spec}
        terms = [t for t in expr.args if not wrt.isdisjoint(t.free_symbols)]
        return sympy.Add(*[sympy.diff(t, *spec) for t in terms])
    return sympy.diff(expr, *spec)


def _evaluate(
    expr: sympy.Expr, variables: tuple[sympy.Symbol, ...], point: Sequence[float] | np.ndarray
) -> float:
    """One exact-expression value at one point, to 50 digits, rounded once to float."""
    fn = _compiled(expr, variables)
    with mpmath.workdps(DIGITS):
        args = [mpmath.mpf(float(c)) for c in point]
        try:
            result = fn(*args)
        except ZeroDivisionError:
            return _infinite_limit(expr, variables, point)
        except (ValueError, TypeError, OverflowError):
            return float("nan")
        if isinstance(result, mpmath.mpc):
            if abs(result.imag) > abs(result) * mpmath.mpf(10) ** (-DIGITS + 5):
                return float("nan")  # outside the real domain
            result = result.real
        return float(result)


def _infinite_limit(
    expr: sympy.Expr, variables: tuple[sympy.Symbol, ...], point: Sequence[float] | np.ndarray
) -> float:
    # A pole of the derivative: report +-inf when both one-sided values agree in sign
    # just inside the point, nan otherwise (a removable 0/0 is not expected here).
    fn = _compiled(expr, variables)
    with mpmath.workdps(DIGITS):
        signs = set()
        for side in (1, -1):
            args = [mpmath.mpf(float(c)) + side * mpmath.mpf(10) ** -30 for c in point]
            try:
                v = fn(*args)
            except (ZeroDivisionError, ValueError, TypeError):
                continue
            if isinstance(v, mpmath.mpc):
                if v.imag != 0:
                    continue
                v = v.real
            signs.add(mpmath.sign(v))
        if len(signs) == 1:
            return float(signs.pop()) * float("inf")
        return float("nan")


def _points(x: Any) -> tuple[np.ndarray, tuple[int, ...]]:
    arr = np.asarray(x, dtype=float)
    return arr.reshape(-1), arr.shape


def value(f: Function, x: Any) -> np.ndarray:
    """f at each point of ``x`` (univariate: elementwise; multivariate: one point)."""
    return (
        derivative(f, x, n=0)
        if f.ndim == 1
        else np.asarray(_evaluate(_expression(f), f.variables, np.asarray(x, float)))
    )


def derivative(f: Function, x: Any, n: int = 1) -> np.ndarray:
    """The exact n-th derivative of a univariate ``f`` at each point of ``x``, as float64."""
    if f.ndim != 1:
        raise ValueError(f"derivative needs a function of one variable; {f.name!r} has {f.ndim}")
    if n < 0:
        raise ValueError(f"derivative order n must be >= 0, got {n}")
    expr = _diff(_expression(f), ((f.variables[0], n),) if n else ())
    flat, shape = _points(x)
    out = np.array([_evaluate(expr, f.variables, (p,)) for p in flat])
    return out.reshape(shape)


def gradient(f: Function, x: Any) -> np.ndarray:
    """The exact gradient of ``f`` at one point ``x`` (length ``f.ndim``)."""
    expr = _expression(f)
    point = np.asarray(x, dtype=float).reshape(-1)
    parts = tuple(_diff(expr, ((v, 1),)) for v in f.variables)
    together = _evaluate_all(parts, f.variables, point)
    if together is not None:
        return together
    return np.array([_evaluate(part, f.variables, point) for part in parts])


@lru_cache(maxsize=128)
def _compiled_all(
    exprs: tuple[sympy.Expr, ...], variables: tuple[sympy.Symbol, ...]
) -> Callable[..., Any]:
    settled = [_settle_kinks(e) for e in exprs]
    namespace: dict[str, Any] = {}
    for e in settled:
        namespace.update(mpmath_namespace(e))
    return sympy.lambdify(variables, settled, modules=[namespace, "mpmath"])


def _evaluate_all(
    exprs: tuple[sympy.Expr, ...], variables: tuple[sympy.Symbol, ...], point: np.ndarray
) -> np.ndarray | None:
    """All components in one compiled call (one lambdify, not one per component).

    None when any component needs the careful path of ``_evaluate`` (a pole, a
    complex value, an error), which then takes the components one at a time.
    """
    fn = _compiled_all(exprs, variables)
    with mpmath.workdps(DIGITS):
        args = [mpmath.mpf(float(c)) for c in point]
        try:
            values = fn(*args)
        except (ZeroDivisionError, ValueError, TypeError, OverflowError):
            return None
        if any(isinstance(v, mpmath.mpc) for v in values):
            return None
        return np.array([float(v) for v in values])


def hessian(f: Function, x: Any) -> np.ndarray:
    """The exact Hessian of ``f`` at one point ``x``, shape ``(ndim, ndim)``."""
    expr = _expression(f)
    point = np.asarray(x, dtype=float).reshape(-1)
    k = f.ndim
    out = np.empty((k, k))
    for i, vi in enumerate(f.variables):
        for j in range(i, k):
            spec = ((vi, 2),) if i == j else ((vi, 1), (f.variables[j], 1))
            out[i, j] = out[j, i] = _evaluate(_diff(expr, spec), f.variables, point)
    return out


def jacobian(exprs: Sequence[sympy.Expr], variables: Sequence[sympy.Symbol], x: Any) -> np.ndarray:
    """The exact Jacobian of a vector of expressions at one point, shape ``(len(exprs), len(variables))``."""
    syms = tuple(variables)
    point = np.asarray(x, dtype=float).reshape(-1)
    return np.array([[_evaluate(_diff(e, ((v, 1),)), syms, point) for v in syms] for e in exprs])


_ZERO_AT_KINK = (sympy.Abs, sympy.sign, sympy.Heaviside, kink_functions.relu)
_INTEGER_JUMPS = (sympy.floor, sympy.ceiling)
_TIES = (sympy.Max, sympy.Min, kink_functions.maximum, kink_functions.minimum)
_LANE_EXTREMES = {"np.max": np.max, "np.min": np.min}  # opaque reductions (diffkit.arrays)


def _tied_extreme(node: ArrayEntry, values_of: Callable[[tuple[sympy.Expr, ...]], Any]) -> bool:
    """Whether a lane of an np.max/np.min call has its extreme at two entries or more."""
    family = type(node)
    extreme = _LANE_EXTREMES[family.rule.name]
    values = np.asarray(values_of(node.inputs), dtype=float).reshape(family.input_shapes[0])
    axis = family.parameters()["axis"]
    axis = tuple(axis) if isinstance(axis, list) else axis
    top = extreme(values, axis=axis, keepdims=True)
    return bool(np.any(np.sum(values == top, axis=axis) > 1))


def on_kink(f: Function, x: Any) -> bool:
    """Whether ``x`` lies where ``f`` is not differentiable: abs/sign/relu/step at 0, a
    max/min tie, a jump of floor/ceil/rint, the boundary of a piecewise condition.

    There the derivative every backend returns is a convention (ops.py), not a limit,
    so agreement statistics leave such points out. Evaluated exactly, like the truth,
    so a point 1e-300 away from the kink is not on it.
    """
    if f.expr is None:
        return False
    point = np.asarray(x, dtype=float).reshape(-1)

    def value(e: sympy.Expr) -> float:
        return _evaluate(e, f.variables, point)

    def values_of(exprs: tuple[sympy.Expr, ...]) -> Any:
        # one compiled call for all inputs of an opaque call (there may be thousands)
        found = _evaluate_all(exprs, f.variables, point)
        return found if found is not None else [value(e) for e in exprs]

    settled: set[tuple[Any, int]] = set()  # (family, inputs): the entries of one call share them

    for node in sympy.preorder_traversal(f.expr):
        if isinstance(node, _ZERO_AT_KINK):
            if value(node.args[0]) == 0.0:
                return True
        elif isinstance(node, _TIES):
            values = [value(arg) for arg in node.args]
            if len(set(values)) < len(values):
                return True
        elif isinstance(node, ArrayEntry) and type(node).rule.name in _LANE_EXTREMES:
            key = (type(node), id(node.args[1]))
            if key not in settled:
                settled.add(key)
                if _tied_extreme(node, values_of):
                    return True
        elif isinstance(node, _INTEGER_JUMPS):
            if float(value(node.args[0])).is_integer():
                return True
        elif isinstance(node, kink_functions.rint):
            if (float(value(node.args[0])) - 0.5).is_integer():
                return True
        elif (
            isinstance(node, sympy.core.relational.Relational) and value(node.lhs - node.rhs) == 0.0
        ):
            return True
    return False
