"""diffkit's reverse-mode engine: vectorized tensors over plain NumPy code.

``grad``, ``value_and_grad``, ``jacobian`` and ``hessian`` take a function written
for NumPy arrays and return a function computing its derivatives; ``Tensor`` is
what that function sees in place of an array.
"""

from . import nn
from .engine import backward, derivative, grad, hessian, jacobian, value_and_grad
from .graph import GraphvizUnavailableError, draw_graph, to_dot
from .tensor import Tensor, UnsupportedOperationError, supported_operations
from .value import Value

__all__ = [
    "GraphvizUnavailableError",
    "Tensor",
    "UnsupportedOperationError",
    "Value",
    "backward",
    "derivative",
    "draw_graph",
    "grad",
    "hessian",
    "jacobian",
    "nn",
    "supported_operations",
    "to_dot",
    "value_and_grad",
]
