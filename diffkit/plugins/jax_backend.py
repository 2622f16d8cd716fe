"""JaxBackend: derivatives by JAX's transforms (``pip install 'diffkit[jax]'``).

``jax.grad`` (nested for higher derivatives, ``vmap``-ed over points for
``derivative``), ``jax.jacrev`` and ``jax.hessian``. JAX computes in float32 unless
``jax_enable_x64`` is set; flipping that flag globally would change every other JAX
user in the process, so each call runs inside JAX's thread-local ``enable_x64``
context instead: float64 points are computed in float64, float32 ones in float32,
and nothing outside the call sees a difference.

Functions written with ``jax.numpy`` run as they are; NumPy code and expressions go
through ``diffkit.plugins.peer_function``. At kinks JAX's own conventions apply (the
derivative of ``abs`` at 0 is 1, of ``maximum`` at a tie 1/2; diffkit's table says 0).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..backends.inputs import as_points, check_order
from . import Peer, import_peer, peer_function, peer_installed

__all__ = ["JaxBackend"]


class JaxBackend:
    """Reverse-mode AD by JAX on NumPy points; jax is imported when the backend is built."""

    name = "jax"

    @staticmethod
    def available() -> bool:
        """Whether jax is installed (the registry lists this backend only then)."""
        return peer_installed("jax")

    def __init__(self) -> None:
        jax = import_peer("jax", extra="jax")
        import jax.numpy as jnp

        self._jax = jax
        self._jnp = jnp

        def asarray(value: Any, like: Any) -> Any:
            return jnp.asarray(value, dtype=like.dtype)

        def probe(fn: Callable[..., Any], example: Any) -> BaseException | None:
            # One eager forward pass on a tracer: NumPy on it raises
            # TracerArrayConversionError, float(x) or `if x > 0` a ConcretizationTypeError,
            # all TypeErrors. Not jax.eval_shape: under jit tracing (eval_shape, jit) a
            # NumPy ufunc called on a tracer a second time segfaults jax 0.10.2.
            try:
                jax.vjp(fn, example)
            except TypeError as exc:
                return exc
            return None

        def stack(values: Sequence[Any]) -> Any:
            return jnp.stack([asarray(v, values[0]) for v in values])

        self._peer = Peer(
            name="jax",
            module=jnp,
            asarray=asarray,
            stack=stack,
            probe=probe,
            written_with="jax.numpy (jnp.sin, ...)",
        )

    def __repr__(self) -> str:
        return "JaxBackend()"

    def _x64(self) -> contextlib.AbstractContextManager[Any]:
        # jax.enable_x64(True) is the context manager on current JAX; older releases
        # had it as jax.experimental.enable_x64().
        enable = getattr(self._jax, "enable_x64", None)
        if enable is not None:
            return enable(True)
        return importlib.import_module("jax.experimental").enable_x64()

    def derivative(self, f: Any, x: Any, n: int = 1) -> Any:
        """The n-th derivative of f: R -> R at each point of x: nested ``grad``, ``vmap``-ed."""
        order = check_order(n)
        points = as_points(x)
        with self._x64():
            flat = self._jnp.asarray(points.reshape(-1))
            d = peer_function(f, flat[0] if flat.size else flat.sum(), self._peer)
            for _ in range(order):
                d = self._jax.grad(d)
            value = np.array(self._jax.vmap(d)(flat), dtype=points.dtype).reshape(points.shape)
        return value[()] if value.ndim == 0 else value

    def gradient(self, f: Any, x: Any) -> np.ndarray:
        """The gradient of f: R^n -> R at x (one reverse pass)."""
        point = as_points(x)
        with self._x64():
            a = self._jnp.asarray(point)
            return np.array(self._jax.grad(peer_function(f, a, self._peer))(a), dtype=point.dtype)

    def jacobian(self, f: Any, x: Any) -> np.ndarray:
        """The Jacobian of f: R^n -> R^m at x, shape (m, n), one reverse pass per output."""
        point = as_points(x)
        with self._x64():
            a = self._jnp.asarray(point)
            jac = self._jax.jacrev(peer_function(f, a, self._peer))(a)
            return np.array(jac, dtype=point.dtype).reshape(-1, point.size)

    def hessian(self, f: Any, x: Any) -> np.ndarray:
        """The Hessian of f: R^n -> R at x, shape (n, n): forward over reverse."""
        point = as_points(x)
        with self._x64():
            a = self._jnp.asarray(point)
            hess = self._jax.hessian(peer_function(f, a, self._peer))(a)
            return np.array(hess, dtype=point.dtype).reshape(point.size, point.size)
