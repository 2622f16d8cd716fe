"""One row of the array-level table: a NumPy function and how every backend computes it.

``ops.py`` is the table of elementwise primitives; this is its companion for what is
not elementwise (reductions, shapes, products, linear algebra). A row is one of:

- **composite**: written with NumPy calls (``var`` is a mean of squared deviations,
  ``kron`` a reshaped outer product). Every backend runs it on its own arrays, so the
  inner calls dispatch back into the table and the derivative comes for free, the
  same in reverse mode, in the tracer and in any later engine;
- **passive**: its result carries no derivative (``np.shape``, ``np.argmax``);
- **recorded**: ``bind`` normalizes the call (and refuses the options diffkit cannot
  differentiate, such as ``out=``), ``forward`` computes it on plain arrays, ``vjp``
  gives the cotangent of each argument. The tracer runs ``symbolic`` on arrays of
  SymPy expressions, or, without one, ``forward`` itself (shape functions act on
  object arrays as on numbers); an ``opaque`` row is kept by the tracer as one node
  per call whose entries SymPy cannot write in closed form (``inv``, ``eigh``, a
  maximum over ten thousand entries), evaluated by ``forward`` and ``mpmath``.

VJPs have the signature of reverse mode's nodes,
``vjp(g, args, out, params, needs, batch) -> one cotangent (or None) per argument``:
``g`` carries ``batch`` extra leading axes (a Jacobian is one pass of many cotangents),
``args``/``out`` are plain arrays, or tensors when the backward pass is itself
recorded, or the tracer's symbolic arrays when it asks for an opaque node's partials.
VJPs are therefore written with NumPy calls only (never ``.data``, never in place).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "ArrayRule",
    "Bound",
    "UnsupportedOption",
    "axes_of",
    "concrete",
    "display_name",
    "expand_reduced",
    "given",
    "lanes",
    "no_options",
    "reduce_objects",
    "shape_of",
    "spread",
    "unbroadcast",
]

Bound = tuple[tuple[Any, ...], dict[str, Any]]
"""What ``bind`` returns: the array arguments, and the other parameters by name."""

Vjp = Callable[..., tuple[Any, ...]]
Saves = Callable[[tuple[bool, ...]], tuple[tuple[bool, ...], bool]]


class NotDifferentiable(TypeError):
    """A call a diffkit backend refuses to differentiate; each backend's error derives from
    it, so shared code can tell a refusal from a bug without knowing the backends."""


class UnsupportedOption(TypeError):
    """A call the table cannot differentiate (an ``out=`` argument, an ``ord`` it lacks, ...).

    Backends turn it into their own error, which also says which backends can do it;
    ``tracer_only`` marks what only the tracer refuses (it has no values to choose by).
    """

    def __init__(self, message: str, *, tracer_only: bool = False) -> None:
        super().__init__(message)
        self.tracer_only = tracer_only


@dataclass(frozen=True, eq=False)
class ArrayRule:
    """A NumPy function of the array-level table (see the module docstring)."""

    name: str  # as users write it: "np.linalg.norm"
    functions: tuple[Any, ...]  # the NumPy callables the row stands for
    composite: Callable[..., Any] | None = None
    passive: bool = False
    bind: Callable[..., Bound] | None = None
    forward: Callable[..., Any] | None = None
    vjp: Vjp | None = None
    # what the VJP reads, given which arguments are tensors (as ops.Primitive.saves)
    saves: Saves | None = None
    # the tracer's construction on object arrays of SymPy expressions (None: ``forward``)
    symbolic: Callable[..., Any] | None = None
    opaque: bool = False
    # the tracer's opaque nodes: output shapes from input shapes, and 50-digit values
    shapes: Callable[..., tuple[tuple[int, ...], ...]] | None = None
    mpmath: Callable[..., tuple[Any, ...]] | None = None
    # several outputs (forward returns a tuple, eigh's w and v): NumPy's result type for them
    result: Callable[[Sequence[Any]], Any] | None = None
    shape_only: bool = False  # a passive row that reads no values (np.shape): fine on symbols
    # an opaque row whose Jacobian is piecewise constant (np.max: the tie shares) gets it
    # in the tracer from ``jacobian``, another opaque row; one whose derivative is 0
    # altogether (those shares themselves) says ``constant_jacobian``
    jacobian: ArrayRule | None = None
    constant_jacobian: bool = False
    conditions: tuple[int, ...] = ()  # array arguments that are conditions (where's first)
    doc: str = ""
    aliases: tuple[str, ...] = field(default=())

    @property
    def kind(self) -> str:
        if self.composite is not None:
            return "composite"
        return "passive" if self.passive else "recorded"


def display_name(func: Any) -> str:
    """A NumPy callable as users write it: ``np.linalg.norm``, ``np.sum``, ``np.sin``."""
    name = getattr(func, "__name__", None) or type(func).__name__
    module = getattr(func, "__module__", None) or "numpy"
    if isinstance(func, np.ufunc) or module in ("numpy", "numpy._core", "builtins"):
        return f"np.{name}"
    if module.startswith("numpy."):
        public = module.split("._")[0]  # numpy.linalg._linalg -> numpy.linalg
        return "np." + public.removeprefix("numpy.") + f".{name}"
    return f"{module}.{name}"


def no_options(name: str, **options: Any) -> None:
    """Refuse the options of ``name`` that were given (not None / False)."""
    for v in options.values():
        if v is not None and v is not False:
            used = sorted(k for k, v in options.items() if v is not None and v is not False)
            raise UnsupportedOption(f"{name} with {', '.join(used)}=")


def given(value: Any, default: Any) -> Any:
    """``value``, or ``default`` where NumPy's "no value" sentinel stands for an omitted option."""
    return default if value is np._NoValue else value


