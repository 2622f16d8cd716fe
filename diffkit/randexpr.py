"""Random expression trees over the primitive table, with points inside their domain.

A study of thousands of functions needs functions nobody chose: trees whose nodes
are rows of :mod:`diffkit.ops` (unary and binary primitives), whose leaves are the
variables and small exact constants. Two things keep every tree usable:

- **domain by construction**: an argument of a row defined on part of the line only
  goes through a guard that maps the reals into that part (``log(1 + u**2)``,
  ``sqrt(cosh(u))``, ``arcsin(tanh(u))``, ``u / (1 + v**2)``); rows without a guard
  are taken to be defined everywhere;
- **points by rejection**: a point is kept only where the value and the exact first
  derivative are finite and at most ``MAX_MAGNITUDE`` in size (which also rejects
  ``exp(exp(exp(x)))`` wherever it overflows), and a tree with too few such points is
  drawn again.

Everything is drawn from a NumPy ``Generator`` seeded with ``(seed, i)``, so function
``i`` of a seed is the same whatever the count, the chunking or Python's hash seed,
and is named ``rand-<seed>-<i>`` so a result can be traced back to it.
Kinks (``abs``, ``relu``, ``maximum``...) occur; a point exactly on one is rare and
the sweep marks it in its ``kink`` column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np
import sympy

from . import kink_functions, ops
from .function import Function
from .parse import symbol

__all__ = [
    "DEFAULT_OPS",
    "MAX_MAGNITUDE",
    "random_expression",
    "random_function",
    "random_functions",
]

MAX_MAGNITUDE = 1e100
"""Largest accepted |f| and |f'| at a point: far from overflow, even squared in a sum of squares."""

POINT_RANGE = 3.0
"""Points are drawn uniformly in [-POINT_RANGE, POINT_RANGE], rounded to 4 decimals."""

_TRIES = 40  # candidate points per tree; trees per function before giving up
_Guard = Callable[[sympy.Expr], sympy.Expr]

# Maps from the reals into (0, inf): arguments of log, sqrt, fractional or negative powers.
_POSITIVE: tuple[_Guard, ...] = (
    lambda u: 1 + u**2,
    sympy.cosh,
    lambda u: 2 + sympy.sin(u),
)
# Maps from the reals into (-1, 1): arguments of arcsin, arccos.
_UNIT: tuple[_Guard, ...] = (
    sympy.tanh,
    lambda u: sympy.sin(u) / 2,
    lambda u: u / sympy.sqrt(1 + u**2),
)
# Maps from the reals into (-1, inf): arguments of log1p.
_ABOVE_MINUS_ONE: tuple[_Guard, ...] = (lambda u: u**2, sympy.exp, lambda u: sympy.sin(u) / 2)
# Maps from the reals into (-pi/2, pi/2): arguments of tan.
_HALF_PI: tuple[_Guard, ...] = (sympy.tanh, sympy.atan)

# Guards per row name (argument index -> guards); rows not listed are defined everywhere.
GUARDS: dict[str, dict[int, tuple[_Guard, ...]]] = {
    "log": {0: _POSITIVE},
    "sqrt": {0: _POSITIVE},
    "log1p": {0: _ABOVE_MINUS_ONE},
    "arcsin": {0: _UNIT},
    "arccos": {0: _UNIT},
    "tan": {0: _HALF_PI},
    "divide": {1: _POSITIVE},
}

# Exponents of ``power``: mostly small exact numbers; a non-integer or negative one
# gets a positive base.
_EXPONENTS = (2, 3, -1, -2, sympy.Rational(1, 2), sympy.Rational(3, 2))
_CONSTANTS = (1, 2, 3, sympy.Rational(1, 2), sympy.Rational(3, 2))

DEFAULT_OPS: tuple[str, ...] = (
    *("abs", "add", "arccos", "arcsin", "arctan", "cos", "cosh", "divide", "exp", "expm1"),
    *("log", "log1p", "logaddexp", "maximum", "minimum", "multiply", "power", "relu"),
    *("sigmoid", "sign", "sin", "sinh", "softplus", "sqrt", "subtract", "tan", "tanh"),
)
"""The rows a random tree draws from by default: the table as it was when studies began
(every row but unary minus), written out so that a seed keeps naming the same trees as
rows are added; pass ``ops=`` for others."""


