"""A catalog of NumPy code to differentiate: what ``bench_numpy_surface.py`` measures.

Each ``Case`` is one derivative of one function at one point. ``fn(xp, *args)`` is
written against an array namespace ``xp``, so the very same code runs on NumPy (what
diffkit's reverse mode and symbolic tracer are handed: users write ``import numpy as
np``), on ``autograd.numpy`` and on ``jax.numpy`` (the oracles). ``argnum`` names the
differentiated argument, the others are held fixed; ``check`` says what is compared:
``"gradient"`` (scalar output), ``"jacobian"`` (array output) or ``"hessian"``
(scalar output).

Which functions and which option combinations: the ones users reach for, in the spirit
of HIPS autograd's test suite (each elementwise ufunc on its domain and in every
broadcasting pairing, reductions with axis/keepdims/ddof, every shape pairing of dot
and matmul, einsum subscripts with ellipses and three operands, indexing that mixes
basic and advanced indices, linalg on stacks), plus code written the way people write
it: Python loops over elements with float constants, vectorized losses, in-place
writes into ``np.zeros``, branches on values.

Inputs come from generators seeded by the case family's name (``_rng``): every run and
every ``--only`` selection sees the same numbers, and adding a case moves no other.
Points stay away from kinks and jumps (|x| > 0.1 for abs, a / b away from integers for
remainder, distinct values for maximum and sort), except in cases marked
``kink=True``, which sit exactly on a tie: there any valid subgradient (a convex
combination of the one-sided derivatives) is right, and the harness checks for that
instead of one number.

``all_cases()`` builds the catalog (once; a few hundred milliseconds): every function is
evaluated once with NumPy while building, so a catalog typo fails here, not as a
"failure" of the code under test.
"""

from __future__ import annotations

import functools
import math
import operator
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CHECKS", "Case", "all_cases", "functions_covered"]

CHECKS = ("gradient", "jacobian", "hessian")
Fn = Callable[..., Any]


@dataclass(frozen=True)
class Case:
    """One derivative to take: ``check`` of ``fn(xp, *args)`` with respect to ``args[argnum]``."""

    name: str
    functions: tuple[str, ...]  # the NumPy functions this case exercises, e.g. "np.linalg.norm"
    fn: Fn
    args: tuple[Any, ...]
    argnum: int
    check: str
    kink: bool = False  # the point is on a tie or kink: any valid subgradient passes
    atol: float = 1e-12  # absolute slack; 0 for cases at tiny scales, where 1e-12 hides everything

    @property
    def point(self) -> np.ndarray:
        """The differentiated argument as a float64 array (0-d for a Python float)."""
        return np.asarray(self.args[self.argnum], dtype=np.float64)

    def bind(self, xp: Any) -> Fn:
        """``fn`` as a function of the differentiated argument alone, on namespace ``xp``."""

        def of_x(x: Any) -> Any:
            args = list(self.args)
            args[self.argnum] = x
            return self.fn(xp, *args)

        of_x.__name__ = self.name
        return of_x


# ---------------------------------------------------------------------------- inputs


def _rng(tag: str) -> np.random.Generator:
    """A generator seeded by a stable hash of ``tag``: inputs depend on the name only."""
    return np.random.default_rng(zlib.crc32(tag.encode()))


def randn(tag: str, *shape: int) -> Any:
    """Standard normal values; a Python float when ``shape`` is empty."""
    values = _rng(tag).standard_normal(shape)
    return float(values) if shape == () else values


def uniform(tag: str, lo: float, hi: float, *shape: int) -> Any:
    """Uniform values in [lo, hi); a Python float when ``shape`` is empty."""
    values = _rng(tag).uniform(lo, hi, shape)
    return float(values) if shape == () else values


def away_from_zero(tag: str, *shape: int, gap: float = 0.1, hi: float = 2.0) -> Any:
    """Values with gap <= |x| < hi and random signs: smooth points of abs, sign, copysign."""
    rng = _rng(tag)
    values = rng.uniform(gap, hi, shape) * rng.choice([-1.0, 1.0], shape)
    return float(values) if shape == () else values


def between_jumps(tag: str, *shape: int) -> Any:
    """Values whose fractional part is in (0.15, 0.35) or (0.65, 0.85): away from the jumps
    of floor, ceil, trunc (integers) and of rint, round (half-integers)."""
    rng = _rng(tag)
    whole = rng.integers(-3, 3, shape).astype(float)
    frac = rng.uniform(0.15, 0.35, shape) + rng.choice([0.0, 0.5], shape)
    values = whole + frac
    return float(values) if shape == () else values


def spd(tag: str, n: int, *stack: int) -> np.ndarray:
    """A well-conditioned symmetric positive definite matrix (or a stack of them)."""
    a = randn(tag, *stack, n, n)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def well_conditioned(tag: str, n: int, *stack: int) -> np.ndarray:
    """A square matrix (or stack) far from singular: random plus a multiple of I."""
    return randn(tag, *stack, n, n) + 4.0 * np.eye(n)


def draw(rng: np.random.Generator, spec: tuple[Any, ...], shape: tuple[int, ...]) -> Any:
    """Values for ``spec``: ``(lo, hi)`` uniform, or ``("pm", lo, hi)`` for lo <= |x| < hi."""
    if spec[0] == "pm":
        values = rng.uniform(spec[1], spec[2], shape) * rng.choice([-1.0, 1.0], shape)
    else:
        values = rng.uniform(spec[0], spec[1], shape)
    return float(values) if shape == () else values


# ---------------------------------------------------------------------------- call helpers


def resolve(xp: Any, dotted: str) -> Any:
    """``xp.linalg.norm`` for ``"linalg.norm"``: a function of whichever namespace runs."""
    return functools.reduce(getattr, dotted.split("."), xp)


def call(dotted: str, *extra: Any, **kwargs: Any) -> Fn:
    """``fn(xp, x) = xp.<dotted>(x, *extra, **kwargs)``: one differentiated operand."""

    def fn(xp: Any, x: Any) -> Any:
        return resolve(xp, dotted)(x, *extra, **kwargs)

    return fn


def calln(dotted: str, **kwargs: Any) -> Fn:
    """``fn(xp, *args) = xp.<dotted>(*args, **kwargs)``: every argument is an operand."""

    def fn(xp: Any, *args: Any) -> Any:
        return resolve(xp, dotted)(*args, **kwargs)

    return fn


def weighted(inner: Fn) -> Fn:
    """``fn(xp, w, *args) = sum(w * inner(xp, *args))``: a scalar (for gradients and Hessians)
    that weighs every output entry differently, so a transposed or shuffled derivative shows."""

    def fn(xp: Any, w: Any, *args: Any) -> Any:
        return xp.sum(w * inner(xp, *args))

    return fn


def weights_for(tag: str, inner: Fn, *args: Any) -> np.ndarray:
    """Fixed weights of ``inner``'s output shape (inner run once with NumPy)."""
    shape = np.shape(inner(np, *args))
    return _rng("w:" + tag).uniform(0.5, 1.5, shape)


# ---------------------------------------------------------------------------- the catalog


class Catalog:
    """Collects cases; ``add`` decides the check kind from the NumPy output's shape."""

    def __init__(self) -> None:
        self.cases: list[Case] = []
        self._names: set[str] = set()

    def add(
        self,
        name: str,
        functions: str | Sequence[str],
        fn: Fn,
        args: tuple[Any, ...],
        *,
        argnums: Sequence[int] = (0,),
        hessian: bool = False,
        kink: bool = False,
        atol: float = 1e-12,
    ) -> None:
        """One case per argnum (``name@k`` when several), plus ``name#hess`` with ``hessian``."""
        funcs = (functions,) if isinstance(functions, str) else tuple(functions)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out = np.asarray(fn(np, *args))
        check = "gradient" if out.ndim == 0 else "jacobian"
        if hessian and check != "gradient":
            raise ValueError(f"{name}: a Hessian needs a scalar output, got shape {out.shape}")
        for argnum in argnums:
            if np.asarray(args[argnum]).dtype.kind != "f":
                raise ValueError(f"{name}: argument {argnum} is not a float")
            label = name if len(argnums) == 1 else f"{name}@{argnum}"
            kinds = (check, "hessian") if hessian else (check,)
            for kind in kinds:
                full = label if kind == check else f"{label}#hess"
                self._append(Case(full, funcs, fn, args, argnum, kind, kink, atol))

    def add_weighted(
        self, name: str, functions: str | Sequence[str], inner: Fn, args: tuple[Any, ...], **kw: Any
    ) -> None:
        """``sum(w * inner(...))`` for fixed weights w: the scalar form of an array function."""
        w = weights_for(name, inner, *args)
        argnums = [a + 1 for a in kw.pop("argnums", (0,))]
        self.add(name, functions, weighted(inner), (w, *args), argnums=argnums, **kw)

    def _append(self, case: Case) -> None:
        if case.name in self._names:
            raise ValueError(f"duplicate case name {case.name!r}")
        self._names.add(case.name)
        self.cases.append(case)


# ---------------------------------------------------------------------------- elementwise

# (name, lo, hi): the interval points are drawn from, inside the domain.
SMOOTH_UNARY: tuple[tuple[str, float, float], ...] = (
    ("sin", -2, 2),
    ("cos", -2, 2),
    ("tan", -1.1, 1.1),
    ("arcsin", -0.9, 0.9),
    ("arccos", -0.9, 0.9),
    ("arctan", -2, 2),
    ("sinh", -2, 2),
    ("cosh", -2, 2),
    ("tanh", -2, 2),
    ("arcsinh", -2, 2),
    ("arccosh", 1.1, 4),
    ("arctanh", -0.9, 0.9),
    ("exp", -2, 2),
    ("exp2", -2, 2),
    ("expm1", -2, 2),
    ("log", 0.2, 2),
    ("log2", 0.2, 2),
    ("log10", 0.2, 2),
    ("log1p", -0.5, 2),
    ("sqrt", 0.5, 3),
    ("cbrt", 0.3, 3),
    ("square", -2, 2),
    ("reciprocal", 0.5, 2),
    ("negative", -2, 2),
    ("positive", -2, 2),
    ("deg2rad", -2, 2),
    ("rad2deg", -2, 2),
    ("degrees", -2, 2),
    ("radians", -2, 2),
    ("sinc", -2, 2),
    ("conjugate", -2, 2),
    ("conj", -2, 2),
    ("real", -2, 2),
    ("i0", -2, 2),
)
# Smooth except at 0: points have |x| >= 0.1.
ABS_LIKE = ("absolute", "abs", "fabs")
# Piecewise constant: derivative 0 between the jumps.
STEP_UNARY = ("sign", "floor", "ceil", "rint", "trunc", "fix", "round", "around", "imag")


def _unary_family(
    cat: Catalog, name: str, draw_at: Callable[[str, tuple[int, ...]], Any], *, smooth: bool
) -> None:
    """Jacobian on a vector, derivative at a Python float; for smooth functions also the
    second derivative there, and a weighted gradient and Hessian on a matrix."""
    fn = call(name)
    funcs = f"np.{name}"
    base = f"ufunc/{name}"
    cat.add(f"{base}/vec", funcs, fn, (draw_at(base + "/vec", (5,)),))
    cat.add(f"{base}/float", funcs, fn, (draw_at(base + "/float", ()),), hessian=smooth)
    if smooth:
        cat.add_weighted(f"{base}/mat", funcs, fn, (draw_at(base + "/mat", (2, 3)),), hessian=True)
    else:
        cat.add_weighted(f"{base}/mat", funcs, fn, (draw_at(base + "/mat", (2, 3)),))


def unary_ufuncs(cat: Catalog) -> None:
    for name, lo, hi in SMOOTH_UNARY:
        _unary_family(
            cat, name, lambda tag, shape, lo=lo, hi=hi: uniform(tag, lo, hi, *shape), smooth=True
        )
    for name in ABS_LIKE:
        _unary_family(cat, name, lambda tag, shape: away_from_zero(tag, *shape), smooth=False)
    for name in STEP_UNARY:
        _unary_family(cat, name, lambda tag, shape: between_jumps(tag, *shape), smooth=False)
    cat.add("ufunc/cbrt/negative", "np.cbrt", call("cbrt"), (uniform("cbrt-", -3, -0.3, 4),))


def python_operators(cat: Catalog) -> None:
    """Python's operators on arrays: what NumPy code is mostly made of."""
    rows: tuple[tuple[str, Fn, tuple[float, float]], ...] = (
        ("neg", lambda xp, x: -x, (-2, 2)),
        ("abs-builtin", lambda xp, x: abs(x), (0.1, 2)),
        ("pow2", lambda xp, x: x**2, (-2, 2)),
        ("pow3", lambda xp, x: x**3, (-2, 2)),
        ("pow-int-neg", lambda xp, x: x**-2, (0.5, 2)),
        ("pow-half", lambda xp, x: x**0.5, (0.5, 3)),
        ("pow-float-neg", lambda xp, x: x**-1.5, (0.5, 3)),
        ("rpow", lambda xp, x: 2.0**x, (-2, 2)),
        ("rdiv", lambda xp, x: 3.0 / x, (0.5, 2)),
        ("self-mul", lambda xp, x: x * x, (-2, 2)),
        ("self-div", lambda xp, x: x / (x + 3.0), (-2, 2)),
        ("self-pow", lambda xp, x: x**x, (0.5, 2)),
        ("chain", lambda xp, x: (x * 2.0 - 1.0) / (x * x + 1.0), (-2, 2)),
    )
    for label, fn, (lo, hi) in rows:
        name = f"operator/{label}"
        cat.add(f"{name}/vec", "python operators", fn, (uniform(name, lo, hi, 4),))
        cat.add_weighted(
            f"{name}/mat",
            "python operators",
            fn,
            (uniform(name + "m", lo, hi, 2, 3),),
            hessian=True,
        )


def _frac_ok(q: np.ndarray) -> bool:
    frac = np.abs(q) - np.floor(np.abs(q))
    return bool(np.all((frac > 0.1) & (frac < 0.9)))


