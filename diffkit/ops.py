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

Conventions at kinks, shared by every backend that uses this table (and by the
SymPy classes of ``kink_functions.py``, so the symbolic backend and the ground truth
follow them too): ``abs'(0) = 0`` and ``relu'(0) = 0``; at a tie ``maximum(a, b)`` and
``minimum(a, b)`` give each argument half of the gradient, so ``maximum(x, x)' = 1``
and every tie gets a valid subgradient (torch's and jax's rule too). Step functions
(``sign``, ``floor``, ``ceil``, ``trunc``, ``rint``, and the jumps of ``remainder``)
have derivative 0 wherever they are differentiated.
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

from . import kink_functions

__all__ = [
    "PRIMITIVES",
    "SYMPY_CLASSES",
    "UFUNCS",
    "Primitive",
    "UnknownPrimitiveError",
    "function_names",
    "get",
]

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
    # Further NumPy ufuncs the row stands for (np.fabs beside np.absolute, np.degrees
    # beside np.rad2deg): dispatch maps each of them to this row.
    ufuncs: tuple[Callable[..., Any], ...] = field(default=())
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


def _share(wins: Any, tie: Any) -> Any:
    # 1 where the argument is the larger (smaller) one, 1/2 at a tie, 0 elsewhere: the
    # weights of the two arguments sum to 1, a subgradient of max (min) at every tie.
    return wins * 1.0 + tie * 0.5


def _maximum_partials(a: Any, b: Any, out: Any) -> tuple[Any, Any]:
    tie = a == b
    return _share(a > b, tie), _share(b > a, tie)


def _minimum_partials(a: Any, b: Any, out: Any) -> tuple[Any, Any]:
    tie = a == b
    return _share(a < b, tie), _share(b < a, tie)


def _isnan(x: Any) -> Any:
    return x != x  # nan is the one value unequal to itself; cheap on floats and tensors


def _only(a: Any, b: Any) -> Any:
    # 1.0 where a is a number and b is nan: np.fmax(a, nan) = a, so all of g goes to a
    if _is_py_number(a) and _is_py_number(b):
        return float(b != b and a == a)
    return _step(np.logical_and(_isnan(b), np.logical_not(_isnan(a))))


def _fmax_partials(a: Any, b: Any, out: Any) -> tuple[Any, Any]:
    # np.fmax ignores a nan argument: the other one is the result, and gets the gradient.
    da, db = _maximum_partials(a, b, out)
    return da + _only(a, b), db + _only(b, a)


def _fmin_partials(a: Any, b: Any, out: Any) -> tuple[Any, Any]:
    da, db = _minimum_partials(a, b, out)
    return da + _only(a, b), db + _only(b, a)


def _safe_ratio(a: Any, out: Any) -> Any:
    # a / out, and 0 where out is 0 (hypot at the origin: 0 is a subgradient of the
    # norm there), without dividing by zero in either branch (that would be NaN for
    # a recorded pass that differentiates this rule again).
    if _is_py_number(a) and _is_py_number(out):
        return a / out if out else 0.0
    zero = out == 0
    return np.where(zero, 0.0, a / np.where(zero, 1.0, out))


def _floor_quotient(a: Any, b: Any) -> Any:
    # floor(a / b), the integer part np.remainder subtracts: a % b = a - b floor(a / b).
    if _is_py_number(a) and _is_py_number(b) and b != 0:
        return float(math.floor(a / b))
    return np.floor(np.true_divide(a, b))


_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_exp2 = _elementwise(np.exp2, lambda x: 2.0**x)


def _logaddexp2_scalar(a: float, b: float) -> float:
    # max(a, b) + log2(1 + 2^-|a - b|): the power never overflows.
    top = max(a, b)
    if top == -math.inf:
        return -math.inf
    return top + math.log1p(2.0 ** -abs(a - b)) / _LN2


def _trunc_quotient(a: Any, b: Any) -> Any:
    # trunc(a / b), the integer part np.fmod subtracts: fmod(a, b) = a - b trunc(a / b).
    if _is_py_number(a) and _is_py_number(b) and b != 0:
        return float(math.trunc(a / b))
    return np.trunc(np.true_divide(a, b))


def _sign_of(b: Any) -> Any:
    # copysign(1, b): +1 for b >= +0, -1 for b <= -0 (the sign bit, not np.sign)
    if _is_py_number(b):
        return math.copysign(1.0, b)
    return np.copysign(1.0, b)


def _copysign_sympy(a: Any, b: Any) -> Any:
    return sympy.Abs(a) * (2 * sympy.Heaviside(b, 1) - 1)


def _trunc_sympy(x: Any) -> Any:
    return sympy.sign(x) * kink_functions.floor(sympy.Abs(x))


def _cbrt_sympy(x: Any) -> Any:
    # the real cube root (x**(1/3) is the principal, complex, one for x < 0)
    return sympy.sign(x) * sympy.Abs(x) ** sympy.Rational(1, 3)


