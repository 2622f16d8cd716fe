"""Finite-difference cases with exact truth: what ``bench_fd_suite.py`` measures.

Each ``Case`` is one derivative (order n of f: R -> R), one Hessian or one gradient
of a NumPy callable at one point, with the SymPy expression of the same function for
the truth: SymPy's exact derivative, evaluated with mpmath at 50 digits at the float
point (converted exactly), rounded once to float64. Python float constants in f enter
the expression as ``sympy.Rational(c)``, the exact double f computes with, so the
truth is the derivative of the function f really is, not of a neighbour.

The callables are written the ways people write them: plain lambdas of np functions,
Python-scalar ``math`` for the constants (``np.exp(math.log(2.0) * x)``), vectorized
NumPy, and micrograd-like code of products and Python constants. Peers call them
differently (numdifftools with 0-d scalars, diffkit with arrays of stencil points,
scipy with extra dimensions), so every univariate f works elementwise on any shape.

Some truths are exact but not in f's float64 values: cos'(2.2e-14) = -2.2e-14 is
about 1e-16 of the values cos takes at any step long enough to see it. ``floor`` is
the best relative accuracy any rule with steps up to the length on which f varies
could reach from rounded values (rounding eps |f| amplified by 2^n / s^n); cases with
a floor above ``ILL_FLOOR`` are ``ill_conditioned``: measured, but out of the
accuracy targets (an honest method flags them, which the benchmark counts).

``all_cases()`` builds the list once (the truth is computed on first use, cached).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy

__all__ = [
    "CATEGORIES",
    "ILL_FLOOR",
    "SCALES",
    "Case",
    "all_cases",
]

DIGITS = 50
SCALES = (2.2e-14, 1e-4, 0.5, 1.0, 250.0, 1e3, 1e8)
CATEGORIES = ("smooth", "higher", "edge", "tiny", "hessian", "gradient")
ILL_FLOOR = 1e-9
EPS = float(np.finfo(float).eps)

X = sympy.Symbol("x", real=True)
XS = sympy.symbols("x0:4", real=True)
Fn = Callable[[Any], Any]


def _r(c: float) -> sympy.Rational:
    """The exact value of the double c, as the truth must see f's constants."""
    return sympy.Rational(c)


# ---------------------------------------------------------------------------- truth


def _to_float(v: Any) -> float:
    if isinstance(v, mpmath.mpc):
        return float(v.real) if abs(v.imag) <= 1e-40 * max(1, abs(v.real)) else math.nan
    return float(v)


@functools.cache
def _derivative_fn(expr: sympy.Expr, n: int) -> Callable[..., Any]:
    return sympy.lambdify(X, sympy.diff(expr, X, n), "mpmath")


@functools.cache
def derivative_truth(expr: sympy.Expr, n: int, x: float) -> float:
    """d^n expr / dx^n at the double x, 50 digits, rounded once."""
    with mpmath.workdps(DIGITS):
        return _to_float(_derivative_fn(expr, n)(mpmath.mpf(x)))


@functools.cache
def _matrix_fn(expr: sympy.Expr, k: int, kind: str) -> Callable[..., Any]:
    xs = XS[:k]
    m = sympy.hessian(expr, xs) if kind == "hessian" else sympy.Matrix([expr]).jacobian(xs)
    return sympy.lambdify(xs, m, "mpmath")


@functools.cache
def matrix_truth(expr: sympy.Expr, kind: str, x: tuple[float, ...]) -> np.ndarray:
    """Exact Hessian (k, k) or gradient (k,) of expr at the double point x."""
    with mpmath.workdps(DIGITS):
        m = _matrix_fn(expr, len(x), kind)(*(mpmath.mpf(v) for v in x))
        out = np.array([[_to_float(v) for v in row] for row in m.tolist()])
    return out if kind == "hessian" else out.reshape(-1)


