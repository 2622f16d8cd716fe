"""Recycled buffers for large arrays: the engine's own temporary elision.

Plain NumPy code reuses a temporary in place when nothing else refers to it
(``(a - b) ** 2`` squares into the difference). A recorded computation cannot:
tensors and graph nodes hold its values, so every step allocates, and memory fresh
from the operating system costs a page fault per 4 KiB page, as much as the
arithmetic on arrays of megabytes. This pool keeps the large arrays the engine
made and lends one out again as ``out=`` once the pool's reference is the only one
left: no tensor, node, view or user variable can reach it then, so writing into it
is invisible. The reference count decides, as it does for NumPy's elision.

Derivative rules in ``ops.py`` are plain NumPy (``g * a``) and take no ``out=``; the
engine lends them large values as ``Lent`` views, whose ufuncs write into recycled
buffers, so the rules recycle too without a second copy of them here.

Bounded by ``limit`` bytes (``set_limit``); ``clear()`` lets go of every buffer.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from .. import ops
from ..arrays.rule import spread

__all__ = [
    "MIN_BYTES",
    "Lent",
    "clear",
    "empty",
    "held",
    "lend",
    "limit",
    "output_for",
    "set_limit",
    "spread",
    "take",
    "track",
]

# Below this, malloc recycles memory itself (NumPy's elision uses the same bound).
MIN_BYTES = 1 << 18

_arrays: list[np.ndarray] = []
_state = {"limit": 256 << 20, "held": 0}


def _refs_in_scan(arrays: list[np.ndarray]) -> int:
    """The reference count ``take`` sees for an array that only the pool's list holds."""
    for i in range(len(arrays) - 1, -1, -1):
        a = arrays[i]
        return sys.getrefcount(a)
    return 0


# Measured rather than assumed: interpreters differ in the references a loop holds.
_FREE = _refs_in_scan([np.empty(1)])
# Free-threaded Python: reference counts are not a reliable sign of ownership there.
_ENABLED = bool(getattr(sys, "_is_gil_enabled", lambda: True)())


def take(shape: tuple[int, ...], dtype: Any) -> np.ndarray | None:
    """A tracked array of this shape and dtype that nothing else refers to, or None."""
    arrays = _arrays
    for i in range(len(arrays) - 1, -1, -1):  # the most recently used first: warm in cache
        a = arrays[i]
        if a.shape == shape and a.dtype == dtype and sys.getrefcount(a) == _FREE:
            del arrays[i]
            arrays.append(a)
            return a
    return None


def track(array: Any) -> None:
    """Offer an array the engine just made (owning its memory) for reuse once it is dropped."""
    if not (
        _ENABLED
        and type(array) is np.ndarray
        and array.nbytes >= MIN_BYTES
        and array.base is None
        and array.flags.writeable
    ):
        return
    size = array.nbytes
    if _state["held"] + size > _state["limit"]:
        _evict(_state["held"] + size - _state["limit"])
        if _state["held"] + size > _state["limit"]:
            return
    if any(a is array for a in _arrays):
        return
    _arrays.append(array)
    _state["held"] += size


def empty(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialized array: a free tracked one, or a new one that is tracked."""
    found = take(shape, dtype)
    if found is None:
        found = np.empty(shape, dtype=dtype)
        track(found)
    return found


def output_for(operands: Any) -> np.ndarray | None:
    """A buffer for the result of an elementwise ufunc on ``operands``, when that result is
    a large float array shaped like them: arrays of one shape and dtype, and Python numbers
    (which take the arrays' dtype). None otherwise, or when recycling is off."""
    template = None
    for a in operands:
        if type(a) is np.ndarray:
            if template is None:
                template = a
            elif a.shape != template.shape or a.dtype != template.dtype:
                return None
        elif type(a) is not float and type(a) is not int:
            return None
    if (
        template is None
        or template.nbytes < MIN_BYTES
        or template.dtype.kind != "f"
        or not _state["limit"]
    ):
        return None
    return empty(template.shape, template.dtype)


# ufuncs whose result has their float operands' dtype: the primitives of ops.py and a few
# that NumPy calls for them. Others (comparisons) allocate as usual.
_SAME_DTYPE = frozenset(
    {row.numpy for row in ops.PRIMITIVES.values() if isinstance(row.numpy, np.ufunc)}
    | {np.square, np.reciprocal, np.positive}
)


# Correctly rounded arithmetic: the same bits on one element as on an array of them.
_EXACT = frozenset(
    {np.add, np.subtract, np.multiply, np.true_divide, np.negative, np.positive, np.square}
)


def _on_constants(ufunc: Any, operands: list[Any]) -> np.ndarray | None:
    """``ufunc`` on arrays that repeat one value (a sum's cotangent, and multiples of it),
    computed once and spread: no pass over memory. None when an operand varies."""
    shape = None
    scalars = []
    for a in operands:
        if type(a) is np.ndarray:
            if a.size == 0 or a.ndim == 0 or any(a.strides) or (shape not in (None, a.shape)):
                return None
            shape = a.shape
            scalars.append(a[(0,) * a.ndim])
        elif type(a) is float or type(a) is int:
            scalars.append(a)
        else:
            return None
    if shape is None:
        return None
    return spread(np.asarray(ufunc(*scalars)), shape)


def _plain(value: Any) -> Any:
    return value.view(np.ndarray) if type(value) is Lent else value


class Lent(np.ndarray):
    """A view of a large value lent to a derivative rule: ufuncs on it write their result
    into a recycled buffer. Results are plain arrays; the view is never written into."""

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        plain = [_plain(a) for a in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(_plain(o) for o in kwargs["out"])
        elif method == "__call__" and ufunc in _SAME_DTYPE:
            if ufunc in _EXACT:
                constant = _on_constants(ufunc, plain)
                if constant is not None:
                    return constant
            out = output_for(plain)
            if out is not None:
                kwargs["out"] = (out,)
        return getattr(ufunc, method)(*plain, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        args = tuple(_plain(a) for a in args)
        kwargs = {k: _plain(v) for k, v in kwargs.items()}
        return _plain(super().__array_function__(func, types, args, kwargs))


def lend(value: Any) -> Any:
    """``value`` as a ``Lent`` view when it is a large float array; otherwise itself."""
    if type(value) is np.ndarray and value.nbytes >= MIN_BYTES and value.dtype.kind == "f":
        return value.view(Lent)
    return value


def _evict(needed: int) -> None:
    """Drop free buffers, least recently used first, until ``needed`` bytes are let go."""
    i = 0
    while i < len(_arrays) and needed > 0:
        a = _arrays[i]
        if sys.getrefcount(a) <= _FREE:
            del _arrays[i]
            _state["held"] -= a.nbytes
            needed -= a.nbytes
        else:
            i += 1


def clear() -> None:
    """Let go of every buffer (those still in use stay with their users)."""
    _arrays.clear()
    _state["held"] = 0


def held() -> int:
    """Bytes of the arrays the pool tracks, in use or free."""
    return _state["held"]


def limit() -> int:
    """The most bytes the pool tracks at once."""
    return _state["limit"]


def set_limit(nbytes: int) -> None:
    """Bound the pool to ``nbytes`` (0 turns recycling off and lets go of every buffer)."""
    _state["limit"] = max(0, int(nbytes))
    _evict(_state["held"] - _state["limit"])
    if nbytes <= 0:
        clear()