def _zero_partial(*args: Any) -> tuple[Any, ...]:
    # a step function: derivative 0 in every argument (args: the arguments, then out)
    return (0.0,) * (len(args) - 1)


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
    # is 0. A zero exponent never touches a (a constant one gives the constant 0): in a
    # recorded pass, the unused branch of a where still has its own derivative taken,
    # and 0 * inf there would be NaN in the Hessian.
    if isinstance(b, int | float | np.number):
        if b == 0:
            return 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            return b * np.power(a, b - 1.0)
    zero = b == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(zero, 0.0, b * np.power(np.where(zero, 1.0, a), b - 1.0))


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
        ufuncs=(np.float_power,),
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
        ufuncs=(np.fabs,),
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
        kink_functions.relu,
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
        kink_functions.maximum,
        _maximum_partials,
        aliases=("max",),
        smooth=False,
        saves=_reads_arguments,
        doc="at a tie each argument gets half the gradient",
    ),
    Primitive(
        "minimum",
        2,
        np.minimum,
        kink_functions.minimum,
        _minimum_partials,
        aliases=("min",),
        smooth=False,
        saves=_reads_arguments,
        doc="at a tie each argument gets half the gradient",
    ),
    Primitive(
        "fmax",
        2,
        np.fmax,
        kink_functions.maximum,
        _fmax_partials,
        smooth=False,
        saves=_reads_arguments,
        doc="np.maximum that ignores a nan argument",
    ),
    Primitive(
        "fmin",
        2,
        np.fmin,
        kink_functions.minimum,
        _fmin_partials,
        smooth=False,
        saves=_reads_arguments,
        doc="np.minimum that ignores a nan argument",
    ),
    Primitive(
        "square",
        1,
        np.square,
        lambda x: x**2,
        lambda x, out: (2.0 * x,),
        scalar=lambda x: x * x,
        saves=_reads_arguments,
    ),
    Primitive(
        "reciprocal",
        1,
        np.reciprocal,
        lambda x: 1 / x,
        lambda x, out: (-(out * out),),
        scalar=lambda x: 1.0 / x,
        saves=_reads_output,
    ),
    Primitive(
        "log2",
        1,
        np.log2,
        lambda x: sympy.log(x, 2),
        lambda x, out: (1.0 / (_LN2 * x),),
        scalar=math.log2,
        saves=_reads_arguments,
    ),
    Primitive(
        "log10",
        1,
        np.log10,
        lambda x: sympy.log(x, 10),
        lambda x, out: (1.0 / (_LN10 * x),),
        scalar=math.log10,
        saves=_reads_arguments,
    ),
    Primitive(
        "exp2",
        1,
        np.exp2,
        lambda x: 2**x,
        lambda x, out: (_LN2 * out,),
        scalar=lambda x: 2.0**x,
        saves=_reads_output,
    ),
    Primitive(
        "logaddexp2",
        2,
        np.logaddexp2,
        lambda a, b: sympy.log(2**a + 2**b, 2),
        # 2^(a - out) = 2^a / (2^a + 2^b): never overflows, since out >= max(a, b)
        lambda a, b, out: (_exp2(a - out), _exp2(b - out)),
        doc="log2(2^a + 2^b) without overflow",
        scalar=_logaddexp2_scalar,
    ),
    Primitive(
        "arctan2",
        2,
        np.arctan2,
        sympy.atan2,
        lambda y, x, out: (x / (x * x + y * y), -y / (x * x + y * y)),
        aliases=("atan2",),
        scalar=math.atan2,
        saves=_reads_arguments,
    ),
    Primitive(
        "hypot",
        2,
        np.hypot,
        lambda a, b: sympy.sqrt(a**2 + b**2),
        lambda a, b, out: (_safe_ratio(a, out), _safe_ratio(b, out)),
        scalar=math.hypot,
        doc="sqrt(a^2 + b^2) without overflow; at the origin the derivative is taken as 0",
    ),
    Primitive(
        "arcsinh",
        1,
        np.arcsinh,
        sympy.asinh,
        lambda x, out: (1.0 / _sqrt(x * x + 1.0),),
        aliases=("asinh",),
        scalar=math.asinh,
        saves=_reads_arguments,
    ),
    Primitive(
        "arccosh",
        1,
        np.arccosh,
        sympy.acosh,
        lambda x, out: (1.0 / _sqrt((x - 1.0) * (x + 1.0)),),
        aliases=("acosh",),
        scalar=math.acosh,
        saves=_reads_arguments,
    ),
    Primitive(
        "arctanh",
        1,
        np.arctanh,
        sympy.atanh,
        lambda x, out: (1.0 / ((1.0 - x) * (1.0 + x)),),
        aliases=("atanh",),
        scalar=math.atanh,
        saves=_reads_arguments,
    ),
    Primitive(
        "deg2rad",
        1,
        np.deg2rad,
        lambda x: x * sympy.pi / 180,
        lambda x, out: (math.pi / 180.0,),
        aliases=("radians",),
        ufuncs=(np.radians,),
        scalar=math.radians,
        saves=_reads_nothing,
    ),
    Primitive(
        "rad2deg",
        1,
        np.rad2deg,
        lambda x: x * 180 / sympy.pi,
        lambda x, out: (180.0 / math.pi,),
        aliases=("degrees",),
        ufuncs=(np.degrees,),
        scalar=math.degrees,
        saves=_reads_nothing,
    ),
    Primitive(
        "cbrt",
        1,
        np.cbrt,
        _cbrt_sympy,
        lambda x, out: (1.0 / (3.0 * out * out),),
        scalar=math.cbrt,
        saves=_reads_output,
    ),
    Primitive(
        "remainder",
        2,
        np.remainder,
        lambda a, b: a - b * kink_functions.floor(a / b),
        lambda a, b, out: (1.0, -_floor_quotient(a, b)),
        aliases=("mod",),
        smooth=False,
        scalar=lambda a, b: a % b,
        doc="a % b = a - b floor(a / b), with the sign of b; its jumps count as steps",
        saves=_reads_arguments,
    ),
    Primitive(
        "fmod",
        2,
        np.fmod,
        lambda a, b: a - b * _trunc_sympy(a / b),
        lambda a, b, out: (1.0, -_trunc_quotient(a, b)),
        smooth=False,
        scalar=math.fmod,
        doc="a - b trunc(a / b), with the sign of a (C's fmod); its jumps count as steps",
        saves=_reads_arguments,
    ),
    Primitive(
        "copysign",
        2,
        np.copysign,
        _copysign_sympy,
        lambda a, b, out: (_sign(a) * _sign_of(b), 0.0),
        smooth=False,
        scalar=math.copysign,
        doc="|a| with the sign of b; a step in b",
        saves=_reads_arguments,
    ),
    Primitive(
        "heaviside",
        2,
        np.heaviside,
        sympy.Heaviside,
        _zero_partial,
        smooth=False,
        doc="the step function, h0 at 0: derivative 0",
        scalar=lambda x, h: x if x != x else (0.0 if x < 0 else h if x == 0 else 1.0),
        saves=_reads_nothing,
    ),
    Primitive(
        "floor_divide",
        2,
        np.floor_divide,
        lambda a, b: kink_functions.floor(a / b),
        _zero_partial,
        smooth=False,
        scalar=lambda a, b: a // b,
        saves=_reads_nothing,
    ),
    Primitive(
        "floor",
        1,
        np.floor,
        kink_functions.floor,
        _zero_partial,
        smooth=False,
        scalar=lambda x: float(math.floor(x)),
        saves=_reads_nothing,
    ),
    Primitive(
        "ceil",
        1,
        np.ceil,
        kink_functions.ceiling,
        _zero_partial,
        aliases=("ceiling",),
        smooth=False,
        scalar=lambda x: float(math.ceil(x)),
        saves=_reads_nothing,
    ),
    Primitive(
        "trunc",
        1,
        np.trunc,
        _trunc_sympy,
        _zero_partial,
        smooth=False,
        scalar=lambda x: float(math.trunc(x)),
        saves=_reads_nothing,
    ),
    Primitive(
        "rint",
        1,
        np.rint,
        kink_functions.rint,
        _zero_partial,
        smooth=False,
        scalar=lambda x: float(round(x)),
        saves=_reads_nothing,
    ),
    Primitive(
        "positive",
        1,
        np.positive,
        lambda x: x,
        lambda x, out: (1.0,),
        "operator",
        scalar=operator.pos,
        saves=_reads_nothing,
    ),
    Primitive(
        "conjugate",
        1,
        np.conjugate,
        sympy.conjugate,
        lambda x, out: (1.0,),
        aliases=("conj",),
        scalar=lambda x: x,
        doc="the identity on real numbers (diffkit differentiates real functions)",
        saves=_reads_nothing,
    ),
)