# ---------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One derivative to take, with its exact value.

    ``kind`` "derivative" (order ``n``), "hessian" or "gradient" (x a tuple);
    ``category`` one of CATEGORIES; ``analytic`` says f extends to complex arguments
    (what the complex step and contour methods need); ``edge`` marks points at a domain
    edge or next to a singularity; ``oscillating`` f keeps varying on a scale of 1
    however large |x| is (so a step relative to |x| is wrong there); ``style`` how f is
    written (lambda, math, numpy, poly).
    """

    name: str
    family: str
    f: Fn
    expr: sympy.Expr
    x: Any
    n: int = 1
    kind: str = "derivative"
    category: str = "smooth"
    analytic: bool = True
    edge: bool = False
    oscillating: bool = False
    style: str = "lambda"

    @functools.cached_property
    def truth(self) -> Any:
        if self.kind == "derivative":
            return derivative_truth(self.expr, self.n, float(self.x))
        return matrix_truth(self.expr, self.kind, tuple(float(v) for v in self.x))

    @property
    def scale(self) -> float:
        """|x|, or the largest |x_i|: what the scale tables group by."""
        return float(np.max(np.abs(self.x)))

    @functools.cached_property
    def floor(self) -> float:
        """Best relative accuracy reachable from f's rounded values (0 for Hessians, gradients).

        min over steps s <= L of eps * max|f(x + {-s, 0, s})| * 2^n / s^n / |f^(n)(x)|,
        L = 1 for oscillating f, else max(1, |x|): the noise of the n-th central
        difference against the derivative, at the best step that still sees f vary.
        """
        if self.kind != "derivative" or self.truth == 0 or not math.isfinite(self.truth):
            return 0.0
        x = float(self.x)
        length = 1.0 if self.oscillating else max(1.0, abs(x))
        s = np.logspace(math.log10(length) - 24, math.log10(length), 97)
        with np.errstate(all="ignore"):
            values = np.abs(np.stack([self.f(x - s), self.f(x + s), np.full(s.shape, self.f(x))]))
        size = np.nanmax(np.where(np.isfinite(values), values, np.nan), axis=0)
        noise = EPS * size * 2.0**self.n / s**self.n / abs(self.truth)
        return float(np.nanmin(noise)) if np.any(np.isfinite(noise)) else math.inf

    @property
    def ill_conditioned(self) -> bool:
        return self.floor > ILL_FLOOR


def _label(x: Any) -> str:
    if np.ndim(x):
        return "(" + ", ".join(f"{v:.6g}" for v in x) + ")"
    return f"{x:.7g}"


class _Builder:
    """Collects cases; each family is one function written once, at many points and orders."""

    def __init__(self) -> None:
        self.cases: list[Case] = []

    def univariate(
        self,
        family: str,
        f: Fn,
        expr: sympy.Expr,
        points: Sequence[float],
        orders: Sequence[int] = (1,),
        **flags: Any,
    ) -> None:
        for n in orders:
            for x in points:
                name = f"{family} n={n} x={_label(x)}"
                if flags.get("edge"):
                    name += " [edge]"
                self.cases.append(Case(name, family, f, expr, float(x), n, **flags))

    def multivariate(
        self, kind: str, family: str, f: Fn, expr: sympy.Expr, points: Sequence[tuple], **flags
    ) -> None:
        tag = "H" if kind == "hessian" else "grad"
        for x in points:
            name = f"{family} {tag} at {_label(x)}"
            self.cases.append(
                Case(
                    name,
                    family,
                    f,
                    expr,
                    tuple(map(float, x)),
                    2 if tag == "H" else 1,
                    kind=kind,
                    category=kind,
                    **flags,
                )
            )


# ---------------------------------------------------------------------------- functions
# micrograd-like code: products and Python float constants, no np calls.


def _cube(x: Any) -> Any:
    return x * x * x


def _bump(x: Any) -> Any:
    return 1.0 / (1.0 + x * x)


def _poly3(x: Any) -> Any:
    return 0.5 * x * x * x - 2.0 * x * x + 1.5 * x - 4.0


def _poly5(x: Any) -> Any:
    y = x * x
    return 0.25 * y * y * x - 1.5 * y * x + 3.0 * y - x + 0.75


def _t2_plus_t(t: Any) -> Any:
    return t * t + t


def _rosen(x: Any) -> Any:
    total = 0.0
    for i in range(len(x) - 1):
        a, b = x[i], x[i + 1]
        total = total + 100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2
    return total


def _rosen_expr(k: int) -> sympy.Expr:
    xs = XS[:k]
    return sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(k - 1))


def _beale(x: Any) -> Any:
    a, b = x[0], x[1]
    return (1.5 - a + a * b) ** 2 + (2.25 - a + a * b * b) ** 2 + (2.625 - a + a * b**3) ** 2


def _booth(x: Any) -> Any:
    return (x[0] + 2.0 * x[1] - 7.0) ** 2 + (2.0 * x[0] + x[1] - 5.0) ** 2


def _himmelblau(x: Any) -> Any:
    return (x[0] ** 2 + x[1] - 11.0) ** 2 + (x[0] + x[1] ** 2 - 7.0) ** 2


QUAD_A = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -1.0], [0.5, -1.0, 2.0]])
QUAD_B = np.array([0.25, -1.0, 0.5])


def _quadratic(x: Any) -> Any:
    x = np.asarray(x)
    return 0.5 * x @ QUAD_A @ x + QUAD_B @ x


def _quadratic_expr() -> sympy.Expr:
    v = sympy.Matrix(XS[:3])
    a = sympy.Matrix(3, 3, [_r(c) for c in QUAD_A.ravel()])
    b = sympy.Matrix([_r(c) for c in QUAD_B])
    return sympy.expand((v.T * a * v)[0] / 2 + (b.T * v)[0])


def _boxed(inner: Fn) -> Fn:
    """inner on [0, 2], NaN outside: a domain with hard edges that no expression shows."""

    def f(x: Any) -> Any:
        with np.errstate(invalid="ignore"):
            return np.where((x >= 0.0) & (x <= 2.0), inner(x), np.nan)

    return f


LN2 = math.log(2.0)
E = math.e


def _smooth(b: _Builder) -> None:
    """First derivatives of elementary functions over SCALES, where defined and finite."""
    lo = SCALES[:5]  # up to 250: exp, cosh, sinh overflow beyond
    b.univariate("exp", lambda x: np.exp(x), sympy.exp(X), lo)
    b.univariate("sin", lambda x: np.sin(x), sympy.sin(X), SCALES, oscillating=True)
    b.univariate("cos", lambda x: np.cos(x), sympy.cos(X), SCALES, oscillating=True)
    b.univariate("cosh", lambda x: np.cosh(x), sympy.cosh(X), lo)
    b.univariate(
        "sinh",
        lambda x: E**x / 2 - E ** (-x) / 2,
        (_r(E) ** X - _r(E) ** (-X)) / 2,
        lo,
        style="math",
    )
    b.univariate("log", lambda x: np.log(x), sympy.log(X), SCALES)
    b.univariate("sqrt", lambda x: np.sqrt(x), sympy.sqrt(X), SCALES)
    b.univariate("tan", lambda x: np.tan(x), sympy.tan(X), SCALES, oscillating=True)
    b.univariate("atan", np.arctan, sympy.atan(X), SCALES, style="numpy")
    b.univariate("bump", _bump, 1 / (1 + X**2), SCALES, style="poly")
    b.univariate(
        "damped_sin",
        lambda x: np.exp(-x / 300.0) * np.sin(x),
        sympy.exp(-X / 300) * sympy.sin(X),
        SCALES[:6],
        oscillating=True,
        style="numpy",
    )
    b.univariate(
        "exp2", lambda x: np.exp(LN2 * x), sympy.exp(_r(LN2) * X), SCALES[:6], style="math"
    )
    b.univariate("cube", _cube, X**3, SCALES, style="poly")
    b.univariate("poly3", _poly3, _r(0.5) * X**3 - 2 * X**2 + _r(1.5) * X - 4, SCALES, style="poly")
    b.univariate("tanh", np.tanh, sympy.tanh(X), SCALES[:4], style="numpy")


def _higher(b: _Builder) -> None:
    """Orders 2..10 of analytic functions at a few points each."""
    orders = range(2, 11)
    b.univariate("exp", lambda x: np.exp(x), sympy.exp(X), (0.5, 5.0), orders, category="higher")
    b.univariate(
        "sin",
        lambda x: np.sin(x),
        sympy.sin(X),
        (0.5,),
        orders,
        category="higher",
        oscillating=True,
    )
    b.univariate(
        "cos",
        lambda x: np.cos(x),
        sympy.cos(X),
        (2.2e-14, 1.0),
        orders,
        category="higher",
        oscillating=True,
    )
    b.univariate("cosh", lambda x: np.cosh(x), sympy.cosh(X), (0.5,), orders, category="higher")
    b.univariate(
        "exp2", lambda x: np.exp2(x), 2**X, (1.0,), orders, category="higher", style="numpy"
    )
    b.univariate("log", lambda x: np.log(x), sympy.log(X), (1.0,), orders, category="higher")
    b.univariate("bump", _bump, 1 / (1 + X**2), (0.5,), orders, category="higher", style="poly")
    b.univariate("atan", np.arctan, sympy.atan(X), (0.5,), orders, category="higher")
    b.univariate(
        "sqrt_x_plus_2",
        lambda x: np.sqrt(x + 2.0),
        sympy.sqrt(X + 2),
        (0.0,),
        orders,
        category="higher",
    )
    p5 = _r(0.25) * X**5 - _r(1.5) * X**3 + 3 * X**2 - X + _r(0.75)
    b.univariate("poly5", _poly5, p5, (0.7,), orders, category="higher", style="poly")


def _edges(b: _Builder) -> None:
    """Points next to a singularity or at the edge of f's domain (truth from the inside)."""
    edge = {"category": "edge", "edge": True}
    b.univariate(
        "sqrt_x_minus_2",
        lambda x: np.sqrt(x - 2.0),
        sympy.sqrt(X - 2),
        (2.001, 2.000001),
        (1, 2),
        **edge,
    )
    b.univariate("log", lambda x: np.log(x), sympy.log(X), (1e-4, 1e-10), (1,), **edge)
    b.univariate("log", lambda x: np.log(x), sympy.log(X), (1e-4,), (2,), **edge)
    b.univariate("reciprocal", lambda x: 1.0 / x, 1 / X, (1e-3, -1e-6), (1, 2), **edge)
    b.univariate(
        "tan",
        lambda x: np.tan(x),
        sympy.tan(X),
        (math.pi / 2 - 0.01, math.pi / 2 - 1e-4),
        style="math",
        **edge,
    )
    inner = sympy.exp(X) * sympy.cos(X)
    b.univariate(
        "boxed_expcos",
        _boxed(lambda x: np.exp(x) * np.cos(x)),
        inner,
        (0.0, 2.0),
        (1, 2),
        analytic=False,
        style="numpy",
        **edge,
    )
    b.univariate(
        "boxed_poly",
        _boxed(lambda x: x * x * x - 2.0 * x),
        X**3 - 2 * X,
        (0.0, 2.0),
        analytic=False,
        style="poly",
        **edge,
    )


