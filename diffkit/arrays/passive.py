"""NumPy functions whose result carries no derivative: shapes, predicates, indices, rounding.

Two kinds. ``np.shape`` or ``np.zeros_like`` read only the shape, so they work on the
tracer's symbols too; ``np.argmax`` or ``np.allclose`` read the values, which a
traced function does not have (branching on them would make the expression depend
on the point), so the tracer refuses them and reverse mode applies them to the data.
``np.round`` is a step function, written as ``rint`` so every backend can take it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .rule import ArrayRule

__all__ = ["RULES"]


def _round(a: Any, decimals: int = 0, out: Any = None) -> Any:
    if out is not None:
        raise TypeError("np.round with out=")
    if decimals == 0:
        return np.rint(a)
    scale = 10.0**decimals
    return np.rint(a * scale) / scale


_SHAPE_ONLY = (
    np.shape,
    np.ndim,
    np.size,
    np.zeros_like,
    np.ones_like,
    np.empty_like,
    np.result_type,
    np.iscomplexobj,
    np.isrealobj,
    np.may_share_memory,
    np.shares_memory,
)
_READS_VALUES = (
    np.all,
    np.any,
    np.isclose,
    np.allclose,
    np.array_equal,
    np.array_equiv,
    np.argmax,
    np.argmin,
    np.argsort,
    np.argpartition,
    np.nonzero,
    np.flatnonzero,
    np.argwhere,
    np.searchsorted,
    np.digitize,
    np.isin,
)

RULES: tuple[ArrayRule, ...] = (
    *(ArrayRule(f"np.{f.__name__}", (f,), passive=True, shape_only=True) for f in _SHAPE_ONLY),
    *(ArrayRule(f"np.{f.__name__}", (f,), passive=True) for f in _READS_VALUES),
    ArrayRule("np.round", (np.round, np.around), composite=_round),
)
