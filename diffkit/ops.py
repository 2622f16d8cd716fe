"""The primitive table: the one place that knows what an elementary function is.

Each row gives a primitive's NumPy implementation, its SymPy counterpart and its
derivative rule. Backends never keep a private list: the parser whitelists the
rows' names, the symbolic tracer maps NumPy calls to the SymPy column, and reverse
mode builds its vector-Jacobian products from the ``partials`` column.

``partials(*args, out)`` returns one array per argument, the partial derivative of
the output with respect to that argument, elementwise. Rules are written with NumPy
calls and operators only, so the same rule runs on floats, arrays and on any tensor
type that speaks NumPy's dispatch protocols (which is what gives higher-order
derivatives). On plain Python floats and ints the rules take a ``math`` fast path
(a NumPy call on a Python float costs about a microsecond, ten times ``math``'s),
which is what keeps the scalar ``Value`` engine quick; where ``math`` refuses an
argument (a domain error, an overflow) the rule falls back to NumPy, so the result
is the same number either way.

``scalar`` is the row's implementation for one Python float (``math.tanh``, a stable
sigmoid, ...), used by the scalar ``Value`` for its forward values; ``None`` where
no such function is worth having (``maximum``/``minimum``: the builtins' NaN
handling differs from NumPy's).

Conventions at kinks, shared by every backend that uses this table: the derivative
of ``abs``, ``relu``, ``maximum`` and ``minimum`` at a tie is 0 (a valid subgradient),
and ``sign`` has derivative 0 everywhere.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import sympy
from sympy.codegen.cfunctions import expm1, log1p

__all__ = ["PRIMITIVES", "Primitive", "UnknownPrimitiveError", "function_names", "get"]

Partials = Callable[..., tuple[Any, ...]]


@dataclass(frozen=True)
class Primitive:
    """One elementary function: how to compute it, say it in SymPy, and differentiate it."""

    name: str
    arity: int
    numpy: Callable[..., Any]
    sympy: Callable[..., Any]
    partials: Partials
    kind: str = "function"  # "function": callable by name in expressions; "operator": + - * / ** and unary -
    aliases: tuple[str, ...] = field(default=())
    smooth: bool = True  # False where the derivative jumps (abs, relu, maximum, minimum)
    doc: str = ""
    scalar: Callable[..., Any] | None = None  # for Python floats: math.sin, a stable sigmoid, ...
    # One vector-Jacobian rule per argument, ``rule(g, *args, out) = g * d out / d arg``,
    # for rows where computing only the needed one, fused with g, saves passes over
    # large arrays (x ** 2 needs no log x, and g * 2x is one new array, not three).
    per_argument_vjp: tuple[Callable[..., Any], ...] | None = None
    # What the derivative rule reads, given which arguments need a gradient:
    # saves(needs) -> (per argument, whether the output). Reverse mode keeps only
    # these values alive; None means everything.
    saves: Callable[[tuple[bool, ...]], tuple[tuple[bool, ...], bool]] | None = None

    def vjp(self, g: Any, needs: tuple[bool, ...], *args: Any, out: Any) -> tuple[Any, ...]:
        """g times the partial of each argument flagged in ``needs`` (None for the others)."""
        if self.per_argument_vjp is not None:
            rules = self.per_argument_vjp
            return tuple(
                [rules[i](g, *args, out) if need else None for i, need in enumerate(needs)]
            )
        partials = self.partials(*args, out)
        return tuple(
            [times_partial(g, partials[i]) if need else None for i, need in enumerate(needs)]
        )


def _reads_nothing(needs: tuple[bool, ...]) -> tuple[tuple[bool, ...], bool]:
    return (False,) * len(needs), False


def _reads_arguments(needs: tuple[bool, ...]) -> tuple[tuple[bool, ...], bool]:
    return (True,) * len(needs), False


def _reads_output(needs: tuple[bool, ...]) -> tuple[tuple[bool, ...], bool]:
    return (False,) * len(needs), True


def times_partial(g: Any, partial: Any) -> Any:
    """g * partial, skipping the product for the constant partials 1 and -1 (reverse mode too)."""
    if type(partial) is float or type(partial) is int:
        if partial == 1:
            return g
        if partial == -1:
            return -g
    return g * partial


def _scale_fresh(fresh: Any, factor: Any) -> Any:
    """``fresh * factor``, in place when ``fresh`` is an array this rule just made."""
    if isinstance(fresh, np.ndarray) and np.ndim(factor) == 0:
        fresh *= factor
        return fresh
    return fresh * factor


class UnknownPrimitiveError(KeyError):
    """A name that is not a row of the primitive table."""


def _is_py_number(x: Any) -> bool:
    # Exact types: NumPy scalars (np.float64 subclasses float) keep NumPy semantics and dtype.
    return type(x) is float or type(x) is int


def _elementwise(np_func: Callable[[Any], Any], math_func: Callable[[float], float]) -> Any:
    """``np_func``, but ``math_func`` on a Python float or int (about ten times faster).

    Where ``math_func`` raises (``math.sqrt(-1)``, ``math.cosh(1e3)``), NumPy decides,
    so a rule gives the same number (nan, inf) on either path.
    """

    def apply(x: Any) -> Any:
        if type(x) is float or type(x) is int:
            try:
                return math_func(x)
            except (ValueError, OverflowError):
                pass
        return np_func(x)

    apply.__name__ = np_func.__name__
    return apply


_cos = _elementwise(np.cos, math.cos)
_exp = _elementwise(np.exp, math.exp)
_sin = _elementwise(np.sin, math.sin)
_cosh = _elementwise(np.cosh, math.cosh)
_sinh = _elementwise(np.sinh, math.sinh)
_sqrt = _elementwise(np.sqrt, math.sqrt)


def _sign(x: Any) -> Any:
    # np.sign, without its microsecond on a Python float; nan stays nan.
    if type(x) is float or type(x) is int:
        return float((x > 0) - (x < 0)) if x == x else x
    return np.sign(x)


def _sigmoid_scalar(x: float) -> float:
    # 1 / (1 + e^-x) for x >= 0 and e^x / (1 + e^x) below: the exponential never
    # overflows and both branches are relatively accurate in their tail.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _logaddexp_scalar(a: float, b: float) -> float:
    # max(a, b) + log1p(e^-|a - b|): the exponential never overflows.
    top = max(a, b)
    if top == -math.inf:
        return -math.inf
    return top + math.log1p(math.exp(-abs(a - b)))


def _softplus_scalar(x: float) -> float:
    # log(1 + e^x) = x + log1p(e^-x) for x > 0: no overflow, and exactly x far out.
    if x > 0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


def _sigmoid(x: Any) -> Any:
    # exp(-log(1 + e^-x)): no overflow, and relatively accurate in both tails (the
    # textbook 1 / (1 + e^-x) overflows, and 0.5 (1 + tanh(x/2)) cancels for x << 0).
    if type(x) is float or type(x) is int:
        return _sigmoid_scalar(x)
    return np.exp(-np.logaddexp(0.0, -x))


def _softplus(x: Any) -> Any:
    # log(1 + e^x) without overflow: logaddexp(0, x).
    return np.logaddexp(0.0, x)


def _relu(x: Any) -> Any:
    return np.maximum(x, 0.0)


def _relu_scalar(x: float) -> float:
    # nan > 0 is False, so test for it: np.maximum propagates nan, and so does this.
    return x if x > 0 or x != x else 0.0


def _step(condition: Any) -> Any:
    # 1.0 where condition holds, else 0.0: a bool, a bool array, or a bool-valued tensor
    # comparison times 1.0; no np.where, so it is cheap on a Python bool.
    return condition * 1.0


def _pow_partials_scalar(a: float, b: float, out: float) -> tuple[float, float] | None:
    # The Python-number path of _pow_partials; None where math refuses (0 to a negative
    # power, a negative base to a fractional power, overflow) and NumPy must decide.
    try:
        da = 0.0 if b == 0 else b * math.pow(a, b - 1.0)
        if a == 0:
            db = 0.0
        elif a > 0:
            db = out * math.log(a)
        else:
            db = math.nan  # log of a negative base, as NumPy says it
    except (ValueError, OverflowError):
        return None
    return da, db


def _pow_base_partial(a: Any, b: Any, out: Any) -> Any:
    # d(a^b)/da = b a^(b-1); at a = b = 0 that is 0 * inf, where the derivative of a^0 = 1
    # is 0.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0.0, b * np.power(a, b - 1.0))


def _pow_exponent_partial(a: Any, b: Any, out: Any) -> Any:
    # d(a^b)/db = a^b log a, taken as 0 where a == 0 so that constant exponents do
    # not poison the gradient with log(0).
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(a == 0, 0.0, out * np.log(np.where(a == 0, 1.0, a)))


def _pow_base_vjp(g: Any, a: Any, b: Any, out: Any) -> Any:
    # g * b a^(b-1), with g * a^(b-1) made once and scaled in place by b.
    if isinstance(b, int | float | np.number) and b != 0 and not _is_py_number(a):
        with np.errstate(divide="ignore", invalid="ignore"):
            return _scale_fresh(g * a if b == 2 else g * a ** (b - 1.0), b)
    return g * _pow_base_partial(a, b, out)


def _pow_partials(a: Any, b: Any, out: Any) -> tuple[Any, Any]:
    if _is_py_number(a) and _is_py_number(b) and _is_py_number(out):
        fast = _pow_partials_scalar(a, b, out)
        if fast is not None:
            return fast
    return _pow_base_partial(a, b, out), _pow_exponent_partial(a, b, out)


_ROWS: tuple[Primitive, ...] = (
    # operators
    Primitive(
        "add",
        2,
        np.add,
        lambda a, b: a + b,
        lambda a, b, out: (1.0, 1.0),
        "operator",
        scalar=operator.add,
        saves=_reads_nothing,
    ),
    Primitive(
        "subtract",
        2,
        np.subtract,
        lambda a, b: a - b,
        lambda a, b, out: (1.0, -1.0),
        "operator",
        scalar=operator.sub,
        saves=_reads_nothing,
    ),
    Primitive(
        "multiply",
        2,
        np.multiply,
        lambda a, b: a * b,
        lambda a, b, out: (b, a),
        "operator",
        scalar=operator.mul,
        saves=lambda needs: ((needs[1], needs[0]), False),
    ),
    Primitive(
        "divide",
        2,
        np.true_divide,
        lambda a, b: a / b,
        lambda a, b, out: (1.0 / b, -out / b),
        "operator",
        scalar=operator.truediv,
        per_argument_vjp=(lambda g, a, b, out: g / b, lambda g, a, b, out: -(g * out) / b),
        saves=lambda needs: ((False, True), needs[1]),
    ),
    Primitive(
        "negative",
        1,
        np.negative,
        lambda a: -a,
        lambda a, out: (-1.0,),
        "operator",
        scalar=operator.neg,
        saves=_reads_nothing,
    ),
    Primitive(
        "power",
        2,
        np.power,
        lambda a, b: a**b,
        _pow_partials,
        "operator",
        ("pow",),
        scalar=math.pow,
        per_argument_vjp=(_pow_base_vjp, lambda g, a, b, out: g * _pow_exponent_partial(a, b, out)),
        saves=lambda needs: ((True, True), needs[1]),
    ),
    # elementary functions
    Primitive(
        "sin",
        1,
        np.sin,
        sympy.sin,
        lambda x, out: (_cos(x),),
        scalar=math.sin,
        saves=_reads_arguments,
    ),
    Primitive(
        "cos",
        1,
        np.cos,
        sympy.cos,
        lambda x, out: (-_sin(x),),
        scalar=math.cos,
        saves=_reads_arguments,
    ),
    Primitive(
        "tan",
        1,
        np.tan,
        sympy.tan,
        lambda x, out: (1.0 + out * out,),
        scalar=math.tan,
        saves=_reads_output,
    ),
    Primitive(
        "exp", 1, np.exp, sympy.exp, lambda x, out: (out,), scalar=math.exp, saves=_reads_output
    ),
    Primitive(
        "log",
        1,
        np.log,
        sympy.log,
        lambda x, out: (1.0 / x,),
        aliases=("ln",),
        scalar=math.log,
        saves=_reads_arguments,
    ),
    Primitive(
        "log1p",
        1,
        np.log1p,
        log1p,  # not log(1 + x): compiled, that rounds 1 + x and loses x's low digits
        lambda x, out: (1.0 / (1.0 + x),),
        scalar=math.log1p,
        saves=_reads_arguments,
    ),
    Primitive(
        "expm1",
        1,
        np.expm1,
        expm1,  # not exp(x) - 1, which cancels for small x
        lambda x, out: (out + 1.0,),
        scalar=math.expm1,
        saves=_reads_output,
    ),
    Primitive(
        "sqrt",
        1,
        np.sqrt,
        sympy.sqrt,
        lambda x, out: (0.5 / out,),
        scalar=math.sqrt,
        saves=_reads_output,
    ),
    Primitive(
        "abs",
        1,
        np.abs,
        sympy.Abs,
        lambda x, out: (_sign(x),),
        aliases=("absolute", "fabs"),
        smooth=False,
        scalar=math.fabs,
        saves=_reads_arguments,
    ),
    Primitive(
        "sign",
        1,
        np.sign,
        sympy.sign,
        lambda x, out: (0.0 * x,),
        smooth=False,
        scalar=_sign,
        saves=_reads_arguments,
    ),
    Primitive(
        "tanh",
        1,
        np.tanh,
        sympy.tanh,
        lambda x, out: (1.0 - out * out,),
        scalar=math.tanh,
        saves=_reads_output,
    ),
    Primitive(
        "sinh",
        1,
        np.sinh,
        sympy.sinh,
        lambda x, out: (_cosh(x),),
        scalar=math.sinh,
        saves=_reads_arguments,
    ),
    Primitive(
        "cosh",
        1,
        np.cosh,
        sympy.cosh,
        lambda x, out: (_sinh(x),),
        scalar=math.cosh,
        saves=_reads_arguments,
    ),
    Primitive(
        "arctan",
        1,
        np.arctan,
        sympy.atan,
        lambda x, out: (1.0 / (1.0 + x * x),),
        aliases=("atan",),
        scalar=math.atan,
        saves=_reads_arguments,
    ),
    Primitive(
        "arcsin",
        1,
        np.arcsin,
        sympy.asin,
        lambda x, out: (1.0 / _sqrt(1.0 - x * x),),
        aliases=("asin",),
        scalar=math.asin,
        saves=_reads_arguments,
    ),
    Primitive(
        "arccos",
        1,
        np.arccos,
        sympy.acos,
        lambda x, out: (-1.0 / _sqrt(1.0 - x * x),),
        aliases=("acos",),
        scalar=math.acos,
        saves=_reads_arguments,
    ),
    Primitive(
        "sigmoid",
        1,
        _sigmoid,
        lambda x: 1 / (1 + sympy.exp(-x)),
        lambda x, out: (out * _sigmoid(-x),),  # not out (1 - out): it cancels for x >> 0
        aliases=("logistic", "expit"),
        scalar=_sigmoid_scalar,
    ),
    Primitive(
        "softplus",
        1,
        _softplus,
        lambda x: sympy.log(1 + sympy.exp(x)),
        lambda x, out: (_sigmoid(x),),
        scalar=_softplus_scalar,
        saves=_reads_arguments,
    ),
    Primitive(
        "relu",
        1,
        _relu,
        lambda x: sympy.Max(x, 0),
        lambda x, out: (_step(x > 0),),
        smooth=False,
        scalar=_relu_scalar,
        saves=_reads_arguments,
    ),
    Primitive(
        "logaddexp",
        2,
        np.logaddexp,
        lambda a, b: sympy.log(sympy.exp(a) + sympy.exp(b)),
        # e^(a - out) = e^a / (e^a + e^b): never overflows, since out >= max(a, b)
        lambda a, b, out: (_exp(a - out), _exp(b - out)),
        doc="log(e^a + e^b) without overflow; the stable sigmoid and softplus are built on it",
        scalar=_logaddexp_scalar,
    ),
    Primitive(
        "maximum",
        2,
        np.maximum,
        sympy.Max,
        lambda a, b, out: (_step(a > b), _step(b > a)),
        aliases=("max",),
        smooth=False,
        saves=_reads_arguments,
    ),
    Primitive(
        "minimum",
        2,
        np.minimum,
        sympy.Min,
        lambda a, b, out: (_step(a < b), _step(b < a)),
        aliases=("min",),
        smooth=False,
        saves=_reads_arguments,
    ),
)

PRIMITIVES: Mapping[str, Primitive] = MappingProxyType({row.name: row for row in _ROWS})
_BY_ALIAS: Mapping[str, Primitive] = MappingProxyType(
    {alias: row for row in _ROWS for alias in (row.name, *row.aliases)}
)


def get(name: str) -> Primitive:
    """The row called ``name`` (or one of its aliases); the error lists the known names."""
    try:
        return _BY_ALIAS[name]
    except KeyError:
        known = ", ".join(sorted(_BY_ALIAS))
        raise UnknownPrimitiveError(f"{name!r} is not a primitive; known: {known}") from None


def function_names() -> tuple[str, ...]:
    """Names (aliases included) that may be called in an expression string, sorted."""
    return tuple(sorted(n for n, row in _BY_ALIAS.items() if row.kind == "function"))