def concrete(value: Any) -> np.ndarray | None:
    """The numbers behind ``value``: a tensor's data, a plain array as it is; None where
    there are none (the tracer's symbols). Rules read these only for choices that carry
    no derivative (which entry is the maximum, the order of a sort)."""
    values = getattr(value, "__diffkit_values__", None)
    return np.asarray(value) if values is None else values()


def known(value: Any) -> np.ndarray:
    """``concrete(value)`` where numbers must exist: in a VJP, which runs on recorded values."""
    values = concrete(value)
    if values is None:
        raise TypeError("this rule's derivative needs the values of its arguments")
    return values


def spread(value: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only view with every element at the 0-d ``value``: np.broadcast_to without
    its Python-level checks (a few microseconds, which small gradients notice)."""
    view = np.ndarray(shape, dtype=value.dtype, buffer=value, strides=(0,) * len(shape))
    view.flags.writeable = False
    return view


def shape_of(value: Any) -> tuple[int, ...]:
    """The shape of an array, tensor, symbolic array or number."""
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else np.shape(value)


def axes_of(axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int or a tuple) as sorted non-negative axes of an ``ndim`` array."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, tuple | list) else (axis,)
    normal = []
    for a in axes:
        a = int(a)
        if not -ndim <= a < max(ndim, 1):
            raise np.exceptions.AxisError(a, ndim)
        normal.append(a % ndim if ndim else 0)
    return tuple(sorted(set(normal)))


def expand_reduced(
    g: Any, shape: tuple[int, ...], axes: tuple[int, ...], keepdims: bool, batch: int
) -> Any:
    """A reduced value (or cotangent, with ``batch`` leading axes) shaped to broadcast
    against the unreduced input of ``shape``."""
    if keepdims:
        return g
    g_shape = shape_of(g)
    kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
    return np.reshape(g, g_shape[:batch] + kept)


def lanes(data: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``data`` with the reduced axes moved last and merged: (kept..., entries)."""
    kept = [i for i in range(data.ndim) if i not in axes]
    moved = np.transpose(data, kept + list(axes))
    return moved.reshape((*moved.shape[: len(kept)], -1))


def reduce_objects(combine: Any, data: Any, axis: Any, keepdims: bool) -> np.ndarray:
    """A reduction of an object array of SymPy expressions, one n-ary node per output entry
    (``Add(*terms)``: SymPy re-flattens a chain of binary sums at every step)."""
    data = np.asarray(data, dtype=object)  # a 0-d array's arithmetic gives a bare expression
    axes = axes_of(axis, data.ndim)
    rows = lanes(data, axes)
    result = np.empty(rows.shape[:-1], dtype=object)
    for index in np.ndindex(result.shape):
        result[index] = combine(*rows[index])
    if keepdims:
        result = result.reshape([1 if i in axes else n for i, n in enumerate(data.shape)])
    return result


def unbroadcast(ct: Any, shape: tuple[int, ...], batch: int) -> Any:
    """Sum a cotangent over the axes broadcasting added, back to ``batch`` axes + ``shape``."""
    ct_shape = shape_of(ct)
    if ct_shape[batch:] == shape:
        return ct
    extra = len(ct_shape) - batch - len(shape)
    if extra < 0:  # a cotangent smaller than its input (a scalar partial): spread it
        padded = np.reshape(ct, ct_shape[:batch] + (1,) * -extra + ct_shape[batch:])
        return np.broadcast_to(padded, ct_shape[:batch] + shape)
    axes = tuple(range(batch, batch + extra))
    axes += tuple(
        batch + extra + i
        for i, n in enumerate(shape)
        if n == 1 and ct_shape[batch + extra + i] != 1
    )
    summed = np.sum(ct, axis=axes, keepdims=True) if axes else ct
    return np.reshape(summed, ct_shape[:batch] + shape)
