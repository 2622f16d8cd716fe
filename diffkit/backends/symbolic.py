"""Symbolic: exact derivatives of the traced (or parsed) expression, compiled to NumPy.

The user's NumPy function runs once on symbols (``symbolic.tracer``); the expression
becomes a straight-line program, symbolic reverse mode differentiates the program
(``symbolic.reverse``), and the derivative program is compiled with ``lambdify``
(``symbolic.compile``). ``engine`` picks who differentiates the program's nodes:
SymPy, or symengine (``pip install 'diffkit[fast]'``) for the node types where it
gives SymPy's own expressions (``symbolic.engine``). Compiled programs are cached per
(function, input shape, order, engine): the generated code is dtype-generic, so one
entry serves float64 and float32 alike, and float32 points are computed in float32.

The cache keys on the function object: a function whose behaviour changes between
calls (a closure over mutable state) must be passed as a fresh function.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from ..symbolic.compile import CompiledProgram, compile_program
from ..symbolic.engine import resolve_engine
from ..symbolic.program import Program
from ..symbolic.reverse import derivative_program
from ..symbolic.source import default_shape, expressions_of
from .costs import warn_large_hessian
from .inputs import as_points, check_order

__all__ = ["Symbolic", "SymbolicResult"]

_CACHE_SIZE = 256
_cache: OrderedDict[Any, _Entry] = OrderedDict()


@dataclass(frozen=True)
class _Entry:
    program: Program
    compiled: CompiledProgram
    output_shape: tuple[int, ...]


@dataclass(frozen=True)
class SymbolicResult:
    """A derivative with a status per point: ``"ok"``, ``"infinite"`` (a pole) or ``"undefined"``."""

    value: np.ndarray
    status: np.ndarray

    @property
    def ok(self) -> bool:
        return bool(np.all(self.status == "ok"))


class Symbolic:
    """Exact symbolic derivatives of plain NumPy code, strings or SymPy expressions."""

    name = "symbolic"

    def __init__(self, *, engine: str = "auto") -> None:
        """``engine``: ``"auto"`` (symengine when importable), ``"sympy"`` or ``"symengine"``."""
        self.engine = engine
        self._engine = resolve_engine(engine)  # fails here, not at the first derivative

    def __repr__(self) -> str:
        return "Symbolic()" if self.engine == "auto" else f"Symbolic(engine={self.engine!r})"

    # ------------------------------------------------------------------ programs

    def compiled(self, f: Any, shape: tuple[int, ...], n: int, *, scalar: str = "") -> _Entry:
        """The n-th derivative program of ``f`` on inputs of ``shape``, compiled (cached).

        ``scalar`` names the caller that needs a scalar-valued ``f``; it is checked on the
        traced expression, before any differentiation.
        """
        try:
            key: Any = (f, shape, n, self._engine)
            hash(key)
        except TypeError:
            key = None
        entry = _cache.get(key) if key is not None else None
        if entry is None:
            outputs, variables = expressions_of(f, shape)
            _require_scalar(outputs.shape, scalar)
            program = derivative_program(list(outputs.ravel()), variables, n, engine=self._engine)
            entry = _Entry(program, compile_program(program), outputs.shape)
            if key is not None:
                _cache[key] = entry
                if len(_cache) > _CACHE_SIZE:
                    _cache.popitem(last=False)
        else:
            _cache.move_to_end(key)
            _require_scalar(entry.output_shape, scalar)
        return entry

    def expression(self, f: Any, n: int = 1, *, ndim: int | None = None) -> Any:
        """The exact n-th derivative as SymPy: an expression for f: R -> R, else a Matrix.

        A multivariate callable needs ``ndim`` (its number of variables); strings, SymPy
        expressions and ``Function`` objects know theirs.
        """
        shape = default_shape(f, ndim)
        entry = self.compiled(f, shape, check_order(n, minimum=0))
        values = entry.program.expand()
        if shape == () and len(values) == 1:
            return values[0]
        count = int(np.prod(shape))
        return sympy.Matrix(len(values) // count, count, values)

    # ------------------------------------------------------------------ the protocol

    def derivative(self, f: Any, x: Any, n: int = 1) -> Any:
        """The exact n-th derivative of f: R -> R at each point of x, compiled and vectorized."""
        order = check_order(n)
        points = as_points(x)
        entry = self.compiled(f, (), order, scalar="derivative (f: R -> R)")
        value = entry.compiled(points, dtype=points.dtype)[0]
        return value[()] if value.ndim == 0 else value

    def gradient(self, f: Any, x: Any) -> np.ndarray:
        """The exact gradient of f: R^n -> R at x, from one symbolic reverse pass."""
        point = as_points(x)
        entry = self.compiled(f, point.shape, 1, scalar="gradient")
        return entry.compiled(*point.ravel(), dtype=point.dtype).reshape(point.shape)

    def jacobian(self, f: Any, x: Any) -> np.ndarray:
        """The exact Jacobian of f: R^n -> R^m at x, shape (m, n)."""
        point = as_points(x)
        entry = self.compiled(f, point.shape, 1)
        return entry.compiled(*point.ravel(), dtype=point.dtype).reshape(-1, point.size)

    def hessian(self, f: Any, x: Any) -> np.ndarray:
        """The exact Hessian of f: R^n -> R at x, shape (n, n): reverse over reverse."""
        point = as_points(x)
        warn_large_hessian(point.size, "symbolic")
        entry = self.compiled(f, point.shape, 2, scalar="hessian")
        values = entry.compiled(*point.ravel(), dtype=point.dtype)
        return values.reshape(point.size, point.size)

    def estimate(self, f: Any, x: Any, n: int = 1) -> SymbolicResult:
        """``derivative`` with a status per point: poles (sqrt at 0) and points outside the domain."""
        value = np.asarray(self.derivative(f, x, n))
        status = np.where(
            np.isfinite(value), "ok", np.where(np.isinf(value), "infinite", "undefined")
        )
        return SymbolicResult(value=value, status=status)


def _require_scalar(shape: tuple[int, ...], caller: str) -> None:
    if caller and shape != ():
        raise ValueError(
            f"{caller} needs a scalar-valued function; this one returns shape {shape} "
            "(use jacobian)"
        )
