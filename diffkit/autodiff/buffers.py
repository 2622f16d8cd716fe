"""Recycled buffers for large arrays: the engine's own temporary elision.

Plain NumPy code reuses a temporary in place when nothing else refers to it
(``(a - b) ** 2`` squares into the difference). A recorded computation cannot:
tensors and graph nodes hold its values, so every step allocates, and memory fresh
from the operating system costs a page fault per 4 KiB page, as much as the
arithmetic on arrays of megabytes. This pool keeps the large arrays the engine
made and lends one out again as ``out=`` once the pool's reference is the only one
left: no tensor, node, view or user variable can reach it then, so writing into it
is invisible. The reference count decides, as it does for NumPy's elision.

Bounded by ``limit`` bytes (``set_limit``); ``clear()`` lets go of every buffer.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

__all__ = ["MIN_BYTES", "clear", "held", "limit", "set_limit", "take", "track"]

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
