"""The NumPy functions the tracer understands on arrays of SymPy expressions.

Reductions build one n-ary SymPy node (``Add(*terms)``, not a chain of binary sums,
which SymPy would re-flatten at every step); products of arrays sum exact products;
shape functions act on the object array itself. Anything else is refused by the
tracer with an error naming the call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy

from .tracer import SymbolicArray, _lift, _wrap, unsupported

__all__ = ["FUNCTIONS", "matmul", "stack"]


def _no_options(name: str, **options: Any) -> None:
    used = sorted(k for k, v in options.items() if v is not None)
    if used:
        raise unsupported(f"{name} with {', '.join(used)}", reverse_name=name)


def _reduce(combine: Callable[..., Any], x: Any, axis: Any, keepdims: bool) -> SymbolicArray:
    data = np.asarray(_lift(x), dtype=object)
    axes = tuple(range(data.ndim)) if axis is None else axis
    axes = tuple(a % data.ndim for a in (axes if isinstance(axes, tuple) else (axes,)))
    kept = [i for i in range(data.ndim) if i not in axes]
    moved = np.transpose(data, kept + list(axes))
    rows = moved.reshape((*moved.shape[: len(kept)], -1))
    result = np.empty(rows.shape[:-1], dtype=object)
    for index in np.ndindex(result.shape):
        result[index] = combine(*rows[index])
    if keepdims:
        result = result.reshape([1 if i in axes else n for i, n in enumerate(data.shape)])
    return SymbolicArray(result)


def sum_(
    x: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **rest: Any,
) -> SymbolicArray:
    _no_options("np.sum", dtype=dtype, out=out, **rest)
    return _reduce(sympy.Add, x, axis, keepdims)


def mean(
    x: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **rest: Any,
) -> Any:
    _no_options("np.mean", dtype=dtype, out=out, **rest)
    total = _reduce(sympy.Add, x, axis, keepdims)
    return total / (np.size(_lift(x)) // max(total.size, 1))


def prod(
    x: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **rest: Any,
) -> SymbolicArray:
    _no_options("np.prod", dtype=dtype, out=out, **rest)
    return _reduce(sympy.Mul, x, axis, keepdims)


def amax(x: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **rest: Any) -> Any:
    _no_options("np.max", out=out, **rest)
    return _reduce(sympy.Max, x, axis, keepdims)


def amin(x: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **rest: Any) -> Any:
    _no_options("np.min", out=out, **rest)
    return _reduce(sympy.Min, x, axis, keepdims)


def matmul(a: Any, b: Any, out: Any = None, **rest: Any) -> SymbolicArray:
    """a @ b for vectors and matrices: each entry one exact sum of products."""
    _no_options("np.matmul", out=out, **rest)
    left, right = np.asarray(_lift(a), dtype=object), np.asarray(_lift(b), dtype=object)
    if left.ndim == 0 or right.ndim == 0 or left.ndim > 2 or right.ndim > 2:
        raise unsupported(
            f"np.matmul of arrays of {left.ndim} and {right.ndim} dimensions (1 or 2 supported)",
            reverse_name="np.matmul",
        )
    a2 = left.reshape(1, -1) if left.ndim == 1 else left
    b2 = right.reshape(-1, 1) if right.ndim == 1 else right
    if a2.shape[1] != b2.shape[0]:
        raise ValueError(f"matmul: shapes {left.shape} and {right.shape} do not align")
    result = np.empty((a2.shape[0], b2.shape[1]), dtype=object)
    for i in range(a2.shape[0]):
        for j in range(b2.shape[1]):
            result[i, j] = sympy.Add(*(p * q for p, q in zip(a2[i], b2[:, j], strict=True)))
    shape = left.shape[:-1] + right.shape[1:]
    return SymbolicArray(result.reshape(shape))


def dot(a: Any, b: Any, out: Any = None) -> Any:
    _no_options("np.dot", out=out)
    if np.ndim(_lift(a)) == 0 or np.ndim(_lift(b)) == 0:
        return np.multiply(a, b)
    return matmul(a, b)


def stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, **rest: Any) -> SymbolicArray:
    _no_options("np.stack", out=out, **rest)
    return _wrap(np.stack([np.asarray(_lift(a), dtype=object) for a in arrays], axis=axis))


def concatenate(arrays: Sequence[Any], axis: int = 0, out: Any = None, **rest: Any) -> Any:
    _no_options("np.concatenate", out=out, **rest)
    return _wrap(np.concatenate([np.asarray(_lift(a), dtype=object) for a in arrays], axis=axis))


def where(condition: Any, x: Any = None, y: Any = None) -> SymbolicArray:
    if x is None or y is None:
        raise unsupported("np.where with one argument", reverse_name="np.nonzero")
    if isinstance(condition, SymbolicArray):
        raise unsupported(
            "np.where with a condition that depends on the input (a branch: use np.maximum / "
            "np.minimum, or a condition computed from constants)",
            reverse_name="np.where",
        )
    return _wrap(np.where(np.asarray(condition, dtype=bool), _lift(x), _lift(y)))


def clip(x: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **rest: Any) -> Any:
    _no_options("np.clip", out=out, **rest)
    result = x
    if a_min is not None:
        result = np.maximum(result, a_min)
    if a_max is not None:
        result = np.minimum(result, a_max)
    return result


def _structural(func: Callable[..., Any]) -> Callable[..., Any]:
    """A shape-only NumPy function applied to the object array itself."""

    def call(x: Any, *args: Any, **kwargs: Any) -> Any:
        result = func(np.asarray(_lift(x), dtype=object), *args, **kwargs)
        if isinstance(result, list | tuple):
            return type(result)(_wrap(r) for r in result)
        return _wrap(result)

    return call


def _joined(func: Callable[..., Any]) -> Callable[..., Any]:
    """A join of several arrays (hstack, vstack, column_stack) on object arrays."""

    def call(arrays: Sequence[Any], **kwargs: Any) -> Any:
        return _wrap(func([np.asarray(_lift(a), dtype=object) for a in arrays], **kwargs))

    return call


def _passive(func: Callable[..., Any]) -> Callable[..., Any]:
    """A function of the shape only (np.shape, np.zeros_like): no expression involved."""

    def call(x: Any, *args: Any, **kwargs: Any) -> Any:
        if func in (np.shape, np.ndim, np.size):
            return func(_lift(x), *args, **kwargs)
        kwargs.setdefault("dtype", float)
        return func(np.empty(np.shape(_lift(x))), *args, **kwargs)

    return call


FUNCTIONS: dict[Any, Callable[..., Any]] = {
    np.sum: sum_,
    np.mean: mean,
    np.prod: prod,
    np.max: amax,
    np.amax: amax,
    np.min: amin,
    np.amin: amin,
    np.dot: dot,
    np.matmul: matmul,
    np.stack: stack,
    np.concatenate: concatenate,
    np.where: where,
    np.clip: clip,
    **{
        f: _structural(f)
        for f in (
            np.reshape,
            np.transpose,
            np.swapaxes,
            np.moveaxis,
            np.ravel,
            np.squeeze,
            np.expand_dims,
            np.atleast_1d,
            np.broadcast_to,
            np.flip,
            np.roll,
            np.diagonal,
            np.split,
            np.copy,
        )
    },
    **{f: _joined(f) for f in (np.hstack, np.vstack, np.column_stack)},
    **{
        f: _passive(f)
        for f in (np.shape, np.ndim, np.size, np.zeros_like, np.ones_like, np.empty_like)
    },
}
