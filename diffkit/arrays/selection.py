"""Choosing entries: where, clip, select, sort, take, repeat, tile, pad, diagonals, triangles.

``where`` and ``clip`` are recorded (their VJPs route the cotangent to the chosen
entries); in the tracer a condition that depends on the input becomes a SymPy
``Piecewise``, whose derivative is taken branch by branch as reverse mode does.
``sort`` sends each cotangent back to the entry that landed there (a stable sort,
so ties keep their order); the tracer writes a sorted entry exactly, as the sum of
``x_i`` times the indicator that ``x_i`` has that rank. Everything else is built
from indexing, ``where`` and the shape functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy

from ..kink_functions import indicator
from .rule import (
    ArrayRule,
    Bound,
    UnsupportedOption,
    concrete,
    given,
    known,
    no_options,
    shape_of,
    unbroadcast,
)
from .shapes import scatter

__all__ = ["RULES"]


# ---------------------------------------------------------------------- where


def _bind_where(condition: Any, x: Any = None, y: Any = None) -> Bound:
    if x is None or y is None:
        raise UnsupportedOption("np.where with one argument (np.nonzero)")
    return (condition, x, y), {}


def _truth_values(condition: Any) -> Any:
    values = concrete(condition)
    return values.astype(bool) if values is not None else condition


def _where_forward(condition: Any, x: Any, y: Any) -> Any:
    return np.where(np.asarray(condition).astype(bool), x, y)


def _where_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    condition, a, b = args
    cond = _truth_values(condition)
    zero = np.zeros(())
    return (
        None,
        unbroadcast(np.where(cond, g, zero), shape_of(a), batch) if needs[1] else None,
        unbroadcast(np.where(cond, zero, g), shape_of(b), batch) if needs[2] else None,
    )


def _branch(condition: Any, then: Any, otherwise: Any) -> Any:
    """One entry of ``where`` in the tracer: the branch, or a Piecewise of both."""
    if condition is sympy.true:
        return then
    if condition is sympy.false:
        return otherwise
    if isinstance(condition, sympy.Expr) and condition.is_Number:
        return then if condition != 0 else otherwise
    if isinstance(condition, sympy.Expr) or not isinstance(condition, sympy.logic.boolalg.Boolean):
        condition = sympy.Ne(condition, 0)  # a number used as a condition (a Symbol is an Expr)
    return sympy.Piecewise((then, condition), (otherwise, True))


_branches = np.frompyfunc(_branch, 3, 1)


def _where_symbolic(condition: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.asarray(_branches(condition, x, y), dtype=object)


def _select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Any:
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    result = default
    for condition, choice in zip(reversed(condlist), reversed(choicelist), strict=True):
        result = np.where(condition, choice, result)
    return result


# ---------------------------------------------------------------------- clip


def _bind_clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **rest: Any) -> Bound:
    lo = given(rest.pop("min", None), None)
    hi = given(rest.pop("max", None), None)
    lo = given(a_min, None) if lo is None else lo
    hi = given(a_max, None) if hi is None else hi
    no_options("np.clip", out=out, **rest)
    if lo is None and hi is None:
        raise ValueError("np.clip needs a lower or an upper bound")
    return (a, lo, hi), {}


def _clip_forward(a: Any, lo: Any, hi: Any) -> Any:
    return np.clip(a, lo, hi)


def _clip_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    # The bounds are inclusive: at x == lo the entry is x's (derivative 1 for x, 0 for lo).
    a, lo, hi = args
    x = known(a)
    below = x < known(lo) if lo is not None else np.zeros(x.shape, dtype=bool)
    above = x > known(hi) if hi is not None else np.zeros(x.shape, dtype=bool)
    inside = ~(below | above)
    return (
        unbroadcast(g * inside, shape_of(a), batch) if needs[0] else None,
        unbroadcast(g * below, shape_of(lo), batch) if needs[1] and lo is not None else None,
        unbroadcast(g * above, shape_of(hi), batch) if needs[2] and hi is not None else None,
    )


def _clipped(x: Any, lo: Any, hi: Any) -> Any:
    pieces = []
    if lo is not None:
        pieces.append((lo, x < lo))
    if hi is not None:
        pieces.append((hi, x > hi))
    return sympy.Piecewise(*pieces, (x, True))


_clip_entries = np.frompyfunc(_clipped, 3, 1)


def _clip_symbolic(a: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    return np.asarray(_clip_entries(a, lo, hi), dtype=object)


# ---------------------------------------------------------------------- sort


def _bind_sort(
    a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None
) -> Bound:
    no_options("np.sort", order=order)
    if axis is None:
        return (np.reshape(a, (-1,)),), {"axis": 0}
    return (a,), {"axis": int(axis) % max(len(shape_of(a)), 1)}


def _sort_forward(a: Any, *, axis: int) -> Any:
    if a.dtype == object:
        return _sort_symbolic(a, axis=axis)
    return np.sort(a, axis=axis, kind="stable")


def _sort_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    values = concrete(args[0])
    if values is None:
        raise UnsupportedOption("np.sort's derivative at symbolic points", tracer_only=True)
    axis = p["axis"]
    inverse = np.argsort(np.argsort(values, axis=axis, kind="stable"), axis=axis, kind="stable")
    return (_take_along(g, inverse, batch + axis, batch),)


def _ranked(lane: Sequence[Any]) -> list[Any]:
    """A sorted lane as exact expressions: entry k is the sum of x_i [rank(x_i) = k],
    rank(x_i) = #{j: x_j < x_i} + #{j < i: x_j = x_i} (a stable sort's)."""
    n = len(lane)
    ranks = []
    for i, xi in enumerate(lane):
        terms = [indicator(sympy.StrictLessThan(xj, xi)) for j, xj in enumerate(lane) if j != i]
        terms += [indicator(sympy.Eq(lane[j], xi)) for j in range(i)]
        ranks.append(sympy.Add(*terms))
    return [
        sympy.Add(*[xi * indicator(sympy.Eq(ranks[i], k)) for i, xi in enumerate(lane)])
        for k in range(n)
    ]


