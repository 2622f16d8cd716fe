"""diffkit: finite differences, symbolic and reverse-mode differentiation side by side.

>>> import diffkit as dk
>>> dk.FiniteDifference(scheme="forward", h=1e-4).derivative(lambda x: 7*x**2 + 6*x + 3, 5.0)
np.float64(76.00069999995185)
"""

from typing import Any

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
    "Report",
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
    "report",
    "stencil",
    "sweep",
    "to_dot",
    "truth",
    "value_and_grad",
]


# dk.report(...) and dk.Report load the report layer (pandas, matplotlib: as long again as
# the rest of `import diffkit`) on first use. dk.report is the diffkit.report package,
# which diffkit.report.notebook makes callable.
_LAZY = ("Report", "report")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        notebook = importlib.import_module(".report.notebook", __name__)
        return notebook.Report if name == "Report" else importlib.import_module(".report", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
