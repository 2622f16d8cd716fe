"""Reductions and scans: sum, mean, prod, max/min, var/std, cumsum/cumprod, diff, ...

``max``/``min`` share the gradient equally between tied entries (the mean of the
subgradients at the maximum), as ``maximum(a, b)`` splits it between two; in the
tracer a maximum is one opaque node, so a maximum over ten thousand entries is one
node with ten thousand partials, not SymPy's ``Max`` of ten thousand arguments.
``prod`` and ``cumprod`` divide by nothing where a factor is zero: the product of the
other factors comes from exclusive running products, written with NumPy calls, so a
recorded backward pass (Hessians) differentiates it too.
"""

from __future__ import annotations

import math
from typing import Any

import mpmath
import numpy as np
import sympy

from .entries import opaque_call
from .rule import (
    ArrayRule,
    Bound,
    UnsupportedOption,
    axes_of,
    concrete,
    expand_reduced,
    given,
    lanes,
    no_options,
    reduce_objects,
    shape_of,
    spread,
)

__all__ = ["RULES"]

_add_reduce: Any = np.add.reduce


def _count(shape: tuple[int, ...], axes: tuple[int, ...]) -> int:
    return math.prod(shape[a] for a in axes)


# ---------------------------------------------------------------------- sum and mean


def _bind_sum(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: Any = False,
    initial: Any = None,
    where: Any = None,
) -> Bound:
    if where is True:  # NumPy's own default: every entry
        where = None
    if dtype is not None or out is not None or initial is not None or where is not None:
        no_options(
            "np.sum", dtype=dtype, out=out, initial=given(initial, None), where=given(where, None)
        )
    return (a,), {"axis": axis, "keepdims": keepdims is not np._NoValue and bool(keepdims)}


def _sum_forward(x: Any, *, axis: Any, keepdims: bool) -> Any:
    if type(x) is np.ndarray:  # what np.sum does for an ndarray, without its Python wrapper
        return _add_reduce(x, axis=_reduce_axis(axis), keepdims=keepdims)
    return np.sum(x, axis=axis, keepdims=keepdims)