def _sort_symbolic(a: np.ndarray, *, axis: int) -> np.ndarray:
    moved = np.moveaxis(a, axis, -1)
    result = np.empty(moved.shape, dtype=object)
    for index in np.ndindex(moved.shape[:-1]):
        result[index] = _ranked(list(moved[index]))
    return np.moveaxis(result, -1, axis)


def _bind_partition(
    a: Any, kth: Any, axis: Any = -1, kind: str = "introselect", order: Any = None
) -> Bound:
    no_options("np.partition", order=order)
    if axis is None:
        return (np.reshape(a, (-1,)),), {"kth": kth, "axis": 0}
    return (a,), {"kth": kth, "axis": int(axis) % max(len(shape_of(a)), 1)}


def _partition_forward(a: Any, *, kth: Any, axis: int) -> Any:
    if a.dtype == object:
        raise UnsupportedOption(
            "np.partition (where the entries other than kth land is NumPy's choice)",
            tracer_only=True,
        )
    return np.take_along_axis(a, np.argpartition(a, kth, axis=axis), axis=axis)


def _partition_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    values = known(args[0])
    axis = p["axis"]
    order = np.argpartition(values, p["kth"], axis=axis)
    return (_take_along(g, np.argsort(order, axis=axis, kind="stable"), batch + axis, batch),)


# ---------------------------------------------------------------------- take and friends


def _take_along(arr: Any, indices: np.ndarray, axis: int, batch: int = 0) -> Any:
    """``np.take_along_axis(arr, indices, axis)`` by indexing; ``indices`` lacks ``batch``
    leading axes of ``arr`` and broadcasts over them."""
    shape = shape_of(arr)
    index: list[Any] = []
    for dim in range(len(shape)):
        if dim == axis:
            index.append(np.reshape(indices, (1,) * batch + indices.shape))
        else:
            grid = np.arange(shape[dim]).reshape([-1 if d == dim else 1 for d in range(len(shape))])
            index.append(grid)
    return arr[tuple(index)]


