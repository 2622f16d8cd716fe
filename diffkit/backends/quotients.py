"""The difference quotient: a stencil applied to a line function, and its working result.

``difference_quotient`` is the one place where f values become a derivative
estimate; plain rules, Richardson levels and the sweep all go through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .stencils import Stencil

__all__ = ["Estimate", "LineFunction", "difference_quotient", "finite_rows", "per_point"]

LineFunction = Callable[[np.ndarray], np.ndarray]


@dataclass
class Estimate:
    """Working arrays over the points of one engine call (value and error per component)."""

    value: np.ndarray
    error: np.ndarray
    h: np.ndarray
    nfev: np.ndarray
    status: np.ndarray
    # max |f| over the stencil at the step taken, per point: the scale of its rounding.
    size: np.ndarray | None = None


def finite_rows(values: np.ndarray) -> np.ndarray:
    """Per point (first axis), whether every output component is finite."""
    finite = np.isfinite(values)
    return finite if finite.ndim == 1 else finite.reshape(finite.shape[0], -1).all(axis=1)


def per_point(mask: np.ndarray, arr: np.ndarray) -> np.ndarray:
    """Broadcast a per-point mask against an array with trailing output axes."""
    return mask.reshape(mask.shape + (1,) * (arr.ndim - 1))


def difference_quotient(
    phi: LineFunction, x: np.ndarray, h: np.ndarray, rule: Stencil
) -> tuple[np.ndarray, np.ndarray]:
    """sum_i w_i phi(x + s_i h) / h^n over points x, steps h (same shape, one or more levels).

    All stencil points go to phi in one call; the weighted sum runs in a fixed
    order, so a forward difference is bit for bit (f(x + h) - f(x)) / h. Also
    returns max |phi| over the stencil, the scale of the rounding error.
    """
    offsets, weights = rule.used
    hx = h if h.dtype == x.dtype else h.astype(x.dtype)
    shape = np.broadcast_shapes(x.shape, hx.shape)
    # One call of phi for the whole stencil; x + 0 * h is x itself.
    reach = offsets.astype(x.dtype).reshape((-1,) + (1,) * len(shape))
    fs = np.asarray(phi((x + reach * hx).reshape(-1)))
    if np.iscomplexobj(fs) and not np.iscomplexobj(x):
        from .pilot import refuse_complex

        refuse_complex()
    fs = fs.reshape((offsets.size, *shape, *fs.shape[1:]))
    total = fs[0] if weights[0] == 1 else weights[0] * fs[0]
    for w, f_s in zip(weights[1:], fs[1:], strict=True):
        total = total + (f_s if w == 1 else w * f_s)
    hb = h.reshape(h.shape + (1,) * (total.ndim - h.ndim)) if total.ndim > h.ndim else h
    if rule.n != 1:
        hb = hb**rule.n
    return total / hb.astype(total.real.dtype, copy=False), np.abs(fs).max(axis=0)
