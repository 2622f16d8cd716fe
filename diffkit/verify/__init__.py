"""Verify derivatives: the user's gradient, Jacobian or Hessian against a reference.

``check_gradient(f, grad, x)`` passes or raises ``GradientMismatch`` (an
AssertionError whose message is a table of the worst entries). The reference is
symbolic where f traces, else Richardson-extrapolated finite differences, and the
tolerance comes from the reference's error and the dtype, not a fixed constant.
"""

from .checks import check_backward, check_gradient
from .matrices import check_hessian, check_jacobian
from .reference import taylor_test
from .report import CheckReport, GradientMismatch, Kink, TaylorResult

__all__ = [
    "CheckReport",
    "GradientMismatch",
    "Kink",
    "TaylorResult",
    "check_backward",
    "check_gradient",
    "check_hessian",
    "check_jacobian",
    "taylor_test",
]