def _tiny(b: _Builder) -> None:
    """Tiny and subnormal points, where a step relative to |x| underflows the difference."""
    b.univariate(
        "t2_plus_t",
        _t2_plus_t,
        X**2 + X,
        (1e-100, 1e-160, 1e-300, 1e-310),
        (2,),
        category="tiny",
        style="poly",
    )
    b.univariate("t2_plus_t", _t2_plus_t, X**2 + X, (1e-300,), (1,), category="tiny", style="poly")
    b.univariate("exp", lambda x: np.exp(x), sympy.exp(X), (5e-324,), (1, 2), category="tiny")


def _hessians(b: _Builder) -> None:
    """Hessians of test functions of optimization at ordinary and at awkward points."""
    x0, x1, x2 = XS[:3]
    h = functools.partial(b.multivariate, "hessian")
    h(
        "rosen2",
        _rosen,
        _rosen_expr(2),
        [(1, 1), (-1.2, 1), (1e-8, 1e-8), (1e4, -1e4)],
        style="poly",
    )
    h("rosen4", _rosen, _rosen_expr(4), [(1, 1, 1, 1), (-1.2, 1, -1.2, 1)], style="poly")
    h(
        "x0x1exp",
        lambda x: x[0] * x[1] * np.exp(x[2]),
        x0 * x1 * sympy.exp(x2),
        [(1, 2, 0.5), (1e-6, 1e4, -3)],
        style="numpy",
    )
    sinsum = sum(sympy.sin(a * c) for a in (x0, x1, x2) for c in (x0, x1, x2))
    h(
        "sin_outer",
        lambda x: np.sum(np.sin(np.outer(x, x))),
        sinsum,
        [(0.3, -0.7, 1.1), (2.2e-14, 1, 2)],
        style="numpy",
    )
    h(
        "log1p_dot",
        lambda x: np.log1p(np.dot(x, x)),
        sympy.log(1 + x0**2 + x1**2 + x2**2),
        [(0.5, -0.5, 1), (1e3, 1e-3, 1)],
        style="numpy",
    )
    h(
        "quadratic",
        _quadratic,
        _quadratic_expr(),
        [(1, 2, 3), (1.2e-314, 1.2e-314, -1.2e-314)],
        style="numpy",
    )
    h(
        "quadratic2",
        lambda x: 3.0 * x[0] ** 2 - x[0] * x[1] + 0.5 * x[1] ** 2,
        3 * x0**2 - x0 * x1 + x1**2 / 2,
        [(1.2e-314, 1.2e-314), (1.2e-314, -2.4e-314)],
        style="poly",
    )
    beale = (
        (_r(1.5) - x0 + x0 * x1) ** 2
        + (_r(2.25) - x0 + x0 * x1**2) ** 2
        + (_r(2.625) - x0 + x0 * x1**3) ** 2
    )
    h("beale", _beale, beale, [(3, 0.5), (1, 1)], style="poly")
    h("booth", _booth, (x0 + 2 * x1 - 7) ** 2 + (2 * x0 + x1 - 5) ** 2, [(1, 3)], style="poly")
    himmelblau = (x0**2 + x1 - 11) ** 2 + (x0 + x1**2 - 7) ** 2
    h("himmelblau", _himmelblau, himmelblau, [(3, 2), (-0.270845, -0.923039)], style="poly")
    h(
        "expcos",
        lambda x: np.exp(x[0]) * np.cos(x[1]),
        sympy.exp(x0) * sympy.cos(x1),
        [(0.5, 1), (250, 1e3)],
    )
    h(
        "inv_bowl",
        lambda x: 1.0 / (x[0] ** 2 + x[1] ** 2 + 1.0),
        1 / (x0**2 + x1**2 + 1),
        [(0.1, -0.2), (1e4, 1e4)],
        style="poly",
    )


