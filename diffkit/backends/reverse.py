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
from .inputs import as_points, check_order

__all__ = ["ReverseMode"]


class ReverseMode:
    """Reverse-mode AD on the user's NumPy code (exact to rounding, any derivative order)."""

    name = "reverse"

    def __repr__(self) -> str:
        return "ReverseMode()"

    def derivative(self, f: Any, x: Any, n: int = 1) -> Any:
        """The n-th derivative of f: R -> R at each point of x, one backward pass per order."""
        n = check_order(n)
        points = as_points(x)
        value = np.asarray(ad.derivative(as_callable(f), int(n))(points), dtype=points.dtype)
        return value[()] if value.ndim == 0 else value

    def gradient(self, f: Any, x: Any) -> np.ndarray:
        """The gradient of f: R^n -> R at x (one backward pass)."""
        point = as_points(x)
        return np.asarray(ad.grad(as_callable(f))(point), dtype=point.dtype)

    def jacobian(self, f: Any, x: Any) -> np.ndarray:
        """The Jacobian of f: R^n -> R^m at x, shape (m, n), from one batched backward pass."""
        point = as_points(x)
        jac = np.asarray(ad.jacobian(as_callable(f))(point), dtype=point.dtype)
        return jac.reshape(-1, point.size)

    def hessian(self, f: Any, x: Any) -> np.ndarray:
        """The Hessian of f: R^n -> R at x, shape (n, n), from one batched pass over the gradient."""
        point = as_points(x)
        hess = np.asarray(ad.hessian(as_callable(f))(point), dtype=point.dtype)
        return hess.reshape(point.size, point.size)