def _valid_remainder(a: Any, b: Any) -> bool:
    return _frac_ok(np.asarray(a) / np.asarray(b))


def _valid_distinct(a: Any, b: Any) -> bool:
    return bool(np.all(np.abs(np.subtract(a, b)) > 0.1))


def _valid_y_away(a: Any, b: Any) -> bool:
    return bool(np.all(np.abs(a) > 0.2))


# (label, functions, namespace -> binary callable, a spec, b spec, point validity)
BINARY: tuple[tuple[str, str, Callable[[Any], Fn], tuple, tuple, Any], ...] = (
    ("add", "np.add", lambda xp: xp.add, (-2, 2), (-2, 2), None),
    ("subtract", "np.subtract", lambda xp: xp.subtract, (-2, 2), (-2, 2), None),
    ("multiply", "np.multiply", lambda xp: xp.multiply, (-2, 2), (-2, 2), None),
    ("divide", "np.divide", lambda xp: xp.divide, (-2, 2), ("pm", 0.5, 2), None),
    ("true_divide", "np.true_divide", lambda xp: xp.true_divide, (-2, 2), ("pm", 0.5, 2), None),
    ("power", "np.power", lambda xp: xp.power, (0.7, 2), (-2, 2), None),
    ("float_power", "np.float_power", lambda xp: xp.float_power, (0.7, 2), (-2, 2), None),
    ("maximum", "np.maximum", lambda xp: xp.maximum, (-2, 2), (-2, 2), _valid_distinct),
    ("minimum", "np.minimum", lambda xp: xp.minimum, (-2, 2), (-2, 2), _valid_distinct),
    ("fmax", "np.fmax", lambda xp: xp.fmax, (-2, 2), (-2, 2), _valid_distinct),
    ("fmin", "np.fmin", lambda xp: xp.fmin, (-2, 2), (-2, 2), _valid_distinct),
    ("hypot", "np.hypot", lambda xp: xp.hypot, (-2, 2), (-2, 2), _valid_y_away),
    ("arctan2", "np.arctan2", lambda xp: xp.arctan2, (-2, 2), (-2, 2), _valid_y_away),
    ("logaddexp", "np.logaddexp", lambda xp: xp.logaddexp, (-2, 2), (-2, 2), None),
    ("logaddexp2", "np.logaddexp2", lambda xp: xp.logaddexp2, (-2, 2), (-2, 2), None),
    ("remainder", "np.remainder", lambda xp: xp.remainder, (-2, 2), (0.7, 1.9), _valid_remainder),
    ("mod", "np.mod", lambda xp: xp.mod, (-2, 2), ("pm", 0.7, 2.1), _valid_remainder),
    ("fmod", "np.fmod", lambda xp: xp.fmod, (-2, 2), ("pm", 0.7, 2.1), _valid_remainder),
    (
        "floor_divide",
        "np.floor_divide",
        lambda xp: xp.floor_divide,
        (-2, 2),
        (0.7, 1.9),
        _valid_remainder,
    ),
    ("copysign", "np.copysign", lambda xp: xp.copysign, ("pm", 0.1, 2), ("pm", 0.1, 2), None),
    ("heaviside", "np.heaviside", lambda xp: xp.heaviside, ("pm", 0.1, 2), (0, 1), None),
    ("op+", "operator +", lambda xp: operator.add, (-2, 2), (-2, 2), None),
    ("op-", "operator -", lambda xp: operator.sub, (-2, 2), (-2, 2), None),
    ("op*", "operator *", lambda xp: operator.mul, (-2, 2), (-2, 2), None),
    ("op/", "operator /", lambda xp: operator.truediv, (-2, 2), ("pm", 0.5, 2), None),
    ("op**", "operator **", lambda xp: operator.pow, (0.7, 2), (-2, 2), None),
    ("op%", "operator %", lambda xp: operator.mod, (-2, 2), ("pm", 0.3, 2), _valid_remainder),
    ("op//", "operator //", lambda xp: operator.floordiv, (-2, 2), (0.7, 1.9), _valid_remainder),
)

# Shape pairings, as in autograd's binary-op tests: scalar (Python float) with vector,
# matrix with row, column with row (an outer broadcast). Same-shape operands are the
# weighted case. Aliases (np.true_divide is np.divide) and Python's operators get the
# outer broadcast only: they reach the same ufunc.
PAIRS: tuple[tuple[str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("s,v", (), (4,)),
    ("m,r", (3, 4), (1, 4)),
    ("c,r", (3, 1), (1, 4)),
)
ALIASES = frozenset({"true_divide", "mod"})


def _binary_inputs(tag: str, row: tuple, sa: tuple[int, ...], sb: tuple[int, ...]) -> tuple:
    """Operands drawn until ``row``'s validity test passes (e.g. a / b away from integers)."""
    _, _, _, spec_a, spec_b, valid = row
    rng = _rng(tag)
    for _ in range(10_000):
        a, b = draw(rng, spec_a, sa), draw(rng, spec_b, sb)
        if valid is None or valid(*np.broadcast_arrays(a, b)):
            return a, b
    raise RuntimeError(f"{tag}: no valid operands found")


def _binary(op_of: Callable[[Any], Fn]) -> Fn:
    def fn(xp: Any, a: Any, b: Any) -> Any:
        return op_of(xp)(a, b)

    return fn


def binary_ufuncs(cat: Catalog) -> None:
    for row in BINARY:
        label, funcs, op_of = row[0], row[1], row[2]
        fn = _binary(op_of)
        short = label in ALIASES or label.startswith("op")
        for pair, sa, sb in PAIRS[-1:] if short else PAIRS:
            name = f"binary/{label}/{pair}"
            cat.add(name, funcs, fn, _binary_inputs(name, row, sa, sb), argnums=(0, 1))
        name = f"binary/{label}/weighted"
        args = _binary_inputs(name, row, (2, 3), (2, 3))
        cat.add_weighted(name, funcs, fn, args, argnums=(0, 1), hessian=True)


def powers_at_zero(cat: Catalog) -> None:
    """Zero exponents and zero bases: where a careless power rule gives 0 * inf = NaN."""
    with_zero = np.array([0.0, 1.5, -2.0])
    positive = np.array([0.5, 1.5, 2.5])
    rows: tuple[tuple[str, Fn, tuple[Any, ...], Sequence[int]], ...] = (
        ("x**0", lambda xp, x: x**0, (with_zero,), (0,)),
        ("x**0.0", lambda xp, x: x**0.0, (with_zero,), (0,)),
        ("power(x,0)", lambda xp, x: xp.power(x, 0), (with_zero,), (0,)),
        ("power(x,1)", lambda xp, x: xp.power(x, 1), (with_zero,), (0,)),
        ("power(x,2)", lambda xp, x: xp.power(x, 2), (with_zero,), (0,)),
        ("x**2.0", lambda xp, x: x**2.0, (with_zero,), (0,)),
        ("x**3", lambda xp, x: x**3, (with_zero,), (0,)),
        ("0.0**y", lambda xp, y: 0.0**y, (positive,), (0,)),
        ("power(0,y)", lambda xp, y: xp.power(0.0, y), (positive,), (0,)),
        (
            "power(x,y)",
            lambda xp, x, y: xp.power(x, y),
            (np.array([0.0, 1.5, 2.0]), np.array([2.0, 1.5, 2.5])),
            (0, 1),
        ),
        ("1**y", lambda xp, y: 1.0**y, (positive,), (0,)),
        ("square(0)", lambda xp, x: xp.square(x), (with_zero,), (0,)),
        ("float_power(x,2)", lambda xp, x: xp.float_power(x, 2.0), (with_zero,), (0,)),
        ("sqrt(x**2+1)", lambda xp, x: xp.sqrt(x**2 + 1.0), (with_zero,), (0,)),
    )
    for label, fn, args, argnums in rows:
        cat.add(f"power0/{label}", "np.power", fn, args, argnums=argnums)
    hess_rows = (
        ("x**0", lambda xp, x: xp.sum(x**0 * x)),
        ("x**2", lambda xp, x: xp.sum(x**2)),
        ("x**3", lambda xp, x: xp.sum(x**3)),
        ("power(x,2)", lambda xp, x: xp.sum(xp.power(x, 2))),
        ("x**1", lambda xp, x: xp.sum(x**1 * x)),
    )
    for label, fn in hess_rows:
        cat.add(f"power0/{label}/sum", "np.power", fn, (with_zero,), hessian=True)


def ties_and_kinks(cat: Catalog) -> None:
    """Points exactly on a tie or kink: any valid subgradient passes (``kink=True``)."""
    x = np.array([0.5, -1.0, 2.0])
    tied_y = np.array([0.5, 0.3, 2.0])  # equal to x in two entries
    with_zero = np.array([0.0, -1.2, 0.7, 0.0])
    rows: tuple[tuple[str, str, Fn, tuple[Any, ...], Sequence[int]], ...] = (
        ("maximum(x,x)", "np.maximum", lambda xp, x: xp.maximum(x, x), (x,), (0,)),
        ("minimum(x,x)", "np.minimum", lambda xp, x: xp.minimum(x, x), (x,), (0,)),
        ("fmax(x,x)", "np.fmax", lambda xp, x: xp.fmax(x, x), (x,), (0,)),
        ("fmin(x,x)", "np.fmin", lambda xp, x: xp.fmin(x, x), (x,), (0,)),
        ("maximum(x,x)/float", "np.maximum", lambda xp, x: xp.maximum(x, x), (1.3,), (0,)),
        ("maximum(x,y)", "np.maximum", lambda xp, x, y: xp.maximum(x, y), (x, tied_y), (0, 1)),
        ("minimum(x,y)", "np.minimum", lambda xp, x, y: xp.minimum(x, y), (x, tied_y), (0, 1)),
        ("relu-at-0", "np.maximum", lambda xp, x: xp.maximum(x, 0.0), (with_zero,), (0,)),
        ("abs-at-0", "np.abs", lambda xp, x: xp.abs(x), (with_zero,), (0,)),
        ("clip-at-bounds", "np.clip", lambda xp, x: xp.clip(x, 0.0, 0.7), (with_zero,), (0,)),
        ("where-at-0", "np.where", lambda xp, x: xp.where(x > 0, x, 0.0), (with_zero,), (0,)),
        ("max-ties", "np.max", lambda xp, x: xp.max(x), (np.array([3.0, 1.0, 3.0]),), (0,)),
        ("min-ties", "np.min", lambda xp, x: xp.min(x), (np.array([1.0, 3.0, 1.0, 2.0]),), (0,)),
        (
            "max-ties-axis1",
            "np.max",
            lambda xp, x: xp.max(x, axis=1),
            (np.array([[1.0, 2.0, 2.0], [0.5, 0.5, -1.0]]),),
            (0,),
        ),
        (
            "amax-ties-axis0-keepdims",
            "np.amax",
            lambda xp, x: xp.amax(x, axis=0, keepdims=True),
            (np.array([[1.0, 2.0, 0.0], [1.0, -2.0, 0.0]]),),
            (0,),
        ),
        (
            "min-3way",
            "np.min",
            lambda xp, x: xp.min(x, axis=0),
            (np.array([[1.0, 1.0, 1.0], [1.0, 0.5, 0.5], [0.5, 0.5, 0.5], [1.0, 1.0, 0.5]]),),
            (0,),
        ),
        ("sort-ties", "np.sort", lambda xp, x: xp.sort(x), (np.array([1.0, 3.0, 1.0, 2.0]),), (0,)),
        (
            "norm-inf-ties",
            "np.linalg.norm",
            lambda xp, x: xp.linalg.norm(x, ord=np.inf),
            (np.array([2.0, -2.0, 1.0]),),
            (0,),
        ),
        (
            "max-array-x-x",
            ("np.max", "np.array"),
            lambda xp, x: xp.max(xp.array([x, x])),
            (1.0,),
            (0,),
        ),
        (
            "max-2d-array-x",
            ("np.max", "np.array"),
            lambda xp, x: xp.max(xp.array([[x, x], [x, 0.5]]), axis=1),
            (1.0,),
            (0,),
        ),
        (
            "min-3way-array-x",
            ("np.min", "np.array"),
            lambda xp, x: xp.min(
                xp.array([[x, x, x], [x, 0.5, 0.5], [0.5, 0.5, 0.5], [x, x, 0.5]]), axis=0
            ),
            (-1.0,),
            (0,),
        ),
        (
            "maximum-broadcast-x",
            ("np.maximum", "np.array"),
            lambda xp, x: xp.maximum(xp.array([x, x, 0.5]), xp.array([[x, 0.5, x], [x, x, 0.5]])),
            (1.0,),
            (0,),
        ),
        (
            "sum-maximum-ties",
            ("np.sum", "np.maximum"),
            lambda xp, x, y: xp.sum(xp.maximum(x, y) * xp.array([1.0, 2.0, 3.0])),
            (x, tied_y),
            (0, 1),
        ),
    )
    for label, funcs, fn, args, argnums in rows:
        cat.add(f"kink/{label}", funcs, fn, args, argnums=argnums, kink=True)


# ---------------------------------------------------------------------------- reductions

# (shape, axis, keepdims options)
REDUCTION_GRID: tuple[tuple[tuple[int, ...], Any, tuple[bool, ...]], ...] = (
    ((5,), None, (False, True)),
    ((3, 4), None, (False, True)),
    ((3, 4), 0, (False,)),
    ((3, 4), 1, (False, True)),
    ((3, 4), -1, (False,)),
    ((2, 3, 4), None, (False,)),
    ((2, 3, 4), (0, 2), (False, True)),
    ((2, 3, 4), (1, 2), (False,)),
)


def _axis_label(axis: Any) -> str:
    if axis is None:
        return "all"
    if isinstance(axis, tuple):
        return "ax" + "".join(str(a) for a in axis)
    return f"ax{axis}"


def reductions(cat: Catalog) -> None:
    """sum/mean/prod/max/min over the axis/keepdims grid; cheaper grids for the rest."""
    full = {"sum": (-2, 2), "mean": (-2, 2), "prod": (0.5, 1.5), "max": (-2, 2), "min": (-2, 2)}
    for name, (lo, hi) in full.items():
        for shape, axis, keepdims_options in REDUCTION_GRID:
            for keepdims in keepdims_options:
                label = f"reduce/{name}/{'x'.join(map(str, shape))}/{_axis_label(axis)}"
                label += "/keepdims" if keepdims else ""
                fn = call(name, axis=axis, keepdims=keepdims)
                cat.add(label, f"np.{name}", fn, (uniform(label, lo, hi, *shape),))
        cat.add(
            f"reduce/{name}/hess",
            f"np.{name}",
            call(name),
            (uniform(name, lo, hi, 4),),
            hessian=True,
        )
    light = {
        "amax": (-2, 2),
        "amin": (-2, 2),
        "nansum": (-2, 2),
        "nanmean": (-2, 2),
        "nanmax": (-2, 2),
        "nanmin": (-2, 2),
        "nanprod": (0.5, 1.5),
        "ptp": (-2, 2),
        "median": (-2, 2),
        "cumulative_sum": (-2, 2),
    }
    for name, (lo, hi) in light.items():
        for axis in (0, 1) if name == "cumulative_sum" else (None, 1):  # it needs an axis
            label = f"reduce/{name}/3x4/{_axis_label(axis)}"
            cat.add(label, f"np.{name}", call(name, axis=axis), (uniform(label, lo, hi, 3, 4),))
    _statistics(cat)
    _zero_products(cat)
    _running(cat)


def _statistics(cat: Catalog) -> None:
    """var and std with ddof, axis and keepdims (autograd's grid), average with weights."""
    arrays = {"3": randn("stat3", 3), "3x4": randn("stat34", 3, 4), "1x3": randn("stat13", 1, 3)}
    for name in ("var", "std"):
        for shape_label, x in arrays.items():
            for ddof in (0, 1):
                for keepdims in (False, True):
                    label = f"stat/{name}/{shape_label}/ddof{ddof}" + ("/keepdims" * keepdims)
                    fn = call(name, ddof=ddof, keepdims=keepdims)
                    cat.add(label, f"np.{name}", fn, (x,))
        cat.add(
            f"stat/{name}/hess",
            f"np.{name}",
            call(name, ddof=1),
            (randn("sh" + name, 4),),
            hessian=True,
        )
        cat.add(
            f"stat/nan{name}/ddof1", f"np.nan{name}", call("nan" + name, ddof=1), (arrays["3x4"],)
        )
        for axis in (0, 1):
            for keepdims in (False, True):
                label = f"stat/{name}/3x4/ax{axis}/ddof2" + ("/keepdims" * keepdims)
                cat.add(
                    label,
                    f"np.{name}",
                    call(name, axis=axis, ddof=2, keepdims=keepdims),
                    (arrays["3x4"],),
                )
    x = randn("avg", 3, 4)
    w4, w3 = uniform("avgw4", 0.5, 2, 4), uniform("avgw3", 0.5, 2, 3)
    cat.add("stat/average/plain", "np.average", call("average"), (x,))
    cat.add("stat/average/ax0", "np.average", call("average", axis=0), (x,))
    cat.add(
        "stat/average/ax1-weights",
        "np.average",
        lambda xp, x, w: xp.average(x, axis=1, weights=w),
        (x, w4),
        argnums=(0, 1),
    )
    cat.add(
        "stat/average/ax0-weights",
        "np.average",
        lambda xp, x, w: xp.average(x, axis=0, weights=w),
        (x, w3),
        argnums=(0, 1),
    )
    cat.add(
        "stat/average/full-weights",
        "np.average",
        lambda xp, x, w: xp.average(x, weights=w),
        (x, uniform("avgw", 0.5, 2, 3, 4)),
        argnums=(0, 1),
        hessian=True,
    )
    cat.add("stat/mean/axis-tuple", "np.mean", call("mean", axis=(0, 1)), (randn("m01", 2, 3, 2),))
    cat.add("stat/quantile", "np.quantile", call("quantile", 0.3), (randn("q", 7),))
    cat.add(
        "stat/percentile-ax0",
        "np.percentile",
        call("percentile", 40.0, axis=0),
        (randn("pct", 5, 3),),
    )
    cat.add("stat/cov", "np.cov", call("cov"), (randn("cov", 3, 5),))
    cat.add("stat/corrcoef", "np.corrcoef", call("corrcoef"), (randn("corr", 3, 5),))


def _zero_products(cat: Catalog) -> None:
    """prod with zero factors: the gradient is not prod / x (autograd's warning)."""
    one_zero = np.array([0.0, 2.0, 3.0])
    two_zeros = np.array([0.0, 0.0, 3.0])
    cat.add("prod0/one-zero", "np.prod", call("prod"), (one_zero,), hessian=True)
    cat.add("prod0/two-zeros", "np.prod", call("prod"), (two_zeros,), hessian=True)
    cat.add(
        "prod0/matrix-ax0",
        "np.prod",
        call("prod", axis=0),
        (np.array([[0.0, 2.0, 1.5], [3.0, 0.0, -1.0]]),),
    )
    cat.add(
        "prod0/matrix-ax1-keepdims",
        "np.prod",
        call("prod", axis=1, keepdims=True),
        (np.array([[0.0, 2.0, 1.5], [3.0, 0.5, -1.0]]),),
    )
    cat.add("prod0/cumprod", "np.cumprod", call("cumprod"), (np.array([2.0, 0.0, 3.0, 1.5]),))
    cat.add("prod0/method", "ndarray.prod", lambda xp, x: x.prod(), (one_zero,), hessian=True)


def _running(cat: Catalog) -> None:
    """cumsum, cumprod, diff, trace, ediff1d with their axis and offset options."""
    m = randn("run", 3, 4)
    for axis in (None, 0, 1):
        cat.add(f"running/cumsum/{_axis_label(axis)}", "np.cumsum", call("cumsum", axis=axis), (m,))
        cat.add(
            f"running/cumprod/{_axis_label(axis)}",
            "np.cumprod",
            call("cumprod", axis=axis),
            (uniform("cp", 0.5, 1.5, 3, 4),),
        )
    cat.add("running/cumsum/1d", "np.cumsum", call("cumsum"), (randn("cs1", 6),))
    for n in (1, 2):
        for axis in (0, -1):
            cat.add(f"running/diff/n{n}/ax{axis}", "np.diff", call("diff", n=n, axis=axis), (m,))
    cat.add("running/diff/prepend", "np.diff", call("diff", prepend=0.0), (randn("dp", 5),))
    cat.add(
        "running/diff/1d-hess",
        "np.diff",
        lambda xp, x: xp.sum(xp.diff(x) ** 2),
        (randn("dh", 5),),
        hessian=True,
    )
    cat.add("running/ediff1d", "np.ediff1d", call("ediff1d"), (randn("ed", 5),))
    for shape in ((4, 4), (3, 5), (5, 3)):
        for offset in (-1, 0, 1):
            label = f"running/trace/{shape[0]}x{shape[1]}/off{offset}"
            cat.add(label, "np.trace", call("trace", offset=offset), (randn(label, *shape),))
    cat.add("running/trace/3d", "np.trace", call("trace"), (randn("tr3", 3, 3, 2),))
    cat.add(
        "running/trace/axes", "np.trace", call("trace", axis1=1, axis2=2), (randn("tra", 2, 3, 3),)
    )
    cat.add("running/trapezoid", "np.trapezoid", call("trapezoid"), (randn("trap", 5),))
    cat.add(
        "running/trapezoid-dx",
        "np.trapezoid",
        call("trapezoid", dx=0.5, axis=0),
        (randn("trapdx", 4, 2),),
    )


# ---------------------------------------------------------------------------- products


def products(cat: Catalog) -> None:
    _dots(cat)
    _matmuls(cat)
    _einsums(cat)
    _tensordots(cat)
    _small_products(cat)


DOT_SHAPES: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = (
    ((), ()),
    ((), (3,)),
    ((3,), ()),
    ((), (2, 3)),
    ((2, 3), ()),
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((2, 2, 3), (3,)),
    ((2, 2, 3), (3, 2)),
    ((3,), (2, 3, 2)),
)


def _shape_label(shape: tuple[int, ...]) -> str:
    return "s" if shape == () else "x".join(map(str, shape))


def _dots(cat: Catalog) -> None:
    for sa, sb in DOT_SHAPES:
        name = f"dot/{_shape_label(sa)},{_shape_label(sb)}"
        cat.add(
            name,
            "np.dot",
            calln("dot"),
            (randn(name + "a", *sa), randn(name + "b", *sb)),
            argnums=(0, 1),
        )
    cat.add(
        "dot/method",
        "ndarray.dot",
        lambda xp, a, b: a.dot(b),
        (randn("dm1", 2, 3), randn("dm2", 3)),
        argnums=(0, 1),
    )
    cat.add(
        "dot/slices", "np.dot", lambda xp, x: xp.dot(x[:2], x[2:]), (randn("dsl", 4),), hessian=True
    )
    cat.add(
        "dot/quadratic",
        "np.dot",
        lambda xp, x, a: xp.dot(x, xp.dot(a, x)),
        (randn("quad", 3), randn("quadA", 3, 3)),
        hessian=True,
    )


MATMUL_SHAPES: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...] = (
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3, 2)),
    ((2, 2, 3), (3, 2)),
    ((2, 2, 3), (2, 3, 2)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((3,), (2, 3, 2)),
    ((2, 2, 3), (3,)),
)