def _variables(count: int) -> tuple[sympy.Symbol, ...]:
    if count < 1:
        raise ValueError(f"a random function needs at least one variable, got {count}")
    return (symbol("x"),) if count == 1 else tuple(symbol(f"x{i}") for i in range(count))


def _rows(names: Sequence[str] | None) -> list[ops.Primitive]:
    rows = [ops.get(name) for name in (DEFAULT_OPS if names is None else names)]
    if not rows:
        raise ValueError("ops must name at least one primitive")
    unique = {row.name: row for row in rows}
    return [unique[name] for name in sorted(unique)]


class _Builder:
    """Draws one tree: every choice comes from ``rng``, in a fixed order."""

    def __init__(
        self,
        rng: np.random.Generator,
        rows: list[ops.Primitive],
        variables: tuple[sympy.Symbol, ...],
    ) -> None:
        self.rng, self.rows, self.variables = rng, rows, variables

    def pick(self, choices: Sequence[object]) -> object:
        return choices[int(self.rng.integers(len(choices)))]

    def leaf(self) -> sympy.Expr:
        if self.rng.random() < 0.75:
            return self.pick(self.variables)
        return sympy.sympify(self.pick(_CONSTANTS))

    def tree(self, depth: int) -> sympy.Expr:
        """A tree at most ``depth`` operations deep, with one branch exactly that deep."""
        if depth <= 0:
            return self.leaf()
        row: ops.Primitive = self.pick(self.rows)  # type: ignore[assignment]
        if row.name == "power":
            return self.power(depth)
        deep = int(self.rng.integers(row.arity))
        args = [
            self.tree(depth - 1 if i == deep else int(self.rng.integers(depth)))
            for i in range(row.arity)
        ]
        return row.sympy(*(self.guard(row.name, i, arg) for i, arg in enumerate(args)))

    def power(self, depth: int) -> sympy.Expr:
        exponent = sympy.sympify(self.pick(_EXPONENTS))
        base = self.tree(depth - 1)
        if not (exponent.is_integer and exponent > 0):
            base = self.pick(_POSITIVE)(base)  # type: ignore[operator]
        return ops.get("power").sympy(base, exponent)

    def guard(self, name: str, index: int, arg: sympy.Expr) -> sympy.Expr:
        guards = GUARDS.get(name, {}).get(index)
        return arg if guards is None else self.pick(guards)(arg)  # type: ignore[operator]


def random_expression(
    rng: np.random.Generator,
    depth: int = 3,
    variables: int = 1,
    ops: Sequence[str] | None = None,
) -> sympy.Expr:
    """A random tree of ``ops`` rows (default ``DEFAULT_OPS``) at most ``depth`` deep.

    Variables are ``x`` (one) or ``x0, x1, ...``; the tree uses all of them when one of
    ``_TRIES`` draws does (a shallow tree may have too few leaves), and at least one.
    Guards keep every argument inside its row's domain, so the expression is real on
    the whole line (up to overflow, which ``random_function`` rejects point by point).
    """
    if depth < 0:
        raise ValueError(f"depth must be >= 0, got {depth}")
    builder = _Builder(rng, _rows(ops), _variables(variables))
    best: sympy.Expr | None = None
    for _ in range(_TRIES):
        expr = builder.tree(depth)
        if not expr.free_symbols or expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            continue
        if len(expr.free_symbols) == variables:
            return expr
        if best is None or len(expr.free_symbols) > len(best.free_symbols):
            best = expr  # a shallow tree may have too few leaves for every variable
    if best is None:
        raise RuntimeError(f"no non-constant expression in {_TRIES} draws; allow more ops or depth")
    return best


def _usable(values: np.ndarray) -> np.ndarray:
    """Per candidate (last axis), whether every value is finite and within MAX_MAGNITUDE."""
    with np.errstate(all="ignore"):
        ok = np.isfinite(values) & (np.abs(values) <= MAX_MAGNITUDE)
    return ok.reshape(-1, ok.shape[-1]).all(axis=0)