def _take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    idx = np.asarray(concrete(indices)).astype(np.intp)
    if axis is None:
        return _take_along(np.reshape(arr, (-1,)), idx.reshape(-1), 0)
    return _take_along(arr, idx, int(axis) % len(shape_of(arr)))


def _take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    no_options("np.take", out=out)
    idx = np.asarray(concrete(indices)).astype(np.intp)
    if axis is None:
        a, axis = np.reshape(a, (-1,)), 0
    axis = int(axis) % len(shape_of(a))
    n = shape_of(a)[axis]
    if mode == "wrap":
        idx = idx % n
    elif mode == "clip":
        idx = np.clip(idx, 0, n - 1)
    return a[(slice(None),) * axis + (idx,)]


def _repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    if axis is None:
        a, axis = np.reshape(a, (-1,)), 0
    axis = int(axis) % len(shape_of(a))
    index = np.repeat(np.arange(shape_of(a)[axis]), np.asarray(concrete(repeats)))
    return a[(slice(None),) * axis + (index,)]


def _tile(a: Any, reps: Any) -> Any:
    reps = tuple(np.atleast_1d(np.asarray(reps)).tolist())
    shape = shape_of(a)
    d = max(len(shape), len(reps))
    shape = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    interleaved = tuple(n for pair in zip((1,) * d, shape, strict=True) for n in pair)
    target = tuple(n for pair in zip(reps, shape, strict=True) for n in pair)
    spread = np.broadcast_to(np.reshape(a, interleaved), target)
    return np.reshape(spread, tuple(r * s for r, s in zip(reps, shape, strict=True)))


def _delete(arr: Any, obj: Any, axis: Any = None) -> Any:
    if axis is None:
        arr, axis = np.reshape(arr, (-1,)), 0
    axis = int(axis) % len(shape_of(arr))
    keep = np.delete(
        np.arange(shape_of(arr)[axis]), known(obj) if not isinstance(obj, slice) else obj
    )
    return arr[(slice(None),) * axis + (keep,)]


# ---------------------------------------------------------------------- diagonals, triangles


def _diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    ndim = len(shape_of(a))
    moved = np.moveaxis(a, (axis1 % ndim, axis2 % ndim), (-2, -1))
    n1, n2 = shape_of(moved)[-2:]
    if offset >= 0:
        count = max(min(n1, n2 - offset), 0)
        rows, cols = np.arange(count), np.arange(count) + offset
    else:
        count = max(min(n1 + offset, n2), 0)
        rows, cols = np.arange(count) - offset, np.arange(count)
    return moved[..., rows, cols]


def _diag(v: Any, k: int = 0) -> Any:
    shape = shape_of(v)
    if len(shape) == 2:
        return _diagonal(v, k)
    if len(shape) != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = shape[0]
    m = n + abs(k)
    rows = np.arange(n) + max(-k, 0)
    cols = np.arange(n) + max(k, 0)
    return scatter(v, (rows, cols), (m, m))


def _diagflat(v: Any, k: int = 0) -> Any:
    return _diag(np.reshape(v, (-1,)), k)


def _triangle(lower: bool) -> Any:
    def part(m: Any, k: int = 0) -> Any:
        n1, n2 = shape_of(m)[-2:]
        mask = np.tri(n1, n2, k, dtype=bool) if lower else ~np.tri(n1, n2, k - 1, dtype=bool)
        return np.where(mask, m, np.zeros(()))

    return part


# ---------------------------------------------------------------------- padding