def _matmuls(cat: Catalog) -> None:
    for sa, sb in MATMUL_SHAPES:
        name = f"matmul/{_shape_label(sa)},{_shape_label(sb)}"
        args = (randn(name + "a", *sa), randn(name + "b", *sb))
        cat.add(name, "np.matmul", calln("matmul"), args, argnums=(0, 1))
        if len(sa) + len(sb) in (2, 3, 5):  # vec @ vec, mat @ vec, stack @ mat
            cat.add(
                name.replace("matmul", "matmul-op"),
                "operator @",
                lambda xp, a, b: a @ b,
                args,
                argnums=(0, 1),
            )
    cat.add(
        "matmul/gram-hess",
        "np.matmul",
        lambda xp, x: xp.sum((x @ x.T) ** 2),
        (randn("gram", 2, 3),),
        hessian=True,
    )


# (label, subscripts, operand shapes): autograd's einsum grid and more.
EINSUMS: tuple[tuple[str, str, tuple[tuple[int, ...], ...]], ...] = (
    ("transpose", "ij->ji", ((3, 4),)),
    ("transpose-1x1", "ij->ji", ((1, 1),)),
    ("sum-all", "ij->", ((3, 4),)),
    ("sum-axis", "ij->i", ((3, 4),)),
    ("diag", "ii->i", ((3, 3),)),
    ("trace", "ii", ((3, 3),)),
    ("implicit-transpose", "ji", ((2, 3),)),
    ("matmul", "ij,jk->ik", ((2, 3), (3, 4))),
    ("matmul-implicit", "ij,jk", ((2, 3), (3, 4))),
    ("matvec", "ij,j->i", ((2, 3), (3,))),
    ("inner", "i,i->", ((4,), (4,))),
    ("inner-implicit", "i,i", ((4,), (4,))),
    ("outer", "i,j->ij", ((3,), (2,))),
    ("hadamard-sum", "ij,ij->i", ((2, 3), (2, 3))),
    ("batch-matmul", "bij,bjk->bik", ((2, 2, 3), (2, 3, 2))),
    ("covsum", "ijk,lji->lki", ((3, 2, 2), (2, 2, 3))),
    ("ellipsis-matmul", "...jk,...lj->...lk", ((2, 3, 3), (2, 3, 3))),
    ("ellipsis-elementwise", "...,...->...", ((2, 3), (2, 3))),
    ("ellipsis-left", "i...->...", ((3, 2, 2),)),
    ("ellipsis-broadcast", "...i,i->...", ((2, 3, 4), (4,))),
    ("three-operands", "ijk,lji,lli->lki", ((3, 2, 2), (2, 2, 3), (2, 2, 3))),
    ("three-chain", "ij,jk,kl->il", ((2, 3), (3, 2), (2, 2))),
    ("bilinear", "i,ij,j->", ((3,), (3, 4), (4,))),
    ("repeated-operand-index", "ij,ij,ij->", ((2, 3), (2, 3), (2, 3))),
)


def _einsums(cat: Catalog) -> None:
    for label, subscripts, shapes in EINSUMS:
        name = f"einsum/{label}"
        operands = tuple(randn(f"{name}{k}", *s) for k, s in enumerate(shapes))

        def fn(xp: Any, *ops: Any, _s: str = subscripts) -> Any:
            return xp.einsum(_s, *ops)

        cat.add(name, "np.einsum", fn, operands, argnums=tuple(range(len(shapes))))
    cat.add(
        "einsum/same-operand-twice",
        "np.einsum",
        lambda xp, x: xp.einsum("i,i->", x, x),
        (randn("einsq", 4),),
        hessian=True,
    )
    cat.add(
        "einsum/optimize",
        "np.einsum",
        lambda xp, a, b, c: xp.einsum("ij,jk,kl->il", a, b, c, optimize=True),
        (randn("eo1", 2, 3), randn("eo2", 3, 4), randn("eo3", 4, 2)),
        argnums=(0, 1, 2),
    )


TENSORDOTS: tuple[tuple[tuple[int, ...], tuple[int, ...], Any], ...] = (
    ((1, 3), (3,), ((1,), (0,))),
    ((2, 3, 2), (3, 4, 2), ((1,), (0,))),
    ((3,), (1, 3), ((0,), (1,))),
    ((2, 3), (1, 2, 3), ((0, 1), (1, 2))),
    ((2, 3), (1, 2, 3), ((1, 0), (2, 1))),
    ((2, 2), (2, 2), 1),
    ((2, 2), (2, 2), 2),
    ((3, 2, 2), (2, 2, 3), 2),
    ((2, 3), (4,), 0),
)


