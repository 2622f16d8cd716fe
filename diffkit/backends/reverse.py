"""ReverseMode: diffkit's own reverse-mode automatic differentiation as a backend.

The user's plain NumPy function runs on ``autodiff.Tensor`` arguments and records
a graph; one backward pass gives a gradient, one batched pass a whole Jacobian,
and one batched pass through the recorded gradient a whole Hessian. Results keep
the float dtype of x.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autodiff import engine as ad
from ..function import as_callable

__all__ = ["ReverseMode"]


def _point(x: Any) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"x must be real floating-point numbers, got dtype {arr.dtype}")
    return arr


class ReverseMode:
    """Reverse-mode AD on the user's NumPy code (exact to rounding, any derivative order)."""

    name = "reverse"

    def __repr__(self) -> str:
        return "ReverseMode()"

    def derivative(self, f: Any, x: Any, n: int = 1) -> Any:
        """The n-th derivative of f: R -> R at each point of x, one backward pass per order."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"derivative order n must be an integer >= 1, got {n!r}")
        points = _point(x)
        value = np.asarray(ad.derivative(as_callable(f), int(n))(points), dtype=points.dtype)
        return value[()] if value.ndim == 0 else value

    def gradient(self, f: Any, x: Any) -> np.ndarray:
        """The gradient of f: R^n -> R at x (one backward pass)."""
        point = _point(x)
        return np.asarray(ad.grad(as_callable(f))(point), dtype=point.dtype)

    def jacobian(self, f: Any, x: Any) -> np.ndarray:
        """The Jacobian of f: R^n -> R^m at x, shape (m, n), from one batched backward pass."""
        point = _point(x)
        jac = np.asarray(ad.jacobian(as_callable(f))(point), dtype=point.dtype)
        return jac.reshape(-1, point.size) if point.ndim <= 1 else jac

    def hessian(self, f: Any, x: Any) -> np.ndarray:
        """The Hessian of f: R^n -> R at x, shape (n, n), from one batched pass over the gradient."""
        point = _point(x)
        hess = np.asarray(ad.hessian(as_callable(f))(point), dtype=point.dtype)
        return hess.reshape(point.size, point.size) if point.ndim <= 1 else hess
