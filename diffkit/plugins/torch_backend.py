"""TorchBackend: derivatives by PyTorch's ``torch.func`` transforms (``pip install 'diffkit[torch]'``).

``torch.func.grad`` for gradients (nested for higher derivatives, ``vmap``-ed over
points for ``derivative``), ``jacrev`` for Jacobians and ``jacrev`` of ``jacrev`` for
Hessians (reverse over reverse: ``torch.func.hessian`` is forward over reverse, and
torch's forward mode loads its decompositions through the deprecated
``torch.jit.script``, a DeprecationWarning on every first use). Points become tensors of x's dtype, so float32 is computed in
float32 and float64 in float64; results come back as NumPy arrays of that dtype.

Functions written with torch run as they are; NumPy code and expressions go through
``diffkit.plugins.peer_function``. At kinks torch's own conventions apply (the
derivative of ``maximum`` at a tie is 1/2, where diffkit's table says 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..backends.inputs import as_points, check_order
from . import Peer, import_peer, peer_function, peer_installed

__all__ = ["TorchBackend"]


class TorchBackend:
    """Reverse-mode AD by PyTorch on NumPy points; torch is imported when the backend is built."""

    name = "torch"

    @staticmethod
    def available() -> bool:
        """Whether torch is installed (the registry lists this backend only then)."""
        return peer_installed("torch")

    def __init__(self) -> None:
        torch = import_peer("torch", extra="torch")
        self._torch = torch

        def asarray(value: Any, like: Any) -> Any:
            if isinstance(value, torch.Tensor):
                return value
            return torch.as_tensor(value, dtype=like.dtype)

        def probe(fn: Callable[..., Any], example: Any) -> BaseException | None:
            # NumPy calls on a tensor that requires grad fail ("Can't call numpy() on
            # Tensor that requires grad"); a NumPy result means torch lost track too.
            try:
                out = fn(example.detach().clone().requires_grad_(True))
            except (RuntimeError, TypeError) as exc:
                return exc
            outs = out if isinstance(out, list | tuple) else [out]
            if all(isinstance(o, torch.Tensor) for o in outs):
                return None
            return TypeError(f"it returned a {type(out).__name__}, not a torch.Tensor")

        def stack(values: Sequence[Any]) -> Any:
            return torch.stack([asarray(v, values[0]) for v in values])

        self._peer = Peer(
            name="torch",
            module=torch,
            asarray=asarray,
            stack=stack,
            probe=probe,
            written_with="torch operations (torch.sin, ...)",
        )

    def __repr__(self) -> str:
        return "TorchBackend()"

    def _tensor(self, point: np.ndarray) -> Any:
        """point as a tensor of its own shape and dtype.

        Contiguous because ``torch.as_tensor`` refuses negative strides (``x[::-1]``);
        reshaped because ``np.ascontiguousarray`` returns at least 1-d, and a 0-d point
        seen as shape (1,) makes f's output shape (1,), which ``torch.func.grad`` refuses.
        """
        return self._torch.as_tensor(np.ascontiguousarray(point).reshape(point.shape))

    @staticmethod
    def _numpy(value: Any, dtype: np.dtype) -> np.ndarray:
        return np.array(value.detach().cpu().numpy(), dtype=dtype)

    def derivative(self, f: Any, x: Any, n: int = 1) -> Any:
        """The n-th derivative of f: R -> R at each point of x: nested ``grad``, ``vmap``-ed."""
        order = check_order(n)
        points = as_points(x)
        flat = self._tensor(points).reshape(-1)
        example = flat[0] if flat.numel() else self._torch.zeros((), dtype=flat.dtype)
        d = peer_function(f, example, self._peer)
        if not flat.numel():  # vmap cannot batch over zero points; f is checked above
            return np.zeros(points.shape, dtype=points.dtype)
        for _ in range(order):
            d = self._torch.func.grad(d)
        value = self._numpy(self._torch.func.vmap(d)(flat), points.dtype).reshape(points.shape)
        return value[()] if value.ndim == 0 else value

    def gradient(self, f: Any, x: Any) -> np.ndarray:
        """The gradient of f: R^n -> R at x (one reverse pass)."""
        point = as_points(x)
        t = self._tensor(point)
        grad = self._torch.func.grad(peer_function(f, t, self._peer))(t)
        return self._numpy(grad, point.dtype)

    def jacobian(self, f: Any, x: Any) -> np.ndarray:
        """The Jacobian of f: R^n -> R^m at x, shape (m, n), one reverse pass per output."""
        point = as_points(x)
        t = self._tensor(point)
        jac = self._torch.func.jacrev(peer_function(f, t, self._peer))(t)
        return self._numpy(jac, point.dtype).reshape(-1, point.size)

    def hessian(self, f: Any, x: Any) -> np.ndarray:
        """The Hessian of f: R^n -> R at x, shape (n, n): reverse over reverse."""
        point = as_points(x)
        t = self._tensor(point)
        jacrev = self._torch.func.jacrev
        hess = jacrev(jacrev(peer_function(f, t, self._peer)))(t)
        return self._numpy(hess, point.dtype).reshape(point.size, point.size)