def _tensordots(cat: Catalog) -> None:
    for k, (sa, sb, axes) in enumerate(TENSORDOTS):
        name = f"tensordot/{k}:{_shape_label(sa)},{_shape_label(sb)},axes={axes}".replace(" ", "")
        cat.add(
            name,
            "np.tensordot",
            calln("tensordot", axes=axes),
            (randn(name + "a", *sa), randn(name + "b", *sb)),
            argnums=(0, 1),
        )
    cat.add(
        "tensordot/positional-axes",
        "np.tensordot",
        lambda xp, x: xp.tensordot(x * xp.ones((2, 2)), x * xp.ones((2, 2)), 2),
        (1.5,),
    )


def _small_products(cat: Catalog) -> None:
    """inner, outer, vdot, kron, cross on the shape combinations each accepts."""
    rows: tuple[tuple[str, tuple[tuple[int, ...], ...], dict[str, Any]], ...] = (
        ("inner", ((3,), (3,)), {}),
        ("inner", ((2, 3), (3,)), {}),
        ("inner", ((2, 3), (4, 3)), {}),
        ("outer", ((3,), (4,)), {}),
        ("outer", ((2, 2), (3,)), {}),
        ("vdot", ((4,), (4,)), {}),
        ("vdot", ((2, 3), (2, 3)), {}),
        ("kron", ((2,), (3,)), {}),
        ("kron", ((2, 2), (2, 3)), {}),
        ("kron", ((2, 2), (3,)), {}),
        ("cross", ((3,), (3,)), {}),
        ("cross", ((4, 3), (4, 3)), {}),
        ("cross", ((4, 3), (3,)), {}),
        ("cross", ((3, 4), (3, 4)), {"axis": 0}),
        ("convolve", ((4,), (3,)), {}),
        ("convolve", ((5,), (3,)), {"mode": "same"}),
        ("convolve", ((5,), (3,)), {"mode": "valid"}),
        ("correlate", ((5,), (3,)), {"mode": "valid"}),
    )
    for func, shapes, kwargs in rows:
        opts = ",".join(f"{k}={v}" for k, v in kwargs.items())
        name = f"product/{func}/" + ",".join(map(_shape_label, shapes)) + (f"/{opts}" * bool(opts))
        operands = tuple(randn(f"{name}{k}", *s) for k, s in enumerate(shapes))
        cat.add(name, f"np.{func}", calln(func, **kwargs), operands, argnums=(0, 1))


# ---------------------------------------------------------------------------- shapes


def _shape_rows() -> tuple[tuple[str, str, Fn, tuple[int, ...]], ...]:
    """(label, function, fn of x, shape of x): one structural op per row, Jacobian checked."""
    return (
        ("reshape/-1", "np.reshape", call("reshape", (-1,)), (2, 3)),
        ("reshape/4,-1", "np.reshape", call("reshape", (4, -1)), (2, 3, 2)),
        ("reshape/order-F", "np.reshape", call("reshape", (3, 2), order="F"), (2, 3)),
        ("reshape/method-tuple", "ndarray.reshape", lambda xp, x: x.reshape((3, 4)), (2, 6)),
        ("reshape/method-args", "ndarray.reshape", lambda xp, x: x.reshape(3, 4), (2, 6)),
        ("ravel", "np.ravel", call("ravel"), (2, 3)),
        ("ravel/order-F", "np.ravel", call("ravel", order="F"), (2, 3)),
        ("squeeze", "np.squeeze", call("squeeze"), (3, 1, 2)),
        ("squeeze/axis", "np.squeeze", call("squeeze", axis=1), (3, 1, 1)),
        ("expand_dims/0", "np.expand_dims", call("expand_dims", 0), (3,)),
        ("expand_dims/2", "np.expand_dims", call("expand_dims", 2), (3, 1, 2)),
        ("expand_dims/tuple", "np.expand_dims", call("expand_dims", (0, 2)), (3, 2)),
        ("transpose/none", "np.transpose", call("transpose"), (2, 3, 2)),
        ("transpose/021", "np.transpose", call("transpose", (0, 2, 1)), (2, 3, 2)),
        ("transpose/201", "np.transpose", call("transpose", (2, 0, 1)), (2, 3, 2)),
        ("transpose/120", "np.transpose", call("transpose", (1, 2, 0)), (2, 3, 2)),
        ("transpose/210", "np.transpose", call("transpose", (2, 1, 0)), (2, 3, 2)),
        ("transpose/102", "np.transpose", call("transpose", (1, 0, 2)), (2, 3, 2)),
        ("swapaxes/0,2", "np.swapaxes", call("swapaxes", 0, 2), (2, 3, 2)),
        ("swapaxes/-1,-2", "np.swapaxes", call("swapaxes", -1, -2), (2, 3, 2)),
        ("moveaxis/0,-1", "np.moveaxis", call("moveaxis", 0, -1), (2, 3, 2)),
        ("moveaxis/lists", "np.moveaxis", call("moveaxis", [0, 1], [2, 0]), (2, 3, 2)),
        ("rollaxis/2", "np.rollaxis", call("rollaxis", 2), (2, 3, 2)),
        ("rollaxis/2,1", "np.rollaxis", call("rollaxis", 2, 1), (2, 3, 2)),
        ("flip/none", "np.flip", call("flip"), (2, 3)),
        ("flip/0", "np.flip", call("flip", 0), (2, 3)),
        ("flip/1", "np.flip", call("flip", axis=1), (2, 3)),
        ("flip/tuple", "np.flip", call("flip", axis=(0, 2)), (2, 3, 2)),
        ("fliplr", "np.fliplr", call("fliplr"), (3, 4)),
        ("flipud", "np.flipud", call("flipud"), (3, 4)),
        ("rot90/k1", "np.rot90", call("rot90"), (3, 4)),
        ("rot90/k2", "np.rot90", call("rot90", 2), (3, 4)),
        ("rot90/k3", "np.rot90", call("rot90", 3), (3, 4)),
        ("rot90/k-1", "np.rot90", call("rot90", -1), (3, 4)),
        ("rot90/axes12", "np.rot90", call("rot90", 1, (1, 2)), (2, 3, 2)),
        ("roll/2-ax1", "np.roll", call("roll", 2, axis=1), (3, 4)),
        ("roll/-1-flat", "np.roll", call("roll", -1), (3, 4)),
        ("roll/tuple", "np.roll", call("roll", (1, -2), axis=(0, 1)), (3, 4)),
        ("diagonal", "np.diagonal", call("diagonal"), (3, 3)),
        ("diagonal/off1", "np.diagonal", call("diagonal", 1), (3, 4)),
        ("diagonal/off-1", "np.diagonal", call("diagonal", -1), (4, 3)),
        ("diagonal/axes12", "np.diagonal", call("diagonal", axis1=1, axis2=2), (2, 3, 3)),
        ("diagonal/axes-1-2", "np.diagonal", call("diagonal", axis1=-1, axis2=-2), (2, 3, 3)),
        ("diag/from-vector", "np.diag", call("diag"), (3,)),
        ("diag/from-vector-k1", "np.diag", call("diag", 1), (3,)),
        ("diag/from-vector-k-1", "np.diag", call("diag", -1), (3,)),
        ("diag/from-matrix", "np.diag", call("diag"), (3, 3)),
        ("diag/from-matrix-k1", "np.diag", call("diag", 1), (3, 4)),
        ("tril", "np.tril", call("tril"), (3, 3)),
        ("tril/k-1", "np.tril", call("tril", -1), (3, 4)),
        ("tril/k2", "np.tril", call("tril", k=2), (4, 4)),
        ("tril/stack", "np.tril", call("tril"), (2, 3, 3)),
        ("triu", "np.triu", call("triu"), (3, 3)),
        ("triu/k-1", "np.triu", call("triu", -1), (4, 3)),
        ("triu/k2", "np.triu", call("triu", k=2), (4, 4)),
        ("repeat/2-ax1", "np.repeat", call("repeat", 2, axis=1), (2, 3, 2)),
        ("repeat/1-ax1", "np.repeat", call("repeat", 1, axis=1), (2, 3, 2)),
        ("repeat/2-ax0", "np.repeat", call("repeat", 2, axis=0), (3, 2)),
        ("repeat/flat", "np.repeat", call("repeat", 2), (2, 2)),
        ("repeat/1d", "np.repeat", call("repeat", 3, axis=0), (3,)),
        ("repeat/array", "np.repeat", call("repeat", np.array([1, 2, 0]), axis=0), (3, 2)),
        ("tile/2", "np.tile", call("tile", 2), (3,)),
        ("tile/2,1", "np.tile", call("tile", (2, 1)), (2, 3)),
        ("tile/1,2,2", "np.tile", call("tile", (1, 2, 2)), (2, 2)),
        ("pad/constant-1", "np.pad", call("pad", 1), (2, 3)),
        ("pad/constant-tuple", "np.pad", call("pad", ((1, 0), (0, 2))), (2, 3)),
        ("pad/constant-values", "np.pad", call("pad", 2, constant_values=1.5), (3,)),
        ("pad/edge", "np.pad", call("pad", (1, 2), mode="edge"), (2, 3)),
        ("pad/reflect", "np.pad", call("pad", 2, mode="reflect"), (4,)),
        ("pad/reflect-2d", "np.pad", call("pad", 1, mode="reflect"), (3, 3)),
        ("pad/symmetric", "np.pad", call("pad", 2, mode="symmetric"), (4,)),
        ("pad/wrap", "np.pad", call("pad", ((1, 1), (2, 0)), mode="wrap"), (2, 3)),
        ("pad/mean", "np.pad", call("pad", 1, mode="mean"), (4,)),
        ("pad/linear_ramp", "np.pad", call("pad", 2, mode="linear_ramp"), (3,)),
        ("sort/1d", "np.sort", call("sort"), (6,)),
        ("sort/ax-1", "np.sort", call("sort"), (3, 4)),
        ("sort/ax0", "np.sort", call("sort", axis=0), (3, 4)),
        ("sort/none", "np.sort", call("sort", axis=None), (3, 4)),
        ("atleast_1d/vec", "np.atleast_1d", call("atleast_1d"), (3,)),
        ("atleast_1d/mat", "np.atleast_1d", call("atleast_1d"), (2, 3)),
        ("atleast_2d/vec", "np.atleast_2d", call("atleast_2d"), (3,)),
        ("atleast_2d/row", "np.atleast_2d", call("atleast_2d"), (1, 4)),
        ("atleast_2d/3d", "np.atleast_2d", call("atleast_2d"), (2, 2, 2)),
        ("atleast_3d/vec", "np.atleast_3d", call("atleast_3d"), (3,)),
        ("atleast_3d/mat", "np.atleast_3d", call("atleast_3d"), (2, 3)),
        ("atleast_3d/4d", "np.atleast_3d", call("atleast_3d"), (2, 1, 2, 2)),
        ("broadcast_to/vec", "np.broadcast_to", call("broadcast_to", (2, 3)), (3,)),
        ("broadcast_to/col", "np.broadcast_to", call("broadcast_to", (3, 4)), (3, 1)),
        ("take/vec", "np.take", call("take", np.array([0, 2, 2])), (4,)),
        ("take/ax1", "np.take", call("take", np.array([2, 0]), axis=1), (2, 3)),
        ("take/flat", "np.take", call("take", np.array([5, 0, 3])), (2, 3)),
        ("take/2d-indices", "np.take", call("take", np.array([[0, 1], [1, 1]]), axis=0), (2, 3)),
        ("split/piece1", "np.split", lambda xp, x: xp.split(x, 2)[1], (6,)),
        ("split/indices", "np.split", lambda xp, x: xp.split(x, [1, 3])[1], (5,)),
        ("split/ax1", "np.split", lambda xp, x: xp.split(x, 2, axis=1)[0], (2, 4)),
        ("array_split/uneven", "np.array_split", lambda xp, x: xp.array_split(x, 3)[0], (7,)),
        ("array_split/last", "np.array_split", lambda xp, x: xp.array_split(x, 3)[2], (7,)),
        ("select", "np.select", lambda xp, x: xp.select([x > 0, x < 0], [x**2, -x], 0.0), (5,)),
        ("nan_to_num", "np.nan_to_num", call("nan_to_num"), (4,)),
    )


def shapes(cat: Catalog) -> None:
    for label, funcs, fn, shape in _shape_rows():
        cat.add(f"shape/{label}", funcs, fn, (randn(f"shape/{label}", *shape),))
    for func in ("atleast_1d", "atleast_2d", "atleast_3d"):
        cat.add(f"shape/{func}/float", f"np.{func}", call(func), (1.2,))
    cat.add("shape/broadcast_to/float", "np.broadcast_to", call("broadcast_to", (2, 2)), (0.7,))
    cat.add(
        "shape/sort/hess",
        "np.sort",
        lambda xp, x: xp.sum(xp.sort(x) * xp.arange(4.0)) ** 2,
        (randn("sorth", 4),),
        hessian=True,
    )
    _joins(cat)
    _selections(cat)
    _where_and_clip(cat)


