"""The primitive table: the one place that knows what an elementary function is.

Each row gives a primitive's NumPy implementation, its SymPy counterpart and its
derivative rule. Backends never keep a private list: the parser whitelists the
rows' names, the symbolic tracer maps NumPy calls to the SymPy column, and reverse
mode builds its vector-Jacobian products from the ``partials`` column.

``partials(*args, out)`` returns one array per argument, the partial derivative of
the output with respect to that argument, elementwise. Rules are written with NumPy
calls only, so the same rule runs on floats, arrays and on any tensor type that
speaks NumPy's dispatch protocols (which is what gives higher-order derivatives).

Conventions at kinks, shared by every backend that uses this table: the derivative
of ``abs``, ``relu``, ``maximum`` and ``minimum`` at a tie is 0 (a valid subgradient),
and ``sign`` has derivative 0 everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import sympy

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


class UnknownPrimitiveError(KeyError):
    """A name that is not a row of the primitive table."""


def _sigmoid(x: Any) -> Any:
    # exp(-log(1 + e^-x)): no overflow, and relatively accurate in both tails (the
    # textbook 1 / (1 + e^-x) overflows, and 0.5 (1 + tanh(x/2)) cancels for x << 0).
    return np.exp(-np.logaddexp(0.0, -x))


def _softplus(x: Any) -> Any:
    # log(1 + e^x) without overflow: logaddexp(0, x).
    return np.logaddexp(0.0, x)


def _relu(x: Any) -> Any:
    return np.maximum(x, 0.0)


def _pow_partials(a: Any, b: Any, out: Any) -> tuple[Any, Any]:
    # d(a^b)/da = b a^(b-1); d(a^b)/db = a^b log a, taken as 0 where a == 0 so that
    # constant exponents do not poison the gradient with log(0).
    with np.errstate(divide="ignore", invalid="ignore"):
        # b a^(b-1) is 0 * inf at a = b = 0, where the derivative of a^0 = 1 is 0.
        da = np.where(b == 0, 0.0, b * np.power(a, b - 1.0))
        db = np.where(a == 0, 0.0, out * np.log(np.where(a == 0, 1.0, a)))
    return da, db


_ROWS: tuple[Primitive, ...] = (
    # operators
    Primitive("add", 2, np.add, lambda a, b: a + b, lambda a, b, out: (1.0, 1.0), "operator"),
    Primitive(
        "subtract", 2, np.subtract, lambda a, b: a - b, lambda a, b, out: (1.0, -1.0), "operator"
    ),
    Primitive("multiply", 2, np.multiply, lambda a, b: a * b, lambda a, b, out: (b, a), "operator"),
    Primitive(
        "divide",
        2,
        np.true_divide,
        lambda a, b: a / b,
        lambda a, b, out: (1.0 / b, -out / b),
        "operator",
    ),
    Primitive("negative", 1, np.negative, lambda a: -a, lambda a, out: (-1.0,), "operator"),
    Primitive("power", 2, np.power, lambda a, b: a**b, _pow_partials, "operator", ("pow",)),
    # elementary functions
    Primitive("sin", 1, np.sin, sympy.sin, lambda x, out: (np.cos(x),)),
    Primitive("cos", 1, np.cos, sympy.cos, lambda x, out: (-np.sin(x),)),
    Primitive("tan", 1, np.tan, sympy.tan, lambda x, out: (1.0 + out * out,)),
    Primitive("exp", 1, np.exp, sympy.exp, lambda x, out: (out,)),
    Primitive("log", 1, np.log, sympy.log, lambda x, out: (1.0 / x,), aliases=("ln",)),
    Primitive("log1p", 1, np.log1p, lambda x: sympy.log(1 + x), lambda x, out: (1.0 / (1.0 + x),)),
    Primitive("expm1", 1, np.expm1, lambda x: sympy.exp(x) - 1, lambda x, out: (out + 1.0,)),
    Primitive("sqrt", 1, np.sqrt, sympy.sqrt, lambda x, out: (0.5 / out,)),
    Primitive(
        "abs",
        1,
        np.abs,
        sympy.Abs,
        lambda x, out: (np.sign(x),),
        aliases=("absolute", "fabs"),
        smooth=False,
    ),
    Primitive("sign", 1, np.sign, sympy.sign, lambda x, out: (0.0 * x,), smooth=False),
    Primitive("tanh", 1, np.tanh, sympy.tanh, lambda x, out: (1.0 - out * out,)),
    Primitive("sinh", 1, np.sinh, sympy.sinh, lambda x, out: (np.cosh(x),)),
    Primitive("cosh", 1, np.cosh, sympy.cosh, lambda x, out: (np.sinh(x),)),
    Primitive(
        "arctan", 1, np.arctan, sympy.atan, lambda x, out: (1.0 / (1.0 + x * x),), aliases=("atan",)
    ),
    Primitive(
        "arcsin",
        1,
        np.arcsin,
        sympy.asin,
        lambda x, out: (1.0 / np.sqrt(1.0 - x * x),),
        aliases=("asin",),
    ),
    Primitive(
        "arccos",
        1,
        np.arccos,
        sympy.acos,
        lambda x, out: (-1.0 / np.sqrt(1.0 - x * x),),
        aliases=("acos",),
    ),
    Primitive(
        "sigmoid",
        1,
        _sigmoid,
        lambda x: 1 / (1 + sympy.exp(-x)),
        lambda x, out: (out * _sigmoid(-x),),  # not out (1 - out): it cancels for x >> 0
        aliases=("logistic", "expit"),
    ),
    Primitive(
        "softplus",
        1,
        _softplus,
        lambda x: sympy.log(1 + sympy.exp(x)),
        lambda x, out: (_sigmoid(x),),
    ),
    Primitive(
        "relu",
        1,
        _relu,
        lambda x: sympy.Max(x, 0),
        lambda x, out: (np.where(x > 0, 1.0, 0.0) + 0.0 * x,),
        smooth=False,
    ),
    Primitive(
        "maximum",
        2,
        np.maximum,
        sympy.Max,
        lambda a, b, out: (
            np.where(a > b, 1.0, 0.0) + 0.0 * a,
            np.where(b > a, 1.0, 0.0) + 0.0 * b,
        ),
        aliases=("max",),
        smooth=False,
    ),
    Primitive(
        "minimum",
        2,
        np.minimum,
        sympy.Min,
        lambda a, b, out: (
            np.where(a < b, 1.0, 0.0) + 0.0 * a,
            np.where(b < a, 1.0, 0.0) + 0.0 * b,
        ),
        aliases=("min",),
        smooth=False,
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