def _gradients(b: _Builder) -> None:
    """Gradients in 3 variables, where the complex step's cost per variable shows."""
    x0, x1, x2 = XS[:3]
    g = functools.partial(b.multivariate, "gradient")
    g(
        "expsin_sq",
        lambda x: np.exp(x[0]) * np.sin(x[1]) + x[2] ** 2,
        sympy.exp(x0) * sympy.sin(x1) + x2**2,
        [(0.5, 1, -2)],
        style="numpy",
    )
    g(
        "prod_log",
        lambda x: x[0] * x[1] * x[2] + np.log(1.0 + x[0] ** 2),
        x0 * x1 * x2 + sympy.log(1 + x0**2),
        [(1.5, -0.5, 2)],
        style="numpy",
    )
    g("rosen3", _rosen, _rosen_expr(3), [(-1.2, 1, 0.8), (1e3, 1e-3, 1)], style="poly")


@functools.lru_cache(maxsize=1)
def _build() -> tuple[Case, ...]:
    b = _Builder()
    for part in (_smooth, _higher, _edges, _tiny, _hessians, _gradients):
        part(b)
    seen: set[str] = set()
    for c in b.cases:  # the benchmark keys its rows by name
        if c.name in seen:
            raise ValueError(f"two cases are named {c.name!r}: give one another point or family")
        seen.add(c.name)
    return tuple(b.cases)


def all_cases(categories: Sequence[str] = CATEGORIES) -> list[Case]:
    """Every case in the given categories, in a fixed order (built once)."""
    return [c for c in _build() if c.category in categories]


if __name__ == "__main__":  # a census: python scripts/fd_cases.py
    import collections
    import time

    start = time.perf_counter()
    cases = all_cases()
    for c in cases:
        _ = c.truth, c.floor
    print(f"{len(cases)} cases, truth in {time.perf_counter() - start:.1f} s")
    print(dict(collections.Counter(c.category for c in cases)))
    for c in cases:
        if c.ill_conditioned:
            print(f"ill-conditioned: {c.name}  truth {c.truth:.3g}  floor {c.floor:.1e}")