def _joins(cat: Catalog) -> None:
    """concatenate/stack and friends with traced and constant parts, every operand traced."""
    a, b = randn("join-a", 2, 3), randn("join-b", 2, 3)
    v, w = randn("join-v", 3), randn("join-w", 3)
    c = randn("join-c", 1, 3)
    rows: tuple[tuple[str, str, Fn, tuple[Any, ...], Sequence[int]], ...] = (
        (
            "concatenate/const-first",
            "np.concatenate",
            lambda xp, x: xp.concatenate((c, x)),
            (a,),
            (0,),
        ),
        (
            "concatenate/sandwich-ax1",
            "np.concatenate",
            lambda xp, x, y: xp.concatenate((y, x, y), axis=1),
            (a, b),
            (0, 1),
        ),
        (
            "concatenate/axis-positional",
            "np.concatenate",
            lambda xp, x, y: xp.concatenate([x, y], 1),
            (a, b),
            (0, 1),
        ),
        (
            "concatenate/axis-none",
            "np.concatenate",
            lambda xp, x, y: xp.concatenate((x, y), axis=None),
            (a, v),
            (0, 1),
        ),
        (
            "concatenate/1d",
            "np.concatenate",
            lambda xp, x, y: xp.concatenate([x, y, x]),
            (v, w),
            (0, 1),
        ),
        ("stack/ax0", "np.stack", lambda xp, x, y: xp.stack([x, y]), (v, w), (0, 1)),
        ("stack/ax1", "np.stack", lambda xp, x, y: xp.stack((x, y), axis=1), (a, b), (0, 1)),
        ("stack/ax-1", "np.stack", lambda xp, x, y: xp.stack([x, y, x], axis=-1), (a, b), (0, 1)),
        ("stack/with-const", "np.stack", lambda xp, x: xp.stack([x, w]), (v,), (0,)),
        ("vstack/1d", "np.vstack", lambda xp, x, y: xp.vstack([x, y]), (v, w), (0, 1)),
        ("vstack/2d", "np.vstack", lambda xp, x, y: xp.vstack((x, y)), (a, c), (0, 1)),
        ("hstack/1d", "np.hstack", lambda xp, x, y: xp.hstack([x, y]), (v, w), (0, 1)),
        ("hstack/2d", "np.hstack", lambda xp, x, y: xp.hstack((x, y)), (a, b), (0, 1)),
        ("dstack/1d", "np.dstack", lambda xp, x, y: xp.dstack([x, y]), (v, w), (0, 1)),
        ("dstack/2d", "np.dstack", lambda xp, x, y: xp.dstack((x, y)), (a, b), (0, 1)),
        (
            "column_stack/1d",
            "np.column_stack",
            lambda xp, x, y: xp.column_stack([x, y]),
            (v, w),
            (0, 1),
        ),
        (
            "column_stack/mixed",
            "np.column_stack",
            lambda xp, x, y: xp.column_stack((x, y)),
            (a.T, v),
            (0, 1),
        ),
        ("append/float", "np.append", lambda xp, x, y: xp.append(x, y), (v, 4.0), (0, 1)),
        ("append/axis0", "np.append", lambda xp, x, y: xp.append(x, y, axis=0), (a, c), (0, 1)),
        ("append/flat", "np.append", lambda xp, x, y: xp.append(x, y), (a, w), (0, 1)),
        ("linspace/5", "np.linspace", lambda xp, s, e: xp.linspace(s, e, 5), (1.2, 3.4), (0, 1)),
        (
            "linspace/reversed",
            "np.linspace",
            lambda xp, s, e: xp.linspace(s, e, 4),
            (1.2, -3.4),
            (0, 1),
        ),
        ("linspace/1", "np.linspace", lambda xp, s, e: xp.linspace(s, e, 1), (1.2, 3.4), (0, 1)),
        (
            "linspace/no-endpoint",
            "np.linspace",
            lambda xp, s, e: xp.linspace(s, e, 4, endpoint=False),
            (0.5, 2.5),
            (0, 1),
        ),
        (
            "linspace/vector-ends",
            "np.linspace",
            lambda xp, s, e: xp.linspace(s, e, 3),
            (v, w),
            (0, 1),
        ),
        (
            "meshgrid",
            "np.meshgrid",
            lambda xp, x, y: xp.meshgrid(x, y)[0] * xp.meshgrid(x, y)[1],
            (v, randn("mesh", 2)),
            (0, 1),
        ),
    )
    for label, funcs, fn, args, argnums in rows:
        cat.add(f"join/{label}", funcs, fn, args, argnums=argnums)
    cat.add(
        "join/stack/hess",
        "np.stack",
        lambda xp, x: xp.sum(xp.stack([x**2, x * x[0]]) ** 2),
        (v,),
        hessian=True,
    )


def _selections(cat: Catalog) -> None:
    """partition, take_along_axis, argsort/argmax-driven indexing (indices from the values)."""
    x7 = randn("part7", 7)
    for kth in (0, 3, 6):
        cat.add(
            f"select/partition/kth{kth}",
            "np.partition",
            lambda xp, x, k=kth: xp.partition(x, k)[k],
            (x7,),
        )
        cat.add(
            f"select/partition/lower-kth{kth}",
            "np.partition",
            lambda xp, x, k=kth: xp.sum(xp.partition(x, k)[: k + 1] ** 2),
            (x7,),
        )
    m = randn("tala", 3, 4)
    idx = np.argsort(m, axis=1)
    cat.add(
        "select/take_along_axis/const-idx",
        "np.take_along_axis",
        lambda xp, x, i: xp.take_along_axis(x, i, axis=1),
        (m, idx),
    )
    cat.add(
        "select/take_along_axis/argsort",
        ("np.take_along_axis", "np.argsort"),
        lambda xp, x: xp.take_along_axis(x, xp.argsort(x, axis=0), axis=0),
        (m,),
    )
    cat.add(
        "select/argmax-index",
        "np.argmax",
        lambda xp, x: x[xp.argmax(x)] * x[0],
        (randn("argmax", 5),),
    )
    cat.add(
        "select/argmin-axis",
        "np.argmin",
        lambda xp, x: xp.take_along_axis(x, xp.argmin(x, axis=1)[:, None], axis=1),
        (m,),
    )
    cat.add(
        "select/triu_indices",
        "np.triu_indices",
        lambda xp, x: x[xp.triu_indices(3)],
        (randn("triui", 3, 3),),
    )
    cat.add(
        "select/ix_", "np.ix_", lambda xp, x: x[xp.ix_(np.array([0, 2]), np.array([1, 3]))], (m,)
    )


def _where_and_clip(cat: Catalog) -> None:
    x, y = randn("where-x", 3, 4), randn("where-y", 3, 4)
    cond = randn("where-c", 3, 4) > 0
    cat.add(
        "where/const-cond",
        "np.where",
        lambda xp, a, b, c: xp.where(c, a, b),
        (x, y, cond),
        argnums=(0, 1),
    )
    cat.add("where/scalar-branch", "np.where", lambda xp, a, c: xp.where(c, a, 0.0), (x, cond))
    cat.add(
        "where/broadcast",
        "np.where",
        lambda xp, a, b: xp.where(cond[0], a, b),
        (randn("wb", 4), y),
        argnums=(0, 1),
    )
    v = away_from_zero("where-v", 6)
    cat.add("where/input-cond", "np.where", lambda xp, a: xp.where(a > 0, a**2, -a), (v,))
    cat.add(
        "where/leaky",
        "np.where",
        lambda xp, a: xp.where(a > 0, a, 0.1 * a),
        (v,),
    )
    cat.add(
        "where/input-cond-hess",
        "np.where",
        lambda xp, a: xp.sum(xp.where(a > 0, a**3, xp.sin(a))),
        (v,),
        hessian=True,
    )
    cat.add(
        "where/safe-log",
        ("np.where", "np.log"),
        lambda xp, a: xp.where(a > 0, xp.log(xp.abs(a)), 0.0),
        (v,),
    )
    c = np.array([-1.3, 0.2, 0.6, 1.4, 0.9, -0.2])  # every entry 0.1 or more from a bound
    cat.add("clip/scalar-bounds", "np.clip", lambda xp, a: xp.clip(a, 0.1, 1.1), (c,))
    cat.add("clip/keywords", "np.clip", lambda xp, a: xp.clip(a, a_min=-0.5, a_max=0.5), (c,))
    cat.add("clip/min-none", "np.clip", lambda xp, a: xp.clip(a, None, 0.5), (c,))
    cat.add("clip/max-none", "np.clip", lambda xp, a: xp.clip(a, 0.0, None), (c,))
    lo, hi = c - 0.3 * np.sign(np.arange(6) - 2.5), c + 0.5
    cat.add(
        "clip/array-bounds",
        "np.clip",
        lambda xp, a, lo, hi: xp.clip(a, lo, hi),
        (c, lo, hi),
        argnums=(0, 1, 2),
    )
    cat.add("clip/method", "ndarray.clip", lambda xp, a: a.clip(0.0, 1.0), (c,))
    cat.add(
        "clip/hess", "np.clip", lambda xp, a: xp.sum(xp.clip(a, -1.0, 1.0) ** 3), (c,), hessian=True
    )


# ---------------------------------------------------------------------------- indexing


def _index_rows() -> tuple[tuple[str, Fn, tuple[int, ...]], ...]:
    """(label, fn of x, shape of x): autograd's indexing tests and the mixed forms."""
    return (
        ("ints", lambda xp, x: x[3, 0, 1], (5, 6, 4)),
        ("negative-int", lambda xp, x: x[-1], (4, 3)),
        ("slices-negative-step", lambda xp, x: x[::-1, 2:4, :], (5, 6, 4)),
        ("slice-step-2", lambda xp, x: x[::2], (7,)),
        ("slice-negative-step-2", lambda xp, x: x[-1:0:-2], (7,)),
        ("slice-2d", lambda xp, x: x[1:, :-1], (3, 4)),
        ("list", lambda xp, x: x[[0, 1, 2], :, :], (5, 3, 2)),
        ("list-repeats", lambda xp, x: x[[0, 1, 0]], (3,)),
        ("list-repeats-sum", lambda xp, x: xp.sum(x[[0, 0]]), (3,)),
        ("mixed-int-slice-list", lambda xp, x: x[3, 2:, [1, 3]], (5, 6, 4)),
        ("mixed-int-list-last", lambda xp, x: x[0, :, [2, 0, 1]], (2, 3, 4)),
        ("mixed-list-slice-list", lambda xp, x: x[[0, 1], :, [1, 0]], (2, 3, 2)),
        ("two-lists", lambda xp, x: x[[0, 2, 1], [1, 1, 0]], (3, 3)),
        ("broadcast-lists", lambda xp, x: x[np.array([[0], [2]]), np.array([1, 3])], (3, 4)),
        ("2d-int-array", lambda xp, x: x[np.array([[0, 1], [1, 2]])], (3,)),
        ("bool-const", lambda xp, x: x[np.array([True, False, True, True])], (4,)),
        ("bool-const-2d", lambda xp, x: x[np.array([[True, False], [False, True]])], (2, 2)),
        ("bool-rows", lambda xp, x: x[np.array([True, False, True])], (3, 2)),
        ("newaxis", lambda xp, x: x[:, np.newaxis], (3,)),
        ("none-middle", lambda xp, x: x[:, None, :], (2, 3)),
        ("ellipsis", lambda xp, x: x[..., 1], (2, 3, 2)),
        ("ellipsis-newaxis", lambda xp, x: x[None, ..., 0], (2, 3)),
        ("fanout", lambda xp, x: x[::-1, 2:4, :] + x[::-1, 3:5, :], (3, 6, 2)),
        ("chained", lambda xp, x: x[2:6][1:3], (7,)),
        ("scalar-loop-sum", lambda xp, x: x[0] * x[1] + x[2], (3,)),
        ("iterate-rows", lambda xp, x: sum(row * (i + 1.0) for i, row in enumerate(x)), (3, 2)),
    )


def indexing(cat: Catalog) -> None:
    for label, fn, shape in _index_rows():
        cat.add(f"index/{label}", "indexing", fn, (randn(f"index/{label}", *shape),))
    v = away_from_zero("mask", 6)
    cat.add("index/bool-from-input", "indexing", lambda xp, x: xp.sum(x[x > 0] ** 2), (v,))
    cat.add(
        "index/bool-from-input-hess",
        "indexing",
        lambda xp, x: xp.sum(x[x > 0] ** 3),
        (v,),
        hessian=True,
    )
    cat.add(
        "index/int-array-arg",
        "indexing",
        lambda xp, x, i: x[i],
        (randn("iarg", 5), np.array([4, 0, 0, 2])),
    )
    cat.add(
        "index/hess",
        "indexing",
        lambda xp, x: x[0] ** 2 * x[2] + x[1:].sum() ** 2,
        (randn("ihess", 4),),
        hessian=True,
    )


# ---------------------------------------------------------------------------- creation


