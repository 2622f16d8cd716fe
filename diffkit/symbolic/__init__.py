"""Symbolic differentiation of plain NumPy code: trace, straighten, reverse, compile.

``tracer`` turns NumPy calls on symbols into SymPy expressions; ``program`` makes a
straight-line program of them; ``reverse`` differentiates the program; ``compile``
turns a program into one NumPy function; ``size`` counts the work (expression swell).
"""

from . import opaque  # noqa: F401 -- registers the partials of the tracer's opaque nodes
from .kinks import KINK_CONVENTIONS, KinkConvention, UnevaluatedDerivativeError
from .program import Program, straighten
from .reverse import derivative_program, jacobian_program
from .size import ExpressionSize, expression_size
from .tracer import SymbolicArray, SymbolicBranchError, TracerError, UnsupportedTraceError, trace

__all__ = [
    "KINK_CONVENTIONS",
    "ExpressionSize",
    "KinkConvention",
    "Program",
    "SymbolicArray",
    "SymbolicBranchError",
    "TracerError",
    "UnevaluatedDerivativeError",
    "UnsupportedTraceError",
    "derivative_program",
    "expression_size",
    "jacobian_program",
    "straighten",
    "trace",
]
