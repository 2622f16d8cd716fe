"""``np.array``, ``np.asarray``, ``np.r_`` and ``np.c_`` on lists holding diffkit's arrays.

NumPy cannot be asked to build an array of tensors: ``np.array`` is not one of the
functions its dispatch protocol lets another type override, and ``__array__`` must
return a plain ndarray, which would cut the graph (and the tracer has no numbers to
give). So while diffkit runs a user's function (``dk.grad(f)(x)``, the tracer), these
names of the ``numpy`` module are replaced by versions that build the array with
``np.stack``/``np.concatenate`` (which do dispatch) when a diffkit array is inside,
and call NumPy's own function otherwise. The replacement is counted, so nested and
concurrent runs restore NumPy only when the last one ends; another thread calling
``np.array`` meanwhile gets NumPy's result, through one more check.

Code that bound ``from numpy import array`` before diffkit ran keeps NumPy's function
and gets the clear error of ``__array__``; ``np.array`` as an attribute works.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from .rule import NotDifferentiable

__all__ = ["is_traced", "numpy_entry_points", "running_user_code"]

_ORIGINAL: dict[str, Any] = {
    name: getattr(np, name)
    for name in ("array", "asarray", "asanyarray", "ascontiguousarray", "r_", "c_")
}
_lock = threading.Lock()
_depth = [0]


def is_traced(value: Any) -> bool:
    """Whether ``value`` is one of diffkit's arrays (a tensor, a symbolic array, ...)."""
    return hasattr(type(value), "__diffkit_rule__")


def _holds_traced(value: Any) -> bool:
    if is_traced(value):
        return True
    if isinstance(value, list | tuple):
        return any(_holds_traced(item) for item in value)
    return False


def _assemble(value: Any) -> Any:
    """A nested list of arrays and numbers as one array, through ``np.stack`` at every level."""
    if isinstance(value, list | tuple):
        if not _holds_traced(value):
            return _ORIGINAL["array"](value, dtype=float)
        return np.stack([_assemble(item) for item in value])
    return value


def _finish(result: Any, dtype: Any, ndmin: int) -> Any:
    if dtype is not None:
        kind = np.dtype(dtype).kind
        if kind in "biu":  # an integer copy of the values: no derivative, as NumPy casts
            values = getattr(result, "__diffkit_values__", None)
            data = values() if values is not None else None
            if data is None:
                raise TypeError("an integer array of traced values has no derivative to trace")
            return _ORIGINAL["array"](data, dtype=dtype, ndmin=ndmin)
        if kind == "f" and hasattr(result, "astype"):
            result = result.astype(dtype)
    shape = getattr(result, "shape", ())
    if ndmin > len(shape):
        result = np.reshape(result, (1,) * (ndmin - len(shape)) + tuple(shape))
    return result


def _array(obj: Any, dtype: Any = None, *args: Any, ndmin: int = 0, **kwargs: Any) -> Any:
    if is_traced(obj) or (isinstance(obj, list | tuple) and _holds_traced(obj)):
        return _finish(_assemble(obj), dtype, ndmin)
    return _ORIGINAL["array"](obj, dtype, *args, ndmin=ndmin, **kwargs)