def creation(cat: Catalog) -> None:
    """Arrays built from traced values: np.array of lists, r_, c_, *_like."""
    c = randn("create-c", 3, 2)
    x32 = randn("create-x", 3, 2)
    rows: tuple[tuple[str, str, Fn, tuple[Any, ...]], ...] = (
        ("array-1d", "np.array", lambda xp, x: xp.array([x, x * 1.0, x + 2.5]), (3.0,)),
        (
            "array-2d",
            "np.array",
            lambda xp, x: xp.array([[x, x * 1.0, x + 2.5], [x**2, x, x / 2.0]]),
            (3.0,),
        ),
        (
            "array-1d-fanout",
            "np.array",
            lambda xp, x: (lambda a: a + a)(xp.array([x, x * 1.0, x + 2.5])),
            (3.0,),
        ),
        ("array-of-scalar", "np.array", lambda xp, x: xp.array(x), (3.0,)),
        ("array-of-arrays", "np.array", lambda xp, x: xp.array([x, x]), (x32,)),
        ("array-of-arrays-2", "np.array", lambda xp, x: xp.array([[2 * x, x + 1], [x, x]]), (x32,)),
        (
            "array-of-elements",
            "np.array",
            lambda xp, x: xp.array([[x[0], x[1]], [x[1] * x[0], 2.0]]),
            (randn("aoe", 2),),
        ),
        (
            "array-mixed-consts",
            "np.array",
            lambda xp, x: xp.array([x[0], 1.0, x[1] ** 2]),
            (randn("amc", 2),),
        ),
        ("asarray", "np.asarray", lambda xp, x: xp.asarray(x) * 2.0, (x32,)),
        ("asarray-list", "np.asarray", lambda xp, x: xp.asarray([x[1], x[0]]), (randn("al", 2),)),
        ("array-float-dtype", "np.array", lambda xp, x: xp.array(x, dtype=float), (x32,)),
        ("r_-single", "np.r_", lambda xp, x: xp.r_[x], (x32,)),
        ("r_-double", "np.r_", lambda xp, x: xp.r_[x, x], (x32,)),
        ("r_-node-const", "np.r_", lambda xp, x: xp.r_[x, c], (x32,)),
        ("r_-mixed", "np.r_", lambda xp, x: xp.r_[x, c, x], (x32,)),
        ("r_-1d-const", "np.r_", lambda xp, x: xp.r_[x, np.arange(3.0)], (randn("r1", 4),)),
        ("c_", "np.c_", lambda xp, x: xp.c_[x, c, x], (x32,)),
        ("c_-1d", "np.c_", lambda xp, x: xp.c_[x, np.ones(4)], (randn("c1", 4),)),
        ("zeros_like-plus", "np.zeros_like", lambda xp, x: xp.zeros_like(x) + x**2, (x32,)),
        ("ones_like-times", "np.ones_like", lambda xp, x: xp.ones_like(x) * x, (x32,)),
        ("full_like", "np.full_like", lambda xp, x: xp.full_like(x, 2.0) * x, (x32,)),
        ("eye-times", "np.eye", lambda xp, x: xp.eye(3) * x, (1.5,)),
        ("identity-matmul", "np.identity", lambda xp, x: xp.identity(3) @ x, (randn("id", 3),)),
        ("arange-weights", "np.arange", lambda xp, x: xp.arange(4.0) * x, (randn("ar", 4),)),
        ("ones-outer", "np.ones", lambda xp, x: xp.ones((2, 1)) * x, (randn("on", 3),)),
        (
            "zeros-concat",
            "np.zeros",
            lambda xp, x: xp.concatenate([xp.zeros(2), x]),
            (randn("zc", 2),),
        ),
        ("vander", "np.vander", lambda xp, x: xp.vander(x, 3), (randn("vand", 3),)),
        ("tri-mask", "np.tri", lambda xp, x: xp.tri(3) * x, (randn("tri", 3, 3),)),
        ("copy", "np.copy", lambda xp, x: xp.copy(x) * x, (x32,)),
    )
    for label, funcs, fn, args in rows:
        cat.add(f"create/{label}", funcs, fn, args)
    cat.add(
        "create/array-2d-hess",
        "np.array",
        lambda xp, x: xp.sum(xp.array([[x[0] * x[1], x[1] ** 2], [x[0], 1.0]]) ** 2),
        (randn("a2h", 2),),
        hessian=True,
    )


# ---------------------------------------------------------------------------- methods


def methods(cat: Catalog) -> None:
    """ndarray methods and attributes, as NumPy code calls them on its arrays."""
    m = randn("method", 3, 4)
    rows: tuple[tuple[str, Fn, Any], ...] = (
        ("astype-float64", lambda xp, x: xp.sin(x.astype(xp.float64)), m),
        ("astype-str", lambda xp, x: x.astype("float64") * 2.0, m),
        ("flatten", lambda xp, x: x.flatten(), m),
        ("squeeze", lambda xp, x: x.squeeze(), randn("msq", 3, 1, 2)),
        ("squeeze-axis", lambda xp, x: x.squeeze(axis=0), randn("msqa", 1, 3)),
        ("ravel", lambda xp, x: x.ravel(), m),
        ("T", lambda xp, x: x.T, m),
        ("T-square", lambda xp, x: x.T * x, randn("mT", 3, 3)),
        ("transpose-args", lambda xp, x: x.transpose(1, 0, 2), randn("mtr", 2, 3, 2)),
        ("swapaxes", lambda xp, x: x.swapaxes(0, 1), m),
        ("sum-axis0", lambda xp, x: x.sum(axis=0), m),
        ("sum-axis-tuple", lambda xp, x: x.sum(axis=(0, 1)), randn("msat", 2, 2, 3)),
        ("sum-keepdims", lambda xp, x: x.sum(1, keepdims=True), m),
        ("sum", lambda xp, x: x.sum(), m),
        ("mean", lambda xp, x: x.mean(), m),
        ("mean-axis1", lambda xp, x: x.mean(axis=1), m),
        ("reshape-args", lambda xp, x: x.reshape(2, 6), m),
        ("reshape-minus1", lambda xp, x: x.reshape(-1, 2), m),
        ("dot", lambda xp, x: x.dot(np.arange(4.0)), m),
        ("max", lambda xp, x: x.max(), m),
        ("min-axis0", lambda xp, x: x.min(axis=0), m),
        ("prod", lambda xp, x: x.prod(), uniform("mprod", 0.5, 1.5, 2, 3)),
        ("std", lambda xp, x: x.std(), m),
        ("var-ddof1", lambda xp, x: x.var(ddof=1), m),
        ("cumsum", lambda xp, x: x.cumsum(), m),
        ("cumsum-axis", lambda xp, x: x.cumsum(axis=1), m),
        ("trace", lambda xp, x: x.trace(), randn("mtrace", 3, 3)),
        ("diagonal", lambda xp, x: x.diagonal(), randn("mdiag", 3, 3)),
        ("repeat", lambda xp, x: x.repeat(2), randn("mrep", 3)),
        ("conj", lambda xp, x: x.conj() * x, m),
        ("real-attr", lambda xp, x: x.real * 2.0, m),
        ("round", lambda xp, x: x.round() + x, between_jumps("mround", 4)),
        ("copy", lambda xp, x: x.copy() ** 2, m),
        ("item", lambda xp, x: x.item(0) * x, randn("mitem", 3)),
        ("ndim-shape", lambda xp, x: x * (x.ndim + x.shape[0] + x.size), m),
        ("len", lambda xp, x: x * len(x), m),
    )
    for label, fn, x in rows:
        cat.add(f"method/{label}", f"ndarray.{label.split('-')[0]}", fn, (x,))
    cat.add(
        "method/chain-hess",
        "ndarray methods",
        lambda xp, x: (x.reshape(2, 2).T.dot(x[:2]) ** 2).sum(),
        (randn("mch", 4),),
        hessian=True,
    )


# ---------------------------------------------------------------------------- comparisons


def comparisons(cat: Catalog) -> None:
    """Comparison results used as numbers: masks, counts, indicator weights."""
    x = away_from_zero("cmp-x", 5)
    y = x + away_from_zero("cmp-y", 5, gap=0.2, hi=1.0)
    rows: tuple[tuple[str, str, Fn, tuple[Any, ...], Sequence[int]], ...] = (
        ("count-plus-zero", "np.less", lambda xp, a, b: xp.sum(a < b) + 0.0, (x, y), (0, 1)),
        ("mask-times-x", "np.greater", lambda xp, a: (a > 0) * a, (x,), (0,)),
        ("mask-times-square", "np.greater", lambda xp, a: xp.sum((a > 0.5) * a**2), (x,), (0,)),
        (
            "ge-diff",
            "np.greater_equal",
            lambda xp, a, b: xp.sum((a >= b) * (a - b)),
            (x, y),
            (0, 1),
        ),
        ("where-gt", "np.where", lambda xp, a, b: xp.where(a > b, a, b), (x, y), (0, 1)),
        ("ne-mask", "np.not_equal", lambda xp, a: a * (a != 0), (x,), (0,)),
        ("mean-mask-scale", "np.mean", lambda xp, a: xp.mean(a > 0) * xp.sum(a), (x,), (0,)),
        (
            "logical-and",
            "np.logical_and",
            lambda xp, a: xp.sum(xp.logical_and(a > -1, a < 1) * a**2),
            (x,),
            (0,),
        ),
        ("logical-or", "np.logical_or", lambda xp, a: xp.logical_or(a < -1, a > 1) * a, (x,), (0,)),
        ("logical-not", "np.logical_not", lambda xp, a: xp.logical_not(a > 0) * a, (x,), (0,)),
        ("astype-mask", "ndarray.astype", lambda xp, a: (a > 0).astype(float) * a, (x,), (0,)),
        ("isfinite", "np.isfinite", lambda xp, a: xp.where(xp.isfinite(a), a, 0.0), (x,), (0,)),
        ("isnan", "np.isnan", lambda xp, a: xp.where(xp.isnan(a), 0.0, a**2), (x,), (0,)),
        ("signbit", "np.signbit", lambda xp, a: xp.signbit(a) * a, (x,), (0,)),
        ("isclose", "np.isclose", lambda xp, a, b: xp.isclose(a, b) * a + b, (x, y), (0, 1)),
        ("all-branch", "np.all", lambda xp, a: a * 2.0 if xp.all(a > -10) else -a, (x,), (0,)),
        (
            "allclose-assert",
            "np.allclose",
            lambda xp, a: xp.sum(a) if xp.allclose(a, (a * 3.0) / 3.0) else -xp.sum(a),
            (x,),
            (0,),
        ),
        (
            "any-branch",
            "np.any",
            lambda xp, a: xp.sum(a**2) if xp.any(a > 5) else xp.sum(a),
            (x,),
            (0,),
        ),
        ("python-if", "python if", lambda xp, a: a[0] ** 2 if a[1] > 0 else a[0] * 3.0, (x,), (0,)),
        ("python-max", "python max", lambda xp, a: max(a[0], a[1]) * a[2], (x,), (0,)),
        ("eq-float", "np.equal", lambda xp, a: (a == 1.0) + a, (x,), (0,)),
    )
    for label, funcs, fn, args, argnums in rows:
        cat.add(f"compare/{label}", funcs, fn, args, argnums=argnums)


# ---------------------------------------------------------------------------- linalg

NORM_VECTOR_ORDS: tuple[Any, ...] = (None, 2, 1, np.inf, -np.inf, 0, 3, -1, -2, 0.5, 4)
NORM_MATRIX_ORDS: tuple[Any, ...] = (None, "fro", "nuc", np.inf, -np.inf, 1, -1, 2, -2)


def _norm(**kwargs: Any) -> Fn:
    def fn(xp: Any, x: Any) -> Any:
        return xp.linalg.norm(x, **kwargs)

    return fn


def _ord_label(value: Any) -> str:
    return {np.inf: "inf", -np.inf: "-inf"}.get(value, str(value))


def norms(cat: Catalog) -> None:
    """linalg.norm with every ord a vector or matrix norm takes, with axis and keepdims."""
    vec = away_from_zero("norm-vec", 5, gap=0.2)
    for ord_ in NORM_VECTOR_ORDS:
        name = f"norm/vector/ord={_ord_label(ord_)}"
        cat.add(name, "np.linalg.norm", _norm(ord=ord_), (vec,), hessian=ord_ in (None, 2, 3))
    cat.add("norm/vector/keepdims", "np.linalg.norm", _norm(keepdims=True), (vec,))
    cat.add("norm/vector/float", "np.linalg.norm", _norm(), (-1.7,))
    m = away_from_zero("norm-mat", 3, 4, gap=0.2)
    for axis in (0, 1, -1):
        for ord_ in (None, 1, np.inf, 3):
            name = f"norm/axis{axis}/ord={_ord_label(ord_)}"
            cat.add(name, "np.linalg.norm", _norm(ord=ord_, axis=axis), (m,))
        cat.add(
            f"norm/axis{axis}/keepdims", "np.linalg.norm", _norm(axis=axis, keepdims=True), (m,)
        )
    mat = randn("norm-matrix", 4, 3)
    for ord_ in NORM_MATRIX_ORDS:
        name = f"norm/matrix/ord={_ord_label(ord_)}"
        cat.add(name, "np.linalg.norm", _norm(ord=ord_), (mat,), hessian=ord_ in ("fro", "nuc", 2))
        if ord_ in (None, "fro", "nuc", 2, np.inf):
            cat.add(
                name + "/keepdims",
                "np.linalg.norm",
                _norm(ord=ord_, axis=(0, 1), keepdims=True),
                (mat,),
            )
    stack = randn("norm-stack", 2, 4, 3)
    for axis, ords in (((1, 2), NORM_MATRIX_ORDS), ((2, 0), ("fro", "nuc", 2)), ((0, 1), ("nuc",))):
        for ord_ in ords:
            name = f"norm/stack/axis={axis[0]}{axis[1]}/ord={_ord_label(ord_)}"
            cat.add(name, "np.linalg.norm", _norm(ord=ord_, axis=axis), (stack,))
    cat.add("norm/3d-flat", "np.linalg.norm", _norm(), (stack,))
    cat.add(
        "norm/vector_norm",
        "np.linalg.vector_norm",
        lambda xp, x: xp.linalg.vector_norm(x, ord=3, axis=1),
        (m,),
    )
    cat.add(
        "norm/matrix_norm",
        "np.linalg.matrix_norm",
        lambda xp, x: xp.linalg.matrix_norm(x, ord="nuc"),
        (stack,),
    )


def _symmetric(xp: Any, a: Any) -> Any:
    """(A + A^T) / 2: eigh and cholesky read one triangle, so the input is symmetrized in the
    function itself and every oracle then agrees on what a perturbation of A means."""
    return (a + xp.swapaxes(a, -1, -2)) / 2.0


def linalg(cat: Catalog) -> None:
    norms(cat)
    _solve_inv_det(cat)
    _decompositions(cat)
    _svd(cat)
    _matrix_functions(cat)


