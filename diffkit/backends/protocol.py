"""The ``Differentiator`` protocol every backend satisfies.

Backends are interchangeable: the sweep, the report and the gradient checker only
ever call these four methods. Each returns NumPy values in the float dtype of ``x``
(float32 in, float32 out). ``f`` may be a plain NumPy callable, an expression
string, a SymPy expression or a ``diffkit.Function``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Differentiator"]


@runtime_checkable
class Differentiator(Protocol):
    """What a differentiation backend offers."""

    name: str

    def derivative(self, f: Any, x: Any, n: int = 1) -> Any:
        """The n-th derivative of f: R -> R, elementwise over an array of points."""
        ...

    def gradient(self, f: Any, x: Any) -> Any:
        """The gradient of f: R^n -> R at one point, shape (n,)."""
        ...

    def jacobian(self, f: Any, x: Any) -> Any:
        """The Jacobian of f: R^n -> R^m at one point, shape (m, n)."""
        ...

    def hessian(self, f: Any, x: Any) -> Any:
        """The Hessian of f: R^n -> R at one point, shape (n, n)."""
        ...
