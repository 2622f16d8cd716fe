"""The tracer: the user's plain NumPy function, run on symbols, returns SymPy expressions.

A ``SymbolicArray`` wraps an object ndarray of SymPy expressions and speaks NumPy's
dispatch protocols, like the reverse-mode ``Tensor``: ``np.sin(x)`` on it applies
the ``sympy`` column of the ``ops.py`` row NumPy's ufunc belongs to, elementwise;
every other NumPy function goes through its row of the array-level table
(``diffkit.arrays``, read in ``table.py``), the same rows reverse mode reads. The
result of ``f(trace_input(shape))`` is therefore the exact expression ``f`` computes.

Comparisons are SymPy relations: used as numbers (``np.sum(x < y)``) they are
indicators (1 where they hold), used in ``np.where`` they choose the branch of a
``Piecewise``; in a Python ``if`` they have no single answer.

What cannot be traced fails loudly with a ``TracerError`` (a ``TypeError``) naming
the call and the backends that can still differentiate the function: branching on a
symbolic value (``if x > 0``), ``float(x)`` and ``math.sin(x)``, NumPy calls outside
the tables. A silently wrong expression is never an option.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import sympy
from sympy.logic.boolalg import Boolean

from .. import ops
from ..arrays.creation import numpy_entry_points
from ..arrays.methods import ArrayMethods
from ..arrays.rule import NotDifferentiable
from ..kink_functions import indicator
from ..parse import symbol

__all__ = [
    "SymbolicArray",
    "SymbolicBranchError",
    "TracerError",
    "UnsupportedTraceError",
    "as_expressions",
    "trace",
    "trace_input",
    "unsupported",
]


def _relation(build: Any, same: Any) -> Callable[[Any, Any], Any]:
    """A comparison: decided between numbers (and for identical sides), else kept as it
    is. SymPy would try to decide ``x_i == max(x)`` from assumptions, at a cost that
    grows with the expression, for every entry of a maximum's partials."""

    def compare(a: Any, b: Any) -> Any:
        if a == b:
            return same
        if getattr(a, "is_Number", False) and getattr(b, "is_Number", False):
            return build(a, b)
        return build(a, b, evaluate=False)

    return compare


_RELATIONS: dict[Any, Callable[[Any, Any], Any]] = {
    np.greater: _relation(sympy.Gt, sympy.false),
    np.greater_equal: _relation(sympy.Ge, sympy.true),
    np.less: _relation(sympy.Lt, sympy.false),
    np.less_equal: _relation(sympy.Le, sympy.true),
    np.equal: _relation(sympy.Eq, sympy.true),
    np.not_equal: _relation(sympy.Ne, sympy.false),
}
_LOGICAL: dict[Any, Callable[..., Any]] = {
    np.logical_and: sympy.And,
    np.logical_or: sympy.Or,
    np.logical_xor: sympy.Xor,
    np.logical_not: sympy.Not,
}
_INTEGRAL_FLOAT_LIMIT = 2.0**53


class TracerError(TypeError):
    """The function does something to a symbolic value that has no exact expression."""


class UnsupportedTraceError(TracerError, NotDifferentiable):
    """A NumPy call (or Python conversion) the tracer cannot turn into SymPy."""


class SymbolicBranchError(TracerError):
    """The function branches on a value that depends on its input (``if x > 0``)."""