def _pad_index(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """For every position of a padded axis, the position of the source it copies."""
    i = np.arange(-before, size + after)
    if mode == "edge":
        return np.clip(i, 0, size - 1)
    if mode == "wrap":
        return i % size
    if mode == "reflect":
        if size == 1:
            return np.zeros_like(i)
        period = 2 * (size - 1)
        j = i % period
        return np.where(j < size, j, period - j)
    if mode == "symmetric":
        period = 2 * size
        j = i % period
        return np.where(j < size, j, period - 1 - j)
    raise UnsupportedOption(f"np.pad with mode={mode!r}")


def _pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    shape = shape_of(array)
    ndim = len(shape)
    widths = np.broadcast_to(np.asarray(pad_width, dtype=np.intp), (ndim, 2))
    if mode == "constant":
        constants = np.broadcast_to(np.asarray(kwargs.pop("constant_values", 0)), (ndim, 2))
        no_options("np.pad", **kwargs)
        result = array
        for axis in range(ndim):
            before, after = (int(w) for w in widths[axis])
            blocks = []
            for count, value in ((before, constants[axis][0]), (after, constants[axis][1])):
                block_shape = list(shape_of(result))
                block_shape[axis] = count
                blocks.append(np.full(tuple(block_shape), float(value)))
            result = np.concatenate([blocks[0], result, blocks[1]], axis=axis)
        return result
    if mode in _STAT_MODES or mode == "linear_ramp":
        return _pad_by_values(array, widths, mode, kwargs)
    if kwargs.get("reflect_type", "even") != "even":
        raise UnsupportedOption("np.pad with reflect_type='odd'")
    kwargs.pop("reflect_type", None)
    no_options("np.pad", **kwargs)
    result = array
    for axis in range(ndim):
        before, after = (int(w) for w in widths[axis])
        if before or after:
            index = _pad_index(shape[axis], before, after, mode)
            result = result[(slice(None),) * axis + (index,)]
    return result


_STAT_MODES: dict[str, Callable[..., Any]] = {
    "mean": np.mean,
    "maximum": np.max,
    "minimum": np.min,
    "median": np.median,
}


def _pad_by_values(array: Any, widths: np.ndarray, mode: str, kwargs: dict[str, Any]) -> Any:
    """np.pad's modes that pad with values computed from the array: a statistic of the
    whole axis (stat_length=None), or a linear ramp from end_values to the edge."""
    ndim = len(shape_of(array))
    if mode in _STAT_MODES:
        if kwargs.pop("stat_length", None) is not None:
            raise UnsupportedOption(f"np.pad with mode={mode!r} and stat_length")
        ends = None
    else:
        ends = np.broadcast_to(np.asarray(kwargs.pop("end_values", 0.0), dtype=float), (ndim, 2))
    no_options("np.pad", **kwargs)
    result = array
    for axis in range(ndim):
        before, after = (int(w) for w in widths[axis])
        moved = np.moveaxis(result, axis, -1)
        n = shape_of(moved)[-1]
        blocks = []
        for count, side in ((before, 0), (after, 1)):
            if mode in _STAT_MODES:
                value = _STAT_MODES[mode](moved, axis=-1, keepdims=True)
                block = np.broadcast_to(value, (*shape_of(moved)[:-1], count))
            else:
                assert ends is not None
                edge = moved[..., 0:1] if side == 0 else moved[..., n - 1 : n]
                end = float(ends[axis][side])
                if side == 0:
                    t = np.arange(count) / max(count, 1)
                    block = end + (edge - end) * t
                else:
                    t = np.arange(1, count + 1) / max(count, 1)
                    block = edge + (end - edge) * t
            blocks.append(block)
        joined = np.concatenate([blocks[0], moved, blocks[1]], axis=-1)
        result = np.moveaxis(joined, -1, axis)
    return result


# ---------------------------------------------------------------------- real numbers, copies


def _nan_to_num_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    return (g * np.isfinite(known(args[0])),)


def _bind_nan_to_num(
    x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None
) -> Bound:
    return (x,), {"nan": nan, "posinf": posinf, "neginf": neginf}


def _nan_to_num_forward(x: Any, **p: Any) -> Any:
    return x if x.dtype == object else np.nan_to_num(x, **p)


def _angle(z: Any, deg: bool = False) -> Any:
    half_turn = 180.0 if deg else math.pi
    return np.where(z < 0, half_turn, 0.0) * np.ones(shape_of(z))


def _linspace(
    start: Any,
    stop: Any,
    num: int = 50,
    endpoint: bool = True,
    retstep: bool = False,
    dtype: Any = None,
    axis: int = 0,
    **rest: Any,
) -> Any:
    no_options("np.linspace", dtype=dtype)
    num = int(num)
    div = (num - 1) if endpoint else num
    t = np.arange(num, dtype=float) / div if div > 0 else np.zeros(num)
    if endpoint and num > 1:
        t[-1] = 1.0
    shape = np.broadcast_shapes(shape_of(start), shape_of(stop))
    t = t.reshape((num,) + (1,) * len(shape))
    samples = start + (stop - start) * t
    if axis != 0:
        samples = np.moveaxis(samples, 0, axis)
    if retstep:
        step = (stop - start) / div if div > 0 else np.full(shape, np.nan)
        return samples, step
    return samples


def _full_like(
    a: Any,
    fill_value: Any,
    dtype: Any = None,
    order: Any = "K",
    subok: Any = True,
    shape: Any = None,
    **kwargs: Any,
) -> Any:
    if dtype is not None and np.dtype(dtype).kind != "f":
        raise UnsupportedOption(f"np.full_like with dtype={np.dtype(dtype).name}")
    no_options("np.full_like", **kwargs)
    target = shape_of(a) if shape is None else tuple(np.atleast_1d(shape))
    return np.broadcast_to(fill_value, target) * np.ones(target)


RULES: tuple[ArrayRule, ...] = (
    ArrayRule(
        "np.where",
        (np.where,),
        bind=_bind_where,
        forward=_where_forward,
        vjp=_where_vjp,
        saves=lambda needs: ((True, False, False), False),
        symbolic=_where_symbolic,
        conditions=(0,),
    ),
    ArrayRule("np.select", (np.select,), composite=_select),
    ArrayRule(
        "np.clip",
        (np.clip,),
        bind=_bind_clip,
        forward=_clip_forward,
        vjp=_clip_vjp,
        symbolic=_clip_symbolic,
        doc="inclusive bounds: at x == bound the derivative goes to x",
    ),
    ArrayRule(
        "np.sort",
        (np.sort,),
        bind=_bind_sort,
        forward=_sort_forward,
        vjp=_sort_vjp,
        doc="each cotangent goes back to the entry that landed there (stable order at ties)",
    ),
    ArrayRule(
        "np.partition",
        (np.partition,),
        bind=_bind_partition,
        forward=_partition_forward,
        vjp=_partition_vjp,
    ),
    ArrayRule("np.take_along_axis", (np.take_along_axis,), composite=_take_along_axis),
    ArrayRule("np.take", (np.take,), composite=_take),
    ArrayRule("np.repeat", (np.repeat,), composite=_repeat),
    ArrayRule("np.tile", (np.tile,), composite=_tile),
    ArrayRule("np.delete", (np.delete,), composite=_delete),
    ArrayRule("np.diagonal", (np.diagonal,), composite=_diagonal),
    ArrayRule("np.diag", (np.diag,), composite=_diag),
    ArrayRule("np.diagflat", (np.diagflat,), composite=_diagflat),
    ArrayRule("np.tril", (np.tril,), composite=_triangle(True)),
    ArrayRule("np.triu", (np.triu,), composite=_triangle(False)),
    ArrayRule("np.pad", (np.pad,), composite=_pad),
    ArrayRule(
        "np.nan_to_num",
        (np.nan_to_num,),
        bind=_bind_nan_to_num,
        forward=_nan_to_num_forward,
        vjp=_nan_to_num_vjp,
    ),
    ArrayRule("np.real", (np.real,), composite=lambda val: val),
    ArrayRule("np.real_if_close", (np.real_if_close,), composite=lambda a, tol=100: a),
    ArrayRule("np.imag", (np.imag,), composite=lambda val: np.zeros(shape_of(val))),
    ArrayRule("np.angle", (np.angle,), composite=_angle),
    ArrayRule("np.copy", (np.copy,), composite=lambda a, order="K", subok=False: a),
    ArrayRule("np.linspace", (np.linspace,), composite=_linspace),
    ArrayRule("np.full_like", (np.full_like,), composite=_full_like),
)