def _asarray(a: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
    if is_traced(a) or (isinstance(a, list | tuple) and _holds_traced(a)):
        return _finish(_assemble(a), dtype, 0)
    return _ORIGINAL["asarray"](a, dtype, *args, **kwargs)


def _asanyarray(a: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
    if is_traced(a) or (isinstance(a, list | tuple) and _holds_traced(a)):
        return _finish(_assemble(a), dtype, 0)
    return _ORIGINAL["asanyarray"](a, dtype, *args, **kwargs)


def _ascontiguousarray(a: Any, dtype: Any = None, *args: Any, **kwargs: Any) -> Any:
    if is_traced(a) or (isinstance(a, list | tuple) and _holds_traced(a)):
        return _finish(_assemble(a), dtype, 1)
    return _ORIGINAL["ascontiguousarray"](a, dtype, *args, **kwargs)


def _directive(text: str, column: bool) -> tuple[int, int, int]:
    """(axis, ndmin, trans1d) of an ``np.r_`` string such as ``"0,2,1"``."""
    parts = [p for p in text.split(",") if p]
    if not parts or any(not p.strip().lstrip("-").isdigit() for p in parts):
        raise TypeError(f"np.r_/np.c_ directive {text!r} with traced values (use numbers)")
    numbers = [int(p) for p in parts]
    axis, ndmin, trans1d = -1 if column else 0, 2 if column else 1, 0 if column else -1
    axis = numbers[0]
    if len(numbers) > 1:
        ndmin = numbers[1]
    if len(numbers) > 2:
        trans1d = numbers[2]
    return axis, ndmin, trans1d


def _piece(item: Any, ndmin: int, trans1d: int) -> Any:
    """One item of ``np.r_[...]`` as NumPy makes it: at least ``ndmin`` dimensions, a
    short item's own axes moved to ``trans1d``."""
    if isinstance(item, slice):
        start = 0 if item.start is None else item.start
        step = 1 if item.step is None else item.step
        if isinstance(step, complex):
            piece = np.linspace(start, item.stop, int(abs(step)))
        else:
            piece = np.arange(start, item.stop, step, dtype=float)
        item = piece
    shape = tuple(getattr(item, "shape", np.shape(item)))
    ndim = len(shape)
    if ndim >= ndmin:
        return item
    padded = np.reshape(item, (1,) * (ndmin - ndim) + shape)
    if trans1d == -1 or ndim == 0:
        return padded
    k2 = ndmin - ndim
    k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
    axes = list(range(ndmin))
    return np.transpose(padded, axes[:k1] + axes[k2:] + axes[k1:k2])


class _Concatenator:
    """``np.r_`` (``column=False``) or ``np.c_`` that also joins diffkit's arrays."""

    def __init__(self, original: Any, column: bool) -> None:
        self.original, self.column = original, column

    def __getitem__(self, key: Any) -> Any:
        items: Sequence[Any] = key if isinstance(key, tuple) else (key,)
        if not any(_holds_traced(item) for item in items):
            return self.original[key]
        axis, ndmin, trans1d = (-1, 2, 0) if self.column else (0, 1, -1)
        if items and isinstance(items[0], str):
            axis, ndmin, trans1d = _directive(items[0], self.column)
            items = items[1:]
        pieces = [
            _piece(_assemble(item) if isinstance(item, list) else item, ndmin, trans1d)
            for item in items
        ]
        return np.concatenate(pieces, axis=axis)

    def __len__(self) -> int:
        return 0


_REPLACEMENTS: dict[str, Any] = {
    "array": _array,
    "asarray": _asarray,
    "asanyarray": _asanyarray,
    "ascontiguousarray": _ascontiguousarray,
    "r_": _Concatenator(_ORIGINAL["r_"], column=False),
    "c_": _Concatenator(_ORIGINAL["c_"], column=True),
}


def running_user_code() -> bool:
    """Whether diffkit is running a user's function now (inside ``numpy_entry_points``)."""
    return _depth[0] > 0


class _EntryPoints:
    """The context of ``numpy_entry_points``: a class, not a generator, because every
    ``dk.grad`` call enters it and contextlib's machinery costs microseconds."""

    __slots__ = ()

    def __enter__(self) -> None:
        with _lock:
            if _depth[0] == 0:
                _NUMPY.update(_REPLACEMENTS)  # one dict update: six setattr calls cost more
            _depth[0] += 1

    def __exit__(self, kind: Any, exc: Any, traceback: Any) -> None:
        with _lock:
            _depth[0] -= 1
            if _depth[0] == 0:
                _NUMPY.update(_ORIGINAL)
        if isinstance(exc, ValueError):
            # NumPy reports an element it could not convert (a tensor stored into
            # np.zeros) as "setting an array element with a sequence", hiding the
            # refusal that caused it.
            for reason in (exc.__cause__, exc.__context__):
                if isinstance(reason, NotDifferentiable):
                    raise reason from None


_ENTRY_POINTS = _EntryPoints()
_NUMPY = vars(np)  # the module's namespace: what np.array looks up


def numpy_entry_points() -> _EntryPoints:
    """While the block runs, ``np.array`` & co. keep diffkit's arrays inside (see above)."""
    return _ENTRY_POINTS