def _exact_partials(f: Function) -> list[sympy.Expr] | None:
    """f's exact partial derivatives, or None where SymPy leaves one unevaluated.

    SymPy differentiates ``sign(u)`` only when it can prove ``u`` real; otherwise
    it returns an unevaluated ``Derivative`` that neither NumPy nor the ground truth
    (mpmath) can evaluate, so such a tree is drawn again.
    """
    assert f.expr is not None
    partials = []
    for v in f.variables:
        # A kink's derivative holds DiracDelta (of sign, of a step), which NumPy cannot
        # evaluate; away from the kink it is 0, and a point on one is rare anyway.
        exact = sympy.diff(f.expr, v).replace(
            lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero
        )
        if exact.has(sympy.Derivative, sympy.Subs):
            return None
        partials.append(exact)
    return partials


def _good_points(f: Function, candidates: np.ndarray) -> np.ndarray:
    """Which candidate points (columns) give a finite, bounded value and gradient.

    None of them, when SymPy cannot print the expression or its derivative as NumPy
    code (a rewritten ``Heaviside`` can yield a ``Piecewise`` whose condition is no
    Boolean): such a tree is drawn again.
    """
    nothing = np.zeros(candidates.shape[1], dtype=bool)
    partials = _exact_partials(f)
    if partials is None:
        return nothing
    args = candidates if f.ndim > 1 else candidates[0]
    try:
        keep = _usable(np.asarray(f.numpy(args), dtype=float))
        for exact in partials:
            values = np.asarray(Function.from_expr(exact, f.variables).numpy(args), dtype=float)
            keep &= _usable(np.broadcast_to(values, keep.shape))
    except (TypeError, ValueError, NameError, ArithmeticError):
        return nothing
    return keep


def random_function(
    seed: int,
    index: int,
    *,
    depth: tuple[int, int] = (1, 4),
    variables: Sequence[int] = (1,),
    ops: Sequence[str] | None = None,
    points: int = 2,
) -> Function:
    """Function ``index`` of ``seed``: named ``rand-<seed>-<index>``, with ``points`` good points.

    ``depth`` is the inclusive range of tree depths, ``variables`` the counts of
    variables to draw from; both are drawn per function.
    """
    lo, hi = depth
    if not 0 <= lo <= hi:
        raise ValueError(f"depth must be a range (lo, hi) with 0 <= lo <= hi, got {depth}")
    if not variables:
        raise ValueError("variables must list at least one count of variables")
    rng = np.random.default_rng([seed, index])
    for _ in range(_TRIES):
        nvars = int(variables[int(rng.integers(len(variables)))])
        expr = random_expression(rng, int(rng.integers(lo, hi + 1)), nvars, ops)
        draws = rng.uniform(-POINT_RANGE, POINT_RANGE, size=(nvars, _TRIES)).round(4)
        f = Function.from_expr(expr, _variables(nvars))
        with np.errstate(all="ignore"):
            good = draws[:, _good_points(f, draws)][:, :points]
        if good.shape[1] == points:
            chosen = tuple(float(p[0]) if nvars == 1 else tuple(map(float, p)) for p in good.T)
            tags = {"random"} | ({"kink"} if _has_kink(expr) else set())
            return Function.from_expr(
                expr,
                _variables(nvars),
                name=f"rand-{seed}-{index}",
                points=chosen,
                tags=tags,
                why=str(expr),
            )
    raise RuntimeError(f"rand-{seed}-{index}: no tree with {points} good points in {_TRIES} draws")


def _has_kink(expr: sympy.Expr) -> bool:
    return bool(
        expr.has(sympy.Abs, sympy.sign, sympy.Heaviside, *_KINK_CLASSES, sympy.Max, sympy.Min)
    )


_KINK_CLASSES = (kink_functions.maximum, kink_functions.minimum, kink_functions.relu)


def random_functions(
    count: int,
    seed: int,
    *,
    start: int = 0,
    depth: tuple[int, int] = (1, 4),
    variables: Sequence[int] = (1,),
    ops: Sequence[str] | None = None,
    points: int = 2,
) -> Iterator[Function]:
    """Functions ``start, ..., start + count - 1`` of ``seed`` (see ``random_function``), lazily."""
    if count < 0 or start < 0:
        raise ValueError(f"count and start must be >= 0, got {count} and {start}")
    for index in range(start, start + count):
        yield random_function(seed, index, depth=depth, variables=variables, ops=ops, points=points)