def unsupported(what: str, *, reverse: bool = False) -> UnsupportedTraceError:
    """The error for an untraceable call; ``reverse``: reverse mode can still do it."""
    others = '"fd" (finite differences)' + (' or "reverse"' if reverse else "")
    return UnsupportedTraceError(
        f"the symbolic backend cannot trace {what}; backends that can: {others}"
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
        if number != number:  # SymPy folds x * nan to nan, whose derivative it calls 0
            raise UnsupportedTraceError(
                'the symbolic backend cannot trace a NaN constant; backends that can: "fd" '
                '(finite differences) or "reverse"'
            )
        if number.is_integer() and abs(number) < _INTEGRAL_FLOAT_LIMIT:
            return sympy.Integer(int(number))
        return sympy.Float(number)
    if isinstance(value, SymbolicArray):
        return value.data[()] if value.data.ndim == 0 else value.data
    raise UnsupportedTraceError(
        f"the symbolic backend cannot use a {type(value).__name__} ({value!r}) as a number; "
        'backends that can: "fd" (finite differences) or "reverse"'
    )


_to_constants = np.frompyfunc(constant, 1, 1)


def _is_condition(value: Any) -> bool:
    # a relation or a logical combination (a Symbol is a Boolean to SymPy too, and an Expr)
    return isinstance(value, Boolean) and not isinstance(value, sympy.Expr)


def _numeric(value: Any) -> Any:
    """A comparison used as a number (``np.sum(x < y)``): 1 where it holds, else 0."""
    return indicator.of(value) if _is_condition(value) else value


_to_numbers = np.frompyfunc(_numeric, 1, 1)


def lift(value: Any, *, numeric: bool = True) -> Any:
    """An argument as an object array (or a SymPy scalar) the rules can take; comparisons
    become indicators unless ``numeric`` is False (conditions of ``where``)."""
    if isinstance(value, SymbolicArray):
        data = value.data
        if numeric and data.size and any(_is_condition(v) for v in data.flat):
            return np.asarray(_to_numbers(data), dtype=object)
        return data
    if isinstance(value, np.ndarray):
        return np.asarray(_to_constants(value), dtype=object)
    if isinstance(value, list | tuple):
        items = np.asarray([lift(v, numeric=numeric) for v in value], dtype=object)
        return np.asarray(_to_constants(items), dtype=object)
    if value is None:
        return None
    return _numeric(constant(value)) if numeric else constant(value)


def wrap(result: Any) -> SymbolicArray:
    array = np.asarray(result, dtype=object) if not isinstance(result, np.ndarray) else result
    if array.dtype != object:
        array = np.asarray(_to_constants(array), dtype=object)
    return SymbolicArray(array)


class SymbolicArray(ArrayMethods):
    """An array of SymPy expressions that NumPy code can run on."""

    __slots__ = ("data",)
    __array_priority__ = 1000.0

    def __init__(self, data: np.ndarray) -> None:
        self.data = data if isinstance(data, np.ndarray) else np.asarray(data, dtype=object)

    # ------------------------------------------------------------------ NumPy protocols

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        name = f"np.{ufunc.__name__}"
        if method != "__call__" or kwargs:
            options = ", ".join(sorted(kwargs))
            raise unsupported(f"{name}.{method}" + (f" with {options}" if options else ""))
        if ufunc in _RELATIONS:
            rule = _RELATIONS[ufunc]
            args = [lift(v) for v in inputs]
            return SymbolicArray(np.asarray(np.frompyfunc(rule, 2, 1)(*args), dtype=object))
        if ufunc in _LOGICAL:
            logic = _LOGICAL[ufunc]
            args = [lift(v, numeric=False) for v in inputs]
            result = np.frompyfunc(lambda *a: logic(*[_boolean(x) for x in a]), len(args), 1)(*args)
            return SymbolicArray(np.asarray(result, dtype=object))
        row = ops.UFUNCS.get(ufunc)
        if row is None:
            from .table import call_function

            return call_function(ufunc, inputs, {})
        rule = _SHARED[row.name] if row.kind == "operator" else row.sympy
        result = np.frompyfunc(rule, row.arity, 1)(*map(lift, inputs))
        return SymbolicArray(np.asarray(result, dtype=object))

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        from .table import call_function

        return call_function(func, args, kwargs)

    def __diffkit_rule__(self, rule: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Apply a row of the array-level table (the table's own calls, e.g. ``scatter``)."""
        from .table import call

        return call(rule, args, kwargs)

    def __diffkit_values__(self) -> None:
        """Symbols have no numbers: rules that need them for a choice say so."""
        return None

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise unsupported(
            "np.array/np.asarray of a symbolic array here (np.stack works)", reverse=True
        )

    # ------------------------------------------------------------------ Python conversions

    def __bool__(self) -> bool:
        values = self.data.ravel()
        if all(isinstance(v, sympy.logic.boolalg.BooleanAtom) for v in values):
            return bool(np.all([bool(v) for v in values]))
        shown = ", ".join(str(v) for v in values[:3])
        raise SymbolicBranchError(
            f"the function branches on a value of its input (bool({shown[:80]})), which has no "
            'single expression: use np.where or np.maximum, or the "fd" or "reverse" backend'
        )

    def __float__(self) -> float:
        # reverse mode refuses these too: each would drop the derivative
        raise unsupported(
            "float() of a symbolic value (math.sin(x), float(x), item(), x stored into a "
            "NumPy array); use np.sin(x) etc., or build arrays with np.stack"
        )

    def __int__(self) -> int:
        raise unsupported("int() of a symbolic value", reverse=True)

    def __index__(self) -> int:
        raise unsupported("a symbolic value used as an index", reverse=True)

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
        return np.dtype(np.float64)

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[SymbolicArray]:
        return (self[i] for i in range(len(self.data)))

    def __getitem__(self, index: Any) -> SymbolicArray:
        parts = index if isinstance(index, tuple) else (index,)
        if any(isinstance(p, SymbolicArray) for p in parts):
            raise unsupported("indexing with a symbolic value (x[i] where i depends on x)")
        return wrap(self.data[index])

    def __setitem__(self, index: Any, value: Any) -> None:
        self.data[index] = lift(value)

    def __repr__(self) -> str:
        return f"SymbolicArray({self.data.tolist() if self.data.ndim else self.data[()]})"

    def copy(self) -> SymbolicArray:
        return SymbolicArray(self.data.copy())

    def astype(self, dtype: Any, *args: Any, **kwargs: Any) -> SymbolicArray:
        if np.dtype(dtype).kind not in "fc":
            raise unsupported(f"x.astype({np.dtype(dtype).name}) of a symbolic value", reverse=True)
        return self

    def item(self, *index: Any) -> float:
        raise unsupported("item() of a symbolic value", reverse=True)

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

    def __invert__(self) -> Any:
        return np.logical_not(self)

    def __and__(self, other: Any) -> Any:
        return np.logical_and(self, other)

    def __rand__(self, other: Any) -> Any:
        return np.logical_and(other, self)

    def __or__(self, other: Any) -> Any:
        return np.logical_or(self, other)

    def __ror__(self, other: Any) -> Any:
        return np.logical_or(other, self)

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


def _boolean(value: Any) -> Any:
    """A value in a logical operation: relations as they are, numbers as their truth."""
    if _is_condition(value):
        return value
    if isinstance(value, sympy.Expr) and value.is_Number:
        return sympy.true if value != 0 else sympy.false
    return sympy.Ne(value, 0)


def _negate(a: Any) -> Any:
    return sympy.Mul(sympy.S.NegativeOne, a, evaluate=False)


def _add(a: Any, b: Any) -> Any:
    if a is sympy.S.Zero:
        return b
    if b is sympy.S.Zero:
        return a
    return sympy.Add(a, b, evaluate=False)


def _multiply(a: Any, b: Any) -> Any:
    if a is sympy.S.One:
        return b
    if b is sympy.S.One:
        return a
    if a is sympy.S.Zero or b is sympy.S.Zero:
        return sympy.S.Zero  # what SymPy itself makes of 0 * x
    return sympy.Mul(a, b, evaluate=False)


def _divide(a: Any, b: Any) -> Any:
    if b is sympy.S.One:
        return a
    return _multiply(a, sympy.Pow(b, sympy.S.NegativeOne, evaluate=False))


# The operators built unevaluated, without SymPy's global ``evaluate(False)`` switch,
# whose every flip clears SymPy's whole cache (half of a large trace's time); adding
# 0 and multiplying by 1 are folded, as a tape would not record them either.
_UNEVALUATED: dict[str, Callable[..., Any]] = {
    "add": _add,
    "subtract": lambda a, b: a if b is sympy.S.Zero else sympy.Add(a, _negate(b), evaluate=False),
    "multiply": _multiply,
    "divide": _divide,
    "negative": _negate,
    "power": lambda a, b: a if b is sympy.S.One else sympy.Pow(a, b, evaluate=False),
    "positive": lambda a: a,
}


def _shared(row: ops.Primitive) -> Callable[..., Any]:
    """An operator that keeps its operands as they are (no flattening into them).

    SymPy flattens ``4*l*(1 - l)`` with ``l = 4*a*(1 - a)`` into ``16*a*(1 - a)*(1 - l)``:
    ``l`` is no longer a shared node, and the logistic map's program grows quadratically
    in its depth. Operators on compound operands are therefore built unevaluated, like a
    tape records them; on atoms (numbers, symbols) SymPy still folds (``x*x = x**2``).
    """
    rule, unevaluated = row.sympy, _UNEVALUATED[row.name]

    def apply(*args: Any) -> Any:
        if all(getattr(a, "is_Atom", True) for a in args):
            return rule(*args)
        return unevaluated(*args)

    return apply


_SHARED = {name: _shared(row) for name, row in ops.PRIMITIVES.items() if row.kind == "operator"}


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


def _flat(out: Any) -> Any:
    """Several outputs (a tuple such as ``eigh``'s, or a list) as one vector, each flattened."""
    parts = [np.reshape(lift(o), (-1,)) for o in out]
    return np.concatenate(parts) if parts else np.empty(0, dtype=object)


def as_expressions(out: Any) -> np.ndarray:
    """Whatever the traced function returned, as an object array of SymPy expressions."""
    if isinstance(out, list | tuple):
        shapes = {np.shape(lift(o)) for o in out}
        out = np.stack([lift(o) for o in out]) if len(shapes) == 1 else _flat(out)
    lifted = lift(out)
    array = lifted if isinstance(lifted, np.ndarray) else np.asarray(lifted, dtype=object)
    for value in array.ravel():
        if not isinstance(value, sympy.Expr):
            raise UnsupportedTraceError(
                f"the function returned {value!r} ({type(value).__name__}), not a number "
                'or an expression of its input; backends that can: "fd" (finite differences)'
            )
    return array


def trace(fn: Callable[..., Any], shape: tuple[int, ...]) -> np.ndarray:
    """``fn`` applied to symbols of ``shape``: its output as an object array of expressions."""
    with numpy_entry_points():
        return as_expressions(fn(trace_input(shape)))