def _solve_inv_det(cat: Catalog) -> None:
    a4 = well_conditioned("la-a4", 4)
    stack = well_conditioned("la-stack", 4, 2)
    rows: tuple[tuple[str, str, Fn, tuple[Any, ...], Sequence[int]], ...] = (
        ("solve/1d", "np.linalg.solve", calln("linalg.solve"), (a4, randn("b1", 4)), (0, 1)),
        ("solve/2d", "np.linalg.solve", calln("linalg.solve"), (a4, randn("b2", 4, 3)), (0, 1)),
        (
            "solve/stack",
            "np.linalg.solve",
            calln("linalg.solve"),
            (stack, randn("b3", 2, 4, 3)),
            (0, 1),
        ),
        (
            "solve/stack-column",
            "np.linalg.solve",
            calln("linalg.solve"),
            (stack, randn("b4", 2, 4, 1)),
            (0, 1),
        ),
        ("inv/2d", "np.linalg.inv", call("linalg.inv"), (a4,), (0,)),
        ("inv/stack", "np.linalg.inv", call("linalg.inv"), (well_conditioned("inv3", 3, 3),), (0,)),
        (
            "inv/stack-4d",
            "np.linalg.inv",
            call("linalg.inv"),
            (well_conditioned("inv4", 3, 2, 2),),
            (0,),
        ),
        ("det/2d", "np.linalg.det", call("linalg.det"), (randn("det", 4, 4),), (0,)),
        ("det/stack", "np.linalg.det", call("linalg.det"), (randn("det3", 3, 3, 3),), (0,)),
        (
            "slogdet/logdet",
            "np.linalg.slogdet",
            lambda xp, x: xp.linalg.slogdet(x)[1],
            (randn("sld", 4, 4),),
            (0,),
        ),
        (
            "slogdet/negated",
            "np.linalg.slogdet",
            lambda xp, x: xp.linalg.slogdet(-x)[1],
            (randn("sld", 4, 4),),
            (0,),
        ),
        (
            "slogdet/stack",
            "np.linalg.slogdet",
            lambda xp, x: xp.sum(xp.linalg.slogdet(x)[1]),
            (spd("sld3", 3, 3),),
            (0,),
        ),
        (
            "slogdet/sign-exp",
            "np.linalg.slogdet",
            lambda xp, x: (lambda s: s[0] * xp.exp(s[1]))(xp.linalg.slogdet(x)),
            (randn("sle", 3, 3),),
            (0,),
        ),
    )
    for label, funcs, fn, args, argnums in rows:
        cat.add(f"linalg/{label}", funcs, fn, args, argnums=argnums)
    cat.add(
        "linalg/det/hess", "np.linalg.det", call("linalg.det"), (randn("deth", 3, 3),), hessian=True
    )
    cat.add_weighted(
        "linalg/inv/hess",
        "np.linalg.inv",
        call("linalg.inv"),
        (well_conditioned("invh", 3),),
        hessian=True,
    )
    cat.add(
        "linalg/solve/hess",
        "np.linalg.solve",
        lambda xp, a, b: xp.sum(xp.linalg.solve(a, b) ** 2),
        (well_conditioned("solh", 3), randn("solhb", 3)),
        argnums=(0, 1),
        hessian=True,
    )
    cat.add(
        "linalg/slogdet/hess",
        "np.linalg.slogdet",
        lambda xp, x: xp.linalg.slogdet(x)[1],
        (spd("sldh", 3),),
        hessian=True,
    )


def _decompositions(cat: Catalog) -> None:
    """cholesky, eigh, eigvalsh, qr on symmetrized inputs (UPLO 'L' and 'U')."""
    a = randn("dec-a", 4, 4)
    st = randn("dec-st", 2, 3, 3)
    rows: tuple[tuple[str, str, Fn, Any], ...] = (
        (
            "cholesky/gram",
            "np.linalg.cholesky",
            lambda xp, x: xp.linalg.cholesky(x @ x.T + 3.0 * xp.eye(3)),
            randn("chg", 3, 3),
        ),
        (
            "cholesky/symmetrized",
            "np.linalg.cholesky",
            lambda xp, x: xp.linalg.cholesky(_symmetric(xp, x) + 4.0 * xp.eye(3)),
            randn("chs", 3, 3),
        ),
        (
            "cholesky/stack",
            "np.linalg.cholesky",
            lambda xp, x: xp.linalg.cholesky(x @ xp.swapaxes(x, -1, -2) + 3.0 * xp.eye(3)),
            st,
        ),
        (
            "cholesky/reparam",
            "np.linalg.cholesky",
            lambda xp, x: xp.linalg.norm(
                xp.linalg.cholesky(_symmetric(xp, x) + 6.0 * xp.eye(4)) @ np.arange(1.0, 5.0)
            ),
            a,
        ),
        (
            "eigvalsh/L",
            "np.linalg.eigvalsh",
            lambda xp, x: xp.linalg.eigvalsh(_symmetric(xp, x)),
            a,
        ),
        (
            "eigvalsh/U",
            "np.linalg.eigvalsh",
            lambda xp, x: xp.linalg.eigvalsh(_symmetric(xp, x), UPLO="U"),
            a,
        ),
        (
            "eigvalsh/stack",
            "np.linalg.eigvalsh",
            lambda xp, x: xp.linalg.eigvalsh(_symmetric(xp, x)),
            st,
        ),
        ("eigh/values-L", "np.linalg.eigh", lambda xp, x: xp.linalg.eigh(_symmetric(xp, x))[0], a),
        (
            "eigh/values-U",
            "np.linalg.eigh",
            lambda xp, x: xp.linalg.eigh(_symmetric(xp, x), UPLO="U")[0],
            a,
        ),
        (
            "eigh/vectors-squared",
            "np.linalg.eigh",
            lambda xp, x: xp.linalg.eigh(_symmetric(xp, x))[1] ** 2,
            a,
        ),
        (
            "eigh/vectors-squared-U",
            "np.linalg.eigh",
            lambda xp, x: xp.linalg.eigh(_symmetric(xp, x), "U")[1] ** 2,
            a,
        ),
        (
            "eigh/reconstruct",
            "np.linalg.eigh",
            lambda xp, x: (lambda wv: (wv[1] * wv[0]) @ wv[1].T)(xp.linalg.eigh(_symmetric(xp, x))),
            a,
        ),
        (
            "eigh/stack-values",
            "np.linalg.eigh",
            lambda xp, x: xp.linalg.eigh(_symmetric(xp, x))[0],
            st,
        ),
        (
            "eigh/stack-vectors-squared",
            "np.linalg.eigh",
            lambda xp, x: xp.linalg.eigh(_symmetric(xp, x))[1] ** 2,
            st,
        ),
        ("qr/r-squared", "np.linalg.qr", lambda xp, x: xp.linalg.qr(x)[1] ** 2, randn("qr", 4, 3)),
        (
            "qr/q-times-r",
            "np.linalg.qr",
            lambda xp, x: (lambda qr: qr[0] @ qr[1])(xp.linalg.qr(x)),
            randn("qr2", 3, 3),
        ),
    )
    for label, funcs, fn, x in rows:
        cat.add(f"linalg/{label}", funcs, fn, (x,))
    w = uniform("eig-w", 0.5, 1.5, 4)
    cat.add(
        "linalg/eigvalsh/weighted-hess",
        "np.linalg.eigvalsh",
        lambda xp, x, w: xp.dot(w, xp.linalg.eigvalsh(_symmetric(xp, x))),
        (randn("evh", 4, 4), w),
        hessian=True,
    )


def _svd(cat: Catalog) -> None:
    """svd wide, tall, square and stacked; singular values alone and sign-invariant uses of u, v."""
    for label, shape in (
        ("wide", (3, 5)),
        ("tall", (5, 3)),
        ("square", (4, 4)),
        ("stack-wide", (2, 3, 4)),
        ("stack-tall", (2, 4, 3)),
    ):
        x = randn(f"svd-{label}", *shape)
        base = f"linalg/svd/{label}"
        cat.add(
            f"{base}/s-only",
            "np.linalg.svd",
            lambda xp, a: xp.linalg.svd(a, compute_uv=False),
            (x,),
        )
        cat.add(
            f"{base}/s-full-matrices-true",
            "np.linalg.svd",
            lambda xp, a: xp.linalg.svd(a, full_matrices=True, compute_uv=False),
            (x,),
        )
        cat.add(
            f"{base}/s-from-uv",
            "np.linalg.svd",
            lambda xp, a: xp.linalg.svd(a, full_matrices=False)[1],
            (x,),
        )
        cat.add(
            f"{base}/reconstruct",
            "np.linalg.svd",
            lambda xp, a: (lambda usv: (usv[0] * usv[1][..., None, :]) @ usv[2])(
                xp.linalg.svd(a, full_matrices=False)
            ),
            (x,),
        )
        cat.add(
            f"{base}/polar",
            "np.linalg.svd",
            lambda xp, a: (lambda usv: usv[0] @ usv[2])(xp.linalg.svd(a, full_matrices=False)),
            (x,),
        )
        cat.add(
            f"{base}/u-squared",
            "np.linalg.svd",
            lambda xp, a: xp.linalg.svd(a, full_matrices=False)[0] ** 2,
            (x,),
        )
        cat.add(
            f"{base}/vh-squared",
            "np.linalg.svd",
            lambda xp, a: xp.linalg.svd(a, full_matrices=False)[2] ** 2,
            (x,),
        )
    cat.add(
        "linalg/svd/sum-s-hess",
        "np.linalg.svd",
        lambda xp, a: xp.sum(xp.linalg.svd(a, compute_uv=False) ** 3),
        (randn("svdh", 3, 2),),
        hessian=True,
    )


def _matrix_functions(cat: Catalog) -> None:
    a = well_conditioned("mf-a", 3)
    for n in (0, 1, 2, 3, -1, -2):
        cat.add(
            f"linalg/matrix_power/{n}",
            "np.linalg.matrix_power",
            call("linalg.matrix_power", n),
            (a,),
        )
    tall, wide = randn("pinv-t", 4, 3), randn("pinv-w", 3, 4)
    cat.add("linalg/pinv/tall", "np.linalg.pinv", call("linalg.pinv"), (tall,))
    cat.add("linalg/pinv/wide", "np.linalg.pinv", call("linalg.pinv"), (wide,))
    mats = (randn("md1", 2, 3), randn("md2", 3, 4), randn("md3", 4, 2))
    cat.add(
        "linalg/multi_dot/three",
        "np.linalg.multi_dot",
        lambda xp, a, b, c: xp.linalg.multi_dot([a, b, c]),
        mats,
        argnums=(0, 1, 2),
    )
    ends = (randn("mdv", 2), mats[0], mats[1], randn("mdw", 4))
    cat.add(
        "linalg/multi_dot/vector-ends",
        "np.linalg.multi_dot",
        lambda xp, v, a, b, w: xp.linalg.multi_dot([v, a, b, w]),
        ends,
        argnums=(0, 1, 3),
    )
    cat.add(
        "linalg/lstsq",
        "np.linalg.lstsq",
        lambda xp, a, b: xp.linalg.lstsq(a, b, rcond=None)[0],
        (tall, randn("lsb", 4)),
        argnums=(0, 1),
    )
    cat.add("linalg/cond", "np.linalg.cond", call("linalg.cond"), (a,))
    cat.add(
        "linalg/interp",
        "np.interp",
        lambda xp, x, fp: xp.interp(x, np.array([0.0, 1.0, 2.0, 3.0]), fp),
        (np.array([0.3, 1.7, 2.2]), randn("fp", 4)),
        argnums=(0, 1),
    )
    cat.add(
        "linalg/polyval",
        "np.polyval",
        calln("polyval"),
        (randn("pv", 4), randn("pvx", 3)),
        argnums=(0, 1),
    )


# ---------------------------------------------------------------------------- user code


def _micrograd_loops() -> tuple[tuple[str, Fn, tuple[Any, ...], bool], ...]:
    """Scalar code in the micrograd style: Python loops, Python-float constants."""

    def poly(xp: Any, x: Any) -> Any:
        s = 0.0
        for i, xi in enumerate(x):
            s = s + (i + 1.5) * xi * xi - 0.3 * xi
        return s

    def neuron(xp: Any, x: Any) -> Any:
        weights, bias = [0.5, -1.25, 2.0], 0.1
        act = bias
        for wi, xi in zip(weights, x, strict=True):
            act = act + wi * xi
        return xp.tanh(act)

    def rational(xp: Any, x: Any) -> Any:
        s = 0.0
        for xi in x:
            s += xi**3 / (1.0 + xi**2)
        return s

    def horner(xp: Any, x: Any) -> Any:
        p = 0.0
        for c in (2.0, -3.0, 0.5, 1.0):
            p = p * x + c
        return p

    def nested(xp: Any, x: Any) -> Any:
        s = 0.0
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                s = s + 0.5 * x[i, j] * x[j, i]
        return s

    def generator_sum(xp: Any, x: Any) -> Any:
        return sum(xi**2 for xi in x) + 1.0

    def builtin_abs(xp: Any, x: Any) -> Any:
        return sum(abs(xi) * 2.0 for xi in x)

    def branches(xp: Any, x: Any) -> Any:
        s = 0.0
        for xi in x:
            s = s + xi if xi > 0 else s - 0.5 * xi
        return s

    def logistic_map(xp: Any, x: Any) -> Any:
        z = x
        for _ in range(6):
            z = 3.7 * z * (1.0 - z)
        return z

    def newton_sqrt(xp: Any, a: Any) -> Any:
        y = a
        for _ in range(8):
            y = 0.5 * (y + a / y)
        return y

    def tiny_mlp(xp: Any, x: Any) -> Any:
        hidden = [xp.tanh(0.3 * x[0] - 0.8 * x[1] + 0.1), xp.tanh(-0.5 * x[0] + 0.2 * x[1])]
        return 1.5 * hidden[0] - 0.7 * hidden[1] + 0.05

    def list_then_stack(xp: Any, x: Any) -> Any:
        return xp.stack([x[i] * x[i + 1] for i in range(len(x) - 1)])

    def math_exp(xp: Any, x: Any) -> Any:
        return sum(math.exp(xi) for xi in x)

    def float_of_input(xp: Any, x: Any) -> Any:
        scale = float(x[0])  # f is x0 * x1 all the same: an engine must follow or refuse
        return scale * x[1]

    def in_place_zeros(xp: Any, x: Any) -> Any:
        out = xp.zeros(3)
        out[0] = x[0] ** 2
        out[1] = x[1] * x[0]
        return out

    def in_place_copy(xp: Any, x: Any) -> Any:
        y = x * 1.0
        y[1] = y[1] * 3.0
        return y

    def accumulate_augmented(xp: Any, x: Any) -> Any:
        total = xp.zeros_like(x)
        for k in range(3):
            total += x ** (k + 1) / (k + 1.0)
        return total

    x3 = uniform("mg3", 0.1, 0.9, 3)
    return (
        ("poly-loop", poly, (randn("mg-poly", 4),), True),
        ("neuron", neuron, (randn("mg-neuron", 3),), True),
        ("rational-loop", rational, (randn("mg-rat", 4),), True),
        ("horner", horner, (0.7,), True),
        ("nested-loops", nested, (randn("mg-nest", 3, 3),), True),
        ("generator-sum", generator_sum, (randn("mg-gen", 4),), True),
        ("builtin-abs", builtin_abs, (away_from_zero("mg-abs", 4),), False),
        ("branches", branches, (away_from_zero("mg-br", 4),), True),
        ("logistic-map", logistic_map, (0.3,), True),
        ("newton-sqrt", newton_sqrt, (2.0,), True),
        ("tiny-mlp", tiny_mlp, (randn("mg-mlp", 2),), True),
        ("list-then-stack", list_then_stack, (randn("mg-stack", 4),), False),
        ("math-exp", math_exp, (x3,), False),
        ("float-of-input", float_of_input, (randn("mg-float", 2),), False),
        ("in-place-zeros", in_place_zeros, (randn("mg-ipz", 2),), False),
        ("in-place-copy", in_place_copy, (randn("mg-ipc", 3),), False),
        ("augmented-assign", accumulate_augmented, (randn("mg-aug", 3),), False),
    )


