"""Differentiation backends behind one protocol, found by name."""

from .accuracy import FDAccuracyWarning
from .complexstep import ComplexStepError
from .costs import CostWarning
from .finite import FDResult, FiniteDifference
from .protocol import Differentiator
from .registry import UnknownBackendError, available, backend, register
from .reverse import ReverseMode
from .stencils import Stencil, StencilError, custom_stencil, stencil
from .steps import StepError, optimal_step
from .symbolic import Symbolic, SymbolicResult

__all__ = [
    "ComplexStepError",
    "CostWarning",
    "Differentiator",
    "FDAccuracyWarning",
    "FDResult",
    "FiniteDifference",
    "ReverseMode",
    "Stencil",
    "StencilError",
    "StepError",
    "Symbolic",
    "SymbolicResult",
    "UnknownBackendError",
    "available",
    "backend",
    "custom_stencil",
    "optimal_step",
    "register",
    "stencil",
]
