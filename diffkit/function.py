"""A function to differentiate: a NumPy callable, and its SymPy expression when known.

Every backend and the report take a ``Function`` (or anything ``as_function`` turns
into one). The callable is what finite differences and reverse mode evaluate; the
expression, when there is one, is what symbolic differentiation and the ground
truth use. A function built from a string goes through the safe parser, so no text
is ever executed.

Calling convention: a function of one variable maps an array of points elementwise;
a function of ``n`` variables takes one array whose first axis has length ``n``
(``f(x)`` with ``x[0], x[1], ...`` the variables), so extra trailing axes batch points.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy

from . import ops
from .kink_functions import normalize_minmax
from .parse import parse_expression, symbol

__all__ = ["Function", "as_callable", "as_function", "coordinate_line"]

Point = float | tuple[float, ...]


# lambdify prints SymPy functions by their class names; point each at its row's NumPy
# column so compiled functions follow the table (maximum, relu, Abs, sign) and accept
# complex input for the complex step. SymPy's own n-ary Max and Min (in a user's SymPy
# expression) are folded over their arguments: a binary ufunc would take a third
# argument as its ``out``.
def _folded(binary: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    return lambda *args: functools.reduce(binary, args)


_NUMPY_NAMESPACE: dict[str, Any] = {
    "Max": _folded(np.maximum),
    "Min": _folded(np.minimum),
    **{name: row.numpy for name, row in ops.SYMPY_CLASSES.items()},
}


class _Compiled:
    """``expr`` as a callable following the module's calling convention, compiled on first use.

    lambdify costs milliseconds per expression; deferring it keeps ``import diffkit``
    (which builds the whole catalog) from paying for functions nobody evaluates.
    """

    __slots__ = ("_compiled", "expr", "variables")

    def __init__(self, expr: sympy.Expr, variables: Sequence[sympy.Symbol]) -> None:
        self.expr = expr
        self.variables = tuple(variables)
        self._compiled: Callable[..., Any] | None = None

    def _function(self) -> Callable[..., Any]:
        if self._compiled is None:
            self._compiled = sympy.lambdify(
                list(self.variables), self.expr, modules=[_NUMPY_NAMESPACE, "numpy"], cse=True
            )
        return self._compiled

    def __getstate__(self) -> tuple[sympy.Expr, tuple[sympy.Symbol, ...]]:
        # The compiled function is rebuilt on first use: lambdify's output does not pickle.
        return self.expr, self.variables

    def __setstate__(self, state: tuple[sympy.Expr, tuple[sympy.Symbol, ...]]) -> None:
        self.expr, self.variables = state
        self._compiled = None

    def __call__(self, x: Any) -> Any:
        compiled = self._function()
        nvars = len(self.variables)
        if nvars == 1:
            value = compiled(x)
            return value + np.zeros_like(x) if np.ndim(value) < np.ndim(x) else value
        if len(x) != nvars:
            raise ValueError(f"expected {nvars} variables along the first axis, got {len(x)}")
        value = compiled(*x)
        batch = np.shape(x)[1:]
        return (
            value + np.zeros(batch, dtype=np.result_type(value, x[0]))
            if np.shape(value) != batch
            else value
        )


@dataclass(frozen=True, eq=False)
class Function:
    """A named function with optional exact expression, domain, sample points and tags.

    ``domain`` holds one closed interval ``(lo, hi)`` per variable (``None``: all reals);
    ``points`` are where the report evaluates it; ``tags`` say what is special about it
    (``"kink"``, ``"infinite-derivative"``, ``"noisy"``, ``"multivariate"``, ...).
    """

    name: str
    numpy: Callable[..., Any]
    expr: sympy.Expr | None = None
    variables: tuple[sympy.Symbol, ...] = (symbol("x"),)
    domain: tuple[tuple[float, float], ...] | None = None
    points: tuple[Point, ...] = ()
    tags: frozenset[str] = field(default_factory=frozenset)
    why: str = ""
    batched: bool = False  # follows the calling convention's trailing batch axes (compiled ones do)

    @property
    def ndim(self) -> int:
        """Number of input variables."""
        return len(self.variables)

    @property
    def has_expression(self) -> bool:
        return self.expr is not None

    def __call__(self, x: Any) -> Any:
        return self.numpy(x)

    def __repr__(self) -> str:
        shown = f", expr={self.expr}" if self.expr is not None else ""
        return f"Function({self.name!r}{shown})"

    def in_domain(self, point: Point) -> bool:
        """Whether ``point`` lies in the declared domain (always true without one)."""
        if self.domain is None:
            return True
        coords = np.atleast_1d(np.asarray(point, dtype=float))
        return all(lo <= c <= hi for c, (lo, hi) in zip(coords, self.domain, strict=True))

    @classmethod
    def from_expr(
        cls,
        expr: sympy.Expr,
        variables: Sequence[sympy.Symbol | str] | None = None,
        *,
        name: str | None = None,
        domain: Sequence[tuple[float, float]] | None = None,
        points: Iterable[Point] = (),
        tags: Iterable[str] = (),
        why: str = "",
    ) -> Function:
        """Build from a SymPy expression; variables default to its free symbols, sorted by name."""
        expr = sympy.sympify(expr) if isinstance(expr, int | float) else expr
        if not isinstance(expr, sympy.Expr):
            raise TypeError(f"expected a SymPy expression, got {type(expr).__name__}")
        if variables is None:
            found = sorted(expr.free_symbols, key=lambda s: s.name)
            syms = tuple(found) if found else (symbol("x"),)
        else:
            syms = tuple(symbol(v) if isinstance(v, str) else v for v in variables)
            missing = {s.name for s in expr.free_symbols} - {s.name for s in syms}
            if missing:
                raise ValueError(
                    f"expression uses {sorted(missing)} beyond variables {[s.name for s in syms]}"
                )
        # Use our real symbols even when the caller built the expression with plain ones,
        # and binary maximum/minimum for SymPy's Max/Min (their ties follow ops.py).
        expr = normalize_minmax(expr).xreplace(
            {s: symbol(s.name) for s in expr.free_symbols if isinstance(s, sympy.Symbol)}
        )
        syms = tuple(symbol(s.name) for s in syms)
        all_tags = set(tags) | ({"multivariate"} if len(syms) > 1 else set())
        return cls(
            name=name or str(expr),
            numpy=_Compiled(expr, syms),
            expr=expr,
            variables=syms,
            domain=tuple(domain) if domain is not None else None,
            points=tuple(points),
            tags=frozenset(all_tags),
            why=why,
            batched=True,
        )

    @classmethod
    def from_string(
        cls,
        text: str,
        variables: Sequence[str] | None = None,
        *,
        name: str | None = None,
        **options: Any,
    ) -> Function:
        """Build from an expression string through the safe parser (never ``eval``)."""
        expr = parse_expression(text, variables=variables)
        return cls.from_expr(expr, variables, name=name or text, **options)

    @classmethod
    def from_callable(
        cls,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        ndim: int = 1,
        expr: sympy.Expr | None = None,
        points: Iterable[Point] = (),
        tags: Iterable[str] = (),
        domain: Sequence[tuple[float, float]] | None = None,
        why: str = "",
    ) -> Function:
        """Wrap a plain NumPy callable; without ``expr`` there is no ground truth for it."""
        names = ["x"] if ndim == 1 else [f"x{i}" for i in range(ndim)]
        if expr is not None:  # diffkit's real symbols, as from_expr makes them
            expr = normalize_minmax(sympy.sympify(expr)).xreplace(
                {s: symbol(s.name) for s in expr.free_symbols if isinstance(s, sympy.Symbol)}
            )
        return cls(
            name=name or str(getattr(fn, "__name__", "f")),
            numpy=fn,
            expr=expr,
            variables=tuple(symbol(n) for n in names),
            domain=tuple(domain) if domain is not None else None,
            points=tuple(points),
            tags=frozenset(tags),
            why=why,
        )


def as_function(f: Function | str | sympy.Expr | Callable[..., Any]) -> Function:
    """Turn whatever a user passes as ``f`` into a ``Function``."""
    if isinstance(f, Function):
        return f
    if isinstance(f, str):
        return Function.from_string(f)
    if isinstance(f, sympy.Expr):
        return Function.from_expr(f)
    if callable(f):
        return Function.from_callable(f)
    raise TypeError(
        f"cannot differentiate a {type(f).__name__}: pass a callable, an expression string, "
        "a SymPy expression or a diffkit.Function"
    )


def as_callable(f: Function | str | sympy.Expr | Callable[..., Any]) -> Callable[..., Any]:
    """The NumPy callable behind ``f``, without wrapping plain callables."""
    if callable(f) and not isinstance(f, Function | sympy.Expr):
        return f
    return as_function(f).numpy


# Below this many points a loop of scalar calls beats one call on small arrays: NumPy's
# per-call overhead dominates for the tiny arrays of a stencil.
_BATCH_FROM = 8


def coordinate_line(f: Any, point: np.ndarray, i: int) -> Callable[[np.ndarray], np.ndarray]:
    """t -> f(point with coordinate i set to t), for an array t: result shape (t.size, *out).

    Finite differences walk f along one axis at a time with this; a batched
    ``Function`` gets all values of t in one call, any other callable one call each.
    """
    fn = as_callable(f)
    batched = isinstance(f, Function) and f.batched

    def line(t: np.ndarray) -> np.ndarray:
        if batched and t.size >= _BATCH_FROM:
            ys = np.repeat(point.astype(t.dtype)[:, None], t.size, axis=1)
            ys[i] = t
            return np.moveaxis(np.asarray(fn(ys)), -1, 0)
        rows = []
        for ti in t:
            y = point.astype(ti.dtype, copy=True)
            y[i] = ti
            rows.append(np.asarray(fn(y)))
        return np.stack(rows)

    return line