def _losses() -> tuple[tuple[str, Fn, tuple[Any, ...], Sequence[int], bool], ...]:
    """Vectorized NumPy losses; every parameter differentiated in turn."""
    x, y = randn("loss-x", 6, 3), randn("loss-y", 6)
    labels = (_rng("loss-labels").integers(0, 4, 6)[:, None] == np.arange(4)).astype(float)
    signs = np.where(randn("loss-signs", 6) > 0, 1.0, -1.0)

    def softmax_xent(xp: Any, logits: Any, onehot: Any) -> Any:
        shifted = logits - xp.max(logits, axis=1, keepdims=True)
        logp = shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
        return -xp.mean(xp.sum(onehot * logp, axis=1))

    def least_squares(xp: Any, w: Any, a: Any, b: Any) -> Any:
        r = a @ w - b
        return 0.5 * xp.dot(r, r)

    def ridge(xp: Any, w: Any, a: Any, b: Any) -> Any:
        return xp.mean((a @ w - b) ** 2) + 0.1 * xp.linalg.norm(w) ** 2

    def logistic(xp: Any, w: Any, b: Any, a: Any, s: Any) -> Any:
        margins = s * (a @ w + b)
        return xp.mean(xp.logaddexp(0.0, -margins))

    def logistic_log1p(xp: Any, w: Any, a: Any, s: Any) -> Any:
        return xp.sum(xp.log1p(xp.exp(-s * xp.dot(a, w))))

    def mlp(xp: Any, w1: Any, b1: Any, w2: Any, b2: Any, a: Any, t: Any) -> Any:
        hidden = xp.tanh(a @ w1 + b1)
        out = hidden @ w2 + b2
        return xp.mean((out[:, 0] - t) ** 2)

    def hinge(xp: Any, w: Any, a: Any, s: Any) -> Any:
        return xp.mean(xp.maximum(0.0, 1.0 - s * (a @ w))) + 0.01 * xp.sum(w * w)

    def huber(xp: Any, r: Any) -> Any:
        small = xp.abs(r) < 1.0
        return xp.sum(xp.where(small, 0.5 * r**2, xp.abs(r) - 0.5))

    def gaussian_nll(xp: Any, factor: Any, z: Any) -> Any:
        cov = factor @ factor.T + 0.5 * xp.eye(3)
        return 0.5 * (xp.linalg.slogdet(cov)[1] + z @ xp.linalg.solve(cov, z))

    def attention(xp: Any, q: Any, k: Any, v: Any) -> Any:
        scores = q @ k.T / xp.sqrt(3.0)
        weights = xp.exp(scores - xp.max(scores, axis=-1, keepdims=True))
        weights = weights / xp.sum(weights, axis=-1, keepdims=True)
        return xp.sum((weights @ v) ** 2)

    def layer_norm(xp: Any, h: Any) -> Any:
        mu = xp.mean(h, axis=-1, keepdims=True)
        var = xp.var(h, axis=-1, keepdims=True)
        return (h - mu) / xp.sqrt(var + 1e-5)

    def cosine(xp: Any, u: Any, v: Any) -> Any:
        return xp.sum(u * v, axis=1) / (xp.linalg.norm(u, axis=1) * xp.linalg.norm(v, axis=1))

    def rosenbrock(xp: Any, z: Any) -> Any:
        return xp.sum(100.0 * (z[1:] - z[:-1] ** 2) ** 2 + (1.0 - z[:-1]) ** 2)

    def kernel(xp: Any, pts: Any) -> Any:
        sq = xp.sum(pts**2, axis=1)
        d2 = sq[:, None] + sq[None, :] - 2.0 * xp.einsum("ik,jk->ij", pts, pts)
        return xp.sum(xp.exp(-0.5 * d2) * xp.arange(16.0).reshape(4, 4))

    def soft_kmeans(xp: Any, centers: Any, pts: Any) -> Any:
        d2 = xp.sum((pts[:, None, :] - centers[None, :, :]) ** 2, axis=-1)
        resp = xp.exp(-d2) / xp.sum(xp.exp(-d2), axis=1, keepdims=True)
        return xp.sum(resp * d2)

    w3 = randn("loss-w3", 3)
    return (
        ("softmax-xent", softmax_xent, (randn("logits", 6, 4), labels), (0,), True),
        ("least-squares", least_squares, (w3, x, y), (0, 1, 2), True),
        ("ridge", ridge, (w3, x, y), (0, 1), True),
        ("logistic", logistic, (w3, 0.2, x, signs), (0, 1, 2), True),
        ("logistic-log1p", logistic_log1p, (w3, x, signs), (0, 1), True),
        (
            "mlp-tanh",
            mlp,
            (randn("w1", 3, 4) * 0.5, randn("b1", 4) * 0.1, randn("w2", 4, 1), 0.3, x, y),
            (0, 1, 2, 3),
            True,
        ),
        ("hinge", hinge, (w3 * 0.1, x, signs), (0, 1), False),
        ("huber", huber, (np.array([0.3, -2.0, 1.7, -0.4]),), (0,), True),
        ("gaussian-nll", gaussian_nll, (randn("gl", 3, 3), randn("gz", 3)), (0, 1), True),
        (
            "attention",
            attention,
            (randn("aq", 2, 3), randn("ak", 3, 3), randn("av", 3, 2)),
            (0, 1, 2),
            True,
        ),
        ("layer-norm", layer_norm, (randn("ln", 2, 4),), (0,), False),
        ("cosine", cosine, (randn("cu", 3, 4), randn("cv", 3, 4)), (0, 1), False),
        ("rosenbrock", rosenbrock, (randn("rb", 5),), (0,), True),
        ("gaussian-kernel", kernel, (randn("gk", 4, 2),), (0,), True),
        ("soft-kmeans", soft_kmeans, (randn("km-c", 2, 2), randn("km-p", 5, 2)), (0, 1), True),
    )


def _lambdas_and_mixes() -> tuple[tuple[str, Fn, tuple[Any, ...], bool], ...]:
    """One-line user lambdas, and np.linalg.norm with np.einsum in the same function."""
    v, a = randn("lam-v", 4), randn("lam-a", 4, 4)
    return (
        ("quadratic-form", lambda xp, x: x @ a @ x, (v,), True),
        ("self-inner", lambda xp, x: x @ x, (v,), True),
        ("gauss-bump", lambda xp, x: xp.sum(xp.exp(-(x**2))), (v,), True),
        ("log-sum-exp", lambda xp, x: xp.log(xp.sum(xp.exp(x))), (v,), True),
        ("normalize", lambda xp, x: x / xp.linalg.norm(x), (v,), False),
        ("softplus", lambda xp, x: xp.log1p(xp.exp(x)), (v,), False),
        ("sigmoid", lambda xp, x: 1.0 / (1.0 + xp.exp(-x)), (v,), False),
        ("polynomial", lambda xp, x: 3.0 * x**3 - 2.0 * x + 1.0, (0.4,), True),
        ("trig-mix", lambda xp, x: xp.sin(x) * xp.cos(2.0 * x) + xp.tan(x / 4.0), (v,), False),
        ("outer-sum", lambda xp, x: xp.sum(xp.outer(x, x) * a), (v,), True),
        (
            "norm-einsum",
            lambda xp, x: (
                xp.linalg.norm(xp.einsum("ij,j->i", a, x)) ** 2 + xp.einsum("i,i->", x, x)
            ),
            (v,),
            True,
        ),
        (
            "einsum-norm-axis",
            lambda xp, x: xp.sum(xp.linalg.norm(xp.einsum("ij,jk->ik", x, a), axis=1)),
            (randn("ena", 2, 4),),
            True,
        ),
        (
            "frobenius-einsum",
            lambda xp, x: xp.einsum("ij,ij->", x, x) - xp.linalg.norm(x, "fro"),
            (a,),
            False,
        ),
        (
            "distance-matrix",
            lambda xp, x: xp.linalg.norm(
                x[:, None, :] - x[None, :, :] + 1e-3 * xp.eye(3)[:, :, None], axis=-1
            ),
            (randn("dm", 3, 2),),
            False,
        ),
        (
            "einsum-trace-norm",
            lambda xp, x: xp.einsum("ii", x @ x.T) / xp.linalg.norm(x),
            (randn("etn", 3, 3),),
            True,
        ),
    )


def user_code(cat: Catalog) -> None:
    for label, fn, args, hess in _micrograd_loops():
        cat.add(f"user/loop/{label}", "python loops", fn, args, hessian=hess)
    for label, fn, args, argnums, hess in _losses():
        cat.add(f"user/loss/{label}", "vectorized loss", fn, args, argnums=argnums, hessian=hess)
    for label, fn, args, hess in _lambdas_and_mixes():
        cat.add(f"user/lambda/{label}", "user lambda", fn, args, hessian=hess)


def odd_scales(cat: Catalog) -> None:
    """Points at 1e-14 and at 1e8: relative accuracy must survive far from 1 (atol 0)."""
    tiny = randn("tiny", 4) * 1e-14
    huge = uniform("huge", 1.0, 3.0, 4) * 1e8
    rows: tuple[tuple[str, str, Fn, Any, bool], ...] = (
        ("tiny/sum-squares", "np.sum", lambda xp, x: xp.sum(x**2), tiny, True),
        ("tiny/sin", "np.sin", call("sin"), tiny, False),
        ("tiny/exp", "np.exp", call("exp"), tiny, False),
        ("tiny/log1p", "np.log1p", call("log1p"), tiny, False),
        ("tiny/expm1", "np.expm1", call("expm1"), tiny, False),
        ("tiny/norm", "np.linalg.norm", _norm(), tiny, False),
        ("tiny/ratio", "python operators", lambda xp, x: x / (1.0 + x), tiny, False),
        ("tiny/cube-sum", "np.sum", lambda xp, x: xp.sum(x**3), tiny, True),
        ("tiny/tanh", "np.tanh", call("tanh"), tiny, False),
        ("tiny/times-1e14", "python operators", lambda xp, x: xp.sin(x * 1e14), tiny, False),
        ("huge/log", "np.log", call("log"), huge, False),
        ("huge/sqrt", "np.sqrt", call("sqrt"), huge, False),
        ("huge/sum-squares", "np.sum", lambda xp, x: xp.sum(x**2), huge, True),
        ("huge/norm", "np.linalg.norm", _norm(), huge, False),
        ("huge/reciprocal", "np.reciprocal", call("reciprocal"), huge, False),
        ("huge/exp-scaled", "np.exp", lambda xp, x: xp.exp(x / 1e8), huge, False),
        ("huge/sin-scaled", "np.sin", lambda xp, x: xp.sin(x * 1e-8), huge, False),
        ("huge/logaddexp", "np.logaddexp", lambda xp, x: xp.logaddexp(x / 1e8, 1.0), huge, False),
        ("huge/mean-log", "np.mean", lambda xp, x: xp.mean(xp.log(x)), huge, True),
        (
            "huge/softmax",
            "np.exp",
            lambda xp, x: xp.exp(x * 1e-8) / xp.sum(xp.exp(x * 1e-8)),
            huge,
            False,
        ),
    )
    for label, funcs, fn, x, hess in rows:
        cat.add(f"scale/{label}", funcs, fn, (x,), hessian=hess, atol=0.0)


SECTIONS: tuple[Callable[[Catalog], None], ...] = (
    unary_ufuncs,
    python_operators,
    binary_ufuncs,
    powers_at_zero,
    ties_and_kinks,
    reductions,
    products,
    shapes,
    indexing,
    creation,
    methods,
    comparisons,
    linalg,
    user_code,
    odd_scales,
)


@functools.cache
def all_cases() -> tuple[Case, ...]:
    """Every case, in catalog order (the order of ``SECTIONS``)."""
    cat = Catalog()
    for section in SECTIONS:
        section(cat)
    return tuple(cat.cases)


def functions_covered(cases: Sequence[Case] | None = None) -> list[str]:
    """The distinct NumPy functions (``np.*``) the cases exercise, sorted."""
    found = {f for case in (cases or all_cases()) for f in case.functions}
    return sorted(f for f in found if f.startswith("np."))


if __name__ == "__main__":
    cases = all_cases()
    kinds = {k: sum(c.check == k for c in cases) for k in CHECKS}
    print(f"{len(cases)} cases, {len(functions_covered())} NumPy functions; {kinds}")
