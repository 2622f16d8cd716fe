"""pytest-friendly derivative assertions: a failure is a ``GradientMismatch`` with a table.

``GradientMismatch`` subclasses AssertionError, so pytest reports it like a failed
``assert`` and shows the table of the worst entries in its message.
"""

from __future__ import annotations

from typing import Any

from .verify import check_backward, check_gradient, check_hessian, check_jacobian

__all__ = [
    "assert_backward_close",
    "assert_gradient_close",
    "assert_hessian_close",
    "assert_jacobian_close",
]


def assert_gradient_close(f: Any, grad: Any, x: Any, **options: Any) -> None:
    """Assert that ``grad`` (callable or array) is the gradient of f at x (see check_gradient)."""
    __tracebackhide__ = True
    check_gradient(f, grad, x, **options)


def assert_jacobian_close(f: Any, jac: Any, x: Any, **options: Any) -> None:
    """Assert that ``jac`` is the Jacobian (m, n) of f at x (see check_jacobian)."""
    __tracebackhide__ = True
    check_jacobian(f, jac, x, **options)


def assert_hessian_close(f: Any, hess: Any, x: Any, **options: Any) -> None:
    """Assert that ``hess`` is the Hessian (n, n) of f at x (see check_hessian)."""
    __tracebackhide__ = True
    check_hessian(f, hess, x, **options)


def assert_backward_close(f: Any, x: Any, **options: Any) -> None:
    """Assert that diffkit's reverse mode differentiates f correctly at x."""
    __tracebackhide__ = True
    check_backward(f, x, **options)
