"""Numerical routines real code calls, written as NumPy writes them: polynomials,
integration, statistics, quantiles, interpolation, the ``nan*`` reductions, grids.

All composites of the rest of the table, so every backend differentiates them the
same way. Choices that carry no derivative (which interval ``interp`` is in, which
entries are NaN) are read from the values (``concrete``); the tracer has none, so it
refuses those, and takes the rest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .rule import ArrayRule, UnsupportedOption, axes_of, concrete, given, no_options, shape_of

__all__ = ["RULES"]


def _values(x: Any, name: str) -> np.ndarray:
    values = concrete(x)
    if values is None:
        raise UnsupportedOption(
            f"{name} of symbolic values (it chooses by their values)", tracer_only=True
        )
    return values


# ---------------------------------------------------------------------- elementwise


def _fix(x: Any, out: Any = None) -> Any:
    no_options("np.fix", out=out)
    return np.trunc(x)


def _sinc(x: Any) -> Any:
    # sin(pi x) / (pi x), and near 0 its series: both branches finite, so a recorded
    # pass (Hessians) differentiates the chosen one without 0/0 in the other
    t = np.pi * x
    small = np.abs(x) < 1e-3
    safe = np.where(small, 1.0, t)
    tt = t * t
    series = 1.0 - tt / 6.0 + tt * tt / 120.0
    return np.where(small, series, np.sin(safe) / safe)


# ---------------------------------------------------------------------- nan reductions


def _nan_replaced(a: Any, value: float, name: str) -> Any:
    return np.where(np.isnan(_values(a, name)), value, a)


def _nanreduce(name: str, reduce: Any, fill: float) -> Any:
    def nan_reduction(
        a: Any, axis: Any = None, *args: Any, keepdims: Any = False, **kwargs: Any
    ) -> Any:
        # dtype, out, initial, where change the result: refused, never ignored
        options = dict(zip(("dtype", "out"), args, strict=False)) | kwargs
        no_options(name, **{k: given(v, None) for k, v in options.items()})
        return reduce(
            _nan_replaced(a, fill, name), axis=axis, keepdims=bool(given(keepdims, False))
        )

    return nan_reduction


def _nanmean(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    keepdims: Any = False,
    **kwargs: Any,
) -> Any:
    no_options("np.nanmean", dtype=dtype, out=out)
    keepdims = bool(given(keepdims, False))
    valid = ~np.isnan(_values(a, "np.nanmean"))
    total = np.sum(_nan_replaced(a, 0.0, "np.nanmean"), axis=axis, keepdims=keepdims)
    return total / np.sum(valid, axis=axis, keepdims=keepdims)


def _nanvar(
    a: Any,
    axis: Any = None,
    dtype: Any = None,
    out: Any = None,
    ddof: int = 0,
    keepdims: Any = False,
    **kwargs: Any,
) -> Any:
    correction = given(kwargs.pop("correction", None), None)
    no_options("np.nanvar", dtype=dtype, out=out, **{k: given(v, None) for k, v in kwargs.items()})
    if correction is not None:
        ddof = correction
    keepdims = bool(given(keepdims, False))
    valid = ~np.isnan(_values(a, "np.nanvar"))
    mean = _nanmean(a, axis=axis, keepdims=True)
    deviation = np.where(valid, a - mean, 0.0)
    count = np.sum(valid, axis=axis, keepdims=keepdims) - ddof
    return np.sum(deviation * deviation, axis=axis, keepdims=keepdims) / count


def _nanstd(*args: Any, **kwargs: Any) -> Any:
    return np.sqrt(_nanvar(*args, **kwargs))


def _nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    return np.cumsum(_nan_replaced(a, 0.0, "np.nancumsum"), axis=axis)


def _nancumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    return np.cumprod(_nan_replaced(a, 1.0, "np.nancumprod"), axis=axis)


# ---------------------------------------------------------------------- scans and differences


def _cumulative(scan: Any, identity: float) -> Any:
    def cumulative(
        x: Any,
        /,
        *,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        include_initial: bool = False,
    ) -> Any:
        no_options("np.cumulative_sum", dtype=dtype, out=out)
        if axis is None:
            if len(shape_of(x)) > 1:
                raise ValueError("axis must be given for arrays of more than one dimension")
            axis = 0
        result = scan(x, axis=axis)
        if include_initial:
            shape = list(shape_of(result))
            shape[axis % len(shape)] = 1
            result = np.concatenate([np.full(tuple(shape), identity), result], axis=axis)
        return result

    return cumulative


def _ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    flat = np.reshape(ary, (-1,))
    parts = [flat[1:] - flat[:-1]]
    if to_begin is not None:
        parts.insert(0, np.reshape(to_begin, (-1,)))
    if to_end is not None:
        parts.append(np.reshape(to_end, (-1,)))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


# ---------------------------------------------------------------------- polynomials, integration


def _polyval(p: Any, x: Any) -> Any:
    coefficients = list(p) if isinstance(p, list | tuple) else [p[i] for i in range(shape_of(p)[0])]
    result = coefficients[0] * np.ones(shape_of(x)) if coefficients else np.zeros(shape_of(x))
    for c in coefficients[1:]:
        result = result * x + c
    return result


def _vander(x: Any, N: Any = None, increasing: bool = False) -> Any:
    n = shape_of(x)[0] if N is None else int(N)
    powers = [x**k if k else np.ones(shape_of(x)) for k in range(n)]
    if not increasing:
        powers = powers[::-1]
    return np.stack(powers, axis=1)


def _trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    ndim = len(shape_of(y))
    axis = axis % ndim
    upper = (slice(None),) * axis + (slice(1, None),)
    lower = (slice(None),) * axis + (slice(None, -1),)
    if x is None:
        widths: Any = dx
    else:
        widths = np.diff(x) if len(shape_of(x)) == 1 else x[upper] - x[lower]
        if len(shape_of(x)) == 1:
            widths = np.reshape(widths, tuple(-1 if i == axis else 1 for i in range(ndim)))
    return np.sum(widths * (y[upper] + y[lower]) / 2.0, axis=axis)


# ---------------------------------------------------------------------- statistics


def _cov(
    m: Any,
    y: Any = None,
    rowvar: bool = True,
    bias: bool = False,
    ddof: Any = None,
    fweights: Any = None,
    aweights: Any = None,
    *,
    dtype: Any = None,
) -> Any:
    no_options("np.cov", fweights=fweights, aweights=aweights, dtype=dtype)
    x = np.atleast_2d(m)
    if not rowvar and shape_of(x)[0] != 1:
        x = np.transpose(x)
    if y is not None:
        other = np.atleast_2d(y)
        if not rowvar and shape_of(other)[0] != 1:
            other = np.transpose(other)
        x = np.concatenate([x, other], axis=0)
    n = shape_of(x)[1]
    correction = (0 if bias else 1) if ddof is None else ddof
    centred = x - np.mean(x, axis=1, keepdims=True)
    result = centred @ np.transpose(centred) / (n - correction)
    return np.squeeze(result) if shape_of(result) == (1, 1) else result


def _corrcoef(x: Any, y: Any = None, rowvar: bool = True, **rest: Any) -> Any:
    c = _cov(x, y, rowvar)
    if not shape_of(c):
        return c / c
    d = np.sqrt(np.diagonal(c))
    return c / np.reshape(d, (-1, 1)) / np.reshape(d, (1, -1))


def _quantile(
    a: Any,
    q: Any,
    axis: Any = None,
    out: Any = None,
    overwrite_input: bool = False,
    method: str = "linear",
    keepdims: bool = False,
    *,
    weights: Any = None,
    interpolation: Any = None,
) -> Any:
    no_options("np.quantile", out=out, weights=weights, interpolation=interpolation)
    if method != "linear":
        raise UnsupportedOption(f"np.quantile with method={method!r}")
    if axis is None:
        a, axis = np.reshape(a, (-1,)), 0
    axes = axes_of(axis, len(shape_of(a)))
    if len(axes) != 1:
        raise UnsupportedOption("np.quantile over several axes")
    ax = axes[0]
    ordered = np.moveaxis(np.sort(a, axis=ax), ax, 0)
    n = shape_of(ordered)[0]
    qs = np.asarray(concrete(q), dtype=float)
    results = []
    for level in qs.reshape(-1):
        position = level * (n - 1)
        lo = math.floor(position)
        hi = min(lo + 1, n - 1)
        fraction = position - lo
        value = ordered[lo] + (ordered[hi] - ordered[lo]) * fraction if fraction else ordered[lo]
        results.append(np.expand_dims(value, ax) if keepdims else value)
    if qs.ndim == 0:
        return results[0]
    return np.reshape(np.stack(results), qs.shape + shape_of(results[0]))


def _percentile(a: Any, q: Any, *args: Any, **kwargs: Any) -> Any:
    return _quantile(a, np.asarray(concrete(q), dtype=float) / 100.0, *args, **kwargs)


def _interp(
    x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None, period: Any = None
) -> Any:
    no_options("np.interp", period=period)
    grid = _values(xp, "np.interp")
    points = _values(x, "np.interp")
    n = grid.shape[0]
    upper = np.clip(np.searchsorted(grid, points, side="right"), 1, n - 1)
    lower = upper - 1
    x0, x1 = grid[lower], grid[upper]
    f0, f1 = fp[lower], fp[upper]
    t = (x - x0) / (x1 - x0)
    inside = f0 + (f1 - f0) * t
    below = fp[0] if left is None else left
    above = fp[n - 1] if right is None else right
    return np.where(points < grid[0], below, np.where(points > grid[-1], above, inside))


# ---------------------------------------------------------------------- grids and stacks


def _meshgrid(
    *xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy"
) -> tuple[Any, ...]:
    n = len(xi)
    shapes = [shape_of(x)[0] if shape_of(x) else 1 for x in xi]
    outs = []
    for i, x in enumerate(xi):
        shape = [1] * n
        shape[i] = shapes[i]
        if indexing == "xy" and n > 1 and i < 2:
            shape[0], shape[1] = shape[1], shape[0]
        outs.append(np.reshape(x, tuple(shape)))
    if not sparse:
        full = np.broadcast_shapes(*(shape_of(o) for o in outs))
        outs = [np.broadcast_to(o, full) for o in outs]
    return tuple(outs)


def _unstack(x: Any, /, *, axis: int = 0) -> tuple[Any, ...]:
    moved = np.moveaxis(x, axis, 0)
    return tuple(moved[i] for i in range(shape_of(moved)[0]))


def _matrix_transpose(x: Any, /) -> Any:
    return np.swapaxes(x, -1, -2)


def _lstsq(a: Any, b: Any, rcond: Any = None) -> tuple[Any, Any, Any, Any]:
    m, n = shape_of(a)
    s = np.linalg.svd(a, compute_uv=False)
    x = np.linalg.pinv(a, rcond=rcond) @ b if rcond is not None else np.linalg.pinv(a) @ b
    rank = int(np.linalg.matrix_rank(_values(a, "np.linalg.lstsq")))
    if m > n and rank == n:
        residual = a @ x - b
        residuals = np.sum(residual * residual, axis=0)
        residuals = np.reshape(residuals, (1,)) if len(shape_of(b)) == 1 else residuals
    else:
        residuals = np.zeros((0,))
    return x, residuals, rank, s


def _sequence_rule(name: str, function: Any, composite: Any) -> ArrayRule:
    return ArrayRule(name, (function,), composite=composite)


_NAN_FUNCTIONS: Sequence[tuple[str, Any, Any]] = (
    ("np.nansum", np.nansum, _nanreduce("np.nansum", np.sum, 0.0)),
    ("np.nanprod", np.nanprod, _nanreduce("np.nanprod", np.prod, 1.0)),
    ("np.nanmax", np.nanmax, _nanreduce("np.nanmax", np.max, -np.inf)),
    ("np.nanmin", np.nanmin, _nanreduce("np.nanmin", np.min, np.inf)),
    ("np.nanmean", np.nanmean, _nanmean),
    ("np.nanvar", np.nanvar, _nanvar),
    ("np.nanstd", np.nanstd, _nanstd),
    ("np.nancumsum", np.nancumsum, _nancumsum),
    ("np.nancumprod", np.nancumprod, _nancumprod),
)

RULES: tuple[ArrayRule, ...] = (
    ArrayRule("np.fix", (np.fix,), composite=_fix),
    ArrayRule("np.sinc", (np.sinc,), composite=_sinc),
    *(_sequence_rule(name, f, c) for name, f, c in _NAN_FUNCTIONS),
    ArrayRule("np.cumulative_sum", (np.cumulative_sum,), composite=_cumulative(np.cumsum, 0.0)),
    ArrayRule("np.cumulative_prod", (np.cumulative_prod,), composite=_cumulative(np.cumprod, 1.0)),
    ArrayRule("np.ediff1d", (np.ediff1d,), composite=_ediff1d),
    ArrayRule("np.polyval", (np.polyval,), composite=_polyval),
    ArrayRule("np.vander", (np.vander,), composite=_vander),
    ArrayRule("np.trapezoid", (np.trapezoid,), composite=_trapezoid),
    ArrayRule("np.cov", (np.cov,), composite=_cov),
    ArrayRule("np.corrcoef", (np.corrcoef,), composite=_corrcoef),
    ArrayRule("np.quantile", (np.quantile,), composite=_quantile),
    ArrayRule("np.percentile", (np.percentile,), composite=_percentile),
    ArrayRule("np.interp", (np.interp,), composite=_interp),
    ArrayRule("np.meshgrid", (np.meshgrid,), composite=_meshgrid),
    ArrayRule("np.unstack", (np.unstack,), composite=_unstack),
    ArrayRule(
        "np.matrix_transpose",
        (np.matrix_transpose, np.linalg.matrix_transpose),
        composite=_matrix_transpose,
    ),
    ArrayRule("np.linalg.lstsq", (np.linalg.lstsq,), composite=_lstsq),
    ArrayRule("np.linalg.matrix_rank", (np.linalg.matrix_rank,), passive=True),
)
