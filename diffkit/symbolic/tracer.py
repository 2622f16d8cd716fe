"""The tracer: the user's plain NumPy function, run on symbols, returns SymPy expressions.

A ``SymbolicArray`` wraps an object ndarray of SymPy expressions and speaks NumPy's
dispatch protocols, like the reverse-mode ``Tensor``: ``np.sin(x)`` on it applies
the ``sympy`` column of the ``ops.py`` row NumPy's ufunc belongs to, elementwise;
reductions, products, reshapes, joins and indexing act on the object array. The
result of ``f(trace_input(shape))`` is therefore the exact expression ``f`` computes.

What cannot be traced fails loudly with a ``TracerError`` (a ``TypeError``) naming
the call and the backends that can still differentiate the function: branching on a
symbolic value (``if x > 0``), ``float(x)`` and ``math.sin(x)``, NumPy calls outside
the table. A silently wrong expression is never an option.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import sympy

from .. import ops
from ..autodiff.tensor import supported_operations
from ..parse import symbol

__all__ = [
    "SymbolicArray",
    "SymbolicBranchError",
    "TracerError",
    "UnsupportedTraceError",
    "as_expressions",
    "trace",
    "trace_input",
]

_UFUNC_ROWS: dict[Any, ops.Primitive] = {
    row.numpy: row for row in ops.PRIMITIVES.values() if isinstance(row.numpy, np.ufunc)
}
_COMPARISONS = frozenset(
    {np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal}
)
_INTEGRAL_FLOAT_LIMIT = 2.0**53


class TracerError(TypeError):
    """The function does something to a symbolic value that has no exact expression."""


class UnsupportedTraceError(TracerError):
    """A NumPy call (or Python conversion) the tracer cannot turn into SymPy."""


class SymbolicBranchError(TracerError):
    """The function branches on a value that depends on its input (``if x > 0``)."""


def _reverse_supports(name: str) -> bool:
    return any(op == name or op.startswith(name + " ") for op in supported_operations())


def _alternatives(reverse_ok: bool) -> str:
    names = '"fd" (finite differences)' + (' or "reverse" (reverse mode)' if reverse_ok else "")
    return f"backends that can still differentiate this function: {names}"


def unsupported(what: str, *, reverse_name: str | None = None) -> UnsupportedTraceError:
    """The error for an untraceable call; ``reverse_name`` is the call as reverse mode lists it."""
    reverse_ok = reverse_name is not None and _reverse_supports(reverse_name)
    return UnsupportedTraceError(
        f"the symbolic backend cannot trace {what}; {_alternatives(reverse_ok)}. "
        "Supported: the ufuncs of diffkit.ops, indexing, slicing, sum, mean, prod, max, min, "
        "dot, @, reshape, transpose, concatenate, stack and where with a concrete condition."
    )


def constant(value: Any) -> sympy.Basic:
    """A number as SymPy: ints exact, integral floats as Integers, other floats as exact Floats."""
    if isinstance(value, sympy.Basic):
        return value
    if isinstance(value, bool | np.bool_):
        return sympy.Integer(int(value))
    if isinstance(value, int | np.integer):
        return sympy.Integer(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if number.is_integer() and abs(number) < _INTEGRAL_FLOAT_LIMIT:
            return sympy.Integer(int(number))
        return sympy.Float(number)
    if isinstance(value, SymbolicArray):
        return value.data[()] if value.data.ndim == 0 else value.data
    raise UnsupportedTraceError(
        f"the symbolic backend cannot use a {type(value).__name__} ({value!r}) as a number; "
        f"{_alternatives(False)}"
    )


_to_constants = np.frompyfunc(constant, 1, 1)


def _lift(value: Any) -> Any:
    """An argument as an object array (or a SymPy scalar) the elementwise rules can take."""
    if isinstance(value, SymbolicArray):
        return value.data
    if isinstance(value, np.ndarray):
        return np.asarray(_to_constants(value), dtype=object)
    if isinstance(value, list | tuple):
        return np.asarray(_to_constants(np.asarray([_lift(v) for v in value], dtype=object)))
    return constant(value)


def _wrap(result: Any) -> SymbolicArray:
    array = np.asarray(result, dtype=object) if not isinstance(result, np.ndarray) else result
    if array.dtype != object:
        array = np.asarray(_to_constants(array), dtype=object)
    return SymbolicArray(array)


class SymbolicArray:
    """An array of SymPy expressions that NumPy code can run on."""

    __slots__ = ("data",)
    __array_priority__ = 1000.0

    def __init__(self, data: np.ndarray) -> None:
        self.data = data if isinstance(data, np.ndarray) else np.asarray(data, dtype=object)

    # ------------------------------------------------------------------ NumPy protocols

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        name = f"np.{ufunc.__name__}"
        if method != "__call__" or kwargs:
            raise unsupported(f"{name}.{method} with options {sorted(kwargs)}")
        if ufunc in _COMPARISONS:
            rule = _RELATIONS[ufunc]
            return SymbolicArray(np.asarray(np.frompyfunc(rule, 2, 1)(*map(_lift, inputs))))
        if ufunc is np.matmul:
            from .arrays import matmul

            return matmul(*inputs)
        row = _UFUNC_ROWS.get(ufunc)
        if row is None:
            raise unsupported(f"{name} (it is not a row of diffkit.ops)", reverse_name=name)
        rule = _shared(row.sympy) if row.kind == "operator" else row.sympy
        result = np.frompyfunc(rule, row.arity, 1)(*map(_lift, inputs))
        return SymbolicArray(np.asarray(result, dtype=object))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        from .arrays import FUNCTIONS

        handler = FUNCTIONS.get(func)
        name = f"np.{getattr(func, '__name__', func)}"
        if handler is None:
            raise unsupported(name, reverse_name=name)
        return handler(*args, **kwargs)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise unsupported(
            "np.array / np.asarray of a symbolic array or a list of them "
            "(build arrays with np.stack or np.concatenate instead)",
            reverse_name="np.stack",
        )

    # ------------------------------------------------------------------ Python conversions

    def __bool__(self) -> bool:
        values = self.data.ravel()
        if all(isinstance(v, sympy.logic.boolalg.BooleanAtom) for v in values):
            return bool(np.all([bool(v) for v in values]))
        shown = ", ".join(str(v) for v in values[:3])
        raise SymbolicBranchError(
            f"the function branches on a value that depends on its input (bool({shown})): "
            "an `if`, `while`, `and`/`or` or `max()` on a symbolic value has no single exact "
            "expression. Rewrite it with np.maximum / np.where on a concrete condition, or use "
            'the "fd" (finite differences) or "reverse" (reverse mode) backend, which follow '
            "the branch taken at each point"
        )

    def __float__(self) -> float:
        raise unsupported("float() of a symbolic value (math.sin(x), float(x), item())")

    def __int__(self) -> int:
        raise unsupported("int() of a symbolic value")

    def __index__(self) -> int:
        raise unsupported("a symbolic value used as an index")

    def __complex__(self) -> complex:
        raise unsupported("complex() of a symbolic value")

    # ------------------------------------------------------------------ array facade

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    @property
    def T(self) -> SymbolicArray:
        return SymbolicArray(self.data.T)

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[SymbolicArray]:
        return (self[i] for i in range(len(self.data)))

    def __getitem__(self, index: Any) -> SymbolicArray:
        parts = index if isinstance(index, tuple) else (index,)
        if any(isinstance(p, SymbolicArray) for p in parts):
            raise unsupported("indexing with a symbolic value (x[i] where i depends on x)")
        return _wrap(self.data[index])

    def __setitem__(self, index: Any, value: Any) -> None:
        self.data[index] = _lift(value)

    def __repr__(self) -> str:
        return f"SymbolicArray({self.data.tolist() if self.data.ndim else self.data[()]})"

    def copy(self) -> SymbolicArray:
        return SymbolicArray(self.data.copy())

    def sum(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.mean(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.prod(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Any:
        return np.min(self, axis=axis, keepdims=keepdims)

    def reshape(self, *shape: Any) -> SymbolicArray:
        return SymbolicArray(self.data.reshape(shape[0] if len(shape) == 1 else shape))

    def transpose(self, *axes: Any) -> SymbolicArray:
        return SymbolicArray(self.data.transpose(*axes))

    def ravel(self) -> SymbolicArray:
        return SymbolicArray(self.data.ravel())

    def flatten(self) -> SymbolicArray:
        return SymbolicArray(self.data.flatten())

    def dot(self, other: Any) -> Any:
        return np.dot(self, other)

    def clip(self, a_min: Any = None, a_max: Any = None) -> Any:
        return np.clip(self, a_min, a_max)

    # ------------------------------------------------------------------ operators

    def __add__(self, other: Any) -> Any:
        return np.add(self, other)

    def __radd__(self, other: Any) -> Any:
        return np.add(other, self)

    def __sub__(self, other: Any) -> Any:
        return np.subtract(self, other)

    def __rsub__(self, other: Any) -> Any:
        return np.subtract(other, self)

    def __mul__(self, other: Any) -> Any:
        return np.multiply(self, other)

    def __rmul__(self, other: Any) -> Any:
        return np.multiply(other, self)

    def __truediv__(self, other: Any) -> Any:
        return np.true_divide(self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return np.true_divide(other, self)

    def __pow__(self, other: Any) -> Any:
        return np.power(self, other)

    def __rpow__(self, other: Any) -> Any:
        return np.power(other, self)

    def __matmul__(self, other: Any) -> Any:
        return np.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Any:
        return np.matmul(other, self)

    def __neg__(self) -> Any:
        return np.negative(self)

    def __pos__(self) -> SymbolicArray:
        return self

    def __abs__(self) -> Any:
        return np.absolute(self)

    def __lt__(self, other: Any) -> Any:
        return np.less(self, other)

    def __le__(self, other: Any) -> Any:
        return np.less_equal(self, other)

    def __gt__(self, other: Any) -> Any:
        return np.greater(self, other)

    def __ge__(self, other: Any) -> Any:
        return np.greater_equal(self, other)

    def __eq__(self, other: Any) -> Any:
        return np.equal(self, other)

    def __ne__(self, other: Any) -> Any:
        return np.not_equal(self, other)

    __hash__ = object.__hash__


_RELATIONS: dict[Any, Callable[[Any, Any], Any]] = {
    np.greater: sympy.Gt,
    np.greater_equal: sympy.Ge,
    np.less: sympy.Lt,
    np.less_equal: sympy.Le,
    np.equal: lambda a, b: sympy.true if a == b else sympy.Eq(a, b),
    np.not_equal: lambda a, b: sympy.false if a == b else sympy.Ne(a, b),
}


def _shared(rule: Callable[..., Any]) -> Callable[..., Any]:
    """An operator that keeps its operands as they are (no flattening into them).

    SymPy flattens ``4*l*(1 - l)`` with ``l = 4*a*(1 - a)`` into ``16*a*(1 - a)*(1 - l)``:
    ``l`` is no longer a shared node, and the logistic map's program grows quadratically
    in its depth. Operators on compound operands are therefore built unevaluated, like a
    tape records them; on atoms (numbers, symbols) SymPy still folds (``x*x = x**2``).
    """

    def apply(*args: Any) -> Any:
        if all(getattr(a, "is_Atom", True) for a in args):
            return rule(*args)
        with sympy.evaluate(False):
            return rule(*args)

    return apply


@functools.lru_cache(maxsize=64)
def variables_for(shape: tuple[int, ...]) -> tuple[sympy.Symbol, ...]:
    """The symbols standing for an input of ``shape``: ``x`` for a scalar, ``x0, x1, ...`` else.

    The names are those of ``Function.from_callable``, so traced and declared functions agree.
    """
    if shape == ():
        return (symbol("x"),)
    return tuple(symbol(f"x{i}") for i in range(int(np.prod(shape))))


def trace_input(shape: tuple[int, ...]) -> SymbolicArray:
    """A symbolic argument of ``shape`` (``()`` for one variable)."""
    data = np.empty(len(variables_for(shape)), dtype=object)
    data[:] = list(variables_for(shape))
    return SymbolicArray(data.reshape(shape))


def as_expressions(out: Any) -> np.ndarray:
    """Whatever the traced function returned, as an object array of SymPy expressions."""
    if isinstance(out, list | tuple):
        from .arrays import stack

        out = stack(out)
    lifted = _lift(out)
    array = lifted if isinstance(lifted, np.ndarray) else np.asarray(lifted, dtype=object)
    for value in array.ravel():
        if not isinstance(value, sympy.Expr):
            raise UnsupportedTraceError(
                f"the function returned {value!r} ({type(value).__name__}), not a number "
                f"or an expression of its input; {_alternatives(False)}"
            )
    return array


def trace(fn: Callable[..., Any], shape: tuple[int, ...]) -> np.ndarray:
    """``fn`` applied to symbols of ``shape``: its output as an object array of expressions."""
    return as_expressions(fn(trace_input(shape)))