PRIMITIVES: Mapping[str, Primitive] = MappingProxyType({row.name: row for row in _ROWS})
_BY_ALIAS: Mapping[str, Primitive] = MappingProxyType(
    {alias: row for row in _ROWS for alias in (row.name, *row.aliases)}
)
UFUNCS: Mapping[Any, Primitive] = MappingProxyType(
    {
        ufunc: row
        for row in _ROWS
        for ufunc in (row.numpy, *row.ufuncs)
        if isinstance(ufunc, np.ufunc)
    }
)
"""Every NumPy ufunc that is a row of the table (``np.fabs`` too), to its row."""


def _by_sympy_class() -> dict[str, Primitive]:
    # Rows whose SymPy column is a class (sin, Abs, maximum, ...), by the class name; where
    # several rows share a class (maximum and fmax), the row named like the class wins.
    found: dict[str, Primitive] = {}
    for row in _ROWS:
        if isinstance(row.sympy, type):
            name = row.sympy.__name__
            if name not in found or row.name == name:
                found[name] = row
    return found


SYMPY_CLASSES: Mapping[str, Primitive] = MappingProxyType(_by_sympy_class())
"""SymPy class name -> the row it stands for (``sin`` -> sin, ``Abs`` -> abs, ``maximum``)."""


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
