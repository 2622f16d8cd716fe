"""diffkit: finite differences, symbolic and reverse-mode differentiation side by side.

>>> import diffkit as dk
>>> dk.FiniteDifference(scheme="forward", h=1e-4).derivative(lambda x: 7*x**2 + 6*x + 3, 5.0)
np.float64(76.00069999995185)
"""

from . import catalog, ops, truth
from .autodiff import Tensor, Value, draw_graph, grad, hessian, jacobian, nn, to_dot, value_and_grad
from .backends import (
    ComplexStepError,
    CostWarning,
    Differentiator,
    FDAccuracyWarning,
    FDResult,
    FiniteDifference,
    ReverseMode,
    StencilError,
    StepError,
    Symbolic,
    UnknownBackendError,
    available,
    backend,
    register,
    stencil,
)
from .function import Function, as_function
from .parse import ParseError, parse_expression
from .sweep import sweep
from .verify import GradientMismatch, check_gradient, check_hessian, check_jacobian

__version__ = "0.1.0"

__all__ = [
    "ComplexStepError",
    "CostWarning",
    "Differentiator",
    "FDAccuracyWarning",
    "FDResult",
    "FiniteDifference",
    "Function",
    "GradientMismatch",
    "ParseError",
    "ReverseMode",
    "StencilError",
    "StepError",
    "Symbolic",
    "Tensor",
    "UnknownBackendError",
    "Value",
    "__version__",
    "as_function",
    "available",
    "backend",
    "catalog",
    "check_gradient",
    "check_hessian",
    "check_jacobian",
    "draw_graph",
    "grad",
    "hessian",
    "jacobian",
    "nn",
    "ops",
    "parse_expression",
    "register",
    "stencil",
    "sweep",
    "to_dot",
    "truth",
    "value_and_grad",
]