def _reduce_axis(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis


def _sum_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    shape = shape_of(args[0])
    if type(g) is np.ndarray and g.ndim == 0:  # a whole sum: one repeated value
        return (spread(g, shape),)
    expanded = expand_reduced(g, shape, axes_of(p["axis"], len(shape)), p["keepdims"], batch)
    return (np.broadcast_to(expanded, shape_of(expanded)[:batch] + shape),)


def _sum_symbolic(x: np.ndarray, *, axis: Any, keepdims: bool) -> np.ndarray:
    return reduce_objects(sympy.Add, x, axis, keepdims)


def _mean(
    a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False, **rest: Any
) -> Any:
    no_options("np.mean", dtype=dtype, out=out, where=given(rest.pop("where", None), None))
    keepdims = bool(given(keepdims, False))
    shape = shape_of(a)
    return np.sum(a, axis=axis, keepdims=keepdims) / _count(shape, axes_of(axis, len(shape)))


# ---------------------------------------------------------------------- var, std, average


def _var(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: Any = 0,
    keepdims: Any = False,
    **rest: Any,
) -> Any:
    where, mean, correction = (
        given(rest.pop(k, None), None) for k in ("where", "mean", "correction")
    )
    no_options("np.var", dtype=dtype, out=out, where=where, mean=mean, **rest)
    if correction is not None:
        ddof = correction
    shape = shape_of(a)
    deviation = a - np.mean(a, axis=axis, keepdims=True)
    count = _count(shape, axes_of(axis, len(shape))) - ddof
    return np.sum(deviation * deviation, axis=axis, keepdims=bool(given(keepdims, False))) / count


def _std(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: Any = 0,
    keepdims: Any = False,
    **rest: Any,
) -> Any:
    return np.sqrt(_var(a, axis, dtype, out, ddof, keepdims, **rest))


def _average(
    a: Any, axis: Any = None, weights: Any = None, returned: bool = False, **rest: Any
) -> Any:
    keepdims = bool(given(rest.pop("keepdims", False), False))
    no_options("np.average", **rest)
    if weights is None:
        avg = np.mean(a, axis=axis, keepdims=keepdims)
        count = math.prod(shape_of(a)) // max(math.prod(shape_of(avg)), 1)
        total = np.full(shape_of(avg), float(count))
        return (avg, total) if returned else avg
    w = weights
    a_shape, w_shape = shape_of(a), shape_of(w)
    if a_shape != w_shape:  # 1-D weights along one axis, as NumPy allows
        if axis is None or len(w_shape) != 1:
            raise ValueError("np.average: weights of another shape need a 1-D weights and an axis")
        ax = int(axis) % len(a_shape)
        w = np.reshape(w, tuple(-1 if i == ax else 1 for i in range(len(a_shape))))
    total = np.sum(w * np.ones(a_shape), axis=axis, keepdims=keepdims)
    avg = np.sum(a * w, axis=axis, keepdims=keepdims) / total
    return (avg, total) if returned else avg


# ---------------------------------------------------------------------- prod


def _bind_prod(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: Any = False,
    initial: Any = None,
    where: Any = None,
) -> Bound:
    no_options(
        "np.prod", dtype=dtype, out=out, initial=given(initial, None), where=given(where, None)
    )
    return (a,), {"axis": axis, "keepdims": bool(given(keepdims, False))}


def _prod_forward(x: Any, *, axis: Any, keepdims: bool) -> Any:
    return np.prod(x, axis=_reduce_axis(axis), keepdims=keepdims)


def _exclusive_products(x: Any, axis: int) -> Any:
    """The product of every factor but the one at each position, along ``axis``: the
    running product from the left times the one from the right, each stopping short of
    the position. No division, so zeros are fine; NumPy calls only, so differentiable."""
    moved = np.moveaxis(x, axis, -1)
    ones = np.ones((*shape_of(moved)[:-1], 1))
    left = np.cumprod(np.concatenate([ones, moved[..., :-1]], axis=-1), axis=-1)
    flipped = moved[..., ::-1]
    right = np.cumprod(np.concatenate([ones, flipped[..., :-1]], axis=-1), axis=-1)[..., ::-1]
    return np.moveaxis(left * right, -1, axis)


def _others(x: Any, out: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """d prod / d x_i = the product of the other factors, over the reduced ``axes``."""
    shape = shape_of(x)
    values = concrete(x)
    if values is not None and bool(np.all(values != 0)):
        return expand_reduced(out, shape, axes, keepdims, 0) / x
    if len(axes) == 1:
        return _exclusive_products(x, axes[0])
    kept = [i for i in range(len(shape)) if i not in axes]
    order = kept + list(axes)
    lanes = np.reshape(np.transpose(x, order), (*tuple(shape[i] for i in kept), -1))
    others = np.reshape(_exclusive_products(lanes, -1), tuple(shape[i] for i in order))
    return np.transpose(others, tuple(np.argsort(order)))


def _prod_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    (x,) = args
    shape = shape_of(x)
    axes = axes_of(p["axis"], len(shape))
    if not axes or 0 in shape:
        return (expand_reduced(g, shape, axes, p["keepdims"], batch) * np.ones(shape),)
    others = _others(x, out, axes, p["keepdims"])
    return (expand_reduced(g, shape, axes, p["keepdims"], batch) * others,)


def _prod_symbolic(x: np.ndarray, *, axis: Any, keepdims: bool) -> np.ndarray:
    return reduce_objects(sympy.Mul, x, axis, keepdims)


# ---------------------------------------------------------------------- max and min


def _bind_extreme(name: str) -> Any:
    def bind(
        a: Any, axis: Any = None, out: Any = None, keepdims: Any = False, **rest: Any
    ) -> Bound:
        initial, where = (
            given(rest.pop("initial", None), None),
            given(rest.pop("where", None), None),
        )
        no_options(name, out=out, initial=initial, where=where, **rest)
        return (a,), {"axis": axis, "keepdims": bool(given(keepdims, False))}

    return bind


def _extreme_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    # Ties share the gradient equally: the mean of the subgradients at the maximum. Written
    # with comparisons, not data: the tracer runs this on symbols for its opaque node.
    (x,) = args
    shape = shape_of(x)
    axes = axes_of(p["axis"], len(shape))
    keepdims = p["keepdims"]
    hit = (x == expand_reduced(out, shape, axes, keepdims, 0)) * 1.0
    share = hit / np.sum(hit, axis=axes, keepdims=True)
    return (expand_reduced(g, shape, axes, keepdims, batch) * share,)


def _extreme_shapes(
    shapes: tuple[tuple[int, ...], ...], *, axis: Any, keepdims: bool
) -> tuple[tuple[int, ...], ...]:
    (shape,) = shapes
    axes = axes_of(axis, len(shape))
    if keepdims:
        return (tuple(1 if i in axes else n for i, n in enumerate(shape)),)
    return (tuple(n for i, n in enumerate(shape) if i not in axes),)


def _extreme_symbolic(name: str) -> Any:
    """The tracer's maximum (minimum): one opaque node per lane of the reduced entries."""

    def symbolic(x: np.ndarray, *, axis: Any, keepdims: bool) -> np.ndarray:
        axes = axes_of(axis, x.ndim)
        rows = lanes(x, axes)
        rule = _BY_NAME[name]
        result = np.empty(rows.shape[:-1], dtype=object)
        for index in np.ndindex(result.shape):
            lane = rows[index]
            if lane.size == 1:
                result[index] = lane[0]
                continue
            (entry,) = opaque_call(rule, [lane], {"axis": -1, "keepdims": False})
            result[index] = entry[()]
        if keepdims:
            result = result.reshape([1 if i in axes else n for i, n in enumerate(x.shape)])
        return result

    return symbolic


def _share_forward(x: Any, *, axis: Any, keepdims: bool, pick: Any) -> Any:
    """How a maximum (minimum) over the last axis splits its gradient: 1/k to each of k ties."""
    hit = x == pick(x, axis=-1, keepdims=True)
    return hit / np.sum(hit, axis=-1, keepdims=True)


def _mp_share(pick: Any) -> Any:
    def evaluate(x: np.ndarray, *, axis: Any, keepdims: bool) -> tuple[np.ndarray, ...]:
        top = pick(x)
        hits = [v == top for v in x]
        share = np.array(
            [mpmath.mpf(1) / sum(hits) if h else mpmath.mpf(0) for h in hits], dtype=object
        )
        return (share,)

    return evaluate


def _share_rule(name: str, pick: Any, mp_pick: Any) -> ArrayRule:
    return ArrayRule(
        f"{name} tie shares",
        (),
        forward=lambda x, *, axis, keepdims: _share_forward(
            x, axis=axis, keepdims=keepdims, pick=pick
        ),
        opaque=True,
        constant_jacobian=True,
        shapes=lambda shapes, *, axis, keepdims: (shapes[0],),
        mpmath=_mp_share(mp_pick),
        doc="the gradient of a maximum over one lane: piecewise constant",
    )


def _mp_extreme(pick: Any) -> Any:
    def evaluate(x: np.ndarray, *, axis: Any, keepdims: bool) -> tuple[np.ndarray, ...]:
        return (reduce_objects(lambda *terms: pick(terms), x, axis, keepdims),)

    return evaluate


# ---------------------------------------------------------------------- scans


def _bind_scan(name: str) -> Any:
    def bind(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Bound:
        no_options(name, dtype=dtype, out=out)
        return (a,), {"axis": axis}

    return bind


def _scan_axis(shape: tuple[int, ...], axis: Any) -> int:
    return 0 if axis is None else int(axis) % max(len(shape), 1)


def _cumsum_forward(x: Any, *, axis: Any) -> Any:
    return np.cumsum(x, axis=axis)


def _reverse_cumsum(g: Any, axis: int) -> Any:
    flip = (slice(None),) * axis + (slice(None, None, -1),)
    return np.cumsum(g[flip], axis=axis)[flip]


def _cumsum_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    shape = shape_of(args[0])
    if p["axis"] is None:  # a scan of the flattened array
        flat = np.reshape(g, (*shape_of(g)[:batch], -1))
        return (np.reshape(_reverse_cumsum(flat, batch), shape_of(g)[:batch] + shape),)
    return (_reverse_cumsum(g, batch + _scan_axis(shape, p["axis"])),)


def _cumprod_forward(x: Any, *, axis: Any) -> Any:
    return np.cumprod(x, axis=axis)


def _cumprod_lane_vjp(g: Any, x: Any, out: Any, axis: int, values: Any) -> Any:
    """The cotangent of a cumulative product along ``axis`` (g has leading batch axes,
    broadcasting against x). Without zeros, d out_k / d x_i = out_k / x_i for k >= i;
    with a zero the quotient is 0/0, so it is s_i * prod_{j<i} x_j, with the backward
    recursion s_i = g_i + x_{i+1} s_{i+1}: no division anywhere."""
    if values is not None and bool(np.all(values != 0)):
        return _reverse_cumsum(g * out, axis % len(shape_of(g))) / x
    n = shape_of(x)[axis]
    g_moved, x_moved = np.moveaxis(g, axis, -1), np.moveaxis(x, axis, -1)
    s = [g_moved[..., n - 1]]
    for i in range(n - 2, -1, -1):
        s.append(g_moved[..., i] + x_moved[..., i + 1] * s[-1])
    suffix = np.stack(s[::-1], axis=-1)
    ones = np.ones((*shape_of(x_moved)[:-1], 1))
    prefix = np.cumprod(np.concatenate([ones, x_moved[..., :-1]], axis=-1), axis=-1)
    return np.moveaxis(suffix * prefix, -1, axis)


def _cumprod_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    (x,) = args
    shape = shape_of(x)
    values = concrete(x)
    if p["axis"] is None:
        flat_g = np.reshape(g, (*shape_of(g)[:batch], -1))
        flat_x = np.reshape(x, (-1,))
        ct = _cumprod_lane_vjp(flat_g, flat_x, out, -1, values)
        return (np.reshape(ct, shape_of(g)[:batch] + shape),)
    axis = _scan_axis(shape, p["axis"])
    return (_cumprod_lane_vjp(g, x, out, axis - len(shape), values),)


# ---------------------------------------------------------------------- composites


def _diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Any:
    prepend, append = given(prepend, None), given(append, None)
    ndim = len(shape_of(a))
    axis = int(axis) % ndim
    parts = []
    for extra, first in ((prepend, True), (append, False)):
        if extra is None:
            continue
        block = extra
        if np.ndim(block) == 0:
            shape = list(shape_of(a))
            shape[axis] = 1
            block = np.broadcast_to(block, tuple(shape))
        parts.append((first, block))
    if parts:
        front = [b for first, b in parts if first]
        back = [b for first, b in parts if not first]
        a = np.concatenate([*front, a, *back], axis=axis)
    for _ in range(n):
        upper = (slice(None),) * axis + (slice(1, None),)
        lower = (slice(None),) * axis + (slice(None, -1),)
        a = a[upper] - a[lower]
    return a


def _ptp(a: Any, axis: Any = None, out: Any = None, keepdims: Any = False) -> Any:
    no_options("np.ptp", out=out)
    keepdims = bool(given(keepdims, False))
    return np.max(a, axis=axis, keepdims=keepdims) - np.min(a, axis=axis, keepdims=keepdims)


def _trace(
    a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None
) -> Any:
    no_options("np.trace", dtype=dtype, out=out)
    return np.sum(np.diagonal(a, offset, axis1, axis2), axis=-1)


def _median(
    a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False, keepdims: bool = False
) -> Any:
    no_options("np.median", out=out)
    original = shape = shape_of(a)
    if axis is None:
        a, axis, shape = np.reshape(a, (-1,)), 0, (math.prod(shape),)
        if keepdims:
            return np.reshape(_median(a, axis=0), (1,) * len(original))
    axes = axes_of(axis, len(shape))
    if len(axes) != 1:
        raise UnsupportedOption("np.median over several axes (reshape them into one first)")
    ax = axes[0]
    ordered = np.sort(a, axis=ax)
    n = shape[ax]
    lo, hi = (n - 1) // 2, n // 2
    pick = (slice(None),) * ax
    middle = (ordered[(*pick, slice(lo, lo + 1))] + ordered[(*pick, slice(hi, hi + 1))]) / 2
    return middle if keepdims else np.squeeze(middle, axis=ax)


def _count_nonzero(a: Any, axis: Any = None, *, keepdims: bool = False) -> Any:
    return np.sum((a != 0) * 1, axis=axis, keepdims=keepdims)  # a count: derivative 0


def _extreme_rule(name: str, functions: tuple[Any, ...], extreme: Any, pick: Any) -> ArrayRule:
    """np.max or np.min: opaque in the tracer, tied entries sharing the gradient equally."""
    return ArrayRule(
        name,
        functions,
        bind=_bind_extreme(name),
        forward=lambda x, *, axis, keepdims: extreme(x, axis=_reduce_axis(axis), keepdims=keepdims),
        vjp=_extreme_vjp,
        opaque=True,
        shapes=_extreme_shapes,
        mpmath=_mp_extreme(pick),
        symbolic=_extreme_symbolic(name),
        jacobian=_share_rule(name, extreme, pick),
        doc="tied entries share the gradient equally",
    )


RULES: tuple[ArrayRule, ...] = (
    ArrayRule(
        "np.sum",
        (np.sum,),
        bind=_bind_sum,
        forward=_sum_forward,
        vjp=_sum_vjp,
        saves=lambda needs: ((False,), False),
        symbolic=_sum_symbolic,
    ),
    ArrayRule("np.mean", (np.mean,), composite=_mean),
    ArrayRule(
        "np.prod",
        (np.prod,),
        bind=_bind_prod,
        forward=_prod_forward,
        vjp=_prod_vjp,
        symbolic=_prod_symbolic,
        doc="the product of the other factors, zeros included (no division)",
    ),
    _extreme_rule("np.max", (np.max, np.amax), np.max, max),
    _extreme_rule("np.min", (np.min, np.amin), np.min, min),
    ArrayRule("np.var", (np.var,), composite=_var),
    ArrayRule("np.std", (np.std,), composite=_std),
    ArrayRule("np.average", (np.average,), composite=_average),
    ArrayRule(
        "np.cumsum",
        (np.cumsum,),
        bind=_bind_scan("np.cumsum"),
        forward=_cumsum_forward,
        vjp=_cumsum_vjp,
        saves=lambda needs: ((False,), False),
    ),
    ArrayRule(
        "np.cumprod",
        (np.cumprod,),
        bind=_bind_scan("np.cumprod"),
        forward=_cumprod_forward,
        vjp=_cumprod_vjp,
    ),
    ArrayRule("np.diff", (np.diff,), composite=_diff),
    ArrayRule("np.ptp", (np.ptp,), composite=_ptp),
    ArrayRule("np.trace", (np.trace,), composite=_trace),
    ArrayRule("np.median", (np.median,), composite=_median),
    ArrayRule("np.count_nonzero", (np.count_nonzero,), composite=_count_nonzero),
)

_BY_NAME = {rule.name: rule for rule in RULES}
