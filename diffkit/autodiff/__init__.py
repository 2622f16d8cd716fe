"""diffkit's reverse-mode engine: vectorized tensors over plain NumPy code.

``grad``, ``value_and_grad``, ``jacobian`` and ``hessian`` take a function written
for NumPy arrays and return a function computing its derivatives; ``Tensor`` is
what that function sees in place of an array.
"""

from .engine import backward, derivative, grad, hessian, jacobian, value_and_grad
from .tensor import Tensor, UnsupportedOperationError, supported_operations

__all__ = [
    "Tensor",
    "UnsupportedOperationError",
    "backward",
    "derivative",
    "grad",
    "hessian",
    "jacobian",
    "supported_operations",
    "value_and_grad",
]
