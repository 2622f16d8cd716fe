"""Shape functions: reshapes, transposes, joins, splits, flips, repeats and their kin.

Four of them are recorded, with linear VJPs (``reshape``, ``transpose``,
``broadcast_to``, ``concatenate``/``stack``) and a ``scatter`` that the others and the
VJP of indexing use; everything else is a composite of those and of indexing, written
as NumPy defines it (``vstack`` is ``concatenate`` of ``atleast_2d``). In the tracer
the recorded ones run on object arrays as they run on numbers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy

from .rule import ArrayRule, Bound, UnsupportedOption, no_options, shape_of, unbroadcast

__all__ = ["RULES", "scatter"]


def _shapes_only(needs: tuple[bool, ...]) -> tuple[tuple[bool, ...], bool]:
    """For VJPs that read only the shapes of their arguments."""
    return (False,) * len(needs), False


# ---------------------------------------------------------------------- reshape


def _bind_reshape(
    a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None, copy: Any = None
) -> Bound:
    if order != "C":
        raise UnsupportedOption(f"np.reshape with order={order!r}")
    target = newshape if shape is None else shape
    if target is None:
        raise TypeError("np.reshape needs a shape")
    return (a,), {"shape": tuple(target) if isinstance(target, list) else target}


def _reshape_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    return (np.reshape(g, shape_of(g)[:batch] + shape_of(args[0])),)


# ---------------------------------------------------------------------- transpose


def _bind_transpose(a: Any, axes: Any = None) -> Bound:
    ndim = len(shape_of(a))
    perm = tuple(range(ndim))[::-1] if axes is None else tuple(int(x) % ndim for x in axes)
    return (a,), {"axes": perm}


def _transpose_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    inverse = np.argsort(p["axes"])
    return (np.transpose(g, tuple(range(batch)) + tuple(batch + int(a) for a in inverse)),)


def _swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    perm = list(range(len(shape_of(a))))
    i, j = axis1 % len(perm), axis2 % len(perm)
    perm[i], perm[j] = perm[j], perm[i]
    return np.transpose(a, tuple(perm))


def _moveaxis(a: Any, source: Any, destination: Any) -> Any:
    ndim = len(shape_of(a))
    src = [int(s) % ndim for s in np.atleast_1d(source)]
    dst = [int(d) % ndim for d in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError("np.moveaxis: source and destination need the same number of axes")
    order = [n for n in range(ndim) if n not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return np.transpose(a, tuple(order))


def _rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    ndim = len(shape_of(a))
    axis = axis % ndim
    start = start % (ndim + 1) if start < 0 else start
    if axis < start:
        start -= 1
    return _moveaxis(a, axis, start) if axis != start else a


# ---------------------------------------------------------------------- broadcasting


def _bind_broadcast_to(array: Any, shape: Any, subok: bool = False) -> Bound:
    return (array,), {"shape": (shape,) if isinstance(shape, int) else tuple(shape)}


def _broadcast_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    return (unbroadcast(g, shape_of(args[0]), batch),)


def _broadcast_arrays(*args: Any, subok: bool = False) -> tuple[Any, ...]:
    shape = np.broadcast_shapes(*(shape_of(a) for a in args))
    return tuple(np.broadcast_to(a, shape) for a in args)


def _shape_after(shape: tuple[int, ...], change: Any) -> tuple[int, ...]:
    return tuple(change(np.empty(shape, dtype=bool)).shape)


def _expand_dims(a: Any, axis: Any) -> Any:
    return np.reshape(a, _shape_after(shape_of(a), lambda e: np.expand_dims(e, axis)))


def _squeeze(a: Any, axis: Any = None) -> Any:
    return np.reshape(a, _shape_after(shape_of(a), lambda e: np.squeeze(e, axis)))


def _ravel(a: Any, order: str = "C") -> Any:
    if order not in ("C", "K", "A"):
        raise UnsupportedOption(f"np.ravel with order={order!r}")
    return np.reshape(a, (-1,))


def _atleast(ndim: int) -> Any:
    def promote(*arys: Any) -> Any:
        out = []
        for a in arys:
            shape = shape_of(a)
            if len(shape) >= ndim:
                out.append(a)
            elif ndim == 1:
                out.append(np.reshape(a, (1,)))
            elif ndim == 2:
                out.append(np.reshape(a, (1, *shape) if shape else (1, 1)))
            else:  # NumPy: (N,) -> (1, N, 1), (M, N) -> (M, N, 1)
                new = {0: (1, 1, 1), 1: (1, *shape, 1), 2: (*shape, 1)}[len(shape)]
                out.append(np.reshape(a, new))
        return out[0] if len(out) == 1 else tuple(out)

    return promote


# ---------------------------------------------------------------------- joins


def _bind_concatenate(
    arrays: Sequence[Any], axis: Any = 0, out: Any = None, *, dtype: Any = None, casting: Any = None
) -> Bound:
    no_options("np.concatenate", out=out, dtype=dtype)
    items = tuple(arrays)
    if not items:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        items = tuple(np.reshape(a, (-1,)) for a in items)
        axis = 0
    return items, {"axis": int(axis) % max(len(shape_of(items[0])), 1)}


def _concatenate_forward(*items: Any, axis: int) -> Any:
    return np.concatenate(items, axis=axis)


def _concatenate_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    axis = p["axis"]
    cts: list[Any] = []
    start = 0
    for a, need in zip(args, needs, strict=True):
        stop = start + shape_of(a)[axis]
        cts.append(g[(slice(None),) * (batch + axis) + (slice(start, stop),)] if need else None)
        start = stop
    return tuple(cts)


def _bind_stack(
    arrays: Sequence[Any], axis: int = 0, out: Any = None, *, dtype: Any = None, casting: Any = None
) -> Bound:
    no_options("np.stack", out=out, dtype=dtype)
    items = tuple(arrays)
    if not items:
        raise ValueError("need at least one array to stack")
    shapes = {shape_of(a) for a in items}
    if len(shapes) != 1:
        raise ValueError("all input arrays must have the same shape")
    return items, {"axis": int(axis) % (len(shapes.pop()) + 1)}


def _stack_forward(*items: Any, axis: int) -> Any:
    return np.stack(items, axis=axis)


def _stack_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    front = (slice(None),) * (batch + p["axis"])
    return tuple(g[(*front, i)] if need else None for i, need in enumerate(needs))


def _vstack(tup: Sequence[Any], *, dtype: Any = None, casting: Any = None) -> Any:
    no_options("np.vstack", dtype=dtype)
    return np.concatenate([_atleast(2)(a) for a in tup], axis=0)


def _hstack(tup: Sequence[Any], *, dtype: Any = None, casting: Any = None) -> Any:
    no_options("np.hstack", dtype=dtype)
    items = [_atleast(1)(a) for a in tup]
    return np.concatenate(items, axis=0 if len(shape_of(items[0])) == 1 else 1)


def _dstack(tup: Sequence[Any]) -> Any:
    return np.concatenate([_atleast(3)(a) for a in tup], axis=2)


def _column_stack(tup: Sequence[Any]) -> Any:
    columns = []
    for a in tup:
        shape = shape_of(a)
        columns.append(np.reshape(a, (-1, 1)) if len(shape) < 2 else a)
    return np.concatenate(columns, axis=1)


def _append(arr: Any, values: Any, axis: Any = None) -> Any:
    if axis is None:
        return np.concatenate([np.reshape(arr, (-1,)), np.reshape(values, (-1,))], axis=0)
    return np.concatenate([arr, values], axis=axis)


# ---------------------------------------------------------------------- splits


def _take_slice(a: Any, axis: int, start: int, stop: int) -> Any:
    return a[(slice(None),) * axis + (slice(start, stop),)]


def _split_points(n: int, sections: Any, exact: bool) -> list[int]:
    if np.ndim(sections) == 0:
        count = int(sections)
        if count <= 0:
            raise ValueError("number sections must be larger than 0.")
        if exact and n % count:
            raise ValueError("array split does not result in an equal division")
        size, extra = divmod(n, count)
        points, at = [0], 0
        for k in range(count):
            at += size + (1 if k < extra else 0)
            points.append(at)
        return points
    # NumPy slices at each index: a negative one counts from the end
    return [0, *(min(int(i) if int(i) >= 0 else max(int(i) + n, 0), n) for i in sections), n]


def _splitter(exact: bool) -> Any:
    def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
        axis = int(axis) % len(shape_of(ary))
        points = _split_points(shape_of(ary)[axis], indices_or_sections, exact)
        return [_take_slice(ary, axis, a, max(a, b)) for a, b in itertools.pairwise(points)]

    return split


def _directed_split(axis_of: Any) -> Any:
    def split(ary: Any, indices_or_sections: Any) -> list[Any]:
        return _splitter(True)(ary, indices_or_sections, axis_of(len(shape_of(ary))))

    return split


# ---------------------------------------------------------------------- flips and rolls


def _flip(m: Any, axis: Any = None) -> Any:
    ndim = len(shape_of(m))
    axes = range(ndim) if axis is None else [int(a) % ndim for a in np.atleast_1d(axis)]
    index = [slice(None)] * ndim
    for a in axes:
        index[a] = slice(None, None, -1)
    return m[tuple(index)]


def _rot90(m: Any, k: int = 1, axes: Any = (0, 1)) -> Any:
    a0, a1 = axes
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return _flip(_flip(m, a0), a1)
    if k == 1:
        return _swapaxes(_flip(m, a1), a0, a1)
    return _flip(_swapaxes(m, a0, a1), a1)


def _roll(a: Any, shift: Any, axis: Any = None) -> Any:
    if axis is None:
        return np.reshape(_roll(np.reshape(a, (-1,)), shift, 0), shape_of(a))
    shifts, axes = np.broadcast_arrays(np.atleast_1d(shift), np.atleast_1d(axis))
    shape = shape_of(a)
    for s, ax in zip(shifts.tolist(), axes.tolist(), strict=True):
        ax = int(ax) % len(shape)
        n = shape[ax]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            a = np.concatenate(
                [_take_slice(a, ax, n - s, n), _take_slice(a, ax, 0, n - s)], axis=ax
            )
    return a


# ---------------------------------------------------------------------- scatter


def _bind_scatter(values: Any, index: Any, shape: tuple[int, ...]) -> Bound:
    return (values,), {"index": index, "shape": shape}


def _scatter_forward(values: Any, *, index: Any, shape: tuple[int, ...]) -> Any:
    """zeros(shape) with ``values`` added at ``index`` (repeated entries add up)."""
    if values.dtype == object:  # the tracer's expressions: add them one by one
        result = np.full(shape, sympy.S.Zero, dtype=object)
        target = np.arange(math.prod(shape)).reshape(shape)[index]
        flat = result.reshape(-1)
        for position, value in zip(
            np.broadcast_to(target, np.shape(values)).reshape(-1).tolist(),
            values.reshape(-1),
            strict=True,
        ):
            flat[position] = flat[position] + value
        return result
    result = np.zeros(shape, dtype=values.dtype if values.dtype.kind in "fc" else np.float64)
    if _is_basic(index):  # slices, integers, None: no entry is hit twice
        result[index] = values
    else:
        np.add.at(result, index, values)
    return result


def _is_basic(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, slice | int | np.integer) for p in parts)


def _scatter_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    index = p["index"] if isinstance(p["index"], tuple) else (p["index"],)
    gathered = g[(slice(None),) * batch + index] if batch else g[index]
    return (unbroadcast(gathered, shape_of(args[0]), batch),)


_SCATTER = ArrayRule(
    "scatter",
    (),
    bind=_bind_scatter,
    forward=_scatter_forward,
    vjp=_scatter_vjp,
    saves=_shapes_only,
    doc="zeros with values added at an index: the adjoint of indexing",
)


def scatter(values: Any, index: Any, shape: tuple[int, ...]) -> Any:
    """``zeros(shape)`` with ``values`` added at ``index``, on any array type of diffkit.

    The table's own call for building arrays from pieces (``diag``, ``pad``); it
    dispatches like a NumPy function, through the argument's ``__diffkit_rule__``.
    """
    call = getattr(type(values), "__diffkit_rule__", None)
    if call is None:
        return _scatter_forward(np.asarray(values), index=index, shape=shape)
    return call(values, _SCATTER, (values, index, shape), {})


# np.row_stack: deprecated in NumPy 2.0, still in older code while NumPy keeps it.
_ALIASES_OF_VSTACK = tuple(f for f in (getattr(np, "row_stack", None),) if f is not None)

RULES: tuple[ArrayRule, ...] = (
    ArrayRule(
        "np.reshape",
        (np.reshape,),
        bind=_bind_reshape,
        forward=lambda a, *, shape: np.reshape(a, shape),
        vjp=_reshape_vjp,
        saves=_shapes_only,
    ),
    ArrayRule(
        "np.transpose",
        (np.transpose,),
        bind=_bind_transpose,
        forward=lambda a, *, axes: np.transpose(a, axes),
        vjp=_transpose_vjp,
        saves=_shapes_only,
    ),
    ArrayRule("np.swapaxes", (np.swapaxes,), composite=_swapaxes),
    ArrayRule("np.moveaxis", (np.moveaxis,), composite=_moveaxis),
    ArrayRule("np.rollaxis", (np.rollaxis,), composite=_rollaxis),
    ArrayRule(
        "np.broadcast_to",
        (np.broadcast_to,),
        bind=_bind_broadcast_to,
        forward=lambda array, *, shape: np.broadcast_to(array, shape),
        vjp=_broadcast_vjp,
        saves=_shapes_only,
    ),
    ArrayRule("np.broadcast_arrays", (np.broadcast_arrays,), composite=_broadcast_arrays),
    ArrayRule("np.expand_dims", (np.expand_dims,), composite=_expand_dims),
    ArrayRule("np.squeeze", (np.squeeze,), composite=_squeeze),
    ArrayRule("np.ravel", (np.ravel,), composite=_ravel),
    ArrayRule("np.atleast_1d", (np.atleast_1d,), composite=_atleast(1)),
    ArrayRule("np.atleast_2d", (np.atleast_2d,), composite=_atleast(2)),
    ArrayRule("np.atleast_3d", (np.atleast_3d,), composite=_atleast(3)),
    ArrayRule(
        "np.concatenate",
        (np.concatenate,),
        bind=_bind_concatenate,
        forward=_concatenate_forward,
        vjp=_concatenate_vjp,
        saves=_shapes_only,
    ),
    ArrayRule(
        "np.stack",
        (np.stack,),
        bind=_bind_stack,
        forward=_stack_forward,
        vjp=_stack_vjp,
        saves=_shapes_only,
    ),
    ArrayRule("np.vstack", (np.vstack, *_ALIASES_OF_VSTACK), composite=_vstack),
    ArrayRule("np.hstack", (np.hstack,), composite=_hstack),
    ArrayRule("np.dstack", (np.dstack,), composite=_dstack),
    ArrayRule("np.column_stack", (np.column_stack,), composite=_column_stack),
    ArrayRule("np.append", (np.append,), composite=_append),
    ArrayRule("np.split", (np.split,), composite=_splitter(True)),
    ArrayRule("np.array_split", (np.array_split,), composite=_splitter(False)),
    ArrayRule("np.hsplit", (np.hsplit,), composite=_directed_split(lambda n: 1 if n > 1 else 0)),
    ArrayRule("np.vsplit", (np.vsplit,), composite=_directed_split(lambda n: 0)),
    ArrayRule("np.dsplit", (np.dsplit,), composite=_directed_split(lambda n: 2)),
    ArrayRule("np.flip", (np.flip,), composite=_flip),
    ArrayRule("np.fliplr", (np.fliplr,), composite=lambda m: _flip(m, 1)),
    ArrayRule("np.flipud", (np.flipud,), composite=lambda m: _flip(m, 0)),
    ArrayRule("np.rot90", (np.rot90,), composite=_rot90),
    ArrayRule("np.roll", (np.roll,), composite=_roll),
    _SCATTER,
)
