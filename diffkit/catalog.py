"""The built-in test functions, each with the reason it is interesting to differentiate.

``CATALOG`` maps a short command-line name to a ``Function`` that carries its exact
SymPy expression (so every entry has a ground truth), the points where the report
evaluates it, and tags. Insertion order is display order: the seed articles'
examples first, then univariate functions, then multivariate ones.

Tags say what is special about a function:

- ``"seed"``: an example from the seed articles (micrograd-style walkthroughs);
- ``"smooth"``: the derivative exists at every listed point;
- ``"kink"``: the derivative jumps at a listed point (diffkit's convention there is 0);
- ``"infinite-derivative"``: the derivative is infinite at a listed point;
- ``"multivariate"``: more than one variable (added by ``Function.from_expr``);
- ``"steep"``: derivatives grow fast with their order (exp(100 x): 100**n);
- ``"oscillatory"``: high derivatives are huge compared with the function;
- ``"near-singularity"``: a point close to a pole or a branch point, where the
  step of a finite difference can cross into trouble;
- ``"classic"``: a standard benchmark from the differentiation literature.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType

import sympy

from . import ops
from .function import Function, Point
from .parse import symbol

__all__ = ["CATALOG", "UnknownFunctionError", "get", "names"]

_INF = math.inf
_HALF_LINE = ((0.0, _INF),)  # x >= 0 (log excludes 0 itself: value -inf there)


class UnknownFunctionError(KeyError):
    """A name that is not in the catalog."""

    def __str__(self) -> str:
        # KeyError quotes its argument; the message reads better without the quotes.
        return str(self.args[0]) if self.args else ""


def _vars(prefix: str, count: int) -> tuple[sympy.Symbol, ...]:
    """``count`` real symbols ``prefix0, prefix1, ...``, in numeric (not alphabetical) order."""
    return tuple(symbol(f"{prefix}{i}") for i in range(count))


def _rosenbrock(n: int) -> sympy.Expr:
    """sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 over ``n`` variables."""
    x = _vars("x", n)
    return sympy.Add(*(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(n - 1)))


def _rosenbrock_points(n: int) -> tuple[tuple[float, ...], ...]:
    # All 0.5, and a non-symmetric point cycling through -0.3 ... 0.3.
    return ((0.5,) * n, tuple((i % 7 - 3) / 10 for i in range(n)))


def _mlp_tanh() -> tuple[sympy.Expr, tuple[sympy.Symbol, ...]]:
    """Squared error of a 2-3-1 tanh network on one fixed sample, as a function of its weights."""
    w = _vars("w", 13)
    inputs, target = (0.5, -1.0), 1.0
    hidden = [
        sympy.tanh(w[3 * j] * inputs[0] + w[3 * j + 1] * inputs[1] + w[3 * j + 2]) for j in range(3)
    ]
    output = w[9] * hidden[0] + w[10] * hidden[1] + w[11] * hidden[2] + w[12]
    return (output - target) ** 2, w


def _build() -> dict[str, Function]:
    x = symbol("x")
    a, b, c, f = (symbol(n) for n in "abcf")
    y, z = symbol("y"), symbol("z")
    entries: dict[str, Function] = {}

    def add(
        name: str,
        expr: sympy.Expr,
        points: Iterable[Point],
        why: str,
        *,
        tags: Iterable[str] = ("smooth",),
        variables: Sequence[sympy.Symbol] | None = None,
        domain: Sequence[tuple[float, float]] | None = None,
    ) -> None:
        entries[name] = Function.from_expr(
            expr,
            variables if variables is not None else (x,),
            name=name,
            points=points,
            tags=tags,
            why=why,
            domain=domain,
        )

    # --- the seed articles' examples -------------------------------------------------
    seed = ("seed", "smooth")
    add(
        "seed_quadratic",
        7 * x**2 + 6 * x + 3,
        (5.0,),
        "The first hand-worked derivative: 14x + 6 = 76 at 5, exact for any central difference",
        tags=seed,
    )
    add(
        "seed_parabola",
        2 * x**2 - 3 * x + 4,
        (2.0, -2.0, 0.75, 6.0),
        "Slope 5, -11, and 0 at the vertex 0.75, where relative error is undefined",
        tags=seed,
    )
    add(
        "seed_square",
        x**2,
        (3.0,),
        "The simplest derivative: the forward difference's error is exactly h",
        tags=seed,
    )
    add(
        "seed_abc",
        a * b + c,
        ((2.0, -3.0, 10.0), (3.0, -2.0, 8.0)),
        "micrograd's first graph: a product routes each input's gradient to the other",
        tags=seed,
        variables=(a, b, c),
    )
    add(
        "seed_abcf",
        (a * b + c) * f,
        ((2.0, -3.0, 10.0, -2.0), (3.0, -2.0, 8.0, -2.0)),
        "micrograd's L = (a*b + c)*f: the chain rule through two nodes, gradient (6, -4, -2, 4)",
        tags=seed,
        variables=(a, b, c, f),
    )
    add(
        "seed_xyz",
        x**2 + y**3 - z,
        ((2.0, 3.0, 4.0),),
        "Partial derivatives one variable at a time: gradient (4, 27, -1) at (2, 3, 4)",
        tags=seed,
        variables=(x, y, z),
    )

    # --- univariate ---------------------------------------------------------------------
    add(
        "squire_trapp",
        sympy.exp(x) / sympy.sqrt(sympy.sin(x) ** 3 + sympy.cos(x) ** 3),
        (1.5,),
        "Squire & Trapp's classic complex-step test: cancellation ruins forward differences",
        tags=("smooth", "classic"),
    )
    add(
        "exp",
        sympy.exp(x),
        (0.0, 10.0),
        "Every derivative equals the function, so errors of any order are easy to read",
        tags=("smooth", "classic"),
    )
    add(
        "log",
        sympy.log(x),
        (1e-3,),
        "Singular at 0: a step larger than x leaves the domain, smaller ones lose digits",
        tags=("smooth", "near-singularity"),
        domain=_HALF_LINE,
    )
    add(
        "reciprocal",
        1 / x,
        (1e-2,),
        "Derivatives grow like n!/x^(n+1) near the pole, so truncation error explodes",
        tags=("smooth", "near-singularity"),
    )
    add(
        "pow15",
        x ** sympy.Rational(3, 2),
        (1e-4,),
        "Near a branch point: f' is fine but f'' ~ x^(-1/2) is large and steps below 0 give nan",
        tags=("smooth", "near-singularity"),
        domain=_HALF_LINE,
    )
    add(
        "sin_inv",
        sympy.sin(1 / x),
        (0.05,),
        "Oscillates faster and faster towards 0: only a tiny step resolves the derivative",
        tags=("smooth", "oscillatory", "near-singularity"),
    )
    add(
        "tanh",
        ops.get("tanh").sympy(x),
        (0.5, 3.0),
        "Saturates: at 3 the slope is ~1e-2, so f(x+h) - f(x) cancels most of its digits",
        tags=("smooth",),
    )
    add(
        "sigmoid",
        ops.get("sigmoid").sympy(x),
        (0.0, 4.0),
        "The logistic activation: its derivative s(1 - s) vanishes in the tails",
        tags=("smooth",),
    )
    add(
        "softplus",
        ops.get("softplus").sympy(x),
        (-2.0, 0.0, 3.0),
        "Smooth ReLU: its derivative is the sigmoid, a check that rules compose",
        tags=("smooth",),
    )
    add(
        "gauss_cos",
        sympy.exp(-(x**2)) * sympy.cos(20 * x),
        (0.3,),
        "A wave packet: the n-th derivative grows like 20^n, so high orders are hard",
        tags=("smooth", "oscillatory"),
    )
    add(
        "exp100",
        sympy.exp(100 * x),
        (0.1,),
        "Steep: derivatives scale like 100^n, so a step fit for exp(x) is far too large",
        tags=("smooth", "steep"),
    )
    add(
        "abs_kink",
        ops.get("abs").sympy(x),
        (0.0,),
        "A kink: one-sided differences give +-1, the central one the subgradient 0",
        tags=("kink",),
    )
    add(
        "relu_kink",
        ops.get("relu").sympy(x),
        (0.0,),
        "ReLU at its kink: forward and backward differences disagree, convention says 0",
        tags=("kink",),
    )
    add(
        "sqrt_zero",
        sympy.sqrt(x),
        (0.0,),
        "Infinite slope at the domain's edge: central differences step outside it",
        tags=("infinite-derivative",),
        domain=_HALF_LINE,
    )

    # --- multivariate -------------------------------------------------------------------
    x2 = _vars("x", 2)
    add(
        "rosenbrock2",
        _rosenbrock(2),
        ((-1.2, 1.0), (1.0, 1.0)),
        "The banana valley from (-1.2, 1): badly scaled curvature, zero gradient at (1, 1)",
        tags=("smooth", "classic"),
        variables=x2,
    )
    add(
        "rosenbrock10",
        _rosenbrock(10),
        _rosenbrock_points(10),
        "Rosenbrock in 10 variables: difference cost grows with dimension, reverse mode's does not",
        tags=("smooth", "classic"),
        variables=_vars("x", 10),
    )
    add(
        "rosenbrock100",
        _rosenbrock(100),
        _rosenbrock_points(100),
        "Rosenbrock in 100 variables: 200 calls per central-difference gradient, one backward pass",
        tags=("smooth", "classic"),
        variables=_vars("x", 100),
    )
    xs5 = _vars("x", 5)
    add(
        "logsumexp",
        sympy.log(sympy.Add(*(sympy.exp(v) for v in xs5))),
        (tuple(k / 3 for k in range(1, 6)), (-1.0, 0.0, 1.0, 2.0, 3.0)),
        "Its gradient is the softmax, summing to 1: a free consistency check",
        tags=("smooth",),
        variables=xs5,
    )
    logits = _vars("z", 4)
    add(
        "softmax_xent",
        -logits[2] + sympy.log(sympy.Add(*(sympy.exp(v) for v in logits))),
        ((0.5, -1.0, 2.0, 0.1), (0.0, 0.0, 0.0, 0.0)),
        "Cross-entropy of 4 logits, true class 2: gradient softmax - onehot, the ML workhorse",
        tags=("smooth",),
        variables=logits,
    )
    mlp, weights = _mlp_tanh()
    add(
        "mlp_tanh",
        mlp,
        (tuple(((3 * k) % 7 - 3) / 5 for k in range(13)),),
        "A 2-3-1 tanh network's loss over its 13 weights: what backpropagation is for",
        tags=("smooth",),
        variables=weights,
    )
    return entries


CATALOG: Mapping[str, Function] = MappingProxyType(_build())


def get(name: str) -> Function:
    """The catalog function called ``name``; the error lists the available names."""
    try:
        return CATALOG[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(CATALOG), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(CATALOG)
        raise UnknownFunctionError(
            f"{name!r} is not in the catalog{hint}; available: {known}"
        ) from None


def names(*, tag: str | None = None, exclude_tags: Iterable[str] = ()) -> tuple[str, ...]:
    """Catalog names in display order: only those tagged ``tag``, none tagged ``exclude_tags``."""
    excluded = frozenset(exclude_tags)
    return tuple(
        name
        for name, fn in CATALOG.items()
        if (tag is None or tag in fn.tags) and not (fn.tags & excluded)
    )
