"""Expression swell in numbers: how big a derivative is, depending on how it is built.

For one function and derivative order, ``expression_size`` counts operations of

- ``raw``: SymPy's derivative as a tree (``sympy.count_ops`` of ``sympy.diff``), what
  a naive symbolic derivative evaluates;
- ``cse``: the same derivative after ``sympy.cse`` (assignments plus reduced outputs);
- ``program``: diffkit's derivative program (symbolic reverse mode over the
  straight-line program of ``f``), what the compiled derivative evaluates;
- ``tape``: the nodes ``diffkit.autodiff`` records to compute the same derivative
  (the graph of ``f`` for first derivatives; with the recorded backward passes for
  higher ones).

These are the numbers behind the report's expression-swell chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy

from ..autodiff import engine as ad
from ..autodiff.tensor import Tensor
from ..function import as_callable
from .program import count_ops
from .reverse import derivative_program
from .source import default_shape, expressions_of

__all__ = ["ExpressionSize", "expression_size"]


@dataclass(frozen=True)
class ExpressionSize:
    """Operation counts of one derivative, built four ways (``None``: not computed)."""

    order: int
    raw: int | None
    cse: int | None
    program: int
    tape: int | None


def _raw_derivatives(
    expr: sympy.Expr, variables: tuple[sympy.Symbol, ...], n: int
) -> list[sympy.Expr]:
    level = [expr]
    for _ in range(n):
        level = [sympy.diff(e, v) for e in level for v in variables]
    return level


def _tape_nodes(f: Any, shape: tuple[int, ...], n: int, at: float) -> int | None:
    leaf = Tensor(np.full(shape, at))
    out = as_callable(f)(leaf)
    for _ in range(n - 1):
        if not isinstance(out, Tensor):
            return 0
        seed = np.ones(out.shape, dtype=out.dtype)
        if out.size != 1 and shape:
            return None  # a recorded Jacobian's nodes are not one graph: not counted
        out = ad.backward(out, seed, create_graph=True, wrt=(leaf,)).get(id(leaf))
    return len(ad.reachable(out)) if isinstance(out, Tensor) else 0


def expression_size(
    f: Any,
    n: int = 1,
    *,
    ndim: int | None = None,
    raw: bool = True,
    tape: bool = True,
    at: float = 0.5,
) -> ExpressionSize:
    """Operation counts of the n-th derivative of ``f`` (gradient, Hessian when multivariate).

    ``raw=False`` skips SymPy's tree derivative, which swells past a million operations
    on deep compositions; ``at`` is the point where the autodiff tape is recorded.
    """
    shape = default_shape(f, ndim)
    outputs, variables = expressions_of(f, shape)
    program = derivative_program(list(outputs.ravel()), variables, n)
    raw_count = cse_count = None
    if raw:
        derivatives = [d for e in outputs.ravel() for d in _raw_derivatives(e, variables, n)]
        raw_count = sum(count_ops(d) for d in derivatives)
        replacements, reduced = sympy.cse(derivatives)
        cse_count = sum(count_ops(e) for _, e in replacements) + sum(count_ops(e) for e in reduced)
    tape_count = None
    if tape:
        try:
            tape_count = _tape_nodes(f, shape, n, at)
        except TypeError:  # reverse mode cannot run it (Subs, unknown functions)
            tape_count = None
    return ExpressionSize(
        order=n,
        raw=raw_count,
        cse=cse_count,
        program=program.operation_count(),
        tape=tape_count,
    )
