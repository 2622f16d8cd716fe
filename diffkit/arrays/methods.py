"""The ndarray methods (``x.sum(axis=0)``, ``x.T``, ``x.astype(float)``) as NumPy calls.

Reverse mode's ``Tensor`` and the tracer's ``SymbolicArray`` both inherit these, so a
method means what the NumPy function means, through the same row of the table, in
every backend. A class overrides a method only to be faster (the tensor's ``sum``).
"""

from __future__ import annotations

from typing import Any

import numpy

# Each method hands ``self`` to NumPy, which dispatches it back through
# ``__array_function__``/``__array_ufunc__``; NumPy's stubs cannot see that protocol.
np: Any = numpy

__all__ = ["ArrayMethods"]


class ArrayMethods:
    """NumPy's array methods, each the NumPy function of the same name."""

    __slots__ = ()

    @property
    def shape(self) -> tuple[int, ...]:
        raise NotImplementedError  # each array type has its own

    @property
    def T(self) -> Any:
        return np.transpose(self)

    @property
    def mT(self) -> Any:
        return np.swapaxes(self, -1, -2)

    @property
    def real(self) -> Any:
        return self

    @property
    def imag(self) -> Any:
        return np.zeros(self.shape)

    def sum(
        self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
    ) -> Any:
        return np.sum(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def mean(
        self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
    ) -> Any:
        return np.mean(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def prod(
        self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
    ) -> Any:
        return np.prod(self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def max(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        return np.max(self, axis=axis, out=out, keepdims=keepdims)

    def min(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        return np.min(self, axis=axis, out=out, keepdims=keepdims)

    def var(
        self,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        ddof: int = 0,
        keepdims: bool = False,
    ) -> Any:
        return np.var(self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims)

    def std(
        self,
        axis: Any = None,
        dtype: Any = None,
        out: Any = None,
        ddof: int = 0,
        keepdims: bool = False,
    ) -> Any:
        return np.std(self, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims)

    def cumsum(self, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        return np.cumsum(self, axis=axis, dtype=dtype, out=out)

    def cumprod(self, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
        return np.cumprod(self, axis=axis, dtype=dtype, out=out)

    def ptp(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
        return np.ptp(self, axis=axis, out=out, keepdims=keepdims)

    def reshape(self, *shape: Any, order: str = "C") -> Any:
        return np.reshape(self, shape[0] if len(shape) == 1 else shape, order=order)

    def transpose(self, *axes: Any) -> Any:
        return np.transpose(self, axes[0] if len(axes) == 1 else (axes or None))

    def swapaxes(self, axis1: int, axis2: int) -> Any:
        return np.swapaxes(self, axis1, axis2)

    def ravel(self, order: str = "C") -> Any:
        return np.ravel(self, order)

    def flatten(self, order: str = "C") -> Any:
        return np.ravel(self, order)

    def squeeze(self, axis: Any = None) -> Any:
        return np.squeeze(self, axis)

    def repeat(self, repeats: Any, axis: Any = None) -> Any:
        return np.repeat(self, repeats, axis)

    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        return np.diagonal(self, offset, axis1, axis2)

    def trace(
        self, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None, out: Any = None
    ) -> Any:
        return np.trace(self, offset, axis1, axis2, dtype, out)

    def clip(self, min: Any = None, max: Any = None, out: Any = None, **kwargs: Any) -> Any:
        return np.clip(self, min, max, out=out, **kwargs)

    def dot(self, other: Any) -> Any:
        return np.dot(self, other)

    def round(self, decimals: int = 0) -> Any:
        return np.round(self, decimals)

    def conj(self) -> Any:
        return np.conjugate(self)

    def conjugate(self) -> Any:
        return np.conjugate(self)

    def sort(self, axis: int = -1) -> Any:
        raise TypeError("x.sort() sorts in place, which diffkit's arrays never do: use np.sort(x)")

    def argmax(self, axis: Any = None, **kwargs: Any) -> Any:
        return np.argmax(self, axis=axis, **kwargs)

    def argmin(self, axis: Any = None, **kwargs: Any) -> Any:
        return np.argmin(self, axis=axis, **kwargs)

    def argsort(self, axis: Any = -1, **kwargs: Any) -> Any:
        return np.argsort(self, axis=axis, **kwargs)

    def all(self, axis: Any = None, **kwargs: Any) -> Any:
        return np.all(self, axis=axis, **kwargs)

    def any(self, axis: Any = None, **kwargs: Any) -> Any:
        return np.any(self, axis=axis, **kwargs)

    def nonzero(self) -> Any:
        return np.nonzero(self)

    def tolist(self) -> Any:
        """Nested lists of 0-d arrays of the same kind (arithmetic on them still records)."""
        if not self.shape:
            return self
        return [row.tolist() for row in self]  # type: ignore[attr-defined]

    def __round__(self, ndigits: int | None = None) -> Any:
        return np.round(self, ndigits or 0)

    def __divmod__(self, other: Any) -> tuple[Any, Any]:
        return np.floor_divide(self, other), np.remainder(self, other)

    def __mod__(self, other: Any) -> Any:
        return np.remainder(self, other)

    def __rmod__(self, other: Any) -> Any:
        return np.remainder(other, self)

    def __floordiv__(self, other: Any) -> Any:
        return np.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return np.floor_divide(other, self)
