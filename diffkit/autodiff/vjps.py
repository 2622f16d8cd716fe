"""Vector-Jacobian products, and the structural NumPy calls that record them.

Elementwise primitives take their derivative rule from ``ops.py`` (``elementwise``);
this module adds what is not elementwise: reductions, reshapes, indexing, joins,
``where``, ``clip`` and matrix products. Every VJP has the signature

    vjp(g, args, out, kwargs, needs, batch) -> one cotangent (or None) per argument

where ``g`` is the cotangent of the output with ``batch`` extra leading axes (many
cotangents pushed through one backward pass: Jacobians and Hessians), ``args`` and
``out`` are plain arrays, or tensors when the backward pass is itself recorded for
higher derivatives. VJPs are written with NumPy calls only, so the same code runs
in both cases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..ops import times_partial
from . import buffers
from . import tensor as _tensor

__all__ = ["FUNCTIONS", "IndexedCotangent", "elementwise", "getitem", "matmul", "unbroadcast"]


def _is_tensor(value: Any) -> bool:
    return isinstance(value, _tensor.Tensor)


def _raw(value: Any) -> Any:
    return value.data if _is_tensor(value) else value


def _record(
    data: Any,
    op: str,
    vjp: Callable[..., tuple[Any, ...]],
    args: tuple[Any, ...],
    kwargs: Any = None,
    saves: Any = None,
) -> Any:
    """A node when any argument is a tensor; the plain result otherwise."""
    tensor = _tensor.Tensor
    for a in args:
        if isinstance(a, tensor):
            return tensor._record(data, op, vjp, args, kwargs, saves)
    return data


def _shapes_only(needs: tuple[bool, ...]) -> tuple[tuple[bool, ...], bool]:
    """For VJPs that read only the shapes of their arguments (sums, reshapes, indexing, joins)."""
    return (False,) * len(needs), False


def _arguments_only(needs: tuple[bool, ...]) -> tuple[tuple[bool, ...], bool]:
    """For VJPs that read their arguments but not their output (matmul, clip)."""
    return (True,) * len(needs), False


def unbroadcast(ct: Any, shape: tuple[int, ...], batch: int) -> Any:
    """Sum a cotangent over the axes broadcasting added, back to ``batch`` axes + ``shape``."""
    ct_shape = _shape(ct)
    if ct_shape[batch:] == shape:
        return ct
    extra = len(ct_shape) - batch - len(shape)
    if extra < 0:  # a cotangent smaller than its input (a scalar partial): spread it
        return np.broadcast_to(ct, ct_shape[:batch] + shape)
    axes = tuple(range(batch, batch + extra))
    axes += tuple(
        batch + extra + i
        for i, n in enumerate(shape)
        if n == 1 and ct_shape[batch + extra + i] != 1
    )
    summed = np.sum(ct, axis=axes, keepdims=True) if axes else ct
    return np.reshape(summed, ct_shape[:batch] + shape)


def elementwise(
    g: Any, args: tuple[Any, ...], out: Any, row: Any, needs: tuple[bool, ...], batch: int
) -> tuple[Any, ...]:
    """The chain rule for an elementwise primitive: the row's VJP, unbroadcast to each input.

    The row's rules, applied as ``ops.Primitive.vjp`` applies them; large values are
    lent to them as ``buffers.Lent`` views, so their products land in recycled buffers.
    """
    if type(g) is np.ndarray and g.nbytes >= buffers.MIN_BYTES:
        g, out = buffers.lend(g), buffers.lend(out)
        args = tuple([buffers.lend(a) for a in args])
    rules = row.per_argument_vjp
    if len(args) == 2:  # unrolled: most operations are binary, and this runs once per node
        a, b = args
        if rules is None:
            pa, pb = row.partials(a, b, out)
            ca = times_partial(g, pa) if needs[0] else None
            cb = times_partial(g, pb) if needs[1] else None
        else:
            ca = rules[0](g, a, b, out) if needs[0] else None
            cb = rules[1](g, a, b, out) if needs[1] else None
        return _fitted(ca, a, batch), _fitted(cb, b, batch)
    partials: Any = row.partials(*args, out) if rules is None else None
    cotangents: list[Any] = []
    for i in range(len(needs)):
        if needs[i]:
            ct = times_partial(g, partials[i]) if rules is None else rules[i](g, *args, out)
            cotangents.append(_fitted(ct, args[i], batch))
        else:
            cotangents.append(None)
    return tuple(cotangents)


def _fitted(ct: Any, arg: Any, batch: int) -> Any:
    """A rule's cotangent as a plain value of its argument's shape (None stays None)."""
    if ct is None:
        return None
    if type(ct) is buffers.Lent:  # a rule handing back a value it was lent
        ct = ct.view(np.ndarray)
    try:
        if not batch and ct.shape == arg.shape:
            return ct
    except AttributeError:  # a Python number somewhere: unbroadcast sorts it out
        pass
    return unbroadcast(ct, _shape(arg), batch)


def _shape(value: Any) -> tuple[int, ...]:
    shape = getattr(value, "shape", None)  # arrays, tensors, NumPy scalars; np.shape for the rest
    return shape if shape is not None else np.shape(value)


# ---------------------------------------------------------------- reductions

_add_reduce: Callable[..., Any] = np.add.reduce


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(sorted(a % ndim for a in axes))


def _expand(g: Any, shape: tuple[int, ...], axis: Any, keepdims: bool, batch: int) -> Any:
    """A reduced cotangent reshaped to broadcast against the input (plus batch axes)."""
    g_shape = np.shape(g)
    if not keepdims:
        kept = [1 if i in _axes(axis, len(shape)) else n for i, n in enumerate(shape)]
        g = np.reshape(g, g_shape[:batch] + tuple(kept))
    return g


def _sum_vjp(
    g: Any, args: tuple[Any, ...], out: Any, kw: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    shape = _shape(args[0])
    if type(g) is np.ndarray and g.ndim == 0:  # a whole sum: no reshaping to do
        return (buffers.spread(g, shape),)
    expanded = _expand(g, shape, kw[0], kw[1], batch)
    return (np.broadcast_to(expanded, np.shape(expanded)[:batch] + shape),)


def sum_(
    x: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **rest: Any,
) -> Any:
    if dtype is not None or out is not None or rest:
        raise _tensor._unsupported("np.sum with dtype, out, initial or where")
    data = _raw(x)
    return _record(
        # what np.sum does for an ndarray, without its Python-level wrapper
        _add_reduce(data, axis=axis, keepdims=keepdims)
        if type(data) is np.ndarray
        else np.sum(data, axis=axis, keepdims=keepdims),
        "sum",
        _sum_vjp,
        (x,),
        (axis, keepdims),
        _shapes_only,
    )


def mean(
    x: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **rest: Any,
) -> Any:
    if dtype is not None or out is not None or rest:
        raise _tensor._unsupported("np.mean with dtype, out or where")
    count = int(np.prod([np.shape(x)[a] for a in _axes(axis, np.ndim(x))]))
    return sum_(x, axis=axis, keepdims=keepdims) / count


def _extreme_vjp(
    g: Any, args: tuple[Any, ...], out: Any, kw: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    # Ties share the gradient equally: the mean of the subgradients at the maximum.
    (x,) = args
    shape = np.shape(x)
    axis, keepdims = kw
    hit = _raw(x) == _expand(_raw(out), shape, axis, keepdims, 0)
    share = hit / np.sum(hit, axis=_axes(axis, len(shape)), keepdims=True)
    return (_expand(g, shape, axis, keepdims, batch) * share,)


def amax(x: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **rest: Any) -> Any:
    if out is not None or rest:
        raise _tensor._unsupported("np.max with out, initial or where")
    return _record(
        np.max(_raw(x), axis=axis, keepdims=keepdims), "max", _extreme_vjp, (x,), (axis, keepdims)
    )


def amin(x: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **rest: Any) -> Any:
    if out is not None or rest:
        raise _tensor._unsupported("np.min with out, initial or where")
    return _record(
        np.min(_raw(x), axis=axis, keepdims=keepdims), "min", _extreme_vjp, (x,), (axis, keepdims)
    )


def _prod_vjp(
    g: Any, args: tuple[Any, ...], out: Any, kw: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    (x,) = args
    shape = np.shape(x)
    axis, keepdims = kw
    data = _raw(x)
    if np.all(data != 0):
        others = _expand(out, shape, axis, keepdims, 0) / x
    else:  # the product of the other factors, without dividing by zero (a constant here)
        others = _product_of_others(data, _axes(axis, len(shape)))
    return (_expand(g, shape, axis, keepdims, batch) * others,)


def _product_of_others(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    moved = np.moveaxis(x, axes, tuple(range(-len(axes), 0)))
    flat = moved.reshape((*moved.shape[: moved.ndim - len(axes)], -1))
    ones = np.ones((*flat.shape[:-1], 1), dtype=x.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (left * right).reshape(moved.shape)
    return np.moveaxis(others, tuple(range(-len(axes), 0)), axes)


def prod(
    x: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: bool = False,
    **rest: Any,
) -> Any:
    if dtype is not None or out is not None or rest:
        raise _tensor._unsupported("np.prod with dtype, out, initial or where")
    return _record(
        np.prod(_raw(x), axis=axis, keepdims=keepdims), "prod", _prod_vjp, (x,), (axis, keepdims)
    )


# ---------------------------------------------------------------- shapes


def _reshape_vjp(
    g: Any, args: tuple[Any, ...], out: Any, kw: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    return (np.reshape(g, np.shape(g)[:batch] + np.shape(args[0])),)


def reshape(x: Any, shape: Any, order: str = "C", **rest: Any) -> Any:
    if order != "C" or rest:
        raise _tensor._unsupported("np.reshape with order other than 'C'")
    return _record(np.reshape(_raw(x), shape), "reshape", _reshape_vjp, (x,), None, _shapes_only)


def _transpose_vjp(
    g: Any, args: tuple[Any, ...], out: Any, axes: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    inverse = np.argsort(axes)
    return (np.transpose(g, tuple(range(batch)) + tuple(batch + int(a) for a in inverse)),)


def transpose(x: Any, axes: Any = None) -> Any:
    ndim = np.ndim(x)
    perm = tuple(range(ndim))[::-1] if axes is None else tuple(a % ndim for a in axes)
    return _record(
        np.transpose(_raw(x), perm), "transpose", _transpose_vjp, (x,), perm, _shapes_only
    )


def swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    perm = list(range(np.ndim(x)))
    a, b = axis1 % len(perm), axis2 % len(perm)
    perm[a], perm[b] = perm[b], perm[a]
    return transpose(x, tuple(perm))


def _broadcast_vjp(
    g: Any, args: tuple[Any, ...], out: Any, kw: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    return (unbroadcast(g, np.shape(args[0]), batch),)


def broadcast_to(x: Any, shape: Any, subok: bool = False) -> Any:
    return _record(
        np.broadcast_to(_raw(x), shape), "broadcast_to", _broadcast_vjp, (x,), None, _shapes_only
    )


def expand_dims(x: Any, axis: Any) -> Any:
    return reshape(x, np.expand_dims(np.empty(np.shape(x), dtype=bool), axis).shape)


def squeeze(x: Any, axis: Any = None) -> Any:
    return reshape(x, np.squeeze(np.empty(np.shape(x), dtype=bool), axis).shape)


def ravel(x: Any, order: str = "C") -> Any:
    return reshape(x, -1, order=order)


def atleast_1d(*arrays: Any) -> Any:
    result = [x if np.ndim(x) >= 1 else reshape(x, (1,)) for x in arrays]
    return result[0] if len(result) == 1 else result


# ---------------------------------------------------------------- indexing


def _normalize_index(index: Any) -> tuple[Any, bool]:
    """The index as a tuple, boolean masks as integer arrays; and whether it is advanced."""
    parts = index if isinstance(index, tuple) else (index,)
    normal: list[Any] = []
    advanced = False
    for part in parts:
        if _is_tensor(part):
            raise _tensor._unsupported(
                "indexing with a Tensor: index with integers or a plain array"
            )
        if isinstance(part, list | np.ndarray):
            array = np.asarray(part)
            advanced = True
            if array.dtype == bool:
                normal.extend(np.nonzero(array))
                continue
            normal.append(array)
        else:
            normal.append(part)
    return tuple(normal), advanced


def _scatter_vjp(
    g: Any, args: tuple[Any, ...], out: Any, kw: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    full_index, _ = kw
    return (getitem(g, (slice(None),) * batch + full_index),)


def _scatter(g: Any, full_index: tuple[Any, ...], shape: tuple[int, ...], advanced: bool) -> Any:
    """zeros(shape) with g added at full_index, repeated indices accumulating."""
    data = _raw(g)
    result = np.zeros(shape, dtype=data.dtype)
    if advanced:
        np.add.at(result, full_index, data)
    else:
        result[full_index] = data
    return _record(result, "scatter", _scatter_vjp, (g,), (full_index, advanced), _shapes_only)


class IndexedCotangent:
    """A cotangent that is zero except at ``index``: added into a dense one in place.

    Slices of one array (x[1:], x[:-1], ...) each send back such a cotangent; adding
    them into one buffer saves a full-size zeros and a full-size sum per slice.
    """

    __slots__ = ("advanced", "index", "shape", "values")

    def __init__(
        self, index: tuple[Any, ...], values: np.ndarray, shape: tuple[int, ...], advanced: bool
    ) -> None:
        self.index, self.values, self.shape, self.advanced = index, values, shape, advanced

    def dense(self, into: np.ndarray | None = None) -> np.ndarray:
        """The cotangent as a full array, written over ``into`` (uninitialized) when given."""
        if into is None:
            into = np.zeros(self.shape, dtype=self.values.dtype)
        elif self.advanced or not _zero_outside(into, self.index):
            into.fill(0)
        if self.advanced:  # repeated indices must add up
            np.add.at(into, self.index, self.values)
        else:
            into[self.index] = self.values
        return into

    def add_into(self, dense: np.ndarray) -> None:
        if self.advanced:
            np.add.at(dense, self.index, self.values)
        else:
            dense[self.index] += self.values


def _zero_outside(array: np.ndarray, index: tuple[Any, ...]) -> bool:
    """Zero ``array`` outside a leading slice ``index`` (x[1:], x[:-1], ...): the inside is
    about to be overwritten, so filling it with zeros first would be a wasted pass. False
    (nothing done) for any other index."""
    if len(index) != 1 or type(index[0]) is not slice or array.ndim == 0:
        return False
    start, stop, step = index[0].indices(array.shape[0])
    if step != 1:
        return False
    array[:start] = 0
    array[max(start, stop) :] = 0
    return True


def _getitem_vjp(
    g: Any, args: tuple[Any, ...], out: Any, kw: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    index, advanced = kw
    full = (slice(None),) * batch + index if batch else index
    shape = _shape(g)[:batch] + _shape(args[0]) if batch else _shape(args[0])
    if _is_tensor(g):  # a recorded pass: the scatter must itself be differentiable
        return (_scatter(g, full, shape, advanced),)
    return (IndexedCotangent(full, g, shape, advanced),)


def getitem(x: Any, index: Any) -> Any:
    if type(index) is slice or type(index) is int:  # the common case, without the checks
        normal, advanced = (index,), False
    else:
        normal, advanced = _normalize_index(index)
    return _record(_raw(x)[normal], "getitem", _getitem_vjp, (x,), (normal, advanced), _shapes_only)


# ---------------------------------------------------------------- joins and selections


def _concatenate_vjp(
    g: Any, args: tuple[Any, ...], out: Any, axis: int, needs: Any, batch: int
) -> tuple[Any, ...]:
    cts = []
    start = 0
    for a, need in zip(args, needs, strict=True):
        stop = start + np.shape(a)[axis]
        if need:
            cts.append(getitem(g, (slice(None),) * (batch + axis) + (slice(start, stop),)))
        else:
            cts.append(None)
        start = stop
    return tuple(cts)


def concatenate(arrays: Sequence[Any], axis: int = 0, out: Any = None, **rest: Any) -> Any:
    if out is not None or rest or axis is None:
        raise _tensor._unsupported("np.concatenate with out, dtype or axis=None")
    items = tuple(arrays)
    axis = axis % np.ndim(items[0])
    return _record(
        np.concatenate([_raw(a) for a in items], axis=axis),
        "concatenate",
        _concatenate_vjp,
        items,
        axis,
        _shapes_only,
    )


def _stack_vjp(
    g: Any, args: tuple[Any, ...], out: Any, axis: int, needs: Any, batch: int
) -> tuple[Any, ...]:
    return tuple(
        getitem(g, (slice(None),) * (batch + axis) + (i,)) if need else None
        for i, need in enumerate(needs)
    )


def stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, **rest: Any) -> Any:
    if out is not None or rest:
        raise _tensor._unsupported("np.stack with out or dtype")
    items = tuple(arrays)
    axis = axis % (np.ndim(items[0]) + 1)
    return _record(
        np.stack([_raw(a) for a in items], axis=axis),
        "stack",
        _stack_vjp,
        items,
        axis,
        _shapes_only,
    )


def _where_vjp(
    g: Any, args: tuple[Any, ...], out: Any, kw: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    condition, a, b = args
    cond = _raw(condition)
    zero = np.zeros((), dtype=_raw(g).dtype)
    return (
        None,
        unbroadcast(where(cond, g, zero), np.shape(a), batch) if needs[1] else None,
        unbroadcast(where(cond, zero, g), np.shape(b), batch) if needs[2] else None,
    )


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    if x is None or y is None:
        raise _tensor._unsupported("np.where with one argument (use np.nonzero on plain arrays)")
    if _is_tensor(condition):
        condition = condition.data.astype(bool)
    return _record(
        np.where(condition, _raw(x), _raw(y)),
        "where",
        _where_vjp,
        (condition, x, y),
        None,
        _shapes_only,
    )


def _clip_vjp(
    g: Any, args: tuple[Any, ...], out: Any, kw: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    x = _raw(args[0])
    lo, hi = kw
    inside = np.ones(x.shape, dtype=bool)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
    return (g * inside,)


def clip(x: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **rest: Any) -> Any:
    if out is not None or rest or _is_tensor(a_min) or _is_tensor(a_max):
        raise _tensor._unsupported("np.clip with out or tensor bounds")
    return _record(
        np.clip(_raw(x), a_min, a_max), "clip", _clip_vjp, (x,), (a_min, a_max), _arguments_only
    )


# ---------------------------------------------------------------- products


def matmul(
    g: Any, args: tuple[Any, ...], out: Any, kw: Any, needs: tuple[bool, ...], batch: int
) -> tuple[Any, ...]:
    """VJP of a @ b, vectors included: promote them to matrices, then drop the added axis."""
    a, b = args
    a_vec, b_vec = np.ndim(a) == 1, np.ndim(b) == 1
    a2 = reshape(a, (1, -1)) if a_vec else a
    b2 = reshape(b, (-1, 1)) if b_vec else b
    g_shape = np.shape(g)
    if a_vec and b_vec:
        g2 = reshape(g, (*g_shape, 1, 1))
    elif a_vec:
        g2 = reshape(g, (*g_shape[:-1], 1, g_shape[-1]))
    elif b_vec:
        g2 = reshape(g, (*g_shape, 1))
    else:
        g2 = g
    ga = gb = None
    if needs[0]:
        ga = g2 @ swapaxes(b2, -1, -2)
        if a_vec:
            ga = reshape(ga, (*np.shape(ga)[:-2], np.shape(ga)[-1]))
        ga = unbroadcast(ga, np.shape(a), batch)
    if needs[1]:
        gb = swapaxes(a2, -1, -2) @ g2
        if b_vec:
            gb = reshape(gb, np.shape(gb)[:-1])
        gb = unbroadcast(gb, np.shape(b), batch)
    return ga, gb


def dot(a: Any, b: Any, out: Any = None) -> Any:
    if out is not None or np.ndim(a) > 2 or np.ndim(b) > 2:
        raise _tensor._unsupported("np.dot with out or arrays of more than 2 dimensions (use @)")
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.multiply(a, b)
    return np.matmul(a, b)


# ---------------------------------------------------------------- the dispatch table


def _passive(func: Callable[..., Any]) -> Callable[..., Any]:
    """A NumPy function whose result carries no gradient: applied to the plain data."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return func(*[_raw(a) for a in args], **{k: _raw(v) for k, v in kwargs.items()})

    return call


FUNCTIONS: dict[Any, Callable[..., Any]] = {
    np.sum: sum_,
    np.mean: mean,
    np.prod: prod,
    np.max: amax,
    np.amax: amax,
    np.min: amin,
    np.amin: amin,
    np.reshape: reshape,
    np.transpose: transpose,
    np.swapaxes: swapaxes,
    np.broadcast_to: broadcast_to,
    np.expand_dims: expand_dims,
    np.squeeze: squeeze,
    np.ravel: ravel,
    np.atleast_1d: atleast_1d,
    np.concatenate: concatenate,
    np.stack: stack,
    np.where: where,
    np.clip: clip,
    np.dot: dot,
    **{
        f: _passive(f)
        for f in (
            np.shape,
            np.ndim,
            np.size,
            np.zeros_like,
            np.ones_like,
            np.full_like,
            np.empty_like,
            np.all,
            np.any,
            np.isclose,
            np.allclose,
            np.argmax,
            np.argmin,
            np.result_type,
        )
    },
}
