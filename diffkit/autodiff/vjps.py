"""The vector-Jacobian products reverse mode keeps itself: elementwise ops and indexing.

Elementwise primitives take their derivative rule from ``ops.py`` (``elementwise``);
indexing sends a cotangent back to the entries it read (``getitem``). Every other
NumPy call has its VJP in the array-level table (``diffkit.arrays``). Every VJP has
the signature

    vjp(g, args, out, kwargs, needs, batch) -> one cotangent (or None) per argument

where ``g`` is the cotangent of the output with ``batch`` extra leading axes (many
cotangents pushed through one backward pass: Jacobians and Hessians), ``args`` and
``out`` are plain arrays, or tensors when the backward pass is itself recorded for
higher derivatives. VJPs are written with NumPy calls only, so the same code runs
in both cases.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..arrays import unbroadcast
from ..arrays.shapes import scatter
from ..ops import times_partial
from . import buffers
from . import tensor as _tensor

__all__ = ["IndexedCotangent", "elementwise", "getitem", "unbroadcast"]


def _is_tensor(value: Any) -> bool:
    return isinstance(value, _tensor.Tensor)


def _raw(value: Any) -> Any:
    return value.data if _is_tensor(value) else value


def _record(
    data: Any,
    op: str,
    vjp: Callable[..., tuple[Any, ...]],
    args: tuple[Any, ...],
    kwargs: Any = None,
    saves: Any = None,
) -> Any:
    """A node when any argument is a tensor; the plain result otherwise."""
    tensor = _tensor.Tensor
    for a in args:
        if isinstance(a, tensor):
            return tensor._record(data, op, vjp, args, kwargs, saves)
    return data


def _shapes_only(needs: tuple[bool, ...]) -> tuple[tuple[bool, ...], bool]:
    """For VJPs that read only the shapes of their arguments (sums, reshapes, indexing, joins)."""
    return (False,) * len(needs), False


def elementwise(
    g: Any, args: tuple[Any, ...], out: Any, row: Any, needs: tuple[bool, ...], batch: int
) -> tuple[Any, ...]:
    """The chain rule for an elementwise primitive: the row's VJP, unbroadcast to each input.

    The row's rules, applied as ``ops.Primitive.vjp`` applies them; large values are
    lent to them as ``buffers.Lent`` views, so their products land in recycled buffers.
    """
    if type(g) is np.ndarray and g.nbytes >= buffers.MIN_BYTES:
        g, out = buffers.lend(g), buffers.lend(out)
        args = tuple([buffers.lend(a) for a in args])
    rules = row.per_argument_vjp
    if len(args) == 2:  # unrolled: most operations are binary, and this runs once per node
        a, b = args
        if rules is None:
            pa, pb = row.partials(a, b, out)
            ca = times_partial(g, pa) if needs[0] else None
            cb = times_partial(g, pb) if needs[1] else None
        else:
            ca = rules[0](g, a, b, out) if needs[0] else None
            cb = rules[1](g, a, b, out) if needs[1] else None
        return _fitted(ca, a, batch), _fitted(cb, b, batch)
    partials: Any = row.partials(*args, out) if rules is None else None
    cotangents: list[Any] = []
    for i in range(len(needs)):
        if needs[i]:
            ct = times_partial(g, partials[i]) if rules is None else rules[i](g, *args, out)
            cotangents.append(_fitted(ct, args[i], batch))
        else:
            cotangents.append(None)
    return tuple(cotangents)


def _fitted(ct: Any, arg: Any, batch: int) -> Any:
    """A rule's cotangent as a plain value of its argument's shape (None stays None)."""
    if ct is None:
        return None
    if type(ct) is buffers.Lent:  # a rule handing back a value it was lent
        ct = ct.view(np.ndarray)
    try:
        if not batch and ct.shape == arg.shape:
            return ct
    except AttributeError:  # a Python number somewhere: unbroadcast sorts it out
        pass
    return unbroadcast(ct, _shape(arg), batch)


def _shape(value: Any) -> tuple[int, ...]:
    shape = getattr(value, "shape", None)  # arrays, tensors, NumPy scalars; np.shape for the rest
    return shape if shape is not None else np.shape(value)


# ---------------------------------------------------------------- indexing


def _normalize_index(index: Any) -> tuple[Any, bool]:
    """The index as a tuple, boolean masks as integer arrays; and whether it is advanced."""
    parts = index if isinstance(index, tuple) else (index,)
    normal: list[Any] = []
    advanced = False
    for part in parts:
        if _is_tensor(part):
            raise _tensor._unsupported(
                "indexing with a Tensor (index with integers or a plain array)"
            )
        if isinstance(part, list | np.ndarray):
            array = np.asarray(part)
            advanced = True
            if array.dtype == bool:
                normal.extend(np.nonzero(array))
                continue
            normal.append(array)
        else:
            normal.append(part)
    return tuple(normal), advanced


class IndexedCotangent:
    """A cotangent that is zero except at a basic ``index``: added into a dense one in place.

    Slices of one array (x[1:], x[:-1], ...) each send back such a cotangent; adding
    them into one buffer saves a full-size zeros and a full-size sum per slice.
    """

    __slots__ = ("advanced", "index", "shape", "values")

    def __init__(
        self, index: tuple[Any, ...], values: np.ndarray, shape: tuple[int, ...], advanced: bool
    ) -> None:
        self.index, self.values, self.shape, self.advanced = index, values, shape, advanced

    def dense(self, into: np.ndarray | None = None) -> np.ndarray:
        """The cotangent as a full array, written over ``into`` (uninitialized) when given."""
        if into is None:
            into = np.zeros(self.shape, dtype=self.values.dtype)
        elif self.advanced or not _zero_outside(into, self.index):
            into.fill(0)
        if self.advanced:  # repeated indices must add up
            np.add.at(into, self.index, self.values)
        else:
            into[self.index] = self.values
        return into

    def add_into(self, dense: np.ndarray) -> None:
        if self.advanced:
            np.add.at(dense, self.index, self.values)
        else:
            dense[self.index] += self.values


def _zero_outside(array: np.ndarray, index: tuple[Any, ...]) -> bool:
    """Zero ``array`` outside a leading slice ``index`` (x[1:], x[:-1], ...): the inside is
    about to be overwritten, so filling it with zeros first would be a wasted pass. False
    (nothing done) for any other index."""
    if len(index) != 1 or type(index[0]) is not slice or array.ndim == 0:
        return False
    start, stop, step = index[0].indices(array.shape[0])
    if step != 1:
        return False
    array[:start] = 0
    array[max(start, stop) :] = 0
    return True


def _positions(shape: tuple[int, ...], index: tuple[Any, ...]) -> np.ndarray:
    """Which entries (flat positions) an advanced index reads, laid out as its result.

    NumPy's own indexing of ``arange`` answers it, whatever the index mixes (integers,
    slices, arrays, masks) and wherever its rules move the broadcast axes
    (``x[0, :, [2, 0, 1]]`` puts them first): the cotangent of each result entry goes
    to the entry it came from.
    """
    return np.arange(math.prod(shape)).reshape(shape)[index]


def _getitem_vjp(
    g: Any, args: tuple[Any, ...], out: Any, kw: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    index, advanced = kw
    x_shape = _shape(args[0])
    g_shape = _shape(g)
    lead = g_shape[:batch]
    if advanced:
        flat = np.reshape(g, (*lead, -1))
        where = (slice(None),) * batch + (_positions(x_shape, index).reshape(-1),)
        dense = scatter(flat, where, (*lead, math.prod(x_shape)))
        return (np.reshape(dense, lead + x_shape),)
    full = (slice(None),) * batch + index if batch else index
    shape = lead + x_shape
    if _is_tensor(g):  # a recorded pass: the scatter must itself be differentiable
        return (scatter(g, full, shape),)
    return (IndexedCotangent(full, g, shape, False),)


def getitem(x: Any, index: Any) -> Any:
    if type(index) is slice or type(index) is int:  # the common case, without the checks
        normal, advanced = (index,), False
    else:
        normal, advanced = _normalize_index(index)
    return _record(_raw(x)[normal], "getitem", _getitem_vjp, (x,), (normal, advanced), _shapes_only)
