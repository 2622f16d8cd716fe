"""From whatever the user passed as ``f`` to SymPy expressions over ordered variables.

Strings go through the safe parser, SymPy expressions are taken as they are (with
their symbols made real, as everywhere in diffkit), a ``Function`` with an
expression uses it, and any other callable is traced on symbols of the point's shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy

from ..function import Function
from ..kink_functions import normalize_minmax
from ..parse import parse_expression, symbol
from .tracer import trace, variables_for

__all__ = ["Source", "default_shape", "expressions_of"]

Source = tuple[np.ndarray, tuple[sympy.Symbol, ...]]


def _scalar(expr: sympy.Expr) -> np.ndarray:
    array = np.empty((), dtype=object)
    array[()] = expr
    return array


def _real(expr: sympy.Expr) -> sympy.Expr:
    plain = {s: symbol(s.name) for s in expr.free_symbols if isinstance(s, sympy.Symbol)}
    return normalize_minmax(expr).xreplace(plain)


def _ordered(expr: sympy.Expr, shape: tuple[int, ...]) -> tuple[sympy.Symbol, ...]:
    # Function.from_expr's order: free symbols sorted by name (x when there are none).
    found = tuple(sorted(expr.free_symbols, key=lambda s: s.name))
    count = int(np.prod(shape))
    if shape == () and len(found) <= 1:
        return found or (symbol("x"),)
    if len(found) != count:
        if found and set(found) <= set(variables_for(shape)):
            return variables_for(shape)  # x0, x1, ... with some not used
        raise ValueError(
            f"the expression {expr} has variables {[s.name for s in found]}, "
            f"but the point has {count} coordinate(s)"
        )
    return found


def expressions_of(f: Any, shape: tuple[int, ...]) -> Source:
    """``f``'s outputs as an object array of expressions, and its variables in order."""
    if isinstance(f, str):
        expr = parse_expression(f)
        return _scalar(expr), _ordered(expr, shape)
    if isinstance(f, sympy.Expr):
        expr = _real(f)
        return _scalar(expr), _ordered(expr, shape)
    if isinstance(f, Function) and f.expr is not None:
        count = int(np.prod(shape))
        if len(f.variables) != count:
            raise ValueError(
                f"{f.name!r} has {len(f.variables)} variable(s), the point {count} coordinate(s)"
            )
        return _scalar(f.expr), f.variables
    fn = f.numpy if isinstance(f, Function) else f
    if not callable(fn):
        raise TypeError(
            f"cannot differentiate a {type(f).__name__}: pass a callable, an expression string, "
            "a SymPy expression or a diffkit.Function"
        )
    return trace(fn, shape), variables_for(shape)


def default_shape(f: Any, ndim: int | None = None) -> tuple[int, ...]:
    """The input shape ``f`` implies: ``()`` for one variable, ``(ndim,)`` for several.

    Strings, SymPy expressions and ``Function`` objects know their variables; a plain
    callable is taken as univariate unless ``ndim`` says otherwise.
    """
    if ndim is not None:
        return () if ndim == 1 else (ndim,)
    if isinstance(f, Function) and f.expr is not None:
        return () if f.ndim == 1 else (f.ndim,)
    if isinstance(f, str | sympy.Expr):
        expr = parse_expression(f) if isinstance(f, str) else f
        count = len(expr.free_symbols)
        return () if count <= 1 else (count,)
    return ()
